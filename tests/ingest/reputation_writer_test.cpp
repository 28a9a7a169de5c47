// The writer's join of associations with rejections, as the store sees it.
#include <catch2/catch.hpp>

#include <ctime>

#include "ingest_test_support.h"
#include "v6bl/ingest/reputation_writer.h"

using namespace v6bl;
using ingest_test::temp_dir;

namespace {

// A writer on a fresh store of its own, and an association with it.
struct writer_on_store {
    explicit writer_on_store(const std::string& tag) : dir(tag) {
        store::store_options so;
        so.path = dir.path("db");
        so.sync_commits = false;
        db = store::reputation_store::open_writer(so);
        w = std::make_unique<ingest::reputation_writer>(*db, counters);
    }
    bool associate(const char* ipv6, std::uint32_t ipv4, std::int64_t at_s) {
        ingest::association a;
        a.ipv6 = ingest_test::v6(ipv6);
        a.ipv4 = ipv4;
        a.time_us = at_s * 1'000'000;
        a.strength_milli = 700;
        a.rounds = 3;
        a.sensors = 1;
        return w->add_association(a, false, true);
    }
    temp_dir dir;
    std::unique_ptr<store::reputation_store> db;
    ingest::ingest_counters counters;
    std::unique_ptr<ingest::reputation_writer> w;
};

}  // namespace

TEST_CASE("an association remembered until its IPv4 is rejected leaves no checkpoint behind",
          "[writer]") {
    writer_on_store t("writer");
    // Not rejected (yet): remembered.
    CHECK_FALSE(t.associate("2001:db8:77::1", ingest_test::v4(1, 2, 3, 4), 1'790'000'000));
    t.w->commit();
    const auto remembered = t.db->checkpoint("a4:1.2.3.4");
    REQUIRE(remembered);
    CHECK_FALSE(remembered->empty());
    ingest::reject_event r;
    r.ipv4 = ingest_test::v4(1, 2, 3, 4);
    r.unix_seconds = 1'790'000'100;
    t.w->add_rejection(r);  // lists the remembered association
    t.w->commit();
    // Nothing left to remember: the key is gone (it stayed, empty, for every such IPv4).
    CHECK_FALSE(t.db->checkpoint("a4:1.2.3.4"));
    CHECK(t.db->checkpoint("r4:1.2.3.4"));
    CHECK(t.counters.listed_64s == 1);
}

TEST_CASE("an association long after an IPv4's rejections is listed by a later rejection",
          "[writer]") {
    // Rejected at day 0; associated at day 8 (past the 7-day horizon: remembered, not
    // listed); rejected again at day 8: listed then. A later rejection of a known IPv4 used
    // to return before looking at what was remembered, so it never was.
    writer_on_store t("writer2");
    constexpr std::int64_t day = 86400, t0 = 1'790'000'000;
    ingest::reject_event r;
    r.ipv4 = ingest_test::v4(1, 2, 3, 5);
    r.unix_seconds = t0;
    t.w->add_rejection(r);
    t.w->commit();
    CHECK_FALSE(t.associate("2001:db8:78::1", r.ipv4, t0 + 8 * day));
    CHECK_FALSE(t.associate("2001:db8:79::1", r.ipv4, t0 + 30 * day));
    t.w->commit();
    CHECK(t.counters.listed_64s == 0);
    REQUIRE(t.db->checkpoint("a4:1.2.3.5"));
    r.unix_seconds = t0 + 8 * day + 3600;
    t.w->add_rejection(r);
    t.w->commit();
    CHECK(t.counters.listed_64s == 1);  // the day-8 one; the day-30 one is past this horizon
    REQUIRE(t.db->checkpoint("a4:1.2.3.5"));
    r.unix_seconds = t0 + 30 * day;
    t.w->add_rejection(r);
    t.w->commit();
    CHECK(t.counters.listed_64s == 2);
    CHECK_FALSE(t.db->checkpoint("a4:1.2.3.5"));
}

TEST_CASE("a /64 forgotten and seen again before a commit is counted once", "[writer]") {
    // The book forgets a /64 quiet for its horizon (24 h) and hands the uncommitted delta
    // over; the /64 coming back in the same commit window has a new delta. Both are
    // committed once each: the forgotten /64's key stayed in the dirty list and came again
    // when it was seen again, so the new delta was merged twice (3 attempts, not 2).
    writer_on_store t("writer-forgotten");
    // two days ago: the store's retention runs on the wall clock
    const std::int64_t t0 = static_cast<std::int64_t>(std::time(nullptr)) - 2 * 86400;
    const auto addr = ingest_test::v6("2001:db8:1::5");
    const auto other = ingest_test::v6("2001:db8:3::5");
    t.w->add_attempt(ingest_test::attempt(addr, true, t0, 1000, 1, false), 1);
    t.w->add_attempt(ingest_test::attempt(other, true, t0 + 25 * 3600, 1, 1, false), 1);
    t.w->add_attempt(ingest_test::attempt(addr, true, t0 + 25 * 3600 + 10, 1001, 1, false), 1);
    t.w->commit();
    const auto rec = t.db->get(*store::parse_prefix("2001:db8:1::/64"));
    REQUIRE(rec);
    CHECK(rec->attempts == 2);
    CHECK(rec->addresses == 2);  // forgotten, its address counts anew
    const auto rec3 = t.db->get(*store::parse_prefix("2001:db8:3::/64"));
    REQUIRE(rec3);
    CHECK(rec3->attempts == 1);
}
