// Parsing, masking, ordering and storage keys of IPv6 prefixes.
#include <catch2/catch.hpp>

#include "v6bl/store/prefix.h"

using namespace v6bl::store;

TEST_CASE("prefixes parse, mask and format") {
    auto p = parse_prefix("2001:db8:1:2:3:4:5:6/48");
    REQUIRE(p);
    CHECK(format_prefix(*p) == "2001:db8:1::/48");
    CHECK(format_prefix(*parse_prefix("2001:db8::1")) == "2001:db8::/64");
    CHECK(format_prefix(*parse_prefix("2001:db8::1", false)) == "2001:db8::1/128");
    CHECK(format_prefix(*parse_prefix("2001:db8::/62")) == "2001:db8::/62");
    CHECK(format_prefix(*parse_prefix("::ffff:127.0.0.2/128")) == "::ffff:127.0.0.2/128");
    for (const char* bad : {"", "/64", "2001:db8::/129", "2001:db8::/", "2001:db8::/6a", "1.2.3.4",
                            "2001:db8:::1", "2001:db8::/0064", "hello"}) {
        INFO(bad);
        CHECK_FALSE(parse_prefix(bad));
    }
    // A NUL inside: inet_pton stopped there, and the rest was never looked at.
    using namespace std::string_view_literals;
    CHECK_FALSE(parse_prefix("2001:db8:20::\0junk/48"sv));
    CHECK_FALSE(parse_address("2001:db8::1\0"sv));
}

TEST_CASE("prefix coverage and truncation") {
    auto wide = *parse_prefix("2001:db8::/32");
    auto narrow = *parse_prefix("2001:db8:5::/48");
    CHECK(wide.covers(narrow));
    CHECK_FALSE(narrow.covers(wide));
    CHECK(wide.covers(wide));
    CHECK(narrow.truncated(32) == wide);
    CHECK(parse_prefix("::/0")->covers(narrow));
    CHECK(narrow.high64() == 0x20010db800050000ull);
}

TEST_CASE("storage keys sort in address order then length and round-trip") {
    auto a = *parse_prefix("2001:db8::/32");
    auto b = *parse_prefix("2001:db8::/48");
    auto c = *parse_prefix("2001:db8:0:1::/64");
    auto ka = prefix_key(a), kb = prefix_key(b), kc = prefix_key(c);
    CHECK(std::string(ka.data(), 17) < std::string(kb.data(), 17));
    CHECK(std::string(kb.data(), 17) < std::string(kc.data(), 17));
    CHECK(a < b);
    CHECK(b < c);
    CHECK(*prefix_from_key(std::string_view(kc.data(), 17)) == c);
    // unmasked bits or a bad length are refused
    auto bad = kb;
    bad[15] = 1;
    CHECK_FALSE(prefix_from_key(std::string_view(bad.data(), 17)));
    bad = kb;
    bad[16] = static_cast<char>(200);
    CHECK_FALSE(prefix_from_key(std::string_view(bad.data(), 17)));
    CHECK_FALSE(prefix_from_key(std::string_view(kb.data(), 16)));
}
