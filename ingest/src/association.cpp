// Association signal names (the vocabulary of evidence and of the JSON line schema).
#include "v6bl/ingest/association.h"

#include <string_view>

namespace v6bl::ingest {

const std::vector<const char*>& signal_names() {
    static const std::vector<const char*> names = {
        "timing",        "tight-timing", "order-rfc6724", "port-proximity",
        "exchange-port", "syn-count",    "os-match",      "port-progression",
        "repetition",    "6to4",         "teredo",        "isatap",
        "iid-ipv4",      "remote",       "ipv4-rejected", "shared-ipv4"};
    return names;
}

std::string format_signals(std::uint16_t signals) {
    std::string out;
    const auto& names = signal_names();
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!(signals & (1u << i))) continue;
        if (!out.empty()) out += ',';
        out += names[i];
    }
    return out;
}

std::uint16_t signal_from_name(std::string_view name) {
    const auto& names = signal_names();
    for (std::size_t i = 0; i < names.size(); ++i)
        if (name == names[i]) return static_cast<std::uint16_t>(1u << i);
    return 0;
}

}  // namespace v6bl::ingest
