// Export: zone file checked by nsd-checkzone and kzonecheck, rbldnsd and JSON formats,
// both zone text modes identical, and the RFC 5782 test points present.
#include <catch2/catch.hpp>

#include <sstream>

#include "v6bl/store/store.h"
#include "v6bl/zones/atomic_file.h"
#include "v6bl/zones/zone_export.h"
#include "zone_test_support.h"

using namespace v6bl;
namespace zt = v6bl::zones::testing;

namespace {

zones::zone_config test_config() {
    zones::zone_config c;
    c.zone = "dnsbl6.example.org";
    c.ns_names = {"ns1.dnsbl6.example.org", "ns2.example.net"};
    c.ns_addresses = {"ns1.dnsbl6.example.org=192.0.2.53"};
    c.url_template = "https://dnsbl6.example.org/lookup/{prefix}";
    return c;
}

std::string export_to(const zt::sample_store& s, const zones::zone_config& config,
                      zones::export_format format, const std::string& path,
                      zones::zone_text_mode mode = zones::zone_text_mode::direct) {
    store::store_options options;
    options.path = s.db;
    options.create_if_missing = false;
    auto db = store::reputation_store::open_read_only(options);
    zones::atomic_file file(path);
    zones::export_published(*db, config, s.policy, s.now, format, file.stream(), mode);
    file.commit();
    return zt::read_text(path);
}

std::size_t count_lines(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.find(needle) != std::string::npos) ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("the exported zone passes nsd-checkzone and kzonecheck", "[zones][export][peers]") {
    REQUIRE(zt::tool_exists("nsd-checkzone"));
    REQUIRE(zt::tool_exists("kzonecheck"));
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    const std::string zone =
        export_to(s, test_config(), zones::export_format::zone, dir.file("z.zone"));
    std::string out;
    CHECK(zt::run_command("nsd-checkzone dnsbl6.example.org " + dir.file("z.zone"), &out) == 0);
    INFO(out);
    CHECK(zt::run_command("kzonecheck -o dnsbl6.example.org " + dir.file("z.zone"), &out) == 0);
    INFO(out);

    // the serial is the store's, the test points are there, 127.0.0.1 is not
    CHECK(zone.find("SOA\tns1.dnsbl6.example.org. hostmaster.dnsbl6.example.org. " +
                    std::to_string(s.serial) + " ") != std::string::npos);
    CHECK(count_lines(zone,
                      "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                      "dnsbl6.example.org.\t300\tIN\tA\t127.0.0.2") == 1);
    CHECK(count_lines(zone, "2.0.0.127.dnsbl6.example.org.\t300\tIN\tA\t127.0.0.2") == 1);
    CHECK(count_lines(zone, "2.0.0.127.dnsbl6.example.org.\t300\tIN\tTXT") == 1);
    CHECK(count_lines(zone, "1.0.0.127.") == 0);
    CHECK(count_lines(zone, "1.0.0.0.0.0.f.7.f.f.f.f.0") == 0);
    // a broken zone must fail the checker (the check can fail)
    zt::write_text(dir.file("bad.zone"), zone + "*.x.dnsbl6.example.org. 300 IN A 999.0.0.1\n");
    CHECK(zt::run_command("nsd-checkzone dnsbl6.example.org " + dir.file("bad.zone")) != 0);
}

TEST_CASE("a mailbox with a dot in its local part is one label of the SOA's RNAME",
          "[zones][export]") {
    REQUIRE(zt::tool_exists("nsd-checkzone"));
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    zones::zone_config c = test_config();
    c.soa_rname = "john.doe@example.org";
    const std::string zone = export_to(s, c, zones::export_format::zone, dir.file("z.zone"));
    CHECK(zone.find(" john\\.doe.example.org. " + std::to_string(s.serial) + " ") !=
          std::string::npos);
    std::string out;
    CHECK(zt::run_command("nsd-checkzone dnsbl6.example.org " + dir.file("z.zone"), &out) == 0);
    INFO(out);
    const std::string data = export_to(s, c, zones::export_format::rbldnsd, dir.file("r.data"));
    CHECK(data.find(" john\\.doe.example.org. ") != std::string::npos);
    // Given as a name, it stays as it was.
    c.soa_rname = "hostmaster.example.org";
    CHECK(export_to(s, c, zones::export_format::zone, dir.file("h.zone"))
              .find(" hostmaster.example.org. ") != std::string::npos);
}

TEST_CASE("both zone text modes write the same records", "[zones][export]") {
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    const std::string fast = export_to(s, test_config(), zones::export_format::zone,
                                       dir.file("a.zone"), zones::zone_text_mode::direct);
    const std::string slow = export_to(s, test_config(), zones::export_format::zone,
                                       dir.file("b.zone"), zones::zone_text_mode::ldns_records);
    CHECK(fast == slow);
    // TXT with special characters is escaped by ldns: '$' is plain in a zone file
    CHECK(fast.find("a /62 $$") != std::string::npos);
}

TEST_CASE("rbldnsd export has $SOA, $NS, codes, TXT with $ escaped and ! holes",
          "[zones][export]") {
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    const std::string data =
        export_to(s, test_config(), zones::export_format::rbldnsd, dir.file("r.data"));
    CHECK(data.find("$SOA 300 ns1.dnsbl6.example.org. hostmaster.dnsbl6.example.org. " +
                    std::to_string(s.serial) + " 3600 600 604800 300\n") != std::string::npos);
    CHECK(data.find("$NS 3600 ns1.dnsbl6.example.org. ns2.example.net.\n") != std::string::npos);
    CHECK(data.find("\n2001:db8:1:0:0:0:0:0/48 :127.0.0.10:") != std::string::npos);
    CHECK(data.find("\n!2001:db8:1:7:0:0:0:0/64\n") != std::string::npos);
    CHECK(data.find("a /62 $$$$") != std::string::npos);  // "$$" in text -> "$$$$"
    CHECK(count_lines(data, " :127.0.0.") == s.entries.size());
    CHECK(count_lines(data, "!") == s.holes.size());
}

TEST_CASE("json export has one object per listing and per hole", "[zones][export]") {
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    const std::string data =
        export_to(s, test_config(), zones::export_format::json, dir.file("l.json"));
    CHECK(count_lines(data, "\"kind\":\"listing\"") == s.entries.size());
    CHECK(count_lines(data, "\"kind\":\"hole\"") == s.holes.size());
    CHECK(count_lines(data, "\"prefix\":\"2001:db8:2::/48\"") == 1);  // escalated
    CHECK(count_lines(data, "\"code\":4") >= 2);
}
