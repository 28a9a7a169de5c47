// Per-thread server counters: written by one event loop, read by the metrics stage.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "v6bl/server/answer.h"

namespace v6bl::server {

// Bucket upper bounds of the answer latency histogram, in nanoseconds (last: +inf).
inline constexpr std::array<std::uint64_t, 7> latency_bounds_ns = {500,   1000,   2000,   5000,
                                                                   10000, 100000, 1000000};

// One plain snapshot (or a sum over threads) of the counters.
struct server_counters {
    std::uint64_t queries_udp = 0;
    std::uint64_t queries_tcp = 0;
    // by qtype: A, AAAA, TXT, ANY, SOA, NS, AXFR/IXFR, other
    std::array<std::uint64_t, 8> by_qtype{};
    // by header rcode 0..5, then BADVERS, NOTAUTH, then dropped (no answer)
    std::array<std::uint64_t, 9> by_rcode{};
    // listed answers by code: 2, 3, 4, 10, other
    std::array<std::uint64_t, 5> listed_by_code{};
    std::uint64_t unlisted = 0;  // NXDOMAIN under the zone
    std::uint64_t nodata = 0;    // empty non-terminals, holes without TXT, other types
    std::uint64_t refused = 0;
    std::uint64_t malformed = 0;  // FORMERR and dropped
    std::uint64_t dropped = 0;
    std::uint64_t truncated = 0;
    std::uint64_t send_errors = 0;
    std::uint64_t send_queued = 0;  // UDP answers that went through the fallback queue
    std::uint64_t udp_batches = 0;  // recvmmsg calls that returned datagrams
    std::uint64_t tcp_open = 0;     // currently open
    std::uint64_t tcp_accepted = 0;
    std::uint64_t tcp_refused = 0;  // over the connection cap
    std::uint64_t tcp_idle_closed = 0;
    std::uint64_t tcp_evicted = 0;  // idle, closed at the cap to admit a new connection
    std::uint64_t transfers = 0;
    std::uint64_t tcp_read_timeouts = 0;  // cut with a message begun and not finished in time
    std::uint64_t tcp_write_stalls = 0;   // cut because they stopped reading our answers
    std::uint64_t acl_refused = 0;        // REFUSED: source outside --allow-query
    // TSIG-signed queries: verified (answer signed), BADKEY, BADSIG, BADTIME
    std::array<std::uint64_t, 4> tsig{};
    // UDP answers over the rate limit: not sent, or sent as a bare TC=1 answer. Two counters
    // each bumped alone, so that a scrape never sees one answer in neither or in both.
    std::uint64_t rrl_dropped = 0;
    std::uint64_t rrl_slipped = 0;
    std::array<std::uint64_t, latency_bounds_ns.size() + 1> latency{};
    std::uint64_t view_serial = 0;  // filled by the server when collecting
    std::uint64_t view_listings = 0;
    std::uint64_t view_swaps = 0;

    server_counters& operator+=(const server_counters& o);
};

// Counters of one event loop: only that loop's thread writes (load + store, no locked
// read-modify-write), any thread may read a snapshot.
class server_stats {
  public:
    // Counts one answered query; latency separately (UDP measures per batch: two clock
    // reads per batch instead of two per query).
    // A transfer (outcome `transfer`) is counted as a query here, and its response when
    // the transfer responder has given its first message: count_transfer_reply.
    // `sent` false: the answer was dropped (RRL), so it is no response.
    void count_query(transport_kind t, const answer_result& r, bool sent = true);
    // The first message of a handed-over transfer: its RCODE among the responses, and as a
    // transfer (NOERROR) or a refusal (REFUSED). `rcode` < 0: it sent none.
    void count_transfer_reply(int rcode);
    void count_latency(std::uint64_t latency_ns, std::uint64_t queries = 1);
    void add(std::uint64_t server_counters::*field, std::uint64_t n = 1);
    void sub(std::uint64_t server_counters::*field, std::uint64_t n = 1);
    server_counters snapshot() const;

  private:
    // Mirrors server_counters field by field, as relaxed atomics.
    static constexpr std::size_t words = sizeof(server_counters) / sizeof(std::uint64_t);
    static_assert(sizeof(server_counters) == words * sizeof(std::uint64_t));
    void bump(std::size_t word, std::uint64_t n) {
        words_[word].store(words_[word].load(std::memory_order_relaxed) + n,
                           std::memory_order_relaxed);
    }
    std::array<std::atomic<std::uint64_t>, words> words_{};
};

}  // namespace v6bl::server
