// Ingest counter names and the end-of-run summary paragraph.
#include "v6bl/ingest/ingest_counters.h"

#include <cstdio>

namespace v6bl::ingest {

const char* bad_input_reason_name(bad_input_reason r) {
    switch (r) {
        case bad_input_reason::malformed_packet:
            return "malformed packets";
        case bad_input_reason::truncated_capture:
            return "truncated captures";
        case bad_input_reason::unreadable_capture:
            return "unreadable captures";
        case bad_input_reason::garbage_log_line:
            return "garbage log lines";
        case bad_input_reason::invalid_json:
            return "invalid JSON lines";
        case bad_input_reason::json_schema:
            return "JSON schema errors";
        case bad_input_reason::unreadable_file:
            return "unreadable log or JSON files";
        case bad_input_reason::count:
            break;
    }
    return "unknown";
}

std::uint64_t ingest_counters::rejections() const {
    std::uint64_t n = 0;
    for (auto v : rejections_by_mta) n += v;
    return n;
}

std::uint64_t ingest_counters::bad_inputs() const {
    std::uint64_t n = 0;
    for (auto v : bad_input) n += v;
    return n;
}

std::string ingest_counters::summary() const {
    std::string s;
    char buf[256];
    std::snprintf(
        buf, sizeof buf,
        "ingest: %llu packets, %llu SYNs (%llu IPv6), %llu connect() attempts (%llu IPv6); ",
        static_cast<unsigned long long>(packets), static_cast<unsigned long long>(syns),
        static_cast<unsigned long long>(syns_v6), static_cast<unsigned long long>(attempts),
        static_cast<unsigned long long>(attempts_v6));
    s += buf;
    if (capture_drops != 0) {
        std::snprintf(buf, sizeof buf, "%llu packets dropped by the kernel (capture buffer); ",
                      static_cast<unsigned long long>(capture_drops));
        s += buf;
    }
    if (history_restarts != 0) {
        std::snprintf(buf, sizeof buf,
                      "%llu round histories started over (the engine's ring pool was full); ",
                      static_cast<unsigned long long>(history_restarts));
        s += buf;
    }
    if (histories_forgotten != 0) {
        std::snprintf(buf, sizeof buf,
                      "%llu one-round addresses forgotten early (the engine held its bound of "
                      "them); ",
                      static_cast<unsigned long long>(histories_forgotten));
        s += buf;
    }
    if (address_book_evictions != 0) {
        std::snprintf(buf, sizeof buf,
                      "%llu /64s forgotten early (the address book held its bound of /64s); ",
                      static_cast<unsigned long long>(address_book_evictions));
        s += buf;
    }
    std::snprintf(buf, sizeof buf, "%llu associations (%llu listable",
                  static_cast<unsigned long long>(associations),
                  static_cast<unsigned long long>(associations_listable));
    s += buf;
    const auto& names = signal_names();
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (associations_by_signal[i] == 0) continue;
        std::snprintf(buf, sizeof buf, ", %s %llu", names[i],
                      static_cast<unsigned long long>(associations_by_signal[i]));
        s += buf;
    }
    s += "); ";
    std::snprintf(buf, sizeof buf, "%llu remote associations",
                  static_cast<unsigned long long>(remote_associations));
    s += buf;
    if (stale_remote_associations > 0) {
        std::snprintf(buf, sizeof buf, " (and %llu older than the store keeps, skipped)",
                      static_cast<unsigned long long>(stale_remote_associations));
        s += buf;
    }
    std::snprintf(buf, sizeof buf, "; %llu log lines, %llu DNSBL rejections (",
                  static_cast<unsigned long long>(log_lines),
                  static_cast<unsigned long long>(rejections()));
    s += buf;
    for (std::size_t i = 0; i < rejections_by_mta.size(); ++i) {
        std::snprintf(buf, sizeof buf, "%s%s %llu", i ? ", " : "",
                      mta_kind_name(static_cast<mta_kind>(i)),
                      static_cast<unsigned long long>(rejections_by_mta[i]));
        s += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "), %llu DNSBL rejections of IPv6 clients and %llu other rejects ignored; "
                  "%llu bad inputs",
                  static_cast<unsigned long long>(ipv6_client_rejects),
                  static_cast<unsigned long long>(other_rejects),
                  static_cast<unsigned long long>(bad_inputs()));
    s += buf;
    bool first = true;
    for (std::size_t i = 0; i < bad_input.size(); ++i) {
        if (bad_input[i] == 0) continue;
        std::snprintf(buf, sizeof buf, "%s%s %llu", first ? " (" : ", ",
                      bad_input_reason_name(static_cast<bad_input_reason>(i)),
                      static_cast<unsigned long long>(bad_input[i]));
        s += buf;
        first = false;
    }
    if (!first) s += ")";
    std::snprintf(
        buf, sizeof buf,
        "; %llu commits (mean %.1f ms, max %.1f ms); %llu /64s reached the listing strength in "
        "this run (listed while their evidence is fresh).",
        static_cast<unsigned long long>(commits),
        commits ? static_cast<double>(commit_us_total) / 1000.0 / static_cast<double>(commits)
                : 0.0,
        static_cast<double>(commit_us_max) / 1000.0, static_cast<unsigned long long>(listed_64s));
    s += buf;
    return s;
}

}  // namespace v6bl::ingest
