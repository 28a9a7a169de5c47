// Log line timestamps: RFC 3339 (rsyslog high precision), Exim's own, and classic BSD syslog.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace v6bl::ingest {

// The zone of log times that carry no offset (BSD syslog, Exim without log_timezone): the
// process's local time zone (set_process_time_zone), as syslog on the MTA host wrote them.
// Converting asks the C library once per local hour of log time (mktime); the offset is
// cached for the rest of that hour. Not for use from several threads at once.
class local_time_zone {
  public:
    std::int64_t to_unix(int year, int month, int day, int hour, int minute, int second) const;

  private:
    mutable std::int64_t cached_hour_ = INT64_MIN;  // local hours since 1970 (naive)
    mutable std::int64_t cached_offset_ = 0;        // local − UTC, seconds
};

// Makes `name` the process's local time zone (the TZ variable) for local_time_zone: "local"
// keeps TZ, else /etc/localtime; "UTC"; or an IANA name found under /usr/share/zoneinfo
// ("Europe/Berlin"). Call before other threads start (TZ is process state). False with
// `error` set for a name that is none of these, and for "local" when TZ names none (the C
// library would silently take UTC for either), and for the leap-second zones (right/...),
// whose clocks are 27 s off the POSIX time syslog writes.
bool set_process_time_zone(const std::string& name, std::string& error);

// BSD syslog has no year. It comes from --year, else from the captures' time range (the
// year that puts the line inside [reference_unix, reference_last_unix] or nearest to it; of
// two inside a range longer than a year, the later), else from the wall clock `now_unix`
// (the latest of last year, this one and the next that puts the line, read as UTC, no more
// than 15 hours ahead of now (UTC+14 and an hour of skew): a "Dec 31" line read on Jan 1 is last
// year's, a "Jan 1 04:59" line of a zone east of UTC read at 20:00 UTC on Dec 31 is next year's),
// else from `fallback_year`. A day that does not exist in that year (Feb 29, Feb 31) makes the line
// no timestamp.
struct year_hint {
    int fixed_year = 0;               // --year; 0 = none
    std::int64_t reference_unix = 0;  // e.g. the capture's first packet; 0 = none
    // The range's end (e.g. the first packet of the latest capture, or the clock while
    // following a log); below reference_unix (0): the range is reference_unix alone.
    std::int64_t reference_last_unix = 0;
    std::int64_t now_unix = 0;  // the wall clock; 0 = none
    int fallback_year = 1970;   // used when none of the above is given
    // Times without an offset are in this zone; nullptr: UTC.
    const local_time_zone* zone = nullptr;
};

struct parsed_timestamp {
    std::int64_t unix_seconds = 0;
    std::size_t length = 0;  // characters consumed from the start of the line
};

// Parses a timestamp at the start of `line`; nullopt when the line starts with none.
// Besides RFC 3339, Exim's and BSD syslog's: journalctl's -o short-unix
// ("1764669600.123456") and -o short-full ("Sat 2026-12-05 10:00:04 CET"; a zone named by
// its abbreviation must be that of the hint's zone at that time, or UTC or GMT).
std::optional<parsed_timestamp> parse_log_timestamp(std::string_view line, const year_hint& hint);
// Why a line that starts like a timestamp gave none, where that is worth saying (a
// short-full zone that is not the log zone's); empty otherwise.
std::string log_timestamp_problem(std::string_view line, const year_hint& hint);

// Days since 1970-01-01 of a proleptic Gregorian date (no time zone involved).
std::int64_t days_from_civil(int year, unsigned month, unsigned day);

}  // namespace v6bl::ingest
