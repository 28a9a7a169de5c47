// zones benchmark: fills a store with N listed /64s, then times a zone export and an AXFR
// over loopback TCP, reporting wall time, records per second and peak RSS.
//   v6bl_zones_bench fill DB N
//   v6bl_zones_bench export DB OUT [zone|rbldnsd|json] [direct|ldns-records]
//   v6bl_zones_bench axfr DB
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "v6bl/store/store.h"
#include "v6bl/zones/atomic_file.h"
#include "v6bl/zones/transfer_responder.h"
#include "v6bl/zones/zone_export.h"
#include "zone_test_support.h"

using namespace v6bl;
using bench_clock = std::chrono::steady_clock;

namespace {

double seconds_since(bench_clock::time_point start) {
    return std::chrono::duration<double>(bench_clock::now() - start).count();
}

long peak_rss_mb() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024;
}

constexpr std::uint32_t bench_now = 1795000000;

// One /64 per /48 spread over 2000::/4 so that no escalation applies: N listings exactly.
store::prefix bench_prefix(std::uint64_t i) {
    return store::make_prefix64(0x2000000000000000ull + (i << 16));
}

int fill(const std::string& db, std::uint64_t n) {
    store::store_options o;
    o.path = db;
    o.sync_commits = false;
    auto w = store::reputation_store::open_writer(o);
    const auto start = bench_clock::now();
    constexpr std::uint64_t batch = 100000;
    for (std::uint64_t first = 0; first < n; first += batch) {
        store::change_set cs;
        for (std::uint64_t i = first; i < std::min(n, first + batch); ++i) {
            store::reputation_record r;
            r.reason_bits = store::bit_associated;
            r.strength_milli = 900;
            r.first_seen = bench_now - 7200;
            r.last_seen = bench_now - 60;
            r.attempts = 3;
            r.addresses = 1;
            r.rejected_ipv4s = 1;
            cs.merge_record(bench_prefix(i), r);
        }
        w->commit(std::move(cs), bench_now);
    }
    std::printf("fill: %llu /64s in %.1f s, serial %u\n", static_cast<unsigned long long>(n),
                seconds_since(start), w->serial());
    return 0;
}

std::unique_ptr<store::reputation_store> open_ro(const std::string& db) {
    store::store_options o;
    o.path = db;
    o.create_if_missing = false;
    return store::reputation_store::open_read_only(o);
}

int run_export(const std::string& db, const std::string& out, const std::string& format,
               const std::string& mode) {
    auto store = open_ro(db);
    zones::zone_config config;
    const auto start = bench_clock::now();
    zones::atomic_file file(out);
    const auto result =
        zones::export_published(*store, config, store::listing_policy{}, bench_now,
                                *zones::parse_export_format(format), file.stream(),
                                mode == "ldns-records" ? zones::zone_text_mode::ldns_records
                                                       : zones::zone_text_mode::direct);
    file.commit();
    const double t = seconds_since(start);
    std::printf("export %s (%s): %llu listings in %.1f s (%.0f listings/s), peak RSS %ld MB\n",
                format.c_str(), mode.c_str(), static_cast<unsigned long long>(result.tree.entries),
                t, static_cast<double>(result.tree.entries) / t, peak_rss_mb());
    return 0;
}

// Reads length-prefixed messages until the second SOA, walking RR headers only.
struct axfr_count {
    std::uint64_t messages = 0, records = 0, bytes = 0;
    bool complete = false;
};

bool read_full(int fd, std::uint8_t* p, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
        const ssize_t r = ::recv(fd, p + got, n - got, 0);
        if (r <= 0) return false;
        got += static_cast<std::size_t>(r);
    }
    return true;
}

std::size_t skip_name(const std::vector<std::uint8_t>& m, std::size_t i) {
    while (i < m.size()) {
        if ((m[i] & 0xc0) == 0xc0) return i + 2;
        if (m[i] == 0) return i + 1;
        i += m[i] + 1u;
    }
    return m.size();
}

axfr_count axfr_client(int port) {
    axfr_count c;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<std::uint16_t>(port));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) return c;
    // AXFR dnsbl6.example.org IN, ID 1
    std::vector<std::uint8_t> q = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    for (const char* label : {"dnsbl6", "example", "org"}) {
        q.push_back(static_cast<std::uint8_t>(std::strlen(label)));
        q.insert(q.end(), label, label + std::strlen(label));
    }
    q.insert(q.end(), {0, 0, 252, 0, 1});
    const std::uint8_t len[2] = {0, static_cast<std::uint8_t>(q.size())};
    ::send(fd, len, 2, 0);
    ::send(fd, q.data(), q.size(), 0);
    int soas = 0;
    std::vector<std::uint8_t> m;
    while (soas < 2) {
        std::uint8_t l[2];
        if (!read_full(fd, l, 2)) break;
        m.resize(static_cast<std::size_t>(l[0] << 8 | l[1]));
        if (!read_full(fd, m.data(), m.size())) break;
        ++c.messages;
        c.bytes += m.size() + 2;
        const unsigned qd = static_cast<unsigned>(m[4] << 8 | m[5]);
        const unsigned an = static_cast<unsigned>(m[6] << 8 | m[7]);
        std::size_t i = 12;
        for (unsigned k = 0; k < qd; ++k) i = skip_name(m, i) + 4;
        for (unsigned k = 0; k < an && i + 10 <= m.size(); ++k) {
            i = skip_name(m, i);
            if (m[i] == 0 && m[i + 1] == 6) ++soas;
            i += 10u + static_cast<unsigned>(m[i + 8] << 8 | m[i + 9]);
            ++c.records;
        }
    }
    c.complete = soas == 2;
    ::close(fd);
    return c;
}

int run_axfr(const std::string& db) {
    auto store = open_ro(db);
    zones::zone_config config;
    config.transfer_allow = {"127.0.0.1"};
    store::listing_policy policy;
    policy.expiry_seconds = 0;  // the bench store's clock is fixed
    zones::transfer_responder responder(config, policy, *store, false);
    const int port = zones::testing::free_port();
    zones::testing::transfer_test_server server(responder, port);
    const auto start = bench_clock::now();
    const axfr_count c = axfr_client(port);
    const double t = seconds_since(start);
    std::printf(
        "axfr: %s, %llu records in %llu messages (%.1f MB) in %.1f s (%.0f RR/s), "
        "peak RSS %ld MB\n",
        c.complete ? "complete" : "INCOMPLETE", static_cast<unsigned long long>(c.records),
        static_cast<unsigned long long>(c.messages), static_cast<double>(c.bytes) / 1e6, t,
        static_cast<double>(c.records) / t, peak_rss_mb());
    return c.complete ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.size() == 3 && args[0] == "fill") return fill(args[1], std::stoull(args[2]));
        if (args.size() >= 3 && args[0] == "export") {
            return run_export(args[1], args[2], args.size() > 3 ? args[3] : "zone",
                              args.size() > 4 ? args[4] : "direct");
        }
        if (args.size() == 2 && args[0] == "axfr") return run_axfr(args[1]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "v6bl_zones_bench: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr,
                 "usage: v6bl_zones_bench fill DB N | export DB OUT [FORMAT] [MODE] | axfr DB\n");
    return 2;
}
