// A real Prometheus (Debian `prometheus`) scrapes `v6bl serve` and answers for v6bl series.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "dns_probe.h"
#include "http_get.h"
#include "metric_names.h"
#include "serve_fixture.h"

using namespace v6bl::monitoring::test;
namespace fs = std::filesystem;

namespace {

// GET /api/v1/<what>; the parsed JSON, or null when Prometheus is not answering yet.
nlohmann::json prometheus_api(std::uint16_t port, const std::string& target) {
    const auto r = http_get("127.0.0.1", port, target);
    if (!r || r->status != 200) return nullptr;
    try {
        return nlohmann::json::parse(r->body);
    } catch (...) {
        return nullptr;
    }
}

nlohmann::json instant_query(std::uint16_t port, const std::string& promql) {
    return prometheus_api(port, "/api/v1/query?query=" + url_encode(promql));
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("Prometheus scrapes v6bl serve and answers for v6bl_dns_queries_total",
          "[prometheus][e2e]") {
    if (serve_fixture::binary().empty()) {
        WARN("SKIPPED: the v6bl executable is not built (tools stage left out)");
        return;
    }
    if (!fs::exists(V6BL_PROMETHEUS)) {
        WARN("SKIPPED: " V6BL_PROMETHEUS " is absent (Debian package prometheus)");
        return;
    }
    serve_fixture f;
    constexpr int sent = 6;
    const std::string listed = nibble_query_name(listed_address, fixture_zone);
    for (int i = 0; i < sent; ++i)
        REQUIRE(udp_exchange(f.dns_port(), make_query(listed, 1, static_cast<std::uint16_t>(i))));

    // Prometheus with the shipped rules, scraping every second, on its own loopback port.
    const std::uint16_t prom_port = free_loopback_port();
    const fs::path config = fs::path(f.dir()) / "prometheus.yml";
    std::ofstream(config) << "global:\n"
                             "  scrape_interval: 1s\n"
                             "  evaluation_interval: 1s\n"
                             "rule_files:\n"
                             "  - "
                          << V6BL_RULES_DIR
                          << "/*.yml\n"
                             "scrape_configs:\n"
                             "  - job_name: v6bl\n"
                             "    static_configs:\n"
                             "      - targets: ['127.0.0.1:"
                          << f.metrics_port() << "']\n";
    daemon_process prom(
        {V6BL_PROMETHEUS, "--config.file=" + config.string(),
         "--storage.tsdb.path=" + f.dir() + "/tsdb",
         "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"},
        f.dir() + "/prometheus.log");

    // Within 60 s: Prometheus is up, has scraped, and the series carries exactly our queries.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    double value = -1;
    nlohmann::json last;
    while (std::chrono::steady_clock::now() < deadline && prom.running()) {
        last = instant_query(prom_port, "v6bl_dns_queries_total{transport=\"udp\"}");
        if (last.is_object() && last.value("status", "") == "success" &&
            !last["data"]["result"].empty()) {
            value = std::stod(last["data"]["result"][0]["value"][1].get<std::string>());
            if (value == sent) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    INFO("last answer: " << last.dump());
    INFO("prometheus log: " << prom.log());
    REQUIRE(prom.running());
    CHECK(value == sent);
    const auto& series = last["data"]["result"][0]["metric"];
    CHECK(series.value("job", "") == "v6bl");
    CHECK(series.value("instance", "") == "127.0.0.1:" + std::to_string(f.metrics_port()));

    const auto up = instant_query(prom_port, "up{job=\"v6bl\"}");
    REQUIRE(up.is_object());
    REQUIRE(!up["data"]["result"].empty());
    CHECK(up["data"]["result"][0]["value"][1] == "1");

    // The shipped rules loaded, with no evaluation error.
    const auto rules = prometheus_api(prom_port, "/api/v1/rules");
    REQUIRE(rules.is_object());
    int alerting = 0;
    for (const auto& g : rules["data"]["groups"]) {
        for (const auto& r : g["rules"]) {
            INFO("rule " << r.value("name", "") << ": " << r.value("lastError", ""));
            CHECK(r.value("health", "") != "err");
            if (r.value("type", "") == "alerting") ++alerting;
        }
    }
    CHECK(alerting >= 6);

    // Every dashboard query is valid PromQL to this Prometheus, and each series it gives
    // has the labels its legend names (an aggregation without `by` drops them: the legend
    // would be blank).
    // (rate() needs two scrapes in its window: waited for, so that the DNS panels have data)
    const auto rate_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < rate_deadline) {
        const auto r = instant_query(prom_port, "rate(v6bl_dns_queries_total[1m])");
        if (r.is_object() && r.contains("data") && !r["data"]["result"].empty()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    const auto targets = dashboard_targets(read_file(fs::path(V6BL_DASHBOARD_DIR) / "v6bl.json"));
    int labelled = 0;
    for (const auto& t : targets) {
        std::string q = std::regex_replace(t.expr, std::regex(R"(\$__rate_interval)"), "1m");
        q = std::regex_replace(q, std::regex(R"(\$instance|\$ingest)"), ".*");
        const auto r = instant_query(prom_port, q);
        INFO("dashboard query " << q << " → " << r.dump());
        CHECK((r.is_object() && r.value("status", "") == "success"));
        if (!r.is_object() || !r.contains("data")) continue;
        for (const auto& s : r["data"]["result"]) {
            for (const auto& label : legend_labels(t.legend)) {
                INFO("legend " << t.legend);
                CHECK(s["metric"].contains(label));
                ++labelled;
            }
        }
    }
    CHECK(labelled > 0);  // (the serve panels have data here)

    CHECK(prom.stop() == 0);
    CHECK(f.process().stop() == 0);
}
