// Real peers serve our exports: NSD answers the zone file and rbldnsd the ip6trie data
// exactly as the zone tree's specification says, on a sample of names (incl. names under
// empty non-terminals inside an escalated /48, holes and the RFC 5782 test points).
#include <catch2/catch.hpp>

#include "v6bl/store/store.h"
#include "v6bl/zones/atomic_file.h"
#include "v6bl/zones/zone_export.h"
#include "zone_test_support.h"

using namespace v6bl;
namespace zt = v6bl::zones::testing;

namespace {

const std::string zone_name = "dnsbl6.example.org";

void export_file(const zt::sample_store& s, zones::export_format format, const std::string& path) {
    zones::zone_config config;
    config.zone = zone_name;
    config.ns_names = {"ns1.example.net"};
    store::store_options options;
    options.path = s.db;
    options.create_if_missing = false;
    auto db = store::reputation_store::open_read_only(options);
    zones::atomic_file file(path);
    zones::export_published(*db, config, s.policy, s.now, format, file.stream());
    file.commit();
}

std::string describe_reply(const zt::dns_reply& r) {
    if (!r.ok) return "no reply";
    if (r.rcode == 3) return "NXDOMAIN";
    if (r.rcode != 0) return "rcode " + std::to_string(r.rcode);
    if (r.a.empty()) return "NODATA";
    return "listed " + r.a.front().substr(r.a.front().rfind('.') + 1);
}

std::string describe_expected(const zt::expected_answer& a) {
    switch (a.what) {
        case zt::expected_answer::kind::nxdomain:
            return "NXDOMAIN";
        case zt::expected_answer::kind::nodata:
            return "NODATA";
        case zt::expected_answer::kind::listed:
            return "listed " + std::to_string(a.code);
    }
    return "?";
}

}  // namespace

TEST_CASE("NSD serving the exported zone answers as specified", "[zones][peers][nsd]") {
    REQUIRE(zt::tool_exists("nsd"));
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    export_file(s, zones::export_format::zone, dir.file("z.zone"));
    const int port = zt::free_port();
    zt::write_text(dir.file("nsd.conf"),
                   "server:\n"
                   "  ip-address: 127.0.0.1@" +
                       std::to_string(port) +
                       "\n"
                       "  port: " +
                       std::to_string(port) +
                       "\n"
                       "  username: \"\"\n  chroot: \"\"\n  database: \"\"\n"
                       "  zonesdir: \"" +
                       dir.path() +
                       "\"\n"
                       "  pidfile: \"" +
                       dir.file("nsd.pid") +
                       "\"\n"
                       "  xfrdfile: \"" +
                       dir.file("xfrd.state") +
                       "\"\n"
                       "  zonelistfile: \"" +
                       dir.file("zone.list") +
                       "\"\n"
                       "  xfrdir: \"" +
                       dir.path() +
                       "\"\n"
                       "  server-count: 1\n  rrl-ratelimit: 0\n  verbosity: 1\n"
                       "remote-control:\n  control-enable: no\n"
                       "zone:\n  name: " +
                       zone_name + "\n  zonefile: \"" + dir.file("z.zone") + "\"\n");
    zt::child_process nsd({"nsd", "-d", "-c", dir.file("nsd.conf")}, dir.file("nsd.log"));
    INFO(zt::read_text(dir.file("nsd.log")));
    REQUIRE(zt::wait_for_zone(port, zone_name, 10000));

    int listed = 0, nodata = 0, nxdomain = 0;
    for (const store::prefix& name : zt::sample_names(s, false)) {
        const zt::expected_answer want = zt::reference_answer(s.entries, s.holes, name);
        const std::string qname = zt::query_name(name, name.length / 4, zone_name);
        const zt::dns_reply got = zt::dns_query(port, qname, "A");
        INFO("query " << qname << " (" << store::format_prefix(name) << ")");
        REQUIRE(describe_reply(got) == describe_expected(want));
        CHECK(got.aa);
        if (want.what == zt::expected_answer::kind::listed) ++listed;
        if (want.what == zt::expected_answer::kind::nodata) ++nodata;
        if (want.what == zt::expected_answer::kind::nxdomain) {
            ++nxdomain;
            CHECK(got.soa_in_authority);
        }
    }
    CHECK(listed > 100);
    CHECK(nodata > 50);
    CHECK(nxdomain > 50);

    // a name under an empty non-terminal inside the escalated /48 2001:db8:2::/48: its
    // /52../60 nodes exist (ancestors of the listed /64s), yet the /48 still answers
    const auto ent = store::make_prefix(*store::parse_address("2001:db8:2:a::1"), 128);
    CHECK(describe_reply(zt::dns_query(port, zt::query_name(ent, 32, zone_name), "A")) ==
          "listed 4");
    const auto hole = store::make_prefix(*store::parse_address("2001:db8:2:5::1"), 128);
    CHECK(describe_reply(zt::dns_query(port, zt::query_name(hole, 32, zone_name), "A")) ==
          "NXDOMAIN");
    const zt::dns_reply hole_txt = zt::dns_query(port, zt::query_name(hole, 16, zone_name), "TXT");
    REQUIRE(hole_txt.txt.size() == 1);
    CHECK(hole_txt.txt[0] == "v6bl: 2001:db8:2:5::/64 is allowlisted");

    // RFC 5782 test points, both forms
    CHECK(describe_reply(zt::dns_query(port, "2.0.0.127." + zone_name + ".", "A")) == "listed 2");
    CHECK(zt::dns_query(port, "2.0.0.127." + zone_name + ".", "TXT").txt.size() == 1);
    CHECK(describe_reply(zt::dns_query(port, "1.0.0.127." + zone_name + ".", "A")) == "NXDOMAIN");
    const auto test_point = *store::parse_prefix("::ffff:127.0.0.2", false);
    CHECK(describe_reply(zt::dns_query(port, zt::query_name(test_point, 32, zone_name), "A")) ==
          "listed 2");

    // the TXT of a listed name is the listing's text
    const auto host = store::make_prefix(*store::parse_address("2001:db8:1:2:5::9"), 128);
    const zt::dns_reply txt = zt::dns_query(port, zt::query_name(host, 32, zone_name), "TXT");
    REQUIRE(txt.txt.size() == 1);
    CHECK(txt.txt[0].find("2001:db8:1:2:5::/80") != std::string::npos);
}

TEST_CASE("rbldnsd loads the rbldnsd export and gives the specified A answers",
          "[zones][peers][rbldnsd]") {
    REQUIRE(zt::tool_exists("rbldnsd"));
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    export_file(s, zones::export_format::rbldnsd, dir.file("v6bl.data"));
    const int port = zt::free_port();
    zt::child_process rbldnsd({"rbldnsd", "-n", "-f", "-b", "127.0.0.1/" + std::to_string(port),
                               "-r", dir.path(), "-q", zone_name + ":ip6trie:v6bl.data"},
                              dir.file("rbldnsd.log"));
    INFO(zt::read_text(dir.file("rbldnsd.log")));
    REQUIRE(zt::wait_for_zone(port, zone_name, 10000));

    int listed = 0, unlisted = 0;
    for (const store::prefix& name : zt::sample_names(s, true)) {
        const zt::expected_answer want = zt::reference_answer(s.entries, s.holes, name);
        const std::string qname = zt::query_name(name, 32, zone_name);
        const zt::dns_reply got = zt::dns_query(port, qname, "A");
        INFO("query " << qname << " (" << store::format_prefix(name) << ")");
        REQUIRE(got.ok);
        if (want.what == zt::expected_answer::kind::listed) {
            ++listed;
            REQUIRE(got.a.size() == 1);
            CHECK(got.a[0] == "127.0.0." + std::to_string(want.code));
        } else {
            ++unlisted;
            CHECK(got.rcode == 3);
            CHECK(got.a.empty());
        }
    }
    CHECK(listed > 50);
    CHECK(unlisted > 20);
    // the TXT keeps a literal '$' (written as "$$" for rbldnsd)
    const auto odd = store::make_prefix(*store::parse_address("2001:db8:6:1::1"), 128);
    const zt::dns_reply txt = zt::dns_query(port, zt::query_name(odd, 32, zone_name), "TXT");
    REQUIRE(txt.txt.size() == 1);
    CHECK(txt.txt[0].find("a /62 $$") != std::string::npos);
}
