// Flags shared by several subcommands: the database, the listing policy, the clock.
#pragma once

#include <CLI/CLI.hpp>
#include <ctime>
#include <string>

#include "v6bl/store/policy.h"

namespace v6bl::tools {

// TTLs and SOA timers: 0 .. 2^31-1 seconds (RFC 2181 8; larger values are read as 0).
inline const CLI::Range dns_ttl_range(0u, 2147483647u);

// --min-strength (0..1000), --expiry (seconds), --manual-expiry, --escalate-56, --escalate-48.
inline void add_policy_flags(CLI::App* cmd, store::listing_policy& policy) {
    cmd->add_option("--min-strength", policy.min_strength_milli,
                    "association strength (0..1000) a /64 needs to be listed")
        ->check(CLI::Range(0, 1000))
        ->capture_default_str();
    cmd->add_option("--expiry", policy.expiry_seconds,
                    "seconds without activity after which an inferred listing expires (0: never)")
        ->capture_default_str();
    cmd->add_option("--manual-expiry", policy.manual_expiry_seconds,
                    "seconds after which a manual listing expires (0: never)")
        ->capture_default_str();
    cmd->add_option("--escalate-56", policy.escalate_56_after,
                    "list a /56 once this many /64s inside it are listed (0: off)")
        ->capture_default_str();
    cmd->add_option("--escalate-48", policy.escalate_48_after,
                    "list a /48 once this many /64s inside it are listed (0: off)")
        ->capture_default_str();
}

// --now lets tests and replays evaluate expiry at a fixed time.
inline void add_clock_flag(CLI::App* cmd, long long& now) {
    cmd->add_option("--now", now, "evaluate the policy at this unix time (default: the clock)")
        ->check(CLI::Range(0LL, 4294967295LL));  // record times are 32-bit unsigned
}

inline std::uint32_t clock_or(long long now) {
    return now > 0 ? static_cast<std::uint32_t>(now)
                   : static_cast<std::uint32_t>(std::time(nullptr));
}

}  // namespace v6bl::tools
