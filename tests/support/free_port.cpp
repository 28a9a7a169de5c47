#include "free_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <stdexcept>

namespace v6bl::test {
namespace {

bool bindable(int family, int type, std::uint16_t port) {
    const int fd = ::socket(family, type, 0);
    if (fd < 0) return false;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the servers do
    int rc;
    if (family == AF_INET) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    } else {
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons(port);
        sa.sin6_addr = in6addr_loopback;
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }
    ::close(fd);
    return rc == 0;
}

// [low, high) of the ports tests may use: under the ephemeral range, above the well-known
// and commonly registered ones.
std::pair<unsigned, unsigned> usable_range() {
    unsigned eph_low = 32768, eph_high = 60999;
    std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> eph_low >> eph_high;
    if (eph_low >= 12000) return {10000, eph_low};
    // An unusual host whose ephemeral range starts low: use the ports above it instead.
    if (eph_high < 64000) return {eph_high + 1, 65535};
    return {10000, 32768};  // no room outside; fall back to a fixed band
}

}  // namespace

std::uint16_t free_port() {
    static std::mt19937 rng(
        static_cast<unsigned>(::getpid()) * 7919u +
        static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
    const auto [low, high] = usable_range();
    for (int i = 0; i < 1000; ++i) {
        const auto port = static_cast<std::uint16_t>(low + rng() % (high - low));
        if (bindable(AF_INET, SOCK_DGRAM, port) && bindable(AF_INET, SOCK_STREAM, port) &&
            bindable(AF_INET6, SOCK_DGRAM, port) && bindable(AF_INET6, SOCK_STREAM, port))
            return port;
    }
    throw std::runtime_error("no free loopback port below the ephemeral range");
}

}  // namespace v6bl::test
