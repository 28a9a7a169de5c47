// Standard process_* metrics of the running process, read from /proc/self.
#include "v6bl/monitoring/process_families.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "family_builder.h"

#ifndef V6BL_VERSION
#define V6BL_VERSION "unknown"
#endif

namespace v6bl::monitoring {
namespace {

std::optional<double> number_at(std::string_view fields, std::size_t index) {
    std::size_t pos = 0;
    for (std::size_t i = 0;; ++i) {
        while (pos < fields.size() && fields[pos] == ' ') ++pos;
        if (pos >= fields.size()) return std::nullopt;
        const std::size_t end = std::min(fields.find(' ', pos), fields.size());
        if (i == index) {
            unsigned long long v = 0;
            const auto r = std::from_chars(fields.data() + pos, fields.data() + end, v);
            if (r.ec != std::errc{} || r.ptr != fields.data() + end) return std::nullopt;
            return static_cast<double>(v);
        }
        pos = end;
    }
}

// /proc/stat's "btime": boot time in unix seconds.
double boot_time_seconds() {
    std::ifstream in("/proc/stat");
    std::string key;
    double value = 0;
    while (in >> key) {
        if (key == "btime") {
            in >> value;
            return value;
        }
        in.ignore(1 << 20, '\n');
    }
    return 0;
}

double open_fd_count() {
    std::error_code ec;
    double n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++n;
    return n > 0 ? n - 1 : 0;  // the iterator's own descriptor
}

}  // namespace

std::optional<process_sample> parse_proc_stat(std::string_view stat_line, long ticks_per_second,
                                              long page_size, double boot_time) {
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const auto close = stat_line.rfind(')');
    if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
    const std::string_view fields = stat_line.substr(close + 1);
    // Field numbers of proc(5) minus 3 (the first field after ')' is 3, "state").
    const auto utime = number_at(fields, 11);
    const auto stime = number_at(fields, 12);
    const auto start = number_at(fields, 19);
    const auto vsize = number_at(fields, 20);
    const auto rss = number_at(fields, 21);
    if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
    process_sample s;
    const auto tps = static_cast<double>(ticks_per_second);
    s.cpu_seconds = (*utime + *stime) / tps;
    s.start_time_seconds = boot_time + *start / tps;
    s.virtual_bytes = *vsize;
    s.resident_bytes = *rss * static_cast<double>(page_size);
    return s;
}

std::optional<process_sample> read_process_sample() {
    std::string line;
    {
        // Closed before the descriptors are counted (it was counted as one of them).
        std::ifstream in("/proc/self/stat");
        if (!std::getline(in, line)) return std::nullopt;
    }
    auto s =
        parse_proc_stat(line, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), boot_time_seconds());
    if (!s) return std::nullopt;
    s->open_fds = open_fd_count();
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) s->max_fds = static_cast<double>(lim.rlim_cur);
    return s;
}

std::vector<prometheus::MetricFamily> process_families(const process_sample& s) {
    std::vector<prometheus::MetricFamily> out;
    out.push_back(counter_of("process_cpu_seconds_total",
                             "Total user and system CPU time spent in seconds.", s.cpu_seconds));
    out.push_back(gauge_of("process_resident_memory_bytes", "Resident memory size in bytes.",
                           s.resident_bytes));
    out.push_back(
        gauge_of("process_virtual_memory_bytes", "Virtual memory size in bytes.", s.virtual_bytes));
    out.push_back(gauge_of("process_start_time_seconds",
                           "Start time of the process since unix epoch in seconds.",
                           s.start_time_seconds));
    out.push_back(gauge_of("process_open_fds", "Number of open file descriptors.", s.open_fds));
    out.push_back(
        gauge_of("process_max_fds", "Maximum number of open file descriptors.", s.max_fds));
    return out;
}

prometheus::MetricFamily build_info_family() {
    return family_builder("v6bl_build_info", "Always 1; the labels name the build.",
                          prometheus::MetricType::Gauge)
        .sample(1, {{"version", V6BL_VERSION}})
        .take();
}

}  // namespace v6bl::monitoring
