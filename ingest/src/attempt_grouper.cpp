// connect() attempt grouping with a lazily pruned expiry FIFO: O(1) per SYN.
#include "v6bl/ingest/attempt_grouper.h"

#include <cstring>

#include "state_codec.h"

namespace v6bl::ingest {

std::size_t attempt_grouper::key_hash::operator()(const key_t& k) const noexcept {
    std::uint64_t a, b;
    std::memcpy(&a, k.source.data(), 8);
    std::memcpy(&b, k.source.data() + 8, 8);
    std::uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull + k.port);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return static_cast<std::size_t>(h);
}

void attempt_grouper::advance(std::int64_t now_us, std::vector<connect_attempt>& closed) {
    while (!expiry_.empty() && expiry_.front().last_us + options_.window_us < now_us) {
        const expiry_t e = expiry_.front();
        expiry_.pop_front();
        const connect_attempt* a = open_.find(e.key);
        // A later SYN refreshed the attempt and queued a newer expiry: keep it open.
        if (!a || a->last_us != e.last_us) continue;
        closed.push_back(*a);
        open_.erase(e.key);
    }
}

void attempt_grouper::add(const syn_record& syn, std::vector<connect_attempt>& closed) {
    advance(syn.time_us, closed);
    const key_t key{syn.source, syn.source_port};
    auto [slot, inserted] = open_.try_emplace(key);
    connect_attempt& a = *slot;
    if (!inserted && syn.time_us - a.start_us > options_.max_span_us) {
        closed.push_back(a);
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
    expiry_.push_back({key, a.last_us});
}

void attempt_grouper::flush(std::vector<connect_attempt>& closed) {
    // Close in a deterministic order (the expiry FIFO's), whatever the hash map's order.
    while (!expiry_.empty()) {
        const expiry_t e = expiry_.front();
        expiry_.pop_front();
        const connect_attempt* a = open_.find(e.key);
        if (!a || a->last_us != e.last_us) continue;
        closed.push_back(*a);
        open_.erase(e.key);
    }
    open_.clear();
}

void attempt_grouper::save(std::string& out) const {
    state_writer w(out);
    w.put_u32(1);  // format version
    w.put_u64(expiry_.size());
    for (const auto& e : expiry_) w.put_pod(e);
    w.put_u64(open_.size());
    // Sorted by expiry order is not needed: restore rebuilds the map, order-free.
    open_.for_each([&](const key_t& k, const connect_attempt& a) {
        w.put_pod(k);
        w.put_pod(a);
    });
}

bool attempt_grouper::restore(std::string_view in) {
    state_reader r(in);
    open_.clear();
    expiry_.clear();
    if (r.get_u32() != 1) return false;
    const std::uint64_t n = r.get_u64();
    if (!r.fits(n, sizeof(expiry_t))) return false;
    for (std::uint64_t i = 0; i < n; ++i) expiry_.push_back(r.get_pod<expiry_t>());
    const std::uint64_t m = r.get_u64();
    if (!r.fits(m, sizeof(key_t) + sizeof(connect_attempt))) return false;
    for (std::uint64_t i = 0; i < m; ++i) {
        const auto k = r.get_pod<key_t>();
        open_[k] = r.get_pod<connect_attempt>();
    }
    return r.ok();
}

}  // namespace v6bl::ingest
