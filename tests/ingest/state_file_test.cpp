// Checkpoint files beside the store: references, checksums, the generations a run leaves,
// and what a resumed ingest does with a missing, changed or older (inline) state.
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "ingest_test_support.h"
#include "state_file.h"
#include "v6bl/ingest/ingest_pipeline.h"
#include "v6bl/ingest/testbed_simulator.h"

using namespace v6bl;
using ingest::state_file_ref;
using ingest::state_file_set;
using ingest_test::temp_dir;

namespace {

std::set<std::string> files_in(const std::string& dir) {
    std::set<std::string> out;
    if (!std::filesystem::exists(dir)) return out;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        out.insert(e.path().filename().string());
    return out;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string write_state(state_file_set& s, const std::string& bytes) {
    s.begin();
    // In uneven pieces, as sections are appended.
    for (std::size_t at = 0; at < bytes.size(); at += 7)
        s.append(std::string_view(bytes).substr(at, 7));
    return s.finish();
}

}  // namespace

TEST_CASE("a state file reference reads back, and anything else is not one", "[state_file]") {
    state_file_ref r{"engine-3.17", 12816746, 0x0123456789abcdefull};
    const std::string v = ingest::format_state_ref(r);
    CHECK(v == "state-file v1 name=engine-3.17 size=12816746 sum=0123456789abcdef");
    REQUIRE(ingest::parse_state_ref(v).has_value());
    CHECK(*ingest::parse_state_ref(v) == r);
    // An inline state of an older v6bl begins with its binary version.
    CHECK_FALSE(ingest::parse_state_ref(std::string("\x01\0\0\0", 4)).has_value());
    CHECK_FALSE(ingest::parse_state_ref("state-file v1 name=../x.1 size=1 sum=1").has_value());
    CHECK_FALSE(ingest::parse_state_ref("state-file v1 name=.x size=1 sum=1").has_value());
    CHECK_FALSE(ingest::parse_state_ref("state-file v1 name=a.1 size=1").has_value());
    CHECK_FALSE(ingest::parse_state_ref("state-file v1 name=a.1 size=1 sum=1 x").has_value());
    CHECK_FALSE(ingest::parse_state_ref("state-file v2 name=a.1 size=1 sum=1").has_value());
    const std::string sum = " sum=0123456789abcdef";
    CHECK(ingest::parse_state_ref("state-file v1 name=a.1 size=1" + sum).has_value());
    CHECK_FALSE(ingest::parse_state_ref("state-file v1 name=a.1 size=-1" + sum).has_value());
    CHECK_FALSE(ingest::parse_state_ref("state-file v1 name=a.1 size=+1" + sum).has_value());
    CHECK_FALSE(
        ingest::parse_state_ref("state-file v1 name=a.1 size=1 sum=0x23456789abcdef").has_value());
    CHECK_FALSE(
        ingest::parse_state_ref("state-file v1 name=a.1 size=1  sum=0123456789abcdef").has_value());
    CHECK_FALSE(ingest::parse_state_ref("state-file v1 name=a size=1" + sum).has_value());
    CHECK_FALSE(ingest::parse_state_ref("state-file v1 name=a.x size=1" + sum).has_value());
    CHECK_FALSE(ingest::parse_state_ref(std::string("state-file v1 name=a.1 size=1\0", 30) + sum)
                    .has_value());
    CHECK_FALSE(ingest::parse_state_ref("").has_value());
}

TEST_CASE("a state checksum does not depend on how the bytes are cut, but on every byte",
          "[state_file]") {
    std::mt19937_64 rng(4);
    std::string bytes(1000, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    ingest::state_sum whole;
    whole.update(bytes);
    for (int trial = 0; trial < 50; ++trial) {
        ingest::state_sum cut;
        for (std::size_t at = 0; at < bytes.size();) {
            const std::size_t n = std::min<std::size_t>(rng() % 20, bytes.size() - at);
            cut.update(std::string_view(bytes).substr(at, n));
            at += n;
        }
        CHECK(cut.value() == whole.value());
    }
    for (std::size_t i : {std::size_t{0}, std::size_t{7}, std::size_t{8}, std::size_t{999}}) {
        std::string changed = bytes;
        changed[i] ^= 1;
        ingest::state_sum s;
        s.update(changed);
        CHECK(s.value() != whole.value());
    }
    ingest::state_sum longer;
    longer.update(bytes + std::string(1, '\0'));
    CHECK(longer.value() != whole.value());
}

TEST_CASE("state files: one per commit is kept, leftovers are removed, reads are checked",
          "[state_file]") {
    temp_dir d("statefile");
    const std::string dir = d.path("db/ingest-state");
    std::filesystem::create_directories(dir);
    // Left by a run killed between writing and committing, and another key's file.
    std::ofstream(dir + "/engine-0.5") << "half";
    std::ofstream(dir + "/engine-1.2") << "other sensor";
    std::ofstream(dir + "/engine-0.3.tmp") << "not ours";
    std::ofstream(dir + "/engine-00.4") << "another base";

    state_file_set s(dir, "engine-0");
    CHECK_THROWS_AS(s.begin(), std::logic_error);  // the committed name is not known yet
    s.adopt(std::nullopt);
    CHECK(files_in(dir) == std::set<std::string>{"engine-1.2", "engine-0.3.tmp", "engine-00.4"});
    std::filesystem::remove(dir + "/engine-0.3.tmp");
    std::filesystem::remove(dir + "/engine-00.4");

    const std::string first = write_state(s, "first state, 28 bytes long..");
    const auto r1 = ingest::parse_state_ref(first);
    REQUIRE(r1.has_value());
    s.wait_durable();  // finish() syncs on a thread of its own; a commit waits for it
    CHECK(r1->name == "engine-0.6");  // after the leftover's generation, never reusing it
    CHECK(r1->size == 28);
    std::string back, error;
    REQUIRE(state_file_set::read(dir, *r1, back, error));
    CHECK(back == "first state, 28 bytes long..");

    // A second state before any commit: the first was never named by one, so it goes.
    const auto r2 = ingest::parse_state_ref(write_state(s, "second state"));
    REQUIRE(r2.has_value());
    CHECK(files_in(dir) == std::set<std::string>{"engine-1.2", r2->name});
    s.committed();
    s.wait_removed();  // the replaced file goes on a thread of its own
    const auto r3 = ingest::parse_state_ref(write_state(s, "third state"));
    REQUIRE(r3.has_value());
    // Until its commit, the committed file stays: a crash now resumes from it.
    CHECK(files_in(dir) == std::set<std::string>{"engine-1.2", r2->name, r3->name});
    s.committed();
    s.wait_removed();
    CHECK(files_in(dir) == std::set<std::string>{"engine-1.2", r3->name});

    // The same state again keeps the committed reference: nothing new to commit.
    CHECK(write_state(s, "third state") == ingest::format_state_ref(*r3));
    CHECK(files_in(dir) == std::set<std::string>{"engine-1.2", r3->name});

    // A later run adopting the committed reference keeps it and drops the rest.
    std::ofstream(dir + "/engine-0.99") << "orphan";
    state_file_set later(dir, "engine-0");
    later.adopt(r3);
    CHECK(files_in(dir) == std::set<std::string>{"engine-1.2", r3->name});
    const auto r4 = ingest::parse_state_ref(write_state(later, "fourth"));
    REQUIRE(r4.has_value());
    CHECK(r4->name == "engine-0.100");

    // Reads fail, naming the file, when it is missing, cut or changed.
    std::filesystem::remove(dir + "/" + r4->name);
    CHECK_FALSE(state_file_set::read(dir, *r4, back, error));
    CHECK(error.find(r4->name) != std::string::npos);
    state_file_ref wrong_size = *r3;
    wrong_size.size += 1;
    CHECK_FALSE(state_file_set::read(dir, wrong_size, back, error));
    CHECK(error.find("bytes") != std::string::npos);
    std::ofstream(dir + "/" + r3->name) << "third stat!";  // same size, one byte changed
    CHECK_FALSE(state_file_set::read(dir, *r3, back, error));
    CHECK(error.find("checksum") != std::string::npos);
}

namespace {

struct small_testbed {
    temp_dir dir{"statepipe"};
    small_testbed() {
        ingest::simulator_options o;
        o.out_dir = dir.path("tb");
        o.seed = 8;
        o.hosts = 200;
        o.hours = 2;
        o.rate = 5;
        o.start_unix = std::time(nullptr) - 3 * 3600;
        ingest::simulate_testbed(o);
    }
};

std::unique_ptr<store::reputation_store> open_store(const std::string& path) {
    store::store_options so;
    so.path = path;
    so.sync_commits = false;
    return store::reputation_store::open_writer(so);
}

std::string run_ingest(store::reputation_store& s, const ingest::ingest_options& given) {
    ingest::ingest_options o = given;
    std::FILE* diag = std::tmpfile();
    o.diagnostics = diag;
    {
        ingest::ingest_pipeline p(s, o);
        REQUIRE(p.run() == 0);
    }
    return ingest_test::read_and_close(diag);
}

// The testbed's log and capture ingested up to the first commit with packets: the engine
// state then holds open and unevaluated attempts.
struct half_ingested {
    small_testbed tb;
    std::string db_path = tb.dir.path("db");
    std::unique_ptr<store::reputation_store> db = open_store(db_path);
    ingest::ingest_options o;
    explicit half_ingested(unsigned sensor_id = 0) {
        o.captures = {tb.dir.path("tb/sensor.pcap")};
        o.rejects = {tb.dir.path("tb/maillog")};
        o.sensor_id = sensor_id;
        o.commit_every = 20000;
        std::atomic<bool> stop{false};
        o.stop = &stop;
        o.on_commit = [&](const ingest::ingest_counters& c) { stop = c.packets > 0; };
        run_ingest(*db, o);
        o.stop = nullptr;
        o.on_commit = nullptr;
    }
};

// The store that one clean run over the same inputs leaves, dumped.
auto clean_run(half_ingested& h) {
    auto clean = open_store(h.tb.dir.path("clean"));
    run_ingest(*clean, h.o);
    return ingest_test::dump_store(*clean);
}

}  // namespace

TEST_CASE("the engine and the address book are checkpointed in files the commit names",
          "[state_file][pipeline]") {
    half_ingested h(4);
    auto& [tb, db_path, db, o] = h;
    const auto engine = ingest::parse_state_ref(db->checkpoint("engine:4").value_or(""));
    const auto book = ingest::parse_state_ref(db->checkpoint("addresses").value_or(""));
    REQUIRE(engine.has_value());
    REQUIRE(book.has_value());
    CHECK(engine->size > 1000);
    CHECK(files_in(db_path + "/ingest-state") == std::set<std::string>{engine->name, book->name});

    SECTION("a resumed run reads them, and leaves only the newest") {
        CHECK(run_ingest(*db, o).find("unreadable") == std::string::npos);
        const auto engine2 = ingest::parse_state_ref(db->checkpoint("engine:4").value_or(""));
        const auto book2 = ingest::parse_state_ref(db->checkpoint("addresses").value_or(""));
        REQUIRE(engine2.has_value());
        REQUIRE(book2.has_value());
        CHECK(engine2->name != engine->name);
        CHECK(files_in(db_path + "/ingest-state") ==
              std::set<std::string>{engine2->name, book2->name});
    }
    SECTION("a changed engine file is reported, and the run goes on from an empty state") {
        const std::string path = db_path + "/ingest-state/" + engine->name;
        std::string bytes = slurp(path);
        bytes[bytes.size() / 2] ^= 0x40;
        std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
        const std::string diag = run_ingest(*db, o);
        CHECK(diag.find("checkpoint engine:4: " + path + ": checksum") != std::string::npos);
        CHECK(diag.find("engine checkpoint unreadable; starting with empty state") !=
              std::string::npos);
        CHECK(diag.find("address book checkpoint unreadable") == std::string::npos);
        CHECK(db->checkpoint("pcap:" + tb.dir.path("tb/sensor.pcap"))->find("done=1") !=
              std::string::npos);
    }
    SECTION("a missing address book file is reported, and addresses are looked up instead") {
        std::filesystem::remove(db_path + "/ingest-state/" + book->name);
        const std::string diag = run_ingest(*db, o);
        CHECK(diag.find("checkpoint addresses: " + db_path + "/ingest-state/" + book->name) !=
              std::string::npos);
        CHECK(diag.find("address book checkpoint unreadable") != std::string::npos);
    }
}

TEST_CASE("a store whose engine state is inline (an older v6bl) resumes as one clean run",
          "[state_file][pipeline]") {
    half_ingested h;
    auto& [tb, db_path, db, o] = h;
    const auto want = clean_run(h);
    REQUIRE(want.size() > 100);
    // As an older v6bl left it: the states inside the store, no files.
    {
        store::change_set cs;
        for (const char* key : {"engine:0", "addresses"}) {
            const auto ref = ingest::parse_state_ref(db->checkpoint(key).value_or(""));
            REQUIRE(ref.has_value());
            cs.set_checkpoint(key, slurp(db_path + "/ingest-state/" + ref->name));
        }
        db->commit(std::move(cs), static_cast<std::uint32_t>(std::time(nullptr)));
        std::filesystem::remove_all(db_path + "/ingest-state");
    }
    CHECK(run_ingest(*db, o).find("unreadable") == std::string::npos);
    CHECK(ingest_test::dump_store(*db) == want);
    // Checkpointed in files from then on.
    CHECK(ingest::parse_state_ref(db->checkpoint("engine:0").value_or("")).has_value());
}

TEST_CASE(
    "an engine state of layout 1 (the engine's state length-prefixed) resumes as one clean run",
    "[state_file][pipeline]") {
    half_ingested h;
    auto& [tb, db_path, db, o] = h;
    const auto want = clean_run(h);
    REQUIRE(want.size() > 100);
    // Layout 2 (now written): version, the grouper's state with its length in front, the
    // engine's to the end. Layout 1, as v6bl wrote it before: both length-prefixed.
    {
        const auto ref = ingest::parse_state_ref(db->checkpoint("engine:0").value_or(""));
        REQUIRE(ref.has_value());
        const std::string v2 = slurp(db_path + "/ingest-state/" + ref->name);
        std::uint32_t version = 0;
        std::uint64_t grouper_len = 0;
        REQUIRE(v2.size() > 12);
        std::memcpy(&version, v2.data(), 4);
        std::memcpy(&grouper_len, v2.data() + 4, 8);
        REQUIRE(version == 2);
        REQUIRE(12 + grouper_len < v2.size());
        const std::string engine = v2.substr(12 + grouper_len);
        std::string v1 = v2.substr(0, 12 + grouper_len);
        version = 1;
        std::memcpy(v1.data(), &version, 4);
        const std::uint64_t engine_len = engine.size();
        v1.append(reinterpret_cast<const char*>(&engine_len), 8);
        v1 += engine;
        // Inline in the store (a value that names no file is the state itself).
        store::change_set cs;
        cs.set_checkpoint("engine:0", v1);
        db->commit(std::move(cs), static_cast<std::uint32_t>(std::time(nullptr)));
    }
    CHECK(run_ingest(*db, o).find("unreadable") == std::string::npos);
    CHECK(ingest_test::dump_store(*db) == want);
}

TEST_CASE("a state older than the data committed after it drops its open and pending attempts",
          "[state_file][pipeline]") {
    half_ingested h;
    auto& [tb, db_path, db, o] = h;

    SECTION("behind: what the state held unevaluated is not evaluated again") {
        // As a live capture leaves it when killed between two state checkpoints.
        store::change_set cs;
        cs.set_checkpoint("engine:0:behind", "1");
        db->commit(std::move(cs), static_cast<std::uint32_t>(std::time(nullptr)));
        std::string diag = run_ingest(*db, o);
        unsigned long long open = 0, pending = 0;
        const auto at = diag.find("the engine state is older than the data committed after it");
        REQUIRE(at != std::string::npos);
        REQUIRE(std::sscanf(diag.c_str() + diag.find("): ", at), "): %llu open and %llu", &open,
                            &pending) == 2);
        CHECK(open + pending > 100);
        // The state written since is current again: the next run drops nothing.
        CHECK(db->checkpoint("engine:0:behind") == "0");
        CHECK(run_ingest(*db, o).find("older than the data") == std::string::npos);
    }
    SECTION("not behind: nothing is dropped, and no marker is written") {
        CHECK(run_ingest(*db, o).find("older than the data") == std::string::npos);
        CHECK_FALSE(db->checkpoint("engine:0:behind").has_value());
    }
}

TEST_CASE(
    "a book restored from before its /64's addresses were stored does not store them "
    "twice",
    "[state_file]") {
    const auto one = ingest_test::v6("2001:db8:77::1");
    const auto two = ingest_test::v6("2001:db8:77::2");
    const double t = static_cast<double>(std::time(nullptr) - 3600);
    // Per /64 address: its stored attempt count.
    auto stored_counts = [](const store::reputation_store& s) {
        std::map<std::string, unsigned> out;
        s.for_each_evidence(
            store::make_prefix64(0x20010db800770000ull),
            [&](store::evidence_kind k, std::string_view item, const store::evidence_item& e) {
                if (k == store::evidence_kind::ipv6_address) out[std::string(item)] = e.count;
                return true;
            });
        return out;
    };
    ingest::association a;
    a.ipv6 = one;
    a.ipv4 = ingest_test::v4(1, 2, 3, 4);
    a.time_us = static_cast<std::int64_t>((t + 60) * 1e6);
    a.strength_milli = 700;
    a.rounds = 3;
    a.sensors = 1;
    for (bool behind : {false, true}) {
        INFO("book_behind_store " << behind);
        temp_dir d("bookbehind");
        auto db = open_store(d.path("db"));
        ingest::ingest_counters c;
        std::string state;  // the book as a live capture's last state checkpoint saved it
        {
            ingest::reputation_writer w(*db, c);
            for (int i = 0; i < 3; ++i)
                w.add_attempt(ingest_test::attempt(one, true, t + i, 40000, 1, false), 1);
            w.add_attempt(ingest_test::attempt(two, true, t + 5, 40001, 1, false), 1);
            w.commit();
            w.save_state(state);
            // Committed after that state: the /64's first association stores its addresses.
            w.add_association(a, true, true);
            w.commit();
        }
        const auto before = stored_counts(*db);
        REQUIRE(before.size() == 2);
        CHECK(before.begin()->second + std::next(before.begin())->second == 4);
        // Killed; restarted from the older state, the /64 is associated again.
        ingest::reputation_writer w(*db, c);
        REQUIRE(w.restore_state(state));
        if (behind) w.book_behind_store();
        a.time_us += 600'000'000;
        w.add_association(a, true, true);
        w.commit();
        a.time_us -= 600'000'000;
        CHECK((stored_counts(*db) == before) == behind);
    }
}
