// The metric names v6bl exposes and the names a PromQL text or dashboard refers to.
#include "metric_names.h"

#include <nlohmann/json.hpp>
#include <regex>

#include "v6bl/monitoring/ingest_families.h"
#include "v6bl/monitoring/process_families.h"
#include "v6bl/monitoring/server_families.h"

namespace v6bl::monitoring::test {
namespace {

void add_family(std::set<std::string>& out, const prometheus::MetricFamily& f) {
    out.insert(f.name);
    if (f.type == prometheus::MetricType::Histogram) out.insert(f.name + "_bucket");
    if (f.type == prometheus::MetricType::Histogram || f.type == prometheus::MetricType::Summary) {
        out.insert(f.name + "_sum");
        out.insert(f.name + "_count");
    }
}

void collect_targets(const nlohmann::json& j, std::vector<dashboard_target>& out) {
    if (j.is_object()) {
        if (j.contains("expr") && j["expr"].is_string()) {
            out.push_back({j["expr"].get<std::string>(), j.value("legendFormat", "")});
            return;
        }
        for (auto it = j.begin(); it != j.end(); ++it) collect_targets(it.value(), out);
    } else if (j.is_array()) {
        for (const auto& e : j) collect_targets(e, out);
    }
}

}  // namespace

std::set<std::string> exposed_series_names() {
    std::set<std::string> out;
    ingest_sample full;
    full.store_serial = 1;
    full.corrupt_records = 0;
    for (const auto& f : server_families(server::server_counters{}, {})) add_family(out, f);
    for (const auto& f : ingest_families(full)) add_family(out, f);
    for (const auto& f : process_families(process_sample{})) add_family(out, f);
    add_family(out, build_info_family());
    out.insert("v6bl_scrape_errors_total");
    return out;
}

std::set<std::string> referenced_metric_names(const std::string& text) {
    static const std::regex name(
        R"((^|[^a-zA-Z0-9_:])((v6bl|process)_[a-zA-Z0-9_]+)($|[^a-zA-Z0-9_:]))");
    std::set<std::string> out;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), name);
         it != std::sregex_iterator(); ++it)
        out.insert((*it)[2].str());
    return out;
}

std::vector<dashboard_target> dashboard_targets(const std::string& dashboard_json) {
    std::vector<dashboard_target> out;
    collect_targets(nlohmann::json::parse(dashboard_json), out);
    return out;
}

std::vector<std::string> dashboard_queries(const std::string& dashboard_json) {
    std::vector<std::string> out;
    for (auto& t : dashboard_targets(dashboard_json)) out.push_back(std::move(t.expr));
    return out;
}

std::set<std::string> legend_labels(const std::string& legend) {
    static const std::regex label(R"(\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\})");
    std::set<std::string> out;
    for (auto it = std::sregex_iterator(legend.begin(), legend.end(), label);
         it != std::sregex_iterator(); ++it)
        out.insert((*it)[1].str());
    return out;
}

}  // namespace v6bl::monitoring::test
