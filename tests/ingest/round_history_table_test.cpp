// Round histories: rounds and rings, and lazy expiry (dead entries unseen, reused, swept).
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "ingest_test_support.h"
#include "v6bl/ingest/round_history_table.h"

using namespace v6bl::ingest;
using v6bl::ingest_test::v4;

namespace {

constexpr std::int64_t s = 1'000'000;
constexpr std::int64_t minute = 60 * s;
constexpr std::int64_t single_horizon = 45 * minute;
constexpr std::int64_t multi_horizon = 180 * minute;
constexpr std::int64_t t0 = 1'700'000'000 * s;

address_bytes ip(std::uint32_t n) {
    return address_from_ipv4(v4(10, 0, 0, 0) + n);
}

round_history_table::add_result add(round_history_table& t, const address_bytes& a,
                                    std::int64_t at) {
    t.advance_clock(at);
    return t.add(a, round_history_table::hash(a), at, at, 1000, minute);
}

const round_history_table::entry* find(const round_history_table& t, const address_bytes& a) {
    return t.find(a, round_history_table::hash(a));
}

// A table as a checkpoint of `t` restores it, the way the engine does: horizons and bound
// from the options, then the raised threshold, the clock, every live entry with its ring.
round_history_table restored_copy(const round_history_table& t, std::size_t limit = 0,
                                  std::int64_t single = single_horizon,
                                  std::int64_t multi = multi_horizon) {
    round_history_table back;
    back.set_horizons(single, multi);
    back.set_single_limit(limit);
    back.restore_pressure_before(t.pressure_before_us());
    back.advance_clock(t.clock());
    t.for_each([&](const round_history_table::entry& e, const round_history_table::ring* r) {
        REQUIRE(back.restore(e, r));
    });
    return back;
}

}  // namespace

TEST_CASE("an address quiet past its horizon is gone, and comes back with one round", "[history]") {
    round_history_table t;
    t.set_horizons(single_horizon, multi_horizon);
    const auto once = ip(1), twice = ip(2);
    add(t, once, t0);
    add(t, twice, t0);
    add(t, twice, t0 + 10 * minute);  // a second round
    REQUIRE(find(t, twice)->rounds == 2);

    // Just inside the one-round horizon both are there; just past it, the one-round
    // address is dead: find() does not see it, though its slot is still in use.
    t.advance_clock(t0 + single_horizon);
    CHECK(find(t, once) != nullptr);
    t.advance_clock(t0 + single_horizon + 1);
    CHECK(find(t, once) == nullptr);
    CHECK(find(t, twice) != nullptr);  // several rounds: the long horizon
    CHECK(t.live_size() == 1);
    CHECK(t.size() == 2);

    // Seen again, the dead address starts a new history: a new, only round.
    const auto r = add(t, once, t0 + single_horizon + 2 * minute);
    CHECK(r.new_round);
    CHECK(r.only_round);
    CHECK(r.rounds == 1);
    CHECK(t.size() == 2);

    // The several-round address dies at its own horizon after its last attempt, ring and all.
    t.advance_clock(t0 + 10 * minute + multi_horizon + 1);
    CHECK(find(t, twice) == nullptr);
    const auto again = add(t, twice, t0 + 10 * minute + multi_horizon + 2);
    CHECK(again.only_round);
    CHECK(t.rounds_of(*again.history).count == 1);
}

TEST_CASE("a sweep erases dead histories; an insertion reuses a dead slot", "[history]") {
    round_history_table t;
    t.set_horizons(single_horizon, multi_horizon);
    for (std::uint32_t i = 0; i < 5000; ++i) add(t, ip(i), t0 + i);
    REQUIRE(t.size() == 5000);
    // An hour later, the first 3000 are past their horizon.
    t.advance_clock(t0 + single_horizon + 3000);
    CHECK(t.live_size() == 2000);
    // A whole pass (each erase looks at its slot again) leaves only live entries, each
    // still found.
    t.sweep(2 * t.capacity());
    CHECK(t.size() == 2000);
    for (std::uint32_t i = 0; i < 5000; ++i) CHECK((find(t, ip(i)) != nullptr) == (i >= 3000));

    // A dead entry's slot is taken by a new address: the table does not grow for it.
    round_history_table u;
    u.set_horizons(single_horizon, multi_horizon);
    for (std::uint32_t i = 0; i < 600; ++i) add(u, ip(i), t0);
    const std::size_t capacity = u.capacity();
    // Over many horizons, far more addresses than the table could hold at once.
    for (int round = 1; round <= 40; ++round)
        for (std::uint32_t i = 0; i < 600; ++i)
            add(u, ip(static_cast<std::uint32_t>(round) * 1000 + i),
                t0 + round * (single_horizon + minute));
    CHECK(u.live_size() == 600);
    CHECK(u.capacity() <= 2 * capacity);
    for (std::uint32_t i = 0; i < 600; ++i) CHECK(find(u, ip(40'000 + i)) != nullptr);
}

TEST_CASE("checkpoints hold live histories only", "[history]") {
    round_history_table t;
    t.set_horizons(single_horizon, multi_horizon);
    add(t, ip(1), t0);
    add(t, ip(2), t0 + 30 * minute);
    add(t, ip(2), t0 + 40 * minute);
    t.advance_clock(t0 + single_horizon + minute);
    std::size_t n = 0;
    t.for_each([&](const round_history_table::entry& e, const round_history_table::ring* r) {
        ++n;
        CHECK(e.address == ip(2));
        REQUIRE(r != nullptr);
        CHECK(r->count == 2);
    });
    CHECK(n == 1);
}

namespace {

round_history_table::add_result add_at_port(round_history_table& t, const address_bytes& a,
                                            std::int64_t at, std::uint16_t port) {
    t.advance_clock(at);
    return t.add(a, round_history_table::hash(a), at, at, port, minute);
}

// The one history of `t` as a checkpoint holds it; it must have several rounds.
std::pair<round_history_table::entry, round_history_table::ring> saved_history(
    const round_history_table& t) {
    std::optional<round_history_table::entry> e;
    std::optional<round_history_table::ring> r;
    t.for_each([&](const round_history_table::entry& x, const round_history_table::ring* y) {
        e = x;
        if (y) r = *y;
    });
    REQUIRE(e);
    REQUIRE(r);
    return {*e, *r};
}

}  // namespace

TEST_CASE("rings of dead histories are reused, and each address keeps its own rounds",
          "[history]") {
    round_history_table t;
    t.set_horizons(single_horizon, multi_horizon);
    t.set_ring_limit(300);  // the 300 below can only have rings the first 300 freed
    // 300 addresses on three rounds each, ports telling them apart.
    for (int round = 0; round < 3; ++round)
        for (std::uint32_t i = 0; i < 300; ++i)
            add_at_port(t, ip(i), t0 + round * 10 * minute + i,
                        static_cast<std::uint16_t>(1000 + i + round));
    REQUIRE(t.multi_round_size() == 300);
    // All of them die; a sweep frees their rings; 300 others take the same rings.
    t.advance_clock(t0 + 20 * minute + multi_horizon + 1000);
    t.sweep(2 * t.capacity());
    CHECK(t.multi_round_size() == 0);
    const std::int64_t later = t0 + 20 * minute + multi_horizon + 2000;
    for (int round = 0; round < 2; ++round)
        for (std::uint32_t i = 0; i < 300; ++i)
            add_at_port(t, ip(5000 + i), later + round * 10 * minute + i,
                        static_cast<std::uint16_t>(7000 + i + round));
    CHECK(t.multi_round_size() == 300);
    for (std::uint32_t i = 0; i < 300; ++i) {
        const auto* e = find(t, ip(5000 + i));
        REQUIRE(e != nullptr);
        const auto r = t.rounds_of(*e);
        REQUIRE(r.count == 2);
        CHECK(r.total_rounds == 2);
        CHECK(r.start_us[0] == later + i);
        CHECK(r.start_us[1] == later + 10 * minute + i);
        CHECK(r.port[0] == 7000 + i);
        CHECK(r.port[1] == 7001 + i);
    }
}

TEST_CASE("a full ring pool starts the new history over and leaves the others alone", "[history]") {
    round_history_table t;
    t.set_horizons(single_horizon, multi_horizon);
    t.set_ring_limit(2);
    const auto a = ip(1), b = ip(2), c = ip(3);
    for (const auto& x : {a, b, c}) add_at_port(t, x, t0, 100);
    CHECK(add_at_port(t, a, t0 + 10 * minute, 101).rounds == 2);
    CHECK(add_at_port(t, b, t0 + 10 * minute, 102).rounds == 2);
    // No ring left for c: its second round stands alone, as a first round would.
    const auto r = add_at_port(t, c, t0 + 10 * minute, 103);
    CHECK(r.new_round);
    CHECK(r.only_round);
    CHECK(r.rounds == 1);
    CHECK(t.rounds_restarted() == 1);
    const auto rc = t.rounds_of(*find(t, c));
    REQUIRE(rc.count == 1);
    CHECK(rc.start_us[0] == t0 + 10 * minute);
    CHECK(rc.port[0] == 103);
    for (const auto& [x, port] : {std::pair{a, 101}, std::pair{b, 102}}) {
        const auto rx = t.rounds_of(*find(t, x));
        REQUIRE(rx.count == 2);
        CHECK(rx.port[0] == 100);
        CHECK(rx.port[1] == port);
    }
    // b goes on; a's history (and c's) dies, and once swept, a's ring serves c's next
    // round while b keeps its own.
    CHECK(add_at_port(t, b, t0 + 100 * minute, 104).rounds == 3);
    const std::int64_t t1 = t0 + 10 * minute + multi_horizon + 1;
    t.advance_clock(t1);
    t.sweep(2 * t.capacity());
    CHECK(find(t, a) == nullptr);
    CHECK(find(t, c) == nullptr);
    CHECK(t.multi_round_size() == 1);
    add_at_port(t, c, t1, 105);
    CHECK(add_at_port(t, c, t1 + 10 * minute, 106).rounds == 2);
    CHECK(t.rounds_restarted() == 1);
    const auto rc2 = t.rounds_of(*find(t, c));
    REQUIRE(rc2.count == 2);
    CHECK(rc2.port[0] == 105);
    CHECK(rc2.port[1] == 106);
    const auto rb = t.rounds_of(*find(t, b));
    REQUIRE(rb.count == 3);
    CHECK(rb.port[2] == 104);
}

TEST_CASE("a checkpoint names rounds and ports, never where a ring was", "[history]") {
    round_history_table t;
    t.set_horizons(single_horizon, multi_horizon);
    for (std::uint32_t i = 0; i < 200; ++i) {
        add_at_port(t, ip(i), t0 + i, static_cast<std::uint16_t>(2000 + i));
        if (i % 3 == 0)  // a third of them on a second round
            add_at_port(t, ip(i), t0 + 10 * minute + i, static_cast<std::uint16_t>(4000 + i));
    }
    // Restored in reverse order, into a table whose pool already has other rings: the
    // rings land at other indexes, and every address still has its own rounds.
    std::vector<std::pair<round_history_table::entry, std::optional<round_history_table::ring>>>
        saved;
    t.for_each([&](const round_history_table::entry& e, const round_history_table::ring* r) {
        CHECK(e.ring_high == 0);
        if (r) CHECK(e.newest_port == r->port[r->count - 1]);
        saved.emplace_back(e, r ? std::optional(*r) : std::nullopt);
    });
    REQUIRE(saved.size() == 200);
    round_history_table u;
    u.set_horizons(single_horizon, multi_horizon);
    for (std::uint32_t i = 0; i < 50; ++i) {
        add_at_port(u, ip(1000 + i), t0, 1);
        add_at_port(u, ip(1000 + i), t0 + 10 * minute, 2);
    }
    for (auto it = saved.rbegin(); it != saved.rend(); ++it)
        REQUIRE(u.restore(it->first, it->second ? &*it->second : nullptr));
    for (std::uint32_t i = 0; i < 200; ++i) {
        const auto* e = find(u, ip(i));
        REQUIRE(e != nullptr);
        const auto r = u.rounds_of(*e);
        if (i % 3 == 0) {
            REQUIRE(r.count == 2);
            CHECK(r.port[0] == 2000 + i);
            CHECK(r.port[1] == 4000 + i);
            CHECK(r.start_us[1] == t0 + 10 * minute + i);
        } else {
            REQUIRE(r.count == 1);
            CHECK(r.port[0] == 2000 + i);
            CHECK(r.start_us[0] == t0 + i);
        }
    }
    // A ring that disagrees with its entry's newest round is refused.
    auto bad = saved.front();
    for (auto& s2 : saved)
        if (s2.second) bad = s2;
    REQUIRE(bad.second);
    bad.first.newest_port ^= 1;
    CHECK_FALSE(u.restore(bad.first, &*bad.second));
}

TEST_CASE("every way a history leaves its slot gives its ring back, once", "[history]") {
    // One ring in the pool: each path below must free it for the next second round to
    // get it (rounds_restarted() would count a leak; multi_round_size() would wrap on a
    // ring freed twice).
    const std::int64_t dead_at = t0 + 10 * minute + multi_horizon + 1;
    auto table = [] {
        round_history_table t;
        t.set_horizons(single_horizon, multi_horizon);
        t.set_ring_limit(1);
        return t;
    };
    auto two_rounds = [](round_history_table& t, const address_bytes& x, std::int64_t at) {
        add_at_port(t, x, at, 10);
        return add_at_port(t, x, at + 10 * minute, 11).rounds;
    };
    const auto a = ip(1), c = ip(3);

    SECTION("the same address back after its history died") {
        auto t = table();
        REQUIRE(two_rounds(t, a, t0) == 2);
        CHECK(two_rounds(t, a, dead_at) == 2);
    }
    SECTION("a new address taking the dead history's slot") {
        auto t = table();
        REQUIRE(two_rounds(t, a, t0) == 2);
        // An address whose probe starts at a's slot: its insertion reuses that slot.
        const std::uint64_t home = round_history_table::hash(a) & (t.capacity() - 1);
        std::uint32_t k = 100;
        while ((round_history_table::hash(ip(k)) & (t.capacity() - 1)) != home) ++k;
        const std::size_t used = t.size();
        CHECK(two_rounds(t, ip(k), dead_at) == 2);
        CHECK(t.size() == used);  // the slot was reused, not a new one taken
        CHECK(find(t, a) == nullptr);
    }
    SECTION("a rehash dropping the dead history") {
        auto t = table();
        REQUIRE(two_rounds(t, a, t0) == 2);
        t.advance_clock(dead_at);
        t.reserve(4 * t.capacity());
        CHECK(t.size() == 0);
        CHECK(two_rounds(t, c, dead_at) == 2);
    }
    SECTION("a restore over a live history of the same address") {
        auto t = table();
        REQUIRE(two_rounds(t, a, t0) == 2);
        auto [e, r] = saved_history(t);
        r.port[0] = 12;  // tell the restored ring from the one it replaces
        REQUIRE(t.restore(e, &r));
        const auto ra = t.rounds_of(*find(t, a));
        REQUIRE(ra.count == 2);
        CHECK(ra.port[0] == 12);
        CHECK(ra.port[1] == 11);
    }
    SECTION("a sweep erasing the dead history") {
        auto t = table();
        REQUIRE(two_rounds(t, a, t0) == 2);
        t.advance_clock(dead_at);
        t.sweep(2 * t.capacity());
        CHECK(two_rounds(t, c, dead_at) == 2);
    }
}

TEST_CASE("a restore with no ring left keeps the newest round alone", "[history]") {
    round_history_table t;
    t.set_horizons(single_horizon, multi_horizon);
    add_at_port(t, ip(1), t0, 20);
    add_at_port(t, ip(1), t0 + 10 * minute, 21);
    auto [e, r] = saved_history(t);
    round_history_table u;
    u.set_horizons(single_horizon, multi_horizon);
    u.set_ring_limit(0);
    u.advance_clock(t0 + 10 * minute);
    REQUIRE(u.restore(e, &r));
    CHECK(u.rounds_restarted() == 1);
    const auto* x = find(u, ip(1));
    REQUIRE(x != nullptr);
    CHECK(x->rounds == 1);
    const auto rx = u.rounds_of(*x);
    REQUIRE(rx.count == 1);
    CHECK(rx.start_us[0] == t0 + 10 * minute);
    CHECK(rx.port[0] == 21);
}

TEST_CASE("ring indexes past 16 bits name the right rings, through a checkpoint too", "[history]") {
    // More than 65,536 multi-round addresses: their rings' indexes use the slot's high byte.
    constexpr std::uint32_t n = 70'000;
    round_history_table t;
    t.set_horizons(single_horizon, multi_horizon);
    for (std::uint32_t i = 0; i < n; ++i)
        add_at_port(t, ip(i), t0 + i, static_cast<std::uint16_t>(i));
    for (std::uint32_t i = 0; i < n; ++i)
        add_at_port(t, ip(i), t0 + 10 * minute + i, static_cast<std::uint16_t>(i * 7));
    REQUIRE(t.multi_round_size() == n);
    auto check = [&](const round_history_table& u) {
        std::uint32_t wrong = 0;
        for (std::uint32_t i = 0; i < n; ++i) {
            const auto* e = find(u, ip(i));
            if (!e) {
                ++wrong;
                continue;
            }
            const auto r = u.rounds_of(*e);
            if (r.count != 2 || r.port[0] != static_cast<std::uint16_t>(i) ||
                r.port[1] != static_cast<std::uint16_t>(i * 7) || r.start_us[0] != t0 + i ||
                r.start_us[1] != t0 + 10 * minute + i)
                ++wrong;
        }
        return wrong;
    };
    CHECK(check(t) == 0);
    round_history_table u;
    u.set_horizons(single_horizon, multi_horizon);
    u.advance_clock(t0 + 10 * minute + n);
    bool restored = true;
    std::uint32_t high = 0;
    t.for_each([&](const round_history_table::entry& e, const round_history_table::ring* r) {
        if (e.ring_high != 0) ++high;
        restored = restored && u.restore(e, r);
    });
    CHECK(restored);
    CHECK(high == 0);  // a checkpoint holds ports, not indexes
    CHECK(check(u) == 0);
}

TEST_CASE("each round keeps its span: through the second round, a full ring and a restore",
          "[history]") {
    round_history_table t;
    t.set_horizons(single_horizon, multi_horizon);
    const address_bytes a = ip(7);
    const std::uint64_t h = round_history_table::hash(a);
    // Round k starts at t0 + 10k minutes; a second attempt (k + 1) * 3 s later ends the
    // round's span there, a SYN 1 s after that attempt's start.
    auto round = [&](int k) {
        const std::int64_t start = t0 + 10 * k * minute;
        t.advance_clock(start);
        t.add(a, h, start, start, static_cast<std::uint16_t>(1000 + k), minute);
        const std::int64_t second = start + (k + 1) * 3 * s;
        t.add(a, h, second, second + s, static_cast<std::uint16_t>(2000 + k), minute);
    };
    auto span_of = [&](int k) { return (k + 1) * 3 * s + s; };
    round(0);
    {
        const auto v = t.rounds_of(*find(t, a));
        REQUIRE(v.count == 1);
        CHECK(v.span_of(0) == span_of(0));  // one round: the slot's own
    }
    round(1);  // the ring is made: the first round's span goes with it
    {
        const auto v = t.rounds_of(*find(t, a));
        REQUIRE(v.count == 2);
        CHECK(v.span_of(0) == span_of(0));
        CHECK(v.span_of(1) == span_of(1));
    }
    for (int k = 2; k < 11; ++k) round(k);  // 11 rounds: the oldest three dropped
    const auto v = t.rounds_of(*find(t, a));
    REQUIRE(v.count == round_history_table::max_rounds);
    for (int i = 0; i < v.count; ++i) {
        CHECK(v.start_us[i] == t0 + 10 * (i + 3) * minute);
        CHECK(v.span_of(i) == span_of(i + 3));
    }
    // A checkpoint's entry and ring restore the same spans.
    const round_history_table back = restored_copy(t);
    const auto w = back.rounds_of(*find(back, a));
    REQUIRE(w.count == v.count);
    for (int i = 0; i < w.count; ++i) CHECK(w.span_of(i) == span_of(i + 3));
}

TEST_CASE("a bound of one-round addresses forgets the oldest seconds, never a multi-round one",
          "[history]") {
    for (const std::size_t limit : {std::size_t{0}, std::size_t{100}}) {
        CAPTURE(limit);
        round_history_table t;
        t.set_horizons(single_horizon, multi_horizon);
        t.set_single_limit(limit);
        const auto kept = ip(100'000);
        add(t, kept, t0);
        add(t, kept, t0 + 2 * minute);  // two rounds: not bound
        const std::int64_t from = t0 + 5 * minute;
        for (std::uint32_t i = 0; i < 400; ++i) add(t, ip(i), from + i * s);
        if (limit == 0) {
            CHECK(t.live_size() == 401);
            CHECK(t.forgotten_early() == 0);
            CHECK(t.pressure_before_us() == INT64_MIN / 4);
            continue;
        }
        // One address a second: the 100 newest stay, the 300 before went a second at a time.
        CHECK(t.live_size() == 101);
        CHECK(t.forgotten_early() == 300);
        CHECK(t.pressure_before_us() == from + 300 * s);
        CHECK(find(t, ip(299)) == nullptr);
        CHECK(find(t, ip(300)) != nullptr);
        CHECK(find(t, kept) != nullptr);
        // One forgotten comes back as new (a first, only round), and the oldest kept goes.
        const auto r = add(t, ip(0), from + 400 * s);
        CHECK(r.only_round);
        CHECK(find(t, ip(0)) != nullptr);
        CHECK(find(t, ip(300)) == nullptr);
        CHECK(t.forgotten_early() == 301);
        CHECK(t.live_size() == 101);
        // The slots of the forgotten are taken again: the table did not grow past them.
        CHECK(t.capacity() <= 1024);
    }
}

TEST_CASE("the bound of one-round addresses spares the last minute before the clock", "[history]") {
    round_history_table t;
    t.set_horizons(single_horizon, multi_horizon);
    t.set_single_limit(10);
    // 100 addresses in 50 s: all within a minute of the clock, none forgotten.
    for (std::uint32_t i = 0; i < 100; ++i) add(t, ip(i), t0 + i * s / 2);
    CHECK(t.live_size() == 100);
    CHECK(t.forgotten_early() == 0);
    // A minute on, they are fair game: whole seconds of two go until ten or fewer are left
    // (46 seconds: 9, the new one with them).
    add(t, ip(1000), t0 + 111 * s);
    CHECK(t.forgotten_early() == 92);
    CHECK(t.live_size() == 9);
    CHECK(t.pressure_before_us() == t0 + 46 * s);
    CHECK(find(t, ip(91)) == nullptr);
    CHECK(find(t, ip(92)) != nullptr);
    // An attempt from before the raised threshold (a capture out of order) is dead on
    // arrival, in a table restored from a checkpoint that kept the threshold too.
    round_history_table back = restored_copy(t, 10);
    CHECK(back.live_size() == 9);
    for (round_history_table* u : {&t, &back}) {
        const auto late = ip(2000);
        u->add(late, round_history_table::hash(late), t0 + 40 * s, t0 + 40 * s, 1000, minute);
        CHECK(find(*u, late) == nullptr);
        CHECK(u->live_size() == 9);
    }
}

TEST_CASE("a restored table holds what the run held past its bound, until a one-round add",
          "[history]") {
    round_history_table t;
    t.set_horizons(single_horizon, multi_horizon);
    t.set_single_limit(10);
    const auto kept = ip(500);
    add(t, kept, t0 - 10 * minute);
    add(t, kept, t0 - 8 * minute);  // two rounds: not counted
    // 20 one-round addresses within a minute: past the bound, but spared.
    for (std::uint32_t i = 0; i < 20; ++i) add(t, ip(i), t0 + i * 2 * s);
    // A third round of the multi-round address moves the clock 100 s on: the 20 could go
    // now, but only an add that leaves an address at one round sheds.
    add(t, kept, t0 + 100 * s);
    REQUIRE(t.live_size() == 21);
    round_history_table back = restored_copy(t, 10);
    CHECK(back.live_size() == 21);
    CHECK(back.pressure_before_us() == t.pressure_before_us());
    CHECK(find(back, ip(5)) != nullptr);
    // The next one-round address sheds the same in both.
    for (round_history_table* u : {&t, &back}) {
        add(*u, ip(1000), t0 + 101 * s);
        CHECK(u->live_size() == 11);  // 9 of the 20, the new one and the multi-round one
        CHECK(find(*u, ip(10)) == nullptr);
        CHECK(find(*u, ip(11)) != nullptr);
    }
    CHECK(back.pressure_before_us() == t.pressure_before_us());
    CHECK(t.forgotten_early() == 11);
    CHECK(back.forgotten_early() == 11);
}

namespace {

// The bound as its rule reads, recomputed from every address at each step: what the table's
// per-second counts must agree with.
struct bound_model {
    struct history {
        std::int64_t newest_us, last_us;
        int rounds;
    };
    std::int64_t single_us, multi_us, gap_us;
    std::size_t limit;
    std::map<std::uint32_t, history> addresses;
    std::int64_t clock_us = INT64_MIN / 4, pressure_us = INT64_MIN / 4;
    std::uint64_t forgotten = 0;

    static std::int64_t floor_s(std::int64_t us) { return us >= 0 ? us / s : -((-us + s - 1) / s); }
    std::int64_t single_before() const { return std::max(clock_us - single_us, pressure_us); }
    bool dead(const history& h) const {
        return h.last_us < (h.rounds > 1 ? clock_us - multi_us : single_before());
    }
    std::size_t singles_from(std::int64_t first_s, bool only_that_second) const {
        std::size_t n = 0;
        for (const auto& [k, h] : addresses) {
            if (h.rounds != 1 || dead(h)) continue;
            const std::int64_t sec = floor_s(h.last_us);
            if (only_that_second ? sec == first_s : sec >= first_s) ++n;
        }
        return n;
    }
    void add(std::uint32_t n, std::int64_t start_us, std::int64_t last_us) {
        clock_us = std::max(clock_us, start_us);
        auto it = addresses.find(n);
        if (it == addresses.end() || dead(it->second)) {
            addresses[n] = {start_us, last_us, 1};
        } else {
            history& h = it->second;
            if (start_us - h.newest_us >= gap_us) {
                ++h.rounds;
                h.newest_us = start_us;
            }
            h.last_us = std::max(h.last_us, last_us);
        }
        if (addresses[n].rounds != 1) return;
        std::int64_t first = -floor_s(-single_before());  // the first whole second alive
        std::size_t counted = singles_from(first, false);
        const std::int64_t last_s = floor_s(clock_us - round_history_table::protected_us);
        const std::int64_t was = first;
        for (; counted > limit && first < last_s; ++first) {
            const std::size_t in = singles_from(first, true);
            counted -= in;
            forgotten += in;
        }
        if (first != was) pressure_us = first * s;
    }
};

std::map<std::uint32_t, std::pair<std::int64_t, int>> live_of(const round_history_table& t) {
    std::map<std::uint32_t, std::pair<std::int64_t, int>> out;
    t.for_each([&](const round_history_table::entry& e, const round_history_table::ring*) {
        out[ipv4_of(e.address) - v4(10, 0, 0, 0)] = {e.last_us(), e.rounds > 1 ? 2 : 1};
    });
    return out;
}

}  // namespace

TEST_CASE("the bound of one-round addresses forgets exactly what its rule says, and resumes so",
          "[history]") {
    constexpr std::int64_t single = 10 * minute, multi = 30 * minute;
    constexpr std::size_t limit = 400;
    round_history_table t;
    t.set_horizons(single, multi);
    t.set_single_limit(limit);
    bound_model m{single, multi, minute, limit, {}};
    std::optional<round_history_table> resumed;
    std::uint64_t resumed_from = 0;
    std::uint64_t state = 12345;
    auto next = [&](std::uint64_t n) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return (state >> 33) % n;
    };
    std::int64_t now = t0;
    int over_limit = 0;
    for (int step = 0; step < 20'000; ++step) {
        now += static_cast<std::int64_t>(next(285'000));
        // Now and then an attempt that started up to 3 s before the newest one (the
        // grouper's order), rarely one up to 5 minutes before (a capture out of order: the
        // threshold the bound raised decides whether it is alive), and latest SYNs up to 5 s
        // after the start.
        const std::uint64_t late = next(200);
        const std::int64_t start = late < 10    ? now - static_cast<std::int64_t>(next(3 * s))
                                   : late == 10 ? now - static_cast<std::int64_t>(next(5 * minute))
                                                : now;
        const std::int64_t last = start + static_cast<std::int64_t>(next(5 * s));
        const auto n = static_cast<std::uint32_t>(next(3000));
        const auto a = ip(n);
        t.advance_clock(start);
        t.add(a, round_history_table::hash(a), start, last, 1000, minute);
        m.add(n, start, last);
        if (resumed) {
            resumed->advance_clock(start);
            resumed->add(a, round_history_table::hash(a), start, last, 1000, minute);
        }
        REQUIRE(t.forgotten_early() == m.forgotten);
        REQUIRE(t.pressure_before_us() == m.pressure_us);
        if (m.singles_from(-bound_model::floor_s(-m.single_before()), false) > limit)
            ++over_limit;  // the minute before the clock alone held more
        if (step % 50 == 0) {
            std::map<std::uint32_t, std::pair<std::int64_t, int>> want;
            for (const auto& [k, h] : m.addresses)
                if (!m.dead(h)) want[k] = {h.last_us, h.rounds > 1 ? 2 : 1};
            REQUIRE(live_of(t) == want);
        }
        if (step == 7'000) {
            // A checkpoint of the table as the engine writes one: the threshold, the clock,
            // every live entry. From there it forgets what the first one does.
            resumed.emplace(restored_copy(t, limit, single, multi));
            resumed_from = t.forgotten_early();
        }
    }
    // The bound did act, and the minute before the clock held more than it at times.
    CHECK(m.forgotten > 10'000);
    INFO(over_limit);
    CHECK(over_limit > 1'000);
    CHECK(over_limit < 19'000);
    REQUIRE(resumed);
    CHECK(live_of(*resumed) == live_of(t));
    CHECK(resumed->pressure_before_us() == t.pressure_before_us());
    CHECK(resumed->forgotten_early() == t.forgotten_early() - resumed_from);
}
