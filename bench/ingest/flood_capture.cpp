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
#include <random>
#include <string>

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
        std::mt19937_64 rng(7);
        address_bytes sensor{};
        sensor[0] = 0x20;
        sensor[1] = 0x01;
        sensor[2] = 0x0d;
        sensor[3] = 0xb8;
        sensor[15] = 25;
        const std::int64_t start_us = 1'795'000'000LL * 1'000'000;
        for (std::uint64_t i = 0; i < syns; ++i) {
            address_bytes src{};
            const std::uint64_t hi = (rng() & 0x1FFFFFFFFFFFFFFFull) | 0x2000000000000000ull;
            const std::uint64_t lo = rng();
            for (int b = 0; b < 8; ++b) {
                src[b] = static_cast<std::uint8_t>(hi >> (56 - 8 * b));
                src[8 + b] = static_cast<std::uint8_t>(lo >> (56 - 8 * b));
            }
            const std::int64_t t = start_us + static_cast<std::int64_t>(i * 1'000'000 / rate);
            out.write_syn(t, src, sensor, ip_family::v6,
                          static_cast<std::uint16_t>(1024 + (lo >> 48) % 60000), 64, 64240,
                          os_class::linux_like);
        }
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
