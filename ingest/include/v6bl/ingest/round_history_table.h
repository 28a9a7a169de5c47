// Retry-round histories per source address: 32-byte slots, older rounds kept on the side.
#pragma once

#include <cstdint>
#include <vector>

#include "v6bl/ingest/flat_table.h"
#include "v6bl/ingest/syn_record.h"

namespace v6bl::ingest {

// The engine looks up a history for every attempt and for every candidate it scores; at a
// busy sensor the table holds ~0.5M addresses, nearly all seen on one round only, so each
// lookup is a cache miss and the slot size decides how many of them the caches absorb.
// A slot holds the address and its newest round in 32 bytes (two per cache line); the
// full ring of an address seen on several rounds lives in a small side table that only
// the scoring of repeat rounds reads. Callers pass the address's hash so that it is
// computed once per attempt and can be used to prefetch the slot ahead of the lookup.
class round_history_table {
  public:
    static constexpr int max_rounds = 8;  // the last rounds kept per address

    struct entry {
        address_bytes address;
        std::int64_t newest_us = 0;       // start of the newest round
        std::uint32_t last_delta_us = 0;  // latest SYN of any attempt − newest_us
        std::uint16_t newest_port = 0;    // source port of the newest round's first attempt
        std::uint8_t rounds = 0;          // rounds kept (1..max_rounds); 0 marks a free slot
        std::uint8_t reserved = 0;
        std::int64_t last_us() const { return newest_us + last_delta_us; }
    };
    static_assert(sizeof(entry) == 32);

    // The rounds of an address seen on more than one round, oldest first (round starts
    // strictly increase: a new round starts round_gap after the newest).
    struct ring {
        std::int64_t start_us[max_rounds] = {};
        std::uint16_t port[max_rounds] = {};
        std::uint8_t count = 0;
        std::uint32_t total_rounds = 0;  // since the address was first kept
    };

    // Rounds of one address, oldest first, read in place: valid until the table changes.
    struct rounds_view {
        const std::int64_t* start_us = nullptr;
        const std::uint16_t* port = nullptr;
        int count = 0;
        std::uint32_t total_rounds = 0;
    };

    struct add_result {
        bool new_round = false;
        bool only_round = false;         // the new round is the address's first and only one
        int rounds = 0;                  // rounds kept after the attempt
        std::int64_t round_us = 0;       // start of the round the attempt belongs to
        const entry* history = nullptr;  // the address's (valid until the table changes)
    };

    static std::uint64_t hash(const address_bytes& a) { return address_hash{}(a); }

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
    // Scoring reads the rings of the candidates it found: ask for them first.
    void prefetch_ring(const entry& e) const {
        if (e.rounds > 1) rings_.prefetch(e.address);
    }
    void erase(const address_bytes& a, std::uint64_t h);

    std::size_t size() const { return size_; }
    std::size_t multi_round_size() const { return rings_.size(); }
    void clear();
    void reserve(std::size_t n);

    // Checkpoints: every entry with its ring (nullptr for a single-round address), and the
    // way back in.
    template <typename Fn>  // fn(const entry&, const ring*)
    void for_each(Fn&& fn) const {
        for (const entry& e : slots_)
            if (e.rounds) fn(e, e.rounds > 1 ? rings_.find(e.address) : nullptr);
    }
    // Returns false for an inconsistent entry (a multi-round entry without its ring).
    bool restore(const entry& e, const ring* r);

  private:
    entry* slot_for(const address_bytes& a, std::uint64_t h, bool& inserted);
    void grow();

    std::vector<entry> slots_;
    std::size_t size_ = 0;
    std::size_t mask_ = 0;
    flat_table<address_bytes, ring, address_hash> rings_;
};

}  // namespace v6bl::ingest
