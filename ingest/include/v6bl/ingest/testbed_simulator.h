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
    // Hosts behind each shared NAT IPv4 (15 % of the hosts are NAT members). 8 is a home or
    // office NAT; hundreds model a carrier-grade NAT, whose IPv4 is busy all the time.
    std::uint32_t nat_size = 8;
    std::int64_t start_unix = 0;  // first second of the capture
    // The maillog's BSD syslog times are in the process's local time zone
    // (set_process_time_zone), as syslog on an MTA host writes them; false: UTC. `v6bl
    // simulate --log-timezone` sets both, as `v6bl ingest --log-timezone` does for reading.
    bool local_log_times = false;
    // The sensor resets every connection (design §2), and a capture taken on it holds its
    // RST+ACK to each SYN, reset_delay_us later. false: the SYNs only, as a capture through
    // the live BPF filter has them.
    bool resets = true;
};

struct simulator_result {
    std::uint64_t packets = 0;
    std::uint64_t syns = 0;
    std::uint64_t attempts = 0;
    std::uint64_t log_lines = 0;
    std::uint64_t spammers_both = 0;
};

// Throws std::runtime_error naming the first of hosts, hours, rate, nat_size that is out of
// range (nat_size: 2 to 100000):
// a testbed is at most 10 M hosts, a year (8784 hours) and 10^9 connection attempts, so
// that a typo cannot run for days or exhaust memory.
void check_simulator_options(const simulator_options& options);

// Writes out_dir/sensor.pcap, out_dir/maillog, out_dir/truth.json. Deterministic for a
// given options value. Throws std::runtime_error on bad options (above, and a capture that
// does not fit pcap's 32-bit seconds) and on I/O errors.
simulator_result simulate_testbed(const simulator_options& options);

}  // namespace v6bl::ingest
