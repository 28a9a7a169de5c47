// Tables that double in place: huge_array's growth (pages moved, not copied) and the
// in-place rehash of a linear-probing table, against a plain set.
#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include "v6bl/ingest/huge_array.h"

using namespace v6bl::ingest;

namespace {

struct slot {
    std::uint32_t key = 0;
    std::uint32_t home = 0;  // the hash: chosen by the test, so clusters can be made
    bool used = false;
};

// Whether /proc/self/maps has a mapping holding `p`.
bool mapped_at(const void* p) {
    std::ifstream in("/proc/self/maps");
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    unsigned long lo = 0, hi = 0;
    char dash = 0;
    std::string rest;
    while (in >> std::hex >> lo >> dash >> hi && std::getline(in, rest))
        if (lo <= at && at < hi) return true;
    return false;
}

// Inserts by linear probing, as the tables do.
void insert(huge_array<slot>& t, const slot& s) {
    const std::size_t mask = t.size() - 1;
    std::size_t j = s.home & mask;
    while (t[j].used) j = (j + 1) & mask;
    t[j] = s;
}

// Every entry is found by a probe from its home (no empty slot on the way), and the table
// holds exactly `want`.
void check_table(const huge_array<slot>& t, const std::set<std::uint32_t>& want) {
    const std::size_t mask = t.size() - 1;
    std::set<std::uint32_t> have;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (!t[i].used) continue;
        INFO("slot " << i << " key " << t[i].key << " home " << (t[i].home & mask));
        for (std::size_t j = t[i].home & mask; j != i; j = (j + 1) & mask) REQUIRE(t[j].used);
        CHECK(have.insert(t[i].key).second);
    }
    CHECK(have == want);
}

}  // namespace

TEST_CASE("huge_array grows a mapped array by moving its pages: contents kept, new slots filled") {
    using alloc = huge_page_allocator<std::uint64_t>;
    const std::size_t n = (std::size_t{6} << 20) / 8;  // 6 MiB: mapped
    huge_array<std::uint64_t> a;
    a.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) a[i] = i * 3;
    const std::uint64_t* before = a.begin();
    a.grow(2 * n, 7);
    REQUIRE(a.size() == 2 * n);
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += a[i];
    CHECK(sum == 3 * (n * (n - 1) / 2));
    for (std::size_t i = n; i < 2 * n; ++i) REQUIRE(a[i] == 7);
    CHECK(a.begin() != before);
    if (alloc::enabled) {
        CHECK(reinterpret_cast<std::uintptr_t>(a.begin()) % alloc::huge == 0);
        // The old pages went into the new mapping: nothing is left where they were.
        CHECK_FALSE(mapped_at(before));
    }
    // Grown again, and again: the array is several mappings by then (the pages moved in,
    // then the new part), each moved on to the next one.
    for (std::size_t size = 2 * n; size < 8 * n; size *= 2) {
        const std::uint64_t* was = a.begin();
        a.grow(2 * size, 11);
        REQUIRE(a.size() == 2 * size);
        std::uint64_t again = 0;
        for (std::size_t i = 0; i < n; ++i) again += a[i];
        CHECK(again == sum);
        bool rest = true;
        for (std::size_t i = n; i < size; ++i) rest = rest && a[i] == (i < 2 * n ? 7u : 11u);
        CHECK(rest);
        for (std::size_t i = size; i < 2 * size; ++i) REQUIRE(a[i] == 11);
        if (alloc::enabled) CHECK_FALSE(mapped_at(was));
    }
    // From the ordinary heap (small) to a mapping, copied.
    huge_array<std::uint64_t> s;
    s.assign(1000, 5);
    s[999] = 9;
    s.grow(n, 1);
    CHECK(s[0] == 5);
    CHECK(s[999] == 9);
    CHECK(s[1000] == 1);
    CHECK(s[n - 1] == 1);
    huge_array<std::uint64_t> moved = std::move(s);
    CHECK(s.empty());
    CHECK(moved.size() == n);
    moved.release();
    CHECK(moved.empty());
}

TEST_CASE("rehash_in_place: a cluster wrapping around the old end, probes wrapping the new end") {
    // Old size 8: keys 1 (home 6) and 2 (home 14) take slots 6 and 7; 3 (home 7), 4 (15) and
    // 6 (15) wrap round to slots 0, 1 and 2; 5 (home 3) follows them in slot 3. Doubled to
    // 16: 2 goes up to 14, 4 and 6 to 15 (6 wraps round to slot 0), the others stay.
    huge_array<slot> t;
    t.assign(8, slot{});
    std::set<std::uint32_t> want;
    const std::uint32_t homes[] = {6, 14, 7, 15, 3, 15};
    for (std::uint32_t k = 1; k <= 6; ++k) {
        insert(t, slot{k, homes[k - 1], true});
        want.insert(k);
    }
    REQUIRE(t[2].key == 6);
    REQUIRE(t[3].key == 5);
    t.grow(16, slot{});
    const std::size_t kept = rehash_in_place(
        t, 8, [](const slot& s) { return s.used; }, [](const slot&) { return true; },
        [](const slot& s) { return s.home; });
    CHECK(kept == want.size());
    check_table(t, want);
    CHECK(t[6].key == 1);
    CHECK(t[7].key == 3);
    CHECK(t[14].key == 2);
    CHECK(t[15].key == 4);
    CHECK(t[0].key == 6);
    CHECK(t[3].key == 5);
}

TEST_CASE("rehash_in_place keeps every entry findable at the same size, doubled and quadrupled") {
    std::mt19937 rng(12345);
    for (int round = 0; round < 300; ++round) {
        const std::size_t old_size = std::size_t{8} << (round % 6);
        const std::size_t factor = std::size_t{1} << (round % 3);  // 1, 2, 4
        // Few distinct homes near the end, so clusters run long and wrap.
        const std::uint32_t spread = round % 2 ? 4 : static_cast<std::uint32_t>(old_size * 4);
        huge_array<slot> t;
        t.assign(old_size, slot{});
        std::set<std::uint32_t> want;
        const std::size_t n = old_size * 5 / 8;
        for (std::uint32_t k = 1; k <= n; ++k) {
            const auto home = static_cast<std::uint32_t>(old_size * 4 - 1 - rng() % spread);
            insert(t, slot{k, home, true});
            // A third of the entries go (the round histories drop dead ones this way).
            if (k % 3 != 0) want.insert(k);
        }
        t.grow(old_size * factor, slot{});
        std::size_t dropped = 0;
        const std::size_t kept = rehash_in_place(
            t, old_size, [](const slot& s) { return s.used; },
            [&](const slot& s) {
                if (s.key % 3 != 0) return true;
                ++dropped;
                return false;
            },
            [](const slot& s) { return s.home; });
        INFO("round " << round << " size " << old_size << " x" << factor);
        CHECK(kept == want.size());
        CHECK(dropped == n - want.size());  // each dropped entry was let go of once
        check_table(t, want);
    }
}
