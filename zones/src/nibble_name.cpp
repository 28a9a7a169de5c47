// Nibble names: the RFC 5782 owner names of prefixes under a DNSBL zone.
#include "v6bl/zones/nibble_name.h"

#include <cctype>

namespace v6bl::zones {

void append_nibble_labels(std::string& out, const store::prefix& p) {
    static constexpr char hex_digits[] = "0123456789abcdef";
    const int nibbles = p.length / 4;
    for (int i = nibbles - 1; i >= 0; --i) {
        const std::uint8_t byte = p.address[static_cast<std::size_t>(i / 2)];
        out.push_back(hex_digits[(i % 2 == 0) ? (byte >> 4) : (byte & 0x0f)]);
        out.push_back('.');
    }
}

std::string nibble_owner_name(const store::prefix& p, std::string_view zone) {
    std::string name;
    name.reserve(static_cast<std::size_t>(p.length / 2) + zone.size() + 1);
    append_nibble_labels(name, p);
    name.append(zone);
    name.push_back('.');
    return name;
}

std::string nibble_wildcard_name(const store::prefix& p, std::string_view zone) {
    return "*." + nibble_owner_name(p, zone);
}

std::string ipv4_test_point_name(std::string_view zone) {
    std::string name = "2.0.0.127.";
    name.append(zone);
    name.push_back('.');
    return name;
}

std::string host_name_problem(std::string_view name, std::size_t max_size) {
    if (name.empty()) return "is empty";
    if (name.size() > max_size) return "is longer than " + std::to_string(max_size) + " characters";
    std::size_t label = 0;
    for (const char c : name) {
        if (c == '.') {
            if (label == 0) return "has an empty label";
            label = 0;
        } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
            if (++label > 63) return "has a label longer than 63 characters";
        } else {
            return "may hold letters, digits, '-', '_' and dots only";
        }
    }
    if (label == 0) return "has an empty label";
    return {};
}

std::string zone_name_problem(std::string_view zone) {
    const std::string problem = host_name_problem(zone, 189);
    return problem.empty() ? problem : "the zone name " + problem;
}

}  // namespace v6bl::zones
