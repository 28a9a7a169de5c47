// End to end: the real `v6bl serve --metrics`, known traffic, exact counter deltas, promtool.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "dns_probe.h"
#include "http_get.h"
#include "serve_fixture.h"

using namespace v6bl::monitoring::test;

namespace {

constexpr std::uint16_t type_a = 1;
constexpr std::uint16_t type_txt = 16;
constexpr std::uint16_t type_mx = 15;

double delta(const exposition_samples& before, const exposition_samples& after,
             const std::string& series) {
    const auto a = sample_of(after, series);
    INFO("series " << series);
    REQUIRE(a);
    return *a - sample_of(before, series).value_or(0);
}

// dig's output for an AXFR of the fixture's zone.
std::string dig_axfr(serve_fixture& f) {
    const std::string dig = "dig +time=5 +tries=1 @127.0.0.1 -p " + std::to_string(f.dns_port()) +
                            " " + fixture_zone + " AXFR";
    std::FILE* p = ::popen(dig.c_str(), "r");
    REQUIRE(p);
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    ::pclose(p);
    return out;
}

}  // namespace

TEST_CASE("serve: counters move by exactly the traffic sent", "[serve][e2e]") {
    if (serve_fixture::binary().empty()) {
        WARN("SKIPPED: the v6bl executable is not built (tools stage left out)");
        return;
    }
    serve_fixture f;
    const auto before = f.scrape();
    const std::string listed = nibble_query_name(listed_address, fixture_zone);
    const std::string manual = nibble_query_name(manual_address, fixture_zone);
    const std::string unlisted = nibble_query_name(unlisted_address, fixture_zone);

    constexpr int listed_udp = 7;
    constexpr int manual_udp = 2;
    constexpr int unlisted_udp = 5;
    constexpr int txt_udp = 3;
    constexpr int mx_udp = 2;  // a listed name has no MX: NODATA, not a listed answer
    constexpr int malformed_udp = 4;
    std::uint16_t id = 1;
    for (int i = 0; i < listed_udp; ++i) {
        const auto r = udp_exchange(f.dns_port(), make_query(listed, type_a, id++));
        REQUIRE(r);
        CHECK(r->rcode == 0);
        CHECK(r->answers == 1);
    }
    for (int i = 0; i < manual_udp; ++i) {
        const auto r = udp_exchange(f.dns_port(), make_query(manual, type_a, id++));
        REQUIRE(r);
        CHECK(r->answers == 1);
    }
    for (int i = 0; i < unlisted_udp; ++i) {
        const auto r = udp_exchange(f.dns_port(), make_query(unlisted, type_a, id++));
        REQUIRE(r);
        CHECK(r->rcode == 3);
    }
    for (int i = 0; i < txt_udp; ++i) {
        const auto r = udp_exchange(f.dns_port(), make_query(listed, type_txt, id++));
        REQUIRE(r);
        CHECK(r->rcode == 0);
    }
    for (int i = 0; i < mx_udp; ++i) {
        const auto r = udp_exchange(f.dns_port(), make_query(listed, type_mx, id++));
        REQUIRE(r);
        CHECK(r->rcode == 0);
        CHECK(r->answers == 0);
    }
    // A header that promises a question and carries none: FORMERR (or dropped); malformed.
    for (int i = 0; i < malformed_udp; ++i) {
        const std::vector<std::uint8_t> bad = {
            0x12, static_cast<std::uint8_t>(i), 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
        udp_exchange(f.dns_port(), bad, false);
    }
    // Over TCP, one connection, pipelined: 2 listed and 3 unlisted.
    constexpr int listed_tcp = 2;
    constexpr int unlisted_tcp = 3;
    std::vector<std::vector<std::uint8_t>> tcp_msgs;
    for (int i = 0; i < listed_tcp; ++i) tcp_msgs.push_back(make_query(listed, type_a, id++));
    for (int i = 0; i < unlisted_tcp; ++i) tcp_msgs.push_back(make_query(unlisted, type_a, id++));
    const auto tcp_replies = tcp_exchange(f.dns_port(), tcp_msgs);
    REQUIRE(tcp_replies.size() == tcp_msgs.size());

    // UDP answers are counted before they are sent, TCP ones too; the malformed ones may have
    // no reply to wait for, so poll until the server has counted every UDP message.
    constexpr int udp_total =
        listed_udp + manual_udp + unlisted_udp + txt_udp + mx_udp + malformed_udp;
    exposition_samples after;
    for (int i = 0; i < 50; ++i) {
        after = f.scrape();
        if (delta(before, after, "v6bl_dns_queries_total{transport=\"udp\"}") >= udp_total) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }

    CHECK(delta(before, after, "v6bl_dns_queries_total{transport=\"udp\"}") == udp_total);
    CHECK(delta(before, after, "v6bl_dns_queries_total{transport=\"tcp\"}") ==
          listed_tcp + unlisted_tcp);
    CHECK(delta(before, after, "v6bl_dns_query_types_total{qtype=\"A\"}") ==
          listed_udp + manual_udp + unlisted_udp + listed_tcp + unlisted_tcp);
    CHECK(delta(before, after, "v6bl_dns_query_types_total{qtype=\"TXT\"}") == txt_udp);
    CHECK(delta(before, after, "v6bl_dns_answers_total{result=\"listed\",code=\"2\"}") ==
          listed_udp + txt_udp + listed_tcp);
    CHECK(delta(before, after, "v6bl_dns_answers_total{result=\"listed\",code=\"10\"}") ==
          manual_udp);
    CHECK(delta(before, after, "v6bl_dns_answers_total{result=\"unlisted\",code=\"none\"}") ==
          unlisted_udp + unlisted_tcp);
    CHECK(delta(before, after, "v6bl_dns_answers_total{result=\"nodata\",code=\"none\"}") ==
          mx_udp);
    CHECK(delta(before, after, "v6bl_dns_query_types_total{qtype=\"other\"}") ==
          mx_udp + malformed_udp);
    CHECK(delta(before, after, "v6bl_dns_responses_total{rcode=\"NOERROR\"}") ==
          listed_udp + manual_udp + txt_udp + mx_udp + listed_tcp);
    CHECK(delta(before, after, "v6bl_dns_responses_total{rcode=\"NXDOMAIN\"}") ==
          unlisted_udp + unlisted_tcp);
    CHECK(delta(before, after, "v6bl_dns_malformed_total") == malformed_udp);
    CHECK(delta(before, after, "v6bl_dns_responses_total{rcode=\"FORMERR\"}") +
              delta(before, after, "v6bl_dns_dropped_total") ==
          malformed_udp);
    CHECK(delta(before, after, "v6bl_dns_truncated_total") == 0);
    CHECK(delta(before, after, "v6bl_dns_query_duration_seconds_count") ==
          udp_total + listed_tcp + unlisted_tcp);
    CHECK(delta(before, after, "v6bl_tcp_connections_total{result=\"accepted\"}") == 1);
    CHECK(delta(before, after, "v6bl_tcp_connections_total{result=\"refused\"}") == 0);
    CHECK(sample_of(after, "v6bl_view_listings") >= 2);
    CHECK(sample_of(after, "v6bl_view_serial") >= 1);
    CHECK(sample_of(after, "process_open_fds") > 0);
    CHECK(sample_of(after, "process_resident_memory_bytes") > 0);

    SECTION("promtool check metrics passes on the scrape") {
        if (!std::filesystem::exists(V6BL_PROMTOOL)) {
            WARN("SKIPPED: " V6BL_PROMTOOL " is absent (Debian package prometheus)");
            return;
        }
        std::string out;
        const int rc = run_command({V6BL_PROMTOOL, "check", "metrics"}, out, f.scrape_text());
        INFO(out);
        CHECK(rc == 0);
    }
}

TEST_CASE("serve: the view metrics follow a commit", "[serve][e2e]") {
    if (serve_fixture::binary().empty()) {
        WARN("SKIPPED: the v6bl executable is not built (tools stage left out)");
        return;
    }
    serve_fixture f;
    const auto before = f.scrape();
    const double serial = sample_of(before, "v6bl_view_serial").value_or(-1);
    const double listings = sample_of(before, "v6bl_view_listings").value_or(-1);
    f.import("2001:db8:77:1::/64 127.0.0.10 added while serving\n");
    exposition_samples after;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    do {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        after = f.scrape();
    } while (sample_of(after, "v6bl_view_serial").value_or(-1) == serial &&
             std::chrono::steady_clock::now() < deadline);
    CHECK(sample_of(after, "v6bl_view_serial") > serial);
    CHECK(sample_of(after, "v6bl_view_listings") == listings + 1);
    CHECK(delta(before, after, "v6bl_view_swaps_total") >= 1);
    CHECK(sample_of(after, "v6bl_view_age_seconds") < 5);
    // And the server stops cleanly with its exposer running.
    CHECK(f.process().stop() == 0);
}

TEST_CASE("serve: neither the first view nor a SIGHUP is counted as a view swap", "[serve][e2e]") {
    if (serve_fixture::binary().empty()) {
        WARN("SKIPPED: the v6bl executable is not built (tools stage left out)");
        return;
    }
    serve_fixture f;
    const auto before = f.scrape();
    CHECK(sample_of(before, "v6bl_view_swaps_total") == 0);  // was 1 at start
    const double serial = sample_of(before, "v6bl_view_serial").value_or(-1);
    for (int i = 0; i < 2; ++i) {
        REQUIRE(::kill(f.process().pid(), SIGHUP) == 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    const auto after = f.scrape();
    REQUIRE(sample_of(after, "v6bl_view_serial") == serial);    // nothing committed meanwhile
    CHECK(delta(before, after, "v6bl_view_swaps_total") == 0);  // each SIGHUP counted one
    CHECK(f.process().stop() == 0);                             // still running, and stops cleanly
}

TEST_CASE("serve: zone transfers are counted as TCP queries and transfers", "[serve][e2e]") {
    if (serve_fixture::binary().empty() || !std::filesystem::exists("/usr/bin/dig")) {
        WARN("SKIPPED: the v6bl executable or dig (bind9-dnsutils) is missing");
        return;
    }
    serve_fixture f({"--transfer-allow", "127.0.0.1/32"});
    const auto before = f.scrape();
    for (int i = 0; i < 2; ++i) {
        const std::string out = dig_axfr(f);
        INFO(out);
        REQUIRE(out.find("XFR size:") != std::string::npos);
    }
    const auto after = f.scrape();
    CHECK(delta(before, after, "v6bl_zone_transfers_total") == 2);
    CHECK(delta(before, after, "v6bl_dns_queries_total{transport=\"tcp\"}") == 2);
    CHECK(delta(before, after, "v6bl_dns_query_types_total{qtype=\"AXFR_IXFR\"}") == 2);
    CHECK(delta(before, after, "v6bl_dns_responses_total{rcode=\"NOERROR\"}") == 2);
}

TEST_CASE("serve: a refused transfer is a REFUSED response, not a NOERROR transfer",
          "[serve][e2e]") {
    if (serve_fixture::binary().empty() || !std::filesystem::exists("/usr/bin/dig")) {
        WARN("SKIPPED: the v6bl executable or dig (bind9-dnsutils) is missing");
        return;
    }
    serve_fixture f({"--transfer-allow", "10.0.0.0/8"});
    const auto before = f.scrape();
    const std::string out = dig_axfr(f);
    INFO(out);
    REQUIRE(out.find("Transfer failed") != std::string::npos);
    const auto after = f.scrape();
    CHECK(delta(before, after, "v6bl_dns_queries_total{transport=\"tcp\"}") == 1);
    CHECK(delta(before, after, "v6bl_dns_responses_total{rcode=\"REFUSED\"}") == 1);
    CHECK(delta(before, after, "v6bl_dns_responses_total{rcode=\"NOERROR\"}") == 0);
    CHECK(delta(before, after, "v6bl_dns_refused_total") == 1);
    CHECK(delta(before, after, "v6bl_zone_transfers_total") == 0);
}

TEST_CASE("serve: a client that connects to the metrics port and sends nothing holds up no scrape",
          "[serve][e2e]") {
    if (serve_fixture::binary().empty()) {
        WARN("SKIPPED: the v6bl executable is not built (tools stage left out)");
        return;
    }
    serve_fixture f;
    // Twelve silent connections: with one civetweb thread, the first kept every scrape
    // waiting for its 30 s read timeout; with four threads and 5 s, twelve kept it waiting
    // past http_get's limit (helper-52).
    std::vector<int> idle;
    for (int i = 0; i < 12; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(f.metrics_port());
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        idle.push_back(fd);
    }
    // Answered within http_get's limit (5 s), while the connections stay open.
    const auto r = http_get("127.0.0.1", f.metrics_port(), "/metrics");
    for (int fd : idle) ::close(fd);
    REQUIRE(r);
    CHECK(r->status == 200);
}

// Sends `sent` A queries for the listed name over UDP at once (replies not awaited) and
// returns the scrape once the server has read them all (however loaded the machine).
exposition_samples burst_of_listed(serve_fixture& f, const exposition_samples& before, int sent) {
    const std::string listed = nibble_query_name(listed_address, fixture_zone);
    for (int i = 0; i < sent; ++i)
        udp_exchange(f.dns_port(), make_query(listed, type_a, static_cast<std::uint16_t>(i + 1)),
                     false);
    const std::string queries = "v6bl_dns_queries_total{transport=\"udp\"}";
    auto after = f.scrape();
    for (int i = 0; i < 100 && delta(before, after, queries) < sent; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        after = f.scrape();
    }
    REQUIRE(delta(before, after, queries) == sent);
    return after;
}

TEST_CASE("serve: answers that RRL drops are not responses", "[serve][e2e]") {
    if (serve_fixture::binary().empty()) {
        WARN("SKIPPED: the v6bl executable is not built (tools stage left out)");
        return;
    }
    serve_fixture f({"--rrl-rate", "5", "--rrl-slip", "0"});
    const auto before = f.scrape();
    constexpr int sent = 20;
    const auto after = burst_of_listed(f, before, sent);
    const double dropped = delta(before, after, "v6bl_dns_rate_limited_total{action=\"dropped\"}");
    CHECK(dropped > 0);  // five a second pass; the rest within the same second are dropped
    // Each query is a response or a drop, never both (drops were counted as responses too).
    CHECK(delta(before, after, "v6bl_dns_responses_total{rcode=\"NOERROR\"}") + dropped == sent);
}

TEST_CASE("serve: answers that RRL slips are counted as truncated", "[serve][e2e]") {
    if (serve_fixture::binary().empty()) {
        WARN("SKIPPED: the v6bl executable is not built (tools stage left out)");
        return;
    }
    serve_fixture f({"--rrl-rate", "5", "--rrl-slip", "2"});
    const auto before = f.scrape();
    const auto after = burst_of_listed(f, before, 40);
    const double slipped = delta(before, after, "v6bl_dns_rate_limited_total{action=\"slipped\"}");
    CHECK(slipped > 0);  // every second answer over the rate goes out with TC=1
    // These answers fit in 512 bytes: the slipped ones are all that was sent truncated
    // (they were not counted as truncated at all).
    CHECK(delta(before, after, "v6bl_dns_truncated_total") == slipped);
}

TEST_CASE("serve: a transfer query the strict parser refuses is FORMERR, not the zone",
          "[serve][e2e]") {
    if (serve_fixture::binary().empty()) {
        WARN("SKIPPED: the v6bl executable is not built (tools stage left out)");
        return;
    }
    serve_fixture f({"--transfer-allow", "127.0.0.1/32"});
    auto axfr = make_query(fixture_zone, 252, 7);
    // Two OPT records (RFC 6891 7: FORMERR); the transfer path took it and sent the zone.
    auto two_opts = axfr;
    two_opts[11] = 2;
    for (int i = 0; i < 2; ++i)
        two_opts.insert(two_opts.end(), {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0});
    // Trailing bytes after the question.
    auto trailing = axfr;
    trailing.insert(trailing.end(), {0xde, 0xad});
    const auto replies = tcp_exchange(f.dns_port(), {two_opts, trailing, axfr});
    REQUIRE(replies.size() >= 3);
    CHECK(replies[0].rcode == 1);
    CHECK(replies[1].rcode == 1);
    CHECK(replies[2].rcode == 0);  // the well-formed one still transfers
    CHECK(replies[2].answers > 0);
}
