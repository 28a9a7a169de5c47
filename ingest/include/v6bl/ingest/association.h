// An inferred IPv6↔IPv4 association, the signals behind it and its strength.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "v6bl/ingest/syn_record.h"

namespace v6bl::ingest {

// Signal bits (stored in evidence_item::signals; docs/ingest.md "Signals").
enum association_signal : std::uint16_t {
    sig_timing = 1u << 0,            // attempts within the pairing window (2 s)
    sig_tight_timing = 1u << 1,      // within 0.5 s (Table 4.3: every MTA measured)
    sig_order_rfc6724 = 1u << 2,     // IPv6 first, or IPv4 first for a 6to4 source
    sig_port_proximity = 1u << 3,    // Windows shared ephemeral pool: ports within 16
    sig_exchange_port = 1u << 4,     // IPv6 port = IPv4 port + 1, IPv4 first
    sig_syn_count = 1u << 5,         // same SYNs per attempt (Windows 3, Linux 1)
    sig_os_match = 1u << 6,          // same initial TTL class and TCP option order
    sig_port_progression = 1u << 7,  // both families' ports climb by a few between retries
    sig_repetition = 1u << 8,        // seen together on >= 3 retry rounds, exclusively
    sig_6to4 = 1u << 9,              // 2002:AABB:CCDD::/48 names the IPv4
    sig_teredo = 1u << 10,           // Teredo client IPv4
    sig_isatap = 1u << 11,           // ISATAP ::5efe:a.b.c.d
    sig_iid_ipv4 = 1u << 12,         // IID's last 32 bits are the IPv4
    sig_remote = 1u << 13,           // reported by a remote sensor (JSON lines)
    sig_ipv4_rejected = 1u << 14,    // the IPv4 was rejected by a production MTA's DNSBL
    sig_shared_ipv4 = 1u << 15,      // negative: the IPv4 pairs with several /64s (NAT)
};

constexpr std::uint16_t structural_signals = sig_6to4 | sig_teredo | sig_isatap | sig_iid_ipv4;

// Names in bit order, for JSON and explanations ("timing", "tight-timing", ...).
const std::vector<const char*>& signal_names();
std::string format_signals(std::uint16_t signals);
// Parses one name; returns 0 for an unknown name.
std::uint16_t signal_from_name(std::string_view name);

struct association {
    address_bytes ipv6{};
    std::uint32_t ipv4 = 0;
    std::int64_t time_us = 0;          // the IPv6 attempt's start
    std::uint16_t strength_milli = 0;  // 0..1000; >= 600 is listable once the IPv4 is rejected
    std::uint16_t signals = 0;
    std::uint16_t rounds = 1;   // retry rounds the pairing was seen on
    std::uint64_t sensors = 0;  // sensor bit(s)
};

}  // namespace v6bl::ingest
