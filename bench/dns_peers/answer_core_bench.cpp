// The answer core's CPU per query without sockets: answer_query and the view lookup alone,
// over N random listed /64s with half the queries listed (as run_bench.py sends them).
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "v6bl/server/answer.h"
#include "v6bl/store/listing_view.h"

using namespace v6bl;

namespace {
// Thread CPU time: the machine is shared, wall time would count other processes.
double cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}
}  // namespace

int main(int argc, char** argv) {
    const std::size_t listings = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
    const std::size_t queries = 1 << 20;
    std::mt19937_64 rng(1);
    std::vector<store::listing_entry> entries;
    std::vector<std::uint64_t> highs;
    for (std::size_t i = 0; i < listings; ++i) {
        const std::uint64_t h = (1ull << 61) | (rng() >> 3);
        highs.push_back(h);
        store::listing_entry e;
        e.where = store::make_prefix64(h);
        e.code = store::reason_code::associated;
        e.source_length = 64;
        entries.push_back(e);
    }
    entries.push_back(store::rfc5782_test_entry());
    const auto t0 = std::chrono::steady_clock::now();
    auto view = store::listing_view::build(std::move(entries), {}, 1);
    const auto t1 = std::chrono::steady_clock::now();
    const server::answer_zone zone(zones::zone_config{});

    // Wire queries: 32 nibble labels, the zone, type A.
    std::vector<std::vector<std::uint8_t>> wire;
    std::vector<store::ipv6_bytes> addrs;
    for (std::size_t i = 0; i < queries; ++i) {
        const std::uint64_t hi =
            i % 2 ? highs[rng() % highs.size()] : ((1ull << 61) | (rng() >> 3));
        const std::uint64_t lo = rng();
        store::ipv6_bytes a{};
        for (int b = 0; b < 8; ++b) {
            a[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(hi >> (56 - 8 * b));
            a[static_cast<std::size_t>(8 + b)] = static_cast<std::uint8_t>(lo >> (56 - 8 * b));
        }
        addrs.push_back(a);
        std::vector<std::uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
        static constexpr char hex[] = "0123456789abcdef";
        for (int n = 31; n >= 0; --n) {
            const std::uint8_t byte = a[static_cast<std::size_t>(n / 2)];
            q.push_back(1);
            q.push_back(static_cast<std::uint8_t>(hex[(n % 2 == 0) ? (byte >> 4) : (byte & 0x0f)]));
        }
        const auto zw = zone.zone_wire();
        q.insert(q.end(), zw.begin(), zw.end());
        q.insert(q.end(), {0, 1, 0, 1});
        wire.push_back(std::move(q));
    }
    // One contiguous buffer, as queries sit in the receive buffer of a real server.
    std::vector<std::uint8_t> flat;
    std::vector<std::pair<std::size_t, std::size_t>> spans;
    for (const auto& q : wire) {
        spans.emplace_back(flat.size(), q.size());
        flat.insert(flat.end(), q.begin(), q.end());
    }
    wire.clear();
    wire.shrink_to_fit();
    std::vector<std::uint8_t> out(4096);
    const server::answer_context ctx{view.get(), &zone, 1790000000, server::transport_kind::udp};
    std::size_t listed = 0, bytes = 0;
    const double t2 = cpu_ns();
    for (const auto& [at, len] : spans) {
        const auto r = server::answer_query({flat.data() + at, len}, out, ctx);
        listed += r.outcome == server::answer_outcome::listed;
        bytes += r.size;
    }
    const double t3 = cpu_ns();
    std::size_t listed2 = 0;
    for (const auto& a : addrs)
        listed2 += view->resolve_address(a, 1790000000).state == store::name_state::listed;
    const double t4 = cpu_ns();
    const auto ns = [](auto a, auto b) {
        return std::chrono::duration<double, std::nano>(b - a).count();
    };
    std::printf("listings %zu: view built in %.2f s, %.1f MB\n", listings, ns(t0, t1) / 1e9,
                static_cast<double>(view->memory_bytes()) / 1e6);
    std::printf("answer_query:            %.0f ns/query CPU (%zu listed of %zu, %zu bytes out)\n",
                (t3 - t2) / static_cast<double>(queries), listed, queries, bytes);
    std::printf("view resolve_address:    %.0f ns/query CPU (%zu listed)\n",
                (t4 - t3) / static_cast<double>(queries), listed2);
    return listed == listed2 ? 0 : 1;
}
