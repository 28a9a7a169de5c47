// `v6bl serve` as a library: event loops, listeners, view refresh, signals. Blocks until stopped.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "v6bl/server/server_config.h"
#include "v6bl/server/server_stats.h"

namespace v6bl::server {

// Called once per transfer message, in order; throws when the connection is gone.
using transfer_emit = std::function<void(std::vector<std::uint8_t>)>;
// AXFR/IXFR of the zone over TCP. Runs off the event loop (libuv's thread pool); the
// messages it emits are posted back to the connection's loop.
using transfer_hook = std::function<void(std::span<const std::uint8_t> query,
                                         const sockaddr_storage& peer, transfer_emit emit)>;

// Sums every loop's counters, plus the view's serial and size.
using stats_collector = std::function<server_counters()>;

struct server_hooks {
    // The monitoring stage serves `metrics_listen` with what `collect` returns, and gives
    // the URL it listens on (with the port chosen for port 0), printed at start. Called once
    // at start when --metrics is given; without a hook the flag is reported and ignored.
    std::function<std::string(const std::string& metrics_listen, stats_collector collect)>
        start_metrics;
    // Without a transfer hook, AXFR/IXFR over TCP are REFUSED.
    transfer_hook transfer;
    // Called on the main loop (never a query loop) each time a view with a new serial is
    // published: the zones stage's NOTIFY service hangs here. Must not block.
    std::function<void(std::uint32_t serial)> serial_changed;
    // SIGHUP: re-reads the configuration. Zone identity, TTLs and policy apply at once;
    // listen addresses and threads need a restart (a warning says so).
    std::function<std::optional<server_config>()> reload_config;
};

// What run_server would refuse in `config` as a usage error (std::invalid_argument's text),
// found without opening anything: the listen addresses, --allow-query and the zone (its
// names and NS addresses). Empty when there is nothing.
std::string config_problem(const server_config& config);

// Opens the store as a secondary reader, builds the first view, listens, serves until
// SIGTERM or SIGINT (or request_stop). Throws std::invalid_argument for a configuration it
// cannot use (a listen address, --allow-query, the zone's NS addresses) and
// std::runtime_error on other start-up failures (a port in use, the store).
int run_server(const server_config& config, server_hooks hooks);

}  // namespace v6bl::server
