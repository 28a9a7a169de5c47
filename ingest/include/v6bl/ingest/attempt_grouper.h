// Groups SYNs into connect() attempts: same source address and port within a sliding window.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "v6bl/ingest/connect_attempt.h"
#include "v6bl/ingest/ring_buffer.h"
#include "v6bl/ingest/syn_record.h"

namespace v6bl::ingest {

struct grouper_options {
    // SYNs of one attempt are at most this far apart (design §2: 25 s sliding window).
    std::int64_t window_us = 25'000'000;
    // An attempt is closed once it spans this long even if SYNs keep coming, so that a
    // sender reusing one source port for weeks (the odd Sendmail of the NANOG talk) yields
    // a series of attempts and the state stays bounded. Two minutes is far above any
    // retransmission schedule (Windows gives up after ~21 s).
    std::int64_t max_span_us = 120'000'000;
};

// State: open attempts (at most those with a SYN in the last window) and a FIFO of expiry
// candidates, one per SYN. Closed attempts are appended to the caller's vector in close
// order.
class attempt_grouper {
  public:
    explicit attempt_grouper(grouper_options options = {}) : options_(options) {}

    // Adds one SYN; closes attempts whose window ended before this SYN's time.
    void add(const syn_record& syn, std::vector<connect_attempt>& closed);
    // Closes everything whose window ended before `now_us`.
    void advance(std::int64_t now_us, std::vector<connect_attempt>& closed);
    // Closes every open attempt (end of input).
    void flush(std::vector<connect_attempt>& closed);

    std::size_t open_attempts() const { return open_count_; }

    // Binary state for checkpoints; restore returns false on a malformed blob.
    void save(std::string& out) const;
    bool restore(std::string_view in);

    struct key_t {
        address_bytes source;
        std::uint16_t port;
        bool operator==(const key_t&) const = default;
    };

  private:
    // Every SYN touches this state, so it is kept small enough for the L2 cache: the map
    // holds 32 bits of the key's hash and an index into the attempt arena (8 bytes a slot;
    // the attempt holds the key, compared when the tags match); an expiry entry names the
    // attempt by index and generation, so checking it needs no hash lookup.
    struct open_attempt {
        connect_attempt a;
        std::uint32_t generation = 0;  // bumped whenever the slot takes a new attempt
        std::uint32_t live = 0;
    };
    struct expiry_t {
        std::uint32_t index;
        std::uint32_t generation;
        std::int64_t last_us;  // the attempt's latest SYN when the entry was queued
    };
    struct map_slot {
        std::uint32_t tag = 0;           // low 32 bits of the key's hash (home = tag & mask)
        std::uint32_t index_plus_1 = 0;  // 0: a free slot
    };
    static_assert(sizeof(map_slot) == 8);

    std::uint32_t find_or_open(const key_t& key, bool& inserted);
    void close(std::uint32_t index, std::vector<connect_attempt>& closed);
    void map_erase(const key_t& key, std::uint32_t index);
    void map_grow();

    grouper_options options_;
    std::vector<open_attempt> arena_;
    std::vector<std::uint32_t> free_;  // arena slots not in use
    std::vector<map_slot> map_;
    std::size_t map_mask_ = 0;
    std::size_t open_count_ = 0;
    ring_buffer<expiry_t> expiry_;
};

}  // namespace v6bl::ingest
