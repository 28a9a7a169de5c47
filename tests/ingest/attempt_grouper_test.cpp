// connect() attempt grouping: SYN counts, the 25 s sliding window, OS class, state round trip.
#include <catch2/catch.hpp>

#include "ingest_test_support.h"
#include "v6bl/ingest/attempt_grouper.h"

using namespace v6bl::ingest;

namespace {
syn_record syn(const address_bytes& src, std::uint16_t port, double t, std::uint8_t ttl = 118) {
    syn_record s;
    s.time_us = static_cast<std::int64_t>(t * 1e6);
    s.source = src;
    s.family = ip_family::v6;
    s.source_port = port;
    s.ttl = ttl;
    s.options = 0x0204010301010402ull;
    return s;
}
}  // namespace

TEST_CASE("Windows' three SYNs after a RST are one attempt", "[attempt_grouper]") {
    attempt_grouper g;
    std::vector<connect_attempt> closed;
    const auto a = v6bl::ingest_test::v6("2001:db8::1");
    g.add(syn(a, 5000, 0.0), closed);
    g.add(syn(a, 5000, 0.5), closed);
    g.add(syn(a, 5000, 1.0), closed);
    g.add(syn(a, 5001, 1.2), closed);  // another socket
    CHECK(closed.empty());
    g.advance(27'000'000, closed);
    REQUIRE(closed.size() == 2);
    const auto& first = closed[0].source_port == 5000 ? closed[0] : closed[1];
    CHECK(first.syn_count == 3);
    CHECK(first.ttl_class == 128);
    CHECK(first.os == os_class::windows);
    CHECK(g.open_attempts() == 0);
}

TEST_CASE("the window slides: SYNs 20 s apart stay one attempt, 26 s apart do not",
          "[attempt_grouper]") {
    attempt_grouper g;
    std::vector<connect_attempt> closed;
    const auto a = v6bl::ingest_test::v6("2001:db8::2");
    g.add(syn(a, 7000, 0), closed);
    g.add(syn(a, 7000, 20), closed);
    g.add(syn(a, 7000, 40), closed);
    CHECK(closed.empty());
    g.add(syn(a, 7000, 66.5), closed);  // 26.5 s after the last: a new attempt
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].syn_count == 3);
    g.flush(closed);
    REQUIRE(closed.size() == 2);
    CHECK(closed[1].syn_count == 1);
}

TEST_CASE("TTL class and options give the OS class", "[attempt_grouper]") {
    CHECK(initial_ttl_class(50) == 64);
    CHECK(initial_ttl_class(64) == 64);
    CHECK(initial_ttl_class(113) == 128);
    CHECK(initial_ttl_class(250) == 255);
    CHECK(classify_os(64, 0x0301080402ull) == os_class::linux_like);
    CHECK(classify_os(64, 0x0301030102ull) == os_class::macos);
    CHECK(classify_os(128, 0x0402010103010402ull) == os_class::windows);
}

TEST_CASE("grouper state survives save and restore", "[attempt_grouper]") {
    attempt_grouper g1, g2;
    std::vector<connect_attempt> c1, c2;
    const auto a = v6bl::ingest_test::v6("2001:db8::3");
    g1.add(syn(a, 1, 0), c1);
    g1.add(syn(a, 2, 1), c1);
    std::string blob;
    g1.save(blob);
    REQUIRE(g2.restore(blob));
    g1.add(syn(a, 1, 2), c1);
    g2.add(syn(a, 1, 2), c2);
    g1.flush(c1);
    g2.flush(c2);
    REQUIRE(c1.size() == c2.size());
    CHECK(c1.size() == 2);
    for (std::size_t i = 0; i < c1.size(); ++i) CHECK(c1[i].syn_count == c2[i].syn_count);
    attempt_grouper g3;
    CHECK_FALSE(g3.restore(blob.substr(0, blob.size() / 2)));
    CHECK_FALSE(g3.restore("garbage"));
}

TEST_CASE(
    "with slightly out-of-order SYNs, a SYN more than 25 s after its key's last "
    "SYN still starts a new attempt",
    "[attempt_grouper]") {
    // Capture order: A at 100 s, then B stamped 99 s (1 s out of order: two capture queues
    // or interfaces merged), then B again at 124.5 s: 25.5 s after B's last SYN, outside the
    // 25 s window, but before A's window ends (125 s), whose expiry entry sits in front of
    // B's in the FIFO.
    attempt_grouper g;
    std::vector<connect_attempt> closed;
    const auto a = v6bl::ingest_test::v6("2001:db8::a");
    const auto b = v6bl::ingest_test::v6("2001:db8::b");
    g.add(syn(a, 5000, 100.0), closed);
    g.add(syn(b, 6000, 99.0), closed);
    g.add(syn(b, 6000, 124.5), closed);
    g.flush(closed);
    int b_attempts = 0;
    for (const auto& c : closed)
        if (c.source == b) ++b_attempts;
    CHECK(b_attempts == 2);  // was 1: one attempt with 2 SYNs spanning 25.5 s
}
