// A background NOTIFY sender for a long-running server (see notify_service.h).
#include "v6bl/zones/notify_service.h"

#include <exception>

namespace v6bl::zones {

notify_service::notify_service(const zone_config& config, report_fn report, int timeout_ms,
                               int attempts)
    : sender_(config), report_(std::move(report)), timeout_ms_(timeout_ms), attempts_(attempts) {
    thread_ = std::thread([this] { run(); });
}

notify_service::~notify_service() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void notify_service::serial_changed(std::uint32_t serial) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        pending_ = serial;
    }
    wake_.notify_all();
}

void notify_service::run() {
    while (true) {
        std::uint32_t serial = 0;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || pending_.has_value(); });
            if (stopping_) return;
            serial = *pending_;
            pending_.reset();
        }
        try {
            for (const notify_result& r : sender_.send_all(serial, timeout_ms_, attempts_)) {
                if (report_) report_(serial, r);
            }
        } catch (const std::exception& e) {
            if (report_) report_(serial, notify_result{"", false, e.what()});
        }
    }
}

}  // namespace v6bl::zones
