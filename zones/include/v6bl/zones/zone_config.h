// The published zone's identity: name, SOA, NS, TTLs and TXT template. Immutable per start.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace v6bl::zones {

struct zone_config {
    std::string zone = "dnsbl6.example.org";  // no trailing dot, lower case
    std::vector<std::string> ns_names = {"ns1.dnsbl6.example.org"};
    std::string soa_rname = "hostmaster.dnsbl6.example.org";
    std::uint32_t soa_refresh = 3600;
    std::uint32_t soa_retry = 600;
    std::uint32_t soa_expire = 604800;
    std::uint32_t soa_minimum = 300;  // negative-caching TTL (RFC 2308)
    std::uint32_t soa_ttl = 300;
    std::uint32_t ns_ttl = 3600;
    // Glue for NS names inside the zone: "ns1.dnsbl6.example.org=192.0.2.53" (A or AAAA,
    // TTL ns_ttl). Written into the zone file and transfers; without it a zone whose NS is
    // in-zone fails kzonecheck ("missing glue record").
    std::vector<std::string> ns_addresses;
    std::uint32_t listing_ttl = 300;  // TTL of listing A and TXT records
    std::string url_template = "https://dnsbl6.example.org/lookup/{prefix}";
    std::uint16_t edns_udp_size = 1232;  // what we advertise (DNS flag day 2020)

    // Zone transfers (docs/zones.md "Publishing to secondaries"). A transfer is allowed from
    // a source inside `transfer_allow`, or from anywhere with a valid TSIG signed by one of
    // `transfer_tsig`; with `transfer_require_tsig` both are needed (source when the list is
    // not empty, and a valid key). Everyone else gets REFUSED, a bad signature NOTAUTH.
    std::vector<std::string> transfer_allow;  // "127.0.0.1/32", "2001:db8::/48"
    std::vector<std::string> transfer_tsig;   // "[ALGORITHM:]NAME:BASE64SECRET"
    bool transfer_require_tsig = false;
    // NOTIFY (RFC 1996) targets on every serial change: "127.0.0.1:5300", "[::1]:53".
    std::vector<std::string> notify_targets;
    std::string notify_tsig;  // "[ALGORITHM:]NAME:BASE64SECRET" or empty
};

// Why `config`'s names cannot be published, or "" when they can: the zone (zone_name_problem),
// each NS name (at least one; host-name labels, a trailing dot allowed), the SOA mailbox
// (NAME or LOCAL@NAME, its local part one label of at most 63 octets) and each NS address
// (NAME=ADDRESS: NAME one of the NS names, ADDRESS an IPv4 or IPv6 address). Found before anything
// is opened, so that `serve` and `export` refuse the same settings with the same exit (64).
std::string zone_config_problem(const zone_config& config);

// Whether the NS address NAME=ADDRESS is zone data: NAME inside the zone. Glue of an NS name
// outside it is left out (out-of-zone data, which nsd-checkzone refuses).
bool glue_is_zone_data(const zone_config& config, std::string_view ns_address);

}  // namespace v6bl::zones
