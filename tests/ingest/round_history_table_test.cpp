// Round histories: rounds and rings, and lazy expiry (dead entries unseen, reused, swept).
#include <catch2/catch.hpp>

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
