// The bound on paired rounds that lets the engine skip most candidates unscored: it never
// drops a candidate that pairs on two rounds or more.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "v6bl/ingest/round_bucket_filter.h"

using v6bl::ingest::round_bucket_filter;

namespace {

constexpr std::int64_t s = 1'000'000;
constexpr std::int64_t window = 2 * s;
constexpr std::int64_t gap = 60 * s;

// The rounds the engine's scoring counts: IPv6 rounds with an IPv4 round within the window.
int paired_rounds(const std::vector<std::int64_t>& r6, const std::vector<std::int64_t>& r4) {
    int k = 0;
    for (std::int64_t a : r6)
        k += std::any_of(r4.begin(), r4.end(),
                         [&](std::int64_t b) { return b >= a - window && b <= a + window; });
    return k;
}

// Up to eight round starts at least `gap` apart, from `t`.
std::vector<std::int64_t> rounds(std::mt19937_64& rng, std::int64_t t) {
    std::vector<std::int64_t> r;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) {
        r.push_back(t);
        t += gap + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(40 * 60 * s));
    }
    return r;
}

}  // namespace

TEST_CASE(
    "round bucket filter: keeps every candidate that pairs on two rounds, drops most that do not") {
    std::mt19937_64 rng(42);
    round_bucket_filter f;
    int paired_twice = 0, kept_once = 0, dropped = 0;  // the latter two: unrelated rounds
    for (int trial = 0; trial < 20000; ++trial) {
        const std::int64_t t0 = 1'700'000'000 * s + static_cast<std::int64_t>(rng() % (86400 * s));
        const auto r6 = rounds(rng, t0);
        REQUIRE(f.mark(r6.data(), static_cast<int>(r6.size()), window, gap));
        for (int c = 0; c < 8; ++c) {
            std::vector<std::int64_t> r4;
            if (c % 2 == 0) {
                // near some of the IPv6 rounds, on the window's edges too
                for (std::int64_t a : r6) {
                    const std::int64_t d =
                        static_cast<std::int64_t>(rng() % (3 * window)) - 3 * window / 2;
                    if (rng() % 3 && (r4.empty() || a + d - r4.back() >= gap)) r4.push_back(a + d);
                }
                if (r4.empty()) r4.push_back(r6[0] + window);
            } else {
                r4 = rounds(rng, t0 - static_cast<std::int64_t>(rng() % (3600 * s)));
            }
            const int k = paired_rounds(r6, r4);
            const bool kept = f.may_pair_twice(r4.data(), static_cast<int>(r4.size()));
            if (k >= 2) {
                ++paired_twice;
                REQUIRE(kept);
            } else if (c % 2 == 1) {
                ++(kept ? kept_once : dropped);
            }
        }
        f.unmark(r6.data(), static_cast<int>(r6.size()));
    }
    // Pairs on two rounds or more came up, and the filter drops most unrelated candidates
    // that pair on one round at most (a busy sensor's case).
    CHECK(paired_twice > 10000);
    CHECK(dropped > 10 * kept_once);
}

TEST_CASE("round bucket filter: unmark leaves nothing marked") {
    round_bucket_filter f;
    const std::int64_t t0 = 1'700'000'000 * s;
    const std::vector<std::int64_t> r6{t0, t0 + 2 * gap, t0 + 5 * gap};
    REQUIRE(f.mark(r6.data(), 3, window, gap));
    CHECK(f.may_pair_twice(r6.data(), 3));
    f.unmark(r6.data(), 3);
    CHECK_FALSE(f.may_pair_twice(r6.data(), 3));
    // marked again after another address's rounds
    const std::vector<std::int64_t> other{t0 + 7 * gap, t0 + 9 * gap};
    REQUIRE(f.mark(other.data(), 2, window, gap));
    CHECK_FALSE(f.may_pair_twice(r6.data(), 3));
    CHECK(f.may_pair_twice(other.data(), 2));
}

TEST_CASE("round bucket filter: stands aside when rounds can be two windows apart or closer") {
    round_bucket_filter f;
    const std::int64_t r6[] = {1'700'000'000 * s};
    CHECK_FALSE(f.mark(r6, 1, window, 2 * window));
    CHECK_FALSE(f.mark(r6, 1, 0, gap));
    CHECK(f.mark(r6, 1, window, 2 * window + 1));
    f.unmark(r6, 1);
}

// Bucket numbers wrap through 2^64 and modulo the bitmap; windows need not be powers of two.
TEST_CASE(
    "round bucket filter: never drops a candidate that pairs twice, for odd windows, tight gaps "
    "and negative times") {
    std::mt19937_64 rng(7);
    round_bucket_filter f;
    int checked = 0;
    for (int trial = 0; trial < 200000; ++trial) {
        const std::int64_t windows[] = {1, 3, 1000, 1'999'999, 2'000'000, 2'097'153, 5'000'001};
        const std::int64_t w = windows[rng() % 7];
        const std::int64_t gap = 2 * w + 1 + static_cast<std::int64_t>(rng() % (3 * w + 1));
        std::int64_t t =
            static_cast<std::int64_t>(rng() % (2'000'000'000'000ull)) - 1'000'000'000'000;
        std::vector<std::int64_t> r6;
        const int n = 1 + static_cast<int>(rng() % 8);
        for (int i = 0; i < n; ++i) {
            r6.push_back(t);
            t += gap + static_cast<std::int64_t>(rng() % 4 == 0 ? 0 : rng() % (50 * w + 1));
        }
        REQUIRE(f.mark(r6.data(), n, w, gap));
        for (int c = 0; c < 6; ++c) {
            std::vector<std::int64_t> r4;
            for (std::int64_t a : r6)
                if (rng() % 2) {
                    const std::int64_t d = static_cast<std::int64_t>(rng() % (4 * w + 1)) - 2 * w;
                    if (r4.empty() || a + d > r4.back()) r4.push_back(a + d);
                }
            if (r4.size() > 8) r4.resize(8);
            int k = 0;
            for (std::int64_t a : r6)
                k += std::any_of(r4.begin(), r4.end(),
                                 [&](std::int64_t b) { return b >= a - w && b <= a + w; });
            if (k >= 2) {
                ++checked;
                REQUIRE(f.may_pair_twice(r4.data(), static_cast<int>(r4.size())));
            }
        }
        f.unmark(r6.data(), n);
    }
    CHECK(checked > 1000);
}
