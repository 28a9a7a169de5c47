// The ingest pipeline on small simulated testbeds: listings vs truth, idempotence, late
// rejections, remote associations, and bad input counted and reported.
#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <tuple>

#include "ingest_test_support.h"
#include "v6bl/ingest/capture_reader.h"
#include "v6bl/ingest/ingest_pipeline.h"
#include "v6bl/ingest/pcap_file_writer.h"
#include "v6bl/ingest/testbed_simulator.h"
#include "v6bl/store/policy.h"

using namespace v6bl;
using ingest_test::temp_dir;

namespace {

struct testbed {
    temp_dir dir{"pipeline"};
    nlohmann::json truth;
    testbed(std::uint64_t seed = 5, bool resets = true, std::int64_t start = 0) {
        ingest::simulator_options o;
        o.out_dir = dir.path("tb");
        o.resets = resets;
        o.seed = seed;
        o.hosts = 300;
        o.hours = 2;
        o.rate = 6;
        o.start_unix = start ? start : std::time(nullptr) - 3 * 3600;
        ingest::simulate_testbed(o);
        std::ifstream(o.out_dir + "/truth.json") >> truth;
    }
    std::string pcap() const { return dir.path("tb/sensor.pcap"); }
    std::string log() const { return dir.path("tb/maillog"); }
};

std::unique_ptr<store::reputation_store> open_store(const std::string& path) {
    store::store_options so;
    so.path = path;
    so.sync_commits = false;
    return store::reputation_store::open_writer(so);
}

ingest::ingest_counters ingest_into(store::reputation_store& s, ingest::ingest_options o,
                                    int* rc = nullptr, std::string* diagnostics = nullptr) {
    std::FILE* diag = std::tmpfile();
    o.diagnostics = diag;
    ingest::ingest_pipeline p(s, o);
    const int r = p.run();
    if (rc) *rc = r;
    const std::string text = ingest_test::read_and_close(diag);
    if (diagnostics) *diagnostics += text;
    return p.counters();
}

// A Postfix DNSBL rejection of 10.0.0.n.
std::string reject_line_of(int n) {
    const std::string ip = "10.0.0." + std::to_string(n);
    return "Nov 24 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[" + ip +
           "]: 554 5.7.1 Service unavailable; Client host [" + ip +
           "] blocked using zen.spamhaus.org";
}

// A remote association line of 2001:db8:n::1, a day old.
std::string assoc_line_of(int n) {
    return R"({"v":1,"ipv6":"2001:db8:)" + std::to_string(n) + R"(::1","ipv4":"1.2.3.4","time":)" +
           std::to_string(std::time(nullptr) - 86400) + R"(,"strength":0.9})";
}

std::set<std::string> listed_64s(const store::reputation_store& s) {
    std::set<std::string> out;
    store::listing_policy policy;
    const auto now = static_cast<std::uint32_t>(std::time(nullptr));
    s.for_each_record([&](const store::prefix& p, const store::reputation_record& r) {
        if (store::listed_code(r, policy, now)) out.insert(store::format_prefix(p));
        return true;
    });
    return out;
}

// Ingests `o` into `s` one commit at a time: each run stops at its first commit that comes
// with packets (the log's come before) and the next resumes from its checkpoint, until the
// capture is done ("done=1" is committed with the end-of-input evaluation, by the last
// run). Returns the runs it took (100: it never got to the end).
int ingest_in_pieces(store::reputation_store& s, ingest::ingest_options o,
                     const std::string& pcap) {
    std::atomic<bool> stop{false};
    o.stop = &stop;
    o.on_commit = [&](const ingest::ingest_counters& c) { stop = c.packets > 0; };
    int runs = 0;
    for (; runs < 100; ++runs) {
        stop = false;
        ingest_into(s, o);
        const auto cp = s.checkpoint("pcap:" + pcap);
        if (cp && cp->find("done=1") != std::string::npos) break;
    }
    return runs;
}

}  // namespace

TEST_CASE("a simulated testbed lists its dual-family spammers and no trap", "[pipeline]") {
    testbed tb;
    auto db = open_store(tb.dir.path("db"));
    ingest::ingest_options o;
    o.captures = {tb.pcap()};
    o.rejects = {tb.log()};
    const auto c = ingest_into(*db, o);
    CHECK(c.packets > 10000);
    // Every SYN, and the sensor's reset of it (never taken for a SYN).
    CHECK(c.packets == 2 * c.syns);
    CHECK(c.packets == tb.truth["packets"].get<std::uint64_t>());
    CHECK(c.syns == tb.truth["syns"].get<std::uint64_t>());
    CHECK(c.rejections() > 100);
    CHECK(c.bad_inputs() == 0);
    const auto listed = listed_64s(*db);
    std::size_t hit = 0;
    for (const auto& p : tb.truth["spammer_both_64s"]) hit += listed.count(p.get<std::string>());
    const std::size_t want = tb.truth["spammer_both_64s"].size();
    REQUIRE(want > 20);
    CHECK(hit >= want * 9 / 10);
    for (const auto& p : tb.truth["never_list_64s"]) {
        INFO(p.get<std::string>());
        CHECK(listed.count(p.get<std::string>()) == 0);
    }
}

TEST_CASE("the sensor's resets in a capture change nothing: it stores what its SYNs alone store",
          "[pipeline][simulate]") {
    // The same seed and start with and without the resets: the same SYNs, at the same times.
    const std::uint64_t seed = 9;
    const std::int64_t start = std::time(nullptr) - 3 * 3600;
    testbed with(seed, true, start), without(seed, false, start);
    REQUIRE(with.truth["syns"] == without.truth["syns"]);
    REQUIRE(without.truth["packets"] == without.truth["syns"]);
    REQUIRE(with.truth["packets"].get<std::uint64_t>() ==
            2 * with.truth["syns"].get<std::uint64_t>());
    // In the capture, times never go back, and each RST answers an earlier SYN from its
    // client and port, acknowledging its sequence number, 50 µs after it.
    {
        std::string error;
        auto r = ingest::capture_reader::open_file(with.pcap(), 0, error);
        REQUIRE(r);
        struct segment {
            std::string client;  // address bytes
            std::uint16_t port;
            std::uint32_t ack;  // what a reset of it acknowledges
            bool operator<(const segment& o) const {
                return std::tie(client, port, ack) < std::tie(o.client, o.port, o.ack);
            }
        };
        std::map<segment, std::int64_t> unanswered;  // a SYN not reset yet → its time
        std::uint64_t syns = 0, resets = 0, out_of_order = 0, unmatched = 0, late = 0;
        std::int64_t last_us = 0;
        ingest::capture_frame f;
        while (r->next(f) == ingest::capture_status::frame) {
            if (f.time_us < last_us) ++out_of_order;
            last_us = f.time_us;
            REQUIRE(f.caplen >= 54);
            const bool v6 = f.data[12] == 0x86;
            const std::uint8_t* ip = f.data + 14;
            const std::uint8_t* tcp = ip + (v6 ? 40 : 20);
            const std::string src(reinterpret_cast<const char*>(ip + (v6 ? 8 : 12)), v6 ? 16 : 4);
            const std::string dst(reinterpret_cast<const char*>(ip + (v6 ? 24 : 16)), v6 ? 16 : 4);
            if (tcp[13] == 0x02) {
                ++syns;
                unanswered[{src, ingest_test::read_be16(tcp),
                            ingest_test::read_be32(tcp + 4) + 1}] = f.time_us;
            } else {
                ++resets;
                CHECK(tcp[13] == 0x14);
                CHECK(ingest_test::read_be16(tcp) == 25);
                const auto it = unanswered.find(
                    {dst, ingest_test::read_be16(tcp + 2), ingest_test::read_be32(tcp + 8)});
                if (it == unanswered.end()) {
                    ++unmatched;
                    continue;
                }
                if (f.time_us != it->second + 50) ++late;
                unanswered.erase(it);
            }
        }
        CHECK(out_of_order == 0);
        CHECK(unmatched == 0);
        CHECK(late == 0);
        CHECK(unanswered.empty());
        CHECK(resets == syns);
        CHECK(syns == with.truth["syns"].get<std::uint64_t>());
    }
    auto ingest_testbed = [](const testbed& tb) {
        auto db = open_store(tb.dir.path("db"));
        ingest::ingest_options o;
        o.captures = {tb.pcap()};
        o.rejects = {tb.log()};
        const auto c = ingest_into(*db, o);
        return std::make_pair(c, ingest_test::dump_store(*db));
    };
    const auto [c1, dump1] = ingest_testbed(with);
    const auto [c2, dump2] = ingest_testbed(without);
    CHECK(c1.packets == 2 * c2.packets);
    CHECK(c1.syns == c2.syns);
    CHECK(c1.attempts == c2.attempts);
    CHECK(c1.associations == c2.associations);
    CHECK(c1.associations_listable == c2.associations_listable);
    CHECK(c1.bad_inputs() == 0);
    CHECK(c2.associations_listable > 20);
    CHECK(dump1.size() > 100);
    CHECK(dump1 == dump2);
}

TEST_CASE(
    "simulator seeds are independent, modelled IPv4s avoid the bot range, no NAT has one host",
    "[pipeline][simulate]") {
    temp_dir d("simseeds");
    auto hosts_of = [&](std::uint64_t seed, std::uint32_t hosts, std::uint32_t nat_size = 8) {
        ingest::simulator_options o;
        o.out_dir = d.path("tb" + std::to_string(seed) + "-" + std::to_string(hosts) + "-" +
                           std::to_string(nat_size));
        o.nat_size = nat_size;
        o.start_unix = 1795514400;
        o.seed = seed;
        o.hosts = hosts;
        o.hours = 0.2;
        o.rate = 5;
        ingest::simulate_testbed(o);
        nlohmann::json truth;
        std::ifstream(o.out_dir + "/truth.json") >> truth;
        return truth["hosts"];
    };
    // Seed n's stream was seed 0's shifted by n draws: seeds 1 and 2 shared most hosts.
    std::set<std::string> one;
    // (IPv6-only hosts have no IPv4 string)
    // (a const json's operator[] on a missing key is undefined: value() with a default)
    for (const auto& h : hosts_of(1, 300))
        if (const auto ip = h.value("ipv4", std::string()); !ip.empty()) one.insert(ip);
    CHECK(one.size() > 200);
    std::size_t shared = 0;
    for (const auto& h : hosts_of(2, 300))
        if (const auto ip = h.value("ipv4", std::string()); !ip.empty()) shared += one.count(ip);
    CHECK(shared < 10);
    // 1500 hosts: 225 NAT members, 28 groups of 8 and one left over, which joins the last.
    std::map<std::string, int> per_nat_ipv4;
    for (const auto& h : hosts_of(3, 1500)) {
        const auto ip = h.value("ipv4", std::string());
        if (ip.empty()) continue;
        // The background bots' range, 80.0.0.0 + 2,000,000.
        CHECK_FALSE((ip.starts_with("80.") && std::stoi(ip.substr(3)) < 31));
        if (h.value("behaviour", std::string()) == "nat-member") ++per_nat_ipv4[ip];
    }
    CHECK(per_nat_ipv4.size() == 28);
    for (const auto& [ip, n] : per_nat_ipv4) CHECK(n >= 2);
    // Carrier-grade NATs: 225 members in groups of 100 (the last of 25), or of 112 (the
    // one left over joins the second).
    auto nat_sizes = [&](std::uint32_t nat_size) {
        std::map<std::string, int> per;
        for (const auto& h : hosts_of(3, 1500, nat_size))
            if (h.value("behaviour", std::string()) == "nat-member") ++per[h.value("ipv4", "")];
        std::multiset<int> sizes;
        for (const auto& [ip, n] : per) sizes.insert(n);
        return sizes;
    };
    CHECK(nat_sizes(100) == std::multiset<int>{25, 100, 100});
    CHECK(nat_sizes(112) == std::multiset<int>{112, 113});
}

TEST_CASE("simulator options out of range are refused before anything runs", "[pipeline]") {
    temp_dir d("simopts");
    auto with = [&](auto change) {
        ingest::simulator_options o;
        o.out_dir = d.path("tb");
        o.start_unix = 1795514400;
        change(o);
        return o;
    };
    CHECK_THROWS(ingest::simulate_testbed(with([](auto& o) { o.hours = std::nan(""); })));
    CHECK_THROWS(ingest::simulate_testbed(with([](auto& o) { o.hours = HUGE_VAL; })));
    CHECK_THROWS(ingest::simulate_testbed(with([](auto& o) { o.hours = 1e9; })));
    CHECK_THROWS(ingest::simulate_testbed(with([](auto& o) { o.rate = std::nan(""); })));
    CHECK_THROWS(ingest::simulate_testbed(with([](auto& o) { o.start_unix = 5'000'000'000; })));
    CHECK_THROWS(ingest::simulate_testbed(with([](auto& o) { o.start_unix = -3600; })));
    // These would run for ages or exhaust memory; only the check is called.
    CHECK_THROWS(ingest::check_simulator_options(with([](auto& o) { o.rate = 1e30; })));
    CHECK_THROWS(ingest::check_simulator_options(with([](auto& o) { o.hosts = 4'000'000'000u; })));
    CHECK_THROWS(ingest::check_simulator_options(with([](auto& o) { o.nat_size = 1; })));
    CHECK_THROWS(ingest::check_simulator_options(with([](auto& o) { o.nat_size = 100'001; })));
    CHECK_NOTHROW(ingest::check_simulator_options(with([](auto& o) { o.nat_size = 100'000; })));
    CHECK_NOTHROW(ingest::check_simulator_options(with([](auto& o) {
        o.hosts = 20000;
        o.hours = 12;
        o.rate = 140;
    })));
}

TEST_CASE("ingesting the same files twice changes nothing", "[pipeline]") {
    testbed tb(6);
    auto db = open_store(tb.dir.path("db"));
    ingest::ingest_options o;
    o.captures = {tb.pcap()};
    o.rejects = {tb.log()};
    ingest_into(*db, o);
    const auto before = ingest_test::dump_store(*db);
    REQUIRE(before.size() > 100);
    const std::uint32_t serial = db->serial();
    const auto again = ingest_into(*db, o);
    CHECK(again.packets == 0);
    CHECK(again.log_lines == 0);
    CHECK(ingest_test::dump_store(*db) == before);
    // Not even a commit: the zone's serial stays, so secondaries are not notified.
    CHECK(again.commits == 0);
    CHECK(db->serial() == serial);
    // The same files reached through symlinks are the sources read before.
    std::filesystem::create_symlink(tb.pcap(), tb.dir.path("capture.link"));
    std::filesystem::create_symlink(tb.dir.path("tb"), tb.dir.path("dir.link"));
    o.captures = {tb.dir.path("capture.link")};
    o.rejects = {tb.dir.path("dir.link/maillog")};
    const auto linked = ingest_into(*db, o);
    CHECK(linked.packets == 0);
    CHECK(linked.log_lines == 0);
    CHECK(ingest_test::dump_store(*db) == before);
}

TEST_CASE("a file given twice in one run, by its path or a symlink, is read once", "[pipeline]") {
    testbed tb(6);
    ingest::ingest_options o;
    o.captures = {tb.pcap()};
    o.rejects = {tb.log()};
    auto once = open_store(tb.dir.path("once"));
    const auto first = ingest_into(*once, o);
    std::filesystem::create_symlink(tb.pcap(), tb.dir.path("capture.link"));
    std::filesystem::create_symlink(tb.log(), tb.dir.path("log.link"));
    o.captures = {tb.pcap(), tb.dir.path("capture.link")};
    o.rejects = {tb.log(), tb.dir.path("log.link"), tb.log()};
    auto twice = open_store(tb.dir.path("twice"));
    std::string diag;
    const auto c = ingest_into(*twice, o, nullptr, &diag);
    CHECK(diag.find(tb.dir.path("capture.link") + ": given more than once") != std::string::npos);
    CHECK(diag.find(tb.dir.path("log.link") + ": given more than once") != std::string::npos);
    CHECK(c.packets == first.packets);
    CHECK(c.log_lines == first.log_lines);
    CHECK(ingest_test::dump_store(*twice) == ingest_test::dump_store(*once));
}

// Captures were known by path only: a hard link given beside the file, or in a later run,
// and a capture renamed between runs were read again and every attempt counted twice.
TEST_CASE("a capture under another name (a hard link, a rename) is the file read before",
          "[pipeline]") {
    testbed tb(6);
    ingest::ingest_options o;
    o.captures = {tb.pcap()};
    auto once = open_store(tb.dir.path("once"));
    const auto first = ingest_into(*once, o);
    REQUIRE(first.packets > 1000);
    const auto dump = ingest_test::dump_store(*once);
    std::filesystem::create_hard_link(tb.pcap(), tb.dir.path("hard.pcap"));
    o.captures = {tb.pcap(), tb.dir.path("hard.pcap")};
    auto both = open_store(tb.dir.path("both"));
    std::string diag;
    const auto c = ingest_into(*both, o, nullptr, &diag);
    // (given in one run, the two names are one source from the start)
    CHECK(diag.find("hard.pcap: the same file as") != std::string::npos);
    CHECK(c.packets == first.packets);
    CHECK(ingest_test::dump_store(*both) == dump);
    // in a later run
    o.captures = {tb.dir.path("hard.pcap")};
    CHECK(ingest_into(*once, o).packets == 0);
    CHECK(ingest_test::dump_store(*once) == dump);
    // renamed since
    std::filesystem::rename(tb.pcap(), tb.dir.path("renamed.pcap"));
    o.captures = {tb.dir.path("renamed.pcap")};
    CHECK(ingest_into(*once, o).packets == 0);
    CHECK(ingest_test::dump_store(*once) == dump);
    // A copy is another file: read.
    std::filesystem::copy_file(tb.dir.path("renamed.pcap"), tb.dir.path("copy.pcap"));
    o.captures = {tb.dir.path("copy.pcap")};
    CHECK(ingest_into(*once, o).packets == first.packets);
}

// The checkpoint's fingerprint was taken by path: a capture replaced by another while it was
// read had the new file's bytes fingerprinted at the old one's offset, and the next run
// read the new file on from there (a record header that was none: "invalid packet capture
// length"), never from its start.
TEST_CASE("a capture replaced while it is read is read from its start in the next run",
          "[pipeline]") {
    testbed a(6, false), b(7);  // (the new file larger: it holds the old one's offsets)
    REQUIRE(std::filesystem::file_size(b.pcap()) > std::filesystem::file_size(a.pcap()));
    ingest::ingest_options o;
    o.captures = {b.pcap()};
    auto alone = open_store(b.dir.path("alone"));
    const auto b_packets = ingest_into(*alone, o).packets;
    REQUIRE(b_packets > 1000);
    const std::string path = a.dir.path("capture.pcap");
    std::filesystem::copy_file(a.pcap(), path);
    auto db = open_store(a.dir.path("db"));
    o.captures = {path};
    o.commit_every = 5000;
    bool replaced = false;
    o.on_commit = [&](const ingest::ingest_counters&) {
        if (replaced) return;
        std::filesystem::copy_file(b.pcap(), a.dir.path("new.pcap"));
        std::filesystem::rename(a.dir.path("new.pcap"), path);
        replaced = true;
    };
    const auto first = ingest_into(*db, o);
    REQUIRE(replaced);
    o.on_commit = nullptr;
    std::string diag;
    const auto second = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(second.packets == b_packets);
    CHECK(second.bad_input[static_cast<int>(ingest::bad_input_reason::truncated_capture)] == 0);
    CHECK(first.packets > 0);
}

TEST_CASE("a blank line is skipped in a CRLF file as in an LF file", "[pipeline]") {
    temp_dir d("crlf");
    const auto assoc = assoc_line_of;
    const auto reject = reject_line_of;
    std::ofstream(d.path("lf.jsonl")) << assoc(1) << "\n\n" << assoc(2) << "\n";
    std::ofstream(d.path("crlf.jsonl")) << assoc(1) << "\r\n\r\n" << assoc(2) << "\r\n";
    std::ofstream(d.path("crlf.log")) << reject(1) << "\r\n\r\n" << reject(2) << "\r\n";
    auto db1 = open_store(d.path("db1"));
    auto db2 = open_store(d.path("db2"));
    ingest::ingest_options lf, crlf;
    lf.associations = {d.path("lf.jsonl")};
    crlf.associations = {d.path("crlf.jsonl")};
    crlf.rejects = {d.path("crlf.log")};
    crlf.year = 2026;
    std::string diag;
    const auto a = ingest_into(*db1, lf);
    const auto b = ingest_into(*db2, crlf, nullptr, &diag);
    INFO(diag);
    CHECK(a.remote_associations == 2);
    CHECK(a.bad_inputs() == 0);
    CHECK(b.remote_associations == 2);
    CHECK(b.rejections() == 2);
    CHECK(b.bad_inputs() == 0);
}

TEST_CASE("a last line without newline is read once it is complete, never in pieces",
          "[pipeline]") {
    temp_dir d("partial-line");
    const auto assoc = assoc_line_of;
    const auto reject = reject_line_of;
    const std::string js = d.path("assoc.jsonl"), log = d.path("maillog");
    const std::string second = assoc(2);
    std::ofstream(js) << assoc(1) << "\n" << second.substr(0, 40);
    // and a log that ends inside an over-long line
    std::ofstream(log) << reject(1) << "\n" << std::string(std::size_t{100} << 10, 'x');
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.associations = {js};
    o.rejects = {log};
    o.year = 2026;
    std::string diag1, diag2;
    const auto c1 = ingest_into(*db, o, nullptr, &diag1);
    std::ofstream(js, std::ios::app) << second.substr(40) << "\n" << assoc(3) << "\n";
    std::ofstream(log, std::ios::app) << reject(2) << "\n" << reject(3) << "\n";
    const auto c2 = ingest_into(*db, o, nullptr, &diag2);
    INFO(diag1 << "----\n" << diag2);
    CHECK(diag1.find("assoc.jsonl:2: the last line has no newline yet") != std::string::npos);
    CHECK(c1.remote_associations == 1);
    CHECK(c2.remote_associations == 2);
    CHECK(c1.bad_inputs() + c2.bad_inputs() == 2);  // the long line, reported by each run
    CHECK(diag2.find("maillog:2: line too long") != std::string::npos);
    CHECK(diag2.find("assoc.jsonl:2") == std::string::npos);  // line 2 read whole
    // the long line's tail (reject 2) is no line of its own; reject 3 is
    CHECK(c1.rejections() == 1);
    CHECK(c2.rejections() == 1);
}

TEST_CASE("the lines of --associations-out feed a central store that lists what this sensor lists",
          "[pipeline]") {
    testbed tb(6);
    // Rejections first (one run), and rejections only after the capture (two runs): the
    // lines written out carry ipv4_rejected, at once or written again when the rejection
    // comes.
    for (bool rejections_later : {false, true}) {
        INFO("rejections later: " << rejections_later);
        const std::string tag = rejections_later ? "later" : "first";
        auto sensor = open_store(tb.dir.path("sensor-" + tag));
        ingest::ingest_options o;
        o.associations_out = tb.dir.path("out-" + tag + ".jsonl");
        o.captures = {tb.pcap()};
        if (!rejections_later) o.rejects = {tb.log()};
        ingest_into(*sensor, o);
        if (rejections_later) {
            o.captures.clear();
            o.rejects = {tb.log()};
            ingest_into(*sensor, o);
        }
        const auto listed = listed_64s(*sensor);
        REQUIRE(listed.size() > 10);
        auto central = open_store(tb.dir.path("central-" + tag));
        ingest::ingest_options c;
        c.associations = {o.associations_out};
        const auto counted = ingest_into(*central, c);
        CHECK(counted.bad_inputs() == 0);
        CHECK(listed_64s(*central) == listed);
    }
}

namespace {

// A maillog ingested with one rejection, then given a second before it was rotated by
// rename (to maillog.1) and a new maillog with a third.
struct rotated_log {
    temp_dir d;
    std::string log = d.path("maillog");
    std::unique_ptr<store::reputation_store> db;
    ingest::ingest_options o;
    explicit rotated_log(const char* tag, bool line_before_rotation = true) : d(tag) {
        std::ofstream(log) << reject_line_of(1) << "\n";
        db = open_store(d.path("db"));
        o.rejects = {log};
        o.year = 2026;
        REQUIRE(ingest_into(*db, o).rejections() == 1);
        if (line_before_rotation) std::ofstream(log, std::ios::app) << reject_line_of(2) << "\n";
        std::filesystem::rename(log, d.path("maillog.1"));
        std::ofstream(log) << reject_line_of(3) << "\n";
    }
};

}  // namespace

TEST_CASE("lines written before a rename rotation between two runs are read from the rotated file",
          "[pipeline]") {
    rotated_log r("rename-between");
    auto& [d, log, db, o] = r;
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.rejections() == 2);
    CHECK(diag.find("reading the rest of " + d.path("maillog.1")) != std::string::npos);
    // and nothing is read twice after that
    CHECK(ingest_into(*db, o).rejections() == 0);
}

TEST_CASE("a symlinked log pointed at a new file between runs: the old file's rest is read first",
          "[pipeline]") {
    // mail.log → mail-1.log (line 1 read); line 2 appended to mail-1.log, then the link
    // moved to mail-2.log (line 3), as date-named logs are at midnight. The checkpoint is
    // kept under the resolved path; the old file's rest was never read again.
    temp_dir d("relinked");
    const std::string link = d.path("mail.log"), one = d.path("mail-1.log"),
                      two = d.path("mail-2.log");
    std::ofstream(one) << reject_line_of(1) << "\n";
    std::filesystem::create_symlink("mail-1.log", link);
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {link};
    o.year = 2026;
    REQUIRE(ingest_into(*db, o).rejections() == 1);
    std::ofstream(one, std::ios::app) << reject_line_of(2) << "\n";
    std::ofstream(two) << reject_line_of(3) << "\n";
    std::filesystem::remove(link);
    std::filesystem::create_symlink("mail-2.log", link);
    std::string diag;
    CHECK(ingest_into(*db, o, nullptr, &diag).rejections() == 2);  // lines 2 and 3
    INFO(diag);
    CHECK(diag.find("names another file since the last run: reading the rest of " + one) !=
          std::string::npos);
    CHECK(ingest_into(*db, o).rejections() == 0);
    // The old file by its own name: nothing again.
    o.rejects = {one};
    CHECK(ingest_into(*db, o).rejections() == 0);
    // Moved on once more: the rest of mail-2.log (line 4), then mail-3.log (line 5).
    auto relink = [&](const std::string& name, int line) {
        std::ofstream(d.path(name)) << reject_line_of(line) << "\n";
        std::filesystem::remove(link);
        std::filesystem::create_symlink(name, link);
    };
    std::ofstream(two, std::ios::app) << reject_line_of(4) << "\n";
    relink("mail-3.log", 5);
    o.rejects = {link};
    CHECK(ingest_into(*db, o).rejections() == 2);
    // The old target deleted before the link moved (line 6 lost with it): the new file, and
    // a note of what was lost.
    std::ofstream(d.path("mail-3.log"), std::ios::app) << reject_line_of(6) << "\n";
    std::filesystem::remove(d.path("mail-3.log"));
    relink("mail-4.log", 7);
    diag.clear();
    CHECK(ingest_into(*db, o, nullptr, &diag).rejections() == 1);
    CHECK(diag.find("(" + d.path("mail-3.log") + ", read to line 1) is gone or another file now") !=
          std::string::npos);
    CHECK(ingest_into(*db, o).rejections() == 0);
    // A run right after the link moved to a file still empty: the link's record moves all
    // the same, so that the next move reads that file's lines (a cron run at midnight).
    {
        std::ofstream(d.path("mail-5.log")) << "";
        std::filesystem::remove(link);
        std::filesystem::create_symlink("mail-5.log", link);
    }
    CHECK(ingest_into(*db, o).rejections() == 0);
    std::ofstream(d.path("mail-5.log"), std::ios::app) << reject_line_of(8) << "\n";
    relink("mail-6.log", 9);
    diag.clear();
    CHECK(ingest_into(*db, o, nullptr, &diag).rejections() == 2);  // lines 8 and 9
    CHECK(diag.find("reading the rest of " + d.path("mail-5.log")) != std::string::npos);
    CHECK(diag.find("not beside it") == std::string::npos);
    CHECK(diag.find("reading the rest of") == diag.rfind("reading the rest of"));  // said once
}

TEST_CASE("a log rotated and compressed between runs says that the old file's rest is not read",
          "[pipeline]") {
    // logrotate's `compress` without `delaycompress`: maillog.1 (line 2 not read yet) is
    // maillog.1.gz by the next run. Its rest cannot be read; that was silent.
    rotated_log r("rename-compressed");
    auto& [d, log, db, o] = r;
    std::filesystem::remove(d.path("maillog.1"));
    std::ofstream(d.path("maillog.1.gz")) << "\x1f\x8b";
    std::string diag;
    CHECK(ingest_into(*db, o, nullptr, &diag).rejections() == 1);  // line 3
    INFO(diag);
    CHECK(diag.find(log + " was rotated since the last run, and the file read then") !=
          std::string::npos);
    CHECK(diag.find("(inode ") != std::string::npos);
    CHECK(diag.find(", to line 1) is not beside it any more") != std::string::npos);
    // Said once: the next run has the new file's checkpoint.
    diag.clear();
    CHECK(ingest_into(*db, o, nullptr, &diag).rejections() == 0);
    CHECK(diag.find("not beside it") == std::string::npos);
}

TEST_CASE("a log replaced by a grown copy of itself is read on, with no note of a lost rotation",
          "[pipeline]") {
    // rsync's default (a temporary file renamed over the old one): another inode, the same
    // bytes up to the checkpoint, more after. Nothing was lost, so nothing is said of it.
    temp_dir d("replaced-copy");
    const std::string log = d.path("maillog");
    std::ofstream(log) << reject_line_of(1) << "\n";
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {log};
    o.year = 2026;
    REQUIRE(ingest_into(*db, o).rejections() == 1);
    std::ofstream(d.path("tmp")) << reject_line_of(1) << "\n" << reject_line_of(2) << "\n";
    std::filesystem::rename(d.path("tmp"), log);
    std::string diag;
    CHECK(ingest_into(*db, o, nullptr, &diag).rejections() == 1);
    INFO(diag);
    CHECK(diag.find("is another file now") != std::string::npos);
    CHECK(diag.find("not beside it") == std::string::npos);
}

TEST_CASE("a log rotated twice between runs names the file written in between", "[pipeline]") {
    // maillog (read to line 1, then line 2) → maillog.1 → maillog.2; the maillog of lines
    // 3-4 → maillog.1; a new maillog with line 5. The rest of the old file and the new one
    // are read; the middle one is named, not read under this source (given by its own name
    // it would be read whole).
    rotated_log r("rename-twice");
    auto& [d, log, db, o] = r;  // maillog.1: lines 1-2 (1 read); maillog: line 3
    std::ofstream(log, std::ios::app) << reject_line_of(4) << "\n";
    std::filesystem::rename(d.path("maillog.1"), d.path("maillog.2"));
    std::filesystem::rename(log, d.path("maillog.1"));
    std::ofstream(log) << reject_line_of(5) << "\n";
    std::ofstream(d.path("maillog.3.gz")) << "x";    // compressed: never named
    std::ofstream(d.path("maillog.info")) << "x\n";  // another log (SUSE's mail.info)
    std::string diag;
    auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.rejections() == 2);  // lines 2 and 5
    CHECK(diag.find("reading the rest of " + d.path("maillog.2")) != std::string::npos);
    CHECK(diag.find(d.path("maillog.1") + ", written in between, was not read") !=
          std::string::npos);
    CHECK(diag.find("maillog.3.gz") == std::string::npos);
    CHECK(diag.find("maillog.info") == std::string::npos);
    // Given by its own name, it is read once, whole; nothing else again.
    o.rejects = {d.path("maillog.1"), log};
    c = ingest_into(*db, o);
    CHECK(c.rejections() == 2);  // lines 3 and 4
    CHECK(ingest_into(*db, o).rejections() == 0);
}

TEST_CASE("a new log whose line ends like the last one read is not taken for the old file",
          "[pipeline]") {
    // Real Postfix lines end in the same `from=<…> to=<…> proto=ESMTP helo=<…>` text: the
    // 64 bytes before the checkpoint were all the fingerprint covered, so the new file
    // after a rename rotation, grown past the old offset with a line ending there,
    // matched, was read on from the old offset, and its first line was lost.
    temp_dir d("rotation-same-ending");
    auto line = [](int n, const char* time) {
        const std::string ip = "203.0.113." + std::to_string(n);
        return std::string("Dec  2 ") + time +
               " mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[" + ip +
               "]: 554 5.7.1 Service unavailable; Client host [" + ip +
               "] blocked using zen.spamhaus.org; from=<a@b> to=<c@d> proto=ESMTP helo=<x>";
    };
    const std::string log = d.path("mail.log");
    std::ofstream(log) << line(11, "10:00:01") << "\n";
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {log};
    o.year = 2026;
    REQUIRE(ingest_into(*db, o).rejections() == 1);
    std::filesystem::rename(log, d.path("mail.log.1"));
    std::ofstream(log) << line(12, "10:05:02") << "\n" << line(13, "10:05:03") << "\n";
    std::string diag;
    CHECK(ingest_into(*db, o, nullptr, &diag).rejections() == 2);
    INFO(diag);
    CHECK(diag.find("is another file now") == std::string::npos);
    CHECK(ingest_into(*db, o).rejections() == 0);
}

TEST_CASE("a rotated log given by its new name is read on from where its old name was read",
          "[pipeline]") {
    rotated_log r("rename-newname");
    auto& [d, log, db, o] = r;
    const auto reject = reject_line_of;
    const std::string log1 = d.path("maillog.1"), log2 = d.path("maillog.2");
    auto rejections_of = [&](const std::vector<std::string>& paths, std::string* diag = nullptr) {
        o.rejects = paths;
        return ingest_into(*db, o, nullptr, diag).rejections();
    };
    // maillog.1 (read up to line 1 as maillog) has lines 1 and 2; maillog has line 3.

    SECTION("the rotated file by its new name first, then the new file") {
        std::string diag;
        CHECK(rejections_of({log1}, &diag) == 1);  // line 2 only
        CHECK(diag.find(log1 + " was read further before (under another name, a rotation): "
                               "reading on from line 2") != std::string::npos);
        CHECK(rejections_of({log}) == 1);  // line 3: the rest of maillog.1 was read
        CHECK(rejections_of({log1}) == 0);
    }
    SECTION("the new file first (with the rotated rest), then the rotated file by its name") {
        CHECK(rejections_of({log}) == 2);
        CHECK(rejections_of({log1}) == 0);
        // Rotated again: each file is found under the name it was read as.
        std::ofstream(log, std::ios::app) << reject(4) << "\n";
        std::filesystem::rename(log1, log2);
        std::filesystem::rename(log, log1);
        std::ofstream(log) << reject(5) << "\n";
        CHECK(rejections_of({log2}) == 0);
        CHECK(rejections_of({log1}) == 1);  // line 4
        CHECK(rejections_of({log}) == 1);   // line 5
        CHECK(rejections_of({log}) == 0);
    }
    SECTION("the rotated file read twice by its new name, then the old name's rest") {
        CHECK(rejections_of({log1}) == 1);                        // line 2
        std::ofstream(log1, std::ios::app) << reject(6) << "\n";  // the MTA had not reopened
        CHECK(rejections_of({log1}) == 1);                        // line 6
        CHECK(rejections_of({log}) == 1);                         // line 3 only
    }
    SECTION("both names in one run, in either order") {
        const bool new_first = GENERATE(true, false);
        INFO("maillog first " << new_first);
        const std::vector<std::string> both =
            new_first ? std::vector<std::string>{log, log1} : std::vector<std::string>{log1, log};
        CHECK(rejections_of(both) == 2);  // lines 2 and 3
        CHECK(rejections_of(both) == 0);
    }
    SECTION("all three names in one run after a second rotation, in either order") {
        const bool ascending = GENERATE(true, false);
        INFO("ascending " << ascending);
        std::ofstream(log, std::ios::app) << reject(4) << "\n";
        std::filesystem::rename(log1, log2);
        std::filesystem::rename(log, log1);
        std::ofstream(log) << reject(5) << "\n";
        const std::vector<std::string> all = ascending ? std::vector<std::string>{log, log1, log2}
                                                       : std::vector<std::string>{log2, log1, log};
        CHECK(rejections_of(all) == 4);  // lines 2 to 5
        CHECK(rejections_of(all) == 0);
    }
    SECTION("a file written over in place under the inode is read from its start") {
        // Same inode, other bytes, longer than what was read of the old content.
        std::ofstream(log1, std::ios::trunc) << reject(7) << "\n"
                                             << reject(8) << "\n"
                                             << reject(9) << "\n";
        CHECK(rejections_of({log1}) == 3);
    }
}

TEST_CASE("a file that got the inode of one read before is read from its start", "[pipeline]") {
    temp_dir d("inode-head");
    const std::string log = d.path("maillog");
    std::ofstream(log) << reject_line_of(1) << "\n" << reject_line_of(2) << "\n";
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {log};
    o.year = 2026;
    REQUIRE(ingest_into(*db, o).rejections() == 2);
    // Another log under the same inode, with the same bytes before the old offset (the end
    // of an identical line) but another first line (a later time), then given by a new name.
    std::string first = reject_line_of(1);
    REQUIRE(first.rfind("Nov 24 10:00:00", 0) == 0);
    first.replace(0, 15, "Nov 25 11:11:11");
    std::ofstream(log, std::ios::trunc) << first << "\n"
                                        << reject_line_of(2) << "\n"
                                        << reject_line_of(3) << "\n";
    std::filesystem::rename(log, d.path("other.log"));
    o.rejects = {d.path("other.log")};
    CHECK(ingest_into(*db, o).rejections() == 3);
}

TEST_CASE("a rotated log with nothing new since the last run is not read again by its new name",
          "[pipeline]") {
    rotated_log r("rename-quiet", false);
    auto& [d, log, db, o] = r;
    CHECK(ingest_into(*db, o).rejections() == 1);  // line 3 of the new maillog
    o.rejects = {d.path("maillog.1")};
    CHECK(ingest_into(*db, o).rejections() == 0);
}

namespace {

// A --follow run on its own thread, stopped by stop().
struct follow_run {
    std::atomic<bool> stop_flag{false};
    std::FILE* diag = std::tmpfile();
    std::unique_ptr<ingest::ingest_pipeline> p;
    std::future<int> fut;
    follow_run(store::reputation_store& s, ingest::ingest_options o) {
        o.follow = true;
        o.stop = &stop_flag;
        o.diagnostics = diag;
        p = std::make_unique<ingest::ingest_pipeline>(s, o);
        fut = std::async(std::launch::async, [this] { return p->run(); });
    }
    std::string stop(ingest::ingest_counters& c) {
        stop_flag = true;
        REQUIRE(fut.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
        fut.get();
        c = p->counters();
        return ingest_test::read_and_close(diag);
    }
};

void wait_until(const std::function<bool()>& cond) {
    for (int i = 0; i < 500 && !cond(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

}  // namespace

// A log holding one rejection, followed until its first checkpoint is committed.
struct followed_log {
    temp_dir d;
    std::string log;
    std::unique_ptr<store::reputation_store> db;
    std::unique_ptr<follow_run> f;
    followed_log(const char* name, int poll_interval_ms) : d(name), log(d.path("maillog")) {
        std::ofstream(log) << reject_line_of(1) << "\n";
        db = open_store(d.path("db"));
        ingest::ingest_options o;
        o.rejects = {log};
        o.year = 2026;
        o.poll_interval_ms = poll_interval_ms;
        f = std::make_unique<follow_run>(*db, o);
        const std::string key = "log:" + std::filesystem::canonical(log).string();
        wait_until([&] { return db->checkpoint(key).has_value(); });
        REQUIRE(db->checkpoint(key));
    }
};

// Follows `log` (two lines) once to its end and stops: the options, to follow it again.
ingest::ingest_options follow_once(store::reputation_store& db, const std::string& log) {
    ingest::ingest_options o;
    o.rejects = {log};
    o.year = 2026;
    o.poll_interval_ms = 50;
    const std::string key = "log:" + std::filesystem::canonical(log).string();
    follow_run f(db, o);
    wait_until([&] { return db.checkpoint(key).has_value(); });
    ingest::ingest_counters c;
    f.stop(c);
    CHECK(c.rejections() == 2);
    return o;
}

// Stops `f` once line 5 is in, checking that lines 3 to 5 and no others were read; its
// diagnostics.
std::string stop_after_lines_3_to_5(follow_run& f, store::reputation_store& db) {
    wait_until([&] { return db.checkpoint("r4:10.0.0.5").has_value(); });
    ingest::ingest_counters c;
    const std::string diag = f.stop(c);
    INFO(diag);
    CHECK(c.rejections() == 3);
    for (int n = 3; n <= 5; ++n) CHECK(db.checkpoint("r4:10.0.0." + std::to_string(n)));
    return diag;
}

// A follower restarted just after a rename rotation read the rest of the old file once and
// went on to the new one: what the MTA wrote to the old file before reopening its log (as
// a running follower waits for, the grace period) was never read.
TEST_CASE("a follower restarted after a rename rotation follows the old file until it is quiet",
          "[pipeline][follow]") {
    temp_dir d("restart-rotation");
    const std::string log = d.path("maillog");
    std::ofstream(log) << reject_line_of(1) << "\n" << reject_line_of(2) << "\n";
    auto db = open_store(d.path("db"));
    const ingest::ingest_options o = follow_once(*db, log);
    std::filesystem::rename(log, d.path("maillog.1"));
    std::ofstream(log) << "";
    follow_run f(*db, o);
    // The MTA has not reopened its log yet: two more lines go to the renamed file, then
    // it writes to the new one.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::ofstream(d.path("maillog.1"), std::ios::app) << reject_line_of(3) << "\n"
                                                      << reject_line_of(4) << "\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::ofstream(log, std::ios::app) << reject_line_of(5) << "\n";
    // The new file's line is read once the old one has been quiet for the grace (1 s).
    stop_after_lines_3_to_5(f, *db);
}

// A follower restarted between a rotation's rename and the log's next line (syslog makes
// the new file with its first line) found no file, and once one came, read it alone from its
// start: the old file's lines after the last run were lost without a note (helper-86).
TEST_CASE("a follower restarted before the rotated log's new file exists reads the old one's rest",
          "[pipeline][follow]") {
    temp_dir d("restart-before-new");
    const std::string log = d.path("maillog");
    std::ofstream(log) << reject_line_of(1) << "\n" << reject_line_of(2) << "\n";
    auto db = open_store(d.path("db"));
    const ingest::ingest_options o = follow_once(*db, log);
    // Written while ingest was down, then rotated; the new file does not exist yet.
    std::ofstream(log, std::ios::app) << reject_line_of(3) << "\n" << reject_line_of(4) << "\n";
    std::filesystem::rename(log, d.path("maillog.1"));
    follow_run f(*db, o);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::ofstream(log) << reject_line_of(5) << "\n";
    const std::string diag = stop_after_lines_3_to_5(f, *db);
    INFO(diag);
    CHECK(diag.find("reading the rest of") != std::string::npos);
}

// Rotated twice while followed (the old file still read until quiet): the file in between
// was skipped without a word, where two rotations between runs name it (helper-86).
TEST_CASE("a log rotated twice while followed names the file written in between",
          "[pipeline][follow]") {
    followed_log l("follow-twice", 50);
    std::filesystem::rename(l.log, l.d.path("maillog.1"));
    std::ofstream(l.log) << reject_line_of(2) << "\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::filesystem::rename(l.d.path("maillog.1"), l.d.path("maillog.2"));
    std::filesystem::rename(l.log, l.d.path("maillog.1"));
    std::ofstream(l.log) << reject_line_of(3) << "\n";
    // the first file is read until quiet (1 s), then the newest
    wait_until([&] { return l.db->checkpoint("r4:10.0.0.3").has_value(); });
    ingest::ingest_counters c;
    const std::string diag = l.f->stop(c);
    INFO(diag);
    CHECK(diag.find("was rotated more than once while it was followed: " + l.d.path("maillog.1") +
                    ", written in between, was not read") != std::string::npos);
}

// The cap of 20 reports per source lasted a whole follow run: after a month, a log's first
// 20 bad lines had been reported and no later one. It starts again each report window.
TEST_CASE("while following the cap on reports per source starts again after its window",
          "[pipeline][follow]") {
    temp_dir d("report-window");
    const std::string log = d.path("maillog");
    std::ofstream(log) << "junk 1\njunk 2\njunk 3\njunk 4\njunk 5\n";
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {log};
    o.year = 2026;
    o.max_reports_per_source = 2;
    o.report_window_ms = 200;
    o.poll_interval_ms = 50;
    follow_run f(*db, o);
    const std::string key = "log:" + std::filesystem::canonical(log).string();
    wait_until([&] { return db->checkpoint(key).has_value(); });
    REQUIRE(db->checkpoint(key));
    const std::string first = *db->checkpoint(key);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    std::ofstream(log, std::ios::app) << "junk 6\njunk 7\njunk 8\n";
    wait_until([&] { return db->checkpoint(key) != first; });
    ingest::ingest_counters c;
    const std::string diag = f.stop(c);
    INFO(diag);
    CHECK(c.bad_input[static_cast<int>(ingest::bad_input_reason::garbage_log_line)] == 8);
    CHECK(diag.find("maillog:2: unrecognized log line") != std::string::npos);
    CHECK(diag.find("maillog:3: further reports suppressed") != std::string::npos);
    CHECK(diag.find("maillog:4: unrecognized") == std::string::npos);
    CHECK(diag.find("maillog: 3 more bad input(s) not reported (counted); reporting again") !=
          std::string::npos);
    CHECK(diag.find("maillog:6: unrecognized log line") != std::string::npos);
    CHECK(diag.find("maillog:7: unrecognized log line") != std::string::npos);
    CHECK(diag.find("maillog:8: further reports suppressed") != std::string::npos);
}

// A sensor's store that only ever receives listings now and then (a quiet follow): a listing
// that lapses between commits left no trace in the serial, so secondaries kept it. The
// follow loop names it in a commit of its own; a listing still in force is not named.
TEST_CASE("a follow run commits the listings that expired since the last commit",
          "[pipeline][expire]") {
    temp_dir d("follow-expire");
    const std::string log = d.path("maillog");
    std::ofstream(log) << "";
    auto db = open_store(d.path("db"));
    const auto wall = static_cast<std::uint32_t>(std::time(nullptr));
    const auto soon = *store::parse_prefix("2001:db8:70:1::/64");
    const auto later = *store::parse_prefix("2001:db8:70:2::/64");
    store::change_set cs;
    cs.list_manually(soon, static_cast<store::reason_code>(10), "lapses soon", wall - 98);
    cs.list_manually(later, static_cast<store::reason_code>(10), "stays", wall);
    const std::uint32_t first = db->commit(std::move(cs), wall);
    ingest::ingest_options o;
    o.rejects = {log};
    o.year = 2026;
    o.poll_interval_ms = 20;
    o.expire_every_s = 1;
    o.expiry_policy.manual_expiry_seconds = 100;
    follow_run f(*db, o);
    wait_until([&] { return db->serial() > first; });
    ingest::ingest_counters c;
    const std::string diagnostics = f.stop(c);
    INFO(diagnostics);
    REQUIRE(db->serial() > first);
    std::vector<store::prefix> named;
    REQUIRE(db->journal_since(first, [&](const store::journal_entry& j) {
        named.insert(named.end(), j.touched.begin(), j.touched.end());
    }));
    CHECK(std::count(named.begin(), named.end(), soon) == 1);
    CHECK(std::count(named.begin(), named.end(), later) == 0);
    // Nothing stored changed: the listing is gone from the zone by the policy alone.
    CHECK(db->get(soon)->last_seen == wall - 98);
}

// mail.log, a symlink to mail-1.log of one line: options that read it.
ingest::ingest_options symlinked_log(temp_dir& d, int poll_interval_ms) {
    std::ofstream(d.path("mail-1.log")) << reject_line_of(1) << "\n";
    std::filesystem::create_symlink("mail-1.log", d.path("mail.log"));
    ingest::ingest_options o;
    o.rejects = {d.path("mail.log")};
    o.year = 2026;
    o.poll_interval_ms = poll_interval_ms;
    return o;
}

TEST_CASE("following a symlinked log that is pointed at a new file keeps each file's position",
          "[pipeline]") {
    // The follower moves on to the new target; the checkpoints then go under its name, and
    // the link's record names it, so that a later run after the next move reads its rest.
    temp_dir d("follow-relinked");
    const std::string link = d.path("mail.log");
    auto db = open_store(d.path("db"));
    const ingest::ingest_options o = symlinked_log(d, 20);
    {
        follow_run f(*db, o);
        const std::string key1 = "log:" + d.path("mail-1.log");
        wait_until([&] { return db->checkpoint(key1).has_value(); });
        std::ofstream(d.path("mail-2.log")) << reject_line_of(2) << "\n";
        std::filesystem::remove(link);
        std::filesystem::create_symlink("mail-2.log", link);
        const std::string key2 = "log:" + d.path("mail-2.log");
        wait_until([&] { return db->checkpoint(key2).has_value(); });
        ingest::ingest_counters c;
        const std::string diag = f.stop(c);
        INFO(diag);
        CHECK(c.rejections() == 2);
    }
    std::ofstream(d.path("mail-2.log"), std::ios::app) << reject_line_of(3) << "\n";
    std::ofstream(d.path("mail-3.log")) << reject_line_of(4) << "\n";
    std::filesystem::remove(link);
    std::filesystem::create_symlink("mail-3.log", link);
    std::string diag;
    CHECK(ingest_into(*db, o, nullptr, &diag).rejections() == 2);  // lines 3 and 4
    INFO(diag);
    CHECK(diag.find("reading the rest of " + d.path("mail-2.log")) != std::string::npos);
}

// A symlink moved on while ingest was down: its old target was read once at the restart and
// closed, so what the MTA wrote to it in the next second was lost without a note
// (helper-86). It is followed until quiet, as a renamed log is.
TEST_CASE("a follower restarted after its symlink moved follows the old target until quiet",
          "[pipeline][follow]") {
    temp_dir d("restart-relinked");
    const std::string link = d.path("mail.log");
    auto db = open_store(d.path("db"));
    const ingest::ingest_options o = symlinked_log(d, 50);
    CHECK(ingest_into(*db, o).rejections() == 1);
    std::ofstream(d.path("mail-2.log")) << reject_line_of(2) << "\n";
    std::filesystem::remove(link);
    std::filesystem::create_symlink("mail-2.log", link);
    follow_run f(*db, o);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    std::ofstream(d.path("mail-1.log"), std::ios::app) << reject_line_of(3) << "\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::ofstream(d.path("mail-1.log"), std::ios::app) << reject_line_of(4) << "\n";
    // The new target's line is read once the old one has been quiet for the grace (1 s).
    wait_until([&] { return db->checkpoint("r4:10.0.0.2").has_value(); });
    ingest::ingest_counters c;
    const std::string diag = f.stop(c);
    INFO(diag);
    CHECK(c.rejections() == 3);
    for (int n = 2; n <= 4; ++n) CHECK(db->checkpoint("r4:10.0.0." + std::to_string(n)));
    // Each file's position under its own name: nothing is read again.
    CHECK(ingest_into(*db, o).rejections() == 0);
}

TEST_CASE("following notices a copytruncate whose new content outgrew the old offset",
          "[pipeline]") {
    followed_log l("follow-copytruncate", 1000);
    {
        std::ofstream again(l.log, std::ios::trunc);  // the same inode, two longer lines
        again << reject_line_of(2) << "\n" << reject_line_of(3) << "\n";
    }
    // Until the new content's two lines are committed (a fixed 3 s was too short on a
    // loaded machine, once), or 10 s.
    const std::string key = "log:" + std::filesystem::canonical(l.log).string();
    wait_until(
        [&] { return l.db->checkpoint(key).value_or("").find(" idx=2 ") != std::string::npos; });
    ingest::ingest_counters c;
    const std::string diag = l.f->stop(c);
    INFO(diag);
    CHECK(c.rejections() == 3);
    CHECK(c.bad_inputs() == 0);
}

TEST_CASE("following a log replaced by a grown copy of itself reads on, not again", "[pipeline]") {
    // rsync or `cp maillog t; echo more >> t; mv t maillog`: a new inode with the old bytes
    // first. Between runs it was read on from the old offset; while following, the switch to
    // the new inode read it from its start and counted line 1 twice (helper-42).
    followed_log l("follow-replaced", 100);
    const std::string tmp = l.d.path("maillog.tmp");
    std::filesystem::copy_file(l.log, tmp);
    std::ofstream(tmp, std::ios::app) << reject_line_of(2) << "\n";
    std::filesystem::rename(tmp, l.log);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    ingest::ingest_counters c;
    const std::string diag = l.f->stop(c);
    INFO(diag);
    CHECK(c.rejections() == 2);
    CHECK(diag.find("reading on from there") != std::string::npos);
}

TEST_CASE("following reads what the MTA writes to the renamed log until it reopens", "[pipeline]") {
    followed_log l("follow-rename", 100);
    std::ofstream old_fd(l.log, std::ios::app);  // syslog's open descriptor
    std::filesystem::rename(l.log, l.d.path("maillog.1"));
    std::ofstream(l.log) << "";
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    old_fd << reject_line_of(2) << "\n" << std::flush;  // before the HUP
    old_fd.close();
    std::ofstream(l.log, std::ios::app) << reject_line_of(3) << "\n";
    // the renamed file is read until it has been quiet for 1 s, then the new one
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));
    ingest::ingest_counters c;
    const std::string diag = l.f->stop(c);
    INFO(diag);
    CHECK(c.rejections() == 3);
    // The renamed file, given later by its new name, was read to its end.
    ingest::ingest_options o;
    o.rejects = {l.d.path("maillog.1")};
    o.year = 2026;
    CHECK(ingest_into(*l.db, o).rejections() == 0);
}

TEST_CASE("a log cut shorter while followed leaves its inode's position at the new content",
          "[pipeline]") {
    followed_log l("follow-cut", 100);
    std::ofstream(l.log, std::ios::app) << reject_line_of(11) << "\n";
    const std::string key = "log:" + std::filesystem::canonical(l.log).string();
    wait_until(
        [&] { return l.db->checkpoint(key).value_or("").find("idx=2") != std::string::npos; });
    // copytruncate: cut to nothing, then one line, shorter than the two read
    std::filesystem::resize_file(l.log, 0);
    std::ofstream(l.log, std::ios::app) << reject_line_of(2) << "\n";
    wait_until(
        [&] { return l.db->checkpoint(key).value_or("").find("idx=1") != std::string::npos; });
    ingest::ingest_counters c;
    l.f->stop(c);
    CHECK(c.rejections() == 3);
    // Rotated, and given by its new name: its one line was read.
    std::filesystem::rename(l.log, l.d.path("maillog.1"));
    ingest::ingest_options o;
    o.rejects = {l.d.path("maillog.1")};
    o.year = 2026;
    CHECK(ingest_into(*l.db, o).rejections() == 0);
}

TEST_CASE("a log or capture replaced by a longer copy of itself (rsync, mv) is read on, not again",
          "[pipeline]") {
    testbed tb(8);
    auto db = open_store(tb.dir.path("db"));
    const std::string log = tb.dir.path("maillog"), cap = tb.dir.path("copy.pcap");
    std::string all_packets;
    {
        std::ifstream in(tb.pcap(), std::ios::binary);
        all_packets.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    // The first half of the capture's records: cut where a record starts.
    const std::size_t half = [&] {
        std::size_t at = 24;
        while (at < all_packets.size() / 2) {
            std::uint32_t caplen;
            std::memcpy(&caplen, all_packets.data() + at + 8, 4);
            at += 16 + caplen;
        }
        return at;
    }();
    std::ofstream(log) << reject_line_of(1) << "\n" << reject_line_of(2) << "\n";
    std::ofstream(cap, std::ios::binary) << all_packets.substr(0, half);
    ingest::ingest_options o;
    o.rejects = {log};
    o.captures = {cap};
    const auto first = ingest_into(*db, o);
    REQUIRE(first.rejections() == 2);
    REQUIRE(first.packets > 0);
    // Replaced by new files (new inodes) holding the same start and more.
    std::ofstream(log + ".tmp") << reject_line_of(1) << "\n"
                                << reject_line_of(2) << "\n"
                                << reject_line_of(3) << "\n";
    std::filesystem::rename(log + ".tmp", log);
    std::ofstream(cap + ".tmp", std::ios::binary) << all_packets;
    std::filesystem::rename(cap + ".tmp", cap);
    std::string diag;
    const auto second = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(second.rejections() == 1);
    CHECK(diag.find(log + " is another file now") != std::string::npos);
    auto clean = open_store(tb.dir.path("clean"));
    o.captures = {tb.pcap()};
    o.rejects = {};
    const auto whole = ingest_into(*clean, o);
    CHECK(first.packets + second.packets == whole.packets);
    // A new file of other content under the name is read from its start.
    std::ofstream(log + ".tmp") << reject_line_of(4) << "\n"
                                << reject_line_of(5) << "\n"
                                << reject_line_of(6) << "\n"
                                << reject_line_of(7) << "\n";
    std::filesystem::rename(log + ".tmp", log);
    o.rejects = {log};
    o.captures = {};
    CHECK(ingest_into(*db, o).rejections() == 4);
}

TEST_CASE("a run stopped by a signal still exits 2 under --strict when input was bad",
          "[pipeline]") {
    temp_dir d("strict-stop");
    const std::string a = d.path("a.log"), b = d.path("b.log");
    std::ofstream(a) << "garbage\n" << reject_line_of(1) << "\n";
    std::ofstream(b) << reject_line_of(2) << "\n";
    auto db = open_store(d.path("db"));
    std::atomic<bool> stop{false};
    ingest::ingest_options o;
    o.rejects = {a, b};
    o.strict = true;
    o.stop = &stop;
    // The stop comes with the first commit, after the first log: the run ends before b.
    o.on_commit = [&](const ingest::ingest_counters&) { stop = true; };
    int rc = -1;
    const auto c = ingest_into(*db, o, &rc);
    REQUIRE(c.bad_inputs() == 1);
    CHECK(c.rejections() == 1);
    CHECK(rc == 2);
}

TEST_CASE("a truncated capture is reported once, and read on when it has grown", "[pipeline]") {
    testbed tb(6);
    const std::string cut = tb.dir.path("cut.pcap");
    {
        std::ifstream in(tb.pcap(), std::ios::binary);
        const std::string all((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
        std::ofstream(cut, std::ios::binary) << all.substr(0, all.size() / 2 + 7);
    }
    auto db = open_store(tb.dir.path("db"));
    ingest::ingest_options o;
    o.captures = {cut};
    o.strict = true;
    int rc = 0;
    const auto first = ingest_into(*db, o, &rc);
    CHECK(rc == 2);
    CHECK(first.bad_inputs() == 1);
    const auto again = ingest_into(*db, o, &rc);  // cron with --strict: not failing forever
    CHECK(rc == 0);
    CHECK(again.packets == 0);
    CHECK(again.bad_inputs() == 0);
    std::filesystem::copy_file(tb.pcap(), cut, std::filesystem::copy_options::overwrite_existing);
    const auto rest = ingest_into(*db, o, &rc);
    CHECK(rc == 0);
    auto clean = open_store(tb.dir.path("clean"));
    o.captures = {tb.pcap()};
    const auto whole = ingest_into(*clean, o);
    CHECK(first.packets + rest.packets == whole.packets);
}

TEST_CASE(
    "the file of --associations-out after a SIGKILL and a rerun holds the lines of one clean run",
    "[pipeline]") {
    testbed tb(7);
    auto run_to = [&](const std::string& db_path, const std::string& out, int kill_at_commit) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            auto db = open_store(db_path);
            ingest::ingest_options o;
            o.captures = {tb.pcap()};
            o.rejects = {tb.log()};
            o.associations_out = out;
            o.commit_every = 20000;
            int commits = 0;
            o.on_commit = [&](const ingest::ingest_counters&) {
                if (++commits == kill_at_commit) ::raise(SIGKILL);
            };
            ingest::ingest_pipeline p(*db, o);
            p.run();
            std::fflush(nullptr);
            ::_exit(0);
        }
        int st = 0;
        ::waitpid(pid, &st, 0);
        return WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
    };
    auto lines_of = [](const std::string& path) {
        std::multiset<std::string> out;
        std::ifstream in(path);
        for (std::string l; std::getline(in, l);) out.insert(l);
        return out;
    };
    REQUIRE(run_to(tb.dir.path("clean"), tb.dir.path("clean.jsonl"), 0) == 0);
    const auto clean = lines_of(tb.dir.path("clean.jsonl"));
    REQUIRE(clean.size() > 20);
    REQUIRE(run_to(tb.dir.path("crash"), tb.dir.path("crash.jsonl"), 3) == -SIGKILL);
    REQUIRE(run_to(tb.dir.path("crash"), tb.dir.path("crash.jsonl"), 0) == 0);
    CHECK(lines_of(tb.dir.path("crash.jsonl")) == clean);
}

TEST_CASE("rejections ingested after the capture still list its associations", "[pipeline]") {
    testbed tb(8);
    auto together = open_store(tb.dir.path("db1"));
    ingest::ingest_options both;
    both.captures = {tb.pcap()};
    both.rejects = {tb.log()};
    ingest_into(*together, both);
    auto split = open_store(tb.dir.path("db2"));
    ingest::ingest_options cap, rej;
    cap.captures = {tb.pcap()};
    rej.rejects = {tb.log()};
    ingest_into(*split, cap);
    CHECK(listed_64s(*split).empty());  // nothing is rejected yet
    ingest_into(*split, rej);
    const auto a = listed_64s(*together);
    CHECK(a.size() > 20);
    CHECK(listed_64s(*split) == a);
    // And the same evidence: an association kept while its IPv4 was not yet rejected was
    // counted then, and is not counted again when the rejection lists it (it was, 18 for 17).
    auto evidence = [](const store::reputation_store& s) {
        std::map<std::string, std::pair<std::uint32_t, std::uint16_t>> out;
        s.for_each_record([&](const store::prefix& p, const store::reputation_record&) {
            if (p.length != 64) return true;
            s.for_each_evidence(p, [&](store::evidence_kind kind, std::string_view item,
                                       const store::evidence_item& e) {
                if (kind == store::evidence_kind::rejected_ipv4)
                    out[store::format_prefix(p) + " " + std::string(item)] = {e.count, e.signals};
                return true;
            });
            return true;
        });
        return out;
    };
    const auto ea = evidence(*together);
    CHECK(ea.size() > 20);
    CHECK(evidence(*split) == ea);
}

TEST_CASE("bad input is counted, reported with its position, and the rest ingested", "[pipeline]") {
    testbed tb(9);
    temp_dir d("bad");
    // A capture cut in the middle of a record.
    {
        std::ifstream in(tb.pcap(), std::ios::binary);
        std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(d.path("cut.pcap"), std::ios::binary) << all.substr(0, all.size() / 2 + 7);
    }
    // A capture of an unsupported link type (USER0 = 147).
    {
        const std::uint32_t hdr[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 147};
        std::ofstream(d.path("user0.pcap"), std::ios::binary)
            .write(reinterpret_cast<const char*>(hdr), sizeof hdr);
    }
    {
        std::ofstream log(d.path("maillog"));
        log << "Nov 24 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1.2.3.4]: 554 "
               "5.7.1 "
               "Service unavailable; Client host [1.2.3.4] blocked using zen.spamhaus.org\n"
            << "\x01\x02 binary junk\n"
            << "Nov 24 10:00:01 mx1 postfix/smtpd[1]: connect from x[1.2.3.5]\n"
            << "not a log line at all\n"
            // journalctl -o json: an entry, then one without its time
            << R"({"__REALTIME_TIMESTAMP":"1795514402000000","SYSLOG_IDENTIFIER":)"
            << R"("postfix/smtpd","MESSAGE":"NOQUEUE: reject: RCPT from x[1.2.3.9]: 554 5.7.1 )"
            << R"(Service unavailable; Client host [1.2.3.9] blocked using zen.spamhaus.org"})"
            << "\n"
            << R"({"SYSLOG_IDENTIFIER":"postfix/smtpd","MESSAGE":"x"})"
            << "\n";
    }
    {
        // A day ago: listings expire after 5 quiet days (a fixed date made this test fail
        // once the calendar passed it).
        const std::string t = std::to_string(std::time(nullptr) - 86400);
        std::ofstream js(d.path("assoc.jsonl"));
        js << R"({"v":1,"ipv6":"2001:db8:77::1","ipv4":"1.2.3.4","time":)" << t
           << R"(,"strength":0.9,"ipv4_rejected":true})"
           << "\n{broken\n"
           << R"({"v":1,"ipv6":"2001:db8:78::1","ipv4":"1.2.3.4","time":)" << t
           << R"(,"strength":7})"
           << "\n"
           << R"({"v":1,"ipv6":"2001:db8:79::1","ipv4":"9.9.9.9","time":)" << t
           << R"(,"strength":0.5,"ipv4_rejected":true})"
           << "\n"
           // a sensor clock ten days ahead: its evidence would never expire
           << R"({"v":1,"ipv6":"2001:db8:7a::1","ipv4":"1.2.3.4","time":)"
           << std::time(nullptr) + 10 * 86400 << R"(,"strength":0.9,"ipv4_rejected":true})"
           << "\n"
           // an hour ahead: clock skew, taken
           << R"({"v":1,"ipv6":"2001:db8:7b::1","ipv4":"9.9.9.9","time":)"
           << std::time(nullptr) + 3600 << R"(,"strength":0.5,"ipv4_rejected":true})"
           << "\n";
    }
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {d.path("cut.pcap"), d.path("user0.pcap"), d.path("missing.pcap"), "/dev/null"};
    o.rejects = {d.path("maillog")};
    o.associations = {d.path("assoc.jsonl")};
    o.year = 2026;
    int rc = -1;
    std::string diag;
    const auto c = ingest_into(*db, o, &rc, &diag);
    CHECK(rc == 0);
    using r = ingest::bad_input_reason;
    CHECK(c.bad_input[static_cast<int>(r::truncated_capture)] == 1);
    CHECK(c.bad_input[static_cast<int>(r::unreadable_capture)] == 3);
    CHECK(c.bad_input[static_cast<int>(r::garbage_log_line)] == 3);
    CHECK(c.bad_input[static_cast<int>(r::invalid_json)] == 1);
    CHECK(c.bad_input[static_cast<int>(r::json_schema)] == 2);
    CHECK(c.packets > 1000);  // the readable half of the cut capture
    CHECK(c.rejections() == 2);
    CHECK(c.remote_associations == 3);
    INFO(diag);
    CHECK(diag.find("cut.pcap:") != std::string::npos);
    CHECK(diag.find("truncated") != std::string::npos);
    CHECK(diag.find("unsupported link type 147") != std::string::npos);
    CHECK(diag.find("/dev/null: not a regular file") != std::string::npos);
    CHECK(diag.find("maillog:2: unrecognized log line") != std::string::npos);
    CHECK(diag.find("maillog:4:") != std::string::npos);
    CHECK(diag.find("maillog:6: unrecognized log line: a JSON line that is not a journal "
                    "entry") != std::string::npos);
    CHECK(diag.find("assoc.jsonl:2: invalid JSON") != std::string::npos);
    CHECK(diag.find("assoc.jsonl:3: strength") != std::string::npos);
    CHECK(diag.find("assoc.jsonl:5: time is more than a day in the future") != std::string::npos);
    // The remote association with a rejected IPv4 and strength 0.9 lists; 0.5 does not.
    const auto listed = listed_64s(*db);
    CHECK(listed.count("2001:db8:77::/64") == 1);
    CHECK(listed.count("2001:db8:79::/64") == 0);
    CHECK(db->evidence_count(*store::parse_prefix("2001:db8:79::/64"), 10) == 1);
    CHECK(listed.count("2001:db8:7a::/64") == 0);
    CHECK(db->evidence_count(*store::parse_prefix("2001:db8:7a::/64"), 10) == 0);
    CHECK(db->evidence_count(*store::parse_prefix("2001:db8:7b::/64"), 10) == 1);

    // --strict turns bad input into a non-zero exit (on fresh sources).
    auto db2 = open_store(d.path("db2"));
    o.strict = true;
    ingest_into(*db2, o, &rc);
    CHECK(rc == 2);
}

TEST_CASE("a line too long is dropped to its newline, and a directory is reported", "[pipeline]") {
    temp_dir d("long");
    const std::string reject =
        "Nov 24 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1.2.3.4]: 554 5.7.1 "
        "Service unavailable; Client host [1.2.3.4] blocked using zen.spamhaus.org";
    const std::string t = std::to_string(std::time(nullptr) - 86400);
    const std::string assoc = R"({"v":1,"ipv6":"2001:db8:77::1","ipv4":"1.2.3.4","time":)" + t +
                              R"(,"strength":0.9,"ipv4_rejected":true})";
    // The tail of each over-long line (past the first read) would parse as a good line.
    const std::string padding(std::size_t{1} << 20, 'x');
    std::ofstream(d.path("maillog")) << padding << reject << "\nnot a log line\n";
    std::ofstream(d.path("assoc.jsonl")) << padding << assoc << "\n{broken\n";
    std::filesystem::create_directories(d.path("logdir"));
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {d.path("maillog"), d.path("logdir"), "/proc/self/mem"};  // mem: EIO at 0
    o.associations = {d.path("assoc.jsonl")};
    o.year = 2026;
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.rejections() == 0);
    CHECK(c.remote_associations == 0);
    CHECK(diag.find("maillog:1: line too long") != std::string::npos);
    CHECK(diag.find("maillog:2: unrecognized log line") != std::string::npos);
    CHECK(diag.find("assoc.jsonl:1: line too long") != std::string::npos);
    CHECK(diag.find("assoc.jsonl:2: invalid JSON") != std::string::npos);
    CHECK(diag.find("logdir: is a directory") != std::string::npos);
    CHECK(diag.find("/proc/self/mem:1: read error") != std::string::npos);
    using r = ingest::bad_input_reason;
    CHECK(c.bad_input[static_cast<int>(r::garbage_log_line)] == 2);
    CHECK(c.bad_input[static_cast<int>(r::invalid_json)] == 2);
    // the directory and the read error are files that cannot be read, not bad lines
    CHECK(c.bad_input[static_cast<int>(r::unreadable_file)] == 2);
}

namespace {

// Opens both ends of a FIFO now and then (non-blocking) until stopped: should the code under
// test block in open() waiting for the other end (the defect), it gets it and goes on, so
// that a test fails instead of hanging.
struct fifo_unblocker {
    std::string path;
    std::atomic<bool> done{false};
    // Times a writer's open succeeded: a reader had the FIFO open (waiting in open()).
    std::atomic<int> writers_opened{0};
    std::thread t;
    explicit fifo_unblocker(std::string p) : path(std::move(p)) {
        t = std::thread([this] {
            while (!done) {
                std::this_thread::sleep_for(std::chrono::milliseconds(500));
                if (done) break;
                for (int flags : {O_WRONLY | O_NONBLOCK, O_RDONLY | O_NONBLOCK}) {
                    const int fd = ::open(path.c_str(), flags);
                    if (fd >= 0) {
                        if (flags & O_WRONLY) ++writers_opened;
                        ::close(fd);
                    }
                }
            }
        });
    }
    ~fifo_unblocker() {
        done = true;
        t.join();
    }
};

}  // namespace

// A log, JSON file or output path naming a FIFO made ingest wait in open() for a writer (or
// a reader), past SIGINT and SIGTERM: only SIGKILL stopped it.
TEST_CASE("a FIFO given as a log or JSON file is reported at once, not waited on", "[pipeline]") {
    temp_dir d("fifo");
    const std::string pipe = d.path("pipe");
    REQUIRE(::mkfifo(pipe.c_str(), 0600) == 0);
    std::ofstream(d.path("maillog")) << reject_line_of(1) << "\n";
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {pipe, d.path("maillog")};
    o.associations = {pipe};
    o.year = 2026;
    std::string diag;
    ingest::ingest_counters c;
    {
        fifo_unblocker unblock(pipe);
        c = ingest_into(*db, o, nullptr, &diag);
    }
    INFO(diag);
    CHECK(diag.find("pipe: is a FIFO") != std::string::npos);
    CHECK(c.bad_input[static_cast<int>(ingest::bad_input_reason::unreadable_file)] == 2);
    CHECK(c.rejections() == 1);  // the regular log beside it
}

// A capture's checkpoint fingerprint opened the path before anything checked it was a
// regular file: a FIFO without a writer held ingest in open() past SIGTERM.
TEST_CASE("a FIFO given as a capture is reported at once, not waited on", "[pipeline]") {
    temp_dir d("fifo");
    const std::string pipe = d.path("pipe");
    REQUIRE(::mkfifo(pipe.c_str(), 0600) == 0);
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {pipe};
    std::string diag;
    ingest::ingest_counters c;
    int waited = 0;
    {
        fifo_unblocker unblock(pipe);
        c = ingest_into(*db, o, nullptr, &diag);
        waited = unblock.writers_opened;
    }
    INFO(diag);
    CHECK(waited == 0);
    CHECK(diag.find("pipe: not a regular file") != std::string::npos);
    CHECK(c.bad_input[static_cast<int>(ingest::bad_input_reason::unreadable_capture)] == 1);
}

TEST_CASE("an --associations-out path naming a FIFO is refused with a clear error", "[pipeline]") {
    temp_dir d("fifo-out");
    const std::string pipe = d.path("pipe");
    REQUIRE(::mkfifo(pipe.c_str(), 0600) == 0);
    std::ofstream(d.path("maillog")) << reject_line_of(1) << "\n";
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {d.path("maillog")};
    o.associations_out = pipe;
    o.year = 2026;
    fifo_unblocker unblock(pipe);
    CHECK_THROWS_WITH(ingest_into(*db, o), Catch::Contains("is a FIFO"));
}

// A rejection dated 2099 kept its IPv4 rejected for as long as the store keeps records, so
// that any association of it, however late, was listed; one dated year 1 was clamped to 1970.
TEST_CASE("reject lines dated before 1970 or more than a day ahead are reported, not used",
          "[pipeline]") {
    temp_dir d("log-times");
    std::string good = reject_line_of(1), early = reject_line_of(2), late = reject_line_of(3),
                epoch = reject_line_of(4);
    REQUIRE(early.rfind("Nov 24 10:00:00", 0) == 0);
    early.replace(0, 15, "0001-01-01T10:00:00Z");
    late.replace(0, 15, "2099-11-24T10:00:00Z");
    epoch.replace(0, 15, "1970-01-01T00:00:00Z");
    std::ofstream(d.path("maillog")) << good << "\n"
                                     << early << "\n"
                                     << late << "\n"
                                     << epoch << "\n";
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {d.path("maillog")};
    o.year = 2026;
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.rejections() == 1);
    CHECK(diag.find("maillog:2: time at or before 1970-01-01T00:00:00Z") != std::string::npos);
    CHECK(diag.find("maillog:3: time is more than a day in the future") != std::string::npos);
    CHECK(diag.find("maillog:4: time at or before 1970-01-01T00:00:00Z") != std::string::npos);
    CHECK(c.bad_input[static_cast<int>(ingest::bad_input_reason::garbage_log_line)] == 3);
}

TEST_CASE("a run of NUL bytes left by a crash does not cost the line after it", "[pipeline]") {
    temp_dir d("log-nuls");
    std::ofstream(d.path("maillog"), std::ios::binary)
        << reject_line_of(1) << "\n"
        << std::string(3000, '\0') << reject_line_of(2) << "\n"
        << std::string(200'000, '\0') << reject_line_of(3) << "\n"
        << reject_line_of(4) << "\n";
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {d.path("maillog")};
    o.year = 2026;
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.rejections() == 4);
    CHECK(c.bad_inputs() == 0);
    // and the checkpoint is past them: nothing again
    CHECK(ingest_into(*db, o).rejections() == 0);
}

TEST_CASE("the 64 KiB line limit is the same for LF and CRLF lines", "[pipeline]") {
    temp_dir d("limit");
    const std::string t = std::to_string(std::time(nullptr) - 86400);
    auto line = [&](int n, std::size_t length) {
        std::string l = R"({"v":1,"ipv6":"2001:db8:7)" + std::to_string(n) +
                        R"(::1","ipv4":"1.2.3.4","time":)" + t + R"(,"strength":0.9})";
        l.insert(l.size() - 1, length - l.size(), ' ');  // JSON whitespace before the brace
        return l;
    };
    // A line of exactly 64 KiB is taken and one byte more is not, with either ending. The
    // last line's CR ends the first 1 MiB read, its LF starts the next.
    const std::string head = line(1, 65536) + "\n" + line(2, 65536) + "\r\n" + line(3, 65537) +
                             "\n" + line(4, 65537) + "\r\n";
    const std::size_t blank = 1048576 - 1 - 65536 - head.size();
    std::ofstream(d.path("a.jsonl"), std::ios::binary)
        << head << std::string(blank, '\n') << line(5, 65536) << "\r\n";
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.associations = {d.path("a.jsonl")};
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.remote_associations == 3);
    CHECK(diag.find("a.jsonl:3: line too long") != std::string::npos);
    CHECK(diag.find("a.jsonl:4: line too long") != std::string::npos);
    CHECK(c.bad_input[static_cast<int>(ingest::bad_input_reason::invalid_json)] == 2);
}

TEST_CASE("a checkpoint taken inside an over-long line names its start", "[pipeline]") {
    // A followed log whose writer is in the middle of an over-long line when ingest stops:
    // the rerun must drop that whole line again, not parse its tail as a line of its own.
    temp_dir d("long-resume");
    const std::string reject =
        "Nov 24 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1.2.3.4]: 554 5.7.1 "
        "Service unavailable; Client host [1.2.3.4] blocked using zen.spamhaus.org";
    const std::string log = d.path("maillog");
    std::ofstream(log) << "not a log line\n" << std::string(std::size_t{100} << 10, 'x');
    {
        auto db = open_store(d.path("db"));
        std::atomic<bool> stop{false};
        ingest::ingest_options o;
        o.rejects = {log};
        o.follow = true;
        o.year = 2026;
        o.stop = &stop;
        o.diagnostics = nullptr;
        ingest::ingest_pipeline p(*db, o);
        auto run = std::async(std::launch::async, [&] { return p.run(); });
        // the first pass over the file commits its checkpoint
        const std::string key = "log:" + std::filesystem::absolute(log).lexically_normal().string();
        for (int i = 0; i < 400 && !db->checkpoint(key); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        CHECK(db->checkpoint(key));
        stop = true;
        REQUIRE(run.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
        CHECK(run.get() == 0);
    }
    std::ofstream(log, std::ios::app) << reject << "\n" << reject << "\n";
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {log};
    o.year = 2026;
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.rejections() == 1);  // the line after the long one, not the long one's tail
    CHECK(diag.find("maillog:2: line too long") != std::string::npos);
}

TEST_CASE("a log rewritten in place since its checkpoint is read from its start", "[pipeline]") {
    // copytruncate rotation while ingest was not running: same inode, and the new content
    // already longer than the old checkpoint's offset, which now falls inside a line
    temp_dir d("rewritten");
    auto reject = [](int ip) {
        return "Nov 24 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[10.0.0." +
               std::to_string(ip) + "]: 554 5.7.1 Service unavailable; Client host [10.0.0." +
               std::to_string(ip) + "] blocked using zen.spamhaus.org";
    };
    const std::string log = d.path("maillog");
    std::ofstream(log) << reject(1) << "\n" << reject(2) << "\n";
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {log};
    o.year = 2026;
    CHECK(ingest_into(*db, o).rejections() == 2);
    auto inode = [&] {
        struct stat st {};
        ::stat(log.c_str(), &st);
        return st.st_ino;
    };
    const auto before = inode();
    {
        std::ofstream again(log, std::ios::trunc);
        again << "# rotated\n" << reject(3) << "\n" << reject(4) << "\n" << reject(5) << "\n";
    }
    CHECK(inode() == before);  // the same file, truncated and rewritten
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.rejections() == 3);
    CHECK(diag.find("have changed") != std::string::npos);
    // and a rerun of the same file reads nothing
    CHECK(ingest_into(*db, o).rejections() == 0);
}

TEST_CASE("a stop request ends a run reading a log that never ends", "[pipeline]") {
    temp_dir d("endless");
    auto db = open_store(d.path("db"));
    std::atomic<bool> stop{false};
    ingest::ingest_options o;
    o.rejects = {"/dev/zero"};
    o.stop = &stop;
    o.diagnostics = nullptr;
    ingest::ingest_pipeline p(*db, o);
    auto run = std::async(std::launch::async, [&] { return p.run(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
    REQUIRE(run.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    CHECK(run.get() == 0);
}

TEST_CASE("a malformed frame is reported at its record's byte offset", "[pipeline]") {
    temp_dir d("malformed-offset");
    const auto good = ingest_test::ethernet(ingest_test::ip_syn(false, 40000, 25, 64), false);
    auto bad = ingest_test::ethernet(ingest_test::ip_syn(false, 40001, 25, 64), false);
    bad[14] = 0x44;  // IPv4 header length 16 bytes
    {
        ingest::pcap_file_writer w(d.path("c.pcap"));
        w.write_frame(1'000'000, good.data(), good.size());
        w.write_frame(2'000'000, good.data(), good.size());
        w.write_frame(3'000'000, bad.data(), bad.size());
    }
    // pcap: a 24-byte file header, then a 16-byte header before each frame
    const std::size_t at = 24 + 2 * (16 + good.size());
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {d.path("c.pcap")};
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.bad_input[static_cast<int>(ingest::bad_input_reason::malformed_packet)] == 1);
    CHECK(diag.find("c.pcap:" + std::to_string(at) + ": malformed frame") != std::string::npos);
    CHECK(diag.find("packet 3)") != std::string::npos);

    // pcapng: the offset of the frame's enhanced packet block
    std::string f;
    auto u32 = [&](std::uint32_t v) { f.append(reinterpret_cast<const char*>(&v), 4); };
    for (std::uint32_t v : {0x0A0D0D0Au, 28u, 0x1A2B3C4Du, 1u, 0xFFFFFFFFu, 0xFFFFFFFFu, 28u})
        u32(v);                                                 // section header block
    for (std::uint32_t v : {1u, 20u, 1u, 65535u, 20u}) u32(v);  // interface block: Ethernet
    std::size_t bad_block = 0;
    for (const std::vector<std::uint8_t>* frame :
         {&good, static_cast<const std::vector<std::uint8_t>*>(&bad)}) {
        auto padded = *frame;
        while (padded.size() % 4) padded.push_back(0);
        const auto len = static_cast<std::uint32_t>(32 + padded.size());
        if (frame == &bad) bad_block = f.size();
        for (std::uint32_t v :
             {6u, len, 0u, 0u, 1000000u, static_cast<std::uint32_t>(frame->size()),
              static_cast<std::uint32_t>(frame->size())})
            u32(v);
        f.append(reinterpret_cast<const char*>(padded.data()), padded.size());
        u32(len);
    }
    std::ofstream(d.path("c.pcapng"), std::ios::binary) << f;
    o.captures = {d.path("c.pcapng")};
    diag.clear();
    ingest_into(*db, o, nullptr, &diag);
    CHECK(diag.find("c.pcapng:" + std::to_string(bad_block) + ": malformed frame") !=
          std::string::npos);
}

TEST_CASE("a capture written over in place is read again, one that grew is read on", "[pipeline]") {
    temp_dir d("capture-rewritten");
    const std::string cap = d.path("sensor.pcap");
    auto write = [&](const std::string& path, int first_port, int count, std::int64_t t0) {
        ingest::pcap_file_writer w(path);
        for (int i = 0; i < count; ++i) {
            const auto f = ingest_test::ethernet(
                ingest_test::ip_syn(i % 2 == 0, static_cast<std::uint16_t>(first_port + i), 25, 64),
                i % 2 == 0);
            w.write_frame(t0 + i * 1'000'000, f.data(), f.size());
        }
    };
    auto inode = [&] {
        struct stat st {};
        ::stat(cap.c_str(), &st);
        return st.st_ino;
    };
    write(cap, 40000, 4, 1'700'000'000'000'000);
    const auto first_inode = inode();
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {cap};
    CHECK(ingest_into(*db, o).packets == 4);
    CHECK(ingest_into(*db, o).packets == 0);  // done, unchanged: skipped

    // The next capture written over the same file (tcpdump -w, cp): same inode, longer.
    write(cap, 41000, 6, 1'700'000'100'000'000);
    REQUIRE(inode() == first_inode);
    std::string diag;
    auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.packets == 6);  // was 0: skipped as done
    CHECK(diag.find("have changed") != std::string::npos);
    CHECK(ingest_into(*db, o).packets == 0);

    // Still being written: three more records appended after the run; only they are read.
    write(d.path("more.pcap"), 42000, 3, 1'700'000'200'000'000);
    {
        std::ifstream more(d.path("more.pcap"), std::ios::binary);
        more.seekg(24);  // past the file header
        std::ofstream(cap, std::ios::binary | std::ios::app) << more.rdbuf();
    }
    REQUIRE(inode() == first_inode);
    diag.clear();
    c = ingest_into(*db, o, nullptr, &diag);
    CHECK(c.packets == 3);
    CHECK(diag.find("have changed") == std::string::npos);
    CHECK(ingest_into(*db, o).packets == 0);
}

TEST_CASE("a pcapng time stamp past 2106 is read without overflow", "[pipeline]") {
    temp_dir d("pcapng-time");
    std::string f;
    auto u32 = [&](std::uint32_t v) { f.append(reinterpret_cast<const char*>(&v), 4); };
    for (std::uint32_t v : {0x0A0D0D0Au, 28u, 0x1A2B3C4Du, 1u, 0xFFFFFFFFu, 0xFFFFFFFFu, 28u})
        u32(v);                                                 // section header block
    for (std::uint32_t v : {1u, 20u, 1u, 65535u, 20u}) u32(v);  // interface block: Ethernet
    auto frame = ingest_test::ethernet(ingest_test::ip_syn(true, 40000, 25, 60), true);
    while (frame.size() % 4) frame.push_back(0);
    // The largest stamp: 2^64-1 microseconds, ~1.8e13 seconds (a sanitizer build saw the
    // conversion to microseconds overflow).
    for (std::uint32_t v :
         {6u, static_cast<std::uint32_t>(32 + frame.size()), 0u, 0xFFFFFFFFu, 0xFFFFFFFFu,
          static_cast<std::uint32_t>(frame.size()), static_cast<std::uint32_t>(frame.size())})
        u32(v);
    f.append(reinterpret_cast<const char*>(frame.data()), frame.size());
    u32(static_cast<std::uint32_t>(32 + frame.size()));
    std::ofstream(d.path("late.pcapng"), std::ios::binary) << f;
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {d.path("late.pcapng")};
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    CHECK(c.packets == 1);
    // Read, then refused as more than a day in the future, at its block's offset.
    CHECK(c.syns == 0);
    CHECK(c.bad_input[static_cast<int>(ingest::bad_input_reason::malformed_packet)] == 1);
    CHECK(diag.find("late.pcapng:48: SYN time stamped more than a day in the future") !=
          std::string::npos);
}

TEST_CASE("SYNs stamped in the future or at time 0 are reported and skipped, the rest taken",
          "[pipeline]") {
    temp_dir d("future-syn");
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const auto f1 = ingest_test::ethernet(ingest_test::ip_syn(true, 40000, 25, 60), true);
    const auto f2 = ingest_test::ethernet(ingest_test::ip_syn(true, 40001, 25, 60), true);
    {
        ingest::pcap_file_writer w(d.path("c.pcap"));
        w.write_frame((now - 600) * 1'000'000, f1.data(), f1.size());
        w.write_frame(0, f2.data(), f2.size());
        w.write_frame((now + 3 * 86400) * 1'000'000, f2.data(), f2.size());
        w.write_frame((now - 500) * 1'000'000, f2.data(), f2.size());
    }
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {d.path("c.pcap")};
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.packets == 4);
    CHECK(c.syns == 2);
    CHECK(c.bad_input[static_cast<int>(ingest::bad_input_reason::malformed_packet)] == 2);
    const std::size_t second = 24 + 16 + f1.size(), third = second + 16 + f2.size();
    CHECK(diag.find("c.pcap:" + std::to_string(second) + ": SYN without a time stamp") !=
          std::string::npos);
    CHECK(diag.find("c.pcap:" + std::to_string(third) + ": SYN time stamped more than a day") !=
          std::string::npos);
    const auto rec = db->get(*store::parse_prefix("2001:db8:1:2::/64"));
    REQUIRE(rec);
    CHECK(rec->attempts == 2);
    CHECK(rec->last_seen == static_cast<std::uint32_t>(now - 500));
}

TEST_CASE("one SYN stamped far ahead of those around it is reported; a jump of the capture is not",
          "[pipeline]") {
    // helper-87: the outlier moved the grouper's clock an hour on, closed the attempt under
    // way (its three SYNs became attempts of one and two) and held up the expiry queue, so
    // that nothing closed until the capture caught up with it.
    temp_dir d("outlier-syn");
    const std::int64_t t = (static_cast<std::int64_t>(std::time(nullptr)) - 2 * 86400) * 1'000'000;
    auto frame = [](std::uint16_t port) {
        return ingest_test::ethernet(ingest_test::ip_syn(true, port, 25, 60), true);
    };
    const auto a = frame(40000), b = frame(40001), c = frame(40002);
    {
        ingest::pcap_file_writer w(d.path("c.pcap"));
        w.write_frame(t, a.data(), a.size());
        w.write_frame(t + 3600'000'000, b.data(), b.size());  // the outlier
        w.write_frame(t + 3'000'000, a.data(), a.size());
        w.write_frame(t + 9'000'000, a.data(), a.size());
        // The capture jumps two hours (a quiet sensor): the next SYN is near the first.
        w.write_frame(t + 7200'000'000, c.data(), c.size());
        w.write_frame(t + 7201'000'000, c.data(), c.size());
    }
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {d.path("c.pcap")};
    std::string diag;
    const auto n = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(n.packets == 6);
    CHECK(n.syns == 5);
    CHECK(n.attempts == 2);  // 40000 with three SYNs, 40002 with two (was 4)
    CHECK(n.bad_input[static_cast<int>(ingest::bad_input_reason::malformed_packet)] == 1);
    const std::size_t second = 24 + 16 + a.size();
    CHECK(diag.find("c.pcap:" + std::to_string(second) +
                    ": SYN time stamped 3600 s ahead of the SYNs before and after it") !=
          std::string::npos);
    const auto rec = db->get(*store::parse_prefix("2001:db8:1:2::/64"));
    REQUIRE(rec);
    CHECK(rec->attempts == 2);
    CHECK(rec->last_seen ==
          static_cast<std::uint32_t>((t + 7200'000'000) / 1'000'000));  // its start
}

TEST_CASE("pcapng captures are read, and a rerun skips what was read", "[pipeline]") {
    temp_dir d("pcapng");
    std::string f;
    auto u32 = [&](std::uint32_t v) { f.append(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [&](std::uint16_t v) { f.append(reinterpret_cast<const char*>(&v), 2); };
    u32(0x0A0D0D0A);  // section header block
    u32(28);
    u32(0x1A2B3C4D);
    u16(1);
    u16(0);
    u32(0xFFFFFFFF);
    u32(0xFFFFFFFF);
    u32(28);
    u32(1);  // interface description block: Ethernet
    u32(20);
    u16(1);
    u16(0);
    u32(65535);
    u32(20);
    // an hour ago: the store's retention runs on the wall clock
    const auto start = static_cast<std::uint64_t>(std::time(nullptr)) - 3600;
    for (int i = 0; i < 3; ++i) {  // three SYNs from three ports, one second apart
        auto frame = ingest_test::ethernet(
            ingest_test::ip_syn(true, static_cast<std::uint16_t>(40000 + i), 25, 60), true);
        while (frame.size() % 4) frame.push_back(0);
        const std::uint64_t ts = (start + static_cast<std::uint64_t>(i)) * 1000000ULL;
        u32(6);  // enhanced packet block
        u32(static_cast<std::uint32_t>(32 + frame.size()));
        u32(0);
        u32(static_cast<std::uint32_t>(ts >> 32));
        u32(static_cast<std::uint32_t>(ts));
        u32(static_cast<std::uint32_t>(frame.size()));
        u32(static_cast<std::uint32_t>(frame.size()));
        f.append(reinterpret_cast<const char*>(frame.data()), frame.size());
        u32(static_cast<std::uint32_t>(32 + frame.size()));
    }
    std::ofstream(d.path("s.pcapng"), std::ios::binary) << f;
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {d.path("s.pcapng")};
    auto c = ingest_into(*db, o);
    CHECK(c.packets == 3);
    CHECK(c.syns == 3);
    CHECK(c.attempts == 3);
    CHECK(c.bad_inputs() == 0);
    const auto rec = db->get(*store::parse_prefix("2001:db8:1:2::/64"));
    REQUIRE(rec);
    CHECK(rec->attempts == 3);
    CHECK(rec->addresses == 1);
    c = ingest_into(*db, o);
    CHECK(c.packets == 0);
    CHECK(db->get(*store::parse_prefix("2001:db8:1:2::/64"))->attempts == 3);
}

TEST_CASE("a run stopped after every commit and resumed each time equals one clean run",
          "[pipeline]") {
    testbed tb(12);
    ingest::ingest_options o;
    o.captures = {tb.pcap()};
    o.rejects = {tb.log()};
    o.commit_every = 7000;  // packets (or log lines): about fifteen commits
    auto clean = open_store(tb.dir.path("clean"));
    ingest_into(*clean, o);
    const auto want = ingest_test::dump_store(*clean);
    REQUIRE(want.size() > 100);

    // Every resumed run restores the grouper, the engine and the address book from the
    // checkpoint of the commit before, and must carry on exactly as the clean run did.
    auto pieces = open_store(tb.dir.path("pieces"));
    const int runs = ingest_in_pieces(*pieces, o, tb.pcap());
    CHECK(runs > 5);    // it was cut into pieces
    CHECK(runs < 100);  // and got to the end
    const auto got = ingest_test::dump_store(*pieces);
    CHECK(got.size() == want.size());
    CHECK(got == want);
}

namespace {

// A testbed ingested freely and under a bound (`bound` sets it): the bound forgets state,
// never an attempt, so every /64's attempts are the free run's; and the bounded run,
// stopped at every commit and resumed from its checkpoints, gives its store byte for byte.
struct bounded_runs {
    ingest::ingest_counters free, bound;
    ingest_test::store_dump free_dump, bound_dump;
    std::size_t prefixes = 0;  // /64s in the store
};
bounded_runs check_bounded_run(std::uint64_t seed,
                               const std::function<void(ingest::ingest_options&)>& bound) {
    testbed tb(seed);
    ingest::ingest_options o;
    o.captures = {tb.pcap()};
    o.rejects = {tb.log()};
    o.commit_every = 7000;
    auto attempts_per_64 = [](const store::reputation_store& s) {
        std::map<std::string, std::uint64_t> out;
        s.for_each_record([&](const store::prefix& p, const store::reputation_record& r) {
            if (p.length == 64) out[store::format_prefix(p)] = r.attempts;
            return true;
        });
        return out;
    };
    bounded_runs out;
    auto free_db = open_store(tb.dir.path("free"));
    out.free = ingest_into(*free_db, o);
    const auto want = attempts_per_64(*free_db);
    REQUIRE(want.size() > 200);
    out.prefixes = want.size();
    out.free_dump = ingest_test::dump_store(*free_db);

    bound(o);
    auto bound_db = open_store(tb.dir.path("bound"));
    out.bound = ingest_into(*bound_db, o);
    CHECK(attempts_per_64(*bound_db) == want);
    out.bound_dump = ingest_test::dump_store(*bound_db);

    auto pieces = open_store(tb.dir.path("pieces"));
    const int runs = ingest_in_pieces(*pieces, o, tb.pcap());
    CHECK(runs > 5);
    CHECK(runs < 100);
    CHECK(ingest_test::dump_store(*pieces) == out.bound_dump);
    return out;
}

}  // namespace

// A flood of spoofed IPv6 sources (a new /64 each) used to grow the address book for the
// whole 24 h horizon. At its bound of /64s it forgets the one seen least recently: no
// attempt goes uncounted, and a run resumed from its checkpoints forgets the same /64s.
TEST_CASE("an address book at its bound of /64s counts every attempt, and resumes exactly",
          "[pipeline]") {
    const auto r =
        check_bounded_run(14, [](ingest::ingest_options& o) { o.writer.max_book_64s = 40; });
    CHECK(r.free.address_book_evictions == 0);
    // At least every /64 but the last 40 went (some more than once).
    CHECK(r.bound.address_book_evictions >= r.prefixes - 40);
    CHECK(r.bound.summary().find("/64s forgotten early") != std::string::npos);
}

// And the round histories of addresses seen once used to stay for the 45-minute horizon.
// At its bound the engine forgets those seen least recently (which changes its pairing),
// and a resumed run forgets the same ones: the raised threshold is in its checkpoint.
TEST_CASE("an engine at its bound of one-round histories counts every attempt, and resumes exactly",
          "[pipeline]") {
    const auto r = check_bounded_run(
        15, [](ingest::ingest_options& o) { o.association.max_one_round_histories = 400; });
    CHECK(r.free.histories_forgotten == 0);
    CHECK(r.free.summary().find("one-round addresses forgotten") == std::string::npos);
    CHECK(r.bound.histories_forgotten > 1000);
    CHECK(r.bound.summary().find("one-round addresses forgotten early") != std::string::npos);
    // The engine forgot addresses the free run paired on: its associations differ.
    CHECK(r.bound_dump != r.free_dump);
}

TEST_CASE("per-address evidence is kept for associated /64s only, with every attempt counted",
          "[pipeline]") {
    testbed tb(13);
    auto db = open_store(tb.dir.path("db"));
    ingest::ingest_options o;
    o.captures = {tb.pcap()};
    o.rejects = {tb.log()};
    ingest_into(*db, o);
    std::size_t associated = 0, plain = 0, single_address = 0;
    db->for_each_record([&](const store::prefix& p, const store::reputation_record& r) {
        if (p.length != 64) return true;
        std::size_t ipv4s = 0, addresses = 0;
        std::uint32_t tallied = 0;
        db->for_each_evidence(
            p, [&](store::evidence_kind k, std::string_view, const store::evidence_item& e) {
                if (k == store::evidence_kind::rejected_ipv4) ++ipv4s;
                if (k == store::evidence_kind::ipv6_address) {
                    ++addresses;
                    tallied += e.count;
                }
                return true;
            });
        INFO(store::format_prefix(p));
        if (ipv4s == 0) {
            CHECK(addresses == 0);  // not associated: the count only
            CHECK(r.addresses >= 1);
            ++plain;
            return true;
        }
        ++associated;
        // Associated: one item per address counted, tallies including the attempts
        // seen before the first association.
        CHECK(addresses == r.addresses);
        CHECK(tallied == r.attempts);
        if (r.addresses == 1) ++single_address;
        return true;
    });
    CHECK(associated > 20);
    CHECK(single_address > 10);
    CHECK(plain > 100);
}

// tcpdump -C writes f, f1, ..., f10, and a shell glob gives them as f f1 f10 f2: read in
// that order, a testbed's second half before its first listed 45 /64s instead of 61. They
// are read in the order of their first packets, whatever order they are given in.
// The capture's first packet alone decided the range BSD syslog years are read in: one
// packet stamped a year and more back moved every line of the maillog a year back, and
// nothing was listed (no error either).
TEST_CASE("one packet stamped wrong at a capture's start does not move the maillog's year",
          "[pipeline]") {
    testbed tb(6);
    ingest::ingest_options o;
    o.captures = {tb.pcap()};
    o.rejects = {tb.log()};
    auto clean = open_store(tb.dir.path("clean"));
    ingest_into(*clean, o);
    const auto listed = listed_64s(*clean);
    REQUIRE(listed.size() > 5);
    // The first record's seconds (classic pcap, little-endian: bytes 24-27), 400 days back.
    std::ifstream in(tb.pcap(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(bytes.size() > 40);
    std::uint32_t sec = 0;
    std::memcpy(&sec, bytes.data() + 24, 4);
    sec -= 400 * 86400;
    std::memcpy(bytes.data() + 24, &sec, 4);
    std::ofstream(tb.dir.path("early.pcap"), std::ios::binary) << bytes;
    o.captures = {tb.dir.path("early.pcap")};
    auto early = open_store(tb.dir.path("early"));
    const auto c = ingest_into(*early, o);
    CHECK(c.rejections() > 0);
    CHECK(listed_64s(*early) == listed);
}

TEST_CASE("captures given out of time order are read in the order of their first packets",
          "[pipeline]") {
    testbed tb;
    // The capture cut in two at its middle packet.
    {
        std::string err;
        auto r = ingest::capture_reader::open_file(tb.pcap(), 0, err);
        REQUIRE(r);
        std::vector<std::pair<std::int64_t, std::vector<std::uint8_t>>> frames;
        ingest::capture_frame f;
        while (r->next(f) == ingest::capture_status::frame)
            frames.emplace_back(f.time_us, std::vector<std::uint8_t>(f.data, f.data + f.caplen));
        REQUIRE(frames.size() > 1000);
        ingest::pcap_file_writer first(tb.dir.path("part-1.pcap"));
        ingest::pcap_file_writer second(tb.dir.path("part-2.pcap"));
        for (std::size_t i = 0; i < frames.size(); ++i)
            (i < frames.size() / 2 ? first : second)
                .write_frame(frames[i].first, frames[i].second.data(), frames[i].second.size());
    }
    auto listed_after = [&](const char* db_name, std::vector<std::string> captures,
                            std::string& diag) {
        auto db = open_store(tb.dir.path(db_name));
        ingest::ingest_options o;
        o.captures = std::move(captures);
        o.rejects = {tb.log()};
        ingest_into(*db, o, nullptr, &diag);
        return listed_64s(*db);
    };
    std::string in_order_diag, reversed_diag;
    const auto in_order = listed_after(
        "in-order", {tb.dir.path("part-1.pcap"), tb.dir.path("part-2.pcap")}, in_order_diag);
    const auto reversed = listed_after(
        "reversed", {tb.dir.path("part-2.pcap"), tb.dir.path("part-1.pcap")}, reversed_diag);
    CHECK(in_order.size() > 20);
    CHECK(reversed == in_order);
    CHECK(in_order_diag.find("captures read in the order") == std::string::npos);
    CHECK(reversed_diag.find("captures read in the order of their first packets") !=
          std::string::npos);
}

TEST_CASE("an address seen again in a later run is not counted twice", "[pipeline]") {
    temp_dir d("recount");
    const auto six = ingest_test::v6("2001:db8:aa:1::1");
    const auto other = ingest_test::v6("2001:db8:aa:1::2");
    const auto sensor = ingest_test::v6("2001:db8:ffff::25");
    const std::int64_t t0 = (std::time(nullptr) - 7200) * 1'000'000LL;
    {
        ingest::pcap_file_writer w(d.path("a.pcap"));
        w.write_syn(t0, six, sensor, ingest::ip_family::v6, 40000, 60, 64800,
                    ingest::os_class::linux_like);
        w.write_syn(t0 + 5'000'000, other, sensor, ingest::ip_family::v6, 40001, 60, 64800,
                    ingest::os_class::linux_like);
    }
    {
        ingest::pcap_file_writer w(d.path("b.pcap"));
        w.write_syn(t0 + 1800'000'000LL, six, sensor, ingest::ip_family::v6, 40100, 60, 64800,
                    ingest::os_class::linux_like);
    }
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {d.path("a.pcap")};
    ingest_into(*db, o);
    o.captures = {d.path("b.pcap")};
    ingest_into(*db, o);
    const auto rec = db->get(*store::parse_prefix("2001:db8:aa:1::/64"));
    REQUIRE(rec);
    CHECK(rec->attempts == 3);
    CHECK(rec->addresses == 2);
    CHECK(db->evidence_count(*store::parse_prefix("2001:db8:aa:1::/64"), 10) == 0);
}

TEST_CASE("a pcapng malformed frame after a non-packet block is reported at its own block",
          "[pipeline]") {
    temp_dir d("pcapng-offset-isb");
    const auto good = ingest_test::ethernet(ingest_test::ip_syn(false, 40000, 25, 64), false);
    auto bad = ingest_test::ethernet(ingest_test::ip_syn(false, 40001, 25, 64), false);
    bad[14] = 0x44;  // IPv4 header length 16 bytes
    ingest_test::pcapng_builder b;
    b.shb();
    b.idb();
    b.epb(good, 1'000'000);
    const std::size_t isb_at = b.f.size();
    b.isb();  // dumpcap writes these (e.g. at the end of a ring-buffer file)
    const std::size_t bad_block = b.epb(bad, 2'000'000);
    std::ofstream(d.path("c.pcapng"), std::ios::binary) << b.f;
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {d.path("c.pcapng")};
    std::string diag;
    ingest_into(*db, o, nullptr, &diag);
    INFO(diag << " (the statistics block is at " << isb_at << ")");
    CHECK(diag.find("c.pcapng:" + std::to_string(bad_block) + ": malformed frame") !=
          std::string::npos);
}

TEST_CASE("a pcapng capture whose first interface is not decoded is read for the others",
          "[pipeline]") {
    // dumpcap -i usbmon0 -i eth0: libpcap's open refused the whole file for its first
    // interface's link type (and for an interface option or a packet before any interface
    // block); v6bl reads pcapng itself and skips only those packets.
    temp_dir d("pcapng-first-usb");
    const std::uint64_t t0 = static_cast<std::uint64_t>(std::time(nullptr)) - 3600;
    const auto syn = [](std::uint16_t port) {
        return ingest_test::ethernet(ingest_test::ip_syn(true, port, 25, 60), true);
    };
    ingest_test::pcapng_builder b;
    b.shb();
    b.idb(220);  // USB (Linux usbmon)
    b.idb(1);
    b.epb(syn(40000), t0 * 1'000'000, 0);  // a frame on the USB interface: skipped
    b.epb(syn(40001), t0 * 1'000'000, 1);
    b.epb(syn(40002), (t0 + 1) * 1'000'000, 1);
    std::ofstream(d.path("u.pcapng"), std::ios::binary) << b.f;
    // A packet block before any interface block, then a good interface and its packet.
    ingest_test::pcapng_builder e;
    e.shb();
    const std::size_t early = e.epb(syn(40003), t0 * 1'000'000, 0);
    e.idb(1);
    e.epb(syn(40004), (t0 + 2) * 1'000'000, 0);
    std::ofstream(d.path("e.pcapng"), std::ios::binary) << e.f;
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {d.path("u.pcapng"), d.path("e.pcapng")};
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.syns == 3);
    CHECK(c.attempts == 3);
    CHECK(diag.find("e.pcapng:" + std::to_string(early) + ":") != std::string::npos);
    CHECK(diag.find("not a pcap") == std::string::npos);
    const auto rec = db->get(*store::parse_prefix("2001:db8:1:2::/64"));
    REQUIRE(rec);
    CHECK(rec->attempts == 3);
}

TEST_CASE("a pcapng capture of mixed interfaces is ingested whole, bad blocks reported and skipped",
          "[pipeline]") {
    temp_dir d("pcapng-mixed");
    ingest_test::pcapng_builder b;
    b.shb();
    b.idb(1);
    b.idb(101, 9);  // a tunnel interface, nanosecond stamps (dumpcap -i eth0 -i tun0)
    const std::uint64_t t0 = static_cast<std::uint64_t>(std::time(nullptr)) - 3600;
    b.epb(ingest_test::ethernet(ingest_test::ip_syn(true, 40000, 25, 60), true), t0 * 1'000'000);
    const std::size_t bad = b.epb(ingest_test::ip_syn(true, 40001, 25, 60), t0 * 1'000'000'000, 1);
    b.f[bad + 20] = static_cast<char>(0xFF);  // its captured length: more than the block holds
    b.epb(ingest_test::ip_syn(true, 40002, 25, 60), (t0 + 1) * 1'000'000'000, 1);
    b.epb(ingest_test::ethernet(ingest_test::ip_syn(true, 40003, 25, 60), true),
          (t0 + 2) * 1'000'000);
    std::ofstream(d.path("m.pcapng"), std::ios::binary) << b.f;
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {d.path("m.pcapng")};
    std::string diag;
    auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.packets == 3);
    CHECK(c.syns == 3);
    CHECK(c.bad_input[static_cast<int>(ingest::bad_input_reason::malformed_packet)] == 1);
    CHECK(diag.find("m.pcapng:" + std::to_string(bad) +
                    ": pcapng packet block whose captured length") != std::string::npos);
    const auto rec = db->get(*store::parse_prefix("2001:db8:1:2::/64"));
    REQUIRE(rec);
    CHECK(rec->attempts == 3);
    // A rerun reads nothing again and reports nothing again.
    diag.clear();
    c = ingest_into(*db, o, nullptr, &diag);
    CHECK(c.packets == 0);
    CHECK(c.bad_inputs() == 0);
}

TEST_CASE("a pcapng block reported once is not reported again when the capture grows",
          "[pipeline]") {
    temp_dir d("pcapng-grow-report");
    ingest_test::pcapng_builder b;
    b.shb();
    b.idb(1);
    const std::uint64_t t0 = static_cast<std::uint64_t>(std::time(nullptr)) - 3600;
    b.epb(ingest_test::ethernet(ingest_test::ip_syn(true, 40000, 25, 60), true), t0 * 1'000'000);
    b.idb(105);  // reported: its packets are skipped
    std::ofstream(d.path("g.pcapng"), std::ios::binary) << b.f;
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {d.path("g.pcapng")};
    CHECK(ingest_into(*db, o).bad_inputs() == 1);
    b.epb(ingest_test::ethernet(ingest_test::ip_syn(true, 40001, 25, 60), true),
          (t0 + 1) * 1'000'000);
    std::ofstream(d.path("g.pcapng"), std::ios::binary) << b.f;  // grown in place
    const auto c = ingest_into(*db, o);
    CHECK(c.packets == 1);
    CHECK(c.bad_inputs() == 0);
}

TEST_CASE("a truncated pcapng block is reported at its start, as a classic record is",
          "[pipeline]") {
    temp_dir d("pcapng-truncated-offset");
    const auto good = ingest_test::ethernet(ingest_test::ip_syn(false, 40000, 25, 64), false);
    ingest_test::pcapng_builder b;
    b.shb();
    b.idb();
    b.epb(good, 1'000'000);
    const std::size_t cut_block = b.epb(good, 2'000'000);
    const std::string cut = b.f.substr(0, cut_block + 40);  // the second block cut short
    std::ofstream(d.path("c.pcapng"), std::ios::binary) << cut;
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.captures = {d.path("c.pcapng")};
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag << " (file size " << cut.size() << ")");
    CHECK(c.bad_input[static_cast<int>(ingest::bad_input_reason::truncated_capture)] == 1);
    CHECK(diag.find("c.pcapng:" + std::to_string(cut_block) + ": truncated capture") !=
          std::string::npos);
}

TEST_CASE(
    "a garbage record length in a pcap whose header claims a huge snaplen is "
    "refused, not allocated",
    "[pipeline]") {
    temp_dir d("huge-snaplen");
    const std::string path = d.path("g.pcap");
    {
        // snaplen 2^31-1 in the file header (garbage; libpcap still refuses any record over
        // 262144 bytes: "invalid packet capture length N, bigger than maximum of 262144")
        const std::uint32_t hdr[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 0x7FFFFFFFu, 1};
        const std::uint32_t rec[4] = {1, 0, 0x7FFFFF00u, 0x7FFFFF00u};
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(hdr), sizeof hdr);
        out.write(reinterpret_cast<const char*>(rec), sizeof rec);
        out << std::string(64, '\0');
    }
    // In a child with its address space capped at what it uses now + 512 MiB, so that the
    // bug cannot take 2 GiB of the test machine.
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        long pages = 0;
        if (std::FILE* s = std::fopen("/proc/self/statm", "r")) {
            if (std::fscanf(s, "%ld", &pages) != 1) pages = 0;
            std::fclose(s);
        }
        const rlim_t cap = static_cast<rlim_t>(pages) * 4096 + (rlim_t{512} << 20);
        const rlimit lim{cap, cap};
        ::setrlimit(RLIMIT_AS, &lim);
        try {
            std::string err;
            auto r = ingest::capture_reader::open_file(path, 0, err);
            if (!r) ::_exit(4);
            ingest::capture_frame f;
            const auto st = r->next(f);
            ::_exit(st == ingest::capture_status::error &&
                            r->last_error().find("invalid packet capture length") !=
                                std::string::npos
                        ? 0
                        : 1);
        } catch (...) {
            ::_exit(3);  // std::bad_alloc: the 2 GiB buffer
        }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    INFO("child exit code (3: bad_alloc, 1: not refused as libpcap refuses it)");
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("the live BPF filter takes the SYNs the decoder takes behind VLAN tags, and no others",
          "[pipeline]") {
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 256);
    bpf_program prog{};
    const std::string filter = ingest::sensor_bpf_filter(25);
    REQUIRE(pcap_compile(dead, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0);
    auto passes = [&](const std::vector<std::uint8_t>& frame) {
        pcap_pkthdr h{};
        h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
        return pcap_offline_filter(&prog, &h, frame.data()) != 0;
    };
    for (int tags = 0; tags <= 2; ++tags) {
        for (bool ipv6 : {false, true}) {
            INFO(tags << " VLAN tag(s), " << (ipv6 ? "IPv6" : "IPv4"));
            const auto syn =
                ingest_test::ethernet(ingest_test::ip_syn(ipv6, 40000, 25, 60), ipv6, tags);
            ingest::syn_record s;
            REQUIRE(ingest::decode_syn(ingest::link_kind::ethernet, syn.data(), syn.size(), 0, 25,
                                       s) == ingest::decode_status::syn);
            CHECK(passes(syn));
            // Another port is dropped by the filter, tagged or not.
            CHECK_FALSE(passes(
                ingest_test::ethernet(ingest_test::ip_syn(ipv6, 40000, 80, 60), ipv6, tags)));
            // IPv4 SYN-ACKs are dropped by the filter (IPv6 ones by the decoder).
            if (!ipv6)
                CHECK_FALSE(passes(ingest_test::ethernet(
                    ingest_test::ip_syn(false, 40000, 25, 60, 0x12), false, tags)));
        }
    }
    pcap_freecode(&prog);
    pcap_close(dead);
}

TEST_CASE("the live BPF filter compiles for cooked and raw IP links, and takes their SYNs",
          "[pipeline]") {
    // `--interface any` (Linux cooked) and tun/ppp (raw IP) failed: "no VLAN support for
    // Linux cooked v1" / "... for Raw IP" (the filter asked for VLAN tags on every link).
    const auto ip4 = ingest_test::ip_syn(false, 40000, 25, 60);
    const auto ip6 = ingest_test::ip_syn(true, 40000, 25, 60);
    auto sll = [](const std::vector<std::uint8_t>& ip, bool ipv6) {
        std::vector<std::uint8_t> f = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};
        f.push_back(ipv6 ? 0x86 : 0x08);
        f.push_back(ipv6 ? 0xdd : 0x00);
        f.insert(f.end(), ip.begin(), ip.end());
        return f;
    };
    struct link_case {
        int dlt;
        ingest::link_kind kind;
        std::vector<std::uint8_t> v4, v6;
    };
    for (const link_case& c :
         {link_case{DLT_LINUX_SLL, ingest::link_kind::linux_sll, sll(ip4, false), sll(ip6, true)},
          link_case{DLT_RAW, ingest::link_kind::raw_ip, ip4, ip6}}) {
        INFO("DLT " << c.dlt);
        pcap_t* dead = pcap_open_dead(c.dlt, 256);
        bpf_program prog{};
        const std::string filter = ingest::sensor_bpf_filter(25, c.kind);
        REQUIRE(pcap_compile(dead, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0);
        for (const auto* f : {&c.v4, &c.v6}) {
            ingest::syn_record s;
            REQUIRE(ingest::decode_syn(c.kind, f->data(), f->size(), 0, 25, s) ==
                    ingest::decode_status::syn);
            pcap_pkthdr h{};
            h.caplen = h.len = static_cast<bpf_u_int32>(f->size());
            CHECK(pcap_offline_filter(&prog, &h, f->data()) != 0);
        }
        pcap_freecode(&prog);
        pcap_close(dead);
    }
}

TEST_CASE("with --smtp-port 0 the live BPF filter takes SYNs to any port, as the decoder does",
          "[pipeline]") {
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 256);
    bpf_program prog{};
    const std::string filter = ingest::sensor_bpf_filter(0);
    REQUIRE(pcap_compile(dead, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0);
    auto passes = [&](const std::vector<std::uint8_t>& frame) {
        pcap_pkthdr h{};
        h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
        return pcap_offline_filter(&prog, &h, frame.data()) != 0;
    };
    for (bool ipv6 : {false, true})
        for (std::uint16_t port : {25, 80, 587}) {
            INFO((ipv6 ? "IPv6" : "IPv4") << " SYN to port " << port);
            const auto syn =
                ingest_test::ethernet(ingest_test::ip_syn(ipv6, 40000, port, 60), ipv6);
            ingest::syn_record s;
            REQUIRE(ingest::decode_syn(ingest::link_kind::ethernet, syn.data(), syn.size(), 0, 0,
                                       s) == ingest::decode_status::syn);
            CHECK(passes(syn));
        }
    // Still only SYNs.
    CHECK_FALSE(
        passes(ingest_test::ethernet(ingest_test::ip_syn(false, 40000, 80, 60, 0x12), false)));
    pcap_freecode(&prog);
    pcap_close(dead);
}

TEST_CASE("the live BPF filter passes SYNs behind extension headers and AH the decoder takes",
          "[pipeline]") {
    // IPv6 + hop-by-hop options header + TCP SYN to port 25, over Ethernet.
    auto ip = ingest_test::ip_syn(true, 40000, 25, 60);
    ip[6] = 0;  // next header: hop-by-hop
    const std::uint8_t hbh[8] = {6, 0, 1, 4, 0, 0, 0, 0};
    ip.insert(ip.begin() + 40, hbh, hbh + 8);
    ip[5] = static_cast<std::uint8_t>(ip[5] + 8);
    const auto frame = ingest_test::ethernet(ip, true);
    ingest::syn_record s;
    REQUIRE(ingest::decode_syn(ingest::link_kind::ethernet, frame.data(), frame.size(), 0, 25, s) ==
            ingest::decode_status::syn);

    // The same SYNs behind an IPsec authentication header (24 bytes), IPv6 and IPv4.
    const std::uint8_t ah[24] = {6, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 7};
    auto ah6 = ingest_test::ip_syn(true, 40000, 25, 60);
    ah6[6] = 51;
    ah6.insert(ah6.begin() + 40, ah, ah + 24);
    ah6[5] = static_cast<std::uint8_t>(ah6[5] + 24);
    auto ah4 = ingest_test::ip_syn(false, 40000, 25, 60);
    ah4[9] = 51;
    ah4.insert(ah4.begin() + 20, ah, ah + 24);
    ah4[3] = static_cast<std::uint8_t>(ah4[3] + 24);  // total length (below 256)
    const auto frame_ah6 = ingest_test::ethernet(ah6, true);
    const auto frame_ah4 = ingest_test::ethernet(ah4, false);
    for (const auto* f : {&frame_ah6, &frame_ah4})
        REQUIRE(ingest::decode_syn(ingest::link_kind::ethernet, f->data(), f->size(), 0, 25, s) ==
                ingest::decode_status::syn);

    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 256);
    bpf_program prog{};
    const std::string filter = ingest::sensor_bpf_filter(25);
    REQUIRE(pcap_compile(dead, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0);
    auto passes = [&](const std::vector<std::uint8_t>& f) {
        pcap_pkthdr h{};
        h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
        return pcap_offline_filter(&prog, &h, f.data()) != 0;
    };
    CHECK(passes(frame));
    CHECK(passes(frame_ah6));
    CHECK(passes(frame_ah4));
    // IPv4 AH traffic other than TCP (here UDP) stays in the kernel.
    auto udp4 = ah4;
    udp4[20] = 17;
    CHECK_FALSE(passes(ingest_test::ethernet(udp4, false)));
    pcap_freecode(&prog);
    pcap_close(dead);
}

TEST_CASE("remote associations older than the store keeps are skipped, counted and noted once",
          "[pipeline]") {
    // The store dropped them as they came, while the summary counted them as listed.
    temp_dir d("stale-json");
    const auto now = static_cast<long long>(std::time(nullptr));
    auto line = [](long long t, int host) {
        return R"({"v":1,"ipv6":"2001:db8:5:)" + std::to_string(host) +
               R"(::1","ipv4":"192.0.2.7","time":)" + std::to_string(t) +
               R"(,"strength":0.9,"ipv4_rejected":true})";
    };
    const std::string js = d.path("a.jsonl");
    std::ofstream(js) << line(now - 40 * 86400, 1) << "\n"
                      << line(now - 31 * 86400, 2) << "\n"
                      << line(now - 86400, 3) << "\n"
                      << " \t \n";  // whitespace alone is a blank line (was invalid JSON)
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.associations = {js};
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.remote_associations == 1);
    CHECK(c.stale_remote_associations == 2);
    CHECK(c.bad_inputs() == 0);
    CHECK(diag.find("a.jsonl:1: time older than the store keeps evidence (30 days)") !=
          std::string::npos);
    CHECK(diag.find("a.jsonl:2") == std::string::npos);  // noted once a source
    CHECK(c.summary().find("(and 2 older than the store keeps, skipped)") != std::string::npos);
    CHECK(db->get(*store::parse_prefix("2001:db8:5:3::/64")).has_value());
}

TEST_CASE("a log given by two hard links is one source, followed or not", "[pipeline]") {
    // Followed, each name read every line appended (counted two or three times).
    temp_dir d("hard-linked-log");
    const std::string log = d.path("maillog"), link = d.path("hard.log");
    std::ofstream(log) << reject_line_of(1) << "\n" << reject_line_of(2) << "\n";
    std::filesystem::create_hard_link(log, link);
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {log, link};
    o.year = 2026;
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.rejections() == 2);
    CHECK(diag.find("hard.log: the same file as") != std::string::npos);
    // Followed: a line appended is read once.
    ingest::ingest_options f = o;
    f.poll_interval_ms = 20;
    follow_run run(*db, f);
    std::ofstream(log, std::ios::app) << reject_line_of(3) << "\n";
    const std::string key = "log:" + std::filesystem::canonical(log).string();
    wait_until(
        [&] { return db->checkpoint(key).value_or("").find(" idx=3 ") != std::string::npos; });
    ingest::ingest_counters fc;
    const std::string fdiag = run.stop(fc);
    INFO(fdiag);
    CHECK(fc.rejections() == 1);
}

TEST_CASE("the line after a crash's cut line and NUL bytes is read, the cut one reported",
          "[pipeline]") {
    // The cut start, the NULs and the next line were taken for one line: that rejection was
    // lost, counted as an ignored reject, with no report.
    temp_dir d("crash-nul-tail");
    const std::string log = d.path("maillog");
    const std::string cut = reject_line_of(1).substr(0, 50);
    std::ofstream(log, std::ios::binary)
        << cut << std::string(5000, '\0') << reject_line_of(2) << "\n"
        << reject_line_of(3) << "\n";
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {log};
    o.year = 2026;
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.rejections() == 2);
    CHECK(diag.find("maillog:1: a line cut short, then NUL bytes") != std::string::npos);
    CHECK(c.bad_inputs() == 1);
}

TEST_CASE("a log cut shorter between runs is read from its start, with a note", "[pipeline]") {
    // (copytruncate between two runs: was read again from line 1 without a word)
    temp_dir d("shorter-between-runs");
    const std::string log = d.path("maillog");
    std::ofstream(log) << reject_line_of(1) << "\n"
                       << reject_line_of(2) << "\n"
                       << reject_line_of(3) << "\n";
    auto db = open_store(d.path("db"));
    ingest::ingest_options o;
    o.rejects = {log};
    o.year = 2026;
    CHECK(ingest_into(*db, o).rejections() == 3);
    std::ofstream(log, std::ios::trunc) << reject_line_of(4) << "\n";
    std::string diag;
    const auto c = ingest_into(*db, o, nullptr, &diag);
    INFO(diag);
    CHECK(c.rejections() == 1);
    CHECK(diag.find("than where it was read to") != std::string::npos);
}
