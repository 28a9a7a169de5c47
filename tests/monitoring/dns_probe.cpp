// A minimal DNS client over raw loopback sockets: A/TXT queries, garbage, UDP and TCP.
#include "dns_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace v6bl::monitoring::test {
namespace {

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

void set_timeout(int fd, int ms) {
    timeval tv{};
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

std::optional<dns_reply> read_reply(const std::uint8_t* p, std::size_t n) {
    if (n < 12) return std::nullopt;
    dns_reply r;
    r.rcode = p[3] & 0x0f;
    r.answers = static_cast<std::uint16_t>(p[6] << 8 | p[7]);
    return r;
}

bool read_all(int fd, std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        const ssize_t got = ::recv(fd, p, n, 0);
        if (got <= 0) return false;
        p += got;
        n -= static_cast<std::size_t>(got);
    }
    return true;
}

}  // namespace

std::string nibble_query_name(const std::string& ipv6, const std::string& zone) {
    in6_addr a{};
    if (::inet_pton(AF_INET6, ipv6.c_str(), &a) != 1)
        throw std::invalid_argument("not an IPv6 address: " + ipv6);
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 15; i >= 0; --i) {
        out += hex[a.s6_addr[i] & 0x0f];
        out += '.';
        out += hex[a.s6_addr[i] >> 4];
        out += '.';
    }
    return out + zone;
}

std::vector<std::uint8_t> make_query(const std::string& name, std::uint16_t qtype,
                                     std::uint16_t id) {
    std::vector<std::uint8_t> m = {static_cast<std::uint8_t>(id >> 8),
                                   static_cast<std::uint8_t>(id & 0xff),
                                   0,
                                   0,
                                   0,
                                   1,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0};
    std::size_t start = 0;
    while (start <= name.size()) {
        const auto dot = std::min(name.find('.', start), name.size());
        const std::size_t len = dot - start;
        if (len == 0 || len > 63) throw std::invalid_argument("bad name: " + name);
        m.push_back(static_cast<std::uint8_t>(len));
        m.insert(m.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
                 name.begin() + static_cast<std::ptrdiff_t>(dot));
        start = dot + 1;
    }
    m.push_back(0);
    m.push_back(static_cast<std::uint8_t>(qtype >> 8));
    m.push_back(static_cast<std::uint8_t>(qtype & 0xff));
    m.push_back(0);
    m.push_back(1);  // IN
    return m;
}

std::optional<dns_reply> udp_exchange(std::uint16_t port, const std::vector<std::uint8_t>& msg,
                                      bool expect_reply) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    set_timeout(fd, expect_reply ? 2000 : 200);
    const auto sa = loopback(port);
    std::optional<dns_reply> out;
    if (::sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<const sockaddr*>(&sa),
                 sizeof sa) == static_cast<ssize_t>(msg.size())) {
        std::uint8_t buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) out = read_reply(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

std::vector<dns_reply> tcp_exchange(std::uint16_t port,
                                    const std::vector<std::vector<std::uint8_t>>& msgs) {
    std::vector<dns_reply> out;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return out;
    set_timeout(fd, 2000);
    const auto sa = loopback(port);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) {
        std::vector<std::uint8_t> wire;
        for (const auto& m : msgs) {
            wire.push_back(static_cast<std::uint8_t>(m.size() >> 8));
            wire.push_back(static_cast<std::uint8_t>(m.size() & 0xff));
            wire.insert(wire.end(), m.begin(), m.end());
        }
        if (::send(fd, wire.data(), wire.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(wire.size())) {
            for (std::size_t i = 0; i < msgs.size(); ++i) {
                std::uint8_t len[2];
                if (!read_all(fd, len, 2)) break;
                std::vector<std::uint8_t> body(static_cast<std::size_t>(len[0] << 8 | len[1]));
                if (!read_all(fd, body.data(), body.size())) break;
                if (auto r = read_reply(body.data(), body.size())) out.push_back(*r);
            }
        }
    }
    ::close(fd);
    return out;
}

}  // namespace v6bl::monitoring::test
