// The /metrics HTTP endpoint (prometheus-cpp Exposer) for `v6bl serve` and `v6bl ingest`.
#include "v6bl/monitoring/metrics_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <prometheus/exposer.h>

#include <stdexcept>

#include "scrape_collectable.h"
#include "v6bl/monitoring/server_families.h"
#include "v6bl/monitoring/view_age_tracker.h"

namespace v6bl::monitoring {
namespace {

// civetweb wants "9153" for every address.
std::string civetweb_address(const std::string& listen) {
    if (!listen.empty() && listen.front() == ':') return listen.substr(1);
    return listen;
}

}  // namespace

std::string metrics_listen_problem(const std::string& listen) {
    if (listen.empty()) return "--metrics: empty listen address";
    if (listen.front() == '[' || listen.find(':') != listen.rfind(':'))
        return "--metrics " + listen +
               ": IPv6 is not available for the metrics endpoint (Debian's civetweb, which "
               "prometheus-cpp serves /metrics with, is built without it); give an IPv4 "
               "ADDR:PORT or :PORT";
    const std::size_t colon = listen.find(':');
    const std::string address = colon == std::string::npos ? "" : listen.substr(0, colon);
    const std::string port = colon == std::string::npos ? listen : listen.substr(colon + 1);
    in_addr ignored{};
    const bool port_ok = !port.empty() && port.size() <= 5 &&
                         port.find_first_not_of("0123456789") == std::string::npos &&
                         std::stoul(port) <= 65535;  // 0: any free port
    if (!port_ok || (!address.empty() && ::inet_pton(AF_INET, address.c_str(), &ignored) != 1))
        return "--metrics " + listen + ": want an IPv4 ADDR:PORT (127.0.0.1:9353) or :PORT";
    return "";
}

metrics_endpoint::metrics_endpoint(const std::string& listen,
                                   std::shared_ptr<prometheus::Collectable> source)
    : source_(std::move(source)) {
    if (const std::string problem = metrics_listen_problem(listen); !problem.empty())
        throw std::invalid_argument(problem);
    // ADDR:PORT, :PORT or a bare PORT (the last two listen on every IPv4 address).
    const std::size_t colon = listen.rfind(':');
    host_ = colon == std::string::npos ? "" : listen.substr(0, colon);
    if (host_.empty()) host_ = "0.0.0.0";
    try {
        // A scrape is a few microseconds of work, but a connection holds its thread until
        // its request is in: with one thread, one idle or slow client kept every scrape
        // waiting for civetweb's default 30 s read timeout, past Prometheus's 10 s scrape
        // timeout. With four threads and 5 s, eight idle connections still did (helper-52).
        // Sixteen threads (stacks, mostly untouched) and 2 s to send a request: fifteen idle
        // clients cost a scrape nothing, and every sixteen more at most 2 s.
        exposer_ = std::make_unique<prometheus::Exposer>(
            std::vector<std::string>{"listening_ports", civetweb_address(listen), "num_threads",
                                     "16", "request_timeout_ms", "2000"});
    } catch (const std::exception& e) {
        throw std::runtime_error("--metrics " + listen + ": cannot listen (" + e.what() + ")");
    }
    exposer_->RegisterCollectable(source_, "/metrics");
}

metrics_endpoint::~metrics_endpoint() = default;

std::uint16_t metrics_endpoint::port() const {
    const auto ports = exposer_->GetListeningPorts();
    return ports.empty() ? 0 : static_cast<std::uint16_t>(ports.front());
}

std::string metrics_endpoint::url() const {
    return "http://" + host_ + ":" + std::to_string(port()) + "/metrics";
}

std::unique_ptr<metrics_endpoint> start_server_metrics(const std::string& listen,
                                                       server::stats_collector collect) {
    auto ages = std::make_shared<view_age_tracker>();
    auto source = std::make_shared<scrape_collectable>([collect = std::move(collect), ages] {
        const server::server_counters c = collect();
        server_scrape_facts facts;
        facts.view_age_seconds = ages->observe(c.view_serial, view_age_tracker::clock_type::now());
        return server_families(c, facts);
    });
    return std::make_unique<metrics_endpoint>(listen, std::move(source));
}

std::unique_ptr<metrics_endpoint> start_ingest_metrics(const std::string& listen,
                                                       ingest_sampler sample) {
    auto source = std::make_shared<scrape_collectable>(
        [sample = std::move(sample)] { return ingest_families(sample()); });
    return std::make_unique<metrics_endpoint>(listen, std::move(source));
}

std::unique_ptr<metrics_endpoint> start_ingest_metrics(
    const std::string& listen, std::function<ingest::ingest_counters()> counters) {
    return start_ingest_metrics(listen, [counters = std::move(counters)] {
        ingest_sample s;
        s.counters = counters();
        return s;
    });
}

std::function<std::string(const std::string&, server::stats_collector)> server_metrics_hook() {
    auto holder = std::make_shared<std::unique_ptr<metrics_endpoint>>();
    return [holder](const std::string& listen, server::stats_collector collect) {
        *holder = start_server_metrics(listen, std::move(collect));
        return (*holder)->url();
    };
}

}  // namespace v6bl::monitoring
