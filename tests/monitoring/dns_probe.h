// A minimal DNS client over raw loopback sockets: A/TXT queries, garbage, UDP and TCP.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace v6bl::monitoring::test {

// The 32-nibble reverse name of an IPv6 address under `zone` (RFC 5782).
std::string nibble_query_name(const std::string& ipv6, const std::string& zone);

// A query message: id, RD=0, one question, no EDNS.
std::vector<std::uint8_t> make_query(const std::string& name, std::uint16_t qtype,
                                     std::uint16_t id);

struct dns_reply {
    std::uint8_t rcode = 0;
    std::uint16_t answers = 0;
};

// Sends one UDP message to 127.0.0.1:port and waits up to 2 s for a reply.
std::optional<dns_reply> udp_exchange(std::uint16_t port, const std::vector<std::uint8_t>& msg,
                                      bool expect_reply = true);

// Opens one TCP connection, sends every message (pipelined), reads one reply per message.
std::vector<dns_reply> tcp_exchange(std::uint16_t port,
                                    const std::vector<std::vector<std::uint8_t>>& msgs);

}  // namespace v6bl::monitoring::test
