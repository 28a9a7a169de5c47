// The reputation store: RocksDB column families for listings, evidence, allowlist,
// metadata and the change journal. The only place in v6bl that touches RocksDB.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "v6bl/store/listing.h"
#include "v6bl/store/policy.h"
#include "v6bl/store/prefix.h"
#include "v6bl/store/record.h"

namespace v6bl::store {

// Raised by open() and commit(), and by scans whose RocksDB iterator fails (an I/O error or
// a corrupt table block: a truncated scan would silently drop listings from a view or an
// export). Point lookups return values. The message names the database path and what is
// wrong ("not a v6bl database", "locked by another writer", ...).
class store_error : public std::runtime_error {
  public:
    explicit store_error(const std::string& what, bool corruption = false)
        : std::runtime_error(what), corruption_(corruption) {}
    // RocksDB called the store corrupt (a table file missing or damaged, ...).
    bool corruption() const { return corruption_; }

  private:
    bool corruption_ = false;
};

struct store_options {
    std::string path;
    bool create_if_missing = true;
    // Block cache for reads, in MiB.
    std::size_t block_cache_mb = 64;
    // Fsync the WAL on every commit (crash safety of committed change sets).
    bool sync_commits = true;
    // Journal entries kept for IXFR / server catch-up.
    std::uint32_t journal_keep = 10000;
    // Compaction drops inferred records and evidence quiet for this long (manual listings
    // are kept); reads apply the listing policy's shorter expiry on top.
    std::uint32_t retain_seconds = 30 * 24 * 3600;
};

// A set of changes committed atomically with a new serial, a journal entry naming every
// touched prefix, and source checkpoints: all in one RocksDB WriteBatch.
class change_set {
  public:
    // Adds evidence to a prefix's record through the merge operator.
    void merge_record(const prefix& where, const reputation_record& delta);
    // Adds to one evidence item of a /64 (kind + IPv4 or IPv6 interface identifier).
    void merge_evidence(const prefix& p64, evidence_kind kind, std::string_view item,
                        const evidence_item& delta);
    // A manual listing: code (usually 10) and text; overrides earlier manual text.
    void list_manually(const prefix& where, reason_code code, std::string_view text,
                       std::uint32_t now);
    // Removes a listing and its evidence (operator delist).
    void remove(const prefix& where);
    void allow(const prefix& where, std::string_view comment, std::uint32_t now);
    // Names a prefix in the commit's journal without changing what is stored: its published
    // listing changed with time alone (it expired), and readers must look at it again.
    void touch(const prefix& where);
    void unallow(const prefix& where);
    // Opaque progress of an input source ("pcap:/path", "log:/path"), committed with the data.
    void set_checkpoint(std::string_view source, std::string_view value);
    // The same, taking a std::string value over (an ingest checkpoint can be tens of MB).
    // A template so that literals and string_views still choose the overload above.
    template <typename S>
    requires std::same_as<S, std::string>
    void set_checkpoint(std::string_view source, S&& value) {
        checkpoints_.emplace_back(std::string(source), std::move(value));
    }

    // Removes a checkpoint (one that no longer carries anything: the store keeps no empty
    // key for it).
    void erase_checkpoint(std::string_view source) { erased_checkpoints_.emplace_back(source); }

    bool empty() const {
        return ops_.empty() && checkpoints_.empty() && erased_checkpoints_.empty();
    }
    std::size_t size() const { return ops_.size(); }
    // Room for `ops` more operations and `value_bytes` more of their values: a large set
    // (an ingest commit: hundreds of thousands) is then not copied as it grows.
    void reserve(std::size_t ops, std::size_t value_bytes) {
        ops_.reserve(ops_.size() + ops);
        values_.reserve(values_.size() + value_bytes);
    }

  private:
    friend class reputation_store;
    // Ops keep their key inline and their value in one arena string: a large change set
    // costs no allocation per op.
    struct op {
        enum kind_t : std::uint8_t {
            merge,
            evidence,
            put_manual,
            del,
            allow_put,
            allow_del,
            touch
        } kind;
        std::uint8_t key_len = 0;
        char key[26];
        std::uint32_t value_offset = 0;
        std::uint32_t value_size = 0;
        prefix where;
        std::string_view key_view() const { return {key, key_len}; }
    };
    void push(op::kind_t kind, std::string_view key, const prefix& where, std::size_t value_start);
    std::vector<op> ops_;
    std::string values_;
    std::vector<std::pair<std::string, std::string>> checkpoints_;
    std::vector<std::string> erased_checkpoints_;
};

// What `lookup` found for an address.
struct lookup_result {
    bool listed = false;
    std::optional<listing_entry> entry;   // the published listing that answers
    std::optional<prefix> stored_prefix;  // the stored record behind it, if any
    std::optional<reputation_record> record;
    std::optional<prefix> allowed_by;  // an allowlist entry covering the address
    std::string why;                   // one human sentence
};

struct journal_entry {
    std::uint32_t serial = 0;
    std::uint32_t time = 0;
    std::vector<prefix> touched;  // listing prefixes whose record changed
    bool allowlist_changed = false;
};

class reputation_store {
  public:
    // The single writer. Throws store_error.
    static std::unique_ptr<reputation_store> open_writer(const store_options& options);
    // A reader in another process while the writer runs (RocksDB secondary instance);
    // `scratch_dir` holds the secondary's own files. Call catch_up() to see new commits.
    static std::unique_ptr<reputation_store> open_reader(const store_options& options,
                                                         const std::string& scratch_dir);
    // A read-only open of a store no writer holds (export, lookup).
    static std::unique_ptr<reputation_store> open_read_only(const store_options& options);

    ~reputation_store();
    reputation_store(const reputation_store&) = delete;
    reputation_store& operator=(const reputation_store&) = delete;

    // Commits atomically; returns the new serial. Throws store_error on I/O failure.
    std::uint32_t commit(change_set&& changes, std::uint32_t now);
    // Secondary only: replay the writer's new commits. Returns true when the serial moved.
    // Not concurrently with other calls on this object: after a writer restart it replaces
    // the RocksDB instance underneath (see reader_reopens()).
    bool catch_up();

    std::uint32_t serial() const;
    // How long inferred records and evidence are kept after their last evidence.
    std::uint32_t retain_seconds() const;
    // The wall clock when the current serial was committed (for a store last committed to
    // by an older build: the time its journal entry was given), or nullopt for a store
    // without commits or whose entry cannot be read.
    std::optional<std::uint32_t> serial_time() const;
    std::optional<std::string> checkpoint(std::string_view source) const;
    // Every checkpoint whose source starts with `prefix`, in source order; stop by returning
    // false.
    void for_each_checkpoint(
        std::string_view prefix,
        const std::function<bool(std::string_view source, std::string_view value)>& fn) const;

    std::optional<reputation_record> get(const prefix& where) const;
    std::optional<allow_entry> get_allow(const prefix& where) const;

    // Longest published listing covering `addr` under the policy, honouring the allowlist.
    // Cost is bounded by the prefix lengths present and the density of one /48, never by
    // the size of the store.
    lookup_result lookup(const ipv6_bytes& addr, const listing_policy& policy,
                         std::uint32_t now) const;

    // Stored records in address order; stop by returning false.
    void for_each_record(
        const std::function<bool(const prefix&, const reputation_record&)>& fn) const;
    void for_each_record_in(
        const prefix& range,
        const std::function<bool(const prefix&, const reputation_record&)>& fn) const;
    void for_each_evidence(const prefix& p64,
                           const std::function<bool(evidence_kind, std::string_view item,
                                                    const evidence_item&)>& fn) const;
    void for_each_allow(const std::function<bool(const prefix&, const allow_entry&)>& fn) const;
    std::size_t evidence_count(const prefix& p64, std::size_t stop_at) const;

    // Published listings, streamed in address order region by region (policy, nibble
    // expansion, allowlist holes and escalation applied): what a zone export writes. A region
    // entry replaces a wide (< /48 stored) entry of the same prefix; `keep_shadowed_wide`
    // streams the wide one too (after it), for a listing view whose regions are later
    // refreshed one by one: when the region entry goes, the wide one must be there to answer.
    void for_each_published(const listing_policy& policy, std::uint32_t now,
                            const std::function<void(const listing_entry&)>& fn,
                            bool keep_shadowed_wide = false) const;
    // All published listings of one /48 region (>= /48 entries only).
    std::vector<listing_entry> published_region(std::uint64_t region48,
                                                const listing_policy& policy,
                                                std::uint32_t now) const;
    // Published listings shorter than /48.
    std::vector<listing_entry> published_wide(const listing_policy& policy,
                                              std::uint32_t now) const;
    std::vector<prefix> published_holes() const;

    // Journal entries with serial > since, in order. Returns false when the journal no
    // longer reaches back that far (the caller must reload in full).
    bool journal_since(std::uint32_t since,
                       const std::function<void(const journal_entry&)>& fn) const;

    // Counters since open, for metrics: records that failed to decode (skipped, kept on disk).
    std::uint64_t corrupt_records() const;
    // Secondary only: how often catch_up() opened a fresh instance after a writer restart.
    std::uint64_t reader_reopens() const;
    // Secondary only: catch-ups whose state missed a commit below its serial (a race with a
    // writer's flush) and were not taken.
    std::uint64_t incomplete_states() const;
    const std::string& path() const;

    // Writer: compacts every family down to its last level (after a bulk load, so that
    // lookups search one sorted run per level rather than many overlapping L0 files).
    void compact();
    // The listing family's LSM shape, "L0:3 L1:8 L2:12" (table files per level).
    std::string describe_levels() const;

    struct impl;

  private:
    explicit reputation_store(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

// Stored prefixes whose listing under `policy` differs between `since` and `now` with no
// change to the record: the listings that expired (or whose manual listing ended, leaving
// an inferred one) in between. Secondaries that copied the zone at `since` still hold them;
// a commit that touches them moves the serial (`v6bl expire`). At most `limit` of them, in
// address order (the scan stops there): one commit names a bounded number.
std::vector<prefix> lapsed_listings(const reputation_store& store, const listing_policy& policy,
                                    std::uint32_t since, std::uint32_t now,
                                    std::size_t limit = 100'000);

// Builds the complete in-memory view of the store's published listings.
std::shared_ptr<const class listing_view> build_view(const reputation_store& store,
                                                     const listing_policy& policy,
                                                     std::uint32_t now);

}  // namespace v6bl::store
