// Standard process_* metrics of the running process, read from /proc/self.
#pragma once

#include <prometheus/metric_family.h>

#include <optional>
#include <string_view>
#include <vector>

namespace v6bl::monitoring {

struct process_sample {
    double cpu_seconds = 0;  // utime + stime
    double resident_bytes = 0;
    double virtual_bytes = 0;
    double start_time_seconds = 0;  // unix time
    double open_fds = 0;
    double max_fds = 0;  // soft limit
};

// Parses the fields of /proc/self/stat (after the comm's closing parenthesis), given the
// clock tick rate, page size and boot time. nullopt on a line that does not parse.
std::optional<process_sample> parse_proc_stat(std::string_view stat_line, long ticks_per_second,
                                              long page_size, double boot_time_seconds);

// Reads /proc/self (stat, fd/, limits) and /proc/stat's btime. nullopt off Linux.
std::optional<process_sample> read_process_sample();

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_start_time_seconds, process_open_fds, process_max_fds.
std::vector<prometheus::MetricFamily> process_families(const process_sample& s);

// v6bl_build_info{version} 1.
prometheus::MetricFamily build_info_family();

}  // namespace v6bl::monitoring
