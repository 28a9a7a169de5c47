// The server's immutable start-up configuration and the listen address parser.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "v6bl/store/policy.h"
#include "v6bl/zones/zone_config.h"

namespace v6bl::server {

struct listen_address {
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    std::string text;  // "127.0.0.1:5353", "[::1]:5353"
};

// "ADDR:PORT" for IPv4, "[ADDR]:PORT" for IPv6. nullopt on anything else.
std::optional<listen_address> parse_listen_address(std::string_view text);
std::string format_sockaddr(const sockaddr_storage& addr);

struct server_config {
    std::string db_path;
    std::string scratch_dir;  // the RocksDB secondary's own files; empty: a fresh temp dir
    zones::zone_config zone;
    store::listing_policy policy;
    std::vector<std::string> listen = {"127.0.0.1:5353", "[::1]:5353"};
    unsigned threads = 1;        // event loops, each with its own sockets
    std::string metrics_listen;  // handed to the metrics hook; empty: off

    std::uint32_t refresh_ms = 500;          // how often the store is caught up
    std::uint32_t full_rebuild_s = 3600;     // periodic full rebuild (expiry, escalation drift)
    std::size_t overlay_limit = 100000;      // overlay /48 regions before a full rebuild
    std::uint32_t tcp_idle_ms = 10000;       // RFC 7766 6.2.3: idle connections are closed
    std::size_t tcp_max_connections = 1024;  // per server, split across threads
    std::size_t tcp_max_inflight = 32;       // pipelined answers queued per connection
};

}  // namespace v6bl::server
