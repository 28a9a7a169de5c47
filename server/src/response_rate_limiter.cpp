// Response rate limiting (RRL) of UDP answers: the shared token-bucket table.
#include "response_rate_limiter.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace v6bl::server {
namespace {

constexpr std::uint64_t ipv4_tag = 4ull << 56;
constexpr std::uint64_t ipv6_tag = 6ull << 56;

std::uint64_t ipv4_key(const std::uint8_t* a) {
    return ipv4_tag | (std::uint64_t{a[0]} << 16) | (std::uint64_t{a[1]} << 8) | a[2];
}

std::size_t set_of(std::uint64_t key) {
    // Fibonacci hashing: the /24s and /56s of one operator differ in their low bits.
    constexpr unsigned bits = 14;
    static_assert((1u << bits) == response_rate_limiter::sets);
    return static_cast<std::size_t>((key * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

// A spin lock held for a few dozen instructions, never across a system call.
class set_lock {
  public:
    explicit set_lock(std::atomic<bool>& f) : f_(f) {
        while (f_.exchange(true, std::memory_order_acquire)) {
            while (f_.load(std::memory_order_relaxed)) {
            }
        }
    }
    ~set_lock() { f_.store(false, std::memory_order_release); }
    set_lock(const set_lock&) = delete;
    set_lock& operator=(const set_lock&) = delete;

  private:
    std::atomic<bool>& f_;
};

}  // namespace

response_rate_limiter::response_rate_limiter(const rrl_settings& settings) : settings_(settings) {
    if (!enabled()) return;
    burst_ = static_cast<std::int64_t>(settings_.rate) * 1000;
    floor_ = -static_cast<std::int64_t>(settings_.rate) * 1000 *
             std::max<std::int64_t>(1, settings_.window_s);
    table_ = std::make_unique<set[]>(sets);
}

std::uint64_t response_rate_limiter::source_key(const sockaddr* source) {
    if (source->sa_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(source);
        std::uint8_t b[4];
        std::memcpy(b, &a->sin_addr, 4);
        return ipv4_key(b);
    }
    if (source->sa_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(source);
        const std::uint8_t* b = a->sin6_addr.s6_addr;
        static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(b, mapped, 12) == 0) return ipv4_key(b + 12);
        std::uint64_t k = 0;
        for (int i = 0; i < 7; ++i) k = (k << 8) | b[i];  // the first 56 bits
        return ipv6_tag | k;
    }
    return 0;
}

rrl_verdict response_rate_limiter::account(const sockaddr* source, std::uint64_t now_ms) {
    if (!enabled()) return rrl_verdict::send;
    const std::uint64_t key = source_key(source);
    if (key == 0) return rrl_verdict::send;
    return account_key(key, now_ms);
}

rrl_verdict response_rate_limiter::account_key(std::uint64_t key, std::uint64_t now_ms) {
    if (!enabled() || key == 0) return rrl_verdict::send;
    set& s = table_[set_of(key)];
    const set_lock hold(s.lock);
    entry* e = nullptr;
    entry* victim = nullptr;  // a free way first, else the one seen least recently
    for (auto& w : s.way) {
        if (w.key == key) {
            e = &w;
            break;
        }
        if (victim == nullptr || (victim->key != 0 && (w.key == 0 || w.last_ms < victim->last_ms)))
            victim = &w;
    }
    if (e == nullptr) {
        e = victim;
        *e = entry{key, now_ms, burst_, 0};
    } else if (now_ms > e->last_ms) {
        // rate answers per second = rate thousandths per millisecond
        const auto credit = static_cast<std::int64_t>(
            std::min<std::uint64_t>(now_ms - e->last_ms, 3600ull * 1000) * settings_.rate);
        e->balance = std::min(burst_, e->balance + credit);
        e->last_ms = now_ms;
    }
    e->balance = std::max(floor_, e->balance - 1000);
    if (e->balance >= 0) return rrl_verdict::send;
    ++e->limited;
    if (settings_.slip > 0 && e->limited % settings_.slip == 0) return rrl_verdict::slip;
    return rrl_verdict::drop;
}

}  // namespace v6bl::server
