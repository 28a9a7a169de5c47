// Nibble names: the RFC 5782 owner names of prefixes under a DNSBL zone.
#pragma once

#include <string>
#include <string_view>

#include "v6bl/store/prefix.h"

namespace v6bl::zones {

// Appends the length/4 nibble labels of `p`, least significant first, each followed by a
// dot ("8.b.d.0.1.0.0.2."). `p.length` must be a multiple of 4.
void append_nibble_labels(std::string& out, const store::prefix& p);

// "<nibbles>.<zone>." (absolute, trailing dot); the apex "<zone>." for a /0.
std::string nibble_owner_name(const store::prefix& p, std::string_view zone);

// "*.<nibbles>.<zone>.": the wildcard that lists everything under `p`.
std::string nibble_wildcard_name(const store::prefix& p, std::string_view zone);

// The RFC 5782 IPv4-form test point "2.0.0.127.<zone>." (listed; 127.0.0.1 never is).
std::string ipv4_test_point_name(std::string_view zone);

// Why `zone` (no trailing dot) cannot hold nibble names, or "" when it can: labels of
// letters, digits, '-' and '_' (zone files carry them unescaped), at most 63 long, and at
// most 189 characters in all, so that the 32 nibble labels of a /128 under it fit 255 octets.
std::string zone_name_problem(std::string_view zone);

// Why `name` (no trailing dot) is not a name of such labels at most `max_size` characters
// long, as "is empty", "has an empty label", ...; "" when it is one.
std::string host_name_problem(std::string_view name, std::size_t max_size);

}  // namespace v6bl::zones
