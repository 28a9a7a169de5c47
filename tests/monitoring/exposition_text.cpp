// Reads Prometheus text exposition into series → value, for exact assertions in tests.
#include "exposition_text.h"

#include <limits>
#include <sstream>

namespace v6bl::monitoring::test {

exposition_samples parse_exposition(const std::string& text) {
    exposition_samples out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        // The value follows the last space outside the label braces (no timestamps here).
        const auto brace = line.rfind('}');
        const auto sp = line.find(' ', brace == std::string::npos ? 0 : brace);
        if (sp == std::string::npos) continue;
        const std::string value = line.substr(sp + 1);
        double v = 0;
        if (value == "+Inf") {
            v = std::numeric_limits<double>::infinity();
        } else if (value == "NaN") {
            v = std::numeric_limits<double>::quiet_NaN();
        } else {
            try {
                v = std::stod(value);
            } catch (...) {
                continue;
            }
        }
        out[line.substr(0, sp)] = v;
    }
    return out;
}

std::optional<double> sample_of(const exposition_samples& s, const std::string& series) {
    const auto it = s.find(series);
    if (it == s.end()) return std::nullopt;
    return it->second;
}

}  // namespace v6bl::monitoring::test
