// The exposer in-process: a scrape calls the collector, survives its failure, passes promtool.
#include <catch2/catch.hpp>
#include <filesystem>
#include <stdexcept>

#include "daemon_process.h"
#include "exposition_text.h"
#include "http_get.h"
#include "v6bl/monitoring/ingest_sample_box.h"
#include "v6bl/monitoring/metrics_endpoint.h"

using namespace v6bl;
using namespace v6bl::monitoring;
using namespace v6bl::monitoring::test;

namespace {

std::string listen_on(std::uint16_t port) {
    return "127.0.0.1:" + std::to_string(port);
}

std::string scrape(std::uint16_t port) {
    const auto r = http_get("127.0.0.1", port, "/metrics");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return r->body;
}

}  // namespace

TEST_CASE("each scrape merges the collector's counters at that moment", "[endpoint]") {
    std::atomic<std::uint64_t> udp{5};
    std::atomic<int> calls{0};
    const std::uint16_t port = free_loopback_port();
    auto ep = start_server_metrics(listen_on(port), [&] {
        ++calls;
        server::server_counters c;
        c.queries_udp = udp.load();
        c.view_serial = 9;
        return c;
    });
    CHECK(ep->port() == port);
    CHECK(calls == 0);  // nothing is computed between scrapes

    auto s = parse_exposition(scrape(port));
    CHECK(sample_of(s, "v6bl_dns_queries_total{transport=\"udp\"}") == 5);
    CHECK(sample_of(s, "v6bl_view_serial") == 9);
    CHECK(sample_of(s, "v6bl_scrape_errors_total") == 0);
    CHECK(sample_of(s, "process_open_fds") > 0);
    udp = 8;
    s = parse_exposition(scrape(port));
    CHECK(sample_of(s, "v6bl_dns_queries_total{transport=\"udp\"}") == 8);
    CHECK(calls == 2);
    // Other paths are not served.
    const auto other = http_get("127.0.0.1", port, "/");
    REQUIRE(other);
    CHECK(other->status == 404);
}

TEST_CASE("a failing collector leaves the endpoint up and counts the error", "[endpoint]") {
    const std::uint16_t port = free_loopback_port();
    auto ep = start_server_metrics(listen_on(port), []() -> server::server_counters {
        throw std::runtime_error("view gone");
    });
    auto s = parse_exposition(scrape(port));
    CHECK(!sample_of(s, "v6bl_dns_queries_total{transport=\"udp\"}"));
    CHECK(sample_of(s, "v6bl_scrape_errors_total") == 1);
    CHECK(sample_of(s, "process_resident_memory_bytes") > 0);
    s = parse_exposition(scrape(port));
    CHECK(sample_of(s, "v6bl_scrape_errors_total") == 2);
}

TEST_CASE("a port in use is a start-up error", "[endpoint]") {
    const std::uint16_t port = free_loopback_port();
    auto first = start_server_metrics(listen_on(port), [] { return server::server_counters{}; });
    CHECK_THROWS_AS(start_server_metrics(listen_on(port), [] { return server::server_counters{}; }),
                    std::runtime_error);
    // Addresses it cannot use at all are usage errors, found before civetweb is asked.
    CHECK_THROWS_AS(start_server_metrics("", [] { return server::server_counters{}; }),
                    std::invalid_argument);
}

TEST_CASE("IPv6 metrics addresses are refused by name: civetweb here has no IPv6", "[endpoint]") {
    for (const std::string listen : {"[::1]:9353", "::1:9353", "[::]:9353"}) {
        INFO(listen);
        const std::string problem = metrics_listen_problem(listen);
        CHECK(problem.find("IPv6 is not available") != std::string::npos);
        CHECK_THROWS_AS(start_server_metrics(listen, [] { return server::server_counters{}; }),
                        std::invalid_argument);
    }
    CHECK(metrics_listen_problem("127.0.0.1:9353").empty());
    CHECK(metrics_listen_problem(":9353").empty());
    CHECK(metrics_listen_problem("9353").empty());
    // Malformed IPv4 ones too (civetweb's own error said only "cannot listen").
    for (const std::string bad :
         {"abc", "127.0.0.1:0x", "127.0.0.1:99999", "localhost:9353", "127.0.0.1:", "1.2.3:9353"}) {
        INFO(bad);
        CHECK(metrics_listen_problem(bad).find("want an IPv4 ADDR:PORT") != std::string::npos);
    }
}

TEST_CASE("the server hook keeps its endpoint alive with the hook", "[endpoint]") {
    const std::uint16_t port = free_loopback_port();
    {
        auto hook = server_metrics_hook();
        hook(listen_on(port), [] {
            server::server_counters c;
            c.queries_tcp = 3;
            return c;
        });
        const auto s = parse_exposition(scrape(port));
        CHECK(sample_of(s, "v6bl_dns_queries_total{transport=\"tcp\"}") == 3);
    }
    CHECK(!http_get("127.0.0.1", port, "/metrics", std::chrono::milliseconds(500)));
}

TEST_CASE("port 0 binds a free port, and url() names it", "[endpoint]") {
    auto hook = server_metrics_hook();
    const std::string url = hook("127.0.0.1:0", [] {
        server::server_counters c;
        c.queries_tcp = 5;
        return c;
    });
    const std::string prefix = "http://127.0.0.1:";
    REQUIRE(url.rfind(prefix, 0) == 0);
    REQUIRE(url.size() > prefix.size() + std::string("/metrics").size());
    CHECK(url.substr(url.size() - 8) == "/metrics");
    const int port = std::stoi(url.substr(prefix.size()));
    CHECK(port > 0);
    CHECK(port < 65536);
    const auto s = parse_exposition(scrape(static_cast<std::uint16_t>(port)));
    CHECK(sample_of(s, "v6bl_dns_queries_total{transport=\"tcp\"}") == 5);
    // ":PORT" listens on every IPv4 address, and says so.
    auto any = start_ingest_metrics(
        ":0", std::function<ingest::ingest_counters()>([] { return ingest::ingest_counters{}; }));
    CHECK(any->url() == "http://0.0.0.0:" + std::to_string(any->port()) + "/metrics");
    CHECK(any->port() != 0);
    // So does a bare PORT (its URL said http://0:PORT, or PORT:PORT).
    auto bare = start_ingest_metrics(
        "0", std::function<ingest::ingest_counters()>([] { return ingest::ingest_counters{}; }));
    CHECK(bare->url() == "http://0.0.0.0:" + std::to_string(bare->port()) + "/metrics");
}

TEST_CASE("the ingest endpoint serves ingest counters", "[endpoint]") {
    const std::uint16_t port = free_loopback_port();
    auto ep = start_ingest_metrics(listen_on(port), std::function<ingest::ingest_counters()>([] {
                                       ingest::ingest_counters c;
                                       c.packets = 123;
                                       c.syns = 10;
                                       c.syns_v6 = 4;
                                       return c;
                                   }));
    const auto s = parse_exposition(scrape(port));
    CHECK(sample_of(s, "v6bl_ingest_packets_total") == 123);
    CHECK(sample_of(s, "v6bl_ingest_syns_total{family=\"ipv4\"}") == 6);
    CHECK(!sample_of(s, "v6bl_dns_queries_total{transport=\"udp\"}"));
}

TEST_CASE("promtool check metrics accepts the server and ingest expositions", "[promtool]") {
    if (!std::filesystem::exists(V6BL_PROMTOOL)) {
        WARN("SKIPPED: " V6BL_PROMTOOL " is absent (Debian package prometheus)");
        return;
    }
    const std::uint16_t sport = free_loopback_port();
    auto server_ep = start_server_metrics(listen_on(sport), [] {
        server::server_counters c;
        c.queries_udp = 10;
        c.latency[2] = 10;
        return c;
    });
    const std::uint16_t iport = free_loopback_port();
    auto ingest_ep = start_ingest_metrics(listen_on(iport), [] {
        ingest_sample s;
        s.counters.packets = 5;
        s.store_serial = 3;
        s.corrupt_records = 0;
        return s;
    });
    for (const auto port : {sport, iport}) {
        std::string out;
        const int rc = run_command({V6BL_PROMTOOL, "check", "metrics"}, out, scrape(port));
        INFO(out);
        CHECK(rc == 0);
    }
}

TEST_CASE("the ingest sample box hands the last published sample to scrapes", "[endpoint]") {
    ingest_sample_box box;
    const std::uint16_t port = free_loopback_port();
    auto ep = start_ingest_metrics(listen_on(port), [&box] { return box.read(); });
    auto s = parse_exposition(scrape(port));
    CHECK(sample_of(s, "v6bl_ingest_commits_total") == 0);
    CHECK(!sample_of(s, "v6bl_store_serial"));
    ingest_sample published;
    published.counters.commits = 4;
    published.store_serial = 12;
    box.publish(published);
    s = parse_exposition(scrape(port));
    CHECK(sample_of(s, "v6bl_ingest_commits_total") == 4);
    CHECK(sample_of(s, "v6bl_store_serial") == 12);
}
