// Turns attempts, rejections and associations into store change sets: the join of sensor
// evidence with DNSBL rejections, per-/64 aggregation and bounded evidence.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "v6bl/ingest/address_book.h"
#include "v6bl/ingest/association.h"
#include "v6bl/ingest/connect_attempt.h"
#include "v6bl/ingest/flat_table.h"
#include "v6bl/ingest/ingest_counters.h"
#include "v6bl/ingest/reject_log_parser.h"
#include "v6bl/store/store.h"

namespace v6bl::ingest {

struct writer_options {
    // An association counts against a rejection this close in time (either side).
    std::int64_t rejection_horizon_s = 7 * 24 * 3600;
    // The store's listing threshold (for counting /64s listed by this run, and for deciding
    // which associations with a not-yet-rejected IPv4 are remembered for a later rejection).
    std::uint16_t listable_milli = 600;
    std::uint16_t remember_milli = 400;
    // Evidence bound per /64 (the store keeps what the writer writes).
    std::size_t max_addresses_per_64 = 192;
    std::size_t max_ipv4s_per_64 = 64;
    // The per-/64 cache of associated IPv4s (loaded from the store) is dropped after a
    // commit past this many entries.
    std::size_t max_cached_64s = 1'000'000;
    // A /64 quiet this long (capture time) is forgotten by the address book: seen again,
    // its addresses count anew. /64s whose addresses are evidence in the store are kept as
    // long as the store keeps evidence (store_options::retain_seconds).
    std::uint32_t address_horizon_s = 24 * 3600;
    std::uint32_t stored_address_horizon_s = 30 * 24 * 3600;
    // At most this many /64s in the address book (0: no bound); past it, the /64 seen
    // least recently is forgotten early (address_book::options::max_prefixes).
    std::size_t max_book_64s = 2'000'000;
};

// The writer is the only place that knows how evidence becomes store records. Everything
// it adds goes into the pending change set; commit() writes it with the given checkpoints.
//
// The IPv6 addresses of every /64 are counted in the address book, in memory; they are
// written to the store as `ipv6_address` evidence only for /64s this sensor associated
// with an IPv4 (docs/ingest.md, "Store records"). The book is part of the checkpoint
// (save_state) committed with the capture positions, so a resumed run equals a clean one.
class reputation_writer {
  public:
    // A remembered association waiting for its IPv4 to be rejected (checkpoint "a4:"),
    // and the checkpoint's text of a list of them.
    struct remembered {
        std::uint64_t p64;
        std::uint32_t time;
        std::uint16_t strength;
        std::uint16_t signals;
    };
    static std::vector<remembered> parse_remembered(std::string_view value);
    static std::string format_remembered(const std::vector<remembered>& list);

    reputation_writer(store::reputation_store& store, ingest_counters& counters,
                      writer_options options = {});

    void add_attempt(const connect_attempt& a, std::uint64_t sensor_bit);
    // The same for several attempts in order.
    void add_attempts(const connect_attempt* a, std::size_t n, std::uint64_t sensor_bit);
    // Start loading what add_attempt(a) reads: the address book's slot of a's /64 (a cache
    // miss each), then, once that is in, its block of addresses. A batch of attempts
    // prefetched ahead of add_attempts() hides the misses.
    void prefetch(const connect_attempt& a) const;
    void prefetch_blocks(const connect_attempt* a, std::size_t n);
    // A DNSBL rejection from a production MTA log. Remembered associations of its IPv4
    // that become listings with it are kept for relisted() (with `keep_relisted`).
    void add_rejection(const reject_event& r);
    // An association. `known_rejected` marks a remote sensor's own DNSBL rejection of the
    // IPv4; `local`: found by this sensor's engine (its /64's addresses then become
    // evidence), else reported by a remote sensor. Returns whether the IPv4 is rejected
    // (given, or a rejection known here within the horizon).
    bool add_association(const association& a, bool known_rejected, bool local);
    // This sensor's associations listed by a later rejection of their IPv4, since the last
    // take (ipv6: the /64's first address; --associations-out writes them again, rejected).
    void keep_relisted(bool on) { keep_relisted_ = on; }
    std::vector<association> take_relisted() { return std::move(relisted_); }

    // Names a prefix whose listing expired in the next commit's journal (store::change_set::
    // touch), so that the serial moves; not data (has_data() stays false for it).
    void touch(const store::prefix& p) { touches_.push_back(p); }

    // Sets a checkpoint to commit with the pending data.
    void set_checkpoint(const std::string& source, std::string value);
    // Commits pending data and checkpoints in one WriteBatch. No-op when nothing is pending.
    // `before_store` runs once the batch is built, just before the store takes it (the
    // pipeline waits there for the state files its checkpoints name to be on disk).
    void commit(const std::function<void()>& before_store = {});
    std::size_t pending_ops() const { return pending_ops_; }
    // Whether a commit now would write data (not only checkpoints).
    bool has_data() const;

    // The address book, for the checkpoint committed with the engine state (the book
    // changes only while captures are read).
    void save_state(std::string& out) const;
    // The same bytes, handed to `sink` a buffer at a time (streamed to the state file).
    void save_state(const std::function<void(std::string_view)>& sink) const;
    bool restore_state(std::string_view in);
    // No saved state. When the store may hold addresses nonetheless (written before the
    // book existed, or its state was unreadable), /64s are looked up in the store when
    // first seen, for as long as the store keeps evidence.
    void begin_without_state(bool store_may_hold_addresses);
    // The book was restored from a state older than data committed after it (a live
    // capture killed between two state checkpoints): a /64 it has as not in the store may
    // have had its addresses stored since. Before storing a /64's addresses, the store is
    // asked; those found there are not stored again.
    void book_behind_store() { book_behind_store_ = true; }
    const address_book& book() const { return book_; }

  private:
    struct item_key {  // (/64, IPv4); no padding: compared bytewise
        std::uint64_t p64;
        std::uint64_t item;
    };
    struct item_key_hash {
        std::size_t operator()(const item_key& k) const noexcept;
    };
    struct u64_hash {
        std::size_t operator()(std::uint64_t k) const noexcept;
    };
    struct u32_hash {
        std::size_t operator()(std::uint32_t k) const noexcept { return u64_hash{}(k); }
    };
    // The per-/64 delta of one commit window (reputation_record without the manual text,
    // so that it can live in a flat table): what associations add. Attempts and addresses
    // accumulate in the address book.
    struct record_delta {
        std::uint64_t sensors;
        std::uint32_t first_seen, last_seen, attempts, addresses, rejected_ipv4s;
        std::uint16_t reason_bits, strength_milli;
    };
    struct rejection_info {
        std::uint32_t first = 0, last = 0, count = 0;
    };
    struct evidence_key {  // kind widened so the key has no padding
        std::uint64_t p64;
        std::uint64_t item;
        std::uint64_t kind;
    };
    struct evidence_key_hash {
        std::size_t operator()(const evidence_key& k) const noexcept;
    };
    bool keep_relisted_ = false;
    bool book_behind_store_ = false;
    std::vector<association> relisted_;
    std::uint16_t& ipv4s_for(std::uint64_t p64);
    void load_addresses(address_book::prefix& p);
    void addresses_to_store(address_book::prefix& p);
    void add_evidence(std::uint64_t p64, std::uint64_t item, store::evidence_kind kind,
                      const store::evidence_item& e);
    std::optional<rejection_info> rejection_of(std::uint32_t ipv4);
    std::vector<remembered> remembered_for(std::uint32_t ipv4);
    // `relisting`: an association remembered before its IPv4 was rejected, listed now; its
    // evidence item was counted when it came (if kept), so it is not counted again.
    void list_association(std::uint64_t p64, std::uint32_t ipv4, std::uint32_t time,
                          std::uint16_t strength, std::uint16_t signals, std::uint64_t sensors,
                          bool relisting = false);
    void merge_record(std::uint64_t p64, const record_delta& delta);

    store::reputation_store& store_;
    ingest_counters& counters_;
    writer_options options_;
    address_book book_;
    // Capture time until which a /64 new to the book is looked up in the store (0: never;
    // set by begin_without_state() at the first attempt).
    std::uint32_t seek_until_s_ = 0;
    bool seek_pending_ = false;
    bool store_was_empty_ = false;
    bool cache_evicted_ = false;
    bool store_has_rejections_ = false;  // "r4:any": skip store reads while false
    bool store_has_remembered_ = false;  // "a4:any"
    // Associated IPv4s per /64 (a cache of the store's `rejected_ipv4` items): how many a
    // /64 keeps, and which (value: seen as rejected), so the bound holds and
    // `rejected_ipv4s` counts only new ones.
    flat_table<std::uint64_t, std::uint16_t, u64_hash> ipv4_counts_;
    flat_table<item_key, std::uint8_t, item_key_hash> known_ipv4s_;
    // Looked up for every association (a node chase each in std::unordered_map: ~1 % of
    // bench/ingest's time).
    flat_table<std::uint32_t, rejection_info, u32_hash> rejections_;    // known (this run or store)
    flat_table<std::uint32_t, std::uint8_t, u32_hash> not_rejected_;    // store said no
    std::unordered_map<std::uint32_t, rejection_info> new_rejections_;  // to checkpoint
    std::unordered_map<std::uint32_t, std::vector<remembered>> remembered_;  // dirty + cached
    std::unordered_set<std::uint32_t> remembered_dirty_;
    flat_table<std::uint64_t, record_delta, u64_hash> records_;
    flat_table<evidence_key, store::evidence_item, evidence_key_hash> evidence_;
    std::unordered_set<std::uint64_t> listed_;
    std::vector<std::pair<std::string, std::string>> checkpoints_;
    std::vector<store::prefix> touches_;
    std::size_t pending_ops_ = 0;
};

// The IPv4 as 4 big-endian bytes, and back (evidence item encoding).
std::string ipv4_item(std::uint32_t ipv4);
std::string format_ipv4(std::uint32_t ipv4);

// Associations waiting for their IPv4's rejection are kept under checkpoints `a4:<IPv4>`
// (and a marker, `a4:any`). For `v6bl delist`: the checkpoint value `value` without those of
// /64s at or under `p` (a delisted /64 came back from them at the IPv4's next rejection),
// with how many were dropped; `value` itself when none was.
std::string remembered_without(std::string_view value, const store::prefix& p,
                               std::size_t& dropped);
constexpr const char* remembered_checkpoint_prefix = "a4:";
constexpr const char* remembered_marker = "a4:any";

}  // namespace v6bl::ingest
