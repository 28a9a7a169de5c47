// The zone tree: a standard server's wildcard rules over the emitted records must give the
// specified answer (longest-prefix match, holes NXDOMAIN, nodes NODATA) for every name.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "zone_test_support.h"

using namespace v6bl;
using zones::testing::expected_answer;

namespace {

store::listing_entry entry_of(const std::string& text, int code) {
    store::listing_entry e;
    e.where = *store::parse_prefix(text, false);
    e.code = static_cast<store::reason_code>(code);
    return e;
}

struct tree_output {
    std::vector<zones::zone_record> records;
    std::vector<store::listing_entry> owned;  // copies so records' pointers stay valid
    zones::testing::zone_simulation sim;
    zones::zone_tree_stats stats;
};

void build(const std::vector<store::listing_entry>& entries,
           const std::vector<store::prefix>& holes, tree_output& out) {
    zones::zone_tree_builder builder(holes, "{prefix}", [&](const zones::zone_record& r) {
        out.sim.add(r);
        out.records.push_back(r);
        out.records.back().entry = nullptr;  // pointers are only valid during the call
        out.records.back().txt = nullptr;
    });
    for (const auto& e : entries) builder.add_entry(e);
    builder.finish();
    out.stats = builder.stats();
}

std::string describe(const expected_answer& a) {
    switch (a.what) {
        case expected_answer::kind::nxdomain:
            return "NXDOMAIN";
        case expected_answer::kind::nodata:
            return a.hole_node ? "NODATA(hole)" : "NODATA";
        case expected_answer::kind::listed:
            return "listed " + std::to_string(a.code);
    }
    return "?";
}

}  // namespace

TEST_CASE("ENT inside a listed /48 gets the covering answer, holes give NXDOMAIN",
          "[zones][zone_tree]") {
    const std::vector<store::listing_entry> entries = {entry_of("2001:db8:1::/48", 4),
                                                       entry_of("2001:db8:1:2::/64", 2),
                                                       entry_of("2001:db8:1:2:5::/80", 3)};
    const std::vector<store::prefix> holes = {*store::parse_prefix("2001:db8:1:7::/64"),
                                              *store::parse_prefix("2001:db8:9::/48")};
    tree_output out;
    build(entries, holes, out);
    CHECK(out.stats.entries == 3);
    CHECK(out.stats.holes == 2);
    // /52, /56, /60 above the /64 and /68, /72, /76 above the /80
    CHECK(out.stats.covering == 6);

    auto at = [&](const char* address, int nibbles) {
        return store::make_prefix(*store::parse_address(address),
                                  static_cast<std::uint8_t>(nibbles * 4));
    };
    // a sibling of the ENT under the /48: listed 4, not NXDOMAIN
    CHECK(describe(out.sim.answer(at("2001:db8:1:3::1", 32))) == "listed 4");
    CHECK(describe(out.sim.answer(at("2001:db8:1:0::1", 32))) == "listed 4");
    CHECK(describe(out.sim.answer(at("2001:db8:1:2::1", 32))) == "listed 2");
    CHECK(describe(out.sim.answer(at("2001:db8:1:2:5::1", 32))) == "listed 3");
    CHECK(describe(out.sim.answer(at("2001:db8:1:2:6::1", 32))) == "listed 2");
    CHECK(describe(out.sim.answer(at("2001:db8:1:7::1", 32))) == "NXDOMAIN");
    CHECK(describe(out.sim.answer(at("2001:db8:1:7::", 16))) == "NODATA(hole)");
    CHECK(describe(out.sim.answer(at("2001:db8:1:2::", 15))) == "NODATA");
    CHECK(describe(out.sim.answer(at("2001:db8:1::", 12))) == "NODATA");
    CHECK(describe(out.sim.answer(at("2001:db8:1::", 11))) == "NODATA");
    CHECK(describe(out.sim.answer(at("2001:db8:9::1", 32))) == "NXDOMAIN");
    CHECK(describe(out.sim.answer(at("2001:db8:8::1", 32))) == "NXDOMAIN");
}

TEST_CASE("entries out of order are refused", "[zones][zone_tree]") {
    zones::zone_tree_builder builder({}, "", [](const zones::zone_record&) {});
    builder.add_entry(entry_of("2001:db8:2::/48", 2));
    CHECK_THROWS(builder.add_entry(entry_of("2001:db8:1::/48", 2)));
}

TEST_CASE("the tree gives the specified answer for every name (random nested sets)",
          "[zones][zone_tree]") {
    std::mt19937 rng(20261124);
    // A small universe: 2001:db8::/32 with nibbles drawn from {0,1,2} so prefixes nest.
    auto random_address = [&] {
        store::ipv6_bytes a{0x20, 0x01, 0x0d, 0xb8};
        for (int n = 8; n < 32; ++n) {
            const std::uint8_t v = static_cast<std::uint8_t>(rng() % 3);
            a[static_cast<std::size_t>(n / 2)] |= static_cast<std::uint8_t>(n % 2 ? v : v << 4);
        }
        return a;
    };
    for (int round = 0; round < 200; ++round) {
        std::set<store::prefix> hole_set;
        const int hole_count = static_cast<int>(rng() % 4);
        for (int i = 0; i < hole_count; ++i) {
            hole_set.insert(store::make_prefix(random_address(),
                                               static_cast<std::uint8_t>(36 + 4 * (rng() % 24))));
        }
        std::map<store::prefix, int> entry_map;
        const int entry_count = 1 + static_cast<int>(rng() % 12);
        for (int i = 0; i < entry_count; ++i) {
            const auto p = store::make_prefix(random_address(),
                                              static_cast<std::uint8_t>(32 + 4 * (rng() % 25)));
            const bool in_hole = std::any_of(hole_set.begin(), hole_set.end(),
                                             [&](const store::prefix& h) { return h.covers(p); });
            if (!in_hole) entry_map[p] = 2 + static_cast<int>(rng() % 9);
        }
        std::vector<store::listing_entry> entries;
        for (const auto& [p, code] : entry_map) {
            store::listing_entry e;
            e.where = p;
            e.code = static_cast<store::reason_code>(code);
            entries.push_back(e);
        }
        const std::vector<store::prefix> holes(hole_set.begin(), hole_set.end());
        tree_output out;
        build(entries, holes, out);

        // names: every node of every entry/hole with one more nibble, and random addresses
        std::vector<store::prefix> names;
        auto add_around = [&](const store::prefix& p) {
            for (int len = 28; len <= 128; len += 4) {
                store::prefix q = store::make_prefix(random_address(), 128);
                for (int b = 0; b < p.length; ++b) {  // q inside p
                    const auto mask = static_cast<std::uint8_t>(0x80u >> (b % 8));
                    q.address[static_cast<std::size_t>(b / 8)] = static_cast<std::uint8_t>(
                        (q.address[static_cast<std::size_t>(b / 8)] & ~mask) |
                        (p.address[static_cast<std::size_t>(b / 8)] & mask));
                }
                names.push_back(q.truncated(static_cast<std::uint8_t>(len)));
            }
        };
        for (const auto& e : entries) add_around(e.where);
        for (const auto& h : holes) add_around(h);
        for (int i = 0; i < 50; ++i) {
            names.push_back(
                store::make_prefix(random_address(), static_cast<std::uint8_t>(4 * (rng() % 33))));
        }
        for (const auto& name : names) {
            const expected_answer want = zones::testing::reference_answer(entries, holes, name);
            const expected_answer got = out.sim.answer(name);
            INFO("round " << round << " name " << store::format_prefix(name));
            REQUIRE(describe(got) == describe(want));
        }
    }
}
