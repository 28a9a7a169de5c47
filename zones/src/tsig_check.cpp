// RFC 8945 5.2 request checks (see tsig_check.h).
#include "tsig_check.h"

#include <openssl/crypto.h>

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

std::optional<std::size_t> find_tsig(std::span<const std::uint8_t> wire) {
    if (wire.size() < 12) return std::nullopt;
    auto count = [&](std::size_t i) {
        return static_cast<std::size_t>(wire[i] << 8 | wire[i + 1]);
    };
    const std::size_t questions = count(4);
    const std::size_t records = count(6) + count(8) + count(10);
    std::size_t at = 12;
    // A name: labels up to the root, or up to a compression pointer (2 bytes).
    auto skip_name = [&]() {
        for (std::size_t labels = 0; labels < 128; ++labels) {
            if (at >= wire.size()) return false;
            const std::uint8_t len = wire[at];
            if ((len & 0xc0) == 0xc0) {
                at += 2;
                return at <= wire.size();
            }
            if (len > 63) return false;
            at += 1u + len;
            if (len == 0) return at <= wire.size();
        }
        return false;
    };
    for (std::size_t i = 0; i < questions; ++i) {
        if (!skip_name() || at + 4 > wire.size()) return std::nullopt;
        at += 4;
    }
    std::size_t found = 0;
    for (std::size_t i = 0; i < records; ++i) {
        const std::size_t start = at;
        if (!skip_name() || at + 10 > wire.size()) return std::nullopt;
        const std::uint16_t type = static_cast<std::uint16_t>(wire[at] << 8 | wire[at + 1]);
        const std::size_t rdlen = count(at + 8);
        at += 10;
        if (at + rdlen > wire.size()) return std::nullopt;
        at += rdlen;
        if (type != 250) continue;
        // Only as the last record of the additional section (RFC 8945 5.1).
        if (i + 1 != records || count(10) == 0) return std::nullopt;
        found = start;
    }
    return found;
}

tsig_check check_tsig(std::span<const tsig_key> keys, ldns_pkt* pkt,
                      std::span<const std::uint8_t> wire, std::size_t tsig_at, std::uint64_t now) {
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
    // The MAC, computed here (ldns 1.8 knows neither hmac-sha224 nor hmac-sha384, and drops
    // the packet's TSIG when it cannot compute one): over the message as it was before the
    // TSIG was added (its original ID, ARCOUNT one less) and the TSIG variables (RFC 8945
    // 4.3.3), with the algorithm name as the request gives it.
    if (tsig_at < 12 || tsig_at > wire.size()) {
        out.malformed = true;
        return out;
    }
    std::vector<std::uint8_t> message(wire.begin(), wire.begin() + static_cast<long>(tsig_at));
    message[0] = static_cast<std::uint8_t>(r.original_id >> 8);
    message[1] = static_cast<std::uint8_t>(r.original_id);
    const unsigned arcount = (message[10] << 8 | message[11]) - 1u;
    message[10] = static_cast<std::uint8_t>(arcount >> 8);
    message[11] = static_cast<std::uint8_t>(arcount);
    std::vector<std::uint8_t> variables = r.key_name_wire;
    variables.insert(variables.end(), {0, 255, 0, 0, 0, 0});  // class ANY, TTL 0
    variables.insert(variables.end(), r.algorithm_wire.begin(), r.algorithm_wire.end());
    const ldns_rdf* time_rdf = ldns_rr_rdf(tsig, 1);
    variables.insert(variables.end(), ldns_rdf_data(time_rdf), ldns_rdf_data(time_rdf) + 6);
    const ldns_rdf* fudge_rdf = ldns_rr_rdf(tsig, 2);
    variables.insert(variables.end(), ldns_rdf_data(fudge_rdf), ldns_rdf_data(fudge_rdf) + 2);
    const ldns_rdf* error_rdf = ldns_rr_rdf(tsig, 5);
    variables.insert(variables.end(), ldns_rdf_data(error_rdf), ldns_rdf_data(error_rdf) + 2);
    const ldns_rdf* other_rdf = ldns_rr_rdf(tsig, 6);  // length-prefixed, as on the wire
    variables.insert(variables.end(), ldns_rdf_data(other_rdf),
                     ldns_rdf_data(other_rdf) + ldns_rdf_size(other_rdf));
    const std::vector<std::uint8_t> expected = tsig_hmac(*key, {message, variables});
    // RFC 8945 5.2.2.1: a MAC longer than the hash, or shorter than 10 bytes or half the
    // hash, is malformed; a truncated one that verifies is refused as BADTRUNC (this server
    // signs and expects whole MACs), one that does not as BADSIG.
    const std::size_t n = r.mac.size();
    if (n > expected.size() || n < std::max<std::size_t>(10, (expected.size() + 1) / 2)) {
        out.malformed = true;
        return out;
    }
    if (CRYPTO_memcmp(r.mac.data(), expected.data(), n) != 0) {
        out.error = tsig_badsig;
        return out;
    }
    if (n < expected.size()) {
        out.key = &*key;
        out.error = tsig_badtrunc;
        return out;
    }
    out.key = &*key;
    const std::uint64_t skew = now > r.time_signed ? now - r.time_signed : r.time_signed - now;
    if (skew > r.fudge) out.error = tsig_badtime;
    return out;
}

}  // namespace v6bl::zones
