// A prometheus::Collectable that builds its families from a function at scrape time.
#include "scrape_collectable.h"

#include <exception>

#include "family_builder.h"
#include "v6bl/monitoring/process_families.h"

namespace v6bl::monitoring {

std::vector<prometheus::MetricFamily> scrape_collectable::Collect() const {
    std::vector<prometheus::MetricFamily> out;
    try {
        out = source_();
    } catch (...) {
        out.clear();
        errors_.fetch_add(1, std::memory_order_relaxed);
    }
    try {
        if (const auto p = read_process_sample()) {
            for (auto& f : process_families(*p)) out.push_back(std::move(f));
        }
        out.push_back(build_info_family());
        out.push_back(counter_of("v6bl_scrape_errors_total",
                                 "Scrapes whose counter source failed (their v6bl_* samples "
                                 "are missing).",
                                 static_cast<double>(errors_.load(std::memory_order_relaxed))));
    } catch (...) {
        // Out of memory while building a handful of families: serve what there is.
    }
    return out;
}

}  // namespace v6bl::monitoring
