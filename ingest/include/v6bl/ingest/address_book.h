// The IPv6 addresses seen per /64, in memory: distinct-address counts, per-address attempt
// tallies, expiry by capture time, and the checkpoint that makes them survive a restart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "v6bl/ingest/huge_array.h"
#include "v6bl/ingest/ring_buffer.h"

namespace v6bl::ingest {

// A record's `addresses` counts distinct IPv6 addresses, so every address of a /64 has to
// be remembered somewhere. The store used to be that place (one evidence item per address:
// 1.9M writes for a 10M-packet capture, most of the ingest's store work), although per-
// address evidence only ever explains listings. The book remembers the addresses of every
// /64 instead, with their attempt counts and first and last times, and the writer puts them
// in the store only for /64s that get an association (docs/ingest.md, "Store records").
//
// Deterministic: everything depends on the capture's times only (never on wall time or on
// when commits happen), so that a run resumed from a checkpoint equals a clean run.
class address_book {
  public:
    struct options {
        // At most this many addresses per /64 are remembered and counted (the old bound on
        // a /64's address evidence items).
        std::uint16_t max_addresses = 192;
        // A /64 quiet for this long (capture time) is forgotten; seen again, its addresses
        // count anew. /64s whose addresses are in the store are kept far longer (they are
        // few), so their counts and evidence stay exact while the store keeps the evidence.
        std::uint32_t horizon_s = 24 * 3600;
        std::uint32_t stored_horizon_s = 30 * 24 * 3600;
        // At most this many /64s are kept (0: no bound). The horizon bounds the book by
        // time, not by count: a flood of SYNs from spoofed IPv6 sources (a new /64 each)
        // would fill it for a day. At the bound, a new /64 takes the place of the one seen
        // least recently; /64s whose addresses are in the store are never forgotten early
        // (if they alone fill the book, it grows past the bound). 2M /64s: a table of
        // 4M slots (256 MiB) and their address blocks.
        std::size_t max_prefixes = 2'000'000;
    };

    // What is known of one address: its attempts and their first and last time (capture
    // seconds). An address known from the store only has zeros (the store holds its tally).
    struct tally {
        std::uint32_t first, last, count;
    };

    // A /64's commit-window delta of its reputation record (attempts and new addresses).
    struct record_delta {
        std::uint64_t sensors = 0;
        std::uint32_t first = 0, last = 0, attempts = 0, addresses = 0;
    };

    // One cache line per /64.
    struct alignas(64) prefix {
        std::uint64_t p64 = 0;
        // One bit per hash of each address remembered: an address whose bit is clear is new
        // without a look at the block (most attempts, at a busy sensor, are new addresses).
        std::uint64_t seen_bits = 0;
        std::uint32_t last_seen = 0;  // capture seconds of the latest attempt
        std::uint32_t block = 0;      // its block of addresses in the pool of class `cls`
        std::uint16_t count = 0;      // addresses remembered
        std::uint8_t cls = 0;         // block size class (capacity class_size[cls]); 0: none
        std::uint8_t flags = 0;
        record_delta delta;
        bool in_store() const { return flags & flag_in_store; }
    };
    static_assert(sizeof(prefix) == 64);
    static constexpr std::uint8_t flag_used = 1;      // a slot of the table in use
    static constexpr std::uint8_t flag_in_store = 2;  // its addresses go to the store
    static constexpr std::uint8_t flag_dirty = 4;     // `delta` holds uncommitted data

    address_book() : address_book(options{}) {}
    explicit address_book(options o);

    // The /64's state; `created` tells that it was not known (then empty). A new /64 at
    // the bound of /64s first makes room (evicted() counts the /64s forgotten for it): a
    // reference from find() or touch() held across touch() may be left dangling.
    prefix& touch(std::uint64_t p64, std::uint32_t now_s, bool& created);
    prefix* find(std::uint64_t p64);
    void prefetch(std::uint64_t p64) const;
    // The lines of the /64's block that add_attempt(p, iid) will read or write: the
    // addresses it scans when iid may be among them, the block's addresses and tallies when
    // it is full and moves to the next class (up to 8 lines of each), else the two slots a
    // new address takes.
    void prefetch_addresses(const prefix& p, std::uint64_t iid) const;

    // Counts an attempt of `iid`. `fresh`: the address is new and remembered (the record's
    // address count grows); `known`: remembered before; `over_bound`: the /64 has its
    // maximum of addresses and this is not one of them (not counted, not remembered).
    enum class added : std::uint8_t { fresh, known, over_bound };
    added add_attempt(prefix& p, std::uint64_t iid, std::uint32_t t, std::uint32_t attempts);
    // Remembers an address known from the store (no tally: that is in the store already).
    void add_known(prefix& p, std::uint64_t iid);
    // From now on the /64's addresses are in the store (kept for stored_horizon_s).
    void set_in_store(prefix& p);
    // The remembered addresses of a /64: interface identifiers and their tallies, p.count
    // of each (valid until the book changes).
    const std::uint64_t* iids_of(const prefix& p) const;
    const tally* tallies_of(const prefix& p) const;

    // Marks a /64's delta as pending; dirty() lists them, in first-dirtied order. A /64
    // forgotten (its delta then among the orphans) and seen again before clear_dirty() is
    // listed twice: a reader takes the deltas of those still flagged dirty, once each.
    void mark_dirty(prefix& p);
    const std::vector<std::uint64_t>& dirty() const { return dirty_; }
    // After a commit: every delta is zero again.
    void clear_dirty();

    // Forgets /64s quiet past their horizon, checked once per minute of capture time (so
    // a /64 goes between `horizon` and twice that after its last attempt). A forgotten /64
    // with an uncommitted delta leaves it in orphans().
    void expire(std::uint32_t now_s);
    const std::vector<std::pair<std::uint64_t, record_delta>>& orphans() const { return orphans_; }

    std::size_t prefixes() const { return size_; }
    // /64s forgotten before their horizon to keep the bound of /64s, since construction
    // (one already past its horizon when it goes is not counted).
    std::uint64_t evicted() const { return evicted_; }
    std::size_t addresses() const { return address_total_; }
    // Bytes held: the /64 table and the address blocks (free ones included).
    std::size_t table_bytes() const { return table_.size() * sizeof(prefix); }
    std::size_t address_block_bytes() const;

    // Checkpoint: the long-lived state (deltas excluded: they are committed with it).
    void save(std::string& out) const;
    // The same bytes, handed to `sink` a buffer at a time.
    void save(const std::function<void(std::string_view)>& sink) const;
    bool restore(std::string_view in);

  private:
    static constexpr int class_count = 9;
    static constexpr std::uint16_t class_size[class_count] = {0, 2, 4, 8, 16, 32, 64, 128, 192};
    // Blocks of one size class in chunks of 2^chunk_shift blocks (about a MiB): a growing
    // pool never copies what it holds, and only memory in use is touched. A block of
    // class size n holds n interface identifiers, then n tallies: looking an address up
    // reads 8 bytes per address known, not 20.
    struct pool {
        int chunk_shift = 0;
        std::uint16_t size = 0;
        std::uint32_t blocks = 0;  // handed out so far (free ones included)
        std::vector<std::unique_ptr<std::byte[]>> chunks;
        std::vector<std::uint32_t> free;  // free block numbers
        std::size_t block_bytes() const { return std::size_t{size} * (8 + sizeof(tally)); }
        std::byte* at(std::uint32_t block) const {
            return chunks[block >> chunk_shift].get() +
                   std::size_t{block & ((1u << chunk_shift) - 1)} * block_bytes();
        }
    };
    std::uint64_t* iids(const prefix& p) const {
        return reinterpret_cast<std::uint64_t*>(pools_[p.cls].at(p.block));
    }
    tally* tallies(const prefix& p) const {
        return reinterpret_cast<tally*>(pools_[p.cls].at(p.block) +
                                        std::size_t{pools_[p.cls].size} * 8);
    }
    std::uint32_t allocate(int cls);
    void release(int cls, std::uint32_t block);
    prefix* slot_for(std::uint64_t p64, bool& created);
    void erase(std::uint64_t p64);
    void grow();
    void forget(prefix& p);
    void make_room(std::uint32_t now_s);

    options options_;
    huge_array<prefix> table_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
    std::size_t address_total_ = 0;
    std::uint64_t evicted_ = 0;
    pool pools_[class_count];
    std::vector<std::uint64_t> dirty_;
    std::vector<std::pair<std::uint64_t, record_delta>> orphans_;
    // Expiry candidates per horizon (index 1: /64s in the store), in the order queued and
    // checked lazily against last_seen: an entry not yet due goes to the back again.
    struct expiry_t {
        std::uint64_t p64;
        std::uint32_t due_s;  // not to be looked at before this capture time
        std::uint32_t pad = 0;
    };
    ring_buffer<expiry_t> expiry_[2];
    std::uint32_t next_expiry_s_ = 0;
    void queue_expiry(const prefix& p);
    void save_to(class state_writer& w) const;
};

}  // namespace v6bl::ingest
