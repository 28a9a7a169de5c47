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
