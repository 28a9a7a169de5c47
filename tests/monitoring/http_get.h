// A tiny HTTP/1.0 GET client over a loopback socket (the tests need no curl).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace v6bl::monitoring::test {

struct http_response {
    int status = 0;
    std::string body;
};

// GET http://host:port/target. nullopt when nothing answers (refused, reset, timeout).
std::optional<http_response> http_get(const std::string& host, std::uint16_t port,
                                      const std::string& target,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Percent-encodes a query-string value.
std::string url_encode(const std::string& s);

}  // namespace v6bl::monitoring::test
