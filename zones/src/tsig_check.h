// Checking the TSIG of a request (RFC 8945 5.2): the key, then the MAC, then the time.
#pragma once

#include <cstdint>
#include <span>

#include "ldns_handles.h"
#include "tsig_signer.h"
#include "v6bl/zones/transfer_acl.h"

namespace v6bl::zones {

// TSIG error codes (RFC 8945 3, the IANA "TSIG Error" values).
constexpr std::uint16_t tsig_badsig = 16;
constexpr std::uint16_t tsig_badkey = 17;
constexpr std::uint16_t tsig_badtime = 18;

struct tsig_check {
    // The TSIG cannot be interpreted (fields missing or of the wrong size): the message is
    // corrupt, FORMERR (RFC 8945 5.2). Nothing else below is set.
    bool malformed = false;
    std::uint16_t error = 0;        // 0, tsig_badkey, tsig_badsig or tsig_badtime
    const tsig_key* key = nullptr;  // the key that verified the MAC (error 0 or BADTIME)
    tsig_request request;
};

// `pkt` holds a TSIG (ldns_pkt_tsig) and `wire` is the message it was parsed from. The key
// must be one of `keys` by name and by algorithm (else BADKEY), the MAC must verify (else
// BADSIG; a truncated MAC does not), and `now` (unix seconds) must be within the request's
// fudge of its time signed (else BADTIME: a replayed request, or clocks apart).
tsig_check check_tsig(std::span<const tsig_key> keys, ldns_pkt* pkt,
                      std::span<const std::uint8_t> wire, std::uint64_t now);

}  // namespace v6bl::zones
