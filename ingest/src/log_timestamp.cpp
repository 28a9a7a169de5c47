// Timestamp parsing for syslog-style lines; the local time zone only where asked for.
#include "v6bl/ingest/log_timestamp.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string_view>

namespace v6bl::ingest {
namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

bool valid_hms(int h, int m, int s) {
    return h < 24 && m < 60 && s <= 60;
}

std::int64_t to_unix(int y, int mo, int d, int h, int mi, int s) {
    return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
           h * 3600 + mi * 60 + s;
}

// A time with no offset of its own: in the hint's zone, else UTC.
std::int64_t unzoned_to_unix(const year_hint& hint, int y, int mo, int d, int h, int mi, int s) {
    return hint.zone ? hint.zone->to_unix(y, mo, d, h, mi, s) : to_unix(y, mo, d, h, mi, s);
}

// How far ahead of the clock a BSD syslog line, read as UTC, may be: the largest zone
// offset (UTC+14) and an hour of clock skew.
constexpr std::int64_t future_slack_s = 15 * 3600;

int days_in_month(int y, int mo) {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[mo - 1] + (mo == 2 && leap ? 1 : 0);
}

int month_of(std::string_view m) {
    static constexpr std::string_view names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; ++i)
        if (m == names[i]) return i + 1;
    return 0;
}

int year_of_unix(std::int64_t t) {
    // Civil year from days (inverse of days_from_civil, Howard Hinnant's algorithm).
    std::int64_t z = t / 86400 + 719468;
    if (t < 0 && t % 86400) --z;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    return static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0));
}

// 0 (Sunday) to 6, or -1.
int weekday_of(std::string_view w) {
    static constexpr std::string_view names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    for (int i = 0; i < 7; ++i)
        if (w == names[i]) return i;
    return -1;
}

}  // namespace

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::int64_t local_time_zone::to_unix(int y, int mo, int d, int h, int mi, int s) const {
    const std::int64_t naive =
        days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
        mi * 60 + s;
    const std::int64_t hour = naive / 3600 - (naive % 3600 < 0 ? 1 : 0);
    if (hour != cached_hour_) {
        std::tm tm{};
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_isdst = -1;  // the zone's rules decide (a repeated hour takes the C library's pick)
        const std::time_t t = std::mktime(&tm);
        // mktime normalised the fields; an hour that does not exist (spring forward) moved.
        cached_offset_ =
            t == static_cast<std::time_t>(-1)
                ? 0
                : (days_from_civil(tm.tm_year + 1900, static_cast<unsigned>(tm.tm_mon + 1),
                                   static_cast<unsigned>(tm.tm_mday)) *
                       86400 +
                   tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) -
                      static_cast<std::int64_t>(t);
        cached_hour_ = hour;
    }
    return naive - cached_offset_;
}

namespace {

// The zone directory glibc reads: $TZDIR, else /usr/share/zoneinfo.
std::string zone_dir() {
    const char* tzdir = std::getenv("TZDIR");
    return tzdir && *tzdir ? tzdir : "/usr/share/zoneinfo";
}

// Whether `file` starts with the TZif magic of a compiled zone (the zone directory also
// holds zone.tab, tzdata.zi, leapseconds: no zones).
bool tzif_file(const std::string& file) {
    std::ifstream f(file, std::ios::binary);
    char magic[4] = {};
    return f.read(magic, sizeof magic) && std::string_view(magic, 4) == "TZif";
}

bool compiled_zone(const std::string& zone) {
    if (zone.empty() || zone[0] == '/' || zone.find("..") != std::string::npos) return false;
    return tzif_file(zone_dir() + "/" + zone);
}

// The zones under right/ count leap seconds (their clocks run 27 s behind POSIX time
// since 2017); syslog writes POSIX time, so every log time would come out 27 s late.
bool leap_second_zone(std::string_view zone) {
    return zone.starts_with("right/") || zone.find("/right/") != std::string_view::npos;
}

// A POSIX TZ rule rather than a zone name: "CET-1CEST,M3.5.0,M10.5.0/3", "UTC0",
// "<+0330>-3:30": a name of three letters or more (or <quoted>) and then an offset.
bool posix_tz_rule(std::string_view v) {
    std::size_t i = 0;
    if (!v.empty() && v[0] == '<') {
        i = v.find('>');
        if (i == std::string_view::npos || i < 4) return false;
        ++i;
    } else {
        while (i < v.size() && ((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z'))) ++i;
        if (i < 3) return false;
    }
    if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
    return i < v.size() && v[i] >= '0' && v[i] <= '9';
}

const char* const zone_hint =
    "give an IANA name from /usr/share/zoneinfo, e.g. Europe/Berlin, or UTC or local";

// What the C library would make of $TZ, when it would silently take UTC for it: a name it
// cannot find, or a leap-second zone. "" when TZ is unset (then /etc/localtime), empty
// (UTC, by POSIX), a compiled zone or a POSIX rule.
std::string tz_variable_problem() {
    const char* tz = std::getenv("TZ");
    if (!tz || !*tz) return {};
    std::string v = tz;
    const std::string quoted = "TZ='" + v + "'";
    if (v[0] == ':') v.erase(0, 1);
    if (leap_second_zone(v))
        return quoted + " is a leap-second zone: log times would be read 27 s late (use the " +
               "name without right/)";
    if (!v.empty() && v[0] == '/') {
        if (tzif_file(v)) return {};
    } else if (v == "UTC" || v == "GMT" || compiled_zone(v) || posix_tz_rule(v)) {
        return {};
    }
    return quoted + " names no time zone the C library knows (it would read log times as " +
           "UTC): " + zone_hint + ", or unset TZ for /etc/localtime";
}

}  // namespace

bool set_process_time_zone(const std::string& name, std::string& error) {
    if (name == "local") {
        // (the zone TZ names must be one: glibc takes UTC for a misspelt one, silently)
        if (const std::string problem = tz_variable_problem(); !problem.empty()) {
            error = problem;
            return false;
        }
        tzset();
        return true;
    }
    if (leap_second_zone(name)) {
        error = "'" + name + "' is a leap-second zone: log times would be read 27 s late (use " +
                "the name without right/)";
        return false;
    }
    const bool known = name == "UTC" || compiled_zone(name);
    if (!known) {
        error = "unknown time zone '" + name + "' (" + zone_hint + ")";
        return false;
    }
    ::setenv("TZ", name.c_str(), 1);
    tzset();
    return true;
}

namespace {

// journalctl -o short-full: "Sat 2026-12-05 10:00:04 CET", the zone as strftime's %Z gives
// it. The fields and the zone's place; false when the line does not start that way or the
// weekday is not the date's.
struct short_full_fields {
    int y, mo, d, h, mi, sec;
    std::string_view zone;
};
bool short_full_shape(std::string_view s, short_full_fields& f) {
    if (s.size() < 26 || s[3] != ' ' || s[14] != ' ' || s[23] != ' ') return false;
    const int wd = weekday_of(s.substr(0, 3));
    if (wd < 0 || !digits(s, 4, 4, f.y) || s[8] != '-' || !digits(s, 9, 2, f.mo) || s[11] != '-' ||
        !digits(s, 12, 2, f.d) || !digits(s, 15, 2, f.h) || s[17] != ':' ||
        !digits(s, 18, 2, f.mi) || s[20] != ':' || !digits(s, 21, 2, f.sec))
        return false;
    if (f.mo < 1 || f.mo > 12 || f.d < 1 || f.d > days_in_month(f.y, f.mo) ||
        !valid_hms(f.h, f.mi, f.sec))
        return false;
    // 1970-01-01 was a Thursday (4)
    const std::int64_t days =
        days_from_civil(f.y, static_cast<unsigned>(f.mo), static_cast<unsigned>(f.d));
    if (((days % 7 + 7 + 4) % 7) != wd) return false;
    std::size_t end = 24;
    while (end < s.size() && s[end] != ' ') ++end;
    f.zone = s.substr(24, end - 24);
    return !f.zone.empty();
}

// tzdata's numeric abbreviation of a zone without a name ("+03", "-0330"): its offset.
std::optional<std::int64_t> numeric_zone_offset(std::string_view z) {
    int oh = 0, om = 0;
    if ((z.size() != 3 && z.size() != 5) || (z[0] != '+' && z[0] != '-') || !digits(z, 1, 2, oh) ||
        (z.size() == 5 && !digits(z, 3, 2, om)) || oh >= 24 || om >= 60)
        return std::nullopt;
    return (oh * 3600 + om * 60) * (z[0] == '+' ? 1 : -1);
}

// The time a short-full line names. An abbreviation alone is ambiguous (IST is Indian,
// Irish or Israeli time; CST Chinese or American): a named one is taken only where it is
// the abbreviation of the zone times without an offset are read in (the hint's, else UTC)
// at that time, which also picks the right one of a repeated autumn hour (CEST, then CET).
std::optional<std::int64_t> short_full_to_unix(const short_full_fields& f, const year_hint& hint) {
    const std::int64_t naive = to_unix(f.y, f.mo, f.d, f.h, f.mi, f.sec);
    if (f.zone == "UTC" || f.zone == "GMT") return naive;
    if (const auto off = numeric_zone_offset(f.zone)) return naive - *off;
    if (!hint.zone) return std::nullopt;
    const std::int64_t t0 = hint.zone->to_unix(f.y, f.mo, f.d, f.h, f.mi, f.sec);
    for (const std::int64_t shift : {0, -3600, 3600, -1800, 1800}) {
        const auto t = static_cast<std::time_t>(t0 + shift);
        std::tm tm{};
        if (!localtime_r(&t, &tm) || !tm.tm_zone || f.zone != tm.tm_zone) continue;
        if (tm.tm_year + 1900 == f.y && tm.tm_mon + 1 == f.mo && tm.tm_mday == f.d &&
            tm.tm_hour == f.h && tm.tm_min == f.mi && tm.tm_sec == f.sec)
            return t0 + shift;
    }
    return std::nullopt;
}

// journalctl -o short-unix: "1764669600.123456 " (seconds since the epoch, ten digits in
// this era, then the microseconds): the seconds and the length read.
bool short_unix_shape(std::string_view s, std::int64_t& t, std::size_t& len) {
    std::size_t i = 0;
    std::int64_t v = 0;
    while (i < s.size() && i < 11 && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
    if (i != 10 || i >= s.size() || s[i] != '.') return false;
    const std::size_t frac = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == frac || i - frac > 9 || (i < s.size() && s[i] != ' ')) return false;
    t = v;
    len = i;
    return true;
}

// Whether a word can be a time zone's abbreviation as %Z prints it: tzdata's numeric ones,
// or 2 to 6 letters with at least two capitals ("CET", "AEDT", "ChST"). A host name in its
// place ("mx1", "mail") is not.
bool zone_like(std::string_view z) {
    if (numeric_zone_offset(z)) return true;
    if (z.size() < 2 || z.size() > 6) return false;
    int capitals = 0;
    for (const char c : z) {
        if (c >= 'A' && c <= 'Z')
            ++capitals;
        else if (c < 'a' || c > 'z')
            return false;
    }
    return capitals >= 2;
}

}  // namespace

std::string log_timestamp_problem(std::string_view s, const year_hint& hint) {
    short_full_fields f{};
    if (!short_full_shape(s, f) || short_full_to_unix(f, hint)) return {};
    if (!zone_like(f.zone))
        return "'" + std::string(f.zone) +
               "' after the weekday, date and time is not a time zone, which a line of "
               "journalctl -o short-full has there (-o short-iso and short-unix are read "
               "too)";
    std::string log_zone = "UTC";
    if (hint.zone) {
        const auto t =
            static_cast<std::time_t>(hint.zone->to_unix(f.y, f.mo, f.d, f.h, f.mi, f.sec));
        std::tm tm{};
        if (localtime_r(&t, &tm) && tm.tm_zone) log_zone = tm.tm_zone;
    }
    return "its time zone '" + std::string(f.zone) + "' is not the log zone's (" + log_zone +
           " then, by --log-timezone); journalctl -o short-full prints times in the zone "
           "journalctl itself ran in, named by an abbreviation only, which can be ambiguous: "
           "give that zone with --log-timezone, or use -o short-iso";
}

std::optional<parsed_timestamp> parse_log_timestamp(std::string_view s, const year_hint& hint) {
    int y, mo, d, h, mi, sec;
    if (std::int64_t t = 0; !s.empty() && s[0] >= '0' && s[0] <= '9') {
        std::size_t len = 0;
        if (short_unix_shape(s, t, len)) return parsed_timestamp{t, len};
    }
    if (short_full_fields f{}; short_full_shape(s, f)) {
        const auto t = short_full_to_unix(f, hint);
        if (!t) return std::nullopt;
        return parsed_timestamp{*t, 24 + f.zone.size()};
    }
    // RFC 3339 "2026-11-24T10:00:00[.frac](Z|+hh:mm|+hhmm)" or Exim "2026-11-24 10:00:00[.mmm]"
    // (with log_timezone followed by " +hhmm").
    if (digits(s, 0, 4, y) && s.size() > 19 && s[4] == '-' && digits(s, 5, 2, mo) && s[7] == '-' &&
        digits(s, 8, 2, d) && (s[10] == 'T' || s[10] == 't' || s[10] == ' ') &&
        digits(s, 11, 2, h) && s[13] == ':' && digits(s, 14, 2, mi) && s[16] == ':' &&
        digits(s, 17, 2, sec)) {
        if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || !valid_hms(h, mi, sec))
            return std::nullopt;
        std::size_t pos = 19;
        if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
            ++pos;
            const std::size_t digits_from = pos;
            while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
            if (pos == digits_from) return std::nullopt;  // a separator with no fraction
        }
        std::int64_t offset = 0;
        bool zoned = false;
        int oh, om;
        if (s[10] == ' ' && pos + 5 < s.size() && s[pos] == ' ' &&
            (s[pos + 1] == '+' || s[pos + 1] == '-') && digits(s, pos + 2, 2, oh) &&
            digits(s, pos + 4, 2, om) && oh < 24 && om < 60 &&
            (pos + 6 == s.size() || s[pos + 6] == ' ')) {
            // Exim with log_timezone: "2026-11-24 10:00:00 +0100" (or ".123 +0100").
            offset = (oh * 3600 + om * 60) * (s[pos + 1] == '+' ? 1 : -1);
            zoned = true;
            pos += 6;
        } else if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
            zoned = true;
            ++pos;
        } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
            const bool colon = pos + 3 < s.size() && s[pos + 3] == ':';
            if (digits(s, pos + 1, 2, oh) && digits(s, pos + (colon ? 4 : 3), 2, om) && oh < 24 &&
                om < 60) {
                offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
                zoned = true;
                pos += colon ? 6 : 5;
            } else {
                return std::nullopt;  // "+01", "+25:00": an offset it cannot be read as local time
            }
        }
        if (!zoned) return parsed_timestamp{unzoned_to_unix(hint, y, mo, d, h, mi, sec), pos};
        return parsed_timestamp{to_unix(y, mo, d, h, mi, sec) - offset, pos};
    }
    // BSD "Nov 24 10:00:00" (day space-padded: "Nov  4").
    if (s.size() >= 15 && s[3] == ' ') {
        mo = month_of(s.substr(0, 3));
        if (mo == 0) return std::nullopt;
        std::size_t pos = 4;
        if (s[pos] == ' ') ++pos;
        int dd;
        std::size_t dlen = (pos + 1 < s.size() && s[pos + 1] != ' ') ? 2 : 1;
        if (!digits(s, pos, dlen, dd) || dd < 1 || dd > 31) return std::nullopt;
        pos += dlen;
        if (pos >= s.size() || s[pos] != ' ') return std::nullopt;
        ++pos;
        if (!(digits(s, pos, 2, h) && pos + 8 <= s.size() && s[pos + 2] == ':' &&
              digits(s, pos + 3, 2, mi) && s[pos + 5] == ':' && digits(s, pos + 6, 2, sec) &&
              valid_hms(h, mi, sec)))
            return std::nullopt;
        pos += 8;
        // The year: given, else the one that puts the line in or nearest the captures' time
        // range, else
        // the latest that is not more than 15 hours ahead of the clock (a line of the first
        // hours of January, in a zone east of UTC or from an MTA whose clock runs ahead, is
        // of the year the clock is about to start; a zone is at most 14 hours ahead of UTC,
        // so a "Jan 1 10:00" line read at noon on Dec 31 is this year's, nearly a year old). Years
        // where the day does not exist (29 February) are not candidates: such a line is garbage.
        int year = 0;
        if (hint.fixed_year != 0) {
            if (dd <= days_in_month(hint.fixed_year, mo)) year = hint.fixed_year;
        } else if (hint.reference_unix != 0 || hint.now_unix != 0) {
            const bool by_reference = hint.reference_unix != 0;
            const std::int64_t around = by_reference ? hint.reference_unix : hint.now_unix;
            const std::int64_t around_last =
                by_reference ? std::max(hint.reference_unix, hint.reference_last_unix) : around;
            std::int64_t best = 0;
            for (int cand = year_of_unix(around) - 1; cand <= year_of_unix(around_last) + 1;
                 ++cand) {
                if (dd > days_in_month(cand, mo)) continue;
                // As UTC: a zone moves the line by less than the day of slack, and the zone's
                // conversion caches one hour at a time (three candidate years would miss it).
                const std::int64_t t = to_unix(cand, mo, dd, h, mi, sec);
                // Nearest the capture, but never a year that puts the line past the clock: a
                // log older than the capture ("Jan 5" next to a December capture) is of the
                // capture's year, not the next one, where it was refused as in the future.
                if (by_reference && hint.now_unix != 0 && t > hint.now_unix + future_slack_s)
                    continue;
                if (by_reference) {
                    const std::int64_t dist = t < around        ? around - t
                                              : t > around_last ? t - around_last
                                                                : 0;
                    if (year == 0 || dist < best || (dist == 0 && best == 0))
                        best = dist, year = cand;
                } else if (t <= around + future_slack_s) {
                    year = cand;  // candidates ascend: the latest one not too far ahead
                }
            }
        } else if (dd <= days_in_month(hint.fallback_year, mo)) {
            year = hint.fallback_year;
        }
        if (year == 0) return std::nullopt;
        return parsed_timestamp{unzoned_to_unix(hint, year, mo, dd, h, mi, sec), pos};
    }
    return std::nullopt;
}

}  // namespace v6bl::ingest
