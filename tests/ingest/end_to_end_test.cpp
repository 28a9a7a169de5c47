// End to end through the real executable: simulate → `v6bl ingest` → `v6bl lookup --json`,
// and a SIGKILL in the middle of an ingest followed by a rerun equals one clean run.
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "free_port.h"
#include "ingest_test_support.h"
#include "v6bl/ingest/testbed_simulator.h"

#ifdef V6BL_BINARY

using namespace v6bl;
using ingest_test::temp_dir;

namespace {

pid_t spawn(const std::vector<std::string>& args, const std::string& out_path) {
    const pid_t pid = fork();
    if (pid == 0) {
        std::FILE* out = std::fopen(out_path.c_str(), "w");
        if (out) {
            dup2(fileno(out), 1);
            dup2(fileno(out), 2);
        }
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(V6BL_BINARY, argv.data());
        _exit(127);
    }
    return pid;
}

int wait_exit(pid_t pid) {
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

int run(const std::vector<std::string>& args, std::string* output = nullptr) {
    temp_dir d("out");
    const int rc = wait_exit(spawn(args, d.path("out.txt")));
    if (output) {
        std::ifstream in(d.path("out.txt"));
        output->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return rc;
}

nlohmann::json simulate(const std::string& dir, std::uint64_t seed) {
    ingest::simulator_options o;
    o.out_dir = dir;
    o.seed = seed;
    o.hosts = 300;
    o.hours = 2;
    o.rate = 8;
    const std::int64_t now = std::time(nullptr);
    o.start_unix = now - 3 * 3600;
    ingest::simulate_testbed(o);
    nlohmann::json truth;
    std::ifstream(dir + "/truth.json") >> truth;
    return truth;
}

ingest_test::store_dump dump(const std::string& db) {
    store::store_options so;
    so.path = db;
    auto s = store::reputation_store::open_read_only(so);
    return ingest_test::dump_store(*s);
}

}  // namespace

TEST_CASE("v6bl ingest then v6bl lookup --json answers from the evidence", "[end_to_end]") {
    temp_dir d("e2e");
    const auto truth = simulate(d.path("tb"), 21);
    std::string out;
    REQUIRE(run({"v6bl", "ingest", "--db", d.path("db"), "--capture", d.path("tb/sensor.pcap"),
                 "--rejects", d.path("tb/maillog")},
                &out) == 0);
    CHECK(out.find("DNSBL rejections") != std::string::npos);
    CHECK(out.find(" 0 bad inputs") != std::string::npos);

    // A Sendmail or Exchange spammer over both families: listed, with its evidence.
    std::string spammer, legit;
    for (const auto& h : truth["hosts"]) {
        if (spammer.empty() && h["class"] == "spammer_both" &&
            (h["behaviour"] == "exchange-native" || h["behaviour"] == "sendmail") &&
            h["both_family_rounds"].get<int>() >= 4)
            spammer = h["ipv6"];
        if (legit.empty() && h["class"] == "legitimate" && h.contains("ipv6")) legit = h["ipv6"];
    }
    REQUIRE(!spammer.empty());
    REQUIRE(!legit.empty());
    REQUIRE(run({"v6bl", "lookup", "--db", d.path("db"), "--json", spammer}, &out) == 0);
    auto j = nlohmann::json::parse(out);
    CHECK(j["listed"] == true);
    INFO(out);
    // the evidence names its signals (and keeps the bits)
    bool named = false;
    for (const auto& e : j["evidence"])
        if (e["kind"] == "rejected_ipv4") {
            REQUIRE(e["signal_names"].is_array());
            CHECK(e["signal_names"].size() ==
                  static_cast<std::size_t>(std::popcount(e["signals"].get<unsigned>())));
            for (const auto& n : e["signal_names"])
                if (n == "ipv4-rejected") named = true;
        }
    CHECK(named);
    run({"v6bl", "lookup", "--db", d.path("db"), "--json", legit}, &out);  // exit 1: not listed
    j = nlohmann::json::parse(out);
    CHECK(j["listed"] == false);

    // An IPv4 item says whether the IPv4 was rejected: a legitimate host's own IPv4,
    // associated with its /64 but never rejected, is not shown as rejected (it was).
    std::size_t rejected = 0, not_rejected = 0;
    for (const auto& h : truth["hosts"]) {
        if (h["class"] != "legitimate" || !h.contains("ipv6") || !h.contains("ipv4")) continue;
        run({"v6bl", "lookup", "--db", d.path("db"), "--json", h["ipv6"]}, &out);
        const auto found = nlohmann::json::parse(out);
        for (const auto& e : found["evidence"]) {
            if (e["kind"] != "rejected_ipv4") continue;
            bool bit = false;
            for (const auto& n : e["signal_names"]) bit |= n == "ipv4-rejected";
            CHECK(e.value("rejected", !bit) == bit);  // (const: no operator[] on a missing key)
            if (e["ipv4"] != h["ipv4"]) continue;
            ++(bit ? rejected : not_rejected);
            if (bit || not_rejected > 1) continue;
            run({"v6bl", "lookup", "--db", d.path("db"), h["ipv6"]}, &out);
            CHECK(out.find("evidence: IPv4 (associated, not rejected) " +
                           h["ipv4"].get<std::string>()) != std::string::npos);
        }
        if (not_rejected >= 5) break;
    }
    CHECK(not_rejected > 0);
    CHECK(rejected == 0);

    // Idempotent: the same inputs again read nothing and change nothing.
    const auto before = dump(d.path("db"));
    REQUIRE(run({"v6bl", "ingest", "--db", d.path("db"), "--capture", d.path("tb/sensor.pcap"),
                 "--rejects", d.path("tb/maillog")},
                &out) == 0);
    CHECK(out.find("ingest: 0 packets") != std::string::npos);
    CHECK(dump(d.path("db")) == before);

    // Bad input exits non-zero only with --strict.
    std::ofstream(d.path("junk.log")) << "garbage\n";
    CHECK(run({"v6bl", "ingest", "--db", d.path("db"), "--rejects", d.path("junk.log")}, &out) ==
          0);
    CHECK(out.find("junk.log:1: unrecognized log line") != std::string::npos);
    std::ofstream(d.path("junk2.log")) << "garbage\n";
    CHECK(run({"v6bl", "ingest", "--db", d.path("db"), "--strict", "--rejects",
               d.path("junk2.log")}) == 2);
}

TEST_CASE("SIGKILL in the middle of an ingest, then a rerun, equals one clean run",
          "[end_to_end]") {
    temp_dir d("crash");
    simulate(d.path("tb"), 22);
    const std::vector<std::string> inputs = {"--capture",      d.path("tb/sensor.pcap"),
                                             "--rejects",      d.path("tb/maillog"),
                                             "--commit-every", "2000",
                                             "--quiet"};
    auto args = [&](const std::string& db) {
        std::vector<std::string> a = {"v6bl", "ingest", "--db", db};
        a.insert(a.end(), inputs.begin(), inputs.end());
        return a;
    };
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(run(args(d.path("clean"))) == 0);
    const double clean_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto clean = dump(d.path("clean"));
    REQUIRE(clean.size() > 100);

    // Kill at several points of the run until one lands mid-capture (the checkpoint shows
    // the capture started but not finished), then rerun to the end and compare.
    bool killed_mid_run = false;
    for (double frac : {0.5, 0.3, 0.7, 0.2, 0.85, 0.4, 0.6}) {
        const std::string db = d.path("crash-" + std::to_string(static_cast<int>(frac * 100)));
        const pid_t pid = spawn(args(db), d.path("crash.out"));
        std::this_thread::sleep_for(std::chrono::duration<double>(clean_s * frac));
        kill(pid, SIGKILL);
        const int rc = wait_exit(pid);
        if (rc != -SIGKILL) continue;  // it finished before the kill
        std::optional<std::string> cp;
        {
            store::store_options so;
            so.path = db;
            try {
                auto s = store::reputation_store::open_read_only(so);
                cp = s->checkpoint("pcap:" + d.path("tb/sensor.pcap"));
            } catch (const store::store_error&) {
                // killed before the store existed
            }
        }
        if (!cp || cp->find("done=1") != std::string::npos) continue;
        killed_mid_run = true;
        REQUIRE(run(args(db)) == 0);
        const auto after = dump(db);
        CHECK(after.size() == clean.size());
        CHECK(after == clean);
        break;
    }
    CHECK(killed_mid_run);
}

TEST_CASE("following a log tails it across rotation and stops cleanly on SIGTERM", "[end_to_end]") {
    temp_dir d("follow");
    const std::string log = d.path("maillog");
    auto reject = [](int i) {
        return "Nov 24 10:00:0" + std::to_string(i % 10) +
               " mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1.2.3." + std::to_string(i) +
               "]: 554 5.7.1 Service unavailable; Client host [1.2.3." + std::to_string(i) +
               "] blocked using zen.spamhaus.org\n";
    };
    std::ofstream(log) << reject(1) << reject(2);
    const pid_t pid = spawn(
        {"v6bl", "ingest", "--db", d.path("db"), "--rejects", log, "--follow", "--year", "2026"},
        d.path("out.txt"));
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    std::ofstream(log, std::ios::app) << reject(3) << "Nov 24 10:00:04 mx1 postfix/smtpd[1]: par";
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    std::ofstream(log, std::ios::app) << "tial line\n";
    // logrotate: rename, then a new file at the same path.
    std::filesystem::rename(log, log + ".1");
    std::ofstream(log) << reject(4) << reject(5);
    // the renamed file is read until it has been quiet for 1 s, then the new one
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    kill(pid, SIGTERM);
    REQUIRE(wait_exit(pid) == 0);
    std::ifstream in(d.path("out.txt"));
    const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(out);
    CHECK(out.find("5 DNSBL rejections") != std::string::npos);
    CHECK(out.find("6 log lines") != std::string::npos);  // the split line counts once
    CHECK(out.find(" 0 bad inputs") != std::string::npos);
}

namespace {

// One TCP connect() from the loopback to `port` (refused: exactly one SYN on the wire).
void connect_once(int family, std::uint16_t port) {
    const int fd = socket(family, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(sockaddr_in);
    } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_loopback;
        len = sizeof(sockaddr_in6);
    }
    (void)connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
    close(fd);
}

// A SYN from 2001:db8:1:2::10 (IPv6) or 192.0.2.10 (IPv4), source port `sport`, to `port`,
// sent on the loopback as if it had arrived there (AF_PACKET: root, as for the capture). No
// socket can send it: the loopback's addresses are ::1 and 127.0.0.0/8, and SYNs from ::/64
// and 127.0.0.0/8 are no sender's. Addressed to another host's MAC, it goes no further than
// the capture.
void inject_syn(bool ipv6, std::uint16_t sport, std::uint16_t port) {
    const auto frame = ingest_test::ethernet(ingest_test::ip_syn(ipv6, sport, port, 64), ipv6);
    const int fd = socket(AF_PACKET, SOCK_RAW, 0);  // protocol 0: sends, receives nothing
    REQUIRE(fd >= 0);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(if_nametoindex("lo"));
    to.sll_halen = 6;
    CHECK(sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
          static_cast<ssize_t>(frame.size()));
    close(fd);
}

void udp_once(std::uint16_t port) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    close(fd);
}

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Starts `v6bl ingest --interface lo` for `port` and waits until it captures. Returns its
// pid, or -1 (with the child reaped and `why` set) when it did not get there.
pid_t start_live_ingest(const temp_dir& d, std::uint16_t port, std::string& why,
                        const std::string& buffer_mb = "32",
                        const std::vector<std::string>& more = {}) {
    std::vector<std::string> argv = {"v6bl",
                                     "ingest",
                                     "--db",
                                     d.path("db"),
                                     "--interface",
                                     "lo",
                                     "--smtp-port",
                                     std::to_string(port),
                                     "--capture-buffer-mb",
                                     buffer_mb};
    argv.insert(argv.end(), more.begin(), more.end());
    const pid_t pid = spawn(argv, d.path("out.txt"));
    bool exited = false;
    int status = 0;  // the child's wait status, when it ended before capturing
    for (int i = 0; i < 200 && !exited; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (read_all(d.path("out.txt")).find("capturing on lo") != std::string::npos) return pid;
        exited = waitpid(pid, &status, WNOHANG) == pid;
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    why = "output: " + read_all(d.path("out.txt")) + "; wait status " + std::to_string(status);
    return -1;
}

}  // namespace

// Needs capture rights on `lo` (root or CAP_NET_RAW, as the README's test command runs).
TEST_CASE(
    "a live capture on the loopback takes the SYNs to the SMTP port only, and closes "
    "their attempts when the link has been quiet for the attempt window",
    "[end_to_end][live]") {
    temp_dir d("live");
    const std::uint16_t port = v6bl::test::free_port();
    std::string why;
    const pid_t pid = start_live_ingest(d, port, why);
    INFO(why);
    REQUIRE(pid > 0);
    for (int i = 0; i < 10; ++i) {
        connect_once(AF_INET, port);   // from 127.0.0.1: a packet, no sender's SYN
        connect_once(AF_INET6, port);  // from ::1: the same
        inject_syn(true, static_cast<std::uint16_t>(40000 + i), port);
        inject_syn(false, static_cast<std::uint16_t>(40000 + i), port);
        connect_once(AF_INET, static_cast<std::uint16_t>(port + 1));  // not the SMTP port
        udp_once(port);                                               // not TCP
    }
    // Each SYN came from its own source port: 20 attempts, closed once the link has been
    // quiet for the 25 s window (by the wall clock, no packet closes them).
    std::this_thread::sleep_for(std::chrono::seconds(27));
    kill(pid, SIGTERM);
    REQUIRE(wait_exit(pid) == 0);
    const std::string out = read_all(d.path("out.txt"));
    INFO(out);
    CHECK(out.find("ingest: 40 packets, 20 SYNs (10 IPv6), 20 connect() attempts (10 IPv6)") !=
          std::string::npos);
    CHECK(out.find(" 0 bad inputs") != std::string::npos);
}

// The engine state goes with the first commit and then at most every --state-interval;
// a commit of data in between says that the state is behind, and a restart after a SIGKILL
// drops what that state held open instead of counting it twice.
TEST_CASE("a live capture writes its engine state once per state interval, not per commit",
          "[end_to_end][live]") {
    temp_dir d("livestate");
    const std::uint16_t port = v6bl::test::free_port();
    std::string why;
    pid_t pid = start_live_ingest(d, port, why, "32", {"--state-interval", "3600"});
    INFO(why);
    REQUIRE(pid > 0);
    // IPv6 attempts are data
    for (int i = 0; i < 5; ++i) inject_syn(true, static_cast<std::uint16_t>(40000 + i), port);
    auto checkpoint = [&](const std::string& key) {
        store::store_options so;
        so.path = d.path("db");
        return store::reputation_store::open_read_only(so)->checkpoint(key).value_or("");
    };
    // The attempts close after 25 quiet seconds (by the wall clock); the commit with them
    // comes without the state, which went with the first commit.
    std::string behind;
    for (int i = 0; i < 600 && behind != "1"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        behind = checkpoint("engine:0:behind");
    }
    kill(pid, SIGKILL);
    wait_exit(pid);
    CHECK(behind == "1");
    CHECK(checkpoint("engine:0").find("name=engine-0.1 ") != std::string::npos);
    // Restarted, it says what it dropped, and its clean stop writes the state.
    std::filesystem::remove(d.path("out.txt"));
    pid = start_live_ingest(d, port, why);
    REQUIRE(pid > 0);
    kill(pid, SIGTERM);
    REQUIRE(wait_exit(pid) == 0);
    CHECK(read_all(d.path("out.txt")).find("the engine state is older than the data committed") !=
          std::string::npos);
    CHECK(checkpoint("engine:0:behind") == "0");
}

namespace {

// SIGSTOPs a live ingest with a capture buffer of `buffer_mb` while `sent` SYNs arrive, lets
// it read on, stops it; returns its summary's packets and kernel drops.
std::pair<unsigned long long, unsigned long long> syns_while_stopped(const std::string& tag,
                                                                     const std::string& buffer_mb,
                                                                     int sent) {
    temp_dir d(tag);
    const std::uint16_t port = v6bl::test::free_port();
    std::string why;
    const pid_t pid = start_live_ingest(d, port, why, buffer_mb);
    INFO(why);
    REQUIRE(pid > 0);
    kill(pid, SIGSTOP);  // stopped, ingest reads nothing: the capture buffer fills up
    for (int i = 0; i < sent; ++i) connect_once(AF_INET, port);
    kill(pid, SIGCONT);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    kill(pid, SIGTERM);
    REQUIRE(wait_exit(pid) == 0);
    const std::string out = read_all(d.path("out.txt"));
    INFO(out);
    unsigned long long packets = 0, dropped = 0;
    const std::string summary = out.substr(out.rfind("ingest: "));
    REQUIRE(std::sscanf(summary.c_str(), "ingest: %llu packets", &packets) == 1);
    const auto at = summary.find(" packets dropped by the kernel");
    if (at != std::string::npos)
        REQUIRE(std::sscanf(summary.c_str() + summary.rfind(' ', at - 1) + 1, "%llu", &dropped) ==
                1);
    return {packets, dropped};
}

}  // namespace

TEST_CASE("a live capture counts what the kernel dropped while ingest could not read",
          "[end_to_end][live]") {
    const int sent = 40000;
    const auto [packets, dropped] = syns_while_stopped("livedrop", "1", sent);
    CHECK(dropped > 0);
    // Every SYN was read or dropped. On lo the capture gets each packet twice (sent and
    // received; libpcap skips the sent copy), so a drop there can count twice.
    CHECK(packets + dropped >= static_cast<unsigned long long>(sent));
    CHECK(packets + dropped / 2 <= static_cast<unsigned long long>(sent));
}

TEST_CASE("a larger capture buffer holds what arrives while ingest cannot read",
          "[end_to_end][live]") {
    const int sent = 40000;
    const auto [packets, dropped] = syns_while_stopped("livebuffer", "64", sent);
    CHECK(dropped == 0);
    CHECK(packets == static_cast<unsigned long long>(sent));
}

TEST_CASE("a live capture on an interface that does not exist fails at once, naming it",
          "[end_to_end][live]") {
    temp_dir d("nolink");
    std::string out;
    const int rc =
        run({"v6bl", "ingest", "--db", d.path("db"), "--interface", "v6bl-no-such0"}, &out);
    INFO(out);
    CHECK(rc != 0);
    CHECK(out.find("v6bl-no-such0") != std::string::npos);
}

#endif
