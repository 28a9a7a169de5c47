// Small helpers that build prometheus::MetricFamily values by hand (for custom collectables).
#pragma once

#include <prometheus/metric_family.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace v6bl::monitoring {

using label_list = std::initializer_list<std::pair<const char*, std::string>>;

class family_builder {
  public:
    family_builder(std::string name, std::string help, prometheus::MetricType type);

    // Adds one sample (counter, gauge or untyped, by the family's type).
    family_builder& sample(double value, label_list labels = {});
    // Adds one summary without quantiles (count and sum only).
    family_builder& summary(std::uint64_t count, double sum, label_list labels = {});
    // Adds one histogram; `bounds` are finite upper bounds, `counts` per-bucket (not
    // cumulative) with one more entry than bounds for +Inf.
    family_builder& histogram(const std::vector<double>& bounds,
                              const std::vector<std::uint64_t>& counts, double sum,
                              label_list labels = {});

    prometheus::MetricFamily take() { return std::move(family_); }

  private:
    prometheus::MetricFamily family_;
};

prometheus::MetricFamily counter_of(const char* name, const char* help, double value);
prometheus::MetricFamily gauge_of(const char* name, const char* help, double value);

}  // namespace v6bl::monitoring
