// The large-table allocator: 2 MiB-aligned mappings advised as huge pages, the ordinary
// allocator below its threshold, and tables that work on either.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "v6bl/ingest/huge_page_allocator.h"
#include "v6bl/ingest/round_history_table.h"

using namespace v6bl::ingest;

namespace {

// The VmFlags line of the mapping that holds `p`, from /proc/self/smaps.
std::string vm_flags_of(const void* p) {
    std::ifstream in("/proc/self/smaps");
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    std::string line;
    bool inside = false;
    while (std::getline(in, line)) {
        unsigned long lo = 0, hi = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> lo >> dash >> hi && dash == '-' && line.find(':') > 8) {
            inside = lo <= at && at < hi;
            continue;
        }
        if (inside && line.rfind("VmFlags:", 0) == 0) return line;
    }
    return {};
}

struct alignas(64) line_sized {
    std::uint64_t v[8];
};

}  // namespace

TEST_CASE("huge_page_allocator maps large tables on 2 MiB boundaries, advised as huge pages") {
    using alloc = huge_page_allocator<std::uint64_t>;
    const std::size_t n = (std::size_t{6} << 20) / 8;  // 6 MiB
    std::vector<std::uint64_t, alloc> big(n);
    for (std::size_t i = 0; i < n; ++i) big[i] = i * 3;
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += big[i];
    CHECK(sum == 3 * (n * (n - 1) / 2));
    const std::string flags = vm_flags_of(big.data());
    INFO(flags);
    REQUIRE(!flags.empty());
    struct stat st {};
    if (!alloc::enabled) {
        // AddressSanitizer builds keep every table on the ordinary heap.
        CHECK(flags.find(" hg") == std::string::npos);
    } else {
        CHECK(reinterpret_cast<std::uintptr_t>(big.data()) % alloc::huge == 0);
        // "hg": the mapping carries MADV_HUGEPAGE (whether the kernel finds free huge pages
        // for it is the host's business). Kernels without THP have no such directory.
        if (::stat("/sys/kernel/mm/transparent_hugepage", &st) == 0)
            CHECK(flags.find(" hg") != std::string::npos);
    }
    // Growing copies into a new mapping and unmaps the old one.
    big.resize(2 * n, 7);
    if (alloc::enabled) CHECK(reinterpret_cast<std::uintptr_t>(big.data()) % alloc::huge == 0);
    CHECK(big[n - 1] == 3 * (n - 1));
    CHECK(big[2 * n - 1] == 7);
}

TEST_CASE("huge_page_allocator leaves small tables to the ordinary allocator, aligned") {
    std::vector<line_sized, huge_page_allocator<line_sized>> small(100);
    CHECK(reinterpret_cast<std::uintptr_t>(small.data()) % 64 == 0);
    const std::string flags = vm_flags_of(small.data());
    REQUIRE(!flags.empty());
    CHECK(flags.find(" hg") == std::string::npos);
}

TEST_CASE("round_history_table keeps its histories across growth onto huge pages") {
    round_history_table t;
    const std::int64_t minute = 60'000'000, t0 = 1'700'000'000'000'000;
    // 300k addresses: the slots outgrow 4 MiB (and the rings, one in ten, grow too).
    for (std::uint32_t i = 0; i < 300'000; ++i) {
        const address_bytes a = address_from_ipv4(0x0A000000u + i);
        t.add(a, round_history_table::hash(a), t0, t0, 1000, minute);
        if (i % 10 == 0)
            t.add(a, round_history_table::hash(a), t0 + minute, t0 + minute, 1001, minute);
    }
    CHECK(t.capacity() * sizeof(round_history_table::entry) >= (std::size_t{4} << 20));
    CHECK(t.live_size() == 300'000);
    CHECK(t.multi_round_size() == 30'000);
    for (std::uint32_t i : {0u, 1u, 10u, 299'990u, 299'999u}) {
        const address_bytes a = address_from_ipv4(0x0A000000u + i);
        const round_history_table::entry* e = t.find(a, round_history_table::hash(a));
        REQUIRE(e);
        CHECK(e->rounds == (i % 10 == 0 ? 2 : 1));
        CHECK(t.rounds_of(*e).count == e->rounds);
    }
}
