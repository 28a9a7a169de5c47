// The allow-query ACL: prefixes grouped by family and length, each group sorted.
#include "query_acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace v6bl::server {
namespace {

void mask_to(std::array<std::uint8_t, 16>& a, unsigned length) {
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned bits = length >= 8 * (i + 1) ? 8 : (length > 8 * i ? length - 8 * i : 0);
        a[i] &= static_cast<std::uint8_t>(bits == 8 ? 0xff : (0xff00u >> bits) & 0xff);
    }
}

}  // namespace

query_acl::query_acl(const std::vector<std::string>& prefixes) {
    for (const std::string& text : prefixes) {
        const auto bad = [&](const char* why) {
            return std::invalid_argument("--allow-query '" + text + "': " + why);
        };
        const auto slash = text.find('/');
        const std::string host = text.substr(0, slash);
        address a{};
        int family = 0;
        unsigned max_len = 0;
        if (::inet_pton(AF_INET, host.c_str(), a.data()) == 1) {
            family = AF_INET;
            max_len = 32;
        } else if (::inet_pton(AF_INET6, host.c_str(), a.data()) == 1) {
            family = AF_INET6;
            max_len = 128;
        } else {
            throw bad("not an IPv4 or IPv6 address or CIDR prefix");
        }
        unsigned length = max_len;
        if (slash != std::string::npos) {
            const char* begin = text.data() + slash + 1;
            const char* end = text.data() + text.size();
            const auto [p, ec] = std::from_chars(begin, end, length);
            if (begin == end || ec != std::errc() || p != end || length > max_len)
                throw bad(family == AF_INET ? "the prefix length must be 0..32"
                                            : "the prefix length must be 0..128");
        }
        mask_to(a, length);
        auto g = std::find_if(groups_.begin(), groups_.end(), [&](const group& x) {
            return x.family == family && x.length == length;
        });
        if (g == groups_.end()) g = groups_.insert(groups_.end(), group{family, length, {}});
        g->masked.push_back(a);
    }
    for (auto& g : groups_) {
        std::sort(g.masked.begin(), g.masked.end());
        g.masked.erase(std::unique(g.masked.begin(), g.masked.end()), g.masked.end());
    }
}

bool query_acl::allows(const sockaddr* source) const {
    if (groups_.empty()) return true;
    address a{};
    int family = source->sa_family;
    if (family == AF_INET) {
        std::memcpy(a.data(), &reinterpret_cast<const sockaddr_in*>(source)->sin_addr, 4);
    } else if (family == AF_INET6) {
        const std::uint8_t* b = reinterpret_cast<const sockaddr_in6*>(source)->sin6_addr.s6_addr;
        static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(b, mapped, 12) == 0) {
            family = AF_INET;
            std::memcpy(a.data(), b + 12, 4);
        } else {
            std::memcpy(a.data(), b, 16);
        }
    } else {
        return false;
    }
    for (const auto& g : groups_) {
        if (g.family != family) continue;
        address m = a;
        mask_to(m, g.length);
        if (std::binary_search(g.masked.begin(), g.masked.end(), m)) return true;
    }
    return false;
}

}  // namespace v6bl::server
