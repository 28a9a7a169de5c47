// A bound on how many retry rounds an IPv4 candidate can pair on, before it is scored.
#pragma once

#include <cstdint>

namespace v6bl::ingest {

// Marks the time buckets (at least a pair window wide) that hold, or border on, a round
// start of one IPv6 address (bucket numbers modulo the bitmap's size, so a collision can
// only mark too much). An IPv4 round start within the pair window of an IPv6 round start lies in a
// marked bucket. When rounds of one address are further apart than two windows, an IPv4 round pairs
// with one IPv6 round at most, so the IPv4 rounds in marked buckets bound the rounds the two pair
// on: a candidate with fewer than two cannot pair on two, and the scoring would drop it
// (association_engine::score, "k < 2"). At a busy sensor that is 96 % of the candidates of a repeat
// round, each a merge of two round lists that mispredicts branches.
class round_bucket_filter {
  public:
    // Marks the buckets of the rounds; false (and nothing marked) when rounds can be two
    // windows apart or closer, where the bound does not hold.
    bool mark(const std::int64_t* start_us, int count, std::int64_t window_us,
              std::int64_t round_gap_us) {
        if (window_us <= 0 || round_gap_us <= 2 * window_us) return false;
        // Buckets a power of two of microseconds wide, at least a window: a shift, not a
        // division, per round (a candidate has up to eight).
        shift_ = 0;
        while ((std::int64_t{1} << shift_) < window_us) ++shift_;
        for (int i = 0; i < count; ++i) {
            const std::uint64_t b = bucket(start_us[i]);
            set(b - 1);
            set(b);
            set(b + 1);
        }
        return true;
    }
    // Clears what mark() set (the bitmap is all clear between two evaluations).
    void unmark(const std::int64_t* start_us, int count) {
        for (int i = 0; i < count; ++i) {
            const std::uint64_t b = bucket(start_us[i]);
            bits_[((b - 1) & mask) / 64] = 0;
            bits_[(b & mask) / 64] = 0;
            bits_[((b + 1) & mask) / 64] = 0;
        }
    }
    // Whether two or more of these IPv4 round starts are in marked buckets.
    bool may_pair_twice(const std::int64_t* start_us, int count) const {
        int n = 0;
        for (int i = 0; i < count; ++i) {
            const std::uint64_t b = bucket(start_us[i]);
            n += static_cast<int>((bits_[(b & mask) / 64] >> (b & 63)) & 1);
        }
        return n >= 2;
    }

  private:
    static constexpr std::uint64_t size = 4096, mask = size - 1;
    std::uint64_t bucket(std::int64_t t) const {
        // floor(t / width): |s − t| <= window <= width puts t in s's bucket or a neighbour
        return static_cast<std::uint64_t>(t >> shift_);
    }
    void set(std::uint64_t b) { bits_[(b & mask) / 64] |= 1ull << (b & 63); }

    std::uint64_t bits_[size / 64] = {};
    int shift_ = 0;
};

}  // namespace v6bl::ingest
