// A real `v6bl serve` with --metrics on free loopback ports, over a small imported store.
#include "serve_fixture.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "http_get.h"

namespace v6bl::monitoring::test {

std::string serve_fixture::binary() {
    // V6BL_TEST_BINARY runs the same tests against another build (an installed package).
    const char* env = std::getenv("V6BL_TEST_BINARY");
    const std::string path = env && *env ? env : V6BL_BINARY;
    if (path.empty() || !std::filesystem::exists(path)) return {};
    return path;
}

serve_fixture::serve_fixture(const std::vector<std::string>& extra) {
    import(std::string(listed_address) + "/64 127.0.0.2 seen by the sensor\n" + manual_address +
           "/64 127.0.0.10 listed by hand\n");
    dns_port_ = free_loopback_port();
    do {
        metrics_port_ = free_loopback_port();
    } while (metrics_port_ == dns_port_);
    std::vector<std::string> argv{binary(),        "serve",
                                  "--db",          dir() + "/db",
                                  "--zone",        fixture_zone,
                                  "--listen",      "127.0.0.1:" + std::to_string(dns_port_),
                                  "--metrics",     "127.0.0.1:" + std::to_string(metrics_port_),
                                  "--refresh-ms",  "100",
                                  "--scratch-dir", dir() + "/scratch"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    server_ = std::make_unique<daemon_process>(argv, dir() + "/serve.log");
    const bool ready = server_->wait_for_output("ready", std::chrono::seconds(30));
    INFO(server_->log());
    REQUIRE(ready);
    // serve names where its metrics are, as it names its DNS addresses.
    CHECK(server_->log().find("metrics on http://127.0.0.1:" + std::to_string(metrics_port_) +
                              "/metrics\n") != std::string::npos);
    // The exposer starts before "ready"; allow it a moment all the same.
    std::optional<http_response> r;
    for (int i = 0; i < 50 && !r; ++i) {
        r = http_get("127.0.0.1", metrics_port_, "/metrics", std::chrono::milliseconds(500));
        if (!r) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(r);
    REQUIRE(r->status == 200);
}

serve_fixture::~serve_fixture() {
    if (server_) server_->stop();
}

void serve_fixture::import(const std::string& lines) {
    const std::string file = dir() + "/import.txt";
    std::ofstream(file) << lines;
    std::string out;
    const int rc = run_command({binary(), "import", "--db", dir() + "/db", file}, out);
    INFO(out);
    REQUIRE(rc == 0);
}

std::string serve_fixture::scrape_text() {
    const auto r = http_get("127.0.0.1", metrics_port_, "/metrics");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return r->body;
}

exposition_samples serve_fixture::scrape() {
    return parse_exposition(scrape_text());
}

}  // namespace v6bl::monitoring::test
