// Log line timestamps: RFC 3339 (rsyslog high precision), Exim's own, and classic BSD syslog.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace v6bl::ingest {

// BSD syslog has no year. It comes from --year, else from the capture's time range (the
// year that puts the line closest to `reference_unix`), else from the wall clock `now_unix`
// (the year of now, or the one before when that would put the line more than a day in the
// future: a "Dec 31" line read on Jan 1 is last year's), else from `fallback_year`.
struct year_hint {
    int fixed_year = 0;               // --year; 0 = none
    std::int64_t reference_unix = 0;  // e.g. the capture's first packet; 0 = none
    std::int64_t now_unix = 0;        // the wall clock; 0 = none
    int fallback_year = 1970;         // used when none of the above is given
};

struct parsed_timestamp {
    std::int64_t unix_seconds = 0;
    std::size_t length = 0;  // characters consumed from the start of the line
};

// Parses a timestamp at the start of `line`; nullopt when the line starts with none.
std::optional<parsed_timestamp> parse_log_timestamp(std::string_view line, const year_hint& hint);

// Days since 1970-01-01 of a proleptic Gregorian date (no time zone involved).
std::int64_t days_from_civil(int year, unsigned month, unsigned day);

}  // namespace v6bl::ingest
