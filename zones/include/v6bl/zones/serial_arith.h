// RFC 1982 serial number arithmetic for SOA serials (32-bit, wrapping).
#pragma once

#include <cstdint>

namespace v6bl::zones {

// True when `a` is newer than `b` in RFC 1982 terms (undefined half-way: false).
constexpr bool serial_newer(std::uint32_t a, std::uint32_t b) {
    return a != b && ((a > b && a - b < 0x80000000u) || (a < b && b - a > 0x80000000u));
}

}  // namespace v6bl::zones
