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
    // A message begun must be complete within this long of its first byte (slow-read
    // clients cannot hold a connection by trickling bytes under the idle timeout).
    std::uint32_t tcp_read_timeout_ms = 3000;
    // UDP coalescing: when a read found several (but fewer than 64) queries waiting, the loop
    // pauses this long before its next read, so that the next batch is larger. Each batch
    // pays for its system calls and for waking its clients once, whatever its size: against
    // dnsperf at 140k queries/s, 50 us cut server CPU per query by about a third
    // (docs/benchmarks.md), at the price of up to this much (plus the kernel's timer slack)
    // added latency under load. A lone query is never delayed. 0: off.
    std::uint32_t udp_coalesce_us = 50;

    // Response rate limiting of UDP answers per source /24 (IPv4) or /56 (IPv6): at most
    // `rrl_rate` answers per second (0: off); a source over its rate stays limited until its
    // debt, at most `rrl_window_s` seconds of answers, is paid off; every `rrl_slip`th
    // limited answer goes out as a bare TC=1 answer (0: drop them all).
    std::uint32_t rrl_rate = 0;
    std::uint32_t rrl_slip = 2;
    std::uint32_t rrl_window_s = 15;
    // Sources allowed to query (IPv4 and IPv6 CIDR); others get REFUSED. Empty: everyone.
    std::vector<std::string> allow_query;
    // Drop root to this user after binding every socket; empty: keep the current user.
    std::string user;
};

}  // namespace v6bl::server
