// The /metrics HTTP endpoint (prometheus-cpp Exposer) for `v6bl serve` and `v6bl ingest`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "v6bl/ingest/ingest_counters.h"
#include "v6bl/monitoring/ingest_families.h"
#include "v6bl/server/dns_server.h"

namespace prometheus {
class Collectable;
class Exposer;
}  // namespace prometheus

namespace v6bl::monitoring {

// What is wrong with `listen` as a --metrics address, or "" when it can be tried: IPv4
// "ADDR:PORT", or ":PORT" / "PORT" for every IPv4 address. IPv6 is refused by name: the
// civetweb that prometheus-cpp's exposer uses in Debian 12 is built without IPv6.
std::string metrics_listen_problem(const std::string& listen);

// Serves GET /metrics on `listen` ("127.0.0.1:9153", ":9153") until destroyed. Everything is
// computed at scrape time from the collector; nothing runs between scrapes.
class metrics_endpoint {
  public:
    // Throws std::invalid_argument for an address metrics_listen_problem() names,
    // std::runtime_error when the address cannot be bound.
    metrics_endpoint(const std::string& listen, std::shared_ptr<prometheus::Collectable> source);
    ~metrics_endpoint();
    metrics_endpoint(const metrics_endpoint&) = delete;
    metrics_endpoint& operator=(const metrics_endpoint&) = delete;

    // The bound port (useful with port 0).
    std::uint16_t port() const;
    // "http://ADDR:PORT/metrics" with the bound port ("0.0.0.0" for a listen of ":PORT").
    std::string url() const;

  private:
    std::string host_;
    std::shared_ptr<prometheus::Collectable> source_;
    std::unique_ptr<prometheus::Exposer> exposer_;
};

// The server's metrics: DNS, TCP, view, process and build info, merged at each scrape.
std::unique_ptr<metrics_endpoint> start_server_metrics(const std::string& listen,
                                                       server::stats_collector collect);

// The ingest's metrics: packets, SYNs, attempts, associations, rejections, bad input,
// commits, store serial, process and build info.
using ingest_sampler = std::function<ingest_sample()>;
std::unique_ptr<metrics_endpoint> start_ingest_metrics(const std::string& listen,
                                                       ingest_sampler sample);
std::unique_ptr<metrics_endpoint> start_ingest_metrics(
    const std::string& listen, std::function<ingest::ingest_counters()> counters);

// A ready `server_hooks::start_metrics`: the endpoint it starts lives as long as the hook
// (and its copies), so keep the hooks alive for the whole run.
std::function<std::string(const std::string&, server::stats_collector)> server_metrics_hook();

}  // namespace v6bl::monitoring
