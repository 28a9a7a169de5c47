// The listing policy: strength threshold, expiry, manual listings, nibble expansion, TXT.
#include <catch2/catch.hpp>

#include "v6bl/store/listing.h"

using namespace v6bl::store;

TEST_CASE("inferred records are listed only when strong and recent") {
    listing_policy policy;
    reputation_record r;
    r.reason_bits = bit_associated;
    r.strength_milli = 700;
    r.last_seen = 1000000;
    CHECK(listed_code(r, policy, 1000000) == reason_code::associated);
    CHECK(listed_code(r, policy, 1000000 + policy.expiry_seconds) == reason_code::associated);
    CHECK_FALSE(listed_code(r, policy, 1000000 + policy.expiry_seconds + 1));
    r.strength_milli = 599;
    CHECK_FALSE(listed_code(r, policy, 1000000));
    r.strength_milli = 600;
    r.reason_bits |= bit_structural;
    CHECK(listed_code(r, policy, 1000000) == reason_code::structural);
    r.reason_bits = 0;
    CHECK_FALSE(listed_code(r, policy, 1000000));
}

TEST_CASE("manual listings do not expire unless configured") {
    listing_policy policy;
    reputation_record r;
    r.manual_code = 10;
    r.last_seen = 1000;
    CHECK(listed_code(r, policy, 1000 + 100 * 86400) == reason_code::manual);
    policy.manual_expiry_seconds = 60;
    CHECK_FALSE(listed_code(r, policy, 1061));
    CHECK(listed_code(r, policy, 1060) == reason_code::manual);
}

TEST_CASE("stored prefixes publish on nibble boundaries") {
    listing_policy policy;
    reputation_record r;
    r.manual_code = 10;
    std::vector<listing_entry> out;
    published_entries(*parse_prefix("2001:db8::/62"), r, policy, 1, out);
    REQUIRE(out.size() == 4);
    CHECK(format_prefix(out[0].where) == "2001:db8::/64");
    CHECK(format_prefix(out[3].where) == "2001:db8:0:3::/64");
    CHECK(out[3].source_length == 62);
    out.clear();
    published_entries(*parse_prefix("2001:db8::/64"), r, policy, 1, out);
    CHECK(out.size() == 1);
    std::vector<prefix> holes;
    published_holes(*parse_prefix("2001:db8:8000::/33"), holes);
    REQUIRE(holes.size() == 8);
    CHECK(format_prefix(holes[7]) == "2001:db8:f000::/36");
}

TEST_CASE("escalation lists a /56 and a /48 once enough /64s inside are listed") {
    listing_policy policy;
    policy.escalate_56_after = 3;
    policy.escalate_48_after = 5;
    std::vector<listing_entry> region;
    auto add = [&](const char* p) {
        listing_entry e;
        e.where = *parse_prefix(p);
        e.code = reason_code::associated;
        e.attempts = 2;
        e.rejected_ipv4s = 1;
        e.last_seen = 500;
        e.expires = 1000;
        e.source_length = 64;
        region.push_back(e);
    };
    add("2001:db8:1:100::/64");
    add("2001:db8:1:101::/64");
    add_escalations(region, policy);
    CHECK(region.size() == 2);
    add("2001:db8:1:102::/64");
    add_escalations(region, policy);
    REQUIRE(region.size() == 4);
    CHECK(format_prefix(region[0].where) == "2001:db8:1:100::/56");
    CHECK(region[0].code == reason_code::escalated);
    CHECK(region[0].attempts == 6);
    CHECK(region[0].expires == 1000);
    add("2001:db8:1:200::/64");
    add("2001:db8:1:300::/64");
    add_escalations(region, policy);
    CHECK(std::any_of(region.begin(), region.end(), [](const listing_entry& e) {
        return format_prefix(e.where) == "2001:db8:1::/48" && e.code == reason_code::escalated;
    }));
    CHECK(std::is_sorted(
        region.begin(), region.end(),
        [](const listing_entry& a, const listing_entry& b) { return a.where < b.where; }));
}

TEST_CASE("an escalation stands while enough /64s do, and names when the first one lapses") {
    listing_policy policy;
    policy.escalate_56_after = 0;
    policy.escalate_48_after = 2;
    auto escalation = [&](std::vector<std::uint32_t> expires) {
        std::vector<listing_entry> region;
        unsigned i = 0;
        for (const std::uint32_t x : expires) {
            listing_entry e;
            e.where = *parse_prefix("2001:db8:1::/64");
            e.where.address[7] = static_cast<std::uint8_t>(++i);
            e.code = reason_code::associated;
            e.expires = x;
            e.source_length = 64;
            region.push_back(e);
        }
        add_escalations(region, policy);
        const auto it = std::find_if(region.begin(), region.end(), [](const listing_entry& e) {
            return e.code == reason_code::escalated;
        });
        REQUIRE(it != region.end());
        return std::pair{it->expires, it->refresh_at};
    };
    // Until the second latest lapses (it was the latest), rebuilt when the first does.
    CHECK(escalation({3000, 1000, 2000}) == std::pair{2000u, 1001u});
    CHECK(escalation({0, 1500}) == std::pair{1500u, 1501u});
    CHECK(escalation({0, 1500, 0}) == std::pair{0u, 1501u});
    CHECK(escalation({0, 0}) == std::pair{0u, 0u});
}

TEST_CASE("a manual listing over evidence names when the evidence answers again") {
    listing_policy policy;
    policy.manual_expiry_seconds = 60;
    reputation_record r;
    r.manual_code = 10;
    r.last_seen = 1000;
    std::vector<listing_entry> out;
    published_entries(*parse_prefix("2001:db8::/64"), r, policy, 1000, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].expires == 1060);
    CHECK(out[0].refresh_at == 0);  // nothing under it
    r.reason_bits = bit_associated;
    r.strength_milli = 700;
    out.clear();
    published_entries(*parse_prefix("2001:db8::/64"), r, policy, 1000, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].manual);
    CHECK(out[0].refresh_at == 1061);
    r.strength_milli = 100;  // too weak to be listed: nothing to uncover
    out.clear();
    published_entries(*parse_prefix("2001:db8::/64"), r, policy, 1000, out);
    CHECK(out[0].refresh_at == 0);
    policy.manual_expiry_seconds = 0;  // never lapses
    r.strength_milli = 700;
    out.clear();
    published_entries(*parse_prefix("2001:db8::/64"), r, policy, 1000, out);
    CHECK(out[0].refresh_at == 0);
}

TEST_CASE("TXT explains the listing, stays printable and under 255 bytes") {
    listing_entry e;
    e.where = *parse_prefix("2001:db8:1:2::/64");
    e.code = reason_code::associated;
    e.rejected_ipv4s = 3;
    e.attempts = 42;
    e.first_seen = 1763942400;  // 2025-11-24
    e.last_seen = 1764028800;   // 2025-11-25
    const auto t = listing_txt(e, "https://dnsbl6.example.org/lookup/{prefix}");
    CHECK(t ==
          "v6bl: 2001:db8:1:2::/64 associated with 3 DNSBL-rejected IPv4 sender(s); 42 attempts, "
          "first 2025-11-24, last 2025-11-25; https://dnsbl6.example.org/lookup/2001:db8:1:2::/64");
    e.code = reason_code::manual;
    e.text = std::string(400, 'x') + "\n\x01";
    const auto m = listing_txt(e, std::string(300, 'u'));
    CHECK(m.size() <= 255);
    CHECK(std::all_of(m.begin(), m.end(), [](char c) { return c >= 0x20 && c <= 0x7e; }));
    CHECK(listing_txt(rfc5782_test_entry(), "x") == "v6bl: RFC 5782 test point");
    CHECK(hole_txt(*parse_prefix("2001:db8::/48")) == "v6bl: 2001:db8::/48 is allowlisted");
}

TEST_CASE("a long expiry does not wrap round to a time in the past") {
    listing_policy policy;
    policy.manual_expiry_seconds = 3000000000u;  // ~95 years
    policy.expiry_seconds = 4000000000u;
    reputation_record r;
    r.manual_code = 10;
    r.last_seen = 1790000000;
    // Held at the last 32-bit second; it wrapped to 1985 (a listing already expired).
    CHECK(expires_at(r, policy) == 0xFFFFFFFFu);
    std::vector<listing_entry> out;
    published_entries(*parse_prefix("2001:db8:e::/64"), r, policy, 1790000001, out);
    REQUIRE(out.size() == 1);
    CHECK(out.front().expires == 0xFFFFFFFFu);
    r.manual_code = 0;
    r.reason_bits = bit_associated;
    r.strength_milli = 900;
    CHECK(expires_at(r, policy) == 0xFFFFFFFFu);
    out.clear();
    published_entries(*parse_prefix("2001:db8:e::/64"), r, policy, 1790000001, out);
    REQUIRE(out.size() == 1);
    CHECK(out.front().expires == 0xFFFFFFFFu);
    // Short ones as before; 0 is never.
    policy.expiry_seconds = 60;
    CHECK(expires_at(r, policy) == 1790000060u);
    policy.expiry_seconds = 0;
    CHECK(expires_at(r, policy) == 0);
}
