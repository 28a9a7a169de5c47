// Checking the TSIG of a request (RFC 8945 5.2): the key, then the MAC, then the time.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "ldns_handles.h"
#include "tsig_signer.h"
#include "v6bl/zones/transfer_acl.h"

namespace v6bl::zones {

// TSIG error codes (RFC 8945 3, the IANA "TSIG Error" values).
constexpr std::uint16_t tsig_badsig = 16;
constexpr std::uint16_t tsig_badkey = 17;
constexpr std::uint16_t tsig_badtime = 18;
constexpr std::uint16_t tsig_badtrunc = 22;

// Where the TSIG record starts in `wire`: 0 when it has none, nullopt when the message
// cannot be walked record by record or holds a TSIG that is not its last record (several,
// or one before others: FORMERR, RFC 8945 5.1). Read before ldns parses the message (ldns
// keeps the last of several TSIGs and leaks the others).
std::optional<std::size_t> find_tsig(std::span<const std::uint8_t> wire);

struct tsig_check {
    // The TSIG cannot be interpreted (fields missing or of the wrong size): the message is
    // corrupt, FORMERR (RFC 8945 5.2). Nothing else below is set.
    bool malformed = false;
    std::uint16_t error = 0;        // 0, tsig_badkey, tsig_badsig, tsig_badtime, tsig_badtrunc
    const tsig_key* key = nullptr;  // the key that verified the MAC (0, BADTIME, BADTRUNC)
    tsig_request request;
};

// `pkt` holds a TSIG (ldns_pkt_tsig) and `wire` is the message it was parsed from, its TSIG
// record at `tsig_at` (find_tsig, which the caller ran before ldns parsed it). The key
// must be one of `keys` by name and by algorithm (else BADKEY), the MAC must be of a size
// RFC 8945 5.2.2.1 allows (else malformed) and verify (else BADSIG; truncated: BADTRUNC),
// and `now` (unix seconds) must be within the request's fudge of its time signed (else
// BADTIME: a replay, or clocks apart). The MAC is computed here, not by ldns.
tsig_check check_tsig(std::span<const tsig_key> keys, ldns_pkt* pkt,
                      std::span<const std::uint8_t> wire, std::size_t tsig_at, std::uint64_t now);

}  // namespace v6bl::zones
