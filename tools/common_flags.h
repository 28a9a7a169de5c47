// Flags shared by several subcommands: the database, the listing policy, the clock.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>

#include "v6bl/store/policy.h"
#include "v6bl/store/store.h"
#include "v6bl/zones/zone_config.h"

namespace v6bl::tools {

// A file a command writes (export --out, ingest --associations-out) inside the store's own
// directory could replace one of RocksDB's files (`--out DB/CURRENT` made the store
// unreadable): refused, with this message (empty when the file is elsewhere).
inline std::string inside_store_problem(const std::string& db, const std::string& file,
                                        const char* flag) {
    if (db.empty() || file.empty() || file == "-") return {};
    std::error_code ec;
    const auto store = std::filesystem::weakly_canonical(db, ec);
    if (ec) return {};
    const auto target = std::filesystem::weakly_canonical(file, ec);
    if (ec) return {};
    const auto rel = target.lexically_relative(store);
    if (rel.empty() || *rel.begin() == "..") return {};
    return std::string(flag) + " " + file + " is inside the store directory " + db +
           ": refused (it could replace one of the store's own files)";
}

// Records the store holds but this v6bl cannot decode (a newer version's, or damage) are
// left out of what a command reads; when there were any, it says so on stderr as it ends
// (helper-53: list, lookup and export left them out without a word).
class undecodable_warning {
  public:
    undecodable_warning(const char* command, const store::reputation_store& store)
        : command_(command), store_(store) {}
    ~undecodable_warning() {
        if (const auto n = store_.corrupt_records(); n > 0)
            std::fprintf(stderr,
                         "v6bl %s: warning: %llu stored record(s) could not be decoded and were "
                         "left out (written by a newer v6bl, or damaged)\n",
                         command_, static_cast<unsigned long long>(n));
    }
    undecodable_warning(const undecodable_warning&) = delete;
    undecodable_warning& operator=(const undecodable_warning&) = delete;

  private:
    const char* command_;
    const store::reputation_store& store_;
};

// TTLs and SOA timers: 0 .. 2^31-1 seconds (RFC 2181 8; larger values are read as 0).
inline const CLI::Range dns_ttl_range(0u, 2147483647u);

// The zone's identity and record data, shared by `serve` and `export` (same names, same
// meaning, so that both describe the same zone): --zone, --ns, --ns-address, the SOA
// fields, the TTLs and --url-template.
inline void add_zone_flags(CLI::App* cmd, zones::zone_config& zone) {
    cmd->add_option("--zone", zone.zone, "zone name, e.g. dnsbl6.example.org")
        ->capture_default_str();
    cmd->add_option("--ns", zone.ns_names, "name server names (first is the SOA mname)")
        ->capture_default_str();
    cmd->add_option("--ns-address", zone.ns_addresses,
                    "glue for an in-zone NS name: NAME=ADDRESS (repeatable)");
    cmd->add_option("--soa-rname", zone.soa_rname, "SOA responsible mailbox")
        ->capture_default_str();
    cmd->add_option("--soa-refresh", zone.soa_refresh, "SOA refresh seconds")
        ->check(dns_ttl_range)
        ->capture_default_str();
    cmd->add_option("--soa-retry", zone.soa_retry, "SOA retry seconds")
        ->check(dns_ttl_range)
        ->capture_default_str();
    cmd->add_option("--soa-expire", zone.soa_expire, "SOA expire seconds")
        ->check(dns_ttl_range)
        ->capture_default_str();
    cmd->add_option("--soa-minimum", zone.soa_minimum, "SOA minimum (negative TTL) seconds")
        ->check(dns_ttl_range)
        ->capture_default_str();
    cmd->add_option("--soa-ttl", zone.soa_ttl, "TTL of the SOA record")
        ->check(dns_ttl_range)
        ->capture_default_str();
    cmd->add_option("--ns-ttl", zone.ns_ttl, "TTL of the NS records")
        ->check(dns_ttl_range)
        ->capture_default_str();
    cmd->add_option("--ttl", zone.listing_ttl, "TTL of listing A and TXT records")
        ->check(dns_ttl_range)
        ->capture_default_str();
    cmd->add_option("--url-template", zone.url_template,
                    "lookup URL in the TXT; {prefix} is replaced by the listed prefix")
        ->capture_default_str();
}

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
