// Effective listings: what a standard DNS server would publish, and the TXT that explains one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "v6bl/store/policy.h"
#include "v6bl/store/prefix.h"
#include "v6bl/store/record.h"

namespace v6bl::store {

// One published listing. Prefixes here are always nibble-aligned (length % 4 == 0):
// a stored /62 is published as four /64s, exactly as the zone exporter writes it.
struct listing_entry {
    prefix where;
    reason_code code = reason_code::none;
    std::uint16_t rejected_ipv4s = 0;  // saturating
    std::uint32_t attempts = 0;
    std::uint32_t first_seen = 0;
    std::uint32_t last_seen = 0;
    std::uint32_t expires = 0;       // unix seconds; 0 = never
    std::uint8_t source_length = 0;  // length of the stored prefix before nibble expansion
    std::string text;                // manual listings only
    // Listed by an operator (the code is the operator's, which may be any, e.g. 127.0.0.2):
    // the TXT says so rather than describing evidence the record does not hold.
    bool manual = false;
    // When its region's answers change with time beyond this entry's own expiry (unix
    // seconds; 0: never): an escalation whose first member lapses then, a manual listing
    // with an inferred one under it, an entry hiding another of the same prefix that
    // outlives it. A view built at `now` is right until then; the server rebuilds the
    // region at that time (listing_view::due_regions).
    std::uint32_t refresh_at = 0;
};

// The first second at which a listing that `expires` (0: never) is no longer in force, as
// a refresh time (0 when there is none).
inline std::uint32_t lapse_time(std::uint32_t expires) {
    return expires == 0 || expires == 0xFFFFFFFFu ? 0 : expires + 1;
}
// The earlier of two refresh times (0: none).
inline std::uint32_t earlier_refresh(std::uint32_t a, std::uint32_t b) {
    if (a == 0) return b;
    if (b == 0) return a;
    return a < b ? a : b;
}

// Builds the published entries of one stored record (nibble expansion included), or none
// when the policy does not list it at `now`.
void published_entries(const prefix& where, const reputation_record& r,
                       const listing_policy& policy, std::uint32_t now,
                       std::vector<listing_entry>& out);

// Expands an allowlisted prefix into nibble-aligned holes.
void published_holes(const prefix& where, std::vector<prefix>& out);

// Given all published entries of one /48 region, sorted by prefix, adds the escalated /56
// and /48 entries (code 4) the policy calls for. Entries inside allowlisted holes must
// already be removed. Keeps the vector sorted.
void add_escalations(std::vector<listing_entry>& region, const listing_policy& policy);

// The TXT of a listing. `url_template` may contain "{prefix}", replaced by the listed
// prefix (not the queried address, so that a standard server's wildcard gives the same
// text). Always under 255 bytes.
std::string listing_txt(const listing_entry& e, const std::string& url_template);

// The TXT of an allowlisted hole's own node: "v6bl: <prefix> is allowlisted".
std::string hole_txt(const prefix& hole);

// The RFC 5782 IPv6 test point ::ffff:127.0.0.2 as a /128 code-2 listing. Every published
// set (for_each_published, build_view) includes it; ::ffff:127.0.0.1 is never listed.
listing_entry rfc5782_test_entry();
bool is_rfc5782_test_point(const prefix& p);
// Whether p covers ::ffff:127.0.0.1, which RFC 5782 5 says a DNSxL must never list. No
// published set holds such an entry (::/64 only holds unspecified, loopback and
// IPv4-mapped or -compatible addresses, never a sender's): whatever the store holds for
// it is evidence only.
bool covers_rfc5782_unlisted_point(const prefix& p);

}  // namespace v6bl::store
