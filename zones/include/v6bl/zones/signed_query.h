// TSIG on ordinary queries (RFC 8945): a secondary configured with a key signs the SOA
// queries of its refresh checks, and `dig -y` signs whatever it asks. The answer is the one
// an unsigned query gets, signed with the request's key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "v6bl/zones/transfer_acl.h"
#include "v6bl/zones/zone_config.h"

namespace v6bl::zones {

enum class signed_query_status : std::uint8_t {
    answered,  // verified; the answer is signed
    badkey,    // a key we do not have (by name and algorithm): NOTAUTH, unsigned TSIG
    badsig,    // the MAC does not verify: NOTAUTH, unsigned TSIG
    badtime,   // outside the request's time window: NOTAUTH, signed
    badtrunc,  // a truncated MAC (this server wants whole ones): NOTAUTH, signed
    // not a message ldns reads, or a TSIG that cannot be read or whose MAC size RFC 8945
    // 5.2.2.1 rules out: the caller answers FORMERR
    formerr,
};

// Writes the answer to `unsigned_query` (the request without its TSIG) at the start of the
// caller's output buffer, keeping `reserve` bytes free below the size limit the answer
// would otherwise have (room for the TSIG); returns its size (0: nothing to send).
using unsigned_answer_fn =
    std::function<std::size_t(std::span<const std::uint8_t> unsigned_query, std::size_t reserve)>;

struct signed_query_result {
    std::size_t size = 0;  // bytes of `out` holding the response (0: nothing to send)
    signed_query_status status = signed_query_status::formerr;
};

// `query` is a QUERY whose last additional record, starting at `tsig_at`, is a TSIG; `out`
// is the buffer `answer` writes to. `keys` are the configured ones (--transfer-tsig).
// `now` is the wall clock (unix seconds) for the time check and the answer's time signed.
signed_query_result answer_signed_query(const zone_config& config, std::span<const tsig_key> keys,
                                        std::span<const std::uint8_t> query, std::size_t tsig_at,
                                        std::span<std::uint8_t> out, std::uint64_t now,
                                        const unsigned_answer_fn& answer);

}  // namespace v6bl::zones
