// IPv6 addresses and prefixes as big-endian bytes, the unit every v6bl stage speaks.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace v6bl::store {

using ipv6_bytes = std::array<std::uint8_t, 16>;

// A prefix is always stored masked: bits past `length` are zero, so two spellings of the
// same prefix compare equal and sort in address order (then shorter first).
struct prefix {
    ipv6_bytes address{};
    std::uint8_t length = 0;  // 0..128

    auto operator<=>(const prefix&) const = default;

    // The upper 64 bits as an integer: the /64 a host address lives in.
    std::uint64_t high64() const;
    std::uint64_t low64() const;
    // True when `other` lies inside this prefix (equal counts).
    bool covers(const prefix& other) const;
    bool covers(const ipv6_bytes& addr) const;
    // This prefix cut to `len` bits (len <= length).
    prefix truncated(std::uint8_t len) const;
};

prefix make_prefix(const ipv6_bytes& addr, std::uint8_t length);
prefix make_prefix64(std::uint64_t high64);

// Parses "2001:db8::/48", "2001:db8::1" (a bare address means its /64 when
// `bare_is_64`, else /128) and IPv4-mapped forms. Returns nullopt on any error.
std::optional<prefix> parse_prefix(std::string_view text, bool bare_is_64 = true);
std::optional<ipv6_bytes> parse_address(std::string_view text);
std::string format_address(const ipv6_bytes& addr);
std::string format_prefix(const prefix& p);

// The 17-byte storage key: 16 masked address bytes then the length byte. Byte order makes
// RocksDB's bytewise comparator iterate prefixes in address order.
constexpr std::size_t prefix_key_size = 17;
std::array<char, prefix_key_size> prefix_key(const prefix& p);
std::optional<prefix> prefix_from_key(std::string_view key);

}  // namespace v6bl::store
