// SYNs from spoofed IPv6 sources, each a new random address in 2000::/3 (a /64 never seen
// before, as a spoofing flood or a scan of source addresses gives them), to the sensor's
// port 25: the flood of bench/ingest/flood_capture.cpp and of bench_association --flood.
#pragma once
#include <cstdint>
#include <random>

#include "v6bl/ingest/pcap_file_writer.h"

namespace v6bl::bench {

class spoofed_syns {
  public:
    explicit spoofed_syns(std::uint64_t seed) : rng_(seed) {
        sensor_[0] = 0x20;
        sensor_[1] = 0x01;
        sensor_[2] = 0x0d;
        sensor_[3] = 0xb8;
        sensor_[15] = 25;
    }
    // One SYN at `time_us`, from the next random source.
    void write(ingest::pcap_file_writer& out, std::int64_t time_us) {
        ingest::address_bytes src{};
        const std::uint64_t hi = (rng_() & 0x1FFFFFFFFFFFFFFFull) | 0x2000000000000000ull;
        const std::uint64_t lo = rng_();
        for (int b = 0; b < 8; ++b) {
            src[b] = static_cast<std::uint8_t>(hi >> (56 - 8 * b));
            src[8 + b] = static_cast<std::uint8_t>(lo >> (56 - 8 * b));
        }
        out.write_syn(time_us, src, sensor_, ingest::ip_family::v6,
                      static_cast<std::uint16_t>(1024 + (lo >> 48) % 60000), 64, 64240,
                      ingest::os_class::linux_like);
    }

  private:
    std::mt19937_64 rng_;
    ingest::address_bytes sensor_{};
};

}  // namespace v6bl::bench
