// Retry-round histories per source address: 32-byte slots, older rounds kept in a pool on
// the side, expired lazily against a capture-time clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "v6bl/ingest/huge_array.h"
#include "v6bl/ingest/syn_record.h"

namespace v6bl::ingest {

// The engine looks up a history for every attempt and for every candidate it scores; at a
// busy sensor the table holds ~0.5M addresses, nearly all seen on one round only, so each
// lookup is a cache miss and the slot size decides how many of them the caches absorb.
// A slot holds the address and its newest round in 32 bytes (two per cache line); the
// full ring of an address seen on several rounds lives in a pool on the side, named by its
// index in the slot, that only new rounds and the scoring of repeat rounds read. Callers pass the
// address's hash so that it is computed once per attempt and can be used to prefetch the slot ahead
// of the lookup.
//
// Expiry is lazy. An address quiet for longer than its horizon (one for addresses seen on
// one round, a longer one for several) before the table's clock is *dead*: find() does not
// see it, add() starts it anew, an insertion may take its slot, and sweep() erases dead
// entries a stretch of slots at a time, in slot order. Erasing each address when it came
// due cost a lookup (a cache miss) and an erase per round at a busy sensor, ~4M a run.
class round_history_table {
  public:
    static constexpr int max_rounds = 8;  // the last rounds kept per address

    struct entry {
        address_bytes address;
        std::int64_t newest_us = 0;       // start of the newest round
        std::uint32_t last_delta_us = 0;  // latest SYN of any attempt − newest_us
        // One round: the source port of the round's first attempt. Several rounds: bits
        // 0-15 of the index of the address's ring in the pool (which has the newest port).
        // Checkpoints see the port either way (for_each).
        std::uint16_t newest_port = 0;
        std::uint8_t rounds = 0;     // rounds kept (1..max_rounds); 0 marks a free slot
        std::uint8_t ring_high = 0;  // several rounds: bits 16-23 of the ring's index
        std::int64_t last_us() const { return newest_us + last_delta_us; }
    };
    static_assert(sizeof(entry) == 32);
    // Rings the pool can hold at once (a 24-bit index), those of live histories and of dead
    // ones not yet swept (at most about half an hour's). Past that, an address that would
    // need a ring starts its history over with its new round (rounds_restarted() counts
    // them): 16.7M addresses with several rounds inside the 3 h horizon is about 2 GB of
    // rings, far beyond any sensor measured.
    static constexpr std::uint32_t max_rings = 1u << 24;

    // The rounds of an address seen on more than one round, oldest first (round starts
    // strictly increase: a new round starts round_gap after the newest).
    struct ring {
        std::int64_t start_us[max_rounds] = {};
        std::uint16_t port[max_rounds] = {};
        // How long each round lasted: the address's latest SYN while it was the newest
        // round − its start (an attempt of the round before that still retransmitting, up
        // to 120 s, counts too). The newest round's is the entry's last_delta_us (attempts
        // joining a round do not touch the ring), written here when the next round comes.
        std::uint32_t span_us[max_rounds] = {};
        std::uint8_t count = 0;
        std::uint32_t total_rounds = 0;  // since the address was first kept
    };

    // Rounds of one address, oldest first, read in place: valid until the table changes.
    struct rounds_view {
        const std::int64_t* start_us = nullptr;
        const std::uint16_t* port = nullptr;
        int count = 0;
        std::uint32_t total_rounds = 0;
        // Each round's span but the newest's (span[count - 1] is not read), and the newest's.
        const std::uint32_t* span_us = nullptr;
        std::uint32_t newest_span_us = 0;
        std::int64_t span_of(int i) const { return i == count - 1 ? newest_span_us : span_us[i]; }
    };

    struct add_result {
        bool new_round = false;
        bool only_round = false;         // the new round is the address's first and only one
        int rounds = 0;                  // rounds kept after the attempt
        std::int64_t round_us = 0;       // start of the round the attempt belongs to
        const entry* history = nullptr;  // the address's (valid until the table changes)
        // A new round: how long the address was quiet before it (its attempts' latest SYN
        // to this start); INT64_MAX for its first round.
        std::int64_t quiet_us = INT64_MAX;
    };

    static std::uint64_t hash(const address_bytes& a) { return address_hash{}(a); }

    // Addresses seen on one round are dead `single_us` after their last attempt, others
    // `multi_us` after it.
    void set_horizons(std::int64_t single_us, std::int64_t multi_us) {
        single_horizon_us_ = single_us;
        multi_horizon_us_ = multi_us;
        set_clock(clock_us_);
        reset_single_counts();
    }
    // About `n` addresses seen on one round only are kept alive at most (0: no bound; none
    // either when the one-round horizon is negative or over a day). Past it, those whose
    // last attempt is oldest die early, a whole second of them at a time, as if the
    // one-round horizon were shorter (the count leaves out the second the threshold falls
    // in, so up to one second's addresses more stay, and go uncounted): a flood
    // of spoofed sources, each seen once, otherwise keeps a slot for each for the whole
    // horizon (45 minutes: 2 GiB at 10k new addresses a second). Addresses seen in the
    // last `protected_us` before the clock are never forgotten early (the engine still
    // reads them): a flood of more than n new addresses in that long passes the bound.
    // Which addresses die is decided by the counts of addresses by the second of their
    // last attempt, which a restored table rebuilds from its live entries, and by the
    // raised threshold, which the checkpoint keeps (pressure_before_us()).
    static constexpr std::int64_t protected_us = 60'000'000;
    void set_single_limit(std::size_t n) {
        single_limit_ = n;
        reset_single_counts();
    }
    // One-round addresses forgotten early for the bound (since this table was made).
    std::uint64_t forgotten_early() const { return forgotten_early_; }
    // The raised threshold (INT64_MIN / 4 when the bound never acted): one-round addresses
    // whose last attempt is before it are dead. Restored before the entries.
    std::int64_t pressure_before_us() const { return pressure_before_us_; }
    void restore_pressure_before(std::int64_t before_us) {
        pressure_before_us_ = before_us;
        set_clock(clock_us_);
    }
    // Capture time now (only ever moves forward): what is dead is decided against it.
    void advance_clock(std::int64_t now_us) {
        if (now_us > clock_us_) set_clock(now_us);
    }
    std::int64_t clock() const { return clock_us_; }
    bool dead(const entry& e) const { return dead(e, single_before_us_, multi_before_us_); }
    // The same against given bounds (sweep() keeps them in locals).
    static bool dead(const entry& e, std::int64_t single_before_us, std::int64_t multi_before_us) {
        return e.last_us() < (e.rounds > 1 ? multi_before_us : single_before_us);
    }

    // The home slot's line and the next one: a probe, and the backward shift of an erase,
    // usually end there.
    void prefetch(std::uint64_t h) const {
        if (slots_.empty()) return;
        const std::size_t i = h & mask_;
        __builtin_prefetch(&slots_[i]);
    }
    const entry* find(const address_bytes& a, std::uint64_t h) const;
    // Records an attempt of `a` (start, latest SYN, source port): a new round when it starts
    // `round_gap_us` or more after the address's newest round, else part of that round.
    add_result add(const address_bytes& a, std::uint64_t h, std::int64_t start_us,
                   std::int64_t last_us, std::uint16_t port, std::int64_t round_gap_us);
    rounds_view rounds_of(const entry& e) const;
    // Scoring reads the rings of the candidates it found: ask for them first. A ring (120
    // bytes) spans two or three cache lines; these three fields are on every one of them.
    void prefetch_ring(const entry& e) const {
        if (e.rounds <= 1) return;
        const ring& r = rings_[ring_index(e)];
        __builtin_prefetch(r.start_us);
        __builtin_prefetch(r.port);
        __builtin_prefetch(&r.total_rounds);
    }
    // The ring add() will write for an address seen on several rounds, asked for once the
    // slot prefetch() asked for has come in: a new round of such an address writes its ring,
    // a line (or three) elsewhere in the pool. Looks only at the slots the slot's line
    // holds, the usual end of a probe; an address further on is not prefetched.
    void prefetch_ring_of(const address_bytes& a, std::uint64_t h) const;
    // Erases the dead entries among the next `slots` slots (from where the last sweep
    // stopped, wrapping around).
    void sweep(std::size_t slots);

    // Slots in use, dead ones included (what the table's memory holds).
    std::size_t size() const { return size_; }
    std::size_t capacity() const { return slots_.size(); }
    // Live addresses (a scan: for tests and reports).
    std::size_t live_size() const;
    std::size_t multi_round_size() const { return ring_count_ - free_rings_.size(); }
    // Histories started over because the ring pool was full (see max_rings).
    std::uint64_t rounds_restarted() const { return rounds_restarted_; }
    // Lowers the pool's limit (tests: the behaviour at max_rings without 2 GB of rings).
    void set_ring_limit(std::uint32_t n) { ring_limit_ = n < max_rings ? n : max_rings; }
    void clear();
    void reserve(std::size_t n);

    // Checkpoints: every live entry with its ring (nullptr for a single-round address), and
    // the way back in. The entry handed out holds the newest port whatever its rounds (not
    // a ring index: the bytes a checkpoint keeps do not depend on where the ring was).
    template <typename Fn>  // fn(const entry&, const ring*)
    void for_each(Fn&& fn) const {
        for (const entry& e : slots_) {
            if (!e.rounds || dead(e)) continue;
            if (e.rounds == 1) {
                fn(e, nullptr);
                continue;
            }
            const ring& r = rings_[ring_index(e)];
            entry out = e;
            out.newest_port = r.port[r.count - 1];
            out.ring_high = 0;
            fn(out, &r);
        }
    }
    // Takes an entry as for_each() hands it out. Returns false for an inconsistent one (a
    // multi-round entry without its ring, or with a ring that disagrees with it).
    bool restore(const entry& e, const ring* r);

  private:
    static std::uint32_t ring_index(const entry& e) {
        return e.newest_port | (std::uint32_t{e.ring_high} << 16);
    }
    static void set_ring_index(entry& e, std::uint32_t i) {
        e.newest_port = static_cast<std::uint16_t>(i);
        e.ring_high = static_cast<std::uint8_t>(i >> 16);
    }
    // A ring from the pool (nullptr when it is full), and back.
    ring* take_ring(entry& e);
    void release_ring(const entry& e) {
        if (e.rounds > 1) free_rings_.push_back(ring_index(e));
    }
    entry* slot_for(const address_bytes& a, std::uint64_t h, bool& inserted);
    void erase_at(std::size_t i);
    void grow();
    void rehash(std::size_t cap);
    void set_clock(std::int64_t now_us) {
        clock_us_ = now_us;
        single_before_us_ = now_us - single_horizon_us_;
        if (pressure_before_us_ > single_before_us_) single_before_us_ = pressure_before_us_;
        multi_before_us_ = now_us - multi_horizon_us_;
        if (!single_counts_.empty()) move_first_counted(ceil_second(single_before_us_));
    }

    // The bound of one-round addresses. single_counts_[s & (size - 1)] counts the live
    // one-round entries whose last attempt fell in second s, for the seconds from
    // first_counted_s_ on: the first whole second after single_before_us_, so that every
    // entry counted is alive (those alive in the partial second before it are not
    // counted). An entry
    // is counted out as it was counted in (its rounds and last attempt before a change);
    // dead entries' seconds are before first_counted_s_, where counting is a no-op.
    static std::int64_t floor_second(std::int64_t us) {
        return us >= 0 ? us / 1'000'000 : -((-us + 999'999) / 1'000'000);
    }
    static std::int64_t ceil_second(std::int64_t us) { return -floor_second(-us); }
    void reset_single_counts();
    void move_first_counted(std::int64_t first_s);
    std::uint32_t* single_count(std::int64_t last_us) {
        const std::int64_t s = floor_second(last_us);
        if (s < first_counted_s_ ||
            s - first_counted_s_ >= static_cast<std::int64_t>(single_counts_.size()))
            return nullptr;
        return &single_counts_[count_index(s)];
    }
    // (two's complement: negative seconds wrap as the positive ones do)
    std::size_t count_index(std::int64_t s) const {
        return static_cast<std::size_t>(s) & (single_counts_.size() - 1);
    }
    void count_in(const entry& e) {
        if (single_counts_.empty() || e.rounds != 1) return;
        if (std::uint32_t* c = single_count(e.last_us())) {
            ++*c;
            ++single_counted_;
        }
    }
    void count_out(const entry& e) {
        if (single_counts_.empty() || e.rounds != 1) return;
        std::uint32_t* c = single_count(e.last_us());
        if (c && *c > 0) {
            --*c;
            --single_counted_;
        }
    }
    // Forgets the oldest seconds of one-round addresses until the bound holds.
    void shed_singles();
    // Counts in an entry that is one round after an add (or a restore), and holds the
    // bound: the only moment the count can pass it.
    void counted_in(const entry& e) {
        if (single_counts_.empty() || e.rounds != 1) return;
        count_in(e);
        if (single_counted_ > single_limit_) shed_singles();
    }

    huge_array<entry> slots_;
    std::size_t size_ = 0;
    std::size_t mask_ = 0;
    std::size_t sweep_at_ = 0;
    // The rings of multi-round addresses, by index; freed ones are reused first. The first
    // ring_count_ have been handed out; the rest of the array is not touched yet.
    huge_array<ring> rings_;
    std::size_t ring_count_ = 0;
    std::vector<std::uint32_t> free_rings_;
    std::uint32_t ring_limit_ = max_rings;
    std::uint64_t rounds_restarted_ = 0;
    // Capture time 0 and no horizon: nothing is dead until the owner says otherwise.
    std::int64_t clock_us_ = 0;
    std::int64_t single_horizon_us_ = INT64_MAX / 4, multi_horizon_us_ = INT64_MAX / 4;
    std::int64_t single_before_us_ = INT64_MIN / 4, multi_before_us_ = INT64_MIN / 4;
    std::size_t single_limit_ = 0;
    std::vector<std::uint32_t> single_counts_;  // empty: no bound (or no finite horizon)
    std::int64_t first_counted_s_ = 0;
    std::uint64_t single_counted_ = 0;
    std::int64_t pressure_before_us_ = INT64_MIN / 4;
    std::uint64_t forgotten_early_ = 0;
};

}  // namespace v6bl::ingest
