// Reads Prometheus text exposition into series → value, for exact assertions in tests.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace v6bl::monitoring::test {

// Keys are the series as written ("v6bl_dns_queries_total{transport=\"udp\"}"), labels in
// the order the exposer wrote them. Comment lines are skipped.
using exposition_samples = std::map<std::string, double>;
exposition_samples parse_exposition(const std::string& text);

// The value of a series, or nullopt when it is absent.
std::optional<double> sample_of(const exposition_samples& s, const std::string& series);

}  // namespace v6bl::monitoring::test
