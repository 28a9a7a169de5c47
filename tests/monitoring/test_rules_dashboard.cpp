// The shipped alert rules (promtool check and unit tests) and the Grafana dashboard's queries.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "daemon_process.h"
#include "metric_names.h"

using namespace v6bl::monitoring::test;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<fs::path> rule_files() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(V6BL_RULES_DIR))
        if (e.path().extension() == ".yml") out.push_back(e.path());
    return out;
}

}  // namespace

TEST_CASE("promtool check rules passes on the shipped rules", "[rules][promtool]") {
    if (!fs::exists(V6BL_PROMTOOL)) {
        WARN("SKIPPED: " V6BL_PROMTOOL " is absent (Debian package prometheus)");
        return;
    }
    const auto files = rule_files();
    REQUIRE(!files.empty());
    for (const auto& f : files) {
        std::string out;
        const int rc = run_command({V6BL_PROMTOOL, "check", "rules", f.string()}, out);
        INFO(out);
        CHECK(rc == 0);
    }
}

TEST_CASE("the alerts fire on bad histories and only there (promtool test rules)",
          "[rules][promtool]") {
    if (!fs::exists(V6BL_PROMTOOL)) {
        WARN("SKIPPED: " V6BL_PROMTOOL " is absent (Debian package prometheus)");
        return;
    }
    std::string out;
    const int rc = run_command({V6BL_PROMTOOL, "test", "rules", V6BL_RULES_TEST}, out);
    INFO(out);
    CHECK(rc == 0);
}

TEST_CASE("every alert the issue asks for is there", "[rules]") {
    std::string all;
    for (const auto& f : rule_files()) all += read_file(f);
    for (const char* alert : {"V6blDown", "V6blNoAnswers", "V6blViewLag", "V6blIngestStalled",
                              "V6blBadInputSurge", "V6blListingCountJump"})
        CHECK(all.find(std::string("alert: ") + alert) != std::string::npos);
}

TEST_CASE("rules and dashboard name only metrics v6bl exposes", "[rules][dashboard]") {
    const auto exposed = exposed_series_names();
    std::string all;
    for (const auto& f : rule_files()) all += read_file(f);
    for (const auto& q : dashboard_queries(read_file(fs::path(V6BL_DASHBOARD_DIR) / "v6bl.json")))
        all += q + "\n";
    const auto used = referenced_metric_names(all);
    CHECK(used.size() > 20);
    for (const auto& name : used) {
        INFO("metric " << name);
        CHECK(exposed.count(name) == 1);
    }
}

TEST_CASE("the dashboard is Grafana JSON with the panels operators look for", "[dashboard]") {
    const auto j = nlohmann::json::parse(read_file(fs::path(V6BL_DASHBOARD_DIR) / "v6bl.json"));
    CHECK(j.at("uid") == "v6bl-overview");
    std::set<std::string> titles;
    for (const auto& p : j.at("panels")) {
        titles.insert(p.at("title").get<std::string>());
        if (p.at("type") != "row") CHECK(!p.at("targets").empty());
    }
    for (const char* t :
         {"Responses per second by rcode", "Listed ratio", "Answer latency quantiles",
          "TCP connections", "View lag (serials behind the writer)", "Ingest input rates",
          "Bad input by reason"})
        CHECK(titles.count(t) == 1);
}
