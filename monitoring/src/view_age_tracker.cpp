// Seconds since the served view's serial last changed, as seen by successive scrapes.
#include "v6bl/monitoring/view_age_tracker.h"

namespace v6bl::monitoring {

double view_age_tracker::observe(std::uint64_t serial, clock_type::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!seen_ || serial != serial_) {
        seen_ = true;
        serial_ = serial;
        since_ = now;
    }
    return std::chrono::duration<double>(now - since_).count();
}

}  // namespace v6bl::monitoring
