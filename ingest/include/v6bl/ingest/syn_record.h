// One decoded TCP SYN: the unit of sensor evidence, independent of the capture's link type.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

namespace v6bl::ingest {

enum class ip_family : std::uint8_t { v4 = 4, v6 = 6 };

// Source addresses are kept as 16 bytes; an IPv4 source sits in the last 4 bytes with the
// first 12 zero, so one key type serves both families.
using address_bytes = std::array<std::uint8_t, 16>;

// Up to 8 TCP option kinds in order, one byte each (0 = none), e.g. MSS,SACK-perm,TS,NOP,WS.
using option_signature = std::uint64_t;
// The signature of a SYN whose options the snap length cut: these six bytes set, and in
// the low two the first two kinds when the cut would leave them in an IPv6 SYN too (else
// zero). A host's two families are cut differently (at `-s 68` an IPv4 SYN keeps its
// first kinds, an IPv6 one none), so a cut signature gives the OS class only as far as
// both would, and the os-match signal never.
constexpr option_signature cut_options = 0xFFFF'FFFF'FFFF'0000ull;
constexpr bool options_were_cut(option_signature s) {
    return (s & cut_options) == cut_options;
}

struct syn_record {
    std::int64_t time_us = 0;  // capture timestamp, microseconds since the epoch
    address_bytes source{};
    ip_family family = ip_family::v4;
    std::uint16_t source_port = 0;
    std::uint16_t dest_port = 0;
    std::uint8_t ttl = 0;  // IPv4 TTL or IPv6 hop limit as seen
    std::uint16_t window = 0;
    std::uint16_t mss = 0;
    option_signature options = 0;
};

// A fast mixing hash for address-keyed maps (addresses are attacker-chosen only in their
// low bits; the multiply-xorshift spreads them).
struct address_hash {
    std::size_t operator()(const address_bytes& k) const noexcept {
        std::uint64_t a, b;
        std::memcpy(&a, k.data(), 8);
        std::memcpy(&b, k.data() + 8, 8);
        std::uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9ull;
        h ^= h >> 32;
        return static_cast<std::size_t>(h);
    }
};

// An IPv6 address in ::/64: the unspecified, loopback, IPv4-compatible and IPv4-mapped
// addresses, none of them a sender's. SYNs from there are not taken, and remote association
// lines naming one are refused, so that what a sensor writes, a central list reads.
inline bool ipv6_in_zero_64(const address_bytes& a) {
    std::uint64_t high;
    std::memcpy(&high, a.data(), 8);
    return high == 0;
}

// Link-local (fe80::/10) and multicast (ff00::/8) sources are no remote sender's either: a
// SYN can come from the sensor's own link, never from a host on the internet; a multicast
// source is invalid (RFC 4291 2.7).
inline bool ipv6_link_local_or_multicast(const address_bytes& a) {
    return a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

// IPv4 sources in 0.0.0.0/8 ("this network", RFC 1122), 127.0.0.0/8 (loopback, RFC 1122),
// 169.254.0.0/16 (link-local, RFC 3927) or 224.0.0.0/3 (multicast, the reserved block and
// the broadcast address): none is a remote sender's, as ::1 and fe80::/10 are not. (A
// capture on `any` or `lo` sees the sensor's own processes connect to 127.0.0.1:25.)
inline bool ipv4_no_sender(std::uint32_t v4) {
    const std::uint32_t a = v4 >> 24;
    return a == 0 || a == 127 || a >= 224 || (v4 >> 16) == 0xA9FE;
}

inline std::uint32_t ipv4_of(const address_bytes& a) {
    return (std::uint32_t{a[12]} << 24) | (std::uint32_t{a[13]} << 16) |
           (std::uint32_t{a[14]} << 8) | std::uint32_t{a[15]};
}

inline address_bytes address_from_ipv4(std::uint32_t v4) {
    address_bytes a{};
    a[12] = static_cast<std::uint8_t>(v4 >> 24);
    a[13] = static_cast<std::uint8_t>(v4 >> 16);
    a[14] = static_cast<std::uint8_t>(v4 >> 8);
    a[15] = static_cast<std::uint8_t>(v4);
    return a;
}

}  // namespace v6bl::ingest
