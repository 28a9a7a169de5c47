// A prometheus::Collectable that builds its families from a function at scrape time.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <atomic>
#include <functional>
#include <vector>

namespace v6bl::monitoring {

// The exposer's threads call Collect(); a throwing source yields only v6bl_scrape_errors_total
// (and process metrics), never an exception into the HTTP server.
class scrape_collectable : public prometheus::Collectable {
  public:
    using source_function = std::function<std::vector<prometheus::MetricFamily>()>;
    explicit scrape_collectable(source_function source) : source_(std::move(source)) {}
    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    source_function source_;
    mutable std::atomic<std::uint64_t> errors_{0};
};

}  // namespace v6bl::monitoring
