// The metric names v6bl exposes and the names a PromQL text or dashboard refers to.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace v6bl::monitoring::test {

// Every series name the server and ingest endpoints can expose (histogram and summary
// families with their _bucket/_sum/_count names).
std::set<std::string> exposed_series_names();

// v6bl_* and process_* identifiers in a text (rule expressions, dashboard queries); recording
// rule names (with ':') are left out.
std::set<std::string> referenced_metric_names(const std::string& text);

// Every "expr" of the dashboard's panels.
std::vector<std::string> dashboard_queries(const std::string& dashboard_json);

// Every query of the dashboard's panels with its legend ("legendFormat", "" if none).
struct dashboard_target {
    std::string expr;
    std::string legend;
};
std::vector<dashboard_target> dashboard_targets(const std::string& dashboard_json);

// The labels a legend names ("{{instance}} {{rcode}}": instance, rcode).
std::set<std::string> legend_labels(const std::string& legend);

}  // namespace v6bl::monitoring::test
