// Response rate limiting (RRL) of UDP answers per source network: a fixed table of token
// buckets keyed by the source's /24 (IPv4) or /56 (IPv6), shared by every event loop.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace v6bl::server {

struct rrl_settings {
    std::uint32_t rate = 0;  // answers per second per source network; 0: off
    std::uint32_t slip = 2;  // every slip-th limited answer is sent truncated; 0: drop all
    std::uint32_t window_s = 15;
};

enum class rrl_verdict : std::uint8_t {
    send,  // within the rate
    slip,  // limited: send a bare TC=1 answer so a real client retries over TCP
    drop,  // limited: send nothing
};

// Shared by every loop thread rather than one per thread: SO_REUSEPORT hashes the source
// port into the choice of socket, so one /24's queries arrive on every thread and a
// per-thread table would let it through at `threads` times the rate. Each set of `ways`
// entries has its own spin lock; with a handful of loops two threads rarely meet on a set.
//
// A bucket is credited `rate` answers a second up to one second's worth (the burst a fresh
// source gets), pays one per answer, and is limited while below zero. Its debt is kept down
// to `window_s` seconds' worth: a source that flooded stays limited for up to the window
// after it slows down, as BIND's responses-per-second with a window.
//
// The table has a fixed size (allocated once, nothing per query). When a set is full, the
// entry seen least recently is replaced; a replaced source starts again with a full bucket.
class response_rate_limiter {
  public:
    static constexpr std::size_t ways = 4;
    static constexpr std::size_t sets = 1u << 14;  // 65 536 source networks, ~2.5 MB

    explicit response_rate_limiter(const rrl_settings& settings);
    response_rate_limiter(const response_rate_limiter&) = delete;
    response_rate_limiter& operator=(const response_rate_limiter&) = delete;

    bool enabled() const { return settings_.rate > 0; }
    // Accounts one answer to `source` at `now_ms` (a monotonic clock). Any thread.
    rrl_verdict account(const sockaddr* source, std::uint64_t now_ms);
    rrl_verdict account_key(std::uint64_t key, std::uint64_t now_ms);

    // The bucket key of a source address: its /24 for IPv4 (an IPv4-mapped IPv6 address
    // counts as IPv4), its /56 for IPv6, tagged with the family. 0 for other families.
    static std::uint64_t source_key(const sockaddr* source);

  private:
    struct entry {
        std::uint64_t key = 0;  // 0: free
        std::uint64_t last_ms = 0;
        std::int64_t balance = 0;   // in thousandths of an answer
        std::uint64_t limited = 0;  // limited answers so far, for the slip count
    };
    struct alignas(64) set {
        std::atomic<bool> lock{false};
        entry way[ways];
    };

    rrl_settings settings_;
    std::int64_t burst_ = 0;  // one second's answers, in thousandths
    std::int64_t floor_ = 0;  // the deepest debt: window seconds' answers
    std::unique_ptr<set[]> table_;
};

}  // namespace v6bl::server
