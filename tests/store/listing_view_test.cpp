// The listing view's name semantics, against hand-picked cases and a brute-force model.
#include <catch2/catch.hpp>

#include <random>

#include "v6bl/store/listing_view.h"

using namespace v6bl::store;

namespace {

listing_entry entry(const char* p, reason_code code, std::uint32_t expires = 0, int source = -1) {
    listing_entry e;
    e.where = *parse_prefix(p);
    e.code = code;
    e.expires = expires;
    e.source_length = static_cast<std::uint8_t>(source < 0 ? e.where.length : source);
    e.attempts = 1;
    return e;
}

name_answer resolve(const listing_view& v, const char* text, std::uint32_t now = 1000) {
    auto p = *parse_prefix(text, false);
    return p.length == 128 ? v.resolve_address(p.address, now) : v.resolve_prefix(p, now);
}

// The semantics of design §4 written the slow, obvious way.
name_answer model(const std::vector<listing_entry>& entries, const std::vector<prefix>& holes,
                  const prefix& name, std::uint32_t now) {
    auto live = [&](const listing_entry& e) { return e.expires == 0 || e.expires >= now; };
    name_answer a;
    for (const auto& e : entries)
        if (live(e) && e.where.length == 128 && e.where == name) {
            a.state = name_state::listed;
            a.entry = e;
            return a;
        }
    for (const auto& h : holes)
        if (h == name) {
            a.state = name_state::hole;
            return a;
        }
    for (const auto& e : entries)
        if (live(e) && name.covers(e.where) && name.length < 128) {
            a.state = name_state::node;
            return a;
        }
    for (const auto& h : holes)
        if (name.covers(h) && name.length < 128) {
            a.state = name_state::node;
            return a;
        }
    for (const auto& h : holes)
        if (h.covers(name)) return a;
    const listing_entry* best = nullptr;
    for (const auto& e : entries)
        if (live(e) && e.where.length < name.length && e.where.covers(name) &&
            (!best || e.where.length > best->where.length))
            best = &e;
    if (best) {
        a.state = name_state::listed;
        a.entry = *best;
    }
    return a;
}

}  // namespace

TEST_CASE("view: a listing keeps every code 127.0.0.2..255, by hand or not") {
    // The /48../64 rows held the code in 7 bits: 127.0.0.200 came back as 127.0.0.72.
    std::vector<listing_entry> entries;
    for (int code : {2, 127, 128, 200, 255}) {
        const std::string p = "2001:db8:" + std::to_string(code) + "::/64";
        entries.push_back(entry(p.c_str(), static_cast<reason_code>(code)));
        const std::string m = "2001:db8:" + std::to_string(code) + ":1::/64";
        entries.push_back(entry(m.c_str(), static_cast<reason_code>(code)));
        entries.back().manual = true;
    }
    auto v = listing_view::build(entries, {}, 1);
    for (int code : {2, 127, 128, 200, 255}) {
        INFO(code);
        const std::string a = "2001:db8:" + std::to_string(code) + "::1";
        auto r = resolve(*v, a.c_str());
        REQUIRE(r.state == name_state::listed);
        CHECK(static_cast<int>(r.entry.code) == code);
        CHECK_FALSE(r.entry.manual);
        const std::string m = "2001:db8:" + std::to_string(code) + ":1::1";
        r = resolve(*v, m.c_str());
        REQUIRE(r.state == name_state::listed);
        CHECK(static_cast<int>(r.entry.code) == code);
        CHECK(r.entry.manual);
        CHECK(r.entry.where.length == 64);
    }
}

TEST_CASE("view: longest prefix, holes, nodes, expiry and test points") {
    std::vector<listing_entry> entries = {entry("2001:db8:1::/48", reason_code::escalated),
                                          entry("2001:db8:1:2::/64", reason_code::associated),
                                          entry("2001:db9::/32", reason_code::manual),
                                          entry("2001:db8:2:1::/64", reason_code::associated, 100),
                                          rfc5782_test_entry()};
    std::vector<prefix> holes = {*parse_prefix("2001:db8:1:3::/64")};
    auto v = listing_view::build(entries, holes, 7);
    CHECK(v->serial() == 7);

    auto a = resolve(*v, "2001:db8:1:2::5");
    REQUIRE(a.state == name_state::listed);
    CHECK(a.entry.code == reason_code::associated);
    CHECK(format_prefix(a.entry.where) == "2001:db8:1:2::/64");
    a = resolve(*v, "2001:db8:1:4::1");
    REQUIRE(a.state == name_state::listed);
    CHECK(a.entry.code == reason_code::escalated);
    CHECK(resolve(*v, "2001:db8:1:3::1").state == name_state::nxdomain);
    CHECK(resolve(*v, "2001:db9:5::1").entry.code == reason_code::manual);
    CHECK(resolve(*v, "2001:db8:2:1::1").state == name_state::nxdomain);    // expired
    CHECK(resolve(*v, "2001:db8:2:1::1", 50).state == name_state::listed);  // not yet
    CHECK(resolve(*v, "::ffff:127.0.0.2").state == name_state::listed);
    CHECK(resolve(*v, "::ffff:127.0.0.1").state == name_state::nxdomain);
    CHECK(resolve(*v, "2001:db8:1:3::/64").state == name_state::hole);
    CHECK(resolve(*v, "2001:db8:1::/48").state == name_state::node);
    CHECK(resolve(*v, "2001:db8::/32").state == name_state::node);
    CHECK(resolve(*v, "2001:db8:1:0::/60").state == name_state::node);
    CHECK(resolve(*v, "2001:db8:1:4::/64").state == name_state::listed);
    CHECK(resolve(*v, "2001:db8:1:2:1::/80").entry.code == reason_code::associated);
    CHECK(resolve(*v, "2001:db8:1:3:1::/80").state == name_state::nxdomain);
    CHECK(resolve(*v, "2001:db8:2::/48").state == name_state::nxdomain);
    CHECK(resolve(*v, "2001:db9::/32").state == name_state::node);
    CHECK(resolve(*v, "2001:db8::/28").state == name_state::node);
    CHECK(resolve(*v, "3000::/4").state == name_state::nxdomain);
}

TEST_CASE("view: with_changes replaces whole regions and keeps the rest") {
    std::vector<listing_entry> entries = {entry("2001:db8:1:2::/64", reason_code::associated),
                                          entry("2001:db8:1:2:3::/80", reason_code::manual),
                                          entry("2001:db8:5:1::/64", reason_code::associated)};
    auto v = listing_view::build(entries, {}, 1);
    auto w = v->with_changes({make_prefix64(0x20010db800010000ull).high64()},
                             {entry("2001:db8:1:7::/64", reason_code::structural)}, std::nullopt,
                             std::vector<prefix>{*parse_prefix("2001:db8:5:1:8000::/68")}, 2);
    CHECK(resolve(*v, "2001:db8:1:2::5").state == name_state::listed);
    CHECK(resolve(*w, "2001:db8:1:2::5").state == name_state::nxdomain);
    CHECK(resolve(*w, "2001:db8:1:2:3::5").state ==
          name_state::nxdomain);  // fine entry replaced too
    CHECK(resolve(*w, "2001:db8:1:7::5").entry.code == reason_code::structural);
    CHECK(resolve(*w, "2001:db8:1::/48").state == name_state::node);
    CHECK(resolve(*w, "2001:db8:5:1::1").state == name_state::listed);
    CHECK(resolve(*w, "2001:db8:5:1:8000::1").state == name_state::nxdomain);  // new hole
    CHECK(resolve(*w, "2001:db8:1:2::/64").state == name_state::nxdomain);
    CHECK(w->serial() == 2);
}

TEST_CASE("view: a changed region that publishes nothing, nor did, takes no overlay entry") {
    // helper-90: every /48 a flood of spoofed SYNs touched took an empty overlay entry, and
    // a few commits of it went past --overlay-limit into full rebuilds.
    auto v = listing_view::build({entry("2001:db8:1:2::/64", reason_code::associated)}, {}, 1);
    std::vector<std::uint64_t> touched;
    for (std::uint64_t i = 0; i < 1000; ++i)
        touched.push_back(make_prefix64(0x20010db900000000ull + (i << 16)).high64());
    touched.push_back(make_prefix64(0x20010db800010000ull).high64());  // the listed one's
    const auto w = v->with_changes(touched, {}, std::nullopt, std::nullopt, 2);
    CHECK(w->overlay_regions() == 1);                                     // was 1001
    CHECK(resolve(*w, "2001:db8:1:2::5").state == name_state::nxdomain);  // delisted
    CHECK(resolve(*w, "2001:db9:0:5::1").state == name_state::nxdomain);
    // A region that gets a listing and later loses it again drops its entry.
    const prefix p = *parse_prefix("2001:db9:7::/48");
    const auto x =
        w->with_changes({p.high64()}, {entry("2001:db9:7:1::/64", reason_code::associated)},
                        std::nullopt, std::nullopt, 3);
    CHECK(x->overlay_regions() == 2);
    CHECK(resolve(*x, "2001:db9:7:1::1").state == name_state::listed);
    const auto y = x->with_changes({p.high64()}, {}, std::nullopt, std::nullopt, 4);
    CHECK(y->overlay_regions() == 1);
    CHECK(resolve(*y, "2001:db9:7:1::1").state == name_state::nxdomain);
}

TEST_CASE("view: size counts the entries of an overlaid region once, as a view built anew does") {
    // helper-93: a serve that had followed commits reported more listings (its overlaid
    // regions' base rows as well as their new entries) than one started at the same serial.
    const std::vector<listing_entry> before = {
        entry("2001:db8:1:1::/64", reason_code::associated),
        entry("2001:db8:1:2::/64", reason_code::associated),
        entry("2001:db8:1:3::/60", reason_code::manual),
        entry("2001:db8:2:1::/64", reason_code::associated),
        entry("2001:db8:2:2::/64", reason_code::associated),
        entry("2001:db8:3::/48", reason_code::escalated),
        entry("ffff:ffff:ffff:1::/64", reason_code::manual),  // the last region of all
        entry("2001:db8:4:1:2::/80", reason_code::manual)};
    const auto v = listing_view::build(before, {}, 1);
    CHECK(v->size() == before.size());
    // Region 1 gets three entries for its three, region 2 loses both, the last region one
    // more, region 9 (not in the base) one.
    const std::vector<listing_entry> changed = {
        entry("2001:db8:1:1::/64", reason_code::associated),
        entry("2001:db8:1:7::/64", reason_code::structural),
        entry("2001:db8:1:8::/64", reason_code::associated),
        entry("ffff:ffff:ffff:1::/64", reason_code::manual),
        entry("ffff:ffff:ffff:2::/64", reason_code::associated),
        entry("2001:db8:9:1::/64", reason_code::associated)};
    std::vector<std::uint64_t> regions;
    for (const char* r :
         {"2001:db8:1::/48", "2001:db8:2::/48", "ffff:ffff:ffff::/48", "2001:db8:9::/48"})
        regions.push_back(parse_prefix(r)->high64());
    const auto w = v->with_changes(regions, changed, std::nullopt, std::nullopt, 2);
    std::vector<listing_entry> after = changed;
    after.push_back(entry("2001:db8:3::/48", reason_code::escalated));
    after.push_back(entry("2001:db8:4:1:2::/80", reason_code::manual));
    CHECK(listing_view::build(after, {}, 2)->size() == after.size());
    CHECK(w->size() == after.size());  // 8; 14 before
    // And again on top of the overlay.
    const auto x = w->with_changes({regions[0]}, {}, std::nullopt, std::nullopt, 3);
    CHECK(x->size() == after.size() - 3);
}

TEST_CASE("view: random names agree with the brute-force model") {
    std::mt19937_64 rng(42);
    // A small dense address space so that names collide with listings often.
    auto random_addr = [&] {
        ipv6_bytes a{};
        a[0] = 0x20;
        a[1] = 0x01;
        a[2] = 0x0d;
        a[3] = 0xb8;
        a[5] = static_cast<std::uint8_t>(rng() % 3);
        a[6] = static_cast<std::uint8_t>(rng() % 2 ? 0 : 0x10);
        a[7] = static_cast<std::uint8_t>(rng() % 4);
        for (int i = 8; i < 16; ++i) a[i] = static_cast<std::uint8_t>(rng() % 3 == 0 ? rng() : 0);
        return a;
    };
    const std::uint8_t lengths[] = {32, 40, 48, 52, 56, 60, 64, 64, 64, 64, 80, 128};
    std::vector<listing_entry> entries;
    for (int i = 0; i < 120; ++i) {
        listing_entry e;
        e.where = make_prefix(random_addr(), lengths[rng() % std::size(lengths)]);
        e.code = static_cast<reason_code>(2 + rng() % 3);
        e.source_length = e.where.length;
        e.expires = rng() % 5 == 0 ? 500 : 0;
        entries.push_back(e);
    }
    std::vector<prefix> holes;
    for (int i = 0; i < 6; ++i) holes.push_back(make_prefix(random_addr(), lengths[2 + rng() % 8]));
    // published entries never lie inside holes
    std::erase_if(entries, [&](const listing_entry& e) {
        return std::any_of(holes.begin(), holes.end(),
                           [&](const prefix& h) { return h.covers(e.where); });
    });
    std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.where < b.where; });
    entries.erase(std::unique(entries.begin(), entries.end(),
                              [](auto& a, auto& b) { return a.where == b.where; }),
                  entries.end());
    auto v = listing_view::build(entries, holes, 1);
    int checked = 0;
    for (int i = 0; i < 20000; ++i) {
        const std::uint8_t len = static_cast<std::uint8_t>(4 * (1 + rng() % 32));
        const prefix name = make_prefix(random_addr(), len);
        const auto want = model(entries, holes, name, 1000);
        const auto got = name.length == 128 ? v->resolve_address(name.address, 1000)
                                            : v->resolve_prefix(name, 1000);
        INFO(format_prefix(name));
        REQUIRE(static_cast<int>(got.state) == static_cast<int>(want.state));
        if (want.state == name_state::listed) {
            REQUIRE(got.entry.where == want.entry.where);
            REQUIRE(got.entry.code == want.entry.code);
        }
        ++checked;
    }
    CHECK(checked == 20000);
}
