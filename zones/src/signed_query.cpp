// TSIG-signed ordinary queries (see signed_query.h).
#include "v6bl/zones/signed_query.h"

#include <cstring>
#include <vector>

#include "ldns_handles.h"
#include "message_stream.h"
#include "tsig_check.h"

namespace v6bl::zones {

signed_query_result answer_signed_query(const zone_config& config, std::span<const tsig_key> keys,
                                        std::span<const std::uint8_t> query, std::size_t tsig_at,
                                        std::span<std::uint8_t> out, std::uint64_t now,
                                        const unsigned_answer_fn& answer) {
    signed_query_result result;
    ldns_pkt* parsed = nullptr;
    if (query.size() < 12 || tsig_at < 12 || tsig_at > query.size() ||
        find_tsig(query) != tsig_at ||
        ldns_wire2pkt(&parsed, query.data(), query.size()) != LDNS_STATUS_OK || !parsed) {
        return result;
    }
    ldns_pkt_ptr pkt(parsed);
    if (!ldns_pkt_tsig(pkt.get())) return result;
    const tsig_check check = check_tsig(keys, pkt.get(), query, tsig_at, now);
    if (check.malformed) return result;
    const ldns_rdf_ptr request_mac(ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(pkt.get()), 3)));

    if (check.error != 0) {
        result.status = check.error == tsig_badkey    ? signed_query_status::badkey
                        : check.error == tsig_badsig  ? signed_query_status::badsig
                        : check.error == tsig_badtime ? signed_query_status::badtime
                                                      : signed_query_status::badtrunc;
        // One message: header, question, OPT when the query had one, the TSIG.
        std::vector<std::uint8_t> reply;
        const message_stream::emit_fn keep = [&](std::vector<std::uint8_t> m) {
            reply = std::move(m);
        };
        message_stream stream(pkt.get(), config, check.key, check.key ? request_mac.get() : nullptr,
                              out.size(), keep);
        stream.not_authoritative();
        stream.set_tsig_error(check.error, check.request);
        stream.finish(LDNS_RCODE_NOTAUTH);
        if (reply.size() <= out.size()) {
            std::memcpy(out.data(), reply.data(), reply.size());
            result.size = reply.size();
        }
        return result;
    }

    // The request without its TSIG (ARCOUNT one less), answered as any query.
    std::vector<std::uint8_t> bare(query.begin(), query.begin() + static_cast<long>(tsig_at));
    const unsigned arcount = (bare[10] << 8 | bare[11]) - 1u;
    bare[10] = static_cast<std::uint8_t>(arcount >> 8);
    bare[11] = static_cast<std::uint8_t>(arcount);
    tsig_signer signer(*check.key);
    signer.set_prior_mac(check.request.mac);
    // The TSIG we append: owner, type, class, TTL, RDLENGTH, algorithm, time, fudge, MAC
    // size, a MAC of at most 64 bytes (SHA-512), original ID, error, other length.
    const std::size_t reserve =
        check.request.key_name_wire.size() + 10 + check.request.algorithm_wire.size() + 10 + 64 + 6;
    const std::size_t size = answer(bare, reserve);
    result.status = signed_query_status::answered;
    if (size == 0 || size < 12) return result;
    std::vector<std::uint8_t> tsig;
    signer.sign({out.data(), size}, true, now, tsig);
    if (size + tsig.size() > out.size()) return result;  // cannot happen: `reserve` kept room
    std::memcpy(out.data() + size, tsig.data(), tsig.size());
    const unsigned ar = (out[10] << 8 | out[11]) + 1u;
    out[10] = static_cast<std::uint8_t>(ar >> 8);
    out[11] = static_cast<std::uint8_t>(ar);
    result.size = size + tsig.size();
    return result;
}

}  // namespace v6bl::zones
