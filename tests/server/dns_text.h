// Test helpers: build queries and render responses as stable text with ldns (an independent
// DNS implementation), so golden files, loopback and NSD differential tests compare text.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace v6bl::server::test {

struct query_options {
    bool edns = false;
    bool dnssec_ok = false;
    std::uint16_t bufsize = 1232;
    std::uint8_t edns_version = 0;
    bool rd = false;
    bool cd = false;
    std::uint16_t id = 4242;
    std::uint16_t qclass = 1;
};

// "@2001:db8::1" becomes the 32-nibble name of that address under `zone`, "@2001:db8::/60"
// the nibbles of that prefix; anything else is taken as a domain name.
std::string expand_name(const std::string& spec, const std::string& zone);

// Builds a query with ldns. Throws std::runtime_error on a bad name or type.
std::vector<std::uint8_t> make_query(const std::string& name, const std::string& type,
                                     const query_options& opts);

// "NOERROR qr aa rd" then "edns udp=1232 do" (when an OPT is present), then one line per
// record: "an <rr>", "ns <rr>", "ar <rr>", each section sorted. "unparsable" when ldns
// cannot read the message, "drop" for an empty one.
std::string describe_response(std::span<const std::uint8_t> response);

// Hex bytes ("0001 0100 ...", spaces ignored) to bytes.
std::vector<std::uint8_t> from_hex(const std::string& hex);

}  // namespace v6bl::server::test
