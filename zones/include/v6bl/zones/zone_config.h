// The published zone's identity: name, SOA, NS, TTLs and TXT template. Immutable per start.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace v6bl::zones {

struct zone_config {
    std::string zone = "dnsbl6.example.org";          // no trailing dot, lower case
    std::vector<std::string> ns_names = {"ns1.dnsbl6.example.org"};
    std::string soa_rname = "hostmaster.dnsbl6.example.org";
    std::uint32_t soa_refresh = 3600;
    std::uint32_t soa_retry = 600;
    std::uint32_t soa_expire = 604800;
    std::uint32_t soa_minimum = 300;                  // negative-caching TTL (RFC 2308)
    std::uint32_t soa_ttl = 300;
    std::uint32_t ns_ttl = 3600;
    std::uint32_t listing_ttl = 300;                  // TTL of listing A and TXT records
    std::string url_template = "https://dnsbl6.example.org/lookup/{prefix}";
    std::uint16_t edns_udp_size = 1232;               // what we advertise (DNS flag day 2020)
};

}  // namespace v6bl::zones
