// Nibble names: owner names of prefixes under the zone.
#include <catch2/catch.hpp>

#include "v6bl/zones/nibble_name.h"

using namespace v6bl;

TEST_CASE("nibble names are least significant nibble first", "[zones][nibble_name]") {
    const auto p = store::parse_prefix("2001:db8:1::/48");
    REQUIRE(p);
    CHECK(zones::nibble_owner_name(*p, "dnsbl6.example.org") ==
          "1.0.0.0.8.b.d.0.1.0.0.2.dnsbl6.example.org.");
    CHECK(zones::nibble_wildcard_name(*p, "z") == "*.1.0.0.0.8.b.d.0.1.0.0.2.z.");
    const auto host = store::parse_prefix("::ffff:127.0.0.2", false);
    REQUIRE(host);
    CHECK(zones::nibble_owner_name(*host, "z") ==
          "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.z.");
    CHECK(zones::nibble_owner_name(store::prefix{}, "z") == "z.");
    CHECK(zones::ipv4_test_point_name("z") == "2.0.0.127.z.");
}

TEST_CASE("a zone name that cannot hold nibble names is named as such", "[zones][nibble_name]") {
    CHECK(zones::zone_name_problem("dnsbl6.example.org").empty());
    CHECK(zones::zone_name_problem("bl_6-x.example").empty());
    CHECK(zones::zone_name_problem(std::string(63, 'a') + ".example").empty());
    CHECK_FALSE(zones::zone_name_problem("").empty());
    CHECK_FALSE(zones::zone_name_problem("a b.example").empty());
    CHECK_FALSE(zones::zone_name_problem("a;b").empty());
    CHECK_FALSE(zones::zone_name_problem("a..b").empty());
    CHECK_FALSE(zones::zone_name_problem(".example").empty());
    CHECK_FALSE(zones::zone_name_problem(std::string(64, 'a') + ".example").empty());
    std::string longest;
    while (longest.size() + 10 <= 189) longest += "abcdefghi.";
    longest += std::string(189 - longest.size(), 'x');
    CHECK(zones::zone_name_problem(longest).empty());
    CHECK_FALSE(zones::zone_name_problem(longest + "x").empty());
}
