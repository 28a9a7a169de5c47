// The address book: distinct addresses per /64, its bound, expiry by capture time, and
// checkpoints that restore the same book.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "v6bl/ingest/address_book.h"

using v6bl::ingest::address_book;

namespace {

constexpr std::uint64_t p64 = 0x20010db800010002ull;

// Everything observable of one /64: flags, count and every address with its tallies.
std::string describe(address_book& b, std::uint64_t key) {
    const address_book::prefix* p = b.find(key);
    if (!p) return "absent";
    std::string s = "store=" + std::to_string(p->in_store()) +
                    " last=" + std::to_string(p->last_seen) + " n=" + std::to_string(p->count);
    const std::uint64_t* iids = b.iids_of(*p);
    const address_book::tally* a = b.tallies_of(*p);
    for (std::uint16_t i = 0; i < p->count; ++i)
        s += " " + std::to_string(iids[i]) + ":" + std::to_string(a[i].first) + "-" +
             std::to_string(a[i].last) + "x" + std::to_string(a[i].count);
    return s;
}

}  // namespace

TEST_CASE("an address counts once per /64, with its attempts tallied", "[address_book]") {
    address_book b;
    bool created = false;
    auto& p = b.touch(p64, 1000, created);
    CHECK(created);
    CHECK(b.add_attempt(p, 1, 1000, 1) == address_book::added::fresh);
    CHECK(b.add_attempt(p, 2, 1010, 1) == address_book::added::fresh);
    CHECK(b.add_attempt(p, 1, 1020, 1) == address_book::added::known);
    CHECK(b.add_attempt(p, 1, 990, 1) == address_book::added::known);  // out of order
    CHECK(describe(b, p64) == "store=0 last=1000 n=2 1:990-1020x3 2:1010-1010x1");
    auto& again = b.touch(p64, 1030, created);
    CHECK_FALSE(created);
    CHECK(again.last_seen == 1030);
    CHECK(b.addresses() == 2);
}

TEST_CASE("a /64 remembers at most its bound of addresses", "[address_book]") {
    address_book::options o;
    o.max_addresses = 192;
    address_book b(o);
    bool created = false;
    auto* p = &b.touch(p64, 1, created);
    for (std::uint64_t iid = 1; iid <= 192; ++iid) {
        CHECK(b.add_attempt(*p, iid, 1, 1) == address_book::added::fresh);
        p = b.find(p64);  // blocks move as the /64 grows through the size classes
    }
    CHECK(b.add_attempt(*p, 193, 2, 1) == address_book::added::over_bound);
    CHECK(b.add_attempt(*p, 192, 2, 1) == address_book::added::known);
    CHECK(p->count == 192);
    // The addresses survived every move between size classes.
    const std::uint64_t* iids = b.iids_of(*p);
    for (std::uint16_t i = 0; i < 192; ++i) CHECK(iids[i] == i + 1u);
}

TEST_CASE("a quiet /64 is forgotten after its horizon, a stored one far later", "[address_book]") {
    address_book::options o;
    o.horizon_s = 3600;
    o.stored_horizon_s = 10 * 3600;
    address_book b(o);
    bool created = false;
    b.add_attempt(b.touch(p64, 1000, created), 7, 1000, 1);
    auto& stored = b.touch(p64 + 1, 1000, created);
    b.add_attempt(stored, 8, 1000, 1);
    b.set_in_store(stored);
    b.expire(1000 + 1800);  // half the horizon: nothing goes
    CHECK(b.find(p64));
    b.touch(p64, 2000, created);  // activity pushes it back
    b.expire(1000 + 3700);
    CHECK(b.find(p64));
    b.expire(2000 + 2 * 3600 + 60);  // within twice the horizon of the last attempt
    CHECK_FALSE(b.find(p64));
    CHECK(b.find(p64 + 1));  // in the store: kept
    b.expire(1000 + 2 * 10 * 3600 + 60);
    CHECK_FALSE(b.find(p64 + 1));
    CHECK(b.prefixes() == 0);
    CHECK(b.addresses() == 0);
    // Seen again, its addresses count anew.
    auto& back = b.touch(p64, 100000, created);
    CHECK(created);
    CHECK(b.add_attempt(back, 7, 100000, 1) == address_book::added::fresh);
}

TEST_CASE("a forgotten /64 hands its uncommitted delta over", "[address_book]") {
    address_book::options o;
    o.horizon_s = 60;
    address_book b(o);
    bool created = false;
    auto& p = b.touch(p64, 100, created);
    b.mark_dirty(p);
    p.delta.attempts = 3;
    b.expire(100 + 200);
    CHECK_FALSE(b.find(p64));
    REQUIRE(b.orphans().size() == 1);
    CHECK(b.orphans()[0].first == p64);
    CHECK(b.orphans()[0].second.attempts == 3);
    b.clear_dirty();
    CHECK(b.orphans().empty());
    CHECK(b.dirty().empty());
}

TEST_CASE("a saved book restores to the same book and expires the same way", "[address_book]") {
    address_book::options o;
    o.horizon_s = 3600;
    address_book a(o);
    bool created = false;
    for (std::uint64_t k = 0; k < 300; ++k) {
        const auto t = static_cast<std::uint32_t>(1000 + k * 30);
        auto& p = a.touch(p64 + k, t, created);
        for (std::uint64_t iid = 0; iid <= k % 7; ++iid) a.add_attempt(p, iid * 977 + k, t, 1);
        if (k % 50 == 0) a.set_in_store(*a.find(p64 + k));
        a.expire(t);
    }
    std::string blob;
    a.save(blob);
    address_book b(o);
    REQUIRE(b.restore(blob));
    CHECK(b.prefixes() == a.prefixes());
    CHECK(b.addresses() == a.addresses());
    for (std::uint64_t k = 0; k < 300; ++k) CHECK(describe(b, p64 + k) == describe(a, p64 + k));
    // Both go on identically.
    for (std::uint32_t t = 10000; t < 20000; t += 600) {
        a.expire(t);
        b.expire(t);
    }
    for (std::uint64_t k = 0; k < 300; ++k) CHECK(describe(b, p64 + k) == describe(a, p64 + k));
    address_book c(o);
    CHECK_FALSE(c.restore(blob.substr(0, blob.size() / 2)));
    CHECK_FALSE(c.restore("junk"));
    CHECK(c.prefixes() == 0);
}

TEST_CASE("a book saved through a sink gives the bytes of a book saved into a string",
          "[address_book]") {
    // The pipeline streams the book to its state file: the bytes must be the ones a string
    // gets, across the writer's buffer boundaries (8 KiB) and in more than one piece.
    address_book a;
    bool created = false;
    for (std::uint64_t k = 0; k < 2000; ++k) {
        auto& p = a.touch(p64 + k * 65537, static_cast<std::uint32_t>(5000 + k), created);
        for (std::uint64_t iid = 0; iid <= k % 11; ++iid)
            a.add_attempt(p, iid * 0x9E3779B97F4A7C15ull + k, static_cast<std::uint32_t>(5000 + k),
                          1);
    }
    std::string whole;
    a.save(whole);
    std::string streamed;
    int pieces = 0;
    a.save([&](std::string_view bytes) {
        streamed.append(bytes);
        ++pieces;
    });
    CHECK(pieces > 2);
    REQUIRE(whole.size() > 3 * 8192);
    CHECK(streamed == whole);
    address_book b;
    REQUIRE(b.restore(streamed));
    CHECK(b.addresses() == a.addresses());
}

TEST_CASE("a sink that fails mid-save throws out of the save, never out of a destructor",
          "[address_book]") {
    // The pipeline's sink writes the state file and throws when a write fails (disk full):
    // that must reach the caller as an exception (reported, the run stops cleanly), not
    // std::terminate from the writer's destructor flushing into the same sink.
    address_book a;
    bool created = false;
    for (std::uint64_t k = 0; k < 2000; ++k) {
        auto& p = a.touch(p64 + k, 5000, created);
        for (std::uint64_t iid = 0; iid < 8; ++iid) a.add_attempt(p, iid + 1, 5000, 1);
    }
    for (int fail_at : {1, 2, 5}) {
        int calls = 0;
        CHECK_THROWS_AS(a.save([&](std::string_view) {
            if (++calls == fail_at) throw std::runtime_error("write failed");
        }),
                        std::runtime_error);
        CHECK(calls == fail_at);
    }
}

TEST_CASE("an expiry pass at a far time does not stop later passes", "[address_book]") {
    // A pass at a bogus far-future time (a capture stamped 2106, or a checkpoint taken after
    // one) used to put the next pass a minute after it: none came again.
    address_book::options o;
    o.horizon_s = 60;
    address_book b(o);
    bool created = false;
    b.add_attempt(b.touch(p64, 1000, created), 7, 1000, 1);
    b.expire(4'000'000'000u);
    CHECK_FALSE(b.find(p64));  // that pass itself forgets what is past its horizon
    b.add_attempt(b.touch(p64 + 1, 2000, created), 8, 2000, 1);
    b.expire(2000 + 200);
    CHECK_FALSE(b.find(p64 + 1));
}

TEST_CASE("at its bound of /64s the book forgets the one seen least recently", "[address_book]") {
    address_book::options o;
    o.max_prefixes = 100;
    address_book b(o);
    bool created = false;
    // One /64 kept busy, one in the store, then a flood of /64s seen once each.
    auto& stored = b.touch(p64 + 1'000'000, 1, created);
    b.add_attempt(stored, 5, 1, 1);
    b.set_in_store(stored);
    for (std::uint64_t k = 0; k < 1000; ++k) {
        const auto t = static_cast<std::uint32_t>(10 + k);
        b.add_attempt(b.touch(p64 + k, t, created), k * 31 + 1, t, 1);
        CHECK(created);
        b.touch(p64 + 2'000'000, t, created);  // the busy one, seen every second
        REQUIRE(b.prefixes() <= 100);
    }
    CHECK(b.prefixes() == 100);
    CHECK(b.find(p64 + 1'000'000));  // in the store: never forgotten early
    CHECK(b.find(p64 + 2'000'000));  // seen since it was queued: a second chance each time
    // The rest are the latest 98 of the flood; what went is counted.
    for (std::uint64_t k = 0; k < 1000; ++k) CHECK((b.find(p64 + k) != nullptr) == (k >= 902));
    CHECK(b.evicted() == 902);
    CHECK(b.addresses() == 1 + 98);
    // A forgotten /64 seen again counts its address anew.
    auto& back = b.touch(p64, 5000, created);
    CHECK(created);
    CHECK(b.add_attempt(back, 1, 5000, 1) == address_book::added::fresh);
    CHECK(b.prefixes() == 100);
}

TEST_CASE("a /64 forgotten at the bound hands its uncommitted delta over", "[address_book]") {
    address_book::options o;
    o.max_prefixes = 2;
    address_book b(o);
    bool created = false;
    for (std::uint64_t k = 0; k < 3; ++k) {
        auto& p = b.touch(p64 + k, static_cast<std::uint32_t>(100 + k), created);
        b.mark_dirty(p);
        p.delta.attempts = static_cast<std::uint32_t>(k + 1);
    }
    CHECK_FALSE(b.find(p64));
    REQUIRE(b.orphans().size() == 1);
    CHECK(b.orphans()[0].first == p64);
    CHECK(b.orphans()[0].second.attempts == 1);
}

TEST_CASE("a book restored at its bound forgets the same /64s as the one saved", "[address_book]") {
    address_book::options o;
    o.max_prefixes = 64;
    address_book a(o);
    bool created = false;
    auto feed = [&](address_book& b, std::uint64_t from, std::uint64_t to) {
        for (std::uint64_t k = from; k < to; ++k) {
            const auto t = static_cast<std::uint32_t>(1000 + k);
            // Every third attempt comes back to a /64 of a few seconds ago.
            const std::uint64_t key = k % 3 == 0 && k > 5 ? p64 + k - 5 : p64 + k;
            b.add_attempt(b.touch(key, t, created), k, t, 1);
            b.expire(t);
        }
    };
    feed(a, 0, 500);
    std::string blob;
    a.save(blob);
    address_book b(o);
    REQUIRE(b.restore(blob));
    feed(a, 500, 1000);
    feed(b, 500, 1000);
    CHECK(a.prefixes() == 64);
    CHECK(b.evicted() > 0);
    std::size_t same = 0;
    for (std::uint64_t k = 0; k < 1000; ++k) same += describe(a, p64 + k) == describe(b, p64 + k);
    CHECK(same == 1000);
}

TEST_CASE("at the bound a /64 already past its horizon goes uncounted, a stored one stays",
          "[address_book]") {
    address_book::options o;
    o.max_prefixes = 2;
    o.horizon_s = 60;
    address_book b(o);
    bool created = false;
    b.touch(p64, 100, created);
    b.touch(p64 + 1, 100, created);
    // No expiry pass ran: both are past their horizon at 1000, forgotten but not early.
    b.touch(p64 + 2, 1000, created);
    b.touch(p64 + 3, 1001, created);
    CHECK_FALSE(b.find(p64));
    CHECK_FALSE(b.find(p64 + 1));
    CHECK(b.evicted() == 0);
    b.touch(p64 + 4, 1002, created);  // p64 + 2, seen at 1000, was not due before 1060
    CHECK_FALSE(b.find(p64 + 2));
    CHECK(b.evicted() == 1);
    // /64s in the store are never forgotten early: with two of them the book goes past
    // its bound, and the others take turns in what is left.
    b.set_in_store(*b.find(p64 + 3));
    b.set_in_store(*b.find(p64 + 4));
    b.touch(p64 + 5, 1003, created);
    CHECK(b.prefixes() == 3);
    b.touch(p64 + 6, 1004, created);
    CHECK(b.prefixes() == 3);
    CHECK(b.find(p64 + 3));
    CHECK(b.find(p64 + 4));
    CHECK_FALSE(b.find(p64 + 5));
    CHECK(b.find(p64 + 6));
    CHECK(b.evicted() == 2);
}
