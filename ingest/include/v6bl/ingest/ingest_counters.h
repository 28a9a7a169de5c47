// Ingest counters, plain integers a monitoring stage can read (and a summary can print).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "v6bl/ingest/association.h"
#include "v6bl/ingest/reject_log_parser.h"

namespace v6bl::ingest {

enum class bad_input_reason : std::uint8_t {
    malformed_packet,
    truncated_capture,
    unreadable_capture,  // cannot open, unknown link type, bad header
    garbage_log_line,
    invalid_json,
    json_schema,
    unreadable_file,  // a log or JSON file: cannot open, a directory, a read error
    count
};
const char* bad_input_reason_name(bad_input_reason r);

// Counters since the ingest started. Single-writer (the ingest thread); a monitoring stage
// reads a copy (`snapshot()` in ingest_pipeline) between commits.
struct ingest_counters {
    std::uint64_t packets = 0;
    std::uint64_t capture_drops = 0;  // live capture: dropped before we could read them
    std::uint64_t syns = 0;
    std::uint64_t syns_v6 = 0;
    std::uint64_t attempts = 0;
    std::uint64_t attempts_v6 = 0;
    std::uint64_t associations = 0;
    std::uint64_t associations_listable = 0;  // strength >= listable and IPv4 rejected
    std::array<std::uint64_t, 16> associations_by_signal{};  // index = signal bit
    std::uint64_t log_lines = 0;
    std::array<std::uint64_t, static_cast<std::size_t>(mta_kind::count)> rejections_by_mta{};
    std::uint64_t other_rejects = 0;  // non-DNSBL rejects, ignored
    // DNSBL rejects of IPv6 clients: not what the method joins on (it needs the IPv4), but
    // counted, so that a log whose clients all show as IPv6 does not look empty.
    std::uint64_t ipv6_client_rejects = 0;
    std::uint64_t remote_associations = 0;
    // Remote associations dated before the store's retention: skipped.
    std::uint64_t stale_remote_associations = 0;
    std::array<std::uint64_t, static_cast<std::size_t>(bad_input_reason::count)> bad_input{};
    std::uint64_t commits = 0;
    std::uint64_t commit_ops = 0;
    std::uint64_t commit_us_total = 0;
    std::uint64_t commit_us_max = 0;
    std::uint64_t listed_64s = 0;  // /64s whose record crossed the listing threshold this run
    // Round histories the engine started over because its pool of rings was full (2^24
    // multi-round addresses at once): their earlier rounds no longer count.
    std::uint64_t history_restarts = 0;
    // /64s the address book forgot before their horizon because it held its bound of /64s
    // (--max-book-64s): seen again, their addresses count anew.
    std::uint64_t address_book_evictions = 0;
    // Addresses seen on one round that the engine forgot before their 45-minute horizon
    // because it held --max-histories of them: seen again, they start a new history.
    std::uint64_t histories_forgotten = 0;

    std::uint64_t rejections() const;
    std::uint64_t bad_inputs() const;
    // The one-paragraph summary `v6bl ingest` prints.
    std::string summary() const;
};

}  // namespace v6bl::ingest
