// bench/ingest flood: a capture of SYNs from spoofed IPv6 sources, each from a /64 never
// seen before (random, as a spoofing flood or a scan of source addresses gives them), at a
// steady rate. flood.sh ingests it with and without the address book's bound of /64s and
// prints what each run held in memory.
//
// Usage: bench_flood_capture OUT.pcap SYNS RATE_PER_S
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "../common/spoofed_syns.h"
#include "v6bl/ingest/pcap_file_writer.h"

using namespace v6bl::ingest;

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: bench_flood_capture OUT.pcap SYNS RATE_PER_S\n");
        return 2;
    }
    const std::uint64_t syns = std::strtoull(argv[2], nullptr, 10);
    const std::uint64_t rate = std::strtoull(argv[3], nullptr, 10);
    if (syns == 0 || rate == 0 || rate > 1'000'000) {
        std::fprintf(stderr, "bench_flood_capture: SYNS and RATE_PER_S (1..1000000) must be > 0\n");
        return 2;
    }
    try {
        pcap_file_writer out(argv[1]);
        v6bl::bench::spoofed_syns flood(7);
        const std::int64_t start_us = 1'795'000'000LL * 1'000'000;
        for (std::uint64_t i = 0; i < syns; ++i)
            flood.write(out, start_us + static_cast<std::int64_t>(i * 1'000'000 / rate));
        out.close();
        std::printf("bench_flood_capture: %llu SYNs from new /64s, %llu a second (%.0f s)\n",
                    static_cast<unsigned long long>(syns), static_cast<unsigned long long>(rate),
                    static_cast<double>(syns) / static_cast<double>(rate));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_flood_capture: %s\n", e.what());
        return 1;
    }
    return 0;
}
