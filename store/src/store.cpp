// The RocksDB-backed reputation store: column families, merge operators, compaction
// filters, atomic change sets with a journal, and region-bounded published reads.
#include "v6bl/store/store.h"

#include <fcntl.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "v6bl/store/listing_view.h"

namespace v6bl::store {

namespace {

namespace fs = std::filesystem;

// Column families. Records of prefixes shorter than /48 live in `wide` so that the few
// operator listings that span many regions can be read without scanning the bulk.
constexpr const char* cf_names[] = {"default", "listings", "wide",   "evidence",
                                    "allow",   "meta",     "journal"};
enum cf_index {
    cf_default,
    cf_listings,
    cf_wide,
    cf_evidence,
    cf_allow,
    cf_meta,
    cf_journal,
    cf_count
};

constexpr const char* format_key = "format";
constexpr const char* format_value = "v6bl-store-1";
constexpr const char* serial_key = "serial";
// Every commit adds one to `commits` (a merge operand in the commit's own batch); `commit-base`
// is the serial at which the count started. A state that holds every commit up to its serial
// has serial == base + commits: one that lost a write-ahead log (below) has fewer.
constexpr const char* commits_key = "commits";
constexpr const char* commit_base_key = "commit-base";
// The wall clock at the current serial's commit (the journal keeps the time the caller gave,
// which `import --now` can set anywhere).
constexpr const char* serial_wall_key = "serial-wall";

std::uint32_t now_seconds() {
    return static_cast<std::uint32_t>(std::time(nullptr));
}

std::string be32(std::uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (24 - 8 * i));
    return s;
}
std::uint32_t from_be32(std::string_view s) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4 && i < s.size(); ++i)
        v = (v << 8) | static_cast<std::uint8_t>(s[i]);
    return v;
}

std::string key_of(const prefix& p) {
    const auto k = prefix_key(p);
    return std::string(k.data(), k.size());
}

std::string evidence_prefix(const prefix& p64) {
    return std::string(reinterpret_cast<const char*>(p64.address.data()), 8);
}

// One past the last key of a prefix's address range, in 17-byte key space.
std::string range_end(const prefix& p) {
    std::string k(prefix_key_size, '\xff');
    std::memcpy(k.data(), p.address.data(), 16);
    // set all host bits
    for (unsigned bit = p.length; bit < 128; ++bit)
        k[bit / 8] =
            static_cast<char>(static_cast<std::uint8_t>(k[bit / 8]) | (0x80u >> (bit % 8)));
    return k;  // inclusive upper bound: address all-ones, length 0xff
}

// Whether an inferred record or evidence item has been quiet for longer than the retention
// at `now` (manual listings never are). The compaction filter drops such a value, and a
// full merge ignores such a base: the filter sees only values, not a value merged with
// newer operands in a read or in a compaction, so without the second a record's old
// strength and counters lived on or not depending on whether a compaction had reached the
// old value before new evidence arrived.
bool past_retention(const reputation_record& r, std::uint32_t retain, std::uint32_t now) {
    return r.manual_code == 0 && r.last_seen != 0 && std::uint64_t{r.last_seen} + retain < now;
}
bool past_retention(const evidence_item& e, std::uint32_t retain, std::uint32_t now) {
    return e.last_seen != 0 && std::uint64_t{e.last_seen} + retain < now;
}
// What a merge of nothing but expired operands leaves (a merge operator cannot delete):
// reads treat it as absent and compactions drop it.
bool is_empty(const reputation_record& r) {
    return r == reputation_record{};
}
bool is_empty(const evidence_item& e) {
    return e == evidence_item{};
}

std::optional<reputation_record> decode_value(std::string_view v, const reputation_record*) {
    return decode_record(v);
}
std::optional<evidence_item> decode_value(std::string_view v, const evidence_item*) {
    return decode_evidence(v);
}
void append_value(std::string& out, const reputation_record& r) {
    append_record(out, r);
}
void append_value(std::string& out, const evidence_item& e) {
    append_evidence(out, e);
}

// Records (T = reputation_record) and evidence items: operands add up in any grouping
// (merge_into), a base past the retention counts as absent (past_retention). An operand or
// base that does not decode is skipped and counted; the rest of the merge proceeds.
template <typename T>
class retaining_merge final : public rocksdb::MergeOperator {
  public:
    retaining_merge(const char* name, std::atomic<std::uint64_t>& corrupt, std::uint32_t retain)
        : name_(name), corrupt_(corrupt), retain_(retain) {}
    bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
        T into;
        if (in.existing_value) {
            auto e = decode(*in.existing_value);
            if (!e) {
                // A stored value this version cannot read (a newer v6bl's, or damaged) is
                // kept byte for byte; the operands, which cannot be added to it, are dropped.
                out->new_value.assign(in.existing_value->data(), in.existing_value->size());
                return true;
            }
            if (!past_retention(*e, retain_, now_seconds())) into = std::move(*e);
        }
        const std::uint32_t now = now_seconds();
        for (const auto& operand : in.operand_list) add(into, operand, now);
        out->new_value.clear();
        append_value(out->new_value, into);
        return true;
    }
    // Two operands become one; one past the retention is dropped first, as a full merge
    // would drop it. Both past: left as they are (the full merge or the compaction filter
    // drops them), since a merge operand cannot say "nothing".
    bool PartialMerge(const rocksdb::Slice&, const rocksdb::Slice& left,
                      const rocksdb::Slice& right, std::string* new_value,
                      rocksdb::Logger*) const override {
        const std::uint32_t now = now_seconds();
        T into;
        const bool l = add(into, left, now);
        const bool r = add(into, right, now);
        if (!l && !r) return false;
        new_value->clear();
        append_value(*new_value, into);
        return true;
    }
    const char* Name() const override { return name_; }

  private:
    std::optional<T> decode(const rocksdb::Slice& s) const {
        auto v = decode_value(std::string_view(s.data(), s.size()), static_cast<const T*>(nullptr));
        if (!v) corrupt_.fetch_add(1, std::memory_order_relaxed);
        return v;
    }
    // An operand past the retention is evidence as old as a base past it: it counts as
    // absent, or old evidence still held as operands (not yet merged onto a value) would
    // come back with the next new evidence. Returns whether the operand was added.
    bool add(T& into, const rocksdb::Slice& operand, std::uint32_t now) const {
        auto d = decode(operand);
        if (!d || past_retention(*d, retain_, now)) return false;
        merge_into(into, *d);
        return true;
    }
    const char* name_;
    std::atomic<std::uint64_t>& corrupt_;
    std::uint32_t retain_;
};

std::string le64(std::uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
    return s;
}
std::optional<std::uint64_t> from_le64(std::string_view s) {
    if (s.size() != 8) return std::nullopt;
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(s[i]);
    return v;
}

// The meta family's counters (`commits`): 8-byte little-endian sums.
class counter_merge final : public rocksdb::AssociativeMergeOperator {
  public:
    bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
               std::string* new_value, rocksdb::Logger*) const override {
        const auto e = existing ? from_le64(std::string_view(existing->data(), existing->size()))
                                : std::optional<std::uint64_t>(0);
        const auto d = from_le64(std::string_view(value.data(), value.size()));
        if (!e || !d) return false;  // corrupt: RocksDB reports the key as corrupt
        *new_value = le64(*e + *d);
        return true;
    }
    const char* Name() const override { return "v6bl.counter_merge.v1"; }
};

// Drops inferred records and evidence that have been quiet longer than the retention.
// Manual listings and undecodable values are kept (an operator must look at the latter).
class expiry_filter final : public rocksdb::CompactionFilter {
  public:
    expiry_filter(bool evidence, std::uint32_t retain) : evidence_(evidence), retain_(retain) {}
    bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*,
                bool*) const override {
        const std::uint32_t now = now_seconds();
        const std::string_view v(value.data(), value.size());
        if (evidence_) {
            auto e = decode_evidence(v);
            return e && (is_empty(*e) || past_retention(*e, retain_, now));
        }
        auto r = decode_record(v);
        return r && (is_empty(*r) || past_retention(*r, retain_, now));
    }
    // Operands are judged like values: a record written only through merges then expires
    // in the first compaction that reaches it, not only in one after its operands have
    // become a value.
    bool FilterMergeOperand(int level, const rocksdb::Slice& key,
                            const rocksdb::Slice& operand) const override {
        std::string unused;
        bool changed = false;
        return Filter(level, key, operand, &unused, &changed);
    }
    const char* Name() const override {
        return evidence_ ? "v6bl.evidence_expiry" : "v6bl.record_expiry";
    }

  private:
    bool evidence_;
    std::uint32_t retain_;
};

std::string encode_journal(const journal_entry& j) {
    std::string out;
    out.push_back(static_cast<char>(record_format_version));
    out += be32(j.time);
    out.push_back(j.allowlist_changed ? 1 : 0);
    out += be32(static_cast<std::uint32_t>(j.touched.size()));
    for (const auto& p : j.touched) out += key_of(p);
    return out;
}

std::optional<journal_entry> decode_journal(std::uint32_t serial, std::string_view v) {
    if (v.size() < 10 || static_cast<std::uint8_t>(v[0]) != record_format_version)
        return std::nullopt;
    journal_entry j;
    j.serial = serial;
    j.time = from_be32(v.substr(1, 4));
    j.allowlist_changed = v[5] != 0;
    const std::uint32_t n = from_be32(v.substr(6, 4));
    if (v.size() != 10 + std::size_t{n} * prefix_key_size) return std::nullopt;
    for (std::uint32_t i = 0; i < n; ++i) {
        auto p = prefix_from_key(v.substr(10 + std::size_t{i} * prefix_key_size, prefix_key_size));
        if (!p) return std::nullopt;
        j.touched.push_back(*p);
    }
    return j;
}

}  // namespace

struct reputation_store::impl {
    enum class mode { writer, reader, read_only } how = mode::writer;
    std::string path;
    store_options options;
    std::unique_ptr<rocksdb::DB> db;
    std::vector<rocksdb::ColumnFamilyHandle*> cf;
    std::atomic<std::uint64_t> corrupt{0};
    std::shared_ptr<rocksdb::Cache> cache;
    std::unique_ptr<expiry_filter> record_filter, evidence_filter;
    std::uint32_t serial = 0;  // writer's cached serial
    // Reader only: its scratch directory, and the primary's CURRENT file (the name of the
    // MANIFEST in use) as read just before this instance opened.
    std::string scratch;
    std::string current_at_open;
    std::uint64_t reopens = 0;     // fresh secondaries opened after a writer restart
    bool needs_reopen = false;     // the last catch-up gave a state with a commit missing
    bool writer_seen = false;      // another process held the store's LOCK at the last look
    std::uint64_t incomplete = 0;  // states refused for a missing commit (readers)

    // Whether this instance holds every commit up to its serial (see commits_key). A
    // reader can miss one: it reads the MANIFEST, the writer then flushes a log into a
    // table file and deletes the log, and the reader lists the logs: the flushed commits
    // are in neither what it read nor what it replays, while later commits (in the next
    // log) are. Stores from before the counter (no `commits`, no base) cannot tell: true.
    bool holds_every_commit() const {
        std::string c, b;
        const bool has_c = db->Get(rocksdb::ReadOptions(), cf[cf_meta], commits_key, &c).ok();
        const bool has_b = db->Get(rocksdb::ReadOptions(), cf[cf_meta], commit_base_key, &b).ok();
        if (!has_c && !has_b) return true;
        if (!has_c || !has_b || b.size() != 4) return false;
        const auto n = from_le64(c);
        const std::uint32_t s = from_be32(meta_get(serial_key));
        return n && std::uint64_t{from_be32(b)} + *n == s;
    }

    // The allowlist and the wide (< /48) records are few and read by every lookup and
    // region refresh: cached per serial.
    struct small_sets {
        std::uint32_t serial = 0;
        std::vector<prefix> allowed;  // stored allowlist prefixes
        std::vector<prefix> holes;    // published (nibble-expanded) holes
        std::vector<std::pair<prefix, reputation_record>> wide;
    };
    mutable std::mutex cache_mu;
    mutable std::shared_ptr<const small_sets> sets_cache;
    std::shared_ptr<const small_sets> sets();

    ~impl() {
        // Flush on a clean close so that the data lives in table files, not only in the
        // WAL: restarts replay nothing and other tools see every committed record.
        if (db && how == mode::writer) {
            rocksdb::FlushOptions fo;
            db->Flush(fo, cf);
        }
        for (auto* h : cf)
            if (h && db) db->DestroyColumnFamilyHandle(h);
        if (db) db->Close();
    }

    rocksdb::ColumnFamilyOptions cf_options(int which) {
        rocksdb::ColumnFamilyOptions o;
        rocksdb::BlockBasedTableOptions t;
        t.block_cache = cache;
        t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
        t.whole_key_filtering = true;
        // Index and filter blocks live with the open table readers, outside the block
        // cache: a lookup then costs no cache probe (hash + LRU lock) per table file for
        // them (10M /64s: about 20 MB of them; lookups 1.6x instead of 2.5x the cost at
        // 10k, bench/store). (A hash index on the 6-byte prefix was tried: slower, and
        // twice the memory.)
        t.cache_index_and_filter_blocks = false;
        t.format_version = 5;
        o.compression = rocksdb::kNoCompression;
        if (which == cf_listings) {
            // A region seek's binary search ends on a restart point: with one every 4 keys
            // (not 16) it then scans at most 3 records instead of 15. Simulated with
            // callgrind at 10M /64s (32 MiB LL): 1.4 fewer LL misses and 600 fewer
            // instructions per lookup, for ~1 % larger data blocks. (Also simulated and
            // left out: a hash index, partitioned index and filters, no whole-key filter.)
            t.block_restart_interval = 4;
        }
        if (which == cf_listings || which == cf_wide) {
            o.merge_operator = std::make_shared<retaining_merge<reputation_record>>(
                "v6bl.record_merge.v1", corrupt, options.retain_seconds);
            o.compaction_filter = record_filter.get();
            o.optimize_filters_for_hits = false;
            o.compression = rocksdb::kLZ4Compression;
        } else if (which == cf_meta) {
            o.merge_operator = std::make_shared<counter_merge>();
        } else if (which == cf_evidence) {
            o.merge_operator = std::make_shared<retaining_merge<evidence_item>>(
                "v6bl.evidence_merge.v1", corrupt, options.retain_seconds);
            o.compaction_filter = evidence_filter.get();
            o.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(8));
            o.compression = rocksdb::kLZ4Compression;
        }
        o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
        o.write_buffer_size = 4 << 20;
        o.max_write_buffer_number = 4;
        if (which == cf_listings || which == cf_evidence) {
            // The bulk of the data. Keys arrive in random order (spread over the address
            // space), so every L0 file overlaps all of L1: flush two 32 MiB memtables at a
            // time and keep L1 large, so that fewer compactions rewrite it.
            o.write_buffer_size = 32 << 20;
            o.min_write_buffer_number_to_merge = 2;
            o.max_bytes_for_level_base = 512 << 20;
            o.target_file_size_base = 64 << 20;
            // Flushes and the first compactions stay cheap: compress only the larger levels.
            o.compression_per_level = {rocksdb::kNoCompression,  rocksdb::kNoCompression,
                                       rocksdb::kNoCompression,  rocksdb::kLZ4Compression,
                                       rocksdb::kLZ4Compression, rocksdb::kLZ4Compression,
                                       rocksdb::kLZ4Compression};
            // Each L0->L1 compaction rewrites all of L1 (random keys): let 8 flushes gather
            // first (10M upserts: 680k/s instead of 480k/s on the loaded 2-core VM).
            o.level0_file_num_compaction_trigger = 8;
            o.level0_slowdown_writes_trigger = 30;
            o.level0_stop_writes_trigger = 48;
        }
        if (which == cf_listings && how == mode::writer) {
            // The writer's listing memtables are vectors: an insert is an append, and the
            // memtable is sorted once, when it is flushed (a skiplist insert of a random key
            // cost 1.5-2.5 us of cache misses; bench/store). A read through the writer's own
            // memtable copies and sorts it, so the writer must not read listings on a hot
            // path: ingest reads only checkpoints (meta) and evidence, which keep skiplists,
            // and admin reads (delist, lookup through a writer) pay one sort. Readers (the
            // server's secondary instance, read-only opens) keep skiplists.
            // (memtable_insert_with_hint_prefix_extractor would have been the skiplist's way
            // to make sorted inserts cheaper, but Debian's RocksDB 7.8 asserts in
            // InlineSkipList::Insert with it.)
            o.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>(1 << 18);
        }
        if (which == cf_listings) {
            // Region (/48) scans seek with a 6-byte prefix bloom; Gets still use whole keys.
            o.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(6));
        }
        return o;
    }

    [[noreturn]] void fail(const std::string& what, const rocksdb::Status& s) const {
        std::string msg = "store " + path + ": " + what + ": " + s.ToString();
        if (s.IsIOError() && s.ToString().find("lock") != std::string::npos)
            msg =
                "store " + path +
                " is locked by another writer (is a v6bl ingest/import running?): " + s.ToString();
        throw store_error(msg, s.IsCorruption());
    }

    std::string meta_get(const std::string& key) const {
        std::string v;
        auto s = db->Get(rocksdb::ReadOptions(), cf[cf_meta], key, &v);
        return s.ok() ? v : std::string{};
    }

    // At open: a meta value that cannot be read is a damaged store, not an absent value (a
    // writer took an unreadable serial for none and committed serial 1, which secondaries
    // take for an old one: helper-53).
    std::string meta_get_at_open(const std::string& key) const {
        std::string v;
        auto s = db->Get(rocksdb::ReadOptions(), cf[cf_meta], key, &v);
        if (s.ok()) return v;
        if (s.IsNotFound()) return {};
        throw store_error("store " + path + ": cannot read its '" + key + "' (" + s.ToString() +
                          "): the store is damaged");
    }
};

namespace {

// No key in any of `families` of `db`. A merge operand read without its operator makes the
// iterator fail: that is no empty family either.
bool no_keys(rocksdb::DB& db, const std::vector<rocksdb::ColumnFamilyHandle*>& families) {
    for (auto* h : families) {
        std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions(), h));
        it->SeekToFirst();
        if (it->Valid() || !it->status().ok()) return false;
    }
    return true;
}

// Whether the RocksDB database at `path` holds no key in any of the column families `names`
// (read-only, the write-ahead log included). A writer killed while it created a store leaves
// such a database: some of v6bl's column families, and no format mark yet.
bool holds_nothing(const std::string& path, const std::vector<std::string>& names) {
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    rocksdb::DBOptions o;
    o.info_log_level = rocksdb::InfoLogLevel::ERROR_LEVEL;
    if (!rocksdb::DB::OpenForReadOnly(o, path, descs, &handles, &raw).ok()) return false;
    const bool empty = no_keys(*raw, handles);
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
    return empty;
}

}  // namespace

reputation_store::reputation_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
reputation_store::~reputation_store() = default;

namespace {

// Whether another process holds the store's LOCK (a writer), from /proc/locks: opening
// and closing LOCK to ask with fcntl would drop this process's own lock on it, were it
// the writer (POSIX record locks go with any descriptor of the file closed).
bool other_process_holds_lock(const std::string& path) {
    struct stat st {};
    if (::stat((fs::path(path) / "LOCK").c_str(), &st) != 0) return false;
    std::ifstream locks("/proc/locks");
    const std::string self = std::to_string(::getpid());
    char id_of_lock[64];
    std::snprintf(id_of_lock, sizeof id_of_lock, "%02x:%02x:%lu", ::major(st.st_dev),
                  ::minor(st.st_dev), static_cast<unsigned long>(st.st_ino));
    std::string line;
    while (std::getline(locks, line)) {
        // "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (device in hex, inode decimal)
        std::istringstream in(line);
        std::string id, kind, advisory, access, pid, where;
        if (!(in >> id >> kind)) continue;
        if (kind == "->") in >> kind;  // a waiter, listed under the lock it waits for
        if (!(in >> advisory >> access >> pid >> where)) continue;
        if (pid != self && where == id_of_lock) return true;
    }
    return false;
}

// The contents of a database's CURRENT file ("MANIFEST-000123\n"), empty if unreadable.
std::string read_current_file(const std::string& path) {
    std::ifstream in(fs::path(path) / "CURRENT", std::ios::binary);
    std::string text;
    std::getline(in, text);
    return text;
}

// Whether a directory without CURRENT holds only what RocksDB writes while it creates a
// database, before CURRENT names the first MANIFEST: a writer killed in those milliseconds
// (IDENTITY, LOCK, LOG, MANIFEST-000001 or a .dbtmp). Anything else in it, or a LOG that is
// not RocksDB's, makes it someone else's directory (or a database that lost its CURRENT).
bool only_unfinished_creation(const std::string& path) {
    auto digits_then = [](const std::string& n, std::string_view suffix) {
        if (n.size() <= suffix.size() || !n.ends_with(suffix)) return false;
        return std::all_of(n.begin(), n.end() - static_cast<std::ptrdiff_t>(suffix.size()),
                           [](char c) { return c >= '0' && c <= '9'; });
    };
    // RocksDB's info log: its header, or lines stamped "2026/12/02-09:14:16.732525 ".
    // Empty: killed before its first line.
    enum class log_kind { empty, rocksdb, other };
    auto log_of = [](const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        std::string head(4096, '\0');
        in.read(head.data(), static_cast<std::streamsize>(head.size()));
        head.resize(static_cast<std::size_t>(in.gcount()));
        if (head.empty()) return log_kind::empty;
        if (head.find("RocksDB version") != std::string::npos) return log_kind::rocksdb;
        const std::string_view stamp = "dddd/dd/dd-dd:dd:dd.dddddd ";
        if (head.size() < stamp.size()) return log_kind::other;
        for (std::size_t i = 0; i < stamp.size(); ++i) {
            const char c = head[i];
            if (stamp[i] == 'd' ? !(c >= '0' && c <= '9') : c != stamp[i]) return log_kind::other;
        }
        return log_kind::rocksdb;
    };
    std::error_code ec;
    bool rocksdb_named = false;
    for (const auto& e : fs::directory_iterator(path, ec)) {
        if (!e.is_regular_file(ec)) return false;
        const std::string n = e.path().filename().string();
        if (n == "LOCK" || n == "IDENTITY") {
            rocksdb_named = true;
        } else if (n == "LOG" || n.starts_with("LOG.old.")) {
            const log_kind k = log_of(e.path());
            if (k == log_kind::other) return false;
            // An empty LOG alone (killed right after RocksDB created it) is taken too:
            // removing an empty file loses nothing.
            rocksdb_named = true;
        } else if (!(n == "MANIFEST-000001" || digits_then(n, ".dbtmp"))) {
            // A write-ahead log (data) and OPTIONS come only after CURRENT, and so does any
            // later MANIFEST: a directory holding one is a database that lost its CURRENT
            // (RocksDB's repair may save it), never wiped here.
            return false;
        }
    }
    return !ec && rocksdb_named;
}

// Removes what a cut-off creation left, holding RocksDB's own LOCK (fcntl, as RocksDB takes
// it) throughout: a writer starting at the same time either waits out our reset (its
// RocksDB open then fails on the lock) or has the lock first (we refuse). LOCK itself stays:
// replacing its inode would let two writers each hold "the" lock. Throws store_error.
void reset_unfinished_creation(const std::string& path) {
    const std::string lock_path = (fs::path(path) / "LOCK").string();
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        throw store_error("store " + path + " was never finished and its LOCK cannot be opened: " +
                          std::strerror(errno));
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd, F_SETLK, &fl) != 0) {
        ::close(fd);
        throw store_error("store " + path +
                          " is locked by another writer (is a v6bl ingest/import running?)");
    }
    // Under the lock, again: another writer may have finished it since the first look.
    std::error_code ec;
    std::string problem;
    if (fs::exists(fs::path(path) / "CURRENT", ec) || !only_unfinished_creation(path)) {
        problem = "changed while it was being reset (another writer?)";
    } else {
        std::vector<fs::path> doomed;
        for (const auto& e : fs::directory_iterator(path, ec))
            if (e.path().filename() != "LOCK") doomed.push_back(e.path());
        for (const auto& p : doomed) {
            std::error_code rm;
            if (!fs::remove(p, rm) && rm) problem = p.string() + ": " + rm.message();
        }
        if (ec && problem.empty()) problem = ec.message();
    }
    ::close(fd);  // releases the lock; RocksDB takes it again on open
    if (!problem.empty())
        throw store_error("store " + path + " was never finished and cannot be reset: " + problem);
}

std::unique_ptr<reputation_store::impl> open_impl(const store_options& options,
                                                  reputation_store::impl::mode how,
                                                  const std::string& scratch) {
    auto d = std::make_unique<reputation_store::impl>();
    d->how = how;
    d->path = options.path;
    d->options = options;
    d->cache = rocksdb::NewLRUCache(options.block_cache_mb << 20);
    d->record_filter = std::make_unique<expiry_filter>(false, options.retain_seconds);
    d->evidence_filter = std::make_unique<expiry_filter>(true, options.retain_seconds);

    std::error_code ec;
    const bool exists = fs::exists(options.path, ec);
    const bool has_current = fs::exists(fs::path(options.path) / "CURRENT", ec);
    if (exists && !fs::is_directory(options.path, ec))
        throw store_error("store " + options.path + " is not a directory");
    if (exists && !has_current && !fs::is_empty(options.path, ec)) {
        if (!only_unfinished_creation(options.path))
            throw store_error(
                "store " + options.path + " exists and is not a v6bl database (no CURRENT file)" +
                (how == reputation_store::impl::mode::writer ? "; refusing to write into it" : ""));
        // A writer killed while RocksDB created the database: nothing was ever stored. A
        // writer that may create starts over; anything else says what it is.
        if (how != reputation_store::impl::mode::writer || !options.create_if_missing)
            throw store_error("store " + options.path +
                              " was never finished (a writer was stopped while creating it; it "
                              "holds nothing): `v6bl import` or `v6bl ingest` on it completes it");
        reset_unfinished_creation(options.path);
    }
    if (!has_current &&
        (how != reputation_store::impl::mode::writer || !options.create_if_missing)) {
        throw store_error("store " + options.path +
                          (fs::is_directory(options.path, ec) ? " is an empty directory, no store"
                                                              : " does not exist") +
                          " (create it with `v6bl import` or `v6bl ingest`)");
    }

    rocksdb::DBOptions dbo;
    dbo.create_if_missing = options.create_if_missing;
    dbo.create_missing_column_families = false;
    dbo.max_background_jobs = 2;
    dbo.max_subcompactions = 2;  // an L0->L1 compaction of random keys spans all of L1
    // one writer thread; vector memtables do not take concurrent inserts anyway
    dbo.allow_concurrent_memtable_write = false;
    dbo.keep_log_file_num = 4;
    // Flush every family in one MANIFEST edit: a secondary that reads the MANIFEST while a
    // writer flushes (on close, or on a full memtable) must not see one family flushed and
    // another not, once the log that held both is gone (seen: a reader reporting commit N+1
    // without commit N's listing).
    dbo.atomic_flush = true;
    dbo.max_open_files = how == reputation_store::impl::mode::reader ? -1 : 512;
    // Table files are opened by the calling thread: RocksDB's default (16) starts a fresh
    // set of threads on every secondary catch-up (seen: ~175 thread creations per second in
    // a serve catching up every 500 ms with nothing to catch up on).
    dbo.max_file_opening_threads = 1;
    dbo.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;

    // A store whose creation was cut off (its writer killed between RocksDB creating the
    // database and v6bl's first batch): v6bl's column families or some of them, nothing in
    // them. A writer that may create finishes it; anything else says what it is.
    const bool may_create =
        how == reputation_store::impl::mode::writer && options.create_if_missing;
    const std::string unfinished_error =
        "store " + options.path +
        " was never finished (a writer was stopped while creating it; it holds nothing): "
        "`v6bl import` or `v6bl ingest` on it completes it";
    if (has_current) {
        std::vector<std::string> existing;
        auto s = rocksdb::DB::ListColumnFamilies(dbo, options.path, &existing);
        if (!s.ok())
            throw store_error("store " + options.path + " cannot be read: " + s.ToString());
        const bool only_ours = std::all_of(existing.begin(), existing.end(), [](const auto& n) {
            return std::find(std::begin(cf_names), std::end(cf_names), n) != std::end(cf_names);
        });
        for (const char* name : cf_names) {
            if (std::find(existing.begin(), existing.end(), name) != existing.end()) continue;
            if (only_ours && holds_nothing(options.path, existing)) {
                if (!may_create) throw store_error(unfinished_error);
                dbo.create_missing_column_families = true;
                break;
            }
            // A v6bl store whose MANIFEST was cut short reads the same (helper-53: it was
            // called only "not a v6bl database").
            throw store_error("store " + options.path +
                              " is not a v6bl database, or its MANIFEST is damaged (it lists no "
                              "column family '" +
                              name + "')");
        }
    } else {
        dbo.create_missing_column_families = true;
    }
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (int i = 0; i < cf_count; ++i) descs.emplace_back(cf_names[i], d->cf_options(i));

    if (how == reputation_store::impl::mode::reader) {
        d->scratch = scratch;
        d->current_at_open = read_current_file(options.path);
        d->writer_seen = other_process_holds_lock(options.path);
    }
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s;
    switch (how) {
        case reputation_store::impl::mode::writer:
            s = rocksdb::DB::Open(dbo, options.path, descs, &d->cf, &raw);
            break;
        case reputation_store::impl::mode::reader:
            fs::create_directories(scratch, ec);
            s = rocksdb::DB::OpenAsSecondary(dbo, options.path, scratch, descs, &d->cf, &raw);
            break;
        case reputation_store::impl::mode::read_only:
            s = rocksdb::DB::OpenForReadOnly(dbo, options.path, descs, &d->cf, &raw);
            break;
    }
    if (!s.ok()) d->fail("open failed", s);
    d->db.reset(raw);

    const std::string fmt = d->meta_get_at_open(format_key);
    // Decided here, under the writer's lock (a store another writer finished meanwhile has
    // its mark by now): no mark and nothing else is a new or an unfinished store.
    const bool blank = fmt.empty() && no_keys(*d->db, d->cf);
    if (blank && !may_create) throw store_error(unfinished_error);
    if (blank) {
        rocksdb::WriteBatch b;
        const std::uint32_t serial = now_seconds();
        b.Put(d->cf[cf_meta], format_key, format_value);
        b.Put(d->cf[cf_meta], serial_key, be32(serial));
        b.Put(d->cf[cf_meta], commits_key, le64(0));
        b.Put(d->cf[cf_meta], commit_base_key, be32(serial));
        rocksdb::WriteOptions wo;
        wo.sync = true;
        s = d->db->Write(wo, &b);
        if (!s.ok()) d->fail("initialise", s);
    } else if (fmt != format_value) {
        throw store_error("store " + options.path + " has format '" + fmt + "', this v6bl reads '" +
                          format_value + "'");
    } else if (how == reputation_store::impl::mode::writer &&
               d->meta_get_at_open(commit_base_key).empty()) {
        // A store from before the commit counter: start counting at its current serial.
        rocksdb::WriteBatch b;
        b.Put(d->cf[cf_meta], commits_key, le64(0));
        b.Put(d->cf[cf_meta], commit_base_key, d->meta_get(serial_key));
        rocksdb::WriteOptions wo;
        wo.sync = true;
        s = d->db->Write(wo, &b);
        if (!s.ok()) d->fail("initialise the commit counter", s);
    }
    const std::string serial = d->meta_get_at_open(serial_key);
    if (serial.size() != 4)
        throw store_error("store " + options.path + ": its serial is " +
                          (serial.empty() ? std::string("missing")
                                          : std::to_string(serial.size()) + " bytes, not 4") +
                          ": the store is damaged (nothing was written to it)");
    d->serial = from_be32(serial);
    return d;
}

// A secondary instance (serve's, and lookup's beside a writer) opens a store that lacks a
// table file, or has one cut short, at the last state whose files are all there, and reads
// that without a word: a store missing the file of its longer prefixes answered from a /32
// (helper-53). A read-only open refuses such a store (Corruption), so one is tried first.
// A writer deleting files after a compaction can make one go while it is read, so the
// refusal must hold for a second before the store is called damaged.
void refuse_damaged(const store_options& options) {
    for (int attempt = 0;; ++attempt) {
        try {
            open_impl(options, reputation_store::impl::mode::read_only, {});
            return;
        } catch (const store_error& e) {
            if (!e.corruption()) return;
            if (attempt == 20) throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

// Opens a reader or read-only instance that holds every commit up to its serial. Missing a
// commit is a race with a writer flushing (see holds_every_commit()), so try again; a
// writer that flushes every few milliseconds for two seconds is not a store to read.
std::unique_ptr<reputation_store::impl> open_complete(const store_options& options,
                                                      reputation_store::impl::mode how,
                                                      const std::string& scratch) {
    // Once: each try is a whole read-only open (its log replayed too).
    if (how == reputation_store::impl::mode::reader) refuse_damaged(options);
    for (int attempt = 0;; ++attempt) {
        auto d = open_impl(options, how, scratch);
        if (d->holds_every_commit()) return d;
        if (attempt == 40)
            throw store_error("store " + options.path +
                              ": every open missed a commit that a writer was flushing; is "
                              "the writer flushing continuously?");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

}  // namespace

std::unique_ptr<reputation_store> reputation_store::open_writer(const store_options& options) {
    return std::unique_ptr<reputation_store>(
        new reputation_store(open_impl(options, impl::mode::writer, {})));
}
std::unique_ptr<reputation_store> reputation_store::open_reader(const store_options& options,
                                                                const std::string& scratch_dir) {
    return std::unique_ptr<reputation_store>(
        new reputation_store(open_complete(options, impl::mode::reader, scratch_dir)));
}
std::unique_ptr<reputation_store> reputation_store::open_read_only(const store_options& options) {
    return std::unique_ptr<reputation_store>(
        new reputation_store(open_complete(options, impl::mode::read_only, {})));
}

// ---- change sets -------------------------------------------------------------------------

void change_set::push(op::kind_t kind, std::string_view key, const prefix& where,
                      std::size_t value_start) {
    op o;
    o.kind = kind;
    o.key_len = static_cast<std::uint8_t>(std::min(key.size(), sizeof o.key));
    std::memcpy(o.key, key.data(), o.key_len);
    o.value_offset = static_cast<std::uint32_t>(value_start);
    o.value_size = static_cast<std::uint32_t>(values_.size() - value_start);
    o.where = where;
    ops_.push_back(o);
}

void change_set::merge_record(const prefix& where, const reputation_record& delta) {
    const std::size_t start = values_.size();
    append_record(values_, delta);
    const auto k = prefix_key(where);
    push(op::merge, std::string_view(k.data(), k.size()), where, start);
}

void change_set::merge_evidence(const prefix& p64, evidence_kind kind, std::string_view item,
                                const evidence_item& delta) {
    char key[26];
    std::memcpy(key, p64.address.data(), 8);
    key[8] = static_cast<char>(kind);
    const std::size_t n = std::min<std::size_t>(item.size(), sizeof key - 9);
    std::memcpy(key + 9, item.data(), n);
    const std::size_t start = values_.size();
    append_evidence(values_, delta);
    push(op::evidence, std::string_view(key, 9 + n), p64, start);
}

void change_set::list_manually(const prefix& where, reason_code code, std::string_view text,
                               std::uint32_t now) {
    reputation_record r;
    r.reason_bits = bit_manual;
    r.manual_code = static_cast<std::uint8_t>(code);
    r.text = std::string(text.substr(0, 200));
    r.first_seen = now;
    r.last_seen = now;
    const std::size_t start = values_.size();
    append_record(values_, r);
    push(op::put_manual, key_of(where), where, start);
}

void change_set::remove(const prefix& where) {
    push(op::del, key_of(where), where, values_.size());
}

void change_set::allow(const prefix& where, std::string_view comment, std::uint32_t now) {
    const std::size_t start = values_.size();
    values_ += encode_allow({now, std::string(comment.substr(0, 200))});
    push(op::allow_put, key_of(where), where, start);
}

void change_set::unallow(const prefix& where) {
    push(op::allow_del, key_of(where), where, values_.size());
}

void change_set::touch(const prefix& where) {
    push(op::touch, key_of(where), where, values_.size());
}

void change_set::set_checkpoint(std::string_view source, std::string_view value) {
    checkpoints_.emplace_back(std::string(source), std::string(value));
}

std::uint32_t reputation_store::commit(change_set&& changes, std::uint32_t now) {
    auto& d = *impl_;
    if (d.how != impl::mode::writer) throw store_error("store " + d.path + " is open read-only");
    // Sized up front: growing a multi-megabyte batch string by doubling copies it again and
    // again (a tenth of a large commit's time went there).
    // The checkpoints count too: an ingest commit carries tens of MB of them.
    std::size_t checkpoint_bytes = 0;
    for (const auto& [source, value] : changes.checkpoints_)
        checkpoint_bytes += source.size() + value.size() + 32;
    rocksdb::WriteBatch batch(changes.values_.size() + changes.ops_.size() * 40 +
                              changes.ops_.size() * prefix_key_size + checkpoint_bytes + 4096);
    journal_entry j;
    j.time = now;
    std::vector<prefix> touched;
    // Memtable inserts in key order reuse the skiplist's search path: sorting a large change
    // set first doubles ingest speed. Per-key order is kept (stable), and a set with deletes
    // keeps its order, since a delete works on ranges.
    const bool has_delete =
        std::any_of(changes.ops_.begin(), changes.ops_.end(),
                    [](const change_set::op& o) { return o.kind == change_set::op::del; });
    // (The ingest writer hands its records in key order: a check then saves the sort.)
    auto op_less = [](const change_set::op& a, const change_set::op& b) {
        const bool ea = a.kind == change_set::op::evidence, eb = b.kind == change_set::op::evidence;
        if (ea != eb) return ea < eb;
        return a.key_view() < b.key_view();
    };
    if (!has_delete && changes.ops_.size() > 64 &&
        !std::is_sorted(changes.ops_.begin(), changes.ops_.end(), op_less))
        std::stable_sort(changes.ops_.begin(), changes.ops_.end(), op_less);
    for (auto& o : changes.ops_) {
        const rocksdb::Slice key(o.key, o.key_len);
        const rocksdb::Slice value(changes.values_.data() + o.value_offset, o.value_size);
        auto* listing_cf = d.cf[o.where.length < 48 ? cf_wide : cf_listings];
        switch (o.kind) {
            case change_set::op::merge:
            case change_set::op::put_manual:
                batch.Merge(listing_cf, key, value);
                touched.push_back(o.where);
                break;
            case change_set::op::evidence:
                batch.Merge(d.cf[cf_evidence], key, value);
                break;
            case change_set::op::del: {
                // Removes every stored record at or under the prefix, and their evidence.
                auto remove_in = [&](int which) {
                    // In total order: a prefix-mode seek in the listing family (/48 bloom)
                    // would skip each table file whose filter lacks the range's first /48,
                    // and every other /48 of the range in it.
                    rocksdb::ReadOptions ro;
                    ro.total_order_seek = true;
                    std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(ro, d.cf[which]));
                    const std::string end = range_end(o.where);
                    for (it->Seek(key); it->Valid() && it->key().compare(end) <= 0; it->Next()) {
                        auto p =
                            prefix_from_key(std::string_view(it->key().data(), it->key().size()));
                        if (!p || p->length < o.where.length) continue;
                        batch.Delete(d.cf[which], it->key());
                        touched.push_back(*p);
                    }
                    // a partial delist would commit as if whole
                    if (!it->status().ok()) d.fail("delist scan", it->status());
                };
                remove_in(cf_listings);
                remove_in(cf_wide);
                // The scan reads the database, not this batch: records this change set
                // wrote before the remove are deleted by key (the set keeps its order when
                // it has a delete, so these are exactly the ops before this one).
                for (const auto* e = changes.ops_.data(); e != &o; ++e) {
                    if ((e->kind != change_set::op::merge &&
                         e->kind != change_set::op::put_manual) ||
                        !o.where.covers(e->where))
                        continue;
                    batch.Delete(d.cf[e->where.length < 48 ? cf_wide : cf_listings],
                                 rocksdb::Slice(e->key, e->key_len));
                }
                if (o.where.length <= 64) {
                    // evidence keys start with the /64; drop every /64 of the prefix
                    const std::string end = range_end(o.where);
                    batch.DeleteRange(d.cf[cf_evidence], evidence_prefix(o.where),
                                      end.substr(0, 8) + std::string(16, '\xff'));
                }
                touched.push_back(o.where);
                break;
            }
            case change_set::op::allow_put:
                batch.Put(d.cf[cf_allow], key, value);
                j.allowlist_changed = true;
                break;
            case change_set::op::allow_del:
                batch.Delete(d.cf[cf_allow], key);
                j.allowlist_changed = true;
                break;
            case change_set::op::touch:
                touched.push_back(o.where);
                break;
        }
    }
    if (!std::is_sorted(touched.begin(), touched.end())) std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    j.touched = std::move(touched);
    for (const auto& source : changes.erased_checkpoints_)
        batch.Delete(d.cf[cf_meta], "ckpt:" + source);
    for (const auto& [source, value] : changes.checkpoints_)
        batch.Put(d.cf[cf_meta], "ckpt:" + source, value);
    // In the batch now: freed before RocksDB makes its memtable copy, which can then
    // reuse the memory instead of touching fresh pages.
    std::vector<std::pair<std::string, std::string>>().swap(changes.checkpoints_);
    std::vector<change_set::op>().swap(changes.ops_);
    std::string().swap(changes.values_);

    const std::uint32_t serial = d.serial + 1;
    j.serial = serial;
    batch.Put(d.cf[cf_journal], be32(serial), encode_journal(j));
    batch.Put(d.cf[cf_meta], serial_key, be32(serial));
    batch.Put(d.cf[cf_meta], serial_wall_key, be32(now_seconds()));
    batch.Merge(d.cf[cf_meta], commits_key, le64(1));
    if (serial > d.options.journal_keep && serial % 64 == 0)
        batch.DeleteRange(d.cf[cf_journal], be32(0), be32(serial - d.options.journal_keep));

    rocksdb::WriteOptions wo;
    wo.sync = d.options.sync_commits;
    auto s = d.db->Write(wo, &batch);
    if (!s.ok()) d.fail("commit", s);
    d.serial = serial;
    changes = change_set{};
    return serial;
}

bool reputation_store::catch_up() {
    auto& d = *impl_;
    if (d.how != impl::mode::reader) return false;
    // A new writer process starts a new MANIFEST. Debian's RocksDB 7.8 secondary does not
    // reliably follow a MANIFEST switch: after a few writer restarts between catch-ups it
    // stopped seeing new commits while TryCatchUpWithPrimary kept returning OK (test
    // "a secondary catching up during writer reopens ..."). So when the primary's CURRENT
    // names another MANIFEST than at open, open a fresh secondary instead; if that fails
    // (the writer is mid-switch), keep the old one and try again at the next catch-up.
    // A state that misses a commit is never taken: the serial stays where it was (so that
    // nobody reads the later commits as if the missing one were there), and the next
    // catch-up opens a fresh instance.
    const std::string current = read_current_file(d.path);
    // A writer that exits flushes its memtables into table files and deletes the logs this
    // instance replayed from. RocksDB 7.8's secondary then went on reading its own replay
    // of those logs, which shadows the table files: the serial of a commit before the last
    // ones, a complete state of its own, so nothing above noticed. A server stayed 1–3
    // commits behind after an ingest ended, once for 14 minutes (helper-90). So once the
    // writer is gone, open a fresh secondary.
    const bool writer = other_process_holds_lock(d.path);
    const bool writer_left = d.writer_seen && !writer;
    d.writer_seen = writer;
    if (d.needs_reopen || writer_left || (!current.empty() && current != d.current_at_open)) {
        std::unique_ptr<impl> fresh;
        try {
            fresh = open_impl(d.options, impl::mode::reader, d.scratch);
        } catch (const store_error&) {
            if (writer_left) d.needs_reopen = true;  // tried again at the next catch-up
            return false;
        }
        if (!fresh->holds_every_commit()) {
            d.needs_reopen = true;
            ++d.incomplete;
            return false;
        }
        fresh->corrupt.store(d.corrupt.load(std::memory_order_relaxed), std::memory_order_relaxed);
        fresh->reopens = d.reopens + 1;
        fresh->incomplete = d.incomplete;
        const bool moved = fresh->serial != d.serial;
        impl_ = std::move(fresh);
        return moved;
    }
    auto s = d.db->TryCatchUpWithPrimary();
    if (!s.ok()) return false;
    const std::uint32_t serial = from_be32(d.meta_get(serial_key));
    if (serial == d.serial) return false;
    if (!d.holds_every_commit()) {
        d.needs_reopen = true;
        ++d.incomplete;
        return false;
    }
    d.serial = serial;
    return true;
}

std::uint32_t reputation_store::serial() const {
    return impl_->serial;
}

std::uint32_t reputation_store::retain_seconds() const {
    return impl_->options.retain_seconds;
}

std::optional<std::uint32_t> reputation_store::serial_time() const {
    auto& d = *impl_;
    std::string v;
    if (d.db->Get(rocksdb::ReadOptions(), d.cf[cf_meta], serial_wall_key, &v).ok() && v.size() == 4)
        return from_be32(v);
    // A store committed to before the key existed: its journal's time, then.
    const auto s = d.db->Get(rocksdb::ReadOptions(), d.cf[cf_journal], be32(d.serial), &v);
    if (!s.ok()) return std::nullopt;
    const auto j = decode_journal(d.serial, v);
    if (!j) return std::nullopt;
    return j->time;
}

std::optional<std::string> reputation_store::checkpoint(std::string_view source) const {
    std::string v;
    auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf[cf_meta],
                            "ckpt:" + std::string(source), &v);
    if (!s.ok()) return std::nullopt;
    return v;
}

void reputation_store::for_each_checkpoint(
    std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
    const std::string pre = "ckpt:" + std::string(prefix);
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf[cf_meta]));
    for (it->Seek(pre); it->Valid() && it->key().starts_with(pre); it->Next()) {
        const std::string_view k(it->key().data() + 5, it->key().size() - 5);
        if (!fn(k, std::string_view(it->value().data(), it->value().size()))) break;
    }
    if (!it->status().ok()) impl_->fail("checkpoint scan", it->status());
}

std::optional<reputation_record> reputation_store::get(const prefix& where) const {
    std::string v;
    auto s =
        impl_->db->Get(rocksdb::ReadOptions(), impl_->cf[where.length < 48 ? cf_wide : cf_listings],
                       key_of(where), &v);
    if (!s.ok()) return std::nullopt;
    auto r = decode_record(v);
    if (!r) impl_->corrupt.fetch_add(1, std::memory_order_relaxed);
    if (r && is_empty(*r)) return std::nullopt;
    return r;
}

std::optional<allow_entry> reputation_store::get_allow(const prefix& where) const {
    std::string v;
    auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf[cf_allow], key_of(where), &v);
    if (!s.ok()) return std::nullopt;
    return decode_allow(v);
}

namespace {
void scan_records(reputation_store::impl& d, int which, const std::string& from,
                  const std::string& to,
                  const std::function<bool(const prefix&, const reputation_record&)>& fn,
                  bool within_region = false) {
    rocksdb::ReadOptions ro;
    ro.fill_cache = within_region;  // full scans would only evict what lookups need
    if (within_region)
        ro.prefix_same_as_start = true;
    else
        ro.total_order_seek = true;

    std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(ro, d.cf[which]));
    for (from.empty() ? it->SeekToFirst() : it->Seek(from); it->Valid(); it->Next()) {
        if (!to.empty() && it->key().compare(to) > 0) break;
        auto p = prefix_from_key(std::string_view(it->key().data(), it->key().size()));
        auto r = decode_record(std::string_view(it->value().data(), it->value().size()));
        if (!p || !r) {
            d.corrupt.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        if (is_empty(*r)) continue;
        if (!fn(*p, *r)) break;
    }
    if (!it->status().ok()) d.fail("scan", it->status());
}
}  // namespace

std::shared_ptr<const reputation_store::impl::small_sets> reputation_store::impl::sets() {
    std::lock_guard lock(cache_mu);
    if (sets_cache && sets_cache->serial == serial) return sets_cache;
    auto fresh = std::make_shared<small_sets>();
    fresh->serial = serial;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf[cf_allow]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        auto p = prefix_from_key(std::string_view(it->key().data(), it->key().size()));
        if (!p || !decode_allow(std::string_view(it->value().data(), it->value().size()))) {
            corrupt.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        fresh->allowed.push_back(*p);
        ::v6bl::store::published_holes(*p, fresh->holes);
    }
    if (!it->status().ok()) fail("allowlist scan", it->status());
    std::sort(fresh->holes.begin(), fresh->holes.end());
    fresh->holes.erase(std::unique(fresh->holes.begin(), fresh->holes.end()), fresh->holes.end());
    scan_records(*this, cf_wide, {}, {}, [&](const prefix& p, const reputation_record& r) {
        fresh->wide.emplace_back(p, r);
        return true;
    });
    sets_cache = fresh;
    return sets_cache;
}

void reputation_store::for_each_record(
    const std::function<bool(const prefix&, const reputation_record&)>& fn) const {
    bool go = true;
    auto wrap = [&](const prefix& p, const reputation_record& r) { return go = fn(p, r); };
    scan_records(*impl_, cf_wide, {}, {}, wrap);
    if (go) scan_records(*impl_, cf_listings, {}, {}, wrap);
}

void reputation_store::for_each_record_in(
    const prefix& range,
    const std::function<bool(const prefix&, const reputation_record&)>& fn) const {
    bool go = true;
    auto wrap = [&](const prefix& p, const reputation_record& r) {
        if (p.length < range.length) return true;
        return go = fn(p, r);
    };
    scan_records(*impl_, cf_wide, key_of(range), range_end(range), wrap);
    if (go) scan_records(*impl_, cf_listings, key_of(range), range_end(range), wrap);
}

void reputation_store::for_each_evidence(
    const prefix& p64,
    const std::function<bool(evidence_kind, std::string_view, const evidence_item&)>& fn) const {
    const std::string pre = evidence_prefix(p64);
    rocksdb::ReadOptions ro;
    ro.prefix_same_as_start = true;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf[cf_evidence]));
    for (it->Seek(pre); it->Valid() && it->key().starts_with(pre); it->Next()) {
        const std::string_view k(it->key().data(), it->key().size());
        auto e = decode_evidence(std::string_view(it->value().data(), it->value().size()));
        if (k.size() < 9 || !e) {
            impl_->corrupt.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        if (is_empty(*e)) continue;
        if (!fn(static_cast<evidence_kind>(k[8]), k.substr(9), *e)) break;
    }
    if (!it->status().ok()) impl_->fail("evidence scan", it->status());
}

std::size_t reputation_store::evidence_count(const prefix& p64, std::size_t stop_at) const {
    std::size_t n = 0;
    for_each_evidence(
        p64, [&](evidence_kind, std::string_view, const evidence_item&) { return ++n < stop_at; });
    return n;
}

void reputation_store::for_each_allow(
    const std::function<bool(const prefix&, const allow_entry&)>& fn) const {
    std::unique_ptr<rocksdb::Iterator> it(
        impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf[cf_allow]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        auto p = prefix_from_key(std::string_view(it->key().data(), it->key().size()));
        auto a = decode_allow(std::string_view(it->value().data(), it->value().size()));
        if (!p || !a) {
            impl_->corrupt.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        if (!fn(*p, *a)) break;
    }
    if (!it->status().ok()) impl_->fail("allowlist scan", it->status());
}

// ---- published listings --------------------------------------------------------------------

std::vector<prefix> reputation_store::published_holes() const {
    return impl_->sets()->holes;
}

namespace {

bool inside_hole(const std::vector<prefix>& holes, const prefix& p) {
    // holes are few and sorted; any hole covering p lies at or before p in order
    auto it = std::upper_bound(holes.begin(), holes.end(), p);
    while (it != holes.begin()) {
        --it;
        if (it->covers(p)) return true;
        if (it->address[0] != p.address[0])
            break;  // cheap cut: covering holes share byte 0 unless < /8
    }
    for (const auto& h : holes)
        if (h.length < 8 && h.covers(p)) return true;
    return false;
}

bool is_region0(std::uint64_t region) {
    return region == 0;
}

// Finishes one /48 region: holes, test point, escalation, order.
void finish_region(std::vector<listing_entry>& region, std::uint64_t region48,
                   const std::vector<prefix>& holes, const listing_policy& policy) {
    std::erase_if(region, [&](const listing_entry& e) { return inside_hole(holes, e.where); });
    if (is_region0(region48) && !inside_hole(holes, rfc5782_test_entry().where))
        region.push_back(rfc5782_test_entry());
    std::sort(region.begin(), region.end(), [](const listing_entry& a, const listing_entry& b) {
        if (a.where != b.where) return a.where < b.where;
        return a.source_length > b.source_length;
    });
    // One entry per prefix, the one from the longest stored prefix; when one it hides
    // outlives it, the region is rebuilt as it lapses (the hidden one answers then).
    for (std::size_t i = 0, j = 0; i < region.size(); i = j) {
        for (j = i + 1; j < region.size() && region[j].where == region[i].where; ++j) {
            const std::uint32_t kept = region[i].expires, hidden = region[j].expires;
            if (kept != 0 && (hidden == 0 || hidden > kept))
                region[i].refresh_at = earlier_refresh(region[i].refresh_at, lapse_time(kept));
        }
    }
    region.erase(std::unique(region.begin(), region.end(),
                             [](const listing_entry& a, const listing_entry& b) {
                                 return a.where == b.where;
                             }),
                 region.end());
    add_escalations(region, policy);
    if (is_region0(region48))
        std::erase_if(
            region, [](const listing_entry& e) { return covers_rfc5782_unlisted_point(e.where); });
}

std::uint64_t region_of_prefix(const prefix& p) {
    return p.high64() & ~std::uint64_t{0xffff};
}

}  // namespace

std::vector<listing_entry> reputation_store::published_region(std::uint64_t region48,
                                                              const listing_policy& policy,
                                                              std::uint32_t now) const {
    region48 &= ~std::uint64_t{0xffff};
    const prefix range = make_prefix(make_prefix64(region48).address, 48);
    std::vector<listing_entry> region;
    scan_records(
        *impl_, cf_listings, key_of(range), range_end(range),
        [&](const prefix& p, const reputation_record& r) {
            published_entries(p, r, policy, now, region);
            return true;
        },
        true);
    finish_region(region, region48, impl_->sets()->holes, policy);
    return region;
}

std::vector<listing_entry> reputation_store::published_wide(const listing_policy& policy,
                                                            std::uint32_t now) const {
    const auto sets = impl_->sets();
    const auto& holes = sets->holes;
    std::vector<listing_entry> wide;
    for (const auto& [p, r] : sets->wide) published_entries(p, r, policy, now, wide);
    std::erase_if(wide, [&](const listing_entry& e) {
        return inside_hole(holes, e.where) || covers_rfc5782_unlisted_point(e.where);
    });
    std::sort(wide.begin(), wide.end(), [](const listing_entry& a, const listing_entry& b) {
        if (a.where != b.where) return a.where < b.where;
        return a.source_length > b.source_length;
    });
    wide.erase(std::unique(wide.begin(), wide.end(),
                           [](const listing_entry& a, const listing_entry& b) {
                               return a.where == b.where;
                           }),
               wide.end());
    return wide;
}

void reputation_store::for_each_published(const listing_policy& policy, std::uint32_t now,
                                          const std::function<void(const listing_entry&)>& fn,
                                          bool keep_shadowed_wide) const {
    const auto sets = impl_->sets();
    const auto& holes = sets->holes;
    const auto wide = published_wide(policy, now);
    std::size_t next_wide = 0;
    auto emit = [&](const listing_entry& e) {
        // interleave the few wide entries in address order; a region entry of the same
        // prefix (more specific stored prefix) replaces a wide one
        bool shadowed = false;
        while (next_wide < wide.size() && !(e.where < wide[next_wide].where)) {
            if (wide[next_wide].where != e.where)
                fn(wide[next_wide]);
            else
                shadowed = keep_shadowed_wide;
            ++next_wide;
        }
        fn(e);
        if (shadowed) fn(wide[next_wide - 1]);
    };
    std::vector<listing_entry> region;
    std::uint64_t current = 0;
    bool have_region0 = false;
    auto flush = [&](std::uint64_t r) {
        if (r == 0) have_region0 = true;
        finish_region(region, r, holes, policy);
        for (const auto& e : region) emit(e);
        region.clear();
    };
    bool any = false;
    scan_records(*impl_, cf_listings, {}, {}, [&](const prefix& p, const reputation_record& r) {
        const std::uint64_t reg = region_of_prefix(p);
        if (any && reg != current) flush(current);
        if (!any && reg != 0) flush(0);  // region 0 holds the RFC 5782 test point
        any = true;
        current = reg;
        published_entries(p, r, policy, now, region);
        return true;
    });
    if (any) flush(current);
    if (!have_region0) flush(0);
    for (; next_wide < wide.size(); ++next_wide) fn(wide[next_wide]);
}

lookup_result reputation_store::lookup(const ipv6_bytes& addr, const listing_policy& policy,
                                       std::uint32_t now) const {
    lookup_result out;
    const prefix host = make_prefix(addr, 128);
    const std::uint64_t region48 = region_of_prefix(host);
    const auto sets = impl_->sets();

    // Everything a lookup needs: the records of one /48 (one prefix-bloomed seek) and the
    // cached small sets. No per-length probing, so the cost is that of one region.
    std::vector<std::pair<prefix, reputation_record>> records;
    const prefix range = make_prefix(make_prefix64(region48).address, 48);
    scan_records(
        *impl_, cf_listings, key_of(range), range_end(range),
        [&](const prefix& p, const reputation_record& r) {
            records.emplace_back(p, r);
            return true;
        },
        true);
    std::vector<listing_entry> region;
    for (const auto& [p, r] : records) published_entries(p, r, policy, now, region);
    finish_region(region, region48, sets->holes, policy);
    listing_view_builder builder;
    for (const auto& e : region) builder.add(e);
    for (const auto& e : published_wide(policy, now)) builder.add(e);
    for (const auto& h : sets->holes) builder.add_hole(h);
    const auto answer = builder.finish(impl_->serial)->resolve_address(addr, now);

    for (const auto& p : sets->allowed)
        if (p.covers(host) && (!out.allowed_by || p.length > out.allowed_by->length))
            out.allowed_by = p;
    for (const auto& [p, r] : sets->wide) records.emplace_back(p, r);

    // The stored record behind the answer: the longest covering one, no longer than the
    // published prefix (which may be up to 3 bits longer than the stored one).
    const int limit = answer.state == name_state::listed ? answer.entry.where.length : 128;
    for (const auto& [p, r] : records) {
        if (!p.covers(host) || p.length > limit) continue;
        if (answer.state == name_state::listed && p.length + 3 < limit) continue;
        if (!out.stored_prefix || p.length > out.stored_prefix->length) {
            out.stored_prefix = p;
            out.record = r;
        }
    }
    if (answer.state == name_state::listed) {
        out.listed = true;
        out.entry = answer.entry;
        if (answer.entry.code == reason_code::escalated ||
            is_rfc5782_test_point(answer.entry.where)) {
            out.stored_prefix.reset();
            out.record.reset();
        }
        out.why = "listed: " + listing_txt(answer.entry, {});
        return out;
    }
    if (out.allowed_by) {
        out.why = "not listed: " + format_prefix(*out.allowed_by) + " is allowlisted";
    } else if (out.record && covers_rfc5782_unlisted_point(*out.stored_prefix)) {
        out.why = "not listed: " + format_prefix(*out.stored_prefix) +
                  " covers ::ffff:127.0.0.1, which RFC 5782 says is never listed";
    } else if (out.record) {
        const auto& r = *out.record;
        if (r.rejected_ipv4s == 0 && r.manual_code == 0)
            // Associations alone do not list: one of the IPv4s must have been rejected.
            out.why = "not listed: no IPv4 sender associated with " +
                      format_prefix(*out.stored_prefix) + " was rejected by a DNSBL";
        else if (r.strength_milli < policy.min_strength_milli && r.manual_code == 0)
            out.why = "not listed: evidence for " + format_prefix(*out.stored_prefix) +
                      " is too weak (strength " + std::to_string(r.strength_milli) + " < " +
                      std::to_string(policy.min_strength_milli) + ")";
        else
            out.why =
                "not listed: the listing of " + format_prefix(*out.stored_prefix) + " has expired";
    } else {
        out.why = "not listed: no evidence";
    }
    return out;
}

bool reputation_store::journal_since(std::uint32_t since,
                                     const std::function<void(const journal_entry&)>& fn) const {
    auto& d = *impl_;
    std::unique_ptr<rocksdb::Iterator> it(
        d.db->NewIterator(rocksdb::ReadOptions(), d.cf[cf_journal]));
    it->Seek(be32(since + 1));
    if (since + 1 <= d.serial) {
        if (!it->Valid() ||
            from_be32(std::string_view(it->key().data(), it->key().size())) != since + 1)
            return false;  // trimmed: the caller must reload in full
    }
    for (; it->Valid(); it->Next()) {
        const std::uint32_t s = from_be32(std::string_view(it->key().data(), it->key().size()));
        if (s > d.serial) break;
        auto j = decode_journal(s, std::string_view(it->value().data(), it->value().size()));
        if (!j) return false;
        fn(*j);
    }
    return it->status().ok();  // a failed read: the caller reloads in full
}

void reputation_store::compact() {
    auto& d = *impl_;
    if (d.how != impl::mode::writer) throw store_error("store " + d.path + " is open read-only");
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    for (int which : {cf_listings, cf_wide, cf_evidence}) {
        auto s = d.db->CompactRange(co, d.cf[which], nullptr, nullptr);
        if (!s.ok()) d.fail("compact", s);
    }
}

std::string reputation_store::describe_levels() const {
    auto& d = *impl_;
    std::string out;
    for (int level = 0; level < 7; ++level) {
        std::string v;
        if (!d.db->GetProperty(d.cf[cf_listings],
                               "rocksdb.num-files-at-level" + std::to_string(level), &v))
            break;
        if (v == "0") continue;
        if (!out.empty()) out += ' ';
        out += "L" + std::to_string(level) + ":" + v;
    }
    return out.empty() ? "empty" : out;
}

std::uint64_t reputation_store::corrupt_records() const {
    return impl_->corrupt.load();
}
std::uint64_t reputation_store::reader_reopens() const {
    return impl_->reopens;
}
std::uint64_t reputation_store::incomplete_states() const {
    return impl_->incomplete;
}
const std::string& reputation_store::path() const {
    return impl_->path;
}

std::vector<prefix> lapsed_listings(const reputation_store& store, const listing_policy& policy,
                                    std::uint32_t since, std::uint32_t now, std::size_t limit) {
    std::vector<prefix> out;
    if (now <= since || limit == 0) return out;
    store.for_each_record([&](const prefix& p, const reputation_record& r) {
        // A manual listing that ends under an inferred one of the same code changes too:
        // its TXT, and it counts towards escalation from then on.
        if (listed_code(r, policy, since) != listed_code(r, policy, now) ||
            manual_in_force(r, policy, since) != manual_in_force(r, policy, now))
            out.push_back(p);
        return out.size() < limit;
    });
    return out;
}

std::shared_ptr<const listing_view> build_view(const reputation_store& store,
                                               const listing_policy& policy, std::uint32_t now) {
    listing_view_builder builder;
    // As the incremental refresh keeps them (server/view_refresher): a region entry and the
    // wide entry it shadows, so that the wide one answers once the region entry is gone.
    store.for_each_published(
        policy, now, [&](const listing_entry& e) { builder.add(e); }, true);
    for (const auto& h : store.published_holes()) builder.add_hole(h);
    return builder.finish(store.serial());
}

}  // namespace v6bl::store
