// The listing policy: which stored records are listed, with what code, and for how long.
#pragma once

#include <cstdint>
#include <optional>

#include "v6bl/store/record.h"

namespace v6bl::store {

// Defaults are what an operator would expect of an inferred list; each is a config setting
// and a flag (README "Listing policy").
struct listing_policy {
    // An association must reach this strength (0..1000) before its /64 is listed.
    std::uint16_t min_strength_milli = 600;
    // An inferred listing expires after this many seconds without new activity (5 days,
    // like the large commercial lists).
    std::uint32_t expiry_seconds = 5 * 24 * 3600;
    // Manual listings expire too only when this is non-zero.
    std::uint32_t manual_expiry_seconds = 0;
    // A /56 is listed (code 4) once this many listed /64s lie inside it; 0 disables.
    std::uint32_t escalate_56_after = 4;
    // A /48 is listed (code 4) once this many listed /64s lie inside it; 0 disables.
    std::uint32_t escalate_48_after = 8;
};

// Whether the record's operator listing (manual_code) is in force at `now`: given, and not
// past --manual-expiry.
bool manual_in_force(const reputation_record& r, const listing_policy& policy, std::uint32_t now);

// The code a record answers with at time `now`, or nullopt when it is not listed
// (too weak, expired, no evidence). Allowlisting is checked by the caller.
std::optional<reason_code> listed_code(const reputation_record& r, const listing_policy& policy,
                                       std::uint32_t now);

// When an inferred listing stops being listed absent new evidence (for TTL-less caches).
std::uint32_t expires_at(const reputation_record& r, const listing_policy& policy);

// `last_seen` + `seconds` without wrapping (at most 0xFFFFFFFF), or 0 (never) for 0 seconds.
std::uint32_t expiry_time(std::uint32_t last_seen, std::uint32_t seconds);

}  // namespace v6bl::store
