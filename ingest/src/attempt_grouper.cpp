// connect() attempt grouping with a lazily pruned expiry FIFO: O(1) per SYN, no lookups
// to expire.
#include "v6bl/ingest/attempt_grouper.h"

#include <cstring>

#include "state_codec.h"

namespace v6bl::ingest {
namespace {

std::uint64_t key_hash(const address_bytes& source, std::uint16_t port) {
    std::uint64_t a, b;
    std::memcpy(&a, source.data(), 8);
    std::memcpy(&b, source.data() + 8, 8);
    std::uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull + port);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return h;
}

}  // namespace

std::uint32_t attempt_grouper::find_or_open(const key_t& key, bool& inserted) {
    if ((open_count_ + 1) * 2 > map_.size()) map_grow();  // load <= 0.5: short probes
    const auto tag = static_cast<std::uint32_t>(key_hash(key.source, key.port));
    std::size_t i = tag & map_mask_;
    for (; map_[i].index_plus_1; i = (i + 1) & map_mask_) {
        if (map_[i].tag != tag) continue;
        // The tag is 32 bits of the hash: the attempt itself says whether this is the key.
        const std::uint32_t index = map_[i].index_plus_1 - 1;
        const connect_attempt& a = arena_[index].a;
        if (a.source_port == key.port &&
            std::memcmp(a.source.data(), key.source.data(), key.source.size()) == 0) {
            inserted = false;
            return index;
        }
    }
    std::uint32_t index;
    if (!free_.empty()) {
        index = free_.back();
        free_.pop_back();
    } else {
        index = static_cast<std::uint32_t>(arena_.size());
        arena_.emplace_back();
    }
    open_attempt& o = arena_[index];
    ++o.generation;
    o.live = 1;
    // The caller fills in the attempt (its key included) before anything else reads it.
    map_[i] = map_slot{tag, index + 1};
    ++open_count_;
    inserted = true;
    return index;
}

void attempt_grouper::map_erase(const key_t& key, std::uint32_t index) {
    std::size_t i = static_cast<std::uint32_t>(key_hash(key.source, key.port)) & map_mask_;
    for (;; i = (i + 1) & map_mask_) {
        if (!map_[i].index_plus_1) return;
        if (map_[i].index_plus_1 == index + 1) break;
    }
    // Backward-shift deletion: no tombstones, probe chains stay short. A slot's home is
    // in its tag, so nothing is hashed again.
    for (std::size_t j = (i + 1) & map_mask_; map_[j].index_plus_1; j = (j + 1) & map_mask_) {
        const std::size_t home = map_[j].tag & map_mask_;
        if (((j - home) & map_mask_) >= ((j - i) & map_mask_)) {
            map_[i] = map_[j];
            i = j;
        }
    }
    map_[i] = map_slot{};
}

void attempt_grouper::map_grow() {
    std::vector<map_slot> old = std::move(map_);
    const std::size_t cap = old.empty() ? 1024 : old.size() * 2;
    map_.assign(cap, map_slot{});
    map_mask_ = cap - 1;
    for (const map_slot& s : old) {
        if (!s.index_plus_1) continue;
        std::size_t j = s.tag & map_mask_;
        while (map_[j].index_plus_1) j = (j + 1) & map_mask_;
        map_[j] = s;
    }
}

void attempt_grouper::close(std::uint32_t index, std::vector<connect_attempt>& closed) {
    open_attempt& o = arena_[index];
    closed.push_back(o.a);
    map_erase({o.a.source, o.a.source_port}, index);
    o.live = 0;
    free_.push_back(index);
    --open_count_;
}

// How far ahead in the expiry queue an attempt is asked for: closing reads it ~25 s (of
// capture) after its last SYN, long out of the caches.
constexpr std::size_t expiry_prefetch_distance = 8;

void attempt_grouper::advance(std::int64_t now_us, std::vector<connect_attempt>& closed) {
    while (!expiry_.empty() && expiry_.front().last_us + options_.window_us < now_us) {
        if (expiry_.size() > expiry_prefetch_distance)
            __builtin_prefetch(&arena_[expiry_[expiry_prefetch_distance].index]);
        const expiry_t e = expiry_.front();
        expiry_.pop_front();
        const open_attempt& o = arena_[e.index];
        // A later SYN refreshed the attempt and queued a newer expiry: keep it open.
        if (!o.live || o.generation != e.generation || o.a.last_us != e.last_us) continue;
        close(e.index, closed);
    }
}

void attempt_grouper::add(const syn_record& syn, std::vector<connect_attempt>& closed) {
    advance(syn.time_us, closed);
    bool inserted = false;
    const std::uint32_t index = find_or_open({syn.source, syn.source_port}, inserted);
    open_attempt& o = arena_[index];
    connect_attempt& a = o.a;
    // A SYN past the window of the attempt's last SYN starts a new one, also when the
    // attempt is still open because an earlier entry (out of order) holds up the FIFO.
    if (!inserted && (syn.time_us - a.start_us > options_.max_span_us ||
                      syn.time_us - a.last_us > options_.window_us)) {
        closed.push_back(a);
        ++o.generation;  // a new attempt in the same slot: the old one's entries are stale
        inserted = true;
    }
    if (inserted) {
        a = connect_attempt{};
        a.start_us = syn.time_us;
        a.source = syn.source;
        a.family = syn.family;
        a.source_port = syn.source_port;
        a.ttl_class = initial_ttl_class(syn.ttl);
        a.os = classify_os(a.ttl_class, syn.options);
        a.window = syn.window;
        a.options = syn.options;
    }
    // Captures can be slightly out of order (multi-queue NICs); never move time backwards.
    if (syn.time_us > a.last_us) a.last_us = syn.time_us;
    if (a.syn_count < 0xFFFF) ++a.syn_count;
    expiry_.push_back({index, o.generation, a.last_us});
}

void attempt_grouper::flush(std::vector<connect_attempt>& closed) {
    // Close in a deterministic order (the expiry FIFO's), whatever the map's order. Every
    // open attempt has a current entry (the one its latest SYN queued).
    while (!expiry_.empty()) {
        const expiry_t e = expiry_.front();
        expiry_.pop_front();
        const open_attempt& o = arena_[e.index];
        if (!o.live || o.generation != e.generation || o.a.last_us != e.last_us) continue;
        close(e.index, closed);
    }
    arena_.clear();
    free_.clear();
    map_.clear();
    map_mask_ = 0;
    open_count_ = 0;
}

void attempt_grouper::save(std::string& out) const {
    state_writer w(out);
    w.put_u32(2);  // format version
    w.put_u64(arena_.size());
    for (const auto& o : arena_) w.put_pod(o);
    w.put_u64(expiry_.size());
    for (std::size_t i = 0; i < expiry_.size(); ++i) w.put_pod(expiry_[i]);
}

bool attempt_grouper::restore(std::string_view in) {
    state_reader r(in);
    *this = attempt_grouper(options_);
    if (r.get_u32() != 2) return false;
    const std::uint64_t n = r.get_u64();
    if (!r.fits(n, sizeof(open_attempt)) || n > 0xFFFFFFFFu) return false;
    arena_.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) arena_.push_back(r.get_pod<open_attempt>());
    const std::uint64_t m = r.get_u64();
    if (!r.fits(m, sizeof(expiry_t))) return false;
    for (std::uint64_t i = 0; i < m; ++i) {
        const auto e = r.get_pod<expiry_t>();
        if (e.index >= arena_.size()) {
            *this = attempt_grouper(options_);
            return false;
        }
        expiry_.push_back(e);
    }
    if (!r.ok()) {
        *this = attempt_grouper(options_);
        return false;
    }
    // The map and the free list are derived from the arena.
    for (std::uint32_t i = static_cast<std::uint32_t>(arena_.size()); i-- > 0;) {
        if (!arena_[i].live) {
            free_.push_back(i);
            continue;
        }
        if ((open_count_ + 1) * 2 > map_.size()) map_grow();
        const connect_attempt& a = arena_[i].a;
        const auto tag = static_cast<std::uint32_t>(key_hash(a.source, a.source_port));
        std::size_t j = tag & map_mask_;
        while (map_[j].index_plus_1) j = (j + 1) & map_mask_;
        map_[j] = map_slot{tag, i + 1};
        ++open_count_;
    }
    return true;
}

}  // namespace v6bl::ingest
