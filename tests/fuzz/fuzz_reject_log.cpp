// Fuzz target: production MTA reject-log lines (syslog files and journalctl -o json entries)
// and their timestamps.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "v6bl/ingest/reject_log_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace v6bl::ingest;
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    year_hint hint;
    hint.fallback_year = 2026;
    reject_event ev;
    (void)parse_reject_line(line, hint, ev);
    hint.fixed_year = 2014;
    (void)parse_reject_line(line, hint, ev, 3);
    // the operator's own reply texts, and times in the process's local zone (TZ, else
    // /etc/localtime)
    static const std::vector<std::string> texts = {"on our list", "listed", " ", ";"};
    static const local_time_zone zone;
    hint.zone = &zone;
    (void)parse_reject_line(line, hint, ev, 1, texts);
    std::uint32_t v4 = 0;
    (void)parse_ipv4(line, v4);
    (void)journal_line_problem(line);  // a line starting with '{': a journalctl -o json entry
    return 0;
}
