// RFC 8945 5.2 request checks (see tsig_check.h).
#include "tsig_check.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace v6bl::zones {
namespace {

std::vector<std::uint8_t> canonical_wire(const ldns_rdf* name) {
    std::vector<std::uint8_t> out;
    if (!name) return out;
    const std::uint8_t* data = ldns_rdf_data(name);
    out.assign(data, data + ldns_rdf_size(name));
    // Labels keep their length bytes (< 64, never letters): lower-casing every byte is safe.
    for (std::uint8_t& c : out) c = static_cast<std::uint8_t>(std::tolower(c));
    return out;
}

std::string lower_text(const ldns_rdf* name) {
    char* text = name ? ldns_rdf2str(name) : nullptr;
    std::string out = text ? text : "";
    LDNS_FREE(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (out.empty() || out.back() != '.') out.push_back('.');
    return out;
}

}  // namespace

tsig_check check_tsig(std::span<const tsig_key> keys, ldns_pkt* pkt,
                      std::span<const std::uint8_t> wire, std::uint64_t now) {
    tsig_check out;
    const ldns_rr* tsig = ldns_pkt_tsig(pkt);
    // Algorithm, time signed (48 bits), fudge, MAC (length-prefixed), original ID, error,
    // other data (length-prefixed), as ldns splits them.
    auto field_ok = [&](std::size_t i, std::size_t min, std::size_t max) {
        const ldns_rdf* f = ldns_rr_rdf(tsig, i);
        return f && ldns_rdf_size(f) >= min && ldns_rdf_size(f) <= max;
    };
    if (!tsig || !ldns_rr_owner(tsig) || ldns_rr_rd_count(tsig) != 7 || !field_ok(0, 1, 255) ||
        !field_ok(1, 6, 6) || !field_ok(2, 2, 2) || !field_ok(3, 2, 65535) || !field_ok(4, 2, 2) ||
        !field_ok(5, 2, 2) || !field_ok(6, 2, 65535)) {
        out.malformed = true;
        return out;
    }
    tsig_request& r = out.request;
    r.key_name_wire = canonical_wire(ldns_rr_owner(tsig));
    r.algorithm_wire = canonical_wire(ldns_rr_rdf(tsig, 0));
    const std::uint8_t* time = ldns_rdf_data(ldns_rr_rdf(tsig, 1));
    for (std::size_t i = 0; i < 6; ++i) r.time_signed = (r.time_signed << 8) | time[i];
    r.fudge = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 2));
    const ldns_rdf* mac = ldns_rr_rdf(tsig, 3);
    r.mac.assign(ldns_rdf_data(mac) + 2, ldns_rdf_data(mac) + ldns_rdf_size(mac));
    r.original_id = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 4));

    const std::string name = lower_text(ldns_rr_owner(tsig));
    std::string algorithm = lower_text(ldns_rr_rdf(tsig, 0));
    if (algorithm == "hmac-md5.") algorithm = "hmac-md5.sig-alg.reg.int.";
    const auto key = std::find_if(keys.begin(), keys.end(), [&](const tsig_key& k) {
        return k.name == name && k.algorithm == algorithm;
    });
    if (key == keys.end()) {
        out.error = tsig_badkey;
        return out;
    }
    // ldns checks the MAC only (with the algorithm the request names, matched above).
    if (!ldns_pkt_tsig_verify(pkt, wire.data(), wire.size(), key->name.c_str(), key->secret.c_str(),
                              nullptr)) {
        out.error = tsig_badsig;
        return out;
    }
    out.key = &*key;
    const std::uint64_t skew = now > r.time_signed ? now - r.time_signed : r.time_signed - now;
    if (skew > r.fudge) out.error = tsig_badtime;
    return out;
}

}  // namespace v6bl::zones
