// The checks of zone_config's names and glue that `serve` and `export` share.
#include "v6bl/zones/zone_config.h"

#include <arpa/inet.h>

#include <cctype>
#include <string_view>

#include "v6bl/zones/nibble_name.h"

namespace v6bl::zones {
namespace {

// Why `name` (one trailing dot allowed) is not a host name of at most 253 characters; "".
std::string host_name_problem(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    return zones::host_name_problem(name, 253);
}

// Lower case, without a trailing dot: names as compared.
std::string canonical(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    std::string out(name);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

bool glue_is_zone_data(const zone_config& config, std::string_view ns_address) {
    const std::string name = canonical(ns_address.substr(0, ns_address.find('=')));
    const std::string zone = canonical(config.zone);
    return name == zone || (name.size() > zone.size() && name.ends_with("." + zone));
}

std::string zone_config_problem(const zone_config& config) {
    if (const std::string p = zone_name_problem(config.zone); !p.empty())
        return "--zone '" + config.zone + "': " + p;
    if (config.ns_names.empty()) return "--ns: the zone needs at least one NS name";
    for (const std::string& ns : config.ns_names)
        if (const std::string p = host_name_problem(ns); !p.empty())
            return "--ns '" + ns + "': the name " + p;
    const std::string_view rname = config.soa_rname;
    const auto at = rname.find('@');
    if (at != std::string_view::npos) {
        const std::string_view local = rname.substr(0, at);
        if (local.empty() || local.size() > 63)
            return "--soa-rname '" + config.soa_rname +
                   "': the mailbox's local part must be 1 to 63 characters";
        for (const char c : local)
            if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '@' || c == '"' ||
                c == '(' || c == ')' || c == ';')
                return "--soa-rname '" + config.soa_rname +
                       "': the mailbox's local part holds a character a zone file cannot carry";
    }
    const std::string_view domain = at == std::string_view::npos ? rname : rname.substr(at + 1);
    if (const std::string p = host_name_problem(domain); !p.empty())
        return "--soa-rname '" + config.soa_rname + "': the mailbox's domain " + p;
    // On the wire: a length octet per label and the root (RFC 1035 3.1: at most 255).
    if (at != std::string_view::npos && domain.size() + at + 3 > 255)
        return "--soa-rname '" + config.soa_rname + "': longer than a domain name can be";
    for (const std::string& spec : config.ns_addresses) {
        const auto eq = spec.find('=');
        if (eq == std::string::npos) return "NS address '" + spec + "': want NAME=ADDRESS";
        if (const std::string p = host_name_problem(std::string_view(spec).substr(0, eq));
            !p.empty())
            return "NS address '" + spec + "': the name " + p;
        const std::string address = spec.substr(eq + 1);
        unsigned char bytes[16];
        if (inet_pton(address.find(':') == std::string::npos ? AF_INET : AF_INET6, address.c_str(),
                      bytes) != 1)
            return "NS address '" + spec + "': bad address";
        // Glue is an NS name's address: another in-zone name's was an A record added to
        // every positive answer (helper-52). An out-of-zone NS name's is left out of the
        // zone (glue_is_zone_data), as serve always did: one config may serve several zones.
        const std::string name = canonical(std::string_view(spec).substr(0, eq));
        bool is_ns = false;
        for (const std::string& ns : config.ns_names) is_ns = is_ns || canonical(ns) == name;
        if (!is_ns)
            return "NS address '" + spec + "': " + name +
                   " is none of the --ns names (glue is for NS names only)";
    }
    return {};
}

}  // namespace v6bl::zones
