// What the loops answer from: the listing view and the zone, swapped atomically as a pair.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "v6bl/server/answer.h"
#include "v6bl/store/listing_view.h"

namespace v6bl::server {

struct serving_state {
    std::shared_ptr<const store::listing_view> view;
    std::shared_ptr<const answer_zone> zone;
};

// One writer (the refresher) publishes; every loop checks `generation()` once per batch
// (one atomic load) and takes the mutex only when it moved: no lock per query.
class serving_slot {
  public:
    void publish(std::shared_ptr<const serving_state> s) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            state_ = std::move(s);
        }
        generation_.fetch_add(1, std::memory_order_release);
    }
    std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
    std::shared_ptr<const serving_state> load() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return state_;
    }

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const serving_state> state_;
    std::atomic<std::uint64_t> generation_{0};
};

}  // namespace v6bl::server
