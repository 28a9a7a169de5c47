// Store benchmark: batched upserts/s and lookup cost at several store sizes, in one run.
// Usage: store_bench [DIR] [sizes...]   (default sizes: 10000 1000000 10000000)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "v6bl/store/listing_view.h"
#include "v6bl/store/store.h"

using namespace v6bl::store;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::uint32_t now = 1800000000;

double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

// The i-th listed /64: spread over random /48s like real sender populations.
std::uint64_t listed_high64(std::uint64_t i) {
    std::uint64_t x = i * 0x9e3779b97f4a7c15ull;
    x ^= x >> 31;
    return 0x2a00000000000000ull | (x & 0x00ffffffffffffffull);
}

struct result {
    std::size_t size;
    double upserts_per_s;
    double store_lookup_us;
    double view_lookup_ns;
    double view_build_s;
    std::size_t view_bytes;
};

result run(const std::string& dir, std::size_t n) {
    std::filesystem::remove_all(dir);
    store_options o;
    o.path = dir;
    o.block_cache_mb = 256;
    result res{n, 0, 0, 0, 0, 0};
    {
        auto s = reputation_store::open_writer(o);
        constexpr std::size_t batch = 50000;
        const auto t0 = clock_type::now();
        for (std::size_t i = 0; i < n;) {
            change_set cs;
            for (std::size_t j = 0; j < batch && i < n; ++j, ++i) {
                reputation_record r;
                r.reason_bits = bit_associated;
                r.strength_milli = 900;
                r.attempts = 3;
                r.rejected_ipv4s = 1;
                r.first_seen = now - 100;
                r.last_seen = now;
                cs.merge_record(make_prefix64(listed_high64(i)), r);
            }
            s->commit(std::move(cs), now);
        }
        res.upserts_per_s = static_cast<double>(n) / seconds_since(t0);
    }
    auto s = reputation_store::open_read_only(o);
    listing_policy policy;
    policy.escalate_48_after = 0;
    policy.escalate_56_after = 0;
    std::mt19937_64 rng(7);
    const std::size_t lookups = 100000;
    std::vector<ipv6_bytes> probes(lookups);
    for (auto& p : probes) {
        const bool listed = rng() % 2 == 0;
        const std::uint64_t high =
            listed ? listed_high64(rng() % n) : (0x2b00000000000000ull | (rng() >> 8));
        p = make_prefix64(high).address;
        p[15] = static_cast<std::uint8_t>(rng());
    }
    std::size_t hits = 0;
    // warm the caches with one pass over a tenth, then time a full pass
    for (std::size_t i = 0; i < lookups / 10; ++i) hits += s->lookup(probes[i], policy, now).listed;
    hits = 0;
    auto t0 = clock_type::now();
    for (const auto& p : probes) hits += s->lookup(p, policy, now).listed;
    res.store_lookup_us = seconds_since(t0) * 1e6 / lookups;
    if (hits < lookups / 3)
        std::fprintf(stderr, "warning: only %zu of %zu store lookups listed\n", hits, lookups);

    t0 = clock_type::now();
    auto view = build_view(*s, policy, now);
    res.view_build_s = seconds_since(t0);
    res.view_bytes = view->memory_bytes();
    std::vector<ipv6_bytes> many;
    for (int rep = 0; rep < 20; ++rep) many.insert(many.end(), probes.begin(), probes.end());
    std::size_t vhits = 0;
    t0 = clock_type::now();
    for (const auto& p : many) vhits += view->resolve_address(p, now).state == name_state::listed;
    res.view_lookup_ns = seconds_since(t0) * 1e9 / static_cast<double>(many.size());
    if (vhits != hits * 20)
        std::fprintf(stderr, "warning: view and store disagree (%zu vs %zu)\n", vhits / 20, hits);
    return res;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : "/tmp/v6bl-store-bench";
    std::vector<std::size_t> sizes;
    for (int i = 2; i < argc; ++i) sizes.push_back(std::stoull(argv[i]));
    if (sizes.empty()) sizes = {10000, 1000000, 10000000};
    std::vector<result> results;
    std::printf("%10s %14s %16s %14s %12s %12s\n", "listed/64s", "upserts/s", "store lookup",
                "view lookup", "view build", "view MB");
    for (auto n : sizes) {
        results.push_back(run(dir, n));
        const auto& r = results.back();
        std::printf("%10zu %14.0f %13.2f us %11.0f ns %10.2f s %12.1f\n", r.size, r.upserts_per_s,
                    r.store_lookup_us, r.view_lookup_ns, r.view_build_s, r.view_bytes / 1048576.0);
        std::fflush(stdout);
    }
    std::filesystem::remove_all(dir);
    const auto& small = results.front();
    const auto& large = results.back();
    double min_upserts = 1e18;
    for (const auto& r : results) min_upserts = std::min(min_upserts, r.upserts_per_s);
    std::printf("\nbar upserts >= 500k/s: slowest %.0f/s -> %s\n", min_upserts,
                min_upserts >= 500000 ? "met" : "NOT met");
    std::printf(
        "bar lookup cost at %zu <= 1.2x at %zu: store %.2fx, view %.2fx -> %s\n", large.size,
        small.size, large.store_lookup_us / small.store_lookup_us,
        large.view_lookup_ns / small.view_lookup_ns,
        large.store_lookup_us / small.store_lookup_us <= 1.2 ? "met (store)" : "NOT met (store)");
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("peak RSS %.0f MB\n", ru.ru_maxrss / 1024.0);
    return 0;
}
