// JSON association lines (schema v1) through nlohmann::json, with explicit schema errors.
#include "v6bl/ingest/association_line.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "v6bl/ingest/log_timestamp.h"
#include "v6bl/ingest/reject_log_parser.h"
#include "v6bl/store/prefix.h"

namespace v6bl::ingest {

bool parse_association_line(std::string_view line, association_line& out, std::string& error) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
        error = "invalid JSON";
        return false;
    }
    if (!j.is_object()) {
        error = "not a JSON object";
        return false;
    }
    auto need = [&](const char* name) -> const nlohmann::json* {
        auto it = j.find(name);
        if (it == j.end()) {
            error = std::string("missing field ") + name;
            return nullptr;
        }
        return &*it;
    };
    const auto* v = need("v");
    if (!v) return false;
    if (!v->is_number_integer() || v->get<int>() != association_schema_version) {
        error = "unsupported version " + v->dump();
        return false;
    }
    const auto* v6 = need("ipv6");
    const auto* v4 = need("ipv4");
    const auto* t = need("time");
    const auto* s = need("strength");
    if (!v6 || !v4 || !t || !s) return false;
    out = association_line{};
    if (!v6->is_string()) {
        error = "ipv6 is not a string";
        return false;
    }
    const auto addr = store::parse_address(v6->get<std::string>());
    if (!addr || (addr->at(0) == 0 && addr->at(10) == 0xff)) {
        error = "ipv6 is not an IPv6 address";
        return false;
    }
    if (std::all_of(addr->begin(), addr->begin() + 8, [](std::uint8_t b) { return b == 0; })) {
        // ::/64 holds the unspecified, loopback and IPv4-compatible addresses, no sender's
        // (and covers ::ffff:127.0.0.1, which RFC 5782 says is never listed).
        error = "ipv6 is in ::/64, not a sender's address";
        return false;
    }
    out.assoc.ipv6 = *addr;
    if (!v4->is_string() || !parse_ipv4(v4->get<std::string>(), out.assoc.ipv4)) {
        error = "ipv4 is not a dotted quad";
        return false;
    }
    if (t->is_number()) {
        const double secs = t->get<double>();
        if (!(secs >= 0 && secs < 4294967296.0)) {
            error = "time out of range";
            return false;
        }
        out.assoc.time_us = static_cast<std::int64_t>(secs * 1e6);
    } else if (t->is_string()) {
        const std::string ts = t->get<std::string>();
        const auto p = parse_log_timestamp(ts, year_hint{});
        if (!p || p->length != ts.size() || ts.find('-') != 4) {
            error = "time is not RFC 3339";
            return false;
        }
        out.assoc.time_us = p->unix_seconds * 1'000'000;
    } else {
        error = "time is neither a number nor a string";
        return false;
    }
    if (!s->is_number() || s->get<double>() < 0.0 || s->get<double>() > 1.0) {
        error = "strength is not a number in [0, 1]";
        return false;
    }
    out.assoc.strength_milli = static_cast<std::uint16_t>(s->get<double>() * 1000.0 + 0.5);
    out.assoc.signals = sig_remote;
    if (auto it = j.find("signals"); it != j.end()) {
        if (!it->is_array()) {
            error = "signals is not an array";
            return false;
        }
        for (const auto& name : *it) {
            // Unknown names are allowed (newer sensors); they just carry no bit here.
            if (name.is_string()) out.assoc.signals |= signal_from_name(name.get<std::string>());
        }
    }
    if (auto it = j.find("rounds"); it != j.end()) {
        if (!it->is_number_unsigned() || it->get<std::uint64_t>() > 65535) {
            error = "rounds is not a small unsigned integer";
            return false;
        }
        out.assoc.rounds = static_cast<std::uint16_t>(it->get<std::uint64_t>());
    }
    if (auto it = j.find("sensor"); it != j.end()) {
        if (!it->is_string() || it->get<std::string>().size() > 64) {
            error = "sensor is not a string of at most 64 characters";
            return false;
        }
        out.sensor = it->get<std::string>();
    }
    if (auto it = j.find("ipv4_rejected"); it != j.end()) {
        if (!it->is_boolean()) {
            error = "ipv4_rejected is not a boolean";
            return false;
        }
        out.ipv4_rejected = it->get<bool>();
    }
    return true;
}

std::string format_association_line(const association& a, std::string_view sensor,
                                    bool ipv4_rejected) {
    nlohmann::json j;
    j["v"] = association_schema_version;
    j["sensor"] = std::string(sensor);
    store::ipv6_bytes b{};
    std::copy(a.ipv6.begin(), a.ipv6.end(), b.begin());
    j["ipv6"] = store::format_address(b);
    j["ipv4"] = std::to_string(a.ipv4 >> 24) + "." + std::to_string((a.ipv4 >> 16) & 0xFF) + "." +
                std::to_string((a.ipv4 >> 8) & 0xFF) + "." + std::to_string(a.ipv4 & 0xFF);
    j["time"] = static_cast<double>(a.time_us) / 1e6;
    j["strength"] = a.strength_milli / 1000.0;
    auto names = nlohmann::json::array();
    const auto& all = signal_names();
    for (std::size_t i = 0; i < all.size(); ++i)
        if (a.signals & (1u << i)) names.push_back(all[i]);
    j["signals"] = names;
    j["rounds"] = a.rounds;
    j["ipv4_rejected"] = ipv4_rejected;
    return j.dump();
}

}  // namespace v6bl::ingest
