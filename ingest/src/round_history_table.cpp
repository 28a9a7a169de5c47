// Compact retry-round histories: open addressing over 32-byte slots, rings on the side.
#include "v6bl/ingest/round_history_table.h"

#include <algorithm>
#include <cstring>

namespace v6bl::ingest {
namespace {

bool same_address(const address_bytes& a, const address_bytes& b) {
    return std::memcmp(a.data(), b.data(), a.size()) == 0;
}

std::uint32_t clamp_delta(std::int64_t d) {
    // last − newest lies in [0, 180 s] by construction (an attempt spans at most 120 s and
    // joins a round that started less than 60 s before it); clamp rather than wrap.
    if (d < 0) return 0;
    return d > 0xFFFFFFFFLL ? 0xFFFFFFFFu : static_cast<std::uint32_t>(d);
}

}  // namespace

const round_history_table::entry* round_history_table::find(const address_bytes& a,
                                                            std::uint64_t h) const {
    if (size_ == 0) return nullptr;
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
        const entry& e = slots_[i];
        if (!e.rounds) return nullptr;
        if (same_address(e.address, a)) return &e;
    }
}

round_history_table::entry* round_history_table::slot_for(const address_bytes& a, std::uint64_t h,
                                                          bool& inserted) {
    if ((size_ + 1) * 8 > slots_.size() * 5) grow();  // load factor <= 0.625
    std::size_t i = h & mask_;
    for (; slots_[i].rounds; i = (i + 1) & mask_)
        if (same_address(slots_[i].address, a)) {
            inserted = false;
            return &slots_[i];
        }
    inserted = true;
    ++size_;
    slots_[i].address = a;
    return &slots_[i];
}

round_history_table::add_result round_history_table::add(const address_bytes& a, std::uint64_t h,
                                                         std::int64_t start_us,
                                                         std::int64_t last_us, std::uint16_t port,
                                                         std::int64_t round_gap_us) {
    bool inserted = false;
    entry* e = slot_for(a, h, inserted);
    if (inserted) {
        e->newest_us = start_us;
        e->newest_port = port;
        e->rounds = 1;
        e->last_delta_us = clamp_delta(last_us - start_us);
        return {true, true, 1, start_us};
    }
    const std::int64_t last = std::max(e->last_us(), last_us);
    if (start_us - e->newest_us < round_gap_us) {
        e->last_delta_us = clamp_delta(last - e->newest_us);
        return {false, false, e->rounds, e->newest_us};
    }
    // A further round: the ring takes it (created from the inline round on the second).
    auto [r, fresh] = rings_.try_emplace(a);
    if (fresh) {
        r->start_us[0] = e->newest_us;
        r->port[0] = e->newest_port;
        r->count = 1;
        r->head = 1;
        r->total_rounds = 1;
    }
    r->start_us[r->head] = start_us;
    r->port[r->head] = port;
    r->head = static_cast<std::uint8_t>((r->head + 1) % max_rounds);
    if (r->count < max_rounds) ++r->count;
    ++r->total_rounds;
    e->newest_us = start_us;
    e->newest_port = port;
    e->rounds = r->count;
    e->last_delta_us = clamp_delta(last - start_us);
    return {true, false, e->rounds, start_us};
}

void round_history_table::rounds_of(const entry& e, rounds_view& out) const {
    if (e.rounds <= 1) {
        out.count = 1;
        out.start_us[0] = e.newest_us;
        out.port[0] = e.newest_port;
        out.total_rounds = 1;
        return;
    }
    const ring* r = rings_.find(e.address);
    if (!r) {  // cannot happen: restore() refuses such an entry
        out.count = 0;
        out.total_rounds = 0;
        return;
    }
    const int n = r->count;
    for (int i = 0; i < n; ++i) {
        const int idx = (r->head - n + i + max_rounds * 2) % max_rounds;
        out.start_us[i] = r->start_us[idx];
        out.port[i] = r->port[idx];
    }
    out.count = n;
    out.total_rounds = r->total_rounds;
}

std::uint32_t round_history_table::total_rounds(const entry& e) const {
    if (e.rounds <= 1) return 1;
    const ring* r = rings_.find(e.address);
    return r ? r->total_rounds : 0;
}

void round_history_table::erase(const address_bytes& a, std::uint64_t h) {
    if (size_ == 0) return;
    std::size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
        if (!slots_[i].rounds) return;
        if (same_address(slots_[i].address, a)) break;
    }
    if (slots_[i].rounds > 1) rings_.erase(a);
    // Backward-shift deletion: no tombstones, probe chains stay short.
    for (std::size_t j = (i + 1) & mask_; slots_[j].rounds; j = (j + 1) & mask_) {
        const std::size_t home = hash(slots_[j].address) & mask_;
        if (((j - home) & mask_) >= ((j - i) & mask_)) {
            slots_[i] = slots_[j];
            i = j;
        }
    }
    slots_[i] = entry{};
    --size_;
}

void round_history_table::clear() {
    std::vector<entry>().swap(slots_);
    size_ = 0;
    mask_ = 0;
    rings_.clear();
}

void round_history_table::reserve(std::size_t n) {
    while (n * 8 > slots_.size() * 5) grow();
}

void round_history_table::grow() {
    std::vector<entry> old = std::move(slots_);
    const std::size_t cap = old.empty() ? 1024 : old.size() * 2;
    slots_.assign(cap, entry{});
    mask_ = cap - 1;
    for (const entry& e : old) {
        if (!e.rounds) continue;
        std::size_t j = hash(e.address) & mask_;
        while (slots_[j].rounds) j = (j + 1) & mask_;
        slots_[j] = e;
    }
}

bool round_history_table::restore(const entry& e, const ring* r) {
    if (e.rounds == 0 || e.rounds > max_rounds) return false;
    if ((e.rounds > 1) != (r != nullptr)) return false;
    if (r && (r->count != e.rounds || r->head >= max_rounds)) return false;
    bool inserted = false;
    entry* s = slot_for(e.address, hash(e.address), inserted);
    *s = e;
    if (r) *rings_.try_emplace(e.address).first = *r;
    return true;
}

}  // namespace v6bl::ingest
