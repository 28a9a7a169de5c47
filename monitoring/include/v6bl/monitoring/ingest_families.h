// The ingest's counters (and its store's serial) as Prometheus metric families (pure).
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "v6bl/ingest/ingest_counters.h"

namespace v6bl::monitoring {

// One scrape's worth of ingest state, copied by the ingest side between commits.
struct ingest_sample {
    ingest::ingest_counters counters;
    std::optional<std::uint32_t> store_serial;     // the writer's serial, if known
    std::optional<std::uint64_t> corrupt_records;  // store records that failed to decode
};

// v6bl_ingest_*, v6bl_store_serial and v6bl_store_corrupt_records_total.
std::vector<prometheus::MetricFamily> ingest_families(const ingest_sample& s);

}  // namespace v6bl::monitoring
