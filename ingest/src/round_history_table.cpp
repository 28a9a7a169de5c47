// Compact retry-round histories: open addressing over 32-byte slots, rings in a pool on the
// side, dead entries reused by insertions and erased by a sweep.
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
        if (same_address(e.address, a)) return dead(e) ? nullptr : &e;
    }
}

void round_history_table::prefetch_ring_of(const address_bytes& a, std::uint64_t h) const {
    if (slots_.empty()) return;
    const std::size_t i = h & mask_;
    // The slot and, when the home slot is the first of its line, the other one on it (the
    // table is a power of two of slots, 1024 or more: i | 1 is in it; a table below 4 MiB
    // is not line-aligned, where that slot may be on the next line, which costs nothing).
    for (std::size_t j = i; j <= (i | 1); ++j) {
        const entry& e = slots_[j];
        if (!e.rounds) return;
        if (same_address(e.address, a)) {
            prefetch_ring(e);
            return;
        }
    }
}

round_history_table::entry* round_history_table::slot_for(const address_bytes& a, std::uint64_t h,
                                                          bool& inserted) {
    if ((size_ + 1) * 8 > slots_.size() * 5) grow();  // load factor <= 0.625
    // The first dead slot of the probe chain takes a new address once the chain shows
    // that the address is not further on.
    std::size_t reuse = slots_.size();
    std::size_t i = h & mask_;
    for (; slots_[i].rounds; i = (i + 1) & mask_) {
        entry& e = slots_[i];
        if (same_address(e.address, a)) {
            inserted = dead(e);
            if (inserted) {
                release_ring(e);
                e = entry{};
                e.address = a;
            }
            return &e;
        }
        if (reuse == slots_.size() && dead(e)) reuse = i;
    }
    inserted = true;
    if (reuse != slots_.size()) {
        entry& e = slots_[reuse];
        release_ring(e);
        e = entry{};
        e.address = a;
        return &e;
    }
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
        counted_in(*e);
        return {true, true, 1, start_us, e};
    }
    const std::int64_t quiet = start_us - e->last_us();
    const std::int64_t last = std::max(e->last_us(), last_us);
    if (start_us - e->newest_us < round_gap_us) {
        count_out(*e);  // (both no-ops but for a one-round address)
        e->last_delta_us = clamp_delta(last - e->newest_us);
        counted_in(*e);
        return {false, false, e->rounds, e->newest_us, e};
    }
    // A further round: the ring takes it (created from the inline round on the second);
    // a full ring drops its oldest round.
    ring* r = nullptr;
    if (e->rounds > 1) {
        r = &rings_[ring_index(*e)];
    } else {
        count_out(*e);  // one round no more, or one anew (below)
        r = take_ring(*e);
        if (!r) {
            // The pool is full: the history starts over with this round.
            ++rounds_restarted_;
            e->newest_us = start_us;
            e->newest_port = port;
            e->last_delta_us = clamp_delta(last - start_us);
            counted_in(*e);
            return {true, true, 1, start_us, e, quiet};
        }
    }
    r->span_us[r->count - 1] = e->last_delta_us;  // the round that ends here
    if (r->count == max_rounds) {
        std::copy(r->start_us + 1, r->start_us + max_rounds, r->start_us);
        std::copy(r->port + 1, r->port + max_rounds, r->port);
        std::copy(r->span_us + 1, r->span_us + max_rounds, r->span_us);
        --r->count;
    }
    r->start_us[r->count] = start_us;
    r->port[r->count] = port;
    ++r->count;
    ++r->total_rounds;
    e->newest_us = start_us;
    e->rounds = r->count;
    e->last_delta_us = clamp_delta(last - start_us);
    return {true, false, e->rounds, start_us, e, quiet};
}

round_history_table::ring* round_history_table::take_ring(entry& e) {
    std::uint32_t i;
    if (!free_rings_.empty()) {
        i = free_rings_.back();
        free_rings_.pop_back();
    } else if (ring_count_ < ring_limit_) {
        i = static_cast<std::uint32_t>(ring_count_);
        if (ring_count_ == rings_.size())
            rings_.grow(
                std::min<std::size_t>(ring_limit_, std::max<std::size_t>(256, 2 * ring_count_)));
        ++ring_count_;
    } else {
        return nullptr;
    }
    ring& r = rings_[i];
    r = ring{};
    r.start_us[0] = e.newest_us;
    r.port[0] = e.newest_port;
    r.count = 1;
    r.total_rounds = 1;
    set_ring_index(e, i);
    return &r;
}

round_history_table::rounds_view round_history_table::rounds_of(const entry& e) const {
    if (e.rounds <= 1)
        return {&e.newest_us, &e.newest_port, 1, 1, &e.last_delta_us, e.last_delta_us};
    const ring& r = rings_[ring_index(e)];
    return {r.start_us, r.port, r.count, r.total_rounds, r.span_us, e.last_delta_us};
}

void round_history_table::erase_at(std::size_t i) {
    release_ring(slots_[i]);
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

void round_history_table::sweep(std::size_t slots) {
    if (size_ == 0) return;
    // Locals, not members: an erase writes slots, which the compiler must otherwise assume
    // can change the cursor and the bounds (each step stored and reloaded them).
    std::size_t at = sweep_at_ >= slots_.size() ? 0 : sweep_at_;
    const std::size_t mask = mask_;
    const entry* s = slots_.begin();
    const std::int64_t single_before = single_before_us_, multi_before = multi_before_us_;
    // An erase can shift a later entry into the slot just looked at: it is looked at again
    // (and counts against `slots` again, which bounds the loop).
    for (; slots > 0; --slots) {
        const entry& e = s[at];
        if (e.rounds && dead(e, single_before, multi_before))
            erase_at(at);
        else
            at = (at + 1) & mask;
    }
    sweep_at_ = at;
}

std::size_t round_history_table::live_size() const {
    std::size_t n = 0;
    for (const entry& e : slots_)
        if (e.rounds && !dead(e)) ++n;
    return n;
}

void round_history_table::clear() {
    slots_.release();
    size_ = 0;
    mask_ = 0;
    sweep_at_ = 0;
    rings_.release();
    ring_count_ = 0;
    std::vector<std::uint32_t>().swap(free_rings_);
    reset_single_counts();
}

void round_history_table::reset_single_counts() {
    single_counted_ = 0;
    // Only a finite one-round horizon (a day at most) gives the seconds counted a bound.
    constexpr std::int64_t longest_us = 24LL * 3600 * 1'000'000;
    if (single_limit_ == 0 || single_horizon_us_ > longest_us || single_horizon_us_ < 0) {
        std::vector<std::uint32_t>().swap(single_counts_);
        return;
    }
    // A counted entry's last attempt is at most 0xFFFFFFFF us (clamp_delta) after its
    // round's start, which is at most the clock: the seconds from the first counted one
    // to the clock's, plus 4,295 more, fit (a power of two: the index is a mask).
    std::size_t n = 1;
    while (n < static_cast<std::size_t>(single_horizon_us_ / 1'000'000) + 4'400) n *= 2;
    single_counts_.assign(n, 0);
    first_counted_s_ = ceil_second(single_before_us_);
    for (const entry& e : slots_)
        if (e.rounds == 1 && !dead(e)) count_in(e);
}

void round_history_table::move_first_counted(std::int64_t first_s) {
    if (first_s <= first_counted_s_) return;
    const auto n = static_cast<std::int64_t>(single_counts_.size());
    for (std::int64_t s = first_counted_s_; s < first_s && s < first_counted_s_ + n; ++s) {
        std::uint32_t& c = single_counts_[count_index(s)];
        single_counted_ -= c;
        c = 0;
    }
    first_counted_s_ = first_s;
}

void round_history_table::shed_singles() {
    // Whole seconds, oldest first, and none of the last protected_us before the clock.
    const std::int64_t last_s = floor_second(clock_us_ - protected_us);
    std::int64_t s = first_counted_s_;
    for (; single_counted_ > single_limit_ && s < last_s; ++s) {
        std::uint32_t& c = single_counts_[count_index(s)];
        single_counted_ -= c;
        forgotten_early_ += c;
        c = 0;
    }
    if (s == first_counted_s_) return;
    first_counted_s_ = s;
    pressure_before_us_ = s * 1'000'000;
    set_clock(clock_us_);  // (the first second counted is s already)
}

void round_history_table::reserve(std::size_t n) {
    std::size_t cap = slots_.empty() ? 1024 : slots_.size();
    while (n * 8 > cap * 5) cap *= 2;
    if (cap != slots_.size()) rehash(cap);
}

void round_history_table::grow() {
    // Dead entries are dropped on the way, so only live ones decide the new size: a table
    // that is mostly dead is rebuilt at the same size.
    std::size_t live = 0;
    for (const entry& e : slots_)
        if (e.rounds && !dead(e)) ++live;
    const std::size_t cap = slots_.empty()     ? 1024
                            : live * 2 > size_ ? slots_.size() * 2
                                               : slots_.size();
    rehash(cap);
}

void round_history_table::rehash(std::size_t cap) {
    const std::size_t old = slots_.size();
    slots_.grow(cap, entry{});
    mask_ = cap - 1;
    sweep_at_ = 0;
    size_ = rehash_in_place(
        slots_, old, [](const entry& e) { return e.rounds != 0; },
        [this](const entry& e) {
            if (!dead(e)) return true;
            release_ring(e);
            return false;
        },
        [](const entry& e) { return hash(e.address); });
}

bool round_history_table::restore(const entry& e, const ring* r) {
    if (e.rounds == 0 || e.rounds > max_rounds) return false;
    if ((e.rounds > 1) != (r != nullptr)) return false;
    if (r && (r->count != e.rounds || r->start_us[r->count - 1] != e.newest_us ||
              r->port[r->count - 1] != e.newest_port))
        return false;
    bool inserted = false;
    entry* s = slot_for(e.address, hash(e.address), inserted);
    if (!inserted) count_out(*s);
    release_ring(*s);  // the address twice in a checkpoint: the later one stands
    *s = e;
    s->ring_high = 0;
    // Counted without shedding: the run that wrote the checkpoint sheds only when an add
    // leaves an address at one round, so the restored table must hold what it held, even
    // past the bound, until the next such add.
    if (!r) {
        count_in(*s);
        return true;
    }
    if (ring* mine = take_ring(*s)) {
        *mine = *r;
    } else {
        ++rounds_restarted_;
        s->rounds = 1;  // the pool is full: the newest round stands alone
        count_in(*s);
    }
    return true;
}

}  // namespace v6bl::ingest
