// JSON association lines (schema v1) through nlohmann::json, with explicit schema errors.
#include "v6bl/ingest/association_line.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "v6bl/ingest/log_timestamp.h"
#include "v6bl/ingest/reject_log_parser.h"
#include "v6bl/store/prefix.h"

namespace v6bl::ingest {
namespace {

// Seconds since the epoch of an RFC 3339 date-time (5.6): full-date "T" full-time, where
// full-time ends in a time-offset, "Z" or +hh:mm / -hh:mm; "T" and "Z" may be lower case;
// the day must exist in its month (5.7). nullopt for anything else.
std::optional<std::int64_t> rfc3339_seconds(std::string ts) {
    auto digit = [&](std::size_t i) { return i < ts.size() && ts[i] >= '0' && ts[i] <= '9'; };
    auto number = [&](std::size_t at, std::size_t n) {
        int v = 0;
        for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (ts[i] - '0');
        return v;
    };
    if (ts.size() < 20 || ts[4] != '-' || ts[7] != '-') return std::nullopt;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (!digit(i)) return std::nullopt;
    if (ts[10] == 't') ts[10] = 'T';
    if (ts.back() == 'z') ts.back() = 'Z';
    const std::size_t n = ts.size();
    const bool offset =
        ts.back() == 'Z' || (n >= 25 && (ts[n - 6] == '+' || ts[n - 6] == '-') && digit(n - 5) &&
                             digit(n - 4) && ts[n - 3] == ':' && digit(n - 2) && digit(n - 1));
    if (ts[10] != 'T' || !offset) return std::nullopt;
    // time-secfrac is "." 1*DIGIT: no comma, no empty fraction.
    if (ts[19] == '.' ? !digit(20) : ts[19] != 'Z' && ts[19] != '+' && ts[19] != '-')
        return std::nullopt;
    const int y = number(0, 4), m = number(5, 2), d = number(8, 2);
    static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m < 1 || m > 12 || d < 1 || d > month_days[m - 1] + (m == 2 && leap ? 1 : 0))
        return std::nullopt;
    const auto p = parse_log_timestamp(ts, year_hint{});
    if (!p || p->length != ts.size()) return std::nullopt;
    return p->unix_seconds;
}

}  // namespace

bool parse_association_line(std::string_view line, association_line& out, std::string& error) {
    // The parser takes a NUL byte for the end of its input: what followed would be lost.
    if (const std::size_t nul = line.find('\0'); nul != std::string_view::npos) {
        error = "invalid JSON (a NUL byte at column " + std::to_string(nul + 1) + ")";
        return false;
    }
    // A key given twice in one object: the parser keeps the last, so two sensors (or a
    // forged tail) could disagree about which value counts. The schema has one of each.
    std::vector<std::vector<std::string>> keys;  // per open object, its keys so far
    std::string duplicate;
    const nlohmann::json::parser_callback_t cb = [&](int, nlohmann::json::parse_event_t event,
                                                     nlohmann::json& parsed) {
        using ev = nlohmann::json::parse_event_t;
        if (event == ev::object_start) {
            keys.emplace_back();
        } else if (event == ev::object_end) {
            if (!keys.empty()) keys.pop_back();
        } else if (event == ev::key && !keys.empty() && parsed.is_string()) {
            const auto& k = parsed.get_ref<const std::string&>();
            auto& seen = keys.back();
            if (duplicate.empty() && std::find(seen.begin(), seen.end(), k) != seen.end())
                duplicate = k;
            seen.push_back(k);
        }
        return true;
    };
    const nlohmann::json j = nlohmann::json::parse(line, cb, false);
    if (j.is_discarded()) {
        error = "invalid JSON";
        return false;
    }
    if (!duplicate.empty()) {
        // Quoted as JSON: a key can hold any bytes.
        error = "duplicated key " + nlohmann::json(duplicate).dump(
                                        -1, ' ', false, nlohmann::json::error_handler_t::replace);
        return false;
    }
    if (!j.is_object()) {
        error = "not a JSON object";
        return false;
    }
    // Every missing field is named, in the schema's order.
    auto need = [&](const char* name) -> const nlohmann::json* {
        auto it = j.find(name);
        if (it == j.end()) {
            error += (error.empty() ? "missing field " : ", ") + std::string(name);
            return nullptr;
        }
        return &*it;
    };
    error.clear();
    const auto* v = need("v");
    const auto* v6 = need("ipv6");
    const auto* v4 = need("ipv4");
    const auto* t = need("time");
    const auto* s = need("strength");
    if (!v) return false;
    // get<int>() would wrap 2^32 + 1 to 1; a 64-bit compare only matches 1 itself
    if (v->is_number_float() && v->get<double>() == association_schema_version) {
        error = "v is not an integer";
        return false;
    }
    if (!v->is_number_integer() || v->get<std::int64_t>() != association_schema_version) {
        // Only a number is quoted back: dumping a value nested thousands deep recurses as
        // deep (it overflowed the stack under ASan).
        error =
            "unsupported version " + (v->is_number() ? v->dump() : std::string("(not a number)"));
        return false;
    }
    if (!v6 || !v4 || !t || !s) return false;
    out = association_line{};
    if (!v6->is_string()) {
        error = "ipv6 is not a string";
        return false;
    }
    const std::string& v6text = v6->get_ref<const std::string&>();
    // inet_pton stops at an escaped NUL ("2001:db8::1\u0000junk")
    const auto addr =
        v6text.find('\0') == std::string::npos ? store::parse_address(v6text) : std::nullopt;
    // ::ffff:a.b.c.d (IPv4-mapped, RFC 4291 2.5.5.2) is an IPv4 in IPv6 clothes
    const bool v4_mapped =
        addr && std::all_of(addr->begin(), addr->begin() + 10, [](auto b) { return b == 0; }) &&
        addr->at(10) == 0xff && addr->at(11) == 0xff;
    if (!addr) {
        error = "ipv6 is not an IPv6 address";
        return false;
    }
    if (v4_mapped) {
        error = "ipv6 is IPv4-mapped (::ffff:a.b.c.d), not an IPv6 address";
        return false;
    }
    if (ipv6_in_zero_64(*addr)) {
        // ::/64 holds the unspecified, loopback and IPv4-compatible addresses, no sender's
        // (and covers ::ffff:127.0.0.1, which RFC 5782 says is never listed).
        error = "ipv6 is in ::/64, not a sender's address";
        return false;
    }
    if (ipv6_link_local_or_multicast(*addr)) {
        error = (*addr)[0] == 0xff ? "ipv6 is multicast (ff00::/8), not a sender's address"
                                   : "ipv6 is link-local (fe80::/10), not a sender's address";
        return false;
    }
    out.assoc.ipv6 = *addr;
    if (!v4->is_string() || !parse_ipv4(v4->get<std::string>(), out.assoc.ipv4)) {
        error = "ipv4 is not a dotted quad";
        return false;
    }
    // "This network", loopback, link-local, multicast and the reserved block (the broadcast
    // address in it): no sender's address; a sensor takes no SYN from there either
    // (syn_decoder).
    if (ipv4_no_sender(out.assoc.ipv4)) {
        error =
            "ipv4 is in 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16 or 224.0.0.0/3, not a "
            "sender's address";
        return false;
    }
    // Time 0 is the store's "unset": no sensor's time (both forms need 1970-01-01T00:00:01Z
    // or later).
    if (t->is_number()) {
        const double secs = t->get<double>();
        if (!(secs >= 1 && secs < 4294967296.0)) {
            error = "time out of range";
            return false;
        }
        out.assoc.time_us = static_cast<std::int64_t>(secs * 1e6);
    } else if (t->is_string()) {
        const auto secs = rfc3339_seconds(t->get<std::string>());
        if (!secs) {
            error = "time is not RFC 3339";
            return false;
        }
        if (*secs < 1 || *secs >= 4294967296LL) {
            error = "time out of range";
            return false;
        }
        out.assoc.time_us = *secs * 1'000'000;
    } else {
        error = "time is neither a number nor a string";
        return false;
    }
    if (!s->is_number() || s->get<double>() < 0.0 || s->get<double>() > 1.0) {
        error = "strength is not a number in [0, 1]";
        return false;
    }
    // Thousandths, cut and not rounded: 0.5995 is below a 0.6 listing threshold, and stays
    // so (rounded, it was stored as 600 and listed). The 1e-6 keeps a value written from
    // thousandths (0.6, which is 599.99999999999997 thousandths in binary) at its value.
    out.assoc.strength_milli =
        static_cast<std::uint16_t>(std::floor(s->get<double>() * 1000.0 + 1e-6));
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
        // Whether the IPv4 was rejected is `ipv4_rejected`'s to say, and the writer's to
        // mark: a line naming the signal while saying false was stored as rejected, and a
        // later genuine rejection of that IPv4 was then not counted.
        out.assoc.signals &= static_cast<std::uint16_t>(~sig_ipv4_rejected);
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
            error = "sensor is not a string of at most 64 bytes";
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
