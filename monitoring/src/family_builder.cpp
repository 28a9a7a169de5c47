// Small helpers that build prometheus::MetricFamily values by hand (for custom collectables).
#include "family_builder.h"

#include <stdexcept>

namespace v6bl::monitoring {
namespace {

std::vector<prometheus::ClientMetric::Label> to_labels(label_list labels) {
    std::vector<prometheus::ClientMetric::Label> out;
    out.reserve(labels.size());
    for (const auto& [name, value] : labels) out.push_back({name, value});
    return out;
}

}  // namespace

family_builder::family_builder(std::string name, std::string help, prometheus::MetricType type) {
    family_.name = std::move(name);
    family_.help = std::move(help);
    family_.type = type;
}

family_builder& family_builder::sample(double value, label_list labels) {
    prometheus::ClientMetric m;
    m.label = to_labels(labels);
    switch (family_.type) {
        case prometheus::MetricType::Counter:
            m.counter.value = value;
            break;
        case prometheus::MetricType::Gauge:
            m.gauge.value = value;
            break;
        case prometheus::MetricType::Untyped:
            m.untyped.value = value;
            break;
        default:
            throw std::logic_error("family_builder::sample on a summary or histogram");
    }
    family_.metric.push_back(std::move(m));
    return *this;
}

family_builder& family_builder::summary(std::uint64_t count, double sum, label_list labels) {
    prometheus::ClientMetric m;
    m.label = to_labels(labels);
    m.summary.sample_count = count;
    m.summary.sample_sum = sum;
    family_.metric.push_back(std::move(m));
    return *this;
}

family_builder& family_builder::histogram(const std::vector<double>& bounds,
                                          const std::vector<std::uint64_t>& counts, double sum,
                                          label_list labels) {
    if (counts.size() != bounds.size() + 1)
        throw std::logic_error("family_builder::histogram: counts must have bounds + 1 entries");
    prometheus::ClientMetric m;
    m.label = to_labels(labels);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += counts[i];
        m.histogram.bucket.push_back({cumulative, bounds[i]});
    }
    // The serializer writes the +Inf bucket from sample_count.
    m.histogram.sample_count = cumulative + counts.back();
    m.histogram.sample_sum = sum;
    family_.metric.push_back(std::move(m));
    return *this;
}

prometheus::MetricFamily counter_of(const char* name, const char* help, double value) {
    return family_builder(name, help, prometheus::MetricType::Counter).sample(value).take();
}

prometheus::MetricFamily gauge_of(const char* name, const char* help, double value) {
    return family_builder(name, help, prometheus::MetricType::Gauge).sample(value).take();
}

}  // namespace v6bl::monitoring
