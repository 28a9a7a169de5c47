// The RocksDB store: commits, merge, lookup, allowlist, delist, journal, readers, bad input.
#include <catch2/catch.hpp>

#include <rocksdb/db.h>

#include <atomic>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

#include "test_dir.h"
#include "v6bl/store/listing_view.h"
#include "v6bl/store/store.h"

using namespace v6bl::store;
using v6bl::test::test_dir;

namespace {

// The store's retention runs on the wall clock (merge operators, compaction filter): the
// tests' clock is the wall clock's, so that their records never age out under them.
const std::uint32_t now = static_cast<std::uint32_t>(std::time(nullptr));

reputation_record evidence(std::uint16_t strength, std::uint32_t attempts = 1,
                           std::uint32_t seen = now) {
    reputation_record r;
    r.reason_bits = bit_associated;
    r.strength_milli = strength;
    r.attempts = attempts;
    r.rejected_ipv4s = 1;
    r.first_seen = seen;
    r.last_seen = seen;
    return r;
}

// Writes `value` under `key` in column family `cf` of the store at `path` with RocksDB
// itself, as another program (or a newer v6bl) would; no value deletes the key.
void raw_write(const std::string& path, const char* cf, std::string_view key,
               const std::optional<std::string>& value) {
    rocksdb::DBOptions dbo;
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(dbo, path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(dbo, path, descs, &handles, &db).ok());
    const auto idx =
        static_cast<std::size_t>(std::find(names.begin(), names.end(), cf) - names.begin());
    REQUIRE(idx < handles.size());
    const rocksdb::Slice k(key.data(), key.size());
    if (value)
        REQUIRE(db->Put(rocksdb::WriteOptions(), handles[idx], k, *value).ok());
    else
        REQUIRE(db->Delete(rocksdb::WriteOptions(), handles[idx], k).ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
}

store_options opts(const test_dir& d) {
    store_options o;
    o.path = d.path("db");
    o.sync_commits = false;
    return o;
}

ipv6_bytes addr(const char* a) {
    return *parse_address(a);
}

// A writer opens (and so finishes or creates) the store, lists 2001:db8::/64; a reader
// then finds it listed.
bool writer_lists_and_reader_sees(const store_options& o) {
    {
        auto w = reputation_store::open_writer(o);
        change_set cs;
        cs.list_manually(*parse_prefix("2001:db8::/64", false), reason_code::manual, "x", now);
        w->commit(std::move(cs), now);
    }
    auto r = reputation_store::open_read_only(o);
    return r->lookup(addr("2001:db8::1"), listing_policy{}, now).listed;
}

}  // namespace

TEST_CASE("store: evidence merges across commits and reopen") {
    test_dir d("merge");
    {
        auto s = reputation_store::open_writer(opts(d));
        const auto first = s->serial();
        change_set cs;
        cs.merge_record(*parse_prefix("2001:db8:1:2::/64"), evidence(300, 2));
        CHECK(s->commit(std::move(cs), now) == first + 1);
        change_set more;
        more.merge_record(*parse_prefix("2001:db8:1:2::/64"), evidence(700, 3, now + 10));
        s->commit(std::move(more), now);
    }
    auto s = reputation_store::open_read_only(opts(d));
    auto r = s->get(*parse_prefix("2001:db8:1:2::/64"));
    REQUIRE(r);
    CHECK(r->attempts == 5);
    CHECK(r->strength_milli == 700);
    CHECK(r->rejected_ipv4s == 2);
    CHECK(r->first_seen == now);
    CHECK(r->last_seen == now + 10);
    listing_policy policy;
    auto l = s->lookup(addr("2001:db8:1:2::77"), policy, now);
    CHECK(l.listed);
    REQUIRE(l.entry);
    CHECK(l.entry->code == reason_code::associated);
    CHECK(format_prefix(*l.stored_prefix) == "2001:db8:1:2::/64");
    // the same record is not listed once expired or under a stricter policy
    CHECK_FALSE(
        s->lookup(addr("2001:db8:1:2::77"), policy, now + 10 + policy.expiry_seconds + 1).listed);
    policy.min_strength_milli = 800;
    auto weak = s->lookup(addr("2001:db8:1:2::77"), policy, now);
    CHECK_FALSE(weak.listed);
    CHECK(weak.why.find("too weak") != std::string::npos);
}

// A strong association with IPv4s no DNSBL rejected is no listing, and lookup says so
// rather than "too weak (strength 0 < 600)".
TEST_CASE("store: lookup says when no associated IPv4 was rejected") {
    test_dir d("unrejected");
    auto s = reputation_store::open_writer(opts(d));
    reputation_record r = evidence(0);
    r.rejected_ipv4s = 0;
    change_set cs;
    cs.merge_record(*parse_prefix("2001:db8:1:3::/64"), r);
    s->commit(std::move(cs), now);
    const auto l = s->lookup(addr("2001:db8:1:3::5"), listing_policy{}, now);
    CHECK_FALSE(l.listed);
    CHECK(l.why ==
          "not listed: no IPv4 sender associated with 2001:db8:1:3::/64 was rejected by a DNSBL");
}

TEST_CASE("store: longest prefix wins, allowlist wins over everything") {
    test_dir d("lpm");
    auto s = reputation_store::open_writer(opts(d));
    change_set cs;
    cs.list_manually(*parse_prefix("2001:db8::/32"), reason_code::manual, "wide", now);
    cs.merge_record(*parse_prefix("2001:db8:7:1::/64"), evidence(900));
    s->commit(std::move(cs), now);
    listing_policy policy;
    CHECK(s->lookup(addr("2001:db8:7:1::1"), policy, now).entry->code == reason_code::associated);
    CHECK(s->lookup(addr("2001:db8:7:2::1"), policy, now).entry->code == reason_code::manual);
    CHECK_FALSE(s->lookup(addr("2001:db9::1"), policy, now).listed);
    change_set allow;
    allow.allow(*parse_prefix("2001:db8:7::/48"), "partner", now);
    s->commit(std::move(allow), now);
    auto l = s->lookup(addr("2001:db8:7:1::1"), policy, now);
    CHECK_FALSE(l.listed);
    REQUIRE(l.allowed_by);
    CHECK(format_prefix(*l.allowed_by) == "2001:db8:7::/48");
    CHECK(s->lookup(addr("2001:db8:8::1"), policy, now).listed);
    // the published stream has the hole, not the listing inside it
    bool saw_inner = false;
    s->for_each_published(policy, now, [&](const listing_entry& e) {
        if (format_prefix(e.where) == "2001:db8:7:1::/64") saw_inner = true;
    });
    CHECK_FALSE(saw_inner);
    REQUIRE(s->published_holes().size() == 1);
    change_set unallow;
    unallow.unallow(*parse_prefix("2001:db8:7::/48"));
    s->commit(std::move(unallow), now);
    CHECK(s->lookup(addr("2001:db8:7:1::1"), policy, now).listed);
}

TEST_CASE("store: escalation is derived from listed /64s and published in order") {
    test_dir d("escalate");
    auto s = reputation_store::open_writer(opts(d));
    change_set cs;
    for (int i = 0; i < 4; ++i) {
        ipv6_bytes a = addr("2001:db8:1:100::");
        a[7] = static_cast<std::uint8_t>(i);
        cs.merge_record(make_prefix(a, 64), evidence(900));
    }
    s->commit(std::move(cs), now);
    listing_policy policy;
    auto l = s->lookup(addr("2001:db8:1:1ff::1"), policy, now);
    REQUIRE(l.listed);
    CHECK(l.entry->code == reason_code::escalated);
    CHECK(format_prefix(l.entry->where) == "2001:db8:1:100::/56");
    CHECK_FALSE(s->lookup(addr("2001:db8:1:200::1"), policy, now).listed);  // /48 needs 8
    std::vector<prefix> order;
    s->for_each_published(policy, now, [&](const listing_entry& e) { order.push_back(e.where); });
    CHECK(std::is_sorted(order.begin(), order.end()));
    CHECK(order.size() == 6);  // test point, /56, four /64s
    CHECK(is_rfc5782_test_point(order.front()));
    auto view = build_view(*s, policy, now);
    CHECK(view->resolve_address(addr("2001:db8:1:1ff::1"), now).entry.code ==
          reason_code::escalated);
    CHECK(view->resolve_address(addr("::ffff:127.0.0.2"), now).state == name_state::listed);
    // An operator's /64s escalate nothing, under any code: escalation is inferred from
    // evidence (the operator lists a wider prefix by hand when that is meant).
    change_set by_hand;
    for (int i = 0; i < 4; ++i) {
        ipv6_bytes a = addr("2001:db8:2:100::");
        a[7] = static_cast<std::uint8_t>(i);
        by_hand.list_manually(make_prefix(a, 64), reason_code::associated, "", now);
    }
    s->commit(std::move(by_hand), now);
    const auto m = s->lookup(addr("2001:db8:2:1ff::1"), policy, now);
    INFO(m.why);
    CHECK_FALSE(m.listed);
    CHECK(s->lookup(addr("2001:db8:2:101::1"), policy, now).entry->manual);
}

TEST_CASE("store: delist removes records under a prefix and the journal names them") {
    test_dir d("delist");
    auto s = reputation_store::open_writer(opts(d));
    change_set cs;
    cs.merge_record(*parse_prefix("2001:db8:1:1::/64"), evidence(900));
    cs.merge_record(*parse_prefix("2001:db8:1:2::/64"), evidence(900));
    cs.merge_record(*parse_prefix("2001:db8:2:1::/64"), evidence(900));
    cs.merge_evidence(*parse_prefix("2001:db8:1:1::/64"), evidence_kind::rejected_ipv4,
                      "\x01\x02\x03\x04", {now, now, 1, 900, 1});
    const auto before = s->commit(std::move(cs), now);
    CHECK(s->evidence_count(*parse_prefix("2001:db8:1:1::/64"), 10) == 1);
    change_set del;
    del.remove(*parse_prefix("2001:db8:1::/48"));
    const auto after = s->commit(std::move(del), now);
    CHECK(after == before + 1);
    CHECK_FALSE(s->get(*parse_prefix("2001:db8:1:1::/64")));
    CHECK_FALSE(s->get(*parse_prefix("2001:db8:1:2::/64")));
    CHECK(s->get(*parse_prefix("2001:db8:2:1::/64")));
    CHECK(s->evidence_count(*parse_prefix("2001:db8:1:1::/64"), 10) == 0);
    std::vector<journal_entry> seen;
    CHECK(s->journal_since(before - 1, [&](const journal_entry& j) { seen.push_back(j); }));
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].serial == before);
    CHECK(seen[0].touched.size() == 3);
    CHECK(seen[1].serial == after);
    CHECK(std::count(seen[1].touched.begin(), seen[1].touched.end(),
                     *parse_prefix("2001:db8:1:2::/64")) == 1);
}

TEST_CASE(
    "store: a view refreshed region by region answers a wide listing once the /48 "
    "that shadowed it is delisted") {
    // The full view dropped the /46's 3000::/48 entry beside the operator's own 3000::/48;
    // a refresh of that region after the /48's delist then left nothing: NXDOMAIN until a
    // restart, while lookup said listed.
    test_dir d("shadowed-wide");
    auto s = reputation_store::open_writer(opts(d));
    change_set cs;
    cs.list_manually(*parse_prefix("3000::/46"), static_cast<reason_code>(20), "wide46", now);
    cs.list_manually(*parse_prefix("3000::/48"), static_cast<reason_code>(21), "exact48", now);
    s->commit(std::move(cs), now);
    listing_policy policy;
    const auto v1 = build_view(*s, policy, now);
    auto code_of = [&](const listing_view& v) {
        const auto a = v.resolve_address(addr("3000::1"), now);
        return a.state == name_state::listed ? static_cast<int>(a.entry.code) : -1;
    };
    CHECK(code_of(*v1) == 21);
    change_set del;
    del.remove(*parse_prefix("3000::/48"));
    const auto serial = s->commit(std::move(del), now);
    // What server/view_refresher does for a journal naming 3000::/48: that region again.
    const std::uint64_t region = parse_prefix("3000::/48")->high64();
    const auto v2 = v1->with_changes({region}, s->published_region(region, policy, now),
                                     std::nullopt, std::nullopt, serial);
    CHECK(code_of(*v2) == 20);
    CHECK(code_of(*build_view(*s, policy, now)) == 20);
    // An export still has one entry per prefix.
    std::vector<std::string> published;
    s->for_each_published(
        policy, now, [&](const listing_entry& e) { published.push_back(format_prefix(e.where)); });
    CHECK(std::count(published.begin(), published.end(), "3000::/48") == 1);
}

TEST_CASE(
    "store: a view names the regions whose answers change with time alone; rebuilt then they "
    "answer as a fresh view") {
    // helper-88: the server rebuilds only the regions a commit names, so a lapse that
    // uncovers or removes more than the lapsed entry was answered wrong until its next full
    // rebuild (an hour by default): NXDOMAIN for evidence under a lapsed manual listing, a
    // /48 escalation standing on one /64.
    test_dir d("time-refresh");
    auto s = reputation_store::open_writer(opts(d));
    listing_policy policy;
    policy.manual_expiry_seconds = 60;
    policy.expiry_seconds = 1000;
    policy.escalate_56_after = 0;
    policy.escalate_48_after = 2;
    change_set cs;
    // A manual listing over evidence (both seen `now`): manual until now + 60, then the
    // evidence until now + 1000.
    cs.merge_record(*parse_prefix("2001:db8:5:1::/64"), evidence(900));
    cs.list_manually(*parse_prefix("2001:db8:5:1::/64"), static_cast<reason_code>(10), "by hand",
                     now);
    // Two /64s escalate 2001:db8:6::/48; the first lapses at now + 900.
    cs.merge_record(*parse_prefix("2001:db8:6:1::/64"), evidence(900, 1, now - 100));
    cs.merge_record(*parse_prefix("2001:db8:6:2::/64"), evidence(900, 1, now));
    const std::uint32_t serial = s->commit(std::move(cs), now);
    const auto v1 = build_view(*s, policy, now);
    auto code_at = [&](const listing_view& v, const char* a, std::uint32_t t) {
        const auto n = v.resolve_address(addr(a), t);
        return n.state == name_state::listed ? static_cast<int>(n.entry.code) : -1;
    };
    const std::uint64_t r5 = parse_prefix("2001:db8:5::/48")->high64(),
                        r6 = parse_prefix("2001:db8:6::/48")->high64();
    CHECK(code_at(*v1, "2001:db8:5:1::1", now) == 10);
    CHECK(code_at(*v1, "2001:db8:6:ff::1", now) == 4);
    CHECK(v1->due(now).empty());
    CHECK(v1->due(now + 60).empty());

    // The manual listing lapses: its region is due, and rebuilt it answers the evidence.
    auto due = v1->due(now + 61);
    CHECK(due.regions48 == std::vector<std::uint64_t>{r5});
    CHECK_FALSE(due.wide);
    const auto v2 = v1->with_changes(due.regions48, s->published_region(r5, policy, now + 61),
                                     std::nullopt, std::nullopt, serial);
    CHECK(code_at(*build_view(*s, policy, now + 61), "2001:db8:5:1::1", now + 61) == 2);
    CHECK(code_at(*v2, "2001:db8:5:1::1", now + 61) == 2);
    CHECK(v2->due(now + 61).empty());

    // One of the escalation's two /64s lapses: the /48 goes at once (it stood until the
    // last one lapsed), and its region is due.
    CHECK(code_at(*v2, "2001:db8:6:ff::1", now + 900) == 4);
    CHECK(code_at(*v2, "2001:db8:6:ff::1", now + 901) == -1);
    CHECK(code_at(*build_view(*s, policy, now + 901), "2001:db8:6:ff::1", now + 901) == -1);
    due = v2->due(now + 901);
    CHECK(due.regions48 == std::vector<std::uint64_t>{r6});
    const auto v3 = v2->with_changes(due.regions48, s->published_region(r6, policy, now + 901),
                                     std::nullopt, std::nullopt, serial);
    CHECK(code_at(*v3, "2001:db8:6:2::1", now + 901) == 2);
    CHECK(code_at(*v3, "2001:db8:6:1::1", now + 901) == -1);
    CHECK(v3->due(now + 2000).empty());
}

TEST_CASE("store: a lapsing /64 that hid a wider listing's /64 names its region") {
    // The view keeps one entry per published prefix (the longest stored one's): the manual
    // /62's entry for 2001:db8:7::/64 was dropped for the inferred /64's, and once that
    // lapsed the name answered NXDOMAIN while export and lookup said listed.
    test_dir d("time-refresh-hidden");
    auto s = reputation_store::open_writer(opts(d));
    listing_policy policy;
    policy.expiry_seconds = 1000;
    change_set cs;
    cs.merge_record(*parse_prefix("2001:db8:7::/64"), evidence(900, 1, now - 950));
    cs.list_manually(*parse_prefix("2001:db8:7::/62"), static_cast<reason_code>(10), "wide", now);
    const std::uint32_t serial = s->commit(std::move(cs), now);
    const auto v1 = build_view(*s, policy, now);
    auto code_at = [&](const listing_view& v, std::uint32_t t) {
        const auto n = v.resolve_address(addr("2001:db8:7::1"), t);
        return n.state == name_state::listed ? static_cast<int>(n.entry.code) : -1;
    };
    CHECK(code_at(*v1, now + 50) == 2);
    CHECK(v1->due(now + 50).empty());
    const auto due = v1->due(now + 51);
    const std::uint64_t r7 = parse_prefix("2001:db8:7::/48")->high64();
    CHECK(due.regions48 == std::vector<std::uint64_t>{r7});
    const auto v2 = v1->with_changes(due.regions48, s->published_region(r7, policy, now + 51),
                                     std::nullopt, std::nullopt, serial);
    CHECK(code_at(*build_view(*s, policy, now + 51), now + 51) == 10);
    CHECK(code_at(*v2, now + 51) == 10);
}

TEST_CASE("store: delisting a prefix wider than /48 removes every /48 under it from table files") {
    // The listing family has a /48 prefix bloom: a delist scan that seeks in prefix mode
    // skips a table file whose filter lacks the first /48 of the range, and with it every
    // other /48 of the range in that file (seen: `delist 2001:db8::/32` said done and left
    // 2001:db8:11::/64 listed).
    test_dir d("delist-wide");
    const char* inside[] = {"2001:db8:11::/64", "2001:db8:22:1::/64", "2001:db8:ffff:ff::/64"};
    {
        auto s = reputation_store::open_writer(opts(d));
        change_set cs;
        for (const char* p : inside) cs.merge_record(*parse_prefix(p), evidence(900));
        cs.merge_record(*parse_prefix("2001:db9::/64"), evidence(900));
        s->commit(std::move(cs), now);
    }  // a clean close flushes: the records are in table files, the memtable empty
    {
        auto s = reputation_store::open_writer(opts(d));
        change_set del;
        del.remove(*parse_prefix("2001:db8::/32"));  // its first /48 holds nothing
        s->commit(std::move(del), now);
        for (const char* p : inside) CHECK_FALSE(s->get(*parse_prefix(p)));
        CHECK(s->get(*parse_prefix("2001:db9::/64")));
    }
    auto s = reputation_store::open_read_only(opts(d));
    std::vector<std::string> left;
    s->for_each_record([&](const prefix& p, const reputation_record&) {
        left.push_back(format_prefix(p));
        return true;
    });
    CHECK(left == std::vector<std::string>{"2001:db9::/64"});
}

TEST_CASE("store: a remove deletes what the same change set wrote before it") {
    // A delete's scan reads the database, not the batch being built: records merged or
    // listed earlier in the same change set were not in it, so they survived a remove
    // that came after them (and only when they had not been stored before).
    test_dir d("delist-same-set");
    auto s = reputation_store::open_writer(opts(d));
    const auto stored = *parse_prefix("2001:db8:1:1::/64");
    const auto fresh = *parse_prefix("2001:db8:1:2::/64");
    const auto manual = *parse_prefix("2001:db8:1:3::/64");
    const auto wide = *parse_prefix("2001:db8::/40");
    const auto outside = *parse_prefix("2001:db8:100:1::/64");
    {
        change_set cs;
        cs.merge_record(stored, evidence(900));
        s->commit(std::move(cs), now);
    }
    change_set cs;
    cs.merge_record(stored, evidence(900));
    cs.merge_record(fresh, evidence(900));
    cs.list_manually(manual, reason_code::manual, "by hand", now);
    cs.merge_record(outside, evidence(900));
    cs.remove(*parse_prefix("2001:db8:1::/48"));
    cs.list_manually(wide, reason_code::manual, "wide", now);
    cs.remove(wide);
    cs.merge_record(fresh, evidence(700, 2));  // after the remove: kept
    const auto serial = s->commit(std::move(cs), now);
    CHECK_FALSE(s->get(stored));
    CHECK_FALSE(s->get(manual));
    CHECK_FALSE(s->get(wide));
    auto r = s->get(fresh);
    REQUIRE(r);
    CHECK(r->attempts == 2);
    CHECK(r->strength_milli == 700);
    CHECK(s->get(outside));
    const listing_policy policy;
    CHECK_FALSE(s->lookup(addr("2001:db8:1:3::1"), policy, now).listed);
    CHECK_FALSE(s->lookup(addr("2001:db8:0:1::1"), policy, now).listed);
    CHECK(s->lookup(addr("2001:db8:100:1::1"), policy, now).listed);
    std::vector<journal_entry> seen;
    CHECK(s->journal_since(serial - 1, [&](const journal_entry& j) { seen.push_back(j); }));
    REQUIRE(seen.size() == 1);
    for (const auto& p : {stored, fresh, manual, wide, outside})
        CHECK(std::count(seen[0].touched.begin(), seen[0].touched.end(), p) == 1);
}

TEST_CASE("store: the journal is trimmed and says when it no longer reaches back") {
    test_dir d("journal");
    auto o = opts(d);
    o.journal_keep = 10;
    auto s = reputation_store::open_writer(o);
    const auto start = s->serial();
    for (int i = 0; i < 140; ++i) {
        change_set cs;
        cs.set_checkpoint("test", std::to_string(i));
        s->commit(std::move(cs), now);
    }
    CHECK(s->checkpoint("test") == "139");
    CHECK(s->journal_since(s->serial() - 5, [](const journal_entry&) {}));
    CHECK_FALSE(s->journal_since(start, [](const journal_entry&) {}));
}

TEST_CASE("store: a secondary reader sees the writer's commits after catch_up") {
    test_dir d("reader");
    auto w = reputation_store::open_writer(opts(d));
    change_set cs;
    cs.merge_record(*parse_prefix("2001:db8:1:1::/64"), evidence(900));
    w->commit(std::move(cs), now);
    auto r = reputation_store::open_reader(opts(d), d.path("scratch"));
    CHECK(r->serial() == w->serial());
    CHECK_THROWS_AS(r->commit(change_set{}, now), store_error);
    change_set more;
    more.merge_record(*parse_prefix("2001:db8:9:9::/64"), evidence(900));
    const auto serial = w->commit(std::move(more), now);
    CHECK_FALSE(r->get(*parse_prefix("2001:db8:9:9::/64")));
    CHECK(r->catch_up());
    CHECK(r->serial() == serial);
    CHECK(r->get(*parse_prefix("2001:db8:9:9::/64")));
    CHECK_FALSE(r->catch_up());
}

TEST_CASE("store: a second writer is refused with a clear error") {
    test_dir d("lock");
    auto w = reputation_store::open_writer(opts(d));
    try {
        reputation_store::open_writer(opts(d));
        FAIL("second writer opened");
    } catch (const store_error& e) {
        CHECK(std::string(e.what()).find("locked by another writer") != std::string::npos);
    }
}

TEST_CASE("store: foreign and corrupt directories are refused, nothing is written into them") {
    test_dir d("foreign");
    std::filesystem::create_directories(d.path("notes"));
    std::ofstream(d.path("notes/readme.txt")) << "my notes\n";
    store_options o;
    o.path = d.path("notes");
    CHECK_THROWS_WITH(
        reputation_store::open_writer(o),
        Catch::Contains("not a v6bl database") && Catch::Contains("refusing to write into it"));
    // A reader says what it is without speaking of writes it never meant to make.
    CHECK_THROWS_WITH(reputation_store::open_read_only(o),
                      Catch::Contains("not a v6bl database (no CURRENT file)") &&
                          !Catch::Contains("refusing to write"));
    CHECK(std::filesystem::directory_iterator(d.path("notes")) !=
          std::filesystem::directory_iterator());
    CHECK(std::distance(std::filesystem::directory_iterator(d.path("notes")),
                        std::filesystem::directory_iterator()) == 1);

    // a RocksDB database of someone else's
    {
        rocksdb::Options ro;
        ro.create_if_missing = true;
        rocksdb::DB* db = nullptr;
        REQUIRE(rocksdb::DB::Open(ro, d.path("other"), &db).ok());
        db->Put(rocksdb::WriteOptions(), "k", "v");
        delete db;
    }
    o.path = d.path("other");
    CHECK_THROWS_WITH(reputation_store::open_writer(o), Catch::Contains("not a v6bl database"));

    // a missing store for reading
    o.path = d.path("missing");
    CHECK_THROWS_WITH(reputation_store::open_read_only(o), Catch::Contains("does not exist"));

    // a truncated CURRENT file
    { auto s = reputation_store::open_writer(opts(d)); }
    std::ofstream(d.path("db/CURRENT"), std::ios::trunc) << "garbage";
    CHECK_THROWS_AS(reputation_store::open_writer(opts(d)), store_error);
}

// A writer killed while it creates a store (seen under ASan in the SIGKILL test: killed
// between RocksDB creating the database and v6bl's first batch) left a directory that no
// command could open again ("has format ''"). A writer finishes such a store; readers say
// what it is; a database holding anything stays refused.
TEST_CASE("store: a store whose creation was cut off is finished by the next writer") {
    test_dir d("unfinished");
    auto make = [&](const std::string& dir, const std::vector<std::string>& families,
                    bool with_key) {
        rocksdb::DBOptions ro;
        ro.create_if_missing = true;
        ro.create_missing_column_families = true;
        std::vector<rocksdb::ColumnFamilyDescriptor> descs;
        for (const auto& f : families) descs.emplace_back(f, rocksdb::ColumnFamilyOptions());
        std::vector<rocksdb::ColumnFamilyHandle*> handles;
        rocksdb::DB* db = nullptr;
        REQUIRE(rocksdb::DB::Open(ro, d.path(dir), descs, &handles, &db).ok());
        if (with_key) REQUIRE(db->Put(rocksdb::WriteOptions(), handles.back(), "k", "v").ok());
        for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
        delete db;
    };
    const std::vector<std::string> all = {"default", "listings", "wide",   "evidence",
                                          "allow",   "meta",     "journal"};
    make("part", {"default", "listings", "wide"}, false);  // killed among the families
    make("bare", all, false);                              // killed before the first batch
    make("used", {"default", "listings"}, true);
    make("nomark", all, true);
    for (const char* dir : {"part", "bare"}) {
        INFO(dir);
        store_options o;
        o.path = d.path(dir);
        CHECK_THROWS_WITH(reputation_store::open_read_only(o), Catch::Contains("never finished"));
        o.create_if_missing = false;
        CHECK_THROWS_WITH(reputation_store::open_writer(o), Catch::Contains("never finished"));
        o.create_if_missing = true;
        CHECK(writer_lists_and_reader_sees(o));
    }
    store_options o;
    o.path = d.path("used");
    CHECK_THROWS_WITH(reputation_store::open_writer(o), Catch::Contains("not a v6bl database"));
    o.path = d.path("nomark");
    CHECK_THROWS_WITH(reputation_store::open_writer(o), Catch::Contains("has format ''"));
}

// Killed a few milliseconds earlier (8 of 20 kills 3 ms into a first ingest, helper-37):
// RocksDB had written IDENTITY, LOCK, LOG and perhaps a MANIFEST, but no CURRENT, and every
// later command refused the directory as "not a v6bl database". A writer starts it over;
// readers say what it is; a directory with anything else in it stays untouched.
TEST_CASE("store: a store cut off before RocksDB wrote CURRENT is started over by a writer") {
    test_dir d("no-current");
    namespace fs = std::filesystem;
    // What RocksDB leaves before CURRENT: a real store's IDENTITY, LOCK and LOG, and
    // perhaps the first MANIFEST being written (its .dbtmp, or MANIFEST-000001).
    auto leftovers = [&](const std::string& dir, bool manifest) {
        store_options o;
        o.path = d.path(dir);
        { auto s = reputation_store::open_writer(o); }
        std::vector<fs::path> drop;
        for (const auto& e : fs::directory_iterator(o.path)) {
            const std::string n = e.path().filename().string();
            if (n != "IDENTITY" && n != "LOCK" && n != "LOG") drop.push_back(e.path());
        }
        for (const auto& p : drop) fs::remove_all(p);
        if (manifest) {
            std::ofstream(fs::path(o.path) / "MANIFEST-000001") << "partial";
            std::ofstream(fs::path(o.path) / "000001.dbtmp") << "partial";
        }
        REQUIRE_FALSE(fs::exists(fs::path(o.path) / "CURRENT"));
        return o;
    };
    for (bool manifest : {false, true}) {
        INFO("MANIFEST left: " << manifest);
        store_options o = leftovers(manifest ? "with-manifest" : "bare", manifest);
        CHECK_THROWS_WITH(reputation_store::open_read_only(o), Catch::Contains("never finished"));
        CHECK(writer_lists_and_reader_sees(o));
    }
    // The same files next to someone else's: refused, nothing removed.
    store_options o = leftovers("mixed", true);
    std::ofstream(fs::path(o.path) / "notes.txt") << "mine\n";
    const auto count = [&] {
        return std::distance(fs::directory_iterator(o.path), fs::directory_iterator());
    };
    const auto before = count();
    CHECK_THROWS_WITH(reputation_store::open_writer(o), Catch::Contains("not a v6bl database"));
    CHECK(count() == before);
    // Killed right after RocksDB created its LOG: an empty LOG alone.
    fs::create_directories(d.path("emptylog"));
    std::ofstream(d.path("emptylog/LOG")).flush();
    o.path = d.path("emptylog");
    CHECK_NOTHROW(reputation_store::open_writer(o));
    // A store that lost its CURRENT holds a write-ahead log, OPTIONS and a later MANIFEST:
    // data, never wiped (RocksDB's repair may save it).
    {
        store_options lost;
        lost.path = d.path("lost-current");
        {
            auto w = reputation_store::open_writer(lost);
            change_set cs;
            cs.list_manually(*parse_prefix("2001:db8::/64", false), reason_code::manual, "x", now);
            w->commit(std::move(cs), now);
        }
        fs::remove(fs::path(lost.path) / "CURRENT");
        const auto files =
            std::distance(fs::directory_iterator(lost.path), fs::directory_iterator());
        CHECK_THROWS_WITH(reputation_store::open_writer(lost),
                          Catch::Contains("not a v6bl database"));
        CHECK(std::distance(fs::directory_iterator(lost.path), fs::directory_iterator()) == files);
    }
    // A LOG that is not RocksDB's is no leftover either.
    fs::create_directories(d.path("applog"));
    std::ofstream(d.path("applog/LOG")) << "my application's log\n";
    o.path = d.path("applog");
    CHECK_THROWS_WITH(reputation_store::open_writer(o), Catch::Contains("not a v6bl database"));
    CHECK(fs::exists(d.path("applog/LOG")));
}

TEST_CASE("store: a record of an unknown version is skipped and counted, the rest stays readable") {
    test_dir d("version");
    {
        auto s = reputation_store::open_writer(opts(d));
        change_set cs;
        cs.merge_record(*parse_prefix("2001:db8:1:1::/64"), evidence(900));
        cs.merge_record(*parse_prefix("2001:db8:1:2::/64"), evidence(900));
        s->commit(std::move(cs), now);
    }
    {
        // overwrite one record with a future-version value, as a newer v6bl might write
        const auto key = prefix_key(*parse_prefix("2001:db8:1:1::/64"));
        raw_write(d.path("db"), "listings", {key.data(), key.size()},
                  std::string("\x09R-from-the-future"));
    }
    auto s = reputation_store::open_read_only(opts(d));
    CHECK_FALSE(s->get(*parse_prefix("2001:db8:1:1::/64")));
    CHECK(s->get(*parse_prefix("2001:db8:1:2::/64")));
    std::size_t n = 0;
    s->for_each_record([&](const prefix&, const reputation_record&) { return ++n, true; });
    CHECK(n == 1);
    CHECK(s->corrupt_records() >= 2);
    CHECK(s->lookup(addr("2001:db8:1:2::1"), listing_policy{}, now).listed);
    s.reset();

    // New evidence merged onto it (an older ingest next to a newer v6bl's data) must not
    // replace it: the stored bytes stay as they are, whatever reads or compactions follow.
    {
        auto w = reputation_store::open_writer(opts(d));
        change_set cs;
        cs.merge_record(*parse_prefix("2001:db8:1:1::/64"), evidence(300));
        w->commit(std::move(cs), now);
        CHECK_FALSE(w->get(*parse_prefix("2001:db8:1:1::/64")));
        w->compact();
        CHECK(w->corrupt_records() >= 1);
    }
    rocksdb::DBOptions dbo;
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(dbo, d.path("db"), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (auto& name : names) descs.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::OpenForReadOnly(dbo, d.path("db"), descs, &handles, &raw).ok());
    const auto key = prefix_key(*parse_prefix("2001:db8:1:1::/64"));
    const auto idx = std::find(names.begin(), names.end(), "listings") - names.begin();
    std::string value;
    CHECK(raw->Get(rocksdb::ReadOptions(), handles[idx], rocksdb::Slice(key.data(), key.size()),
                   &value)
              .ok());
    CHECK(value == "\x09R-from-the-future");
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
}

TEST_CASE("store: the writer reads its own unflushed vector memtable, and compact keeps it all") {
    test_dir d("compact");
    auto s = reputation_store::open_writer(opts(d));
    CHECK(s->describe_levels() == "empty");
    // Unsorted commits of the same and of different keys, read back through the writer
    // before any flush: its listing memtable is a vector, sorted only when read.
    const char* nets[] = {"2001:db8:9::/64", "2001:db8:1::/64", "2001:db8:5::/64"};
    for (int round = 0; round < 3; ++round) {
        change_set cs;
        for (const char* n : nets) cs.merge_record(*parse_prefix(n), evidence(900, 1));
        s->commit(std::move(cs), now);
    }
    for (const char* n : nets) {
        auto r = s->get(*parse_prefix(n));
        REQUIRE(r);
        CHECK(r->attempts == 3);
    }
    listing_policy policy;
    CHECK(s->lookup(addr("2001:db8:5::1"), policy, now).listed);
    CHECK_FALSE(s->lookup(addr("2001:db8:6::1"), policy, now).listed);

    s->compact();
    CHECK(s->describe_levels().rfind("L", 0) == 0);
    CHECK(s->describe_levels().find("L0:") == std::string::npos);
    for (const char* n : nets) {
        auto r = s->get(*parse_prefix(n));
        REQUIRE(r);
        CHECK(r->attempts == 3);
    }
}

// Records and evidence quiet for longer than retain_seconds are dropped by the compaction
// filter, but the filter sees a stored value only when a compaction reads it alone: a read
// or a compaction that merged the old value with newer evidence kept the old strength and
// counters (a /64 strongly associated long ago and seen once, weakly, today was listed, or
// not, depending on whether a compaction had reached the old value first).
TEST_CASE("store: retention is the same whether or not a compaction ran before new evidence") {
    const auto wall = static_cast<std::uint32_t>(std::time(nullptr));
    const auto x = *parse_prefix("2001:db8:1:2::/64");
    const auto m = *parse_prefix("2001:db8:1:3::/64");
    const std::string item = "\x01\x02\x03\x04";
    struct outcome {
        std::optional<reputation_record> x, m;
        std::optional<evidence_item> e;
        bool listed = false;
    };
    // The old record is a stored value, within the retention of the first writer. Then,
    // with a retention it is past: 0: no compaction; 1: a compaction before the new
    // evidence (the filter drops the old value); 2: one after it (value and operand merge).
    auto run = [&](int compaction) {
        test_dir d("retain");
        auto o = opts(d);
        o.retain_seconds = 10 * 24 * 3600;
        outcome out;
        {
            auto s = reputation_store::open_writer(o);
            change_set cs;
            cs.merge_record(x, evidence(900, 5, wall - 7200));
            cs.merge_evidence(x, evidence_kind::rejected_ipv4, item,
                              {wall - 7300, wall - 7200, 5, 900, 1});
            cs.list_manually(m, reason_code::manual, "kept", wall - 7200);
            s->commit(std::move(cs), wall - 7200);
            s->compact();  // the merge operands become values
        }
        o.retain_seconds = 3600;
        if (compaction == 1) reputation_store::open_writer(o)->compact();
        auto s = reputation_store::open_writer(o);  // the old record is in a table file
        change_set cs;
        cs.merge_record(x, evidence(100, 1, wall));
        cs.merge_evidence(x, evidence_kind::rejected_ipv4, item, {wall, wall, 1, 100, 2});
        cs.merge_record(m, evidence(100, 1, wall));
        s->commit(std::move(cs), wall);
        if (compaction == 2) s->compact();
        out.x = s->get(x);
        out.m = s->get(m);
        s->for_each_evidence(x, [&](evidence_kind, std::string_view, const evidence_item& e) {
            out.e = e;
            return true;
        });
        out.listed = s->lookup(addr("2001:db8:1:2::1"), listing_policy{}, wall).listed;
        return out;
    };
    for (int compaction : {0, 1, 2}) {
        INFO("compaction " << compaction);
        const auto out = run(compaction);
        REQUIRE(out.x);
        CHECK(out.x->strength_milli == 100);
        CHECK(out.x->attempts == 1);
        CHECK(out.x->first_seen == wall);
        CHECK_FALSE(out.listed);
        REQUIRE(out.e);
        CHECK(*out.e == evidence_item{wall, wall, 1, 100, 2});
        // a manual listing is kept however old, and new evidence adds to it
        REQUIRE(out.m);
        CHECK(out.m->manual_code == 10);
        CHECK(out.m->text == "kept");
        CHECK(out.m->attempts == 1);
        CHECK(out.m->first_seen == wall - 7200);
    }
}

// The same when the old evidence was never merged onto a value: written through merges
// only and flushed without a compaction, it is a merge operand in a table file. New evidence
// used to be added to it (the operand was no base, so nothing judged its age), and a
// compaction kept it as a value until a second compaction filtered that.
TEST_CASE("store: old evidence held only as merge operands does not come back") {
    const auto wall = static_cast<std::uint32_t>(std::time(nullptr));
    const auto x = *parse_prefix("2001:db8:1:2::/64");
    const auto y = *parse_prefix("2001:db8:1:4::/64");
    const auto m = *parse_prefix("2001:db8:1:3::/64");
    const std::string item = "\x01\x02\x03\x04";
    for (bool compact_first : {false, true}) {
        INFO("compaction before the new evidence: " << compact_first);
        test_dir d("retain-operands");
        auto o = opts(d);
        o.retain_seconds = 10 * 24 * 3600;
        {
            auto s = reputation_store::open_writer(o);
            for (int i = 0; i < 3; ++i) {  // three commits: three operands per key
                change_set cs;
                cs.merge_record(x, evidence(900, 5, wall - 7200 + i));
                cs.merge_record(y, evidence(900, 5, wall - 7200 + i));
                cs.merge_evidence(x, evidence_kind::rejected_ipv4, item,
                                  {wall - 7300, wall - 7200, 5, 900, 1});
                cs.merge_record(m, evidence(100, 1, wall - 7200 + i));
                s->commit(std::move(cs), wall - 7200 + i);
            }
            change_set cs;
            cs.list_manually(m, reason_code::manual, "kept", wall - 7000);
            s->commit(std::move(cs), wall - 7000);
        }  // closed: flushed to a table file, the operands unmerged
        o.retain_seconds = 3600;
        {
            // Reads already apply the retention to operands.
            auto s = reputation_store::open_read_only(o);
            CHECK_FALSE(s->get(x));
            CHECK_FALSE(s->get(y));
            CHECK_FALSE(s->lookup(addr("2001:db8:1:2::1"), listing_policy{}, wall).listed);
        }
        if (compact_first) {
            auto s = reputation_store::open_writer(o);
            s->compact();
            // One compaction expires a record written only through merges.
            CHECK_FALSE(s->get(y));
            int items = 0;
            s->for_each_evidence(x, [&](evidence_kind, std::string_view, const evidence_item&) {
                ++items;
                return true;
            });
            CHECK(items == 0);
            REQUIRE(s->get(m));  // a manual listing is kept
        }
        auto s = reputation_store::open_writer(o);
        change_set cs;
        cs.merge_record(x, evidence(100, 1, wall));
        cs.merge_evidence(x, evidence_kind::rejected_ipv4, item, {wall, wall, 1, 100, 2});
        s->commit(std::move(cs), wall);
        const auto now = s->get(x);
        REQUIRE(now);
        CHECK(now->strength_milli == 100);
        CHECK(now->attempts == 1);
        CHECK(now->first_seen == wall);
        CHECK_FALSE(s->lookup(addr("2001:db8:1:2::1"), listing_policy{}, wall).listed);
        std::optional<evidence_item> e;
        s->for_each_evidence(x, [&](evidence_kind, std::string_view, const evidence_item& it) {
            e = it;
            return true;
        });
        REQUIRE(e);
        CHECK(*e == evidence_item{wall, wall, 1, 100, 2});
        const auto kept = s->get(m);
        REQUIRE(kept);
        CHECK(kept->manual_code == 10);
        CHECK(kept->text == "kept");
    }
}

namespace {
// The /48 the reopen tests list at commit k (odd k) and allowlist at commit k + 1.
prefix reopen_prefix(int k) {
    char text[64];
    std::snprintf(text, sizeof text, "2001:db8:%x::/48", 0x7000 + k);
    return *parse_prefix(text);
}

// Commit k of a writer that opens for it alone, as `v6bl import` and `v6bl allow` do: odd
// commits list a /48, even ones allowlist the previous commit's /48. Returns the serial.
std::uint32_t reopening_commit(const store_options& o, int k) {
    auto w = reputation_store::open_writer(o);
    change_set cs;
    if (k % 2 == 1)
        cs.list_manually(reopen_prefix(k), reason_code{4}, "reopen", now);
    else
        cs.allow(reopen_prefix(k - 1), "reopen", now);
    return w->commit(std::move(cs), now);
}

// Whether the reader sees commit j's change.
bool sees_commit(const reputation_store& r, int j) {
    return (j % 2 == 1) ? r.get(reopen_prefix(j)).has_value()
                        : r.get_allow(reopen_prefix(j - 1)).has_value();
}
}  // namespace

// What `v6bl import` and `v6bl allow` do to a serving store: each is a short-lived writer
// (its open replays and flushes the last one's log and starts a new MANIFEST), while the
// serve's secondary catches up now and then. After each catch-up, every commit up to the
// serial it reports must be visible, listings and allowlist alike.
TEST_CASE("store: a secondary follows writers that reopen for every commit") {
    test_dir d("reopen");
    { reputation_store::open_writer(opts(d)); }
    auto r = reputation_store::open_reader(opts(d), d.path("scratch"));
    const int commits = 100;
    std::vector<std::uint32_t> serial_of(commits + 1, 0);
    std::uint32_t seed = 12345;
    auto next_random = [&] { return seed = seed * 1103515245u + 12345u, (seed >> 16) % 4; };
    int bad = 0;
    for (int k = 1; k <= commits; ++k) {
        serial_of[k] = reopening_commit(opts(d), k);
        if (next_random() != 0) continue;  // catch up after a random number of writers
        r->catch_up();
        for (int j = 1; j <= k; ++j) {
            if (serial_of[j] > r->serial()) continue;
            if (!sees_commit(*r, j)) {
                ++bad;
                UNSCOPED_INFO("commit " << j << " (serial " << serial_of[j]
                                        << ") missing after catch-up to " << r->serial()
                                        << " at writer " << k);
            }
        }
    }
    r->catch_up();
    CHECK(r->serial() == serial_of[commits]);
    CHECK(bad == 0);
}

// The same, concurrently: the secondary catches up *while* writers open (replaying and
// flushing the last one's log), commit and close, as serve's refresh timer does.
TEST_CASE("store: a secondary catching up during writer reopens sees every commit it reports") {
    test_dir d("reopen-live");
    { reputation_store::open_writer(opts(d)); }
    auto r = reputation_store::open_reader(opts(d), d.path("scratch"));
    const int commits = 80;
    std::vector<std::atomic<std::uint32_t>> serial_of(commits + 1);
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (int k = 1; k <= commits; ++k) serial_of[k] = reopening_commit(opts(d), k);
        done = true;
    });
    int bad = 0, rounds = 0;
    std::ostringstream missing;
    while (!done || rounds == 0) {
        ++rounds;
        r->catch_up();
        const std::uint32_t seen = r->serial();
        for (int j = 1; j <= commits; ++j) {
            const std::uint32_t s = serial_of[j];
            if (s == 0 || s > seen) continue;
            if (!sees_commit(*r, j) && bad++ < 10)
                missing << "commit " << j << " (serial " << s << ") missing after catch-up to "
                        << seen << "\n";
        }
    }
    writer.join();
    r->catch_up();
    INFO(rounds << " catch-ups, " << r->reader_reopens() << " reopens, " << r->incomplete_states()
                << " incomplete states refused\n"
                << missing.str());
    CHECK(r->reader_reopens() > 0);  // each writer restart switched the MANIFEST
    CHECK(r->serial() == serial_of[commits]);
    CHECK(bad == 0);
}

TEST_CASE(
    "store: nothing covering ::ffff:127.0.0.1 is published (RFC 5782 5), whatever is stored") {
    test_dir d("unlisted");
    auto s = reputation_store::open_writer(opts(d));
    change_set cs;
    cs.merge_record(*parse_prefix("::/64"), evidence(900));  // e.g. SYNs from ::1 or ::ffff:*
    for (int i = 1; i < 4; ++i) {  // three more /64s in ::/56: with ::/64 an escalation
        ipv6_bytes a{};
        a[7] = static_cast<std::uint8_t>(i);
        cs.merge_record(make_prefix(a, 64), evidence(900));
    }
    cs.merge_record(*parse_prefix("::/8"), evidence(900));  // a wide one too
    cs.merge_record(*parse_prefix("2001:db8:1:1::/64"), evidence(900));
    s->commit(std::move(cs), now);
    listing_policy policy;

    const auto unlisted = s->lookup(addr("::ffff:127.0.0.1"), policy, now);
    CHECK_FALSE(unlisted.listed);
    CHECK(unlisted.why ==
          "not listed: ::/64 covers ::ffff:127.0.0.1, which RFC 5782 says is "
          "never listed");
    CHECK_FALSE(s->lookup(addr("::1"), policy, now).listed);
    CHECK(s->lookup(addr("::ffff:127.0.0.2"), policy, now).listed);
    CHECK(s->lookup(addr("2001:db8:1:1::5"), policy, now).listed);
    // The other /64s of ::/56 stay listed themselves; no /56 or /48 escalation covers ::/64.
    ipv6_bytes other{};
    other[7] = 2;
    const auto l = s->lookup(other, policy, now);
    REQUIRE(l.listed);
    CHECK(l.entry->where.length == 64);

    std::vector<listing_entry> published;
    s->for_each_published(policy, now, [&](const listing_entry& e) { published.push_back(e); });
    CHECK(published.size() == 5);  // test point, three /64s of ::/56, 2001:db8:1:1::/64
    for (const auto& e : published) {
        INFO(format_prefix(e.where));
        CHECK_FALSE(covers_rfc5782_unlisted_point(e.where));
    }
    auto view = build_view(*s, policy, now);
    CHECK(view->resolve_address(addr("::ffff:127.0.0.1"), now).state != name_state::listed);
    CHECK(view->resolve_address(addr("::ffff:127.0.0.2"), now).state == name_state::listed);
    CHECK(view->resolve_address(addr("::2"), now).state != name_state::listed);
}

// An operator may list with any code (127.0.0.2 for a list of spam sources, say): the TXT
// says the operator listed it, with the operator's text, not "associated with 0 DNSBL-
// rejected IPv4 sender(s); 0 attempts", in the published stream and the answer view alike.
TEST_CASE("store: an operator's listing under an inferred code says so in its TXT") {
    test_dir d("manual-code");
    auto s = reputation_store::open_writer(opts(d));
    change_set cs;
    cs.list_manually(*parse_prefix("2001:db8:1::/64"), reason_code::associated, "spam source", now);
    cs.list_manually(*parse_prefix("2001:db8:2::/36"), reason_code::structural, "tunnel range",
                     now);
    cs.merge_record(*parse_prefix("2001:db8:3::/64"), evidence(900));
    s->commit(std::move(cs), now);
    listing_policy policy;
    const auto l = s->lookup(addr("2001:db8:1::1"), policy, now);
    REQUIRE(l.entry);
    CHECK(l.entry->code == reason_code::associated);  // the operator's code is answered
    CHECK(l.entry->manual);
    CHECK(listing_txt(*l.entry, "") == "v6bl: 2001:db8:1::/64 listed by operator: spam source");
    CHECK(l.why == "listed: v6bl: 2001:db8:1::/64 listed by operator: spam source");
    const auto w = s->lookup(addr("2001:db8:2::1"), policy, now);
    REQUIRE(w.entry);
    CHECK(w.entry->manual);
    CHECK(listing_txt(*w.entry, "").find("listed by operator: tunnel range") != std::string::npos);
    // evidence listed by inference still describes its evidence
    const auto e = s->lookup(addr("2001:db8:3::1"), policy, now);
    REQUIRE(e.entry);
    CHECK_FALSE(e.entry->manual);
    CHECK(listing_txt(*e.entry, "").find("associated with") != std::string::npos);
    int manual_published = 0;
    s->for_each_published(policy, now, [&](const listing_entry& p) {
        if (p.manual) {
            ++manual_published;
            CHECK(listing_txt(p, "").find("listed by operator") != std::string::npos);
        }
    });
    CHECK(manual_published == 2);  // the /36 is published as one /36
}

// (review) The operator's listing lapsed while evidence lists the /64 under the same code.
TEST_CASE(
    "store: an expired operator listing does not make inferred evidence 'listed by operator'") {
    test_dir d("manual-expired");
    auto s = reputation_store::open_writer(opts(d));
    const prefix p = *parse_prefix("2001:db8:1::/64");
    {
        change_set cs;
        // the operator lists it under 127.0.0.2 two hours ago ...
        cs.list_manually(p, reason_code::associated, "spam source", now - 7200);
        s->commit(std::move(cs), now);
    }
    {
        change_set cs;
        // ... and the sensors associate it on their own, also two hours ago
        reputation_record r;
        r.reason_bits = bit_associated;
        r.strength_milli = 900;
        r.attempts = 5;
        r.rejected_ipv4s = 1;
        r.first_seen = r.last_seen = now - 7200;
        cs.merge_record(p, r);
        s->commit(std::move(cs), now);
    }
    listing_policy policy;
    policy.manual_expiry_seconds = 3600;  // the operator's listing has lapsed
    const auto l = s->lookup(addr("2001:db8:1::1"), policy, now);
    INFO(l.why);
    int published = 0, published_manual = 0;
    s->for_each_published(policy, now, [&](const listing_entry& e) {
        if (e.where == p) {
            ++published;
            published_manual += e.manual;
            INFO(listing_txt(e, ""));
            CHECK(listing_txt(e, "").find("associated with") != std::string::npos);
        }
    });
    CHECK(published == 1);
    CHECK(published_manual == 0);
    REQUIRE(l.entry);  // still listed, by the evidence (5-day inferred expiry)
    CHECK(l.entry->code == reason_code::associated);
    CHECK_FALSE(l.entry->manual);
    CHECK(listing_txt(*l.entry, "").find("associated with") != std::string::npos);
    // the inferred expiry applies, not the lapsed operator's one
    CHECK((l.entry->expires == 0 || l.entry->expires >= now));
}

TEST_CASE(
    "store: listings lapsed since the serial's commit are found, and touching them moves "
    "the serial without changing a record") {
    test_dir d("lapsed");
    auto s = reputation_store::open_writer(opts(d));
    CHECK_FALSE(s->serial_time());  // no commit yet
    listing_policy policy;
    policy.expiry_seconds = 100;
    policy.manual_expiry_seconds = 300;
    const auto p_old = *parse_prefix("2001:db8:1:1::/64");
    const auto p_new = *parse_prefix("2001:db8:1:2::/64");
    const auto p_weak = *parse_prefix("2001:db8:1:3::/64");
    const auto p_manual = *parse_prefix("2001:db8:2::/48");
    change_set cs;
    cs.merge_record(p_old, evidence(900, 1, now - 50));   // listed until now + 50
    cs.merge_record(p_new, evidence(900, 1, now));        // listed until now + 100
    cs.merge_record(p_weak, evidence(300, 1, now - 50));  // never listed
    cs.list_manually(p_manual, static_cast<reason_code>(10), "operator", now - 250);
    const auto first = s->commit(std::move(cs), now);
    REQUIRE(s->serial_time());
    CHECK(*s->serial_time() >= now);
    CHECK(*s->serial_time() <= static_cast<std::uint32_t>(std::time(nullptr)));

    CHECK(lapsed_listings(*s, policy, now, now).empty());
    CHECK(lapsed_listings(*s, policy, now, now + 40).empty());
    CHECK(lapsed_listings(*s, policy, now, now + 60) == std::vector<prefix>{p_old, p_manual});
    CHECK(lapsed_listings(*s, policy, now, now + 101) ==
          std::vector<prefix>{p_old, p_new, p_manual});
    // Between two later times only what lapsed in between.
    CHECK(lapsed_listings(*s, policy, now + 60, now + 101) == std::vector<prefix>{p_new});

    const auto before = *s->get(p_old);
    change_set touch;
    for (const auto& p : lapsed_listings(*s, policy, now, now + 60)) touch.touch(p);
    // Committed with a time an hour ahead (`import --now` can give any): the serial's time
    // is the wall clock's all the same, so that what lapses from now on is not skipped.
    const auto second = s->commit(std::move(touch), now + 3600);
    CHECK(second == first + 1);
    CHECK(*s->serial_time() <= static_cast<std::uint32_t>(std::time(nullptr)));
    // Nothing stored changed.
    CHECK(s->get(p_old)->attempts == before.attempts);
    CHECK(s->get(p_old)->last_seen == before.last_seen);
    std::vector<journal_entry> seen;
    CHECK(s->journal_since(first, [&](const journal_entry& j) { seen.push_back(j); }));
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].touched == std::vector<prefix>{p_old, p_manual});
    CHECK_FALSE(seen[0].allowlist_changed);
    // At most `limit`, in address order.
    CHECK(lapsed_listings(*s, policy, now, now + 101, 2) == std::vector<prefix>{p_old, p_new});
}

TEST_CASE("store: a manual listing that ends under an inferred one of the same code has lapsed") {
    // The code stays 127.0.0.2, but the TXT changes and the /64 counts towards escalation.
    test_dir d("lapsed-manual");
    auto s = reputation_store::open_writer(opts(d));
    listing_policy policy;
    policy.manual_expiry_seconds = 100;
    const auto p = *parse_prefix("2001:db8:5:1::/64");
    change_set cs;
    // (manual expiry counts from the record's last activity, evidence included)
    cs.merge_record(p, evidence(900, 1, now - 50));
    cs.list_manually(p, static_cast<reason_code>(2), "by hand", now - 50);
    s->commit(std::move(cs), now);
    const auto r = *s->get(p);
    REQUIRE(listed_code(r, policy, now) == listed_code(r, policy, now + 60));
    CHECK(lapsed_listings(*s, policy, now, now + 40).empty());
    CHECK(lapsed_listings(*s, policy, now, now + 60) == std::vector<prefix>{p});
}

TEST_CASE("store: a serial that cannot be read refuses the open instead of starting over") {
    test_dir d("badserial");
    {
        auto s = reputation_store::open_writer(opts(d));
        change_set cs;
        cs.merge_record(*parse_prefix("2001:db8:1:1::/64"), evidence(900));
        s->commit(std::move(cs), 1790000000);
    }
    // Two bytes where four belong: the writer read 259 and went on from there; a missing
    // one read 0, and the next commit published serial 1 (helper-53).
    for (const std::string& value : {std::string("\x01\x02", 2), std::string()}) {
        INFO(value.size() << " byte(s)");
        raw_write(d.path("db"), "meta", "serial",
                  value.empty() ? std::nullopt : std::optional<std::string>(value));
        const std::string want = value.empty() ? "its serial is missing" : "its serial is 2 bytes";
        CHECK_THROWS_WITH(reputation_store::open_writer(opts(d)), Catch::Contains(want));
        CHECK_THROWS_WITH(reputation_store::open_read_only(opts(d)), Catch::Contains(want));
    }
}

TEST_CASE("store: a table file missing or cut is named, also by a secondary reader") {
    test_dir d("lostfile");
    {
        auto s = reputation_store::open_writer(opts(d));
        change_set cs;
        cs.merge_record(*parse_prefix("2001:db8:1:1::/64"), evidence(900));
        s->commit(std::move(cs), 1790000000);
        s->compact();  // into table files
    }
    std::vector<std::filesystem::path> tables;
    for (const auto& e : std::filesystem::directory_iterator(d.path("db")))
        if (e.path().extension() == ".sst") tables.push_back(e.path());
    REQUIRE(!tables.empty());
    const auto scratch = d.path("scratch");
    // Cut short: the secondary instance (serve's) used to read around it.
    std::filesystem::resize_file(tables.front(), 100);
    CHECK_THROWS_WITH(reputation_store::open_reader(opts(d), scratch),
                      Catch::Contains("Corruption"));
    std::filesystem::remove(tables.front());
    CHECK_THROWS_WITH(reputation_store::open_reader(opts(d), scratch),
                      Catch::Contains("Corruption"));
    CHECK_THROWS(reputation_store::open_read_only(opts(d)));
}
