// The server's summed counters as Prometheus metric families (pure: no clock, no sockets).
#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "v6bl/server/server_stats.h"

namespace v6bl::monitoring {

// What the server families need beyond the counters: facts the scrape measures itself.
struct server_scrape_facts {
    double view_age_seconds = 0;  // since the served view's serial last changed
};

// v6bl_dns_*, v6bl_tcp_*, v6bl_zone_transfers_total and v6bl_view_* from one merged
// snapshot. Every label combination is always present (a zero is a sample, not a gap).
std::vector<prometheus::MetricFamily> server_families(const server::server_counters& c,
                                                      const server_scrape_facts& facts);

}  // namespace v6bl::monitoring
