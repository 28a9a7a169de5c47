// Reputation records and evidence items, and their versioned binary encoding.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace v6bl::store {

// The A record a listing answers with: 127.0.0.<code>. Documented in README.md.
enum class reason_code : std::uint8_t {
    none = 0,
    associated = 2,  // /64 associated with a DNSBL-rejected IPv4 sender
    structural = 3,  // 6to4 / Teredo / ISATAP / embedded IPv4 of a rejected sender
    escalated = 4,   // wider prefix escalated from several listed /64s inside it
    manual = 10,     // listed by an operator by hand
};

// Reason bits: which kinds of evidence a record holds. A record may hold several; the
// answered code is the strongest by the order manual > structural > associated.
enum reason_bit : std::uint16_t {
    bit_associated = 1u << 0,
    bit_structural = 1u << 1,
    bit_manual = 1u << 2,
};

// Per-prefix reputation. All counters are additive so that the merge operator can combine
// deltas from repeated and incremental ingest in any grouping.
struct reputation_record {
    std::uint16_t reason_bits = 0;
    std::uint8_t manual_code = 0;      // 0: no manual listing; else the A code (usually 10)
    std::uint32_t first_seen = 0;      // unix seconds, 0 = unset (merge takes the min of set)
    std::uint32_t last_seen = 0;       // unix seconds (merge takes the max)
    std::uint32_t attempts = 0;        // connect() attempts seen from the prefix
    std::uint32_t addresses = 0;       // distinct IPv6 addresses seen (ingest adds new ones)
    std::uint32_t rejected_ipv4s = 0;  // distinct rejected IPv4 senders associated
    std::uint16_t strength_milli = 0;  // strongest association, 0..1000 (merge takes the max)
    std::uint64_t sensors = 0;         // bit (sensor_id % 64) per sensor that saw it
    std::string text;                  // operator text of a manual listing (merge: last non-empty)

    bool operator==(const reputation_record&) const = default;
};

// One piece of evidence kept per /64 for explanations: an associated IPv4, or an IPv6
// address seen. Bounded per /64 by the writer (ingest), merged like the record.
enum class evidence_kind : std::uint8_t { rejected_ipv4 = 'A', ipv6_address = 'I' };

struct evidence_item {
    std::uint32_t first_seen = 0;
    std::uint32_t last_seen = 0;
    std::uint32_t count = 0;           // attempts or pairings observed
    std::uint16_t strength_milli = 0;  // max association strength
    std::uint16_t signals = 0;         // bit set of association signals (ingest defines)

    bool operator==(const evidence_item&) const = default;
};

struct allow_entry {
    std::uint32_t added = 0;
    std::string comment;
    bool operator==(const allow_entry&) const = default;
};

// Encoding: byte 0 is the format version; decoders refuse unknown versions and short input
// (returning nullopt) instead of guessing. See docs/store-format.md.
constexpr std::uint8_t record_format_version = 1;

std::string encode_record(const reputation_record& r);
void append_record(std::string& out, const reputation_record& r);  // encode onto `out`
void append_evidence(std::string& out, const evidence_item& e);
std::optional<reputation_record> decode_record(std::string_view bytes);
std::string encode_evidence(const evidence_item& e);
std::optional<evidence_item> decode_evidence(std::string_view bytes);
std::string encode_allow(const allow_entry& a);
std::optional<allow_entry> decode_allow(std::string_view bytes);

// The additive merge both the RocksDB merge operator and in-memory aggregation use.
void merge_into(reputation_record& into, const reputation_record& delta);
void merge_into(evidence_item& into, const evidence_item& delta);

}  // namespace v6bl::store
