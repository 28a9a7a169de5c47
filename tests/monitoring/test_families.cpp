// Unit tests: counters → metric families, /proc parsing, the view age, the text exposition.
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>

#include "exposition_text.h"
#include "v6bl/monitoring/ingest_families.h"
#include "v6bl/monitoring/process_families.h"
#include "v6bl/monitoring/server_families.h"
#include "v6bl/monitoring/view_age_tracker.h"

using namespace v6bl;
using namespace v6bl::monitoring;
using test::parse_exposition;
using test::sample_of;

namespace {

const prometheus::MetricFamily& family_named(const std::vector<prometheus::MetricFamily>& fs,
                                             const std::string& name) {
    for (const auto& f : fs)
        if (f.name == name) return f;
    FAIL("no family " << name);
    throw std::logic_error("unreachable");
}

std::string text_of(const std::vector<prometheus::MetricFamily>& fs) {
    return prometheus::TextSerializer().Serialize(fs);
}

server::server_counters sample_server_counters() {
    server::server_counters c;
    c.queries_udp = 90;
    c.queries_tcp = 10;
    c.by_qtype = {70, 5, 20, 0, 1, 1, 0, 3};
    c.by_rcode = {60, 3, 0, 30, 1, 4, 0, 5, 2};
    c.tsig = {9, 3, 1, 1};
    c.listed_by_code = {40, 5, 3, 2, 0};
    c.unlisted = 30;
    c.nodata = 10;
    c.refused = 4;
    c.malformed = 5;
    c.dropped = 2;
    c.truncated = 1;
    c.tcp_open = 3;
    c.tcp_accepted = 8;
    c.tcp_refused = 1;
    c.tcp_idle_closed = 4;
    c.tcp_evicted = 7;
    c.transfers = 2;
    c.rrl_dropped = 6;
    c.rrl_slipped = 3;
    c.latency = {10, 20, 30, 25, 10, 4, 1, 0};
    c.view_serial = 42;
    c.view_listings = 1000;
    c.view_swaps = 7;
    return c;
}

}  // namespace

TEST_CASE("server counters become labelled families", "[families]") {
    const auto c = sample_server_counters();
    server_scrape_facts facts;
    facts.view_age_seconds = 12.5;
    const auto fs = server_families(c, facts);
    const auto s = parse_exposition(text_of(fs));

    CHECK(sample_of(s, "v6bl_dns_queries_total{transport=\"udp\"}") == 90);
    CHECK(sample_of(s, "v6bl_dns_queries_total{transport=\"tcp\"}") == 10);
    CHECK(sample_of(s, "v6bl_dns_query_types_total{qtype=\"A\"}") == 70);
    CHECK(sample_of(s, "v6bl_dns_query_types_total{qtype=\"TXT\"}") == 20);
    CHECK(sample_of(s, "v6bl_dns_query_types_total{qtype=\"other\"}") == 3);
    CHECK(sample_of(s, "v6bl_dns_responses_total{rcode=\"NOERROR\"}") == 60);
    CHECK(sample_of(s, "v6bl_dns_responses_total{rcode=\"NXDOMAIN\"}") == 30);
    CHECK(sample_of(s, "v6bl_dns_responses_total{rcode=\"REFUSED\"}") == 4);
    CHECK(sample_of(s, "v6bl_dns_responses_total{rcode=\"BADVERS\"}") == 0);
    CHECK(sample_of(s, "v6bl_dns_responses_total{rcode=\"NOTAUTH\"}") == 5);
    // The "dropped" slot is not a response.
    CHECK(family_named(fs, "v6bl_dns_responses_total").metric.size() == 8);
    CHECK(sample_of(s, "v6bl_dns_tsig_queries_total{result=\"verified\"}") == 9);
    CHECK(sample_of(s, "v6bl_dns_tsig_queries_total{result=\"badkey\"}") == 3);
    CHECK(sample_of(s, "v6bl_dns_tsig_queries_total{result=\"badtime\"}") == 1);
    CHECK(sample_of(s, "v6bl_dns_answers_total{result=\"listed\",code=\"2\"}") == 40);
    CHECK(sample_of(s, "v6bl_dns_answers_total{result=\"listed\",code=\"10\"}") == 2);
    CHECK(sample_of(s, "v6bl_dns_answers_total{result=\"unlisted\",code=\"none\"}") == 30);
    CHECK(sample_of(s, "v6bl_dns_answers_total{result=\"nodata\",code=\"none\"}") == 10);
    CHECK(sample_of(s, "v6bl_dns_malformed_total") == 5);
    CHECK(sample_of(s, "v6bl_dns_dropped_total") == 2);
    CHECK(sample_of(s, "v6bl_dns_truncated_total") == 1);
    CHECK(sample_of(s, "v6bl_dns_refused_total") == 4);
    CHECK(sample_of(s, "v6bl_tcp_connections_open") == 3);
    CHECK(sample_of(s, "v6bl_tcp_connections_total{result=\"accepted\"}") == 8);
    CHECK(sample_of(s, "v6bl_tcp_connections_total{result=\"refused\"}") == 1);
    CHECK(sample_of(s, "v6bl_tcp_connections_total{result=\"idle_closed\"}") == 4);
    CHECK(sample_of(s, "v6bl_tcp_connections_total{result=\"evicted\"}") == 7);
    CHECK(sample_of(s, "v6bl_zone_transfers_total") == 2);
    CHECK(sample_of(s, "v6bl_dns_rate_limited_total{action=\"dropped\"}") == 6);
    CHECK(sample_of(s, "v6bl_dns_rate_limited_total{action=\"slipped\"}") == 3);
    CHECK(sample_of(s, "v6bl_view_serial") == 42);
    CHECK(sample_of(s, "v6bl_view_listings") == 1000);
    CHECK(sample_of(s, "v6bl_view_swaps_total") == 7);
    CHECK(sample_of(s, "v6bl_view_age_seconds") == 12.5);
}

TEST_CASE("the latency histogram is cumulative and in seconds", "[families]") {
    const auto c = sample_server_counters();
    const auto fs = server_families(c, {});
    const auto& f = family_named(fs, "v6bl_dns_query_duration_seconds");
    REQUIRE(f.type == prometheus::MetricType::Histogram);
    REQUIRE(f.metric.size() == 1);
    const auto& h = f.metric[0].histogram;
    REQUIRE(h.bucket.size() == server::latency_bounds_ns.size());
    const std::vector<double> bounds = {500e-9, 1e-6, 2e-6, 5e-6, 10e-6, 100e-6, 1e-3};
    const std::vector<std::uint64_t> cumulative = {10, 30, 60, 85, 95, 99, 100};
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        CHECK(h.bucket[i].upper_bound == Approx(bounds[i]));
        CHECK(h.bucket[i].cumulative_count == cumulative[i]);
    }
    CHECK(h.sample_count == 100);
    CHECK(h.sample_sum > 0);
    // The serializer adds the +Inf bucket from the count.
    const auto s = parse_exposition(text_of(fs));
    CHECK(sample_of(s, "v6bl_dns_query_duration_seconds_bucket{le=\"+Inf\"}") == 100);
    CHECK(sample_of(s, "v6bl_dns_query_duration_seconds_count") == 100);
}

TEST_CASE("a query over the last bound lands only in +Inf", "[families]") {
    server::server_counters c;
    c.latency.back() = 3;
    const auto fs = server_families(c, {});
    const auto& h = family_named(fs, "v6bl_dns_query_duration_seconds").metric[0].histogram;
    for (const auto& b : h.bucket) CHECK(b.cumulative_count == 0);
    CHECK(h.sample_count == 3);
}

TEST_CASE("zero counters are samples, not gaps", "[families]") {
    const auto fs = server_families(server::server_counters{}, {});
    const auto s = parse_exposition(text_of(fs));
    CHECK(sample_of(s, "v6bl_dns_queries_total{transport=\"udp\"}") == 0);
    CHECK(sample_of(s, "v6bl_dns_answers_total{result=\"listed\",code=\"3\"}") == 0);
    CHECK(family_named(fs, "v6bl_dns_query_types_total").metric.size() == 8);
}

TEST_CASE("ingest counters become labelled families", "[families]") {
    ingest_sample in;
    auto& c = in.counters;
    c.packets = 1000;
    c.capture_drops = 3;
    c.history_restarts = 5;
    c.address_book_evictions = 6;
    c.histories_forgotten = 7;
    c.syns = 900;
    c.syns_v6 = 300;
    c.attempts = 400;
    c.attempts_v6 = 150;
    c.associations = 20;
    c.associations_listable = 12;
    c.associations_by_signal[0] = 20;  // timing
    c.associations_by_signal[9] = 2;   // 6to4
    c.log_lines = 5000;
    c.rejections_by_mta[static_cast<std::size_t>(ingest::mta_kind::exim)] = 33;
    c.other_rejects = 7;
    c.ipv6_client_rejects = 5;
    c.bad_input[static_cast<std::size_t>(ingest::bad_input_reason::garbage_log_line)] = 4;
    c.commits = 10;
    c.commit_us_total = 2'500'000;
    c.commit_us_max = 900'000;
    in.store_serial = 77;
    const auto fs = ingest_families(in);
    const auto s = parse_exposition(text_of(fs));

    CHECK(sample_of(s, "v6bl_ingest_packets_total") == 1000);
    CHECK(sample_of(s, "v6bl_ingest_capture_drops_total") == 3);
    CHECK(sample_of(s, "v6bl_ingest_history_restarts_total") == 5);
    CHECK(sample_of(s, "v6bl_ingest_address_book_evictions_total") == 6);
    CHECK(sample_of(s, "v6bl_ingest_histories_forgotten_total") == 7);
    CHECK(sample_of(s, "v6bl_ingest_syns_total{family=\"ipv6\"}") == 300);
    CHECK(sample_of(s, "v6bl_ingest_syns_total{family=\"ipv4\"}") == 600);
    CHECK(sample_of(s, "v6bl_ingest_connect_attempts_total{family=\"ipv6\"}") == 150);
    CHECK(sample_of(s, "v6bl_ingest_connect_attempts_total{family=\"ipv4\"}") == 250);
    CHECK(sample_of(s, "v6bl_ingest_associations_total") == 20);
    CHECK(sample_of(s, "v6bl_ingest_associations_listable_total") == 12);
    CHECK(sample_of(s, "v6bl_ingest_association_signals_total{signal=\"timing\"}") == 20);
    CHECK(sample_of(s, "v6bl_ingest_association_signals_total{signal=\"6to4\"}") == 2);
    CHECK(sample_of(s, "v6bl_ingest_association_signals_total{signal=\"teredo\"}") == 0);
    CHECK(sample_of(s, "v6bl_ingest_rejections_total{mta=\"exim\"}") == 33);
    CHECK(sample_of(s, "v6bl_ingest_rejections_total{mta=\"sendmail\"}") == 0);
    CHECK(sample_of(s, "v6bl_ingest_ipv6_client_rejects_total") == 5);
    CHECK(sample_of(s, "v6bl_ingest_bad_input_total{reason=\"garbage_log_line\"}") == 4);
    CHECK(sample_of(s, "v6bl_ingest_bad_input_total{reason=\"invalid_json\"}") == 0);
    CHECK(sample_of(s, "v6bl_ingest_commit_duration_seconds_count") == 10);
    CHECK(sample_of(s, "v6bl_ingest_commit_duration_seconds_sum") == Approx(2.5));
    CHECK(sample_of(s, "v6bl_ingest_commit_duration_max_seconds") == Approx(0.9));
    CHECK(sample_of(s, "v6bl_store_serial") == 77);
    CHECK(!sample_of(s, "v6bl_store_corrupt_records_total"));
    CHECK(family_named(fs, "v6bl_ingest_bad_input_total").metric.size() ==
          static_cast<std::size_t>(ingest::bad_input_reason::count));
}

TEST_CASE("/proc/self/stat parses, even with a tricky command name", "[process]") {
    // Fields 14 utime=250, 15 stime=50, 22 starttime=1000, 23 vsize, 24 rss (pages).
    const std::string line =
        "1234 (v6bl (serve) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 "
        "1000 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
    const auto s = parse_proc_stat(line, 100, 4096, 1'700'000'000.0);
    REQUIRE(s);
    CHECK(s->cpu_seconds == Approx(3.0));
    CHECK(s->start_time_seconds == Approx(1'700'000'010.0));
    CHECK(s->virtual_bytes == 104857600.0);
    CHECK(s->resident_bytes == 2560.0 * 4096);
    CHECK(!parse_proc_stat("1234 (v6bl) S 1 2", 100, 4096, 0));
    CHECK(!parse_proc_stat("garbage", 100, 4096, 0));
}

TEST_CASE("this process's own sample is plausible", "[process]") {
    const auto s = read_process_sample();
    REQUIRE(s);
    CHECK(s->resident_bytes > 1e5);
    CHECK(s->open_fds >= 3);
    CHECK(s->max_fds >= s->open_fds);
    // Exactly this process's descriptors (the /proc/self/stat stream was one more): counted
    // here as /proc/self/fd's entries less the listing's own.
    double listed = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        (void)entry;
        ++listed;
    }
    CHECK(s->open_fds == listed - 1);
    CHECK(s->start_time_seconds > 1.5e9);
    const auto text = text_of(process_families(*s));
    CHECK(text.find("process_cpu_seconds_total ") != std::string::npos);
    const auto info = parse_exposition(text_of({build_info_family()}));
    CHECK(info.size() == 1);
    CHECK(info.begin()->first.rfind("v6bl_build_info{version=\"", 0) == 0);
    CHECK(info.begin()->second == 1);
}

TEST_CASE("the view age restarts when the serial moves", "[view]") {
    view_age_tracker t;
    const auto t0 = view_age_tracker::clock_type::now();
    CHECK(t.observe(5, t0) == 0);
    CHECK(t.observe(5, t0 + std::chrono::seconds(3)) == Approx(3));
    CHECK(t.observe(6, t0 + std::chrono::seconds(4)) == 0);
    CHECK(t.observe(6, t0 + std::chrono::milliseconds(4500)) == Approx(0.5));
}
