// The allow-query ACL: which source addresses may query (IPv4 and IPv6 CIDR prefixes).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace v6bl::server {

// Built once at start; read by every loop without locks. Lookup is one binary search per
// distinct (family, prefix length) in the list, so thousands of subscriber prefixes cost
// a few dozen comparisons per query, not thousands.
class query_acl {
  public:
    // "192.0.2.0/24", "2001:db8::/32", or a bare address (/32 or /128). Throws
    // std::invalid_argument naming the entry that is not a prefix.
    explicit query_acl(const std::vector<std::string>& prefixes);

    // An empty list allows everyone.
    bool empty() const { return groups_.empty(); }
    // IPv4-mapped IPv6 sources (::ffff:192.0.2.1) match IPv4 prefixes.
    bool allows(const sockaddr* source) const;

  private:
    using address = std::array<std::uint8_t, 16>;  // IPv4 in the first 4 bytes
    struct group {
        int family = 0;
        unsigned length = 0;
        std::vector<address> masked;  // sorted
    };
    std::vector<group> groups_;
};

}  // namespace v6bl::server
