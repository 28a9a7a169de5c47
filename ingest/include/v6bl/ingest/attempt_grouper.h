// Groups SYNs into connect() attempts: same source address and port within a sliding window.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "v6bl/ingest/connect_attempt.h"
#include "v6bl/ingest/flat_table.h"
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
// candidates. Closed attempts are appended to the caller's vector in close order.
class attempt_grouper {
  public:
    explicit attempt_grouper(grouper_options options = {}) : options_(options) {}

    // Adds one SYN; closes attempts whose window ended before this SYN's time.
    void add(const syn_record& syn, std::vector<connect_attempt>& closed);
    // Closes everything whose window ended before `now_us`.
    void advance(std::int64_t now_us, std::vector<connect_attempt>& closed);
    // Closes every open attempt (end of input).
    void flush(std::vector<connect_attempt>& closed);

    std::size_t open_attempts() const { return open_.size(); }

    // Binary state for checkpoints; restore returns false on a malformed blob.
    void save(std::string& out) const;
    bool restore(std::string_view in);

    struct key_t {
        address_bytes source;
        std::uint16_t port;
        bool operator==(const key_t&) const = default;
    };
    struct key_hash {
        std::size_t operator()(const key_t& k) const noexcept;
    };

  private:
    struct expiry_t {
        key_t key;
        std::int64_t last_us;
    };
    grouper_options options_;
    flat_table<key_t, connect_attempt, key_hash> open_;
    std::deque<expiry_t> expiry_;
};

}  // namespace v6bl::ingest
