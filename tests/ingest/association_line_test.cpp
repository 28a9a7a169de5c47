// The remote-sensor JSON line schema: valid lines, schema errors, invalid JSON, round trip.
#include <catch2/catch.hpp>

#include "ingest_test_support.h"
#include "v6bl/ingest/association_line.h"

using namespace v6bl::ingest;

TEST_CASE("a valid v1 line parses", "[association_line]") {
    association_line l;
    std::string err;
    REQUIRE(parse_association_line(
        R"({"v":1,"sensor":"s7","ipv6":"2001:db8::1","ipv4":"1.2.3.4","time":"2026-11-24T10:00:00Z",)"
        R"("strength":0.85,"signals":["exchange-port","repetition","future-signal"],"rounds":4,)"
        R"("ipv4_rejected":true})",
        l, err));
    CHECK(l.assoc.ipv6 == v6bl::ingest_test::v6("2001:db8::1"));
    CHECK(l.assoc.ipv4 == v6bl::ingest_test::v4(1, 2, 3, 4));
    CHECK(l.assoc.strength_milli == 850);
    CHECK(l.assoc.time_us == 1795514400LL * 1'000'000);
    CHECK((l.assoc.signals & sig_exchange_port));
    CHECK((l.assoc.signals & sig_repetition));
    CHECK((l.assoc.signals & sig_remote));
    CHECK(l.assoc.rounds == 4);
    CHECK(l.ipv4_rejected);
    CHECK(l.sensor == "s7");
}

TEST_CASE("schema errors and invalid JSON say what is wrong", "[association_line]") {
    association_line l;
    std::string err;
    CHECK_FALSE(parse_association_line("{not json", l, err));
    CHECK(err == "invalid JSON");
    CHECK_FALSE(parse_association_line("[1,2]", l, err));
    CHECK(err == "not a JSON object");
    CHECK_FALSE(parse_association_line(R"({"ipv6":"2001:db8::1"})", l, err));
    CHECK(err == "missing field v");
    CHECK_FALSE(parse_association_line(
        R"({"v":2,"ipv6":"2001:db8::1","ipv4":"1.2.3.4","time":1,"strength":1})", l, err));
    CHECK(err.rfind("unsupported version", 0) == 0);
    CHECK_FALSE(
        parse_association_line(R"({"v":1,"ipv4":"1.2.3.4","time":1,"strength":1})", l, err));
    CHECK(err == "missing field ipv6");
    CHECK_FALSE(parse_association_line(
        R"({"v":1,"ipv6":"nope","ipv4":"1.2.3.4","time":1,"strength":1})", l, err));
    CHECK(err == "ipv6 is not an IPv6 address");
    for (const char* local : {"::", "::1", "::1.2.3.4"}) {
        CHECK_FALSE(parse_association_line(std::string(R"({"v":1,"ipv6":")") + local +
                                               R"(","ipv4":"1.2.3.4","time":1,"strength":1})",
                                           l, err));
        CHECK(err == "ipv6 is in ::/64, not a sender's address");
    }
    CHECK_FALSE(parse_association_line(
        R"({"v":1,"ipv6":"2001:db8::1","ipv4":"1.2.3","time":1,"strength":1})", l, err));
    CHECK(err == "ipv4 is not a dotted quad");
    CHECK_FALSE(parse_association_line(
        R"({"v":1,"ipv6":"2001:db8::1","ipv4":"1.2.3.4","time":1,"strength":1.5})", l, err));
    CHECK(err == "strength is not a number in [0, 1]");
    CHECK_FALSE(parse_association_line(
        R"({"v":1,"ipv6":"2001:db8::1","ipv4":"1.2.3.4","time":"yesterday","strength":1})", l,
        err));
    CHECK(err == "time is not RFC 3339");
    CHECK_FALSE(parse_association_line(
        R"({"v":1,"ipv6":"2001:db8::1","ipv4":"1.2.3.4","time":1,"strength":1,"ipv4_rejected":"yes"})",
        l, err));
    CHECK(err == "ipv4_rejected is not a boolean");
}

TEST_CASE("format then parse is the identity on what the schema carries", "[association_line]") {
    association a;
    a.ipv6 = v6bl::ingest_test::v6("2002:102:304:1::1");
    a.ipv4 = v6bl::ingest_test::v4(1, 2, 3, 4);
    a.time_us = 1795514400LL * 1'000'000;
    a.strength_milli = 900;
    a.signals = sig_6to4 | sig_timing;
    a.rounds = 2;
    association_line l;
    std::string err;
    REQUIRE(parse_association_line(format_association_line(a, "3", true), l, err));
    CHECK(l.assoc.ipv6 == a.ipv6);
    CHECK(l.assoc.ipv4 == a.ipv4);
    CHECK(l.assoc.time_us == a.time_us);
    CHECK(l.assoc.strength_milli == 900);
    CHECK(l.assoc.signals == (a.signals | sig_remote));
    CHECK(l.ipv4_rejected);
}
