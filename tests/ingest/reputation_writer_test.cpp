// The writer's join of associations with rejections, as the store sees it.
#include <catch2/catch.hpp>

#include "ingest_test_support.h"
#include "v6bl/ingest/reputation_writer.h"

using namespace v6bl;
using ingest_test::temp_dir;

TEST_CASE("an association remembered until its IPv4 is rejected leaves no checkpoint behind",
          "[writer]") {
    temp_dir d("writer");
    store::store_options so;
    so.path = d.path("db");
    so.sync_commits = false;
    auto db = store::reputation_store::open_writer(so);
    ingest::ingest_counters c;
    ingest::reputation_writer w(*db, c);
    ingest::association a;
    a.ipv6 = ingest_test::v6("2001:db8:77::1");
    a.ipv4 = ingest_test::v4(1, 2, 3, 4);
    a.time_us = 1'790'000'000LL * 1'000'000;
    a.strength_milli = 700;
    a.rounds = 3;
    a.sensors = 1;
    CHECK_FALSE(w.add_association(a, false, true));  // not rejected (yet): remembered
    w.commit();
    const auto remembered = db->checkpoint("a4:1.2.3.4");
    REQUIRE(remembered);
    CHECK_FALSE(remembered->empty());
    ingest::reject_event r;
    r.ipv4 = a.ipv4;
    r.unix_seconds = 1'790'000'100;
    w.add_rejection(r);  // lists the remembered association
    w.commit();
    // Nothing left to remember: the key is gone (it stayed, empty, for every such IPv4).
    CHECK_FALSE(db->checkpoint("a4:1.2.3.4"));
    CHECK(db->checkpoint("r4:1.2.3.4"));
    CHECK(c.listed_64s == 1);
}

TEST_CASE("an association long after an IPv4's rejections is listed by a later rejection",
          "[writer]") {
    // Rejected at day 0; associated at day 8 (past the 7-day horizon: remembered, not
    // listed); rejected again at day 8: listed then. A later rejection of a known IPv4 used
    // to return before looking at what was remembered, so it never was.
    temp_dir d("writer2");
    store::store_options so;
    so.path = d.path("db");
    so.sync_commits = false;
    auto db = store::reputation_store::open_writer(so);
    ingest::ingest_counters c;
    ingest::reputation_writer w(*db, c);
    constexpr std::int64_t day = 86400, t0 = 1'790'000'000;
    ingest::reject_event r;
    r.ipv4 = ingest_test::v4(1, 2, 3, 5);
    r.unix_seconds = t0;
    w.add_rejection(r);
    w.commit();
    auto associate = [&](const char* ipv6, std::int64_t at) {
        ingest::association a;
        a.ipv6 = ingest_test::v6(ipv6);
        a.ipv4 = r.ipv4;
        a.time_us = at * 1'000'000;
        a.strength_milli = 700;
        a.rounds = 3;
        a.sensors = 1;
        return w.add_association(a, false, true);
    };
    CHECK_FALSE(associate("2001:db8:78::1", t0 + 8 * day));
    CHECK_FALSE(associate("2001:db8:79::1", t0 + 30 * day));
    w.commit();
    CHECK(c.listed_64s == 0);
    REQUIRE(db->checkpoint("a4:1.2.3.5"));
    r.unix_seconds = t0 + 8 * day + 3600;
    w.add_rejection(r);
    w.commit();
    CHECK(c.listed_64s == 1);  // the day-8 one; the day-30 one is past this horizon
    REQUIRE(db->checkpoint("a4:1.2.3.5"));
    r.unix_seconds = t0 + 30 * day;
    w.add_rejection(r);
    w.commit();
    CHECK(c.listed_64s == 2);
    CHECK_FALSE(db->checkpoint("a4:1.2.3.5"));
}
