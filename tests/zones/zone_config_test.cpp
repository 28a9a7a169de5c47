// zone_config_problem: the names and glue serve and export refuse alike.
#include <catch2/catch.hpp>

#include "v6bl/zones/zone_config.h"

using namespace v6bl;

TEST_CASE("the default zone config and usual names have no problem", "[zones][zone_config]") {
    zones::zone_config c;
    CHECK(zones::zone_config_problem(c).empty());
    c.ns_names = {"ns1.dnsbl6.example.org.", "NS2.Example.NET"};
    c.soa_rname = "john.doe@example.org";
    c.ns_addresses = {"ns1.dnsbl6.example.org=192.0.2.53", "ns1.dnsbl6.example.org=2001:db8::53"};
    CHECK(zones::zone_config_problem(c).empty());
    // An out-of-zone NS name's glue is accepted (one config for several zones), and is no
    // zone data.
    c.ns_addresses.push_back("ns2.example.net.=192.0.2.54");
    CHECK(zones::zone_config_problem(c).empty());
    CHECK(zones::glue_is_zone_data(c, "ns1.dnsbl6.example.org=192.0.2.53"));
    CHECK(zones::glue_is_zone_data(c, "NS1.DNSBL6.example.org.=192.0.2.53"));
    CHECK_FALSE(zones::glue_is_zone_data(c, "ns2.example.net.=192.0.2.54"));
    c.zone = "example.org";
    CHECK_FALSE(zones::glue_is_zone_data(c, "ns1.badexample.org=192.0.2.1"));
    CHECK(zones::glue_is_zone_data(c, "example.org=192.0.2.1"));
}

TEST_CASE("bad NS names, SOA mailboxes and NS addresses are named", "[zones][zone_config]") {
    const auto problem_with = [](auto change) {
        zones::zone_config c;
        change(c);
        return zones::zone_config_problem(c);
    };
    using zc = zones::zone_config;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {problem_with([](zc& c) { c.ns_names = {""}; }), "--ns '': the name is empty"},
        {problem_with([](zc& c) { c.ns_names = {"."}; }), "--ns '.': the name is empty"},
        {problem_with([](zc& c) { c.ns_names = {}; }), "at least one NS name"},
        {problem_with([](zc& c) {
             c.ns_names = {"ns1.example.org", "a b.example"};
         }),
         "--ns 'a b.example'"},
        {problem_with([](zc& c) { c.ns_names = {"ns1..example"}; }), "an empty label"},
        {problem_with([](zc& c) { c.ns_names = {std::string(64, 'a') + ".example"}; }),
         "longer than 63"},
        {problem_with([](zc& c) { c.soa_rname = ""; }), "--soa-rname '': the mailbox's domain"},
        {problem_with([](zc& c) { c.soa_rname = "@example.org"; }), "local part"},
        {problem_with([](zc& c) { c.soa_rname = "a b@example.org"; }), "local part"},
        {problem_with([](zc& c) { c.soa_rname = "me@"; }), "the mailbox's domain is empty"},
        {problem_with([](zc& c) {
             c.soa_rname = std::string(63, 'm') + "@" + std::string(60, 'a') + "." +
                           std::string(60, 'b') + "." + std::string(60, 'c') + ".example";
         }),
         "longer than a domain name can be"},
        {problem_with([](zc& c) { c.ns_addresses = {"garbage"}; }),
         "NS address 'garbage': want NAME=ADDRESS"},
        {problem_with([](zc& c) { c.ns_addresses = {"ns1.dnsbl6.example.org=bogus"}; }),
         "bad address"},
        {problem_with([](zc& c) { c.ns_addresses = {"ns1.dnsbl6.example.org=192.0.2.300"}; }),
         "bad address"},
        {problem_with([](zc& c) { c.ns_addresses = {"=192.0.2.1"}; }), "the name is empty"},
        {problem_with([](zc& c) { c.zone = "a;b"; }), "--zone 'a;b'"},
        // Glue only for in-zone NS names (out-of-zone data in the zone file, or an A
        // record in every positive answer).
        {problem_with([](zc& c) { c.ns_addresses = {"www.dnsbl6.example.org=192.0.2.1"}; }),
         "www.dnsbl6.example.org is none of the --ns names"},

    };
    for (const auto& [got, want] : cases) {
        INFO("want '" << want << "', got '" << got << "'");
        CHECK(got.find(want) != std::string::npos);
    }
}
