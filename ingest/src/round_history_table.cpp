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
        return {true, true, 1, start_us, e};
    }
    const std::int64_t last = std::max(e->last_us(), last_us);
    if (start_us - e->newest_us < round_gap_us) {
        e->last_delta_us = clamp_delta(last - e->newest_us);
        return {false, false, e->rounds, e->newest_us, e};
    }
    // A further round: the ring takes it (created from the inline round on the second);
    // a full ring drops its oldest round.
    auto [r, fresh] = rings_.try_emplace(a);
    if (fresh) {
        r->start_us[0] = e->newest_us;
        r->port[0] = e->newest_port;
        r->count = 1;
        r->total_rounds = 1;
    }
    if (r->count == max_rounds) {
        std::copy(r->start_us + 1, r->start_us + max_rounds, r->start_us);
        std::copy(r->port + 1, r->port + max_rounds, r->port);
        --r->count;
    }
    r->start_us[r->count] = start_us;
    r->port[r->count] = port;
    ++r->count;
    ++r->total_rounds;
    e->newest_us = start_us;
    e->newest_port = port;
    e->rounds = r->count;
    e->last_delta_us = clamp_delta(last - start_us);
    return {true, false, e->rounds, start_us, e};
}

round_history_table::rounds_view round_history_table::rounds_of(const entry& e) const {
    if (e.rounds <= 1) return {&e.newest_us, &e.newest_port, 1, 1};
    const ring* r = rings_.find(e.address);
    if (!r) return {};  // cannot happen: restore() refuses such an entry
    return {r->start_us, r->port, r->count, r->total_rounds};
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
    if (r && (r->count != e.rounds || r->start_us[r->count - 1] != e.newest_us)) return false;
    bool inserted = false;
    entry* s = slot_for(e.address, hash(e.address), inserted);
    *s = e;
    if (r) *rings_.try_emplace(e.address).first = *r;
    return true;
}

}  // namespace v6bl::ingest
