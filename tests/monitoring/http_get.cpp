// A tiny HTTP/1.0 GET client over a loopback socket (the tests need no curl).
#include "http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace v6bl::monitoring::test {

std::optional<http_response> http_get(const std::string& host, std::uint16_t port,
                                      const std::string& target,
                                      std::chrono::milliseconds timeout) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_on_exit{fd};
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return std::nullopt;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) return std::nullopt;
    const std::string request = "GET " + target + " HTTP/1.0\r\nHost: " + host + ":" +
                                std::to_string(port) + "\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size()))
        return std::nullopt;
    std::string raw;
    char buf[16384];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0) return std::nullopt;  // timeout or reset
        if (n == 0) break;
        raw.append(buf, static_cast<std::size_t>(n));
    }
    const auto head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    http_response r;
    const auto sp = raw.find(' ');
    if (sp == std::string::npos || sp > head_end) return std::nullopt;
    r.status = std::atoi(raw.c_str() + sp + 1);
    std::string body = raw.substr(head_end + 4);
    // civetweb answers HTTP/1.0 without chunking; decode chunks anyway if they appear.
    const std::string head = raw.substr(0, head_end);
    if (head.find("Transfer-Encoding: chunked") != std::string::npos) {
        std::string plain;
        std::size_t pos = 0;
        while (pos < body.size()) {
            const auto eol = body.find("\r\n", pos);
            if (eol == std::string::npos) break;
            const std::size_t len = std::stoul(body.substr(pos, eol - pos), nullptr, 16);
            if (len == 0) break;
            plain += body.substr(eol + 2, len);
            pos = eol + 2 + len + 2;
        }
        body = std::move(plain);
    }
    r.body = std::move(body);
    return r;
}

std::string url_encode(const std::string& s) {
    std::string out;
    for (const unsigned char ch : s) {
        if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out += static_cast<char>(ch);
        } else {
            char hex[4];
            std::snprintf(hex, sizeof hex, "%%%02X", ch);
            out += hex;
        }
    }
    return out;
}

}  // namespace v6bl::monitoring::test
