// A synthetic sensor testbed: sensor.pcap, a Postfix maillog and truth.json, from a seed.
#pragma once

#include <cstdint>
#include <string>

namespace v6bl::ingest {

struct simulator_options {
    std::string out_dir;
    std::uint64_t seed = 1;
    std::uint32_t hosts = 2000;  // modelled hosts (spammers, MTAs, NAT members)
    double hours = 6.0;
    // Connection attempts per second the sensor sees in total; one-shot background
    // traffic (legitimate MTAs, IPv4 spam bots) fills up to this rate.
    double rate = 20.0;
    std::int64_t start_unix = 0;  // first second of the capture
};

struct simulator_result {
    std::uint64_t packets = 0;
    std::uint64_t attempts = 0;
    std::uint64_t log_lines = 0;
    std::uint64_t spammers_both = 0;
};

// Writes out_dir/sensor.pcap, out_dir/maillog, out_dir/truth.json. Deterministic for a
// given options value. Throws std::runtime_error on I/O errors.
simulator_result simulate_testbed(const simulator_options& options);

}  // namespace v6bl::ingest
