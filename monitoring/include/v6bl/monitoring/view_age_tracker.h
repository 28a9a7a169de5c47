// Seconds since the served view's serial last changed, as seen by successive scrapes.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace v6bl::monitoring {

// The server hands over the view's serial, not its time; the tracker remembers when a scrape
// first saw each serial. Resolution is the scrape interval; the first scrape starts at 0.
class view_age_tracker {
  public:
    using clock_type = std::chrono::steady_clock;
    double observe(std::uint64_t serial, clock_type::time_point now);

  private:
    std::mutex mutex_;  // two exposer threads may scrape at once
    bool seen_ = false;
    std::uint64_t serial_ = 0;
    clock_type::time_point since_{};
};

}  // namespace v6bl::monitoring
