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
    CHECK(err == "missing field v, ipv4, time, strength");
    CHECK_FALSE(parse_association_line(R"({"ipv4":"1.2.3.4"})", l, err));
    CHECK(err == "missing field v, ipv6, time, strength");
    // a version other than 1 is what is said, whatever else is missing
    CHECK_FALSE(parse_association_line(R"({"v":2,"ipv4":"1.2.3.4"})", l, err));
    CHECK(err.rfind("unsupported version 2", 0) == 0);
    CHECK_FALSE(parse_association_line(
        R"({"v":2,"ipv6":"2001:db8::1","ipv4":"1.2.3.4","time":1,"strength":1})", l, err));
    CHECK(err.rfind("unsupported version", 0) == 0);
    CHECK_FALSE(
        parse_association_line(R"({"v":1,"ipv4":"1.2.3.4","time":1,"strength":1})", l, err));
    CHECK(err == "missing field ipv6");
    // every missing field, not the last one looked for
    CHECK_FALSE(parse_association_line(R"({"v":1,"ipv4":"1.2.3.4","time":1})", l, err));
    CHECK(err == "missing field ipv6, strength");
    // 1.0 is the version's value, not an integer
    CHECK_FALSE(parse_association_line(
        R"({"v":1.0,"ipv6":"2001:db8::1","ipv4":"1.2.3.4","time":1,"strength":1})", l, err));
    CHECK(err == "v is not an integer");
    CHECK_FALSE(parse_association_line(
        R"({"v":1,"ipv6":"nope","ipv4":"1.2.3.4","time":1,"strength":1})", l, err));
    CHECK(err == "ipv6 is not an IPv6 address");
    CHECK_FALSE(parse_association_line(
        R"({"v":1,"ipv6":"::ffff:1.2.3.4","ipv4":"1.2.3.4","time":1,"strength":1})", l, err));
    CHECK(err == "ipv6 is IPv4-mapped (::ffff:a.b.c.d), not an IPv6 address");
    // only ::ffff:0:0/96 is mapped: an address that merely has 0 and ff in those bytes is not
    CHECK(parse_association_line(
        R"({"v":1,"ipv6":"1:2:3:4:5:ff00::1","ipv4":"1.2.3.4","time":1,"strength":1})", l, err));
    for (const char* local : {"::", "::1", "::1.2.3.4"}) {
        CHECK_FALSE(parse_association_line(std::string(R"({"v":1,"ipv6":")") + local +
                                               R"(","ipv4":"1.2.3.4","time":1,"strength":1})",
                                           l, err));
        CHECK(err == "ipv6 is in ::/64, not a sender's address");
    }
    CHECK_FALSE(parse_association_line(
        R"({"v":1,"ipv6":"2001:db8::1","ipv4":"1.2.3","time":1,"strength":1})", l, err));
    CHECK(err == "ipv4 is not a dotted quad");
    // Leading zeros: octal to inet_aton ("010" is 8), refused by inet_pton (helper-43).
    for (const char* zeros : {"010.8.4.22", "08.8.4.22", "1.2.3.00"}) {
        INFO(zeros);
        CHECK_FALSE(parse_association_line(std::string(R"({"v":1,"ipv6":"2001:db8::1","ipv4":")") +
                                               zeros + R"(","time":1,"strength":1})",
                                           l, err));
        CHECK(err == "ipv4 is not a dotted quad");
    }
    CHECK(parse_association_line(
        R"({"v":1,"ipv6":"2001:db8::1","ipv4":"10.0.0.0","time":1,"strength":1})", l, err));
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

// ---- review findings (wt-lines) ----

namespace {
std::string line_with(const std::string& field, const std::string& value) {
    std::string base =
        R"({"v":1,"ipv6":"2001:db8::1","ipv4":"1.2.3.4","time":1795514400,"strength":0.9})";
    if (field == "v")
        return R"({"v":)" + value +
               R"(,"ipv6":"2001:db8::1","ipv4":"1.2.3.4","time":1795514400,"strength":0.9})";
    if (field == "time")
        return R"({"v":1,"ipv6":"2001:db8::1","ipv4":"1.2.3.4","time":)" + value +
               R"(,"strength":0.9})";
    if (field == "ipv4")
        return R"({"v":1,"ipv6":"2001:db8::1","ipv4":)" + value +
               R"(,"time":1795514400,"strength":0.9})";
    return base;
}
}  // namespace

TEST_CASE("a version that only truncates to 1 is refused", "[association_line]") {
    association_line l;
    std::string err;
    // 2^32 + 1 and -(2^32 - 1) are not 1, but get<int>() wraps both to 1
    CHECK_FALSE(parse_association_line(line_with("v", "4294967297"), l, err));
    CHECK_FALSE(parse_association_line(line_with("v", "-4294967295"), l, err));
    CHECK_FALSE(parse_association_line(line_with("v", "18446744069414584321"), l, err));
}

TEST_CASE("a deeply nested value in v is refused without a crash", "[association_line]") {
    association_line l;
    std::string err;
    const std::size_t depth = 32000;  // the line stays under the 64 KiB line limit
    const std::string v = std::string(depth, '[') + std::string(depth, ']');
    CHECK_FALSE(parse_association_line(line_with("v", v), l, err));
    CHECK(err.rfind("unsupported version", 0) == 0);
}

TEST_CASE("RFC 3339 times before 1970 are out of range like negative numbers",
          "[association_line]") {
    association_line l;
    std::string err;
    CHECK_FALSE(parse_association_line(line_with("time", "-1"), l, err));
    CHECK(err == "time out of range");
    CHECK_FALSE(parse_association_line(line_with("time", R"("1969-12-31T23:59:59Z")"), l, err));
    CHECK_FALSE(parse_association_line(line_with("time", R"("0000-01-01T00:00:00Z")"), l, err));
    // Time 0 is the store's "unset" marker: refused in both forms.
    CHECK_FALSE(parse_association_line(line_with("time", "0"), l, err));
    CHECK(err == "time out of range");
    CHECK_FALSE(parse_association_line(line_with("time", "0.5"), l, err));
    CHECK_FALSE(parse_association_line(line_with("time", R"("1970-01-01T00:00:00Z")"), l, err));
    CHECK(parse_association_line(line_with("time", R"("1970-01-01T00:00:01Z")"), l, err));
}

TEST_CASE("IPv4s that are no sender's address are refused", "[association_line]") {
    association_line l;
    std::string err;
    for (const char* bad : {"0.0.0.0", "0.1.2.3", "127.0.0.1", "169.254.1.2", "224.0.0.1",
                            "240.0.0.1", "255.255.255.255"}) {
        INFO(bad);
        CHECK_FALSE(
            parse_association_line(line_with("ipv4", std::string("\"") + bad + "\""), l, err));
        CHECK(err.find("not a sender's address") != std::string::npos);
    }
    CHECK(parse_association_line(line_with("ipv4", R"("223.255.255.254")"), l, err));
    CHECK(parse_association_line(line_with("ipv4", R"("1.0.0.0")"), l, err));
    CHECK(parse_association_line(line_with("ipv4", R"("128.0.0.1")"), l, err));
}

TEST_CASE("the time text is RFC 3339, no more and no less", "[association_line]") {
    association_line l;
    std::string err;
    // RFC 3339 5.6 NOTE: "T" and "Z" may alternatively be lower case
    CHECK(parse_association_line(line_with("time", R"("2026-11-24t10:00:00z")"), l, err));
    CHECK(l.assoc.time_us == 1795514400LL * 1'000'000);
    // RFC 3339 5.7: date-mday 01-28/29/30/31 by month; 5.6: time-offset is required
    CHECK_FALSE(parse_association_line(line_with("time", R"("2026-02-31T10:00:00Z")"), l, err));
    CHECK_FALSE(parse_association_line(line_with("time", R"("2026-11-24T10:00:00")"), l, err));
    CHECK_FALSE(parse_association_line(line_with("time", R"("2026-11-24T10:00:00.5")"), l, err));
    CHECK(parse_association_line(line_with("time", R"("2028-02-29T10:00:00+01:00")"), l, err));
    CHECK_FALSE(parse_association_line(line_with("time", R"("2026-11-24 10:00:00")"), l, err));
    CHECK_FALSE(parse_association_line(line_with("time", R"("2026-11-24T10:00:00+0100")"), l, err));
    // time-secfrac is "." 1*DIGIT
    CHECK(parse_association_line(line_with("time", R"("2026-11-24T10:00:00.5Z")"), l, err));
    CHECK_FALSE(parse_association_line(line_with("time", R"("2026-11-24T10:00:00.Z")"), l, err));
    CHECK_FALSE(parse_association_line(line_with("time", R"("2026-11-24T10:00:00,5Z")"), l, err));
    CHECK_FALSE(
        parse_association_line(line_with("time", R"("2026-11-24T10:00:00.+01:00")"), l, err));
}

TEST_CASE("a raw NUL byte makes the line invalid JSON, whatever follows it", "[association_line]") {
    association_line l;
    std::string err;
    const std::string good =
        R"({"v":1,"ipv6":"2001:db8::1","ipv4":"1.2.3.4","time":1,"strength":1})";
    REQUIRE(parse_association_line(good, l, err));
    // The parser would stop at the NUL and take the object before it.
    CHECK_FALSE(parse_association_line(good + std::string(1, '\0') + " ]]] garbage", l, err));
    CHECK(err.rfind("invalid JSON", 0) == 0);
    CHECK(err.find("column " + std::to_string(good.size() + 1)) != std::string::npos);
}

TEST_CASE("an address with an escaped NUL and more text is no address", "[association_line]") {
    association_line l;
    std::string err;
    // JSON allows \u0000 in strings (RFC 8259 section 7); inet_pton stops at it
    CHECK_FALSE(parse_association_line(
        R"({"v":1,"ipv6":"2001:db8::1\u0000junk","ipv4":"1.2.3.4","time":1,"strength":1})", l,
        err));
}

// The parser kept the last of a duplicated key: a line naming a good address and then
// fe80::1 listed fe80::/64. Link-local and multicast addresses are no remote sender's.
TEST_CASE("duplicated keys, link-local and multicast addresses are refused", "[association_line]") {
    association_line l;
    std::string err;
    CHECK_FALSE(parse_association_line(
        R"({"v":1,"ipv6":"2001:db8:28::1","ipv6":"2001:db8:29::1","ipv4":"1.2.3.4","time":1,"strength":1})",
        l, err));
    CHECK(err == "duplicated key \"ipv6\"");
    CHECK_FALSE(parse_association_line(
        R"({"v":1,"ipv6":"2001:db8:28::1","ipv4":"1.2.3.4","time":1,"strength":0.1,"strength":1})",
        l, err));
    CHECK(err == "duplicated key \"strength\"");
    // The same key in different objects is no duplicate.
    CHECK(parse_association_line(
        R"({"v":1,"ipv6":"2001:db8:28::1","ipv4":"1.2.3.4","time":1,"strength":1,"x":{"v":2},"y":{"v":3}})",
        l, err));
    CHECK(err.empty());
    for (const char* a : {"fe80::1", "febf::1", "ff02::1"}) {
        INFO(a);
        CHECK_FALSE(parse_association_line(
            std::string(R"({"v":1,"ipv6":")") + a + R"(","ipv4":"1.2.3.4","time":1,"strength":1})",
            l, err));
        CHECK(err == (a[1] == 'f' ? "ipv6 is multicast (ff00::/8), not a sender's address"
                                  : "ipv6 is link-local (fe80::/10), not a sender's address"));
    }
    CHECK(parse_association_line(
        R"({"v":1,"ipv6":"fec0::1","ipv4":"1.2.3.4","time":1,"strength":1})", l, err));
}

TEST_CASE("a line cannot mark its IPv4 rejected by naming the signal", "[association_line]") {
    // signals ["ipv4-rejected"] with ipv4_rejected false was stored as rejected evidence, and
    // a later genuine rejection of that IPv4 was then not counted.
    association_line l;
    std::string err;
    REQUIRE(parse_association_line(
        R"({"v":1,"ipv6":"2001:db8::1","ipv4":"1.2.3.4","time":1795514400,"strength":0.95,)"
        R"("signals":["ipv4-rejected","repetition"],"ipv4_rejected":false})",
        l, err));
    CHECK_FALSE((l.assoc.signals & sig_ipv4_rejected));
    CHECK((l.assoc.signals & sig_repetition));
    CHECK_FALSE(l.ipv4_rejected);
}

TEST_CASE("strength is cut to thousandths, not rounded over a threshold", "[association_line]") {
    association_line l;
    std::string err;
    auto strength_of = [&](const std::string& s) {
        REQUIRE(parse_association_line(R"({"v":1,"ipv6":"2001:db8::1","ipv4":"1.2.3.4",)"
                                       R"("time":1795514400,"strength":)" +
                                           s + "}",
                                       l, err));
        return l.assoc.strength_milli;
    };
    CHECK(strength_of("0.5995") == 599);
    CHECK(strength_of("0.9999") == 999);
    CHECK(strength_of("1") == 1000);
    // Every value a sensor writes (its thousandths) comes back as it was.
    for (int milli = 0; milli <= 1000; ++milli) {
        association a;
        a.ipv6 = v6bl::ingest_test::v6("2001:db8::1");
        a.ipv4 = v6bl::ingest_test::v4(1, 2, 3, 4);
        a.time_us = 1795514400LL * 1'000'000;
        a.strength_milli = static_cast<std::uint16_t>(milli);
        REQUIRE(parse_association_line(format_association_line(a, "3", false), l, err));
        CHECK(l.assoc.strength_milli == milli);
    }
}
