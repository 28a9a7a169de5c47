// Reject log lines: every MTA format, timestamps, non-DNSBL rejects and garbage.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "ingest_test_support.h"
#include "v6bl/ingest/log_timestamp.h"
#include "v6bl/ingest/reject_log_parser.h"

using namespace v6bl::ingest;
using v6bl::ingest_test::v4;

namespace {
year_hint year(int y) {
    year_hint h;
    h.fixed_year = y;
    return h;
}
constexpr std::int64_t nov24_2026_10h = 1795514400;  // 2026-11-24T10:00:00Z

// Puts the process's TZ back as it was when a test that sets a zone leaves, however it
// leaves (a failed REQUIRE too).
struct tz_guard {
    std::optional<std::string> saved;
    tz_guard() {
        if (const char* v = std::getenv("TZ")) saved = v;
    }
    ~tz_guard() {
        if (saved)
            ::setenv("TZ", saved->c_str(), 1);
        else
            ::unsetenv("TZ");
        ::tzset();
    }
    tz_guard(const tz_guard&) = delete;
    tz_guard& operator=(const tz_guard&) = delete;
};

// The process's zone for one test (which stops there if the name is unknown), and `h` with
// times without an offset read in it.
struct test_zone {
    tz_guard restore;
    local_time_zone zone;
    explicit test_zone(const char* name) {
        std::string error;
        REQUIRE(set_process_time_zone(name, error));
    }
    year_hint hint(year_hint h = {}) const {
        h.zone = &zone;
        return h;
    }
};
}  // namespace

TEST_CASE("Postfix smtpd DNSBL reject", "[reject_log]") {
    reject_event e;
    const char* line =
        "Nov 24 10:00:00 mx1 postfix/smtpd[1234]: NOQUEUE: reject: RCPT from x[1.2.3.4]: 554 5.7.1 "
        "Service unavailable; Client host [1.2.3.4] blocked using zen.spamhaus.org; from=<a@b> "
        "to=<c@d> proto=ESMTP helo=<x>";
    REQUIRE(parse_reject_line(line, year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(1, 2, 3, 4));
    CHECK(e.mta == mta_kind::postfix_smtpd);
    CHECK(e.unix_seconds == nov24_2026_10h);
}

TEST_CASE("Postfix non-DNSBL rejects and ordinary lines are not evidence", "[reject_log]") {
    reject_event e;
    CHECK(parse_reject_line("Nov 24 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from "
                            "x[1.2.3.4]: 550 5.1.1 <u@d>: Recipient address rejected: User unknown",
                            year(2026), e) == log_line_status::other_reject);
    CHECK(parse_reject_line("Nov 24 10:00:00 mx1 postfix/smtpd[1]: connect from x[1.2.3.4]",
                            year(2026), e) == log_line_status::not_reject);
    CHECK(parse_reject_line("Nov 24 10:00:00 mx1 postfix/postscreen[9]: PASS NEW [1.2.3.4]:5555",
                            year(2026), e) == log_line_status::not_reject);
    CHECK(parse_reject_line("Nov 24 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from "
                            "x[IPv6:2001:db8::1]: 554 5.7.1 Service unavailable; Client host "
                            "[2001:db8::1] blocked using dnsbl6.example.org",
                            year(2026), e) == log_line_status::ipv6_client);
}

TEST_CASE("postscreen DNSBL rank lines and postscreen rejects", "[reject_log]") {
    reject_event e;
    REQUIRE(parse_reject_line("2026-11-24T10:00:00.123456+01:00 mx1 postfix/postscreen[77]: DNSBL "
                              "rank 3 for [5.6.7.8]:41234",
                              year_hint{}, e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(5, 6, 7, 8));
    CHECK(e.mta == mta_kind::postfix_postscreen);
    CHECK(e.unix_seconds == nov24_2026_10h - 3600);
    CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/postscreen[77]: DNSBL rank 1 for "
                            "[5.6.7.8]:41234",
                            year_hint{}, e, 2) == log_line_status::not_reject);
    REQUIRE(
        parse_reject_line("Nov 24 10:00:00 mx1 postfix/postscreen[77]: NOQUEUE: reject: RCPT from "
                          "[5.6.7.9]:4444: 550 5.7.1 Service unavailable; client [5.6.7.9] "
                          "blocked using zen.spamhaus.org; from=<a@b>, to=<c@d>, proto=ESMTP",
                          year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(5, 6, 7, 9));
    CHECK(e.mta == mta_kind::postfix_postscreen);
}

TEST_CASE("Exim black list and dnslists rejects", "[reject_log]") {
    reject_event e;
    REQUIRE(parse_reject_line("2026-11-24 10:00:00 H=(pc) [9.8.7.6]:1234 F=<a@b> rejected RCPT "
                              "<c@d>: 9.8.7.6 is in a black list at zen.spamhaus.org",
                              year_hint{}, e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(9, 8, 7, 6));
    CHECK(e.mta == mta_kind::exim);
    CHECK(e.unix_seconds == nov24_2026_10h);
    CHECK(parse_reject_line("2026-11-24 10:00:00 H=(pc) [9.8.7.5] F=<a@b> rejected RCPT <c@d>: "
                            "JunkMail rejected - 9.8.7.5 is listed at bl.spamcop.net (dnslists)",
                            year_hint{}, e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(9, 8, 7, 5));
    CHECK(parse_reject_line("2026-11-24 10:00:00 H=(pc) [9.8.7.6] F=<a@b> rejected RCPT <c@d>: "
                            "Unrouteable address",
                            year_hint{}, e) == log_line_status::other_reject);
    // The address in brackets or parentheses, as ACL messages of one's own put it; a domain
    // in them is still a domain (an RHSBL).
    const struct {
        const char* reason;
        log_line_status want;
    } bracketed[] = {
        {"[192.0.2.4] is listed at zen.spamhaus.org (DNSBL)", log_line_status::dnsbl_reject},
        {"Your IP (192.0.2.4) is listed at DNSBL zen.spamhaus.org", log_line_status::dnsbl_reject},
        {"(spam.example) is listed at dbl.spamhaus.org", log_line_status::other_reject},
        // cPanel's RBL ACL names the client with its port
        {"JunkMail rejected - h.example ([10.0.0.1]) [192.0.2.4]:41784 is in an RBL, see "
         "http://www.spamhaus.org/query/bl?ip=192.0.2.4",
         log_line_status::dnsbl_reject},
        {"JunkMail rejected - h.example [192.0.2.9]:41784 is in an RBL, see http://x",
         log_line_status::other_reject},  // another address than the client's
    };
    for (const auto& c : bracketed) {
        INFO(c.reason);
        e.ipv4 = 0;
        CHECK(parse_reject_line(
                  std::string(
                      "2026-11-24 10:00:00 H=(pc) [192.0.2.4] F=<a@b> rejected RCPT <c@d>: ") +
                      c.reason,
                  year_hint{}, e) == c.want);
        if (c.want == log_line_status::dnsbl_reject) CHECK(e.ipv4 == v4(192, 0, 2, 4));
    }
}

TEST_CASE("Exim: a dnslists reject naming another address is not the client's", "[reject_log]") {
    // dnslists over other addresses ($dnslist_matched: a Received header's IP) names the one
    // it found; charging the connecting client with it was evidence against a host that
    // was never listed (helper-42).
    reject_event e;
    for (const char* reason : {"rejected after DATA: 198.51.100.7 is listed at zen.spamhaus.org",
                               "rejected RCPT <c@d>: rejected because 198.51.100.8 is in a black "
                               "list at zen.spamhaus.org",
                               "rejected RCPT <c@d>: 2001:db8::7 is listed at zen.spamhaus.org"}) {
        INFO(reason);
        CHECK(parse_reject_line(std::string("2026-12-02 10:20:07 1tABCd-000123-Xy H=(helo.example) "
                                            "[203.0.113.5] F=<a@b.example> ") +
                                    reason,
                                year_hint{}, e) == log_line_status::other_reject);
    }
    // The client's own address, and a message naming none, stay DNSBL rejects of the client.
    for (const char* reason :
         {"rejected after DATA: 203.0.113.5 is listed at zen.spamhaus.org",
          "rejected RCPT <c@d>: host is listed at zen.spamhaus.org",
          "rejected RCPT <c@d>: IP:203.0.113.5 is listed at zen.spamhaus.org"}) {
        INFO(reason);
        e.ipv4 = 0;
        CHECK(parse_reject_line(std::string("2026-12-02 10:20:07 1tABCd-000123-Xy H=(helo.example) "
                                            "[203.0.113.5] F=<a@b.example> ") +
                                    reason,
                                year_hint{}, e) == log_line_status::dnsbl_reject);
        CHECK(e.ipv4 == v4(203, 0, 113, 5));
    }
}

TEST_CASE("Sendmail DNSBL rejects", "[reject_log]") {
    reject_event e;
    REQUIRE(
        parse_reject_line("Nov 24 10:00:00 mx sendmail[3131]: ruleset=check_relay, arg1=pc, "
                          "arg2=4.3.2.1, relay=pc [4.3.2.1], reject=553 5.3.0 Rejected: 4.3.2.1 "
                          "listed at zen.spamhaus.org",
                          year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(4, 3, 2, 1));
    CHECK(e.mta == mta_kind::sendmail);
    CHECK(parse_reject_line("Nov 24 10:00:00 mx sendmail[3131]: x: ruleset=check_rcpt, arg1=<u@d>, "
                            "relay=pc [4.3.2.1], reject=550 5.1.1 <u@d>... User unknown",
                            year(2026), e) == log_line_status::other_reject);
}

TEST_CASE("garbage lines are garbage, and never crash the parser", "[reject_log]") {
    reject_event e;
    CHECK(parse_reject_line("", year(2026), e) == log_line_status::garbage);
    CHECK(parse_reject_line("hello world", year(2026), e) == log_line_status::garbage);
    CHECK(parse_reject_line("Foo 24 10:00:00 mx postfix/smtpd[1]: x", year(2026), e) ==
          log_line_status::garbage);
    CHECK(parse_reject_line("Nov 24 25:00:00 mx postfix/smtpd[1]: x", year(2026), e) ==
          log_line_status::garbage);
    CHECK(parse_reject_line(
              "Nov 24 10:00:00 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1.2.3]: "
              "554 Client host [1.2.3.400] blocked using zen",
              year(2026), e) == log_line_status::garbage);
    std::string junk;
    for (int i = 0; i < 2000; ++i) {
        junk.push_back(static_cast<char>((i * 7919) % 256));
        (void)parse_reject_line(junk, year(2026), e);
        (void)parse_reject_line("Nov 24 10:00:00 " + junk, year(2026), e);
    }
}

TEST_CASE("BSD syslog years come from --year or the capture's time", "[reject_log]") {
    year_hint h;
    const std::int64_t new_year = days_from_civil(2027, 1, 1) * 86400;
    h.reference_unix = new_year;  // a Dec 31 line is from 2026, a Jan 1 line from 2027
    auto t = parse_log_timestamp("Dec 31 23:59:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == new_year - 60);
    t = parse_log_timestamp("Jan  1 00:01:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == new_year + 60);
    h = year_hint{};
    h.fixed_year = 2025;
    t = parse_log_timestamp("Nov 24 10:00:00 mx", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == nov24_2026_10h - 365 * 86400);
    CHECK(days_from_civil(1970, 1, 1) == 0);
}

TEST_CASE("an RFC 3339 offset that cannot be read makes no timestamp", "[reject_log]") {
    // "+01" and "+25:00" were ignored and the time read as local time, an hour or more off.
    for (const char* stamp : {"2026-11-24T10:00:00+01 mx x", "2026-11-24T10:00:00+25:00 mx x",
                              "2026-11-24T10:00:00-0a:00 mx x"}) {
        INFO(stamp);
        CHECK_FALSE(parse_log_timestamp(stamp, year_hint{}));
    }
    CHECK(parse_log_timestamp("2026-11-24T10:00:00+01:00 mx x", year_hint{}));
}

TEST_CASE("the capture's year never puts a line past the clock", "[reject_log]") {
    // A December capture and a log of January and May (older than the capture): nearest the
    // capture, "Jan 5" was next year's and the line was refused as in the future (helper-42).
    year_hint h;
    h.reference_unix = days_from_civil(2026, 12, 2) * 86400 + 36000;
    h.now_unix = h.reference_unix + 4 * 3600;
    auto t = parse_log_timestamp("Jan  5 10:00:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == days_from_civil(2026, 1, 5) * 86400 + 36000);
    t = parse_log_timestamp("May  2 10:00:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == days_from_civil(2026, 5, 2) * 86400 + 36000);
    // Without the clock (or with a clock in the next year) the nearest year stands.
    h.now_unix = 0;
    t = parse_log_timestamp("Jan  5 10:00:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == days_from_civil(2027, 1, 5) * 86400 + 36000);
}

TEST_CASE("without --year or a capture, BSD syslog lines are never taken to be in the future",
          "[reject_log]") {
    // Rejections ingested on their own (no capture) just after New Year: the year comes from
    // the clock, and a line that would then lie more than a day ahead is last year's.
    year_hint h;
    h.fallback_year = 1999;  // not used when the clock is given
    const std::int64_t new_year = days_from_civil(2027, 1, 1) * 86400;
    h.now_unix = new_year + 600;  // 2027-01-01 00:10 UTC
    auto t = parse_log_timestamp("Dec 31 23:59:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == new_year - 60);  // was 2027-12-31: a year ahead
    t = parse_log_timestamp("Jan  1 00:05:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == new_year + 300);
    t = parse_log_timestamp("Jan  1 08:00:00 mx x", h);  // a skewed clock or zone: within 15 h
    REQUIRE(t);
    CHECK(t->unix_seconds == new_year + 8 * 3600);
    // Read just before New Year by the clock: a line a little ahead of it, of the first
    // seconds of January (an MTA clock running ahead), is next year's, not last year's.
    h.now_unix = new_year - 2;  // 2026-12-31 23:59:58 UTC
    t = parse_log_timestamp("Jan  1 00:00:01 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == new_year + 1);  // was 2026-01-01: a year behind
    t = parse_log_timestamp("Dec 31 23:59:57 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == new_year - 3);
    // At noon on Dec 31, a "Jan 1 10:00" line is this year's (a log nearly a year old): the
    // next year's would be 22 hours ahead, more than any zone puts a line.
    h.now_unix = new_year - 12 * 3600;
    t = parse_log_timestamp("Jan  1 10:00:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == days_from_civil(2026, 1, 1) * 86400 + 36000);
    h.now_unix = 0;  // no clock: the fallback year
    t = parse_log_timestamp("Dec 31 23:59:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == days_from_civil(1999, 12, 31) * 86400 + 86340);
}

TEST_CASE("a day that does not exist in its year is no timestamp", "[reject_log]") {
    CHECK_FALSE(parse_log_timestamp("Feb 31 10:00:00 mx x", year(2026)));
    CHECK_FALSE(parse_log_timestamp("Feb 29 10:00:00 mx x", year(2026)));
    CHECK_FALSE(parse_log_timestamp("Apr 31 10:00:00 mx x", year(2026)));
    REQUIRE(parse_log_timestamp("Feb 29 10:00:00 mx x", year(2028)));
    CHECK(parse_log_timestamp("Feb 29 10:00:00 mx x", year(2028))->unix_seconds ==
          days_from_civil(2028, 2, 29) * 86400 + 36000);
    CHECK_FALSE(parse_log_timestamp("2026-02-29T10:00:00Z x", year(2026)));
    CHECK_FALSE(parse_log_timestamp("2026-06-31 10:00:00 x", year(2026)));
    // By the capture's time: Feb 29 only exists in the leap year among the candidates.
    year_hint h;
    h.reference_unix = days_from_civil(2027, 3, 1) * 86400;
    REQUIRE(parse_log_timestamp("Feb 29 10:00:00 mx x", h));
    CHECK(parse_log_timestamp("Feb 29 10:00:00 mx x", h)->unix_seconds ==
          days_from_civil(2028, 2, 29) * 86400 + 36000);
    // A fraction separator needs a digit after it.
    CHECK_FALSE(parse_log_timestamp("2026-11-24T10:00:00.Z x", year(2026)));
    CHECK(parse_log_timestamp("2026-11-24T10:00:00.5Z x", year(2026)));
}

TEST_CASE(
    "in a zone east of UTC, the first hours of January read before UTC's New Year are "
    "next year's",
    "[reject_log]") {
    const test_zone tokyo("Asia/Tokyo");
    year_hint h = tokyo.hint();
    const std::int64_t new_year_utc = days_from_civil(2027, 1, 1) * 86400;
    h.now_unix = new_year_utc - 4 * 3600;  // 2026-12-31 20:00 UTC = 2027-01-01 05:00 JST
    const auto t = parse_log_timestamp("Jan  1 04:59:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == new_year_utc - 9 * 3600 + 4 * 3600 + 59 * 60);
}

TEST_CASE("Postfix reject_rhsbl_* rejections are about a domain, not the client IP",
          "[reject_log]") {
    // Postfix's default rbl reply is "$rbl_class [$rbl_what] blocked using $rbl_domain": only
    // reject_rbl_client ("Client host [<address>]") lists the client's address.
    reject_event e;
    CHECK(parse_reject_line(
              "Nov 24 10:00:00 mx1 postfix/smtpd[1234]: NOQUEUE: reject: RCPT from "
              "news.spam.example[192.36.205.58]: 554 5.7.1 Service unavailable; Helo command "
              "[news.spam.example] blocked using dbl.spamhaus.org; "
              "https://www.spamhaus.org/query/dbl?domain=spam.example; from=<m@spam.example> "
              "to=<t@example.com> proto=ESMTP helo=<news.spam.example>",
              year(2026), e) == log_line_status::other_reject);
    CHECK(
        parse_reject_line("Nov 24 10:00:00 mx1 postfix/smtpd[1234]: NOQUEUE: reject: RCPT from "
                          "unknown[192.36.205.59]: 554 5.7.1 Service unavailable; Sender address "
                          "[m@spam.example] blocked using dbl.spamhaus.org; from=<m@spam.example> "
                          "to=<t@example.com> proto=ESMTP helo=<x>",
                          year(2026), e) == log_line_status::other_reject);
    CHECK(parse_reject_line(
              "Nov 24 10:00:00 mx1 postfix/smtpd[1234]: NOQUEUE: reject: RCPT from "
              "mail.spam.example[192.36.205.60]: 554 5.7.1 Service unavailable; Unverified "
              "Client host [mail.spam.example] blocked using dbl.spamhaus.org; "
              "from=<m@spam.example> to=<t@example.com> proto=ESMTP helo=<mail.spam.example>",
              year(2026), e) == log_line_status::other_reject);
    // reject_rhsbl_client: "Client host [<name>]", and an address-literal HELO later on the
    // line must not be taken for the client.
    CHECK(parse_reject_line(
              "Nov 24 10:00:00 mx1 postfix/smtpd[1234]: NOQUEUE: reject: RCPT from "
              "mail.spam.example[192.36.205.61]: 554 5.7.1 Service unavailable; Client host "
              "[mail.spam.example] blocked using dbl.spamhaus.org; from=<m@spam.example> "
              "to=<t@example.com> proto=ESMTP helo=<[10.0.0.1]>",
              year(2026), e) == log_line_status::other_reject);
    // ... while reject_rbl_client with that HELO is the client's address.
    REQUIRE(
        parse_reject_line("Nov 24 10:00:00 mx1 postfix/smtpd[1234]: NOQUEUE: reject: RCPT from "
                          "unknown[192.36.205.62]: 554 5.7.1 Service unavailable; Client host "
                          "[192.36.205.62] blocked using zen.spamhaus.org; "
                          "https://www.spamhaus.org/query/ip/192.36.205.62; from=<m@spam.example> "
                          "to=<t@example.com> proto=ESMTP helo=<[10.0.0.1]>",
                          year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(192, 36, 205, 62));
}

TEST_CASE("only smtpd and postscreen rejects are Postfix DNSBL rejections", "[reject_log]") {
    reject_event e;
    // header_checks in cleanup ("REJECT Message blocked using header filter")
    CHECK(parse_reject_line(
              "Nov 24 10:00:00 mx1 postfix/cleanup[2345]: 4Kx1Yz2abc: reject: header Subject: "
              "Cheap meds from unknown[203.0.113.9]; from=<a@b> to=<c@d> proto=ESMTP helo=<x>: "
              "5.7.1 Message blocked using header filter",
              year(2026), e) == log_line_status::other_reject);
    // warn_if_reject is not a reject
    CHECK(parse_reject_line("Nov 24 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject_warning: RCPT "
                            "from x[1.2.3.4]: 554 5.7.1 Service unavailable; Client host "
                            "[1.2.3.4] blocked using zen.spamhaus.org; from=<a@b> to=<c@d> "
                            "proto=ESMTP helo=<x>",
                            year(2026), e) == log_line_status::not_reject);
    // postmulti instances ("postfix-in"), master.cf services ("postfix/submission") and a
    // syslog_name of the operator's own ("mta-in")
    for (const char* program : {"postfix-in/smtpd", "mta-in/smtpd"}) {
        INFO(program);
        REQUIRE(parse_reject_line(std::string("Nov 24 10:00:00 mx1 ") + program +
                                      "[77]: NOQUEUE: reject: RCPT from unknown[1.2.3.5]: 554 "
                                      "5.7.1 Service unavailable; Client host [1.2.3.5] blocked "
                                      "using zen.spamhaus.org; from=<a@b> to=<c@d> proto=ESMTP "
                                      "helo=<x>",
                                  year(2026), e) == log_line_status::dnsbl_reject);
        CHECK(e.ipv4 == v4(1, 2, 3, 5));
        CHECK(e.mta == mta_kind::postfix_smtpd);
    }
    REQUIRE(parse_reject_line("Nov 24 10:00:00 mx1 postfix-in/postscreen[78]: DNSBL rank 2 for "
                              "[1.2.3.6]:5555",
                              year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(1, 2, 3, 6));
    CHECK(e.mta == mta_kind::postfix_postscreen);
    // a syslog host name that is an address changes nothing
    REQUIRE(parse_reject_line("Nov 24 10:00:00 192.0.2.25 postfix/submission/smtpd[79]: NOQUEUE: "
                              "reject: RCPT from unknown[1.2.3.7]: 554 5.7.1 Service unavailable; "
                              "Client host [1.2.3.7] blocked using zen.spamhaus.org; from=<a@b> "
                              "to=<c@d> proto=ESMTP helo=<[192.0.2.25]>",
                              year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(1, 2, 3, 7));
}

TEST_CASE("Exim: the client is the bracketed address outside the HELO's parentheses",
          "[reject_log]") {
    // host_and_ident(): "H=name (helo) [ip]:port"; an address-literal HELO is "([a.b.c.d])".
    reject_event e;
    REQUIRE(parse_reject_line("2026-11-24 10:00:00 H=([192.168.1.10]) [203.0.113.45]:51234 "
                              "I=[192.0.2.1]:25 F=<a@b.example> rejected RCPT <c@example.com>: "
                              "rejected because 203.0.113.45 is in a black list at "
                              "zen.spamhaus.org",
                              year_hint{}, e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(203, 0, 113, 45));
    CHECK(e.mta == mta_kind::exim);
    REQUIRE(parse_reject_line("2026-11-24 10:00:00 H=sendmail.example.org ([10.0.0.7]) "
                              "[203.0.113.46]:51235 F=<a@b.example> rejected RCPT <c@example.com>: "
                              "rejected because 203.0.113.46 is in a black list at "
                              "zen.spamhaus.org",
                              year_hint{}, e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(203, 0, 113, 46));
    CHECK(e.mta == mta_kind::exim);
    CHECK(parse_reject_line("2026-11-24 10:00:00 H=([192.168.1.10]) [2001:db8::25]:51236 "
                            "F=<a@b.example> rejected RCPT <c@example.com>: rejected because "
                            "2001:db8::25 is in a black list at dnsbl6.example.org",
                            year_hint{}, e) == log_line_status::ipv6_client);
}

TEST_CASE("Exim: a recipient as the client gave it, cut at 100 characters, and a mapped address",
          "[reject_log]") {
    // Exim logs RCPT's argument as sent: without angle brackets when the client sent none,
    // and (recent versions) only its first 100 characters.
    const std::string h = "2026-11-24 10:00:00 H=(helo) [1.2.3.50] F=<a@b.example> rejected ";
    const std::string listed = ": 1.2.3.50 is listed at zen.spamhaus.org";
    reject_event e;
    for (const std::string& what :
         {std::string("RCPT c@d.example"), std::string("RCPT <c@d.example>"),
          "RCPT <" + std::string(99, 'a'),
          "RCPT <" + std::string(60, 'a') + "@" + std::string(38, 'd'),
          "RCPT " + std::string(100, 'a'), std::string("MAIL a@b.example")}) {
        INFO(what);
        e = reject_event{};
        CHECK(parse_reject_line(h + what + listed, year_hint{}, e) ==
              log_line_status::dnsbl_reject);
        CHECK(e.ipv4 == v4(1, 2, 3, 50));
    }
    // Not the argument of a command: a blank or a quote in it, a bracket left open short of
    // 100 characters, a stray bracket, nothing.
    for (const std::string& what :
         {std::string("RCPT c@d.example NOTIFY=NEVER"), std::string("RCPT \"c d\"@e.example"),
          "RCPT <" + std::string(50, 'a'), "RCPT <" + std::string(100, 'a'),
          std::string("RCPT c>d.example"), std::string("RCPT ")}) {
        INFO(what);
        CHECK(parse_reject_line(h + what + listed, year_hint{}, e) ==
              log_line_status::other_reject);
    }
    // The client and the address the reason names, both as an IPv6 socket gives them.
    e = reject_event{};
    REQUIRE(parse_reject_line("2026-11-24 10:00:00 H=(helo) [::ffff:1.2.3.96] F=<a@b.example> "
                              "rejected RCPT <c@d.example>: ::ffff:1.2.3.96 is listed at "
                              "zen.spamhaus.org",
                              year_hint{}, e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(1, 2, 3, 96));
    // ... and another address named in it is still not the client's listing
    CHECK(parse_reject_line("2026-11-24 10:00:00 H=(helo) [::ffff:1.2.3.96] F=<a@b.example> "
                            "rejected RCPT <c@d.example>: ::ffff:1.2.3.97 is listed at "
                            "zen.spamhaus.org",
                            year_hint{}, e) == log_line_status::other_reject);
}

TEST_CASE(
    "Exim: DNSBL words count only in the rejection's reason, and a listed domain is no "
    "DNSBL rejection",
    "[reject_log]") {
    reject_event e;
    // the sender address says "dnslists"; the reason is an unroutable recipient
    CHECK(parse_reject_line("2026-11-24 10:00:00 H=lists.example.net [198.51.100.20]:40000 "
                            "F=<dnslists-bounces@lists.example.net> rejected RCPT "
                            "<nobody@example.com>: Unrouteable address",
                            year_hint{}, e) == log_line_status::other_reject);
    // Debian's CHECK_RCPT_DOMAIN_DNSBLS message turned into a deny: the sender's domain is listed
    CHECK(parse_reject_line("2026-11-24 10:00:00 H=mx.spam.example [198.51.100.21]:40001 "
                            "F=<x@spam.example> rejected RCPT <c@example.com>: spam.example is "
                            "listed at dbl.spamhaus.org (127.0.1.2: "
                            "https://www.spamhaus.org/query/domain/spam.example)",
                            year_hint{}, e) == log_line_status::other_reject);
    // Debian's exim4-config only warns (CHECK_RCPT_IP_DNSBLS is a "warn" verb): no rejection
    CHECK(parse_reject_line("2026-11-24 10:00:00 H=(pc) [198.51.100.23]:40003 F=<x@y.example> "
                            "Warning: 198.51.100.23 is listed at zen.spamhaus.org (127.0.0.11: "
                            "https://www.spamhaus.org/query/ip/198.51.100.23)",
                            year_hint{}, e) == log_line_status::not_reject);
    // ... and the same message about the host address is one
    REQUIRE(parse_reject_line("2026-11-24 10:00:00 H=mx.spam.example [198.51.100.22]:40002 "
                              "F=<x@spam.example> rejected RCPT <c@example.com>: 198.51.100.22 is "
                              "listed at zen.spamhaus.org (127.0.0.4: "
                              "https://www.spamhaus.org/query/ip/198.51.100.22)",
                              year_hint{}, e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(198, 51, 100, 22));
    // Our own deliveries refused by a remote server's DNSBL: its H= is the remote MX, and
    // the rejection is of us (failed, deferred; with and without log_selector +pid)
    CHECK(parse_reject_line(
              "2026-11-24 10:00:00 1vAbCd-000123-Xy ** user@remote.example "
              "R=dnslookup T=remote_smtp H=mx.remote.example [203.0.113.5]: SMTP "
              "error from remote mail server after RCPT TO:<user@remote.example>: "
              "550 5.7.1 Mail from 192.0.2.9 rejected by policy: 192.0.2.9 is listed at "
              "zen.spamhaus.org",
              year_hint{}, e) == log_line_status::not_reject);
    CHECK(parse_reject_line("2026-11-24 10:00:00 [4242] 1vAbCd-000123-Xy == user@remote.example "
                            "R=dnslookup T=remote_smtp defer (-44) H=mx.remote.example "
                            "[203.0.113.5]: 451 Mail from 192.0.2.9 rejected for now: 192.0.2.9 "
                            "is listed at zen.spamhaus.org",
                            year_hint{}, e) == log_line_status::not_reject);
    // an arrival whose quoted sender reads like a reject
    CHECK(parse_reject_line("2026-11-24 10:00:00 1vAbCd-000124-Xy <= \"x rejected RCPT <a>: "
                            "198.51.100.30 is listed at z\"@y.example H=(pc) [198.51.100.30]:40004 "
                            "P=esmtp S=1234",
                            year_hint{}, e) == log_line_status::not_reject);
}

TEST_CASE(
    "Sendmail: FEATURE(dnsbl) rejects as sm-mta logs them; a DNSBL-looking address is "
    "no DNSBL",
    "[reject_log]") {
    reject_event e;
    // check_relay, client without reverse DNS (arg1 is the bracketed address)
    REQUIRE(parse_reject_line(
                "Nov 24 10:00:00 mx sm-mta[3131]: 2AOA00Mx003131: ruleset=check_relay, "
                "arg1=[4.3.2.2], arg2=4.3.2.2, relay=[4.3.2.2], reject=550 5.7.1 Rejected: "
                "4.3.2.2 listed at zen.spamhaus.org",
                year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(4, 3, 2, 2));
    CHECK(e.mta == mta_kind::sendmail);
    // FEATURE(delay_checks): the same test in check_rcpt
    REQUIRE(parse_reject_line(
                "Nov 24 10:00:00 mx sm-mta[3132]: 2AOA00Mx003132: ruleset=check_rcpt, "
                "arg1=<u@example.com>, relay=pc.example.net [4.3.2.3] (may be forged), "
                "reject=550 5.7.1 <u@example.com>... Rejected: 4.3.2.3 listed at zen.spamhaus.org",
                year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(4, 3, 2, 3));
    CHECK(parse_reject_line(
              "Nov 24 10:00:00 mx sm-mta[3133]: 2AOA00Mx003133: ruleset=check_rcpt, "
              "arg1=<u@example.com>, relay=[IPv6:2001:db8::5], reject=550 5.7.1 <u@example.com>... "
              "Rejected: IPv6:2001:db8::5 listed at dnsbl6.example.org",
              year(2026), e) == log_line_status::ipv6_client);
    // the sender's domain happens to contain "dnsbl": an unresolvable sender, not a DNSBL
    CHECK(parse_reject_line(
              "Nov 24 10:00:00 mx sm-mta[3134]: 2AOA00Mx003134: ruleset=check_mail, "
              "arg1=<x@dnsbl-spam.example>, relay=mail.example.net [4.3.2.4], reject=553 5.1.8 "
              "<x@dnsbl-spam.example>... Domain of sender address x@dnsbl-spam.example does not "
              "exist",
              year(2026), e) == log_line_status::other_reject);
    CHECK(parse_reject_line(
              "Nov 24 10:00:00 mx sm-mta[3135]: 2AOA00Mx003135: ruleset=check_rcpt, "
              "arg1=<rbl-reports@example.com>, relay=mail.example.net [4.3.2.5], reject=550 "
              "5.7.1 <rbl-reports@example.com>... Relaying denied",
              year(2026), e) == log_line_status::other_reject);
    // a hand-written FEATURE(dnsbl) message naming the list by a word
    REQUIRE(parse_reject_line(
                "Nov 24 10:00:00 mx sm-mta[3136]: 2AOA00Mx003136: ruleset=check_relay, "
                "arg1=pc.example.net, arg2=4.3.2.6, relay=pc.example.net [4.3.2.6], reject=554 "
                "5.7.1 Mail from 4.3.2.6 refused by DNSBL bl.spamcop.net",
                year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(4, 3, 2, 6));
    // a sender of the client's making that holds fields of its own (in arg1 and echoed in
    // the reject text) names no client
    CHECK(
        parse_reject_line(
            "Nov 24 10:00:00 mx sm-mta[3137]: 2AOA00Mx003137: ruleset=check_mail, "
            "arg1=<\"relay=x [8.8.8.8], reject=550 listed at z\"@y.example>, relay=pc.example.net "
            "[4.3.2.7], reject=553 5.1.8 <\"relay=x [8.8.8.8], reject=550 listed at "
            "z\"@y.example>... Domain of sender address does not exist",
            year(2026), e) == log_line_status::other_reject);
}

TEST_CASE("timestamps: Exim's log_timezone offset, RFC 3339 and journald short-iso",
          "[reject_log]") {
    reject_event e;
    const char* exim_tail =
        " H=(pc) [9.8.7.6]:1234 F=<a@b> rejected RCPT <c@d>: rejected because 9.8.7.6 is in a "
        "black list at zen.spamhaus.org";
    // log_timezone = true: "2026-11-24 10:00:00 +0100"; with +millisec "10:00:00.123 -0500"
    REQUIRE(parse_reject_line(std::string("2026-11-24 10:00:00 +0100") + exim_tail, year_hint{},
                              e) == log_line_status::dnsbl_reject);
    CHECK(e.unix_seconds == nov24_2026_10h - 3600);
    CHECK(e.ipv4 == v4(9, 8, 7, 6));
    REQUIRE(parse_reject_line(std::string("2026-11-24 10:00:00.123 -0500") + exim_tail, year_hint{},
                              e) == log_line_status::dnsbl_reject);
    CHECK(e.unix_seconds == nov24_2026_10h + 5 * 3600);
    REQUIRE(parse_reject_line(std::string("2026-11-24 10:00:00.123") + exim_tail, year_hint{}, e) ==
            log_line_status::dnsbl_reject);
    CHECK(e.unix_seconds == nov24_2026_10h);
    const char* pf_tail =
        " mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1.2.3.4]: 554 5.7.1 Service "
        "unavailable; Client host [1.2.3.4] blocked using zen.spamhaus.org; from=<a@b> to=<c@d> "
        "proto=ESMTP helo=<x>";
    for (const auto& [stamp, want] : std::initializer_list<std::pair<const char*, std::int64_t>>{
             {"2026-11-24T10:00:00.123456+01:00", nov24_2026_10h - 3600},  // rsyslog precise
             {"2026-11-24T10:00:00-05:00", nov24_2026_10h + 5 * 3600},
             {"2026-11-24T10:00:00Z", nov24_2026_10h},
             {"2026-11-24t10:00:00z", nov24_2026_10h},  // RFC 3339 5.6: t and z in lower case too
             {"2026-11-24T10:00:00+0100", nov24_2026_10h - 3600},         // journalctl short-iso
             {"2026-11-24T10:00:00.654321+0100", nov24_2026_10h - 3600},  // short-iso-precise
         }) {
        INFO(stamp);
        REQUIRE(parse_reject_line(std::string(stamp) + pf_tail, year_hint{}, e) ==
                log_line_status::dnsbl_reject);
        CHECK(e.unix_seconds == want);
        CHECK(e.ipv4 == v4(1, 2, 3, 4));
    }
}

TEST_CASE(
    "a DNSBL refusing the query (Spamhaus 127.255.255.x 'Error: open resolver') is no "
    "listing",
    "[reject_log]") {
    // Without a reply filter Postfix rejects on any A record, including Spamhaus's error codes
    // for blocked resolvers: every client is then "blocked", none is listed.
    reject_event e;
    CHECK(parse_reject_line(
              "Nov 24 10:00:00 mx1 postfix/smtpd[1234]: NOQUEUE: reject: RCPT from "
              "mail.example.org[198.51.100.50]: 554 5.7.1 Service unavailable; Client host "
              "[198.51.100.50] blocked using zen.spamhaus.org; Error: open resolver; "
              "https://www.spamhaus.org/returnc/pub/34.216.226.155; from=<a@example.org> "
              "to=<c@example.com> proto=ESMTP helo=<mail.example.org>",
              year(2026), e) == log_line_status::other_reject);
    CHECK(parse_reject_line("2026-11-24 10:00:00 H=mail.example.org [198.51.100.51]:40000 "
                            "F=<a@example.org> rejected RCPT <c@example.com>: rejected because "
                            "198.51.100.51 is in a black list at zen.spamhaus.org\\nError: open "
                            "resolver; https://www.spamhaus.org/returnc/pub/34.216.226.155",
                            year_hint{}, e) == log_line_status::other_reject);
    // a real listing's text names the query page, not returnc
    REQUIRE(
        parse_reject_line("Nov 24 10:00:00 mx1 postfix/smtpd[1234]: NOQUEUE: reject: RCPT from "
                          "unknown[198.51.100.52]: 554 5.7.1 Service unavailable; Client host "
                          "[198.51.100.52] blocked using zen.spamhaus.org; "
                          "https://www.spamhaus.org/query/ip/198.51.100.52; from=<a@example.org> "
                          "to=<c@example.com> proto=ESMTP helo=<x>",
                          year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(198, 51, 100, 52));
}

TEST_CASE("non-DNSBL rejects and notices of the three MTAs are not evidence", "[reject_log]") {
    reject_event e;
    const auto status = [&](const char* line) { return parse_reject_line(line, year(2026), e); };
    CHECK(status("Nov 24 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from "
                 "unknown[1.2.3.4]: 450 4.7.25 Client host rejected: cannot find your hostname, "
                 "[1.2.3.4]; from=<a@b> to=<c@d> proto=ESMTP helo=<x>") ==
          log_line_status::other_reject);
    CHECK(status("Nov 24 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1.2.3.4]: "
                 "450 4.2.0 <c@d>: Recipient address rejected: Greylisted, see "
                 "http://postgrey.schweikert.ch/help/d.html; from=<a@b> to=<c@d> proto=ESMTP "
                 "helo=<x>") == log_line_status::other_reject);
    CHECK(status("Nov 24 10:00:00 mx1 postfix/smtpd[1]: warning: Connection rate limit "
                 "exceeded: 61 from x[1.2.3.4] for service smtp") == log_line_status::not_reject);
    CHECK(status("Nov 24 10:00:00 mx1 postfix/postscreen[9]: PASS OLD [1.2.3.4]:5555") ==
          log_line_status::not_reject);
    CHECK(status("Nov 24 10:00:00 mx1 postfix/dnsblog[10]: addr 1.2.3.4 listed by domain "
                 "zen.spamhaus.org as 127.0.0.4") == log_line_status::not_reject);
    CHECK(status("Nov 24 10:00:00 mx1 postfix/postscreen[9]: NOQUEUE: reject: RCPT from "
                 "[1.2.3.4]:5555: 450 4.3.2 Service currently unavailable; from=<a@b>, "
                 "to=<c@d>, proto=ESMTP, helo=<x>") == log_line_status::other_reject);
    CHECK(parse_reject_line("2026-11-24 10:00:00 rejected EHLO from (x_y) [1.2.3.4]:5555: "
                            "syntactically invalid argument(s): x_y",
                            year_hint{}, e) == log_line_status::other_reject);
    CHECK(parse_reject_line("2026-11-24 10:00:00 H=(x) [1.2.3.4]:5555 F=<a@b> temporarily "
                            "rejected RCPT <c@d>: Greylisted, please try again later",
                            year_hint{}, e) == log_line_status::other_reject);
    // a sendmail host named by an address in syslog; the client is the relay
    REQUIRE(status("Nov 24 10:00:00 192.0.2.30 sm-mta[3137]: 2AOA00Mx003137: "
                   "ruleset=check_relay, arg1=[4.3.2.7], arg2=4.3.2.7, relay=[4.3.2.7], "
                   "reject=550 5.7.1 Rejected: 4.3.2.7 listed at zen.spamhaus.org") ==
            log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(4, 3, 2, 7));
}

// journalctl -o json: one object a line, the syslog fields by name (was garbage). MESSAGE is
// an array of byte values where the text is not UTF-8.
TEST_CASE("journalctl -o json entries are read as the syslog lines they stand for",
          "[reject_log]") {
    const std::string smtpd_text =
        "NOQUEUE: reject: RCPT from x[192.0.2.7]: 554 5.7.1 Service unavailable; Client host "
        "[192.0.2.7] blocked using zen.spamhaus.org; from=<a@b> to=<c@d> proto=ESMTP helo=<x>";
    const std::string head =
        R"({"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1795514400123456",)"
        R"("__MONOTONIC_TIMESTAMP":"99","PRIORITY":"6","SYSLOG_FACILITY":"2",)";
    reject_event e;
    REQUIRE(parse_reject_line(head +
                                  R"("SYSLOG_IDENTIFIER":"postfix/smtpd","SYSLOG_PID":"1234",)"
                                  R"("_PID":"1234","_COMM":"smtpd","_HOSTNAME":"mx1",)"
                                  R"("MESSAGE":")" +
                                  smtpd_text + R"("})",
                              year_hint{}, e) == log_line_status::dnsbl_reject);
    CHECK(e.unix_seconds == nov24_2026_10h);
    CHECK(e.ipv4 == v4(192, 0, 2, 7));
    CHECK(e.mta == mta_kind::postfix_smtpd);
    // postscreen's rank, the text as bytes, no host name, _PID only
    std::string bytes;
    for (const char c : std::string("DNSBL rank 3 for [198.51.100.9]:51234"))
        bytes += (bytes.empty() ? "" : ",") + std::to_string(static_cast<unsigned char>(c));
    e = reject_event{};
    REQUIRE(parse_reject_line(head +
                                  R"("SYSLOG_IDENTIFIER":"postfix/postscreen","_PID":"7",)"
                                  R"("MESSAGE":[)" +
                                  bytes + "]}",
                              year_hint{}, e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(198, 51, 100, 9));
    CHECK(e.mta == mta_kind::postfix_postscreen);
    // A user-unknown reject is no evidence, as in a syslog file.
    CHECK(parse_reject_line(head + R"("SYSLOG_IDENTIFIER":"postfix/smtpd","MESSAGE":)"
                                   R"("NOQUEUE: reject: RCPT from x[192.0.2.7]: 550 5.1.1 )"
                                   R"(<a@b>: Recipient address rejected: User unknown"})",
                            year_hint{}, e) == log_line_status::other_reject);
    // Not such an entry, or an MTA's without its text: garbage, and what is wrong is said.
    const std::string pf = R"("SYSLOG_IDENTIFIER":"postfix/smtpd",)";
    for (const auto& [line, why] : std::initializer_list<std::pair<std::string, const char*>>{
             {"{not json", "not valid JSON"},
             {"[1,2]", ""},  // not starting with '{': no journal line, no journal problem
             {R"({"MESSAGE":"x"})", "not a journal entry"},
             {R"({"__REALTIME_TIMESTAMP":1795514400123456,"MESSAGE":"x"})", "not a journal entry"},
             {R"({"__REALTIME_TIMESTAMP":"17955144001234567","MESSAGE":"x"})",
              "not a journal entry"},
             {head + pf + "\"_PID\":\"1\"}", "a journal entry of postfix/smtpd without a MESSAGE"},
             {head + pf + R"("MESSAGE":[300]})", "neither text nor byte values"},
             {head + pf + R"("MESSAGE":null})", "left out as null (4 KiB or more"},
         }) {
        INFO(line);
        CHECK(parse_reject_line(line, year_hint{}, e) == log_line_status::garbage);
        const std::string problem = journal_line_problem(line);
        if (*why)
            CHECK(problem.find(why) != std::string::npos);
        else
            CHECK(problem.empty());
    }
    // Nothing to read: any unit's blank line, another program's text left out. Not bad input.
    for (const std::string& line :
         {head + pf + R"("MESSAGE":""})", head + R"("SYSLOG_IDENTIFIER":"kernel","MESSAGE":null})",
          head + R"("_COMM":"sshd"})", head + pf + R"("MESSAGE":"\n"})"}) {
        INFO(line);
        CHECK(parse_reject_line(line, year_hint{}, e) == log_line_status::not_reject);
        CHECK(journal_line_problem(line).empty());
    }
    CHECK(journal_line_problem(head + R"("MESSAGE":"x"})").empty());  // well formed
    // The syslog line an entry stands for: its words without blanks or colons, a PID only
    // of digits, _COMM and _PID where the syslog fields are missing, the text's first line,
    // a time before 2001-09-09 (fewer digits) padded.
    CHECK(journal_syslog_line(
              R"({"__REALTIME_TIMESTAMP":"1795514400123456","_HOSTNAME":"mx 1:","_COMM":"smtpd",)"
              R"("_PID":"77","MESSAGE":"first\nsecond"})") ==
          "1795514400.123456 mx_1_ smtpd[77]: first");
    CHECK(journal_syslog_line(
              R"({"__REALTIME_TIMESTAMP":"999999999000001","SYSLOG_IDENTIFIER":"a b:",)"
              R"("SYSLOG_PID":"x1","MESSAGE":"m"})") == "0999999999.000001 - a_b_: m");
    CHECK_FALSE(journal_syslog_line(head + pf + R"("MESSAGE":""})"));
    // journalctl -o json-seq: a record separator before the object.
    e = reject_event{};
    CHECK(parse_reject_line("\x1e" + head + pf + R"("MESSAGE":")" + smtpd_text + R"("})",
                            year_hint{}, e) == log_line_status::dnsbl_reject);
    // Postfix writing to stdout (maillog_file = /dev/stdout, in a container): the text is a
    // whole syslog line of its own, under the container's name. Its time is the entry's: the
    // line's own has no year and is in the container's zone (here an hour off).
    e = reject_event{};
    CHECK(parse_reject_line(head +
                                R"("SYSLOG_IDENTIFIER":"mailserver","_COMM":"postlogd",)"
                                R"("MESSAGE":"Nov 24 11:00:05 mx1 postfix/smtpd[12]: )" +
                                smtpd_text + R"("})",
                            year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.unix_seconds == nov24_2026_10h);
    CHECK(e.ipv4 == v4(192, 0, 2, 7));
    // MESSAGE given twice in the entry: an array of its values, the first read.
    e = reject_event{};
    CHECK(parse_reject_line(head + R"("SYSLOG_IDENTIFIER":"postfix/smtpd","MESSAGE":[")" +
                                smtpd_text + R"(","other"]})",
                            year_hint{}, e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(192, 0, 2, 7));
}

// Syslog writes local time without an offset: with --log-timezone (or the host's zone) such
// times are converted with the zone's rules, daylight saving included; times that carry an
// offset keep it. (Were read as UTC: an MTA host in Berlin dated every rejection 1-2 h late.)
TEST_CASE("journalctl short-unix and short-full times", "[reject_log]") {
    const char* pf_tail =
        " mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1.2.3.4]: 554 5.7.1 Service "
        "unavailable; Client host [1.2.3.4] blocked using zen.spamhaus.org; from=<a@b> to=<c@d> "
        "proto=ESMTP helo=<x>";
    reject_event e;
    // -o short-unix: seconds since the epoch and microseconds
    REQUIRE(parse_reject_line(std::string("1795514400.123456") + pf_tail, year_hint{}, e) ==
            log_line_status::dnsbl_reject);
    CHECK(e.unix_seconds == nov24_2026_10h);
    CHECK(e.ipv4 == v4(1, 2, 3, 4));
    CHECK_FALSE(parse_log_timestamp("179551440.123456 mx x", year_hint{}));    // nine digits
    CHECK_FALSE(parse_log_timestamp("17955144000.123456 mx x", year_hint{}));  // eleven
    CHECK_FALSE(parse_log_timestamp("1795514400. mx x", year_hint{}));
    CHECK_FALSE(parse_log_timestamp("1795514400.12x mx x", year_hint{}));
    // -o short-full: UTC and GMT, and tzdata's numeric names, need no zone of the hint
    for (const auto& [stamp, want] : std::initializer_list<std::pair<const char*, std::int64_t>>{
             {"Tue 2026-11-24 10:00:00 UTC", nov24_2026_10h},
             {"Tue 2026-11-24 10:00:00 GMT", nov24_2026_10h},
             {"Tue 2026-11-24 10:00:00 +03", nov24_2026_10h - 3 * 3600},
             {"Tue 2026-11-24 10:00:00 -0330", nov24_2026_10h + 3 * 3600 + 1800},
         }) {
        INFO(stamp);
        REQUIRE(parse_reject_line(std::string(stamp) + pf_tail, year_hint{}, e) ==
                log_line_status::dnsbl_reject);
        CHECK(e.unix_seconds == want);
    }
    CHECK_FALSE(parse_log_timestamp("Mon 2026-11-24 10:00:00 UTC mx x", year_hint{}));  // a Tuesday
    CHECK_FALSE(parse_log_timestamp("Tue 2026-11-24 10:00:00 +3 mx x", year_hint{}));
    // A named zone without the log's zone to check it against (UTC): not read, and said why.
    CHECK_FALSE(parse_log_timestamp("Tue 2026-11-24 10:00:00 CET mx x", year_hint{}));
    CHECK(log_timestamp_problem("Tue 2026-11-24 10:00:00 CET mx x", year_hint{})
              .find("'CET' is not the log zone's (UTC") != std::string::npos);
    CHECK(log_timestamp_problem("Tue 2026-11-24 10:00:00 UTC mx x", year_hint{}).empty());
    CHECK(log_timestamp_problem("garbage", year_hint{}).empty());
    // A host name where the zone goes is said to be no zone (it was named as one).
    CHECK(log_timestamp_problem("Tue 2026-11-24 10:00:00 mx1 postfix/smtpd[1]: x", year_hint{})
              .find("'mx1' after the weekday, date and time is not a time zone") !=
          std::string::npos);
    CHECK(log_timestamp_problem("Tue 2026-11-24 10:00:00 ChST mx x", year_hint{})
              .find("'ChST' is not the log zone's") != std::string::npos);

    const test_zone berlin("Europe/Berlin");
    const year_hint h = berlin.hint();
    auto t = parse_log_timestamp("Tue 2026-11-24 10:00:00 CET mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == nov24_2026_10h - 3600);
    CHECK(t->length == 27);
    t = parse_log_timestamp("Fri 2026-07-24 10:00:00 CEST mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == 1784887200 - 7200);
    // The hour repeated at the end of summer time: the abbreviation tells which.
    const auto first = parse_log_timestamp("Sun 2026-10-25 02:30:00 CEST mx x", h);
    const auto second = parse_log_timestamp("Sun 2026-10-25 02:30:00 CET mx x", h);
    REQUIRE((first && second));
    CHECK(first->unix_seconds == 1792888200);  // 2026-10-25T00:30:00Z
    CHECK(second->unix_seconds == 1792888200 + 3600);
    // Not Berlin's abbreviation at that time (summer time in November, another zone's).
    CHECK_FALSE(parse_log_timestamp("Tue 2026-11-24 10:00:00 CEST mx x", h));
    CHECK_FALSE(parse_log_timestamp("Tue 2026-11-24 10:00:00 EST mx x", h));
    CHECK(log_timestamp_problem("Tue 2026-11-24 10:00:00 EST mx x", h)
              .find("'EST' is not the log zone's (CET then") != std::string::npos);
    CHECK(parse_log_timestamp("Tue 2026-11-24 10:00:00 UTC mx x", h)->unix_seconds ==
          nov24_2026_10h);
}

TEST_CASE("times without an offset are read in the given time zone", "[reject_log]") {
    const test_zone berlin("Europe/Berlin");
    const year_hint h = berlin.hint(year(2026));
    std::string error;
    auto t = parse_log_timestamp("Nov 24 10:00:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == nov24_2026_10h - 3600);  // CET
    t = parse_log_timestamp("Jul 24 10:00:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == 1784887200 - 7200);  // 2026-07-24T10:00:00Z, CEST
    // Spring forward (2026-03-29 02:00 CET -> 03:00 CEST): one second apart, in one hour of
    // the cache and the next.
    const auto before = parse_log_timestamp("Mar 29 01:59:59 mx x", h);
    const auto after = parse_log_timestamp("Mar 29 03:00:00 mx x", h);
    REQUIRE((before && after));
    CHECK(after->unix_seconds - before->unix_seconds == 1);
    CHECK(before->unix_seconds == 1774745999);  // 2026-03-29T00:59:59Z
    // Back to winter time at the next line of a later hour, then the same hour again.
    CHECK(parse_log_timestamp("Nov 24 10:30:00 mx x", h)->unix_seconds ==
          nov24_2026_10h - 3600 + 1800);
    // Exim without log_timezone is local time too; with an offset, RFC 3339 and Z are not.
    reject_event e;
    const char* exim_tail =
        " H=(pc) [9.8.7.6]:1234 F=<a@b> rejected RCPT <c@d>: rejected because 9.8.7.6 is in a "
        "black list at zen.spamhaus.org";
    REQUIRE(parse_reject_line(std::string("2026-11-24 10:00:00") + exim_tail, h, e) ==
            log_line_status::dnsbl_reject);
    CHECK(e.unix_seconds == nov24_2026_10h - 3600);
    REQUIRE(parse_reject_line(std::string("2026-11-24 10:00:00 +0000") + exim_tail, h, e) ==
            log_line_status::dnsbl_reject);
    CHECK(e.unix_seconds == nov24_2026_10h);
    CHECK(parse_log_timestamp("2026-11-24T10:00:00Z x", h)->unix_seconds == nov24_2026_10h);
    CHECK(parse_log_timestamp("2026-11-24T10:00:00+01:00 x", h)->unix_seconds ==
          nov24_2026_10h - 3600);
    // Without a zone in the hint: UTC, whatever the process's zone.
    CHECK(parse_log_timestamp("Nov 24 10:00:00 mx x", year(2026))->unix_seconds == nov24_2026_10h);

    // A name the C library does not know would silently be UTC: refused.
    CHECK_FALSE(set_process_time_zone("Mars/Olympus_Mons", error));
    CHECK(error.find("Mars/Olympus_Mons") != std::string::npos);
    // files of the zone directory that are no compiled zone
    CHECK_FALSE(set_process_time_zone("zone.tab", error));
    CHECK_FALSE(set_process_time_zone("tzdata.zi", error));
    CHECK_FALSE(set_process_time_zone("Europe", error));
    CHECK_FALSE(set_process_time_zone("../../etc/passwd", error));
    CHECK_FALSE(set_process_time_zone("", error));
    CHECK(set_process_time_zone("UTC", error));
    // Leap-second zones run 27 s behind the POSIX time syslog writes.
    CHECK_FALSE(set_process_time_zone("right/UTC", error));
    CHECK(error.find("leap-second") != std::string::npos);
    // "local" takes TZ as it is, which must name a zone too: glibc reads a misspelt one as
    // UTC without a word (a Berlin log an hour off).
    ::setenv("TZ", "Europe/Berln", 1);
    CHECK_FALSE(set_process_time_zone("local", error));
    CHECK(error.find("TZ='Europe/Berln'") != std::string::npos);
    ::setenv("TZ", ":right/Europe/Berlin", 1);
    CHECK_FALSE(set_process_time_zone("local", error));
    for (const char* ok : {"Europe/Berlin", ":Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3", "UTC0",
                           "<+0330>-3:30", "UTC", ""}) {
        ::setenv("TZ", ok, 1);
        CHECK(set_process_time_zone("local", error));
    }
    ::setenv("TZ", "Europe/Berlin", 1);
    REQUIRE(set_process_time_zone("local", error));
    local_time_zone from_tz;
    year_hint by_tz = year(2026);
    by_tz.zone = &from_tz;
    CHECK(parse_log_timestamp("Nov 24 10:00:00 mx x", by_tz)->unix_seconds ==
          nov24_2026_10h - 3600);
    ::unsetenv("TZ");
    CHECK(set_process_time_zone("local", error));
}

// Operators rewrite DNSBL replies (Postfix rbl_reply_maps, an Exim dnslists `message`): the
// built-in forms do not match them, and such rejects were "other rejects". With the text
// given (--dnsbl-text) they are DNSBL rejections of the client; the envelope and HELO are
// not searched, and domain rejects the built-in forms exclude stay excluded.
TEST_CASE("the operator's own DNSBL reject texts", "[reject_log]") {
    const std::vector<std::string> texts = {"appears on our spam list", "is on our blocklist"};
    reject_event e;
    const std::string smtpd =
        "2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from "
        "unknown[1.2.3.4]: 554 5.7.1 Rejected: 1.2.3.4 appears on our spam list (see "
        "https://bl.example.net/q/1.2.3.4); from=<a@b> to=<c@d> proto=ESMTP helo=<x>";
    CHECK(parse_reject_line(smtpd, year_hint{}, e) == log_line_status::other_reject);
    REQUIRE(parse_reject_line(smtpd, year_hint{}, e, 1, texts) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(1, 2, 3, 4));
    CHECK(e.mta == mta_kind::postfix_smtpd);
    CHECK(e.unix_seconds == nov24_2026_10h);
    // postscreen logs the client with its port
    const std::string ps =
        "2026-11-24T10:00:00Z mx1 postfix/postscreen[2]: NOQUEUE: reject: RCPT from "
        "[5.6.7.8]:51234: 550 5.7.1 Service unavailable; 5.6.7.8 is on our blocklist; "
        "from=<a@b>, to=<c@d>, proto=ESMTP, helo=<x>";
    REQUIRE(parse_reject_line(ps, year_hint{}, e, 1, texts) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(5, 6, 7, 8));
    CHECK(e.mta == mta_kind::postfix_postscreen);
    // an IPv6 client
    CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
                            "from unknown[2001:db8::1]: 554 5.7.1 appears on our spam list; "
                            "from=<a@b> to=<c@d> proto=ESMTP helo=<x>",
                            year_hint{}, e, 1, texts) == log_line_status::ipv6_client);
    // the text in the envelope or HELO only, in a warning, or from another Postfix service
    CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
                            "from unknown[1.2.3.4]: 550 5.1.1 <c@d>: Recipient address rejected: "
                            "User unknown; from=<appears on our spam list@b> to=<c@d> "
                            "proto=ESMTP helo=<is on our blocklist>",
                            year_hint{}, e, 1, texts) == log_line_status::other_reject);
    CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: "
                            "reject_warning: RCPT from unknown[1.2.3.4]: 554 5.7.1 appears on "
                            "our spam list; from=<a@b> to=<c@d> proto=ESMTP helo=<x>",
                            year_hint{}, e, 1, texts) == log_line_status::not_reject);
    CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/cleanup[3]: 4A: reject: header "
                            "Subject: appears on our spam list from unknown[1.2.3.4]; "
                            "from=<a@b> to=<c@d>: 5.7.1 no",
                            year_hint{}, e, 1, texts) == log_line_status::other_reject);
    // a reject_rhsbl_* domain reject keeps its built-in meaning
    CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
                            "from unknown[1.2.3.4]: 554 5.7.1 Service unavailable; Sender "
                            "address [a@spam.example] blocked using dbl.example; from=<a@b> "
                            "to=<c@d> proto=ESMTP helo=<x>",
                            year_hint{}, e, 1, texts) == log_line_status::other_reject);
    // ... also when the operator's text is in it (rbl_reply_maps serves reject_rhsbl_* too),
    // and a DNSBL refusing the query is none
    CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
                            "from unknown[1.2.3.4]: 554 5.7.1 Sender address [a@spam.example] "
                            "blocked using dbl.example; appears on our spam list; from=<a@b> "
                            "to=<c@d> proto=ESMTP helo=<x>",
                            year_hint{}, e, 1, texts) == log_line_status::other_reject);
    CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
                            "from unknown[1.2.3.4]: 554 5.7.1 appears on our spam list; Error: "
                            "open resolver; https://www.spamhaus.org/returnc/pub/1.2.3.4; "
                            "from=<a@b> to=<c@d> proto=ESMTP helo=<x>",
                            year_hint{}, e, 1, texts) == log_line_status::other_reject);
    // the client's own words echoed by another restriction ("<helo>: Helo command rejected")
    CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: EHLO "
                            "from unknown[1.2.3.4]: 504 5.5.2 <appears on our spam list>: Helo "
                            "command rejected: need fully-qualified hostname; proto=ESMTP "
                            "helo=<appears on our spam list>",
                            year_hint{}, e, 1, texts) == log_line_status::other_reject);
    CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
                            "from unknown[1.2.3.4]: 550 5.1.1 <is on our blocklist@d>: Recipient "
                            "address rejected: User unknown; from=<a@b> to=<is on our "
                            "blocklist@d> proto=ESMTP helo=<x>",
                            year_hint{}, e, 1, texts) == log_line_status::other_reject);
    // one rbl_reply_maps template for DNSBLs and RHSBLs: the text right after a domain is
    // about the domain (as "<domain> is listed at" is), after the address or a word it is not
    const std::vector<std::string> listed_on = {"is listed on"};
    auto with_reply = [](const std::string& reply) {
        return "2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from "
               "unknown[1.2.3.4]: 554 5.7.1 " +
               reply + "; from=<a@b> to=<c@d> proto=ESMTP helo=<x>";
    };
    for (const char* reply : {"Blocked: spam-domain.example is listed on dbl.example.net",
                              "Blocked: <a@spam.example> is listed on dbl.example.net",
                              "Blocked: [mail.spam.example] is listed on dbl.example.net"}) {
        INFO(reply);
        CHECK(parse_reject_line(with_reply(reply), year_hint{}, e, 1, listed_on) ==
              log_line_status::other_reject);
    }
    for (const char* reply :
         {"Blocked: 1.2.3.4 is listed on zen.example.net",
          "Blocked: [1.2.3.4] is listed on zen.example.net",
          "Client host is listed on zen.example.net", "is listed on zen.example.net"}) {
        INFO(reply);
        CHECK(parse_reject_line(with_reply(reply), year_hint{}, e, 1, listed_on) ==
              log_line_status::dnsbl_reject);
    }
    // a HELO holding "; from=<" does not move where the reply ends
    CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
                            "from unknown[1.2.3.4]: 450 4.7.1 Service unavailable; from=<a@b> "
                            "to=<c@d> proto=ESMTP helo=<h appears on our spam list; from=<x>",
                            year_hint{}, e, 1, texts) == log_line_status::other_reject);
    // The client's own words: a warning quoting a non-SMTP command that looks like a reject
    // line, a HELO or sender that looks like an rbl reply, a reply without a sender whose
    // HELO holds the text, an access map's echo of a forged rbl reply
    const std::vector<std::string> none;
    for (const auto* t : {&texts, &none}) {
        CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/postscreen[1]: NON-SMTP COMMAND "
                                "from [1.2.3.4]:5555 after CONNECT: GET reject: RCPT from "
                                "[8.8.8.8]: appears on our spam list; client [8.8.8.8] blocked "
                                "using z",
                                year_hint{}, e, 1, *t) == log_line_status::not_reject);
        CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: warning: non-SMTP "
                                "command from unknown[1.2.3.4]: GET reject: RCPT from [9.9.9.9]: "
                                "5 Client host [9.9.9.9] blocked using z",
                                year_hint{}, e, 1, *t) == log_line_status::not_reject);
        CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
                                "from unknown[1.2.3.4]: 554 5.7.1 <c@d>: Relay access denied; "
                                "from=<a@b> to=<c@d> proto=ESMTP helo=<Client host [9.9.9.9] "
                                "blocked using zen.example>",
                                year_hint{}, e, 1, *t) == log_line_status::other_reject);
        CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
                                "from unknown[1.2.3.4]: 554 5.7.1 <c@d>: Relay access denied; "
                                "from=<\"Client host [1.2.3.4] blocked using z\"@b> to=<c@d> "
                                "proto=ESMTP helo=<x>",
                                year_hint{}, e, 1, *t) == log_line_status::other_reject);
        CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: EHLO "
                                "from unknown[1.2.3.4]: 554 5.7.1 <Client host [1.2.3.4] blocked "
                                "using z appears on our spam list>: Helo command rejected: "
                                "Access denied; proto=ESMTP helo=<x>",
                                year_hint{}, e, 1, *t) == log_line_status::other_reject);
        // an rbl reply naming another address than the client's
        CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
                                "from unknown[1.2.3.4]: 554 5.7.1 Service unavailable; Client "
                                "host [9.9.9.9] blocked using zen.example; from=<a@b> to=<c@d> "
                                "proto=ESMTP helo=<x>",
                                year_hint{}, e, 1, *t) == log_line_status::other_reject);
    }
    CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: VRFY "
                            "from unknown[1.2.3.4]: 450 4.7.25 Client host rejected: cannot find "
                            "your hostname, [1.2.3.4]; to=<x@y> proto=ESMTP helo=<appears on our "
                            "spam list>",
                            year_hint{}, e, 1, texts) == log_line_status::other_reject);
    // ... nor hide a real one: the HELO is not read for the default form either
    REQUIRE(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
                              "from unknown[1.2.3.4]: 554 5.7.1 appears on our spam list; "
                              "from=<a@b> to=<c@d> proto=ESMTP helo=<x] blocked using y>",
                              year_hint{}, e, 1, texts) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(1, 2, 3, 4));
    // an operator template that starts with the address is still one
    REQUIRE(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
                              "from unknown[1.2.3.4]: 554 5.7.1 <1.2.3.4> appears on our spam "
                              "list; from=<a@b> to=<c@d> proto=ESMTP helo=<x>",
                              year_hint{}, e, 1, texts) == log_line_status::dnsbl_reject);
    // a milter's reject with the operator's text
    CHECK(parse_reject_line("2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: milter-reject: "
                            "RCPT from unknown[1.2.3.4]: 554 5.7.1 appears on our spam list; "
                            "from=<a@b> to=<c@d> proto=ESMTP helo=<x>",
                            year_hint{}, e, 1, texts) == log_line_status::dnsbl_reject);
    // Exim's dnslists message, and Sendmail's
    const std::string exim =
        "2026-11-24 10:00:00 H=(pc) [9.8.7.6]:1234 F=<a@b> rejected RCPT <c@d>: Your host "
        "9.8.7.6 is on our blocklist";
    CHECK(parse_reject_line(exim, year_hint{}, e) == log_line_status::other_reject);
    REQUIRE(parse_reject_line(exim, year_hint{}, e, 1, texts) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(9, 8, 7, 6));
    CHECK(e.mta == mta_kind::exim);
    const std::string sm =
        "Nov 24 10:00:00 mx sendmail[7]: 4AO: ruleset=check_relay, arg1=x, arg2=7.7.7.7, "
        "relay=x [7.7.7.7], reject=550 5.7.1 Mail from 7.7.7.7 refused: is on our blocklist";
    CHECK(parse_reject_line(sm, year(2026), e) == log_line_status::other_reject);
    REQUIRE(parse_reject_line(sm, year(2026), e, 1, texts) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(7, 7, 7, 7));
    // an empty text matches nothing
    const std::vector<std::string> empty = {""};
    CHECK(parse_reject_line(smtpd, year_hint{}, e, 1, empty) == log_line_status::other_reject);
}

// What an SMTP client writes (HELO, envelope addresses with quoted local parts, text a
// warning quotes) and what other programs log must never name another client: each of
// these named 9.9.9.9 (or the remote MX) as a DNSBL-rejected client before.
TEST_CASE("the client's words cannot frame another address (Exim, Sendmail, other programs)",
          "[reject_log]") {
    reject_event e;
    auto status = [&](const std::string& line) { return parse_reject_line(line, year(2026), e); };
    // a sender holding "sendmail[" and Sendmail fields, on an Exim line
    CHECK(status("2026-11-24 10:00:00 H=(x.example) [1.2.3.4]:5555 F=<\"sendmail[1] "
                 "relay=[9.9.9.9] reject=550 listed at z\"@a.example> rejected RCPT "
                 "<u@b.example>: relay not permitted") == log_line_status::other_reject);
    // ... and "sendmail[" in a sender hides no real Exim DNSBL rejection
    REQUIRE(status("2026-11-24 10:00:00 H=(x.example) [1.2.3.4]:5555 F=<sendmail[1]@a.example> "
                   "rejected RCPT <u@b.example>: 1.2.3.4 is listed at zen.spamhaus.org") ==
            log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(1, 2, 3, 4));
    // Sendmail: brackets in a quoted arg1 past an IPv6 relay; a milter line without relay=;
    // an echoed address saying "listed at"
    CHECK(status("Nov 24 10:00:00 mx sendmail[123]: 2AOA00Mx003140: ruleset=check_rcpt, "
                 "arg1=<\"[9.9.9.9] RBL\"@b.example>, relay=[IPv6:2001:db8::1], reject=550 5.7.1 "
                 "<\"[9.9.9.9] RBL\"@b.example>... Relaying denied") ==
          log_line_status::other_reject);
    CHECK(status("Nov 24 10:00:00 mx sendmail[123]: 40H1abc: Milter: to=<\"relay=[9.9.9.9]\"@b."
                 "example>, reject=550 5.7.1 Rejected: listed at zen.spamhaus.org") ==
          log_line_status::other_reject);
    CHECK(status("Nov 24 10:00:00 mx sendmail[123]: 40H1abd: Milter: to=<u@b.example>, "
                 "reject=550 5.7.1 Rejected: listed at zen.spamhaus.org") ==
          log_line_status::other_reject);
    CHECK(status("Nov 24 10:00:00 mx sendmail[123]: 2AOA00Mx003141: ruleset=check_rcpt, "
                 "arg1=<listed-at@b.example>, relay=c.example [1.2.3.4], reject=550 5.7.1 "
                 "<listed at@b.example>... Relaying denied") == log_line_status::other_reject);
    // a piece of an Exim line syslog split, and another program's line
    CHECK(status("Nov 24 10:00:00 mx exim[123]: [2\\2] aaaa H=[9.9.9.9] rejected RCPT <x>: "
                 "9.9.9.9 is listed at zen.spamhaus.org\"@b.example>: relay not permitted") ==
          log_line_status::not_reject);
    CHECK(status("Nov 24 10:00:00 mx amavis[1]: (01234-01) Blocked SPAM {Discarded}, "
                 "[5.6.7.8]:4 [5.6.7.8] <\"x H=[9.9.9.9] rejected y: 9.9.9.9 is listed at "
                 "z\"@a.example> -> <u@b.example>") == log_line_status::not_reject);
    // the reason starting inside a quoted recipient; a callout's answer (ours refused)
    CHECK(status("2026-11-24 10:00:00 H=(x) [1.2.3.4]:5555 F=<a@a.example> rejected RCPT "
                 "<\"x: 1.2.3.4 is listed at z\"@b.example>: relay not permitted") ==
          log_line_status::other_reject);
    CHECK(status("2026-11-24 10:00:00 H=(x) [1.2.3.4]:5555 sender verify defer for "
                 "<a@a.example>: response to \"RCPT TO:<a@a.example>\" from mx.a.example "
                 "[5.6.7.8] was: 450 4.7.1 Connection rejected by policy: 9.9.9.9 is listed at "
                 "zen.spamhaus.org") != log_line_status::dnsbl_reject);
    CHECK(status("2026-11-24 10:00:00 H=(x) [1.2.3.4]:5555 F=<a@a.example> rejected RCPT "
                 "<u@b.example>: response to \"RCPT TO:<u@b.example>\" from mx.b.example "
                 "[5.6.7.8] was: 554 5.7.1 Client host [9.9.9.9] blocked using zen") ==
          log_line_status::other_reject);
    // a junk HELO (helo_accept_junk_hosts) that closes its parentheses early
    CHECK(status("2026-11-24 10:00:00 H=(x) [9.9.9.9] (y) [1.2.3.4]:5555 F=<a@b> rejected RCPT "
                 "<u@b.example>: 1.2.3.4 is listed at zen.spamhaus.org") ==
          log_line_status::other_reject);
    CHECK(status("2026-11-24 10:00:00 H=(x) [9.9.9.9] F=<y) [1.2.3.4]:5555 F=<a@b> rejected "
                 "RCPT <u@b.example>: 1.2.3.4 is listed at zen.spamhaus.org") ==
          log_line_status::other_reject);
    // Exim through syslog, with its own time stamp and pid, is read as its own log
    REQUIRE(status("Nov 24 10:00:00 mx exim[123]: 2026-11-24 10:00:00 [123] H=(x) "
                   "[1.2.3.5]:5555 F=<a@b> rejected RCPT <u@b.example>: 1.2.3.5 is listed at "
                   "zen.spamhaus.org") == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(1, 2, 3, 5));
    REQUIRE(status("Nov 24 10:00:00 mx exim4[123]: H=mail.example.net (helo.example) "
                   "[1.2.3.6] rejected connection in \"connect\" ACL: 1.2.3.6 is listed at "
                   "zen.spamhaus.org") == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(1, 2, 3, 6));
    // log_selector +tls_sni +tls_peerdn (quoted fields), +dnssec ("DS" before H=), +spf
    for (const char* line :
         {"2026-11-24 10:00:00 H=(x) [192.0.2.10]:51234 X=TLS1.3:TLS_AES_256_GCM_SHA384:256 "
          "CV=no SNI=\"mx.example.org\" F=<a@b.example> rejected RCPT <c@d.example>: "
          "192.0.2.10 is listed at zen.spamhaus.org",
          "2026-11-24 10:00:00 H=(x) [192.0.2.10]:51234 X=TLS1.3:TLS_AES_256_GCM_SHA384:256 "
          "CV=yes DN=\"CN=client.example,O=Example\" rejected MAIL <a@b.example>: 192.0.2.10 "
          "is listed at zen.spamhaus.org",
          "2026-11-24 10:00:00  DSH=mail.example.com [192.0.2.10] F=<a@b.example> rejected RCPT "
          "<c@d.example>: 192.0.2.10 is listed at zen.spamhaus.org",
          "2026-11-24 10:00:00 DS H=mail.example.com [192.0.2.10] F=<a@b.example> rejected RCPT "
          "<c@d.example>: 192.0.2.10 is listed at zen.spamhaus.org",
          "2026-11-24 10:00:00 H=(x) [192.0.2.10] spf=fail rejected MAIL <a@b.example>: "
          "192.0.2.10 is listed at zen.spamhaus.org"}) {
        INFO(line);
        REQUIRE(status(line) == log_line_status::dnsbl_reject);
        CHECK(e.ipv4 == v4(192, 0, 2, 10));
    }
    // ... but a quoted SNI of the client's making is no field
    CHECK(status("2026-11-24 10:00:00 H=(x) [192.0.2.10]:51234 SNI=\"a rejected RCPT <b>: "
                 "192.0.2.10 is listed at z\" F=<a@b.example> rejected RCPT <c@d.example>: "
                 "relay not permitted") == log_line_status::other_reject);
}

// A daemon on an IPv6 socket logs its IPv4 clients mapped into IPv6 (RFC 4291 2.5.5.2):
// Sendmail with Family=inet6 as "IPv6:::ffff:a.b.c.d", Postfix as "::ffff:a.b.c.d". Those
// rejections were taken for IPv6 clients' and dropped without a word.
TEST_CASE("IPv4 clients logged mapped into IPv6 are their IPv4", "[reject_log]") {
    reject_event e;
    REQUIRE(parse_reject_line(
                "Nov 24 10:00:00 mx sm-mta[3140]: 2AOA00Mx003140: ruleset=check_relay, "
                "arg1=[IPv6:::ffff:4.3.2.9], arg2=IPv6:::ffff:4.3.2.9, "
                "relay=[IPv6:::ffff:4.3.2.9], reject=550 5.7.1 Rejected: IPv6:::ffff:4.3.2.9 "
                "listed at zen.spamhaus.org",
                year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(4, 3, 2, 9));
    CHECK(e.mta == mta_kind::sendmail);
    // check_relay without relay=: the client is arg2=
    REQUIRE(parse_reject_line("Nov 24 10:00:00 mx sm-mta[3141]: 2AOA00Mx003141: "
                              "ruleset=check_relay, arg1=pc.example.net, "
                              "arg2=IPv6:::ffff:4.3.2.12, reject=550 5.7.1 Rejected: "
                              "IPv6:::ffff:4.3.2.12 listed at zen.spamhaus.org",
                              year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(4, 3, 2, 12));
    CHECK(parse_reject_line("Nov 24 10:00:00 mx sm-mta[3142]: 2AOA00Mx003142: "
                            "ruleset=check_relay, arg1=pc.example.net, arg2=IPv6:2001:db8::7, "
                            "reject=550 5.7.1 Rejected: IPv6:2001:db8::7 listed at "
                            "dnsbl6.example.org",
                            year(2026), e) == log_line_status::ipv6_client);
    REQUIRE(
        parse_reject_line("Nov 24 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from "
                          "unknown[::FFFF:4.3.2.10]: 554 5.7.1 Service unavailable; Client host "
                          "[::FFFF:4.3.2.10] blocked using zen.spamhaus.org; from=<a@b.example> "
                          "to=<c@d.example> proto=ESMTP helo=<x>",
                          year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(4, 3, 2, 10));
    CHECK(e.mta == mta_kind::postfix_smtpd);
    // Not mapped: other IPv6 addresses that end in a dotted quad stay IPv6 clients.
    for (const char* client : {"::fffe:4.3.2.11", "64:ff9b::4.3.2.11", "::4.3.2.11"}) {
        INFO(client);
        CHECK(parse_reject_line(std::string("Nov 24 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: "
                                            "reject: RCPT from unknown[") +
                                    client + "]: 554 5.7.1 Service unavailable; Client host [" +
                                    client +
                                    "] blocked using zen.spamhaus.org; from=<a@b.example> "
                                    "to=<c@d.example> proto=ESMTP helo=<x>",
                                year(2026), e) == log_line_status::ipv6_client);
    }
}

TEST_CASE("BSD syslog years come from the captures' whole range", "[reject_log]") {
    // Captures from January and from December 2026: a "Dec  2" line is of 2026, inside the
    // range. Taken from the earliest capture alone it was 2025 (nearer Jan 5 2026).
    year_hint h;
    h.reference_unix = days_from_civil(2026, 1, 5) * 86400;
    h.reference_last_unix = days_from_civil(2026, 12, 1) * 86400;
    h.now_unix = days_from_civil(2026, 12, 3) * 86400;
    auto t = parse_log_timestamp("Dec  2 11:00:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == days_from_civil(2026, 12, 2) * 86400 + 11 * 3600);
    // Before the range, nearest its start: the December before.
    t = parse_log_timestamp("Dec 20 11:00:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == days_from_civil(2025, 12, 20) * 86400 + 11 * 3600);
    // A range of one point is the single reference as before.
    h.reference_last_unix = 0;
    t = parse_log_timestamp("Dec  2 11:00:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == days_from_civil(2025, 12, 2) * 86400 + 11 * 3600);
    // Inside a range of more than a year the later year wins (not past the clock).
    h.reference_unix = days_from_civil(2025, 1, 1) * 86400;
    h.reference_last_unix = days_from_civil(2026, 11, 30) * 86400;
    t = parse_log_timestamp("Mar  3 10:00:00 mx x", h);
    REQUIRE(t);
    CHECK(t->unix_seconds == days_from_civil(2026, 3, 3) * 86400 + 10 * 3600);
}

// Spamhaus's DQS guide sets Postfix's reply to "$rbl_class $rbl_what blocked using ZEN - see
// ...": no brackets. Every such rejection was an "other reject".
TEST_CASE("Postfix: DQS replies name the client without brackets", "[reject_log]") {
    reject_event e;
    const std::string head =
        "Dec  5 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[198.51.100.150]: "
        "554 5.7.1 ";
    const std::string tail =
        " for details; from=<a@b.example> to=<c@d.example> proto=ESMTP helo=<x>";
    CHECK(parse_reject_line(head +
                                "Client host 198.51.100.150 blocked using ZEN - see "
                                "https://www.spamhaus.org/query/ip/198.51.100.150" +
                                tail,
                            year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(198, 51, 100, 150));
    // the DBL template: a domain's class
    CHECK(parse_reject_line(head +
                                "Sender address a@spam.example blocked using DBL - see "
                                "https://www.spamhaus.org/query/domain/spam.example" +
                                tail,
                            year(2026), e) == log_line_status::other_reject);
    // another address than the client's
    CHECK(parse_reject_line(head + "Client host 198.51.100.9 blocked using ZEN - see x" + tail,
                            year(2026), e) == log_line_status::other_reject);
    // Lists' names in operators' reply templates can be anything, and zones local ones.
    for (const char* reply : {"Client host 198.51.100.150 blocked using Spamhaus; see x",
                              "Client host 198.51.100.150 blocked using AuthBL",
                              "Client host [198.51.100.150] blocked using spamhaus",
                              "Client host [198.51.100.150] blocked using SBL+XBL",
                              "Client host [198.51.100.150] blocked using a DNSBL",
                              "Client host [198.51.100.150] blocked using our own list",
                              "Client host [198.51.100.150] blocked using bl.example.local;"}) {
        INFO(reply);
        CHECK(parse_reject_line(head + reply + tail, year(2026), e) ==
              log_line_status::dnsbl_reject);
    }
    // An access map's own text made to look like the rbl reply names its table, not a list.
    for (const char* reply : {"Client host 198.51.100.150 blocked using local access table",
                              "Client host [198.51.100.150] blocked using CIDR Access Map",
                              "Client host [198.51.100.150] blocked using /etc/postfix/access",
                              "Client host [198.51.100.150] blocked using hash:/etc/postfix/a"}) {
        INFO(reply);
        CHECK(parse_reject_line(head + reply + tail, year(2026), e) ==
              log_line_status::other_reject);
    }
    // ... unless the operator's own DNSBL text says it is one.
    const std::vector<std::string> own = {"blocked using local access table"};
    CHECK(parse_reject_line(
              head + "Client host 198.51.100.150 blocked using local access table" + tail,
              year(2026), e, 1, own) == log_line_status::dnsbl_reject);
    // postscreen's reply comes from its DNSBL test, whatever its reply map calls the list.
    CHECK(parse_reject_line(
              "Dec  5 10:00:00 mx1 postfix/postscreen[9]: NOQUEUE: reject: RCPT from "
              "[198.51.100.150]:51234: 550 5.7.1 Service unavailable; client [198.51.100.150] "
              "blocked using blocked by RBL, see http://multirbl.valli.org/; from=<a@b.example>, "
              "to=<c@d.example>, proto=ESMTP, helo=<x>",
              year(2026), e) == log_line_status::dnsbl_reject);
    // A domain's class stays no evidence when an operator's text is in the reply too.
    const std::vector<std::string> texts = {"domain too young"};
    CHECK(parse_reject_line(
              head + "Helo command spam.example blocked using ZRD - domain too young" + tail,
              year(2026), e, 1, texts) == log_line_status::other_reject);
}

TEST_CASE("Exim: the spec's, DirectAdmin's and configurations' other DNSBL wordings",
          "[reject_log]") {
    reject_event e;
    const std::string head =
        "2026-12-05 01:38:03 H=tg02.spam.example [198.51.100.110]:4711 F=<a@spam.example> "
        "rejected RCPT <c@d.example>: ";
    for (const char* reason : {"Email blocked by b.barracudacentral.org",
                               "Your host 198.51.100.110 is listed in zen.spamhaus.org",
                               "rejected because 198.51.100.110 is blacklisted at zen.spamhaus.org",
                               "host is listed in zen.spamhaus.org",
                               "Your host 198.51.100.110 is listed in RBL zen.spamhaus.org"}) {
        INFO(reason);
        CHECK(parse_reject_line(head + reason, year(2026), e) == log_line_status::dnsbl_reject);
        CHECK(e.ipv4 == v4(198, 51, 100, 110));
        CHECK(e.mta == mta_kind::exim);
    }
    // A local list, a file or a filter is no DNSBL; another address than the client's is not
    // the client's.
    for (const char* reason :
         {"Sender is listed in our local blacklist", "Sender is listed in local.blacklist",
          "Your host is listed in /etc/exim/blacklist.txt",
          "sender IP address is listed in /etc/exim4/local_host_blacklist.conf",
          "Email blocked by SpamAssassin", "Email blocked by LOCAL SCAN",
          "Email blocked by ClamAV: Eicar-Test-Signature",
          "Email blocked by /etc/virtual/bad_sender_hosts"}) {
        INFO(reason);
        CHECK(parse_reject_line(head + reason, year(2026), e) == log_line_status::other_reject);
    }
    CHECK(parse_reject_line(head + "Your host 198.51.100.9 is listed in zen.spamhaus.org",
                            year(2026), e) == log_line_status::other_reject);
}

// Generic wordings are used for domain lists too ("DNSBL listed at $dnslist_domain" over
// dbl.spamhaus.org): those rejections were stored against the client's IPv4.
TEST_CASE("a domain blocklist named in a generic DNSBL wording is no evidence", "[reject_log]") {
    reject_event e;
    const std::string exim =
        "2026-12-05 10:00:00 H=(helo.example) [198.51.100.120]:51234 F=<a@spam.example> "
        "rejected RCPT <c@d.example>: ";
    for (const char* reason :
         {"DNSBL listed at dbl.spamhaus.org\\nhttps://www.spamhaus.org/query/domain/spam.example",
          "Sender domain spam.example blocked using dbl.spamhaus.org",
          "DNSBL listed at multi.uribl.com", "DNSBL listed at multi.surbl.org",
          "DNSBL listed at key.dbl.dq.spamhaus.net"}) {
        INFO(reason);
        CHECK(parse_reject_line(exim + reason, year(2026), e) == log_line_status::other_reject);
    }
    CHECK(parse_reject_line(exim + "DNSBL listed at zen.spamhaus.org", year(2026), e) ==
          log_line_status::dnsbl_reject);
    // Only the zone is looked at: a HELO, a host name or a sender the client chose cannot
    // make its rejection a domain list's, nor can a DQS key that starts like one.
    for (const std::string& line :
         {std::string("2026-12-05 10:00:00 H=h.example (dbl.example) [192.0.2.4]:41784 "
                      "F=<a@b.example> rejected RCPT <c@d.example>: JunkMail rejected - h.example "
                      "(dbl.example) [192.0.2.4]:41784 is in an RBL, see "
                      "http://www.spamhaus.org/query/bl?ip=192.0.2.4"),
          std::string("2026-12-05 10:00:00 H=dbl.attacker.example (x) [192.0.2.4]:41784 "
                      "F=<surbl@b.example> rejected RCPT <c@d.example>: 192.0.2.4 is listed at "
                      "uriblabcdefghijklmnopqrstu.zen.dq.spamhaus.net")}) {
        INFO(line);
        CHECK(parse_reject_line(line, year(2026), e) == log_line_status::dnsbl_reject);
        CHECK(e.ipv4 == v4(192, 0, 2, 4));
    }
    CHECK(parse_reject_line(
              "Dec  5 10:00:00 mx1 sendmail[2345]: 0B5A00xx012350: ruleset=check_mail, "
              "arg1=<a@spam.example>, relay=mail.example [198.51.100.86], reject=554 5.7.1 "
              "Rejected: spam.example listed at dbl.spamhaus.org",
              year(2026), e) == log_line_status::other_reject);
    const std::vector<std::string> texts = {"listed on"};
    CHECK(parse_reject_line("Dec  5 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from "
                            "x[198.51.100.7]: 554 5.7.1 Service unavailable; listed on "
                            "dbl.spamhaus.org; from=<a@b> to=<c@d> proto=ESMTP helo=<x>",
                            year(2026), e, 3, texts) == log_line_status::other_reject);
    CHECK(parse_reject_line("Dec  5 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from "
                            "x[198.51.100.7]: 554 5.7.1 Service unavailable; listed on "
                            "zen.spamhaus.org; from=<a@b> to=<c@d> proto=ESMTP helo=<x>",
                            year(2026), e, 3, texts) == log_line_status::dnsbl_reject);
}

// rsyslog's RSYSLOG_SyslogProtocol23Format and syslog-ng's RFC 5424 output, a priority kept
// in front of a classic line, rsyslog's repeated-message reduction (on in Ubuntu's default
// configuration) and Solaris' message ids: each line was unreadable or silently no reject.
TEST_CASE("syslog shapes: priority, RFC 5424, 'message repeated', Solaris ids", "[reject_log]") {
    reject_event e;
    const std::string text =
        "NOQUEUE: reject: RCPT from unknown[198.51.100.8]: 554 5.7.1 Service unavailable; Client "
        "host [198.51.100.8] blocked using zen.spamhaus.org; from=<a@b.example> to=<c@d.example> "
        "proto=ESMTP helo=<x>";
    constexpr std::int64_t dec5_9h = 1796461200;  // 2026-12-05T09:00:00Z
    for (const std::string& line :
         {"<22>1 2026-12-05T10:00:00.123456+01:00 mx1.example.org postfix/smtpd 1234 - - " + text,
          "<22>1 2026-12-05T10:00:00+01:00 mx1.example.org postfix/smtpd 1234 - [meta "
          "sequenceId=\"1\" x=\"a\\\"] b\"][origin ip=\"192.0.2.1\"] " +
              text,
          "<22>1 2026-12-05T10:00:00+01:00 mx1 postfix/smtpd - - - \xEF\xBB\xBF" + text,
          "2026-12-05T10:00:00+01:00 mx1.example.org postfix/smtpd 1234 - - " + text,
          "<22>2026-12-05T10:00:00+01:00 mx1 postfix/smtpd[1234]: " + text,
          "2026-12-05T10:00:00+01:00 mx1 postfix/smtpd[1234]: message repeated 3 times: [ " + text +
              "]",
          "2026-12-05T10:00:00+01:00 mx1 postfix/smtpd[1234]: [ID 197553 mail.info] " + text}) {
        INFO(line);
        e = {};
        CHECK(parse_reject_line(line, year(2026), e) == log_line_status::dnsbl_reject);
        CHECK(e.ipv4 == v4(198, 51, 100, 8));
        CHECK(e.unix_seconds == dec5_9h);
        CHECK(e.mta == mta_kind::postfix_smtpd);
    }
    CHECK(parse_reject_line("<22>Dec  5 10:00:00 mx1 postfix/smtpd[1]: " + text, year(2026), e) ==
          log_line_status::dnsbl_reject);
    // Structured data that never ends is no line to read.
    CHECK(parse_reject_line(
              "<22>1 2026-12-05T10:00:00+01:00 mx1 postfix/smtpd 1 - [meta x=\"]" + text,
              year(2026), e) != log_line_status::dnsbl_reject);
}

// rsyslog cuts the program name at its first '/' (parser.permitSlashInProgramName is off by
// default), so its RFC 5424 lines name Postfix's APP-NAME "postfix", the service lost: every
// such rejection was silently no reject.
TEST_CASE("Postfix under the program name 'postfix' alone: the service told by the line",
          "[reject_log]") {
    reject_event e;
    const std::string smtpd =
        "NOQUEUE: reject: RCPT from unknown[198.51.100.8]: 554 5.7.1 Service unavailable; Client "
        "host [198.51.100.8] blocked using zen.spamhaus.org; from=<a@b.example> to=<c@d.example> "
        "proto=ESMTP helo=<x>";
    for (const std::string& line :
         {"<22>1 2026-12-05T10:00:00+01:00 mx1 postfix 1234 - - " + smtpd,
          "<22>1 2026-12-05T10:00:00+01:00 mx1 postfix-in 1234 - - " + smtpd,
          "Dec  5 10:00:00 mx1 postfix[1234]: " + smtpd}) {
        INFO(line);
        e = {};
        CHECK(parse_reject_line(line, year(2026), e) == log_line_status::dnsbl_reject);
        CHECK(e.ipv4 == v4(198, 51, 100, 8));
        CHECK(e.mta == mta_kind::postfix_smtpd);
    }
    const std::string head = "<22>1 2026-12-05T10:00:00+01:00 mx1 postfix 1234 - - ";
    CHECK(parse_reject_line(head + "NOQUEUE: reject: RCPT from [198.51.100.9]:51234: 550 5.7.1 "
                                   "Service unavailable; client [198.51.100.9] blocked using "
                                   "zen.spamhaus.org; from=<a@b.example>, to=<c@d.example>, "
                                   "proto=ESMTP, helo=<x>",
                            year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(198, 51, 100, 9));
    CHECK(e.mta == mta_kind::postfix_postscreen);
    CHECK(parse_reject_line(head + "DNSBL rank 3 for [198.51.100.10]:51234", year(2026), e) ==
          log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(198, 51, 100, 10));
    CHECK(e.mta == mta_kind::postfix_postscreen);
    // cleanup's header check and an ordinary line: another Postfix program's
    CHECK(parse_reject_line(head + "4AB12C3D: reject: header Subject: Client host [198.51.100.8] "
                                   "blocked using zen.spamhaus.org from unknown[198.51.100.8]; "
                                   "from=<a@b.example> to=<c@d.example> proto=ESMTP helo=<x>",
                            year(2026), e) == log_line_status::other_reject);
    CHECK(parse_reject_line(head + "connect from unknown[198.51.100.8]", year(2026), e) ==
          log_line_status::not_reject);
    // (a program that merely starts like it is no Postfix)
    CHECK(parse_reject_line("<22>1 2026-12-05T10:00:00+01:00 mx1 postfixadmin 1 - - " + smtpd,
                            year(2026), e) != log_line_status::dnsbl_reject);
}

// FEATURE(dnsbl)'s older default message was an other reject.
TEST_CASE("Sendmail: 'refused by blackhole site' names the client, or a domain", "[reject_log]") {
    reject_event e;
    const std::string head =
        "Dec  5 10:00:00 mx1 sendmail[2345]: 0B5A00xx012350: ruleset=check_relay, "
        "arg1=mail.example, arg2=198.51.100.113, relay=mail.example [198.51.100.113], reject=550 "
        "5.7.1 ";
    CHECK(parse_reject_line(head + "Mail from 198.51.100.113 refused by blackhole site "
                                   "zen.spamhaus.org",
                            year(2026), e) == log_line_status::dnsbl_reject);
    CHECK(e.ipv4 == v4(198, 51, 100, 113));
    CHECK(e.mta == mta_kind::sendmail);
    CHECK(parse_reject_line(head + "Mail from spam.example refused by blackhole site "
                                   "rhsbl.example.net",
                            year(2026), e) == log_line_status::other_reject);
    CHECK(parse_reject_line(head + "Mail from 198.51.100.113 refused by blackhole site "
                                   "dbl.spamhaus.org",
                            year(2026), e) == log_line_status::other_reject);
}
