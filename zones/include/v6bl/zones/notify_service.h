// A background NOTIFY sender for a long-running server: serial changes are handed over
// without blocking, rounds of NOTIFY go out on its own thread, newer serials coalesce.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "v6bl/zones/notify_sender.h"

namespace v6bl::zones {

class notify_service {
  public:
    // Called on the service's thread after each target's attempt (for logs and counters).
    using report_fn = std::function<void(std::uint32_t serial, const notify_result&)>;

    // Throws std::runtime_error on bad targets or key (start-up), like notify_sender.
    notify_service(const zone_config& config, report_fn report, int timeout_ms = 2000,
                   int attempts = 3);
    ~notify_service();  // finishes the round in progress, then stops
    notify_service(const notify_service&) = delete;
    notify_service& operator=(const notify_service&) = delete;

    // Non-blocking: a round for `serial` starts when the current one ends; serials handed
    // over meanwhile are coalesced into the newest.
    void serial_changed(std::uint32_t serial);

  private:
    void run();

    notify_sender sender_;
    report_fn report_;
    int timeout_ms_;
    int attempts_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::optional<std::uint32_t> pending_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace v6bl::zones
