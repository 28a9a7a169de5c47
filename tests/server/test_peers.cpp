// Real peers on loopback: NSD serving `v6bl export --format zone` of the same store must
// answer exactly as `v6bl serve` (rcode, flags, every record); unbound with QNAME
// minimisation, stub-zoned to `v6bl serve`, resolves listed and unlisted names.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "serve_fixture.h"
#include "v6bl/store/prefix.h"

using namespace v6bl::server::test;

namespace {

bool has(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

const std::string zone = "dnsbl6.example.org";

std::string nibble_name(const std::array<std::uint8_t, 16>& a, int nibbles) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string name;
    for (int i = nibbles - 1; i >= 0; --i) {
        const std::uint8_t b = a[static_cast<std::size_t>(i / 2)];
        name.push_back(hex[(i % 2 == 0) ? (b >> 4) : (b & 0x0f)]);
        name.push_back('.');
    }
    return name + zone + ".";
}

std::array<std::uint8_t, 16> parse6(const std::string& text) {
    std::array<std::uint8_t, 16> a{};
    auto p = v6bl::store::parse_address(text);
    if (p) a = *p;
    return a;
}

std::string nsd_conf(const std::string& dir, std::uint16_t port, const std::string& zonefile) {
    const std::string p = std::to_string(port);
    return "server:\n  ip-address: 127.0.0.1@" + p + "\n  port: " + p +
           "\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"" + dir +
           "\"\n  database: \"\"\n"
           "  pidfile: \"" +
           dir + "/nsd.pid\"\n  xfrdfile: \"" + dir +
           "/xfrd.state\"\n"
           "  zonelistfile: \"" +
           dir +
           "/zone.list\"\n  rrl-ratelimit: 0\n  hide-version: yes\n"
           "  hide-identity: yes\n  verbosity: 1\n  server-count: 1\n"
           "remote-control:\n  control-enable: no\n"
           "zone:\n  name: " +
           zone + "\n  zonefile: \"" + zonefile + "\"\n";
}

// Adds random listings and holes to f's store, exports it with `zone_flags` (the flags f's
// server runs with), loads it into NSD and compares thousands of answers.
void nsd_differential(serve_fixture& f, const std::vector<std::string>& zone_flags, int count) {
    if (!std::filesystem::exists("/usr/sbin/nsd")) {
        WARN("SKIP: nsd is not installed (Debian package nsd)");
        return;
    }
    std::string flags;
    for (const auto& z : zone_flags) flags += " '" + z + "'";
    // More listings than the shared set: random /64s, /56s, /48s and /128s, nested ones, holes.
    std::mt19937_64 rng(1124);
    std::vector<std::string> listed;
    std::string extra;
    const char* codes[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.10"};
    for (int i = 0; i < count; ++i) {
        char buf[128];
        const unsigned a = static_cast<unsigned>(rng() % 64),
                       b = static_cast<unsigned>(rng() & 0xffff),
                       c = static_cast<unsigned>(rng() & 0xffff);
        const int kind = static_cast<int>(rng() % 10);
        if (kind < 6)
            std::snprintf(buf, sizeof buf, "2001:db8:%x:%x::/64", 0x1000 + a, b);
        else if (kind < 8)
            std::snprintf(buf, sizeof buf, "2001:db8:%x:%x00::/56", 0x1000 + a, b & 0xff);
        else if (kind < 9)
            std::snprintf(buf, sizeof buf, "2001:db8:%x::/48", 0x1000 + a);
        else
            std::snprintf(buf, sizeof buf, "2001:db8:%x:%x::%x/128", 0x1000 + a, b, c);
        listed.push_back(buf);
        extra += std::string(buf) + " " + codes[rng() % 4] + "\n";
    }
    const std::string file = f.dir + "/diff-listings.txt";
    std::ofstream(file) << extra;
    int st = 0;
    REQUIRE(f.v6bl("import --db " + f.db + " " + file, &st).size() > 0);
    REQUIRE(st == 0);
    std::vector<std::string> holes = {"2001:db8:ff:10::/64"};
    for (int i = 0; i < 5; ++i) {
        const std::string base = listed[static_cast<std::size_t>(rng() % listed.size())];
        if (base.find("/48") == std::string::npos && base.find("/56") == std::string::npos)
            continue;
        const std::string hole = base.substr(0, base.find("::")) + ":" +
                                 (base.find("/48") != std::string::npos ? "77" : "") + "::/64";
        if (!v6bl::store::parse_prefix(hole, false)) continue;
        f.v6bl("allow --db " + f.db + " " + hole, &st);
        if (st == 0) holes.push_back(hole);
    }
    // Let serve catch up (allowlisting triggers a full rebuild).
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));

    const std::string zonefile = f.dir + "/export.zone";
    const auto export_out = f.v6bl(
        "export --db " + f.db + " --zone " + zone + flags + " --format zone --out " + zonefile,
        &st);
    if (st != 0 || !std::filesystem::exists(zonefile)) {
        WARN("SKIP: `v6bl export --format zone` is not available: " << export_out);
        return;
    }
    const auto check = run_command("nsd-checkzone " + zone + " " + zonefile + " 2>&1", &st);
    INFO(check);
    REQUIRE(st == 0);

    const std::uint16_t nsd_port = free_port();
    std::ofstream(f.dir + "/nsd.conf") << nsd_conf(f.dir, nsd_port, zonefile);
    child_process nsd({"/usr/sbin/nsd", "-d", "-c", f.dir + "/nsd.conf"}, f.dir + "/nsd.log");
    REQUIRE(nsd.wait_for_dns(nsd_port, std::chrono::seconds(20)));

    // Names: inside, at, above and just beside every listing; holes; test points; apex;
    // random addresses; names with other labels; in several types and with and without EDNS.
    std::vector<std::string> names;
    auto add_around = [&](const std::string& pfx) {
        auto p = v6bl::store::parse_prefix(pfx, false);
        if (!p) return;
        auto a = p->address;
        for (int k = 0; k < 3; ++k) {
            auto x = a;
            for (int byte = p->length / 8; byte < 16; ++byte)
                x[static_cast<std::size_t>(byte)] = static_cast<std::uint8_t>(rng());
            if (p->length % 8) {
                const int byte = p->length / 8;
                const std::uint8_t keep = static_cast<std::uint8_t>(0xff << (8 - p->length % 8));
                x[static_cast<std::size_t>(byte)] = static_cast<std::uint8_t>(
                    (a[static_cast<std::size_t>(byte)] & keep) | (rng() & ~keep));
            }
            names.push_back(nibble_name(x, 32));
            names.push_back(nibble_name(x, 1 + static_cast<int>(rng() % 31)));
        }
        for (int n = 1; n <= p->length / 4; ++n) names.push_back(nibble_name(a, n));
        if (p->length < 128) names.push_back(nibble_name(a, p->length / 4 + 1));
        names.push_back("x." + nibble_name(a, p->length / 4));
        names.push_back("0." + nibble_name(a, 32));
        auto beside = a;
        beside[static_cast<std::size_t>((p->length - 1) / 8)] ^=
            static_cast<std::uint8_t>(1u << ((128 - p->length) % 8));
        names.push_back(nibble_name(beside, 32));
    };
    for (const auto& l : listed) add_around(l);
    for (const auto& h : holes) add_around(h);
    std::istringstream shared(serve_fixture::listings());
    for (std::string line; std::getline(shared, line);) add_around(line.substr(0, line.find(' ')));
    for (int i = 0; i < 500; ++i) {
        std::array<std::uint8_t, 16> r{};
        for (auto& b : r) b = static_cast<std::uint8_t>(rng());
        if (i % 2) r[0] = 0x20, r[1] = 0x01, r[2] = 0x0d, r[3] = 0xb8;
        names.push_back(nibble_name(r, 32));
        names.push_back(nibble_name(r, 1 + static_cast<int>(rng() % 31)));
    }
    for (const char* n : {"", "127.", "0.127.", "0.0.127.", "2.0.0.127.", "1.0.0.127.",
                          "3.2.0.0.127.", "x.", "ns1.", "*.", "1.127."}) {
        names.push_back(std::string(n) + zone + ".");
    }
    names.push_back(nibble_name(parse6("::ffff:127.0.0.2"), 32));
    names.push_back(nibble_name(parse6("::ffff:127.0.0.1"), 32));
    // Names at and below the NS and SOA names, in mixed case: their RDATA points into the
    // question, in its spelling (helper-94: NSD and Knot compress to it, serve wrote them out).
    for (const char* n : {"nS1.DNSBL6.example.org.", "x.Ns1.dnsbl6.example.org.",
                          "NS3.dnsbl6.EXAMPLE.org.", "HostMaster.dnsbl6.example.org.",
                          "a.b.ns1.dnsbl6.example.org.", "ns1.dnsbl6.example.org."})
        names.push_back(n);
    names.push_back("example.org.");
    names.push_back("other.test.");

    const char* types[] = {"A", "TXT", "A", "ANY", "AAAA", "MX", "SOA", "NS", "A"};
    int compared = 0, differences = 0;
    std::string report;
    for (std::size_t i = 0; i < names.size(); ++i) {
        query_options o;
        o.id = static_cast<std::uint16_t>(i);
        o.edns = i % 3 == 0;
        o.rd = i % 5 == 0;
        o.qclass = i % 7 == 0 ? 255 : 1;  // class *: NSD answers it from the IN zone
        const std::string type = types[i % (sizeof types / sizeof *types)];
        const auto q = make_query(names[i], type, o);
        const auto our_bytes = udp_exchange("127.0.0.1", f.port, q);
        const auto their_bytes = udp_exchange("127.0.0.1", nsd_port, q);
        // The text, and the size: names compressed as NSD compresses them. (Not for REFUSED:
        // NSD adds an Extended DNS Error option, RFC 8914 code 20, 6 bytes; serve does not.)
        auto described = [](const std::vector<std::uint8_t>& bytes) {
            const std::string text = describe_response(bytes);
            return text.rfind("REFUSED", 0) == 0
                       ? text
                       : text + " (" + std::to_string(bytes.size()) + " bytes)";
        };
        const auto ours = described(our_bytes);
        const auto theirs = described(their_bytes);
        ++compared;
        if (ours != theirs) {
            if (++differences <= 15)
                report += "query " + names[i] + " " + type + (o.edns ? " +edns" : "") +
                          (o.qclass != 1 ? " +class=255" : "") + "\n--- v6bl\n" + ours +
                          "\n--- nsd\n" + theirs + "\n\n";
        }
    }
    INFO(report);
    INFO("compared " << compared << " queries, " << differences << " differ");
    CHECK(compared > count * 6);
    CHECK(differences == 0);
    nsd.stop();
}

}  // namespace

TEST_CASE("NSD serving the exported zone answers exactly as v6bl serve", "[server][peers][nsd]") {
    nsd_differential(shared_server(), {}, 300);
}

TEST_CASE("NSD and v6bl serve agree with in-zone NS glue and several NS names",
          "[server][peers][nsd]") {
    const std::vector<std::string> zone_flags = {
        "--ns",          "ns1.dnsbl6.example.org",
        "--ns",          "ns2.other.example.net",
        "--ns",          "ns3.dnsbl6.example.org",
        "--ns-address",  "ns1.dnsbl6.example.org=192.0.2.53",
        "--ns-address",  "ns1.dnsbl6.example.org=2001:db8::53",
        "--ns-address",  "ns3.dnsbl6.example.org=192.0.2.54",
        "--ttl",         "120",
        "--soa-minimum", "60"};
    serve_fixture f("glue", zone_flags);
    nsd_differential(f, zone_flags, 100);
}

// Three in-zone NS names with an A and an AAAA each, and TXTs long enough that answers
// without EDNS reach 512 bytes with part of their glue: NSD leaves out what does not fit,
// record by record, A records first (helper-94: serve left out all of it).
TEST_CASE("NSD and v6bl serve agree where only part of the glue fits in 512 bytes",
          "[server][peers][nsd]") {
    const std::string url =
        "https://dnsbl6.example.org/lookup/with/a/rather/long/path/for/the/"
        "operators/of/this/list/{prefix}?explain=yes";
    const std::vector<std::string> zone_flags = {
        "--ns",           "ns1.dnsbl6.example.org",
        "--ns",           "ns2.dnsbl6.example.org",
        "--ns",           "ns3.dnsbl6.example.org",
        "--ns",           "ns4.other.example.net",
        "--ns-address",   "ns1.dnsbl6.example.org=192.0.2.53",
        "--ns-address",   "ns1.dnsbl6.example.org=2001:db8::53",
        "--ns-address",   "ns2.dnsbl6.example.org=2001:db8::54",
        "--ns-address",   "ns2.dnsbl6.example.org=192.0.2.54",
        "--ns-address",   "ns3.dnsbl6.example.org=192.0.2.55",
        "--ns-address",   "ns3.dnsbl6.example.org=2001:db8::55",
        "--url-template", url};
    serve_fixture f("partglue", zone_flags);
    nsd_differential(f, zone_flags, 100);
}

TEST_CASE("unbound with QNAME minimisation resolves through v6bl serve",
          "[server][peers][unbound]") {
    if (!std::filesystem::exists("/usr/sbin/unbound") || !std::filesystem::exists("/usr/bin/dig")) {
        WARN("SKIP: unbound or dig is not installed (Debian packages unbound, bind9-dnsutils)");
        return;
    }
    auto& f = shared_server();
    const std::uint16_t port = free_port();
    const std::string p = std::to_string(port);
    std::ofstream(f.dir + "/unbound.conf")
        << "server:\n  interface: 127.0.0.1\n  port: " << p
        << "\n  do-ip6: no\n  chroot: \"\"\n  username: \"\"\n  directory: \"" << f.dir
        << "\"\n  pidfile: \"" << f.dir << "/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n"
        << "  qname-minimisation: yes\n  qname-minimisation-strict: no\n  do-not-query-localhost: "
           "no\n"
        << "  module-config: \"iterator\"\n  verbosity: 1\n  num-threads: 1\n  access-control: "
           "127.0.0.0/8 allow\n"
        << "remote-control:\n  control-enable: no\n"
        << "stub-zone:\n  name: \"" << zone << "\"\n  stub-addr: 127.0.0.1@" << f.port << "\n";
    child_process unbound({"/usr/sbin/unbound", "-d", "-c", f.dir + "/unbound.conf"},
                          f.dir + "/unbound.log");
    REQUIRE(unbound.wait_for_dns(port, std::chrono::seconds(20)));
    const std::string dig = "dig +time=3 +tries=2 @127.0.0.1 -p " + p + " ";
    const std::string listed = expand_name("@2001:db8:1:2::5", zone);
    CHECK(run_command(dig + "+short " + listed + " A") == "127.0.0.2\n");
    CHECK(has(run_command(dig + "+short " + listed + " TXT"), "v6bl: 2001:db8:1:2::/64"));
    CHECK(run_command(dig + "+short " + expand_name("@2001:db8:ff:11::7", zone) + " A") ==
          "127.0.0.4\n");
    CHECK(run_command(dig + "+short " + expand_name("@2001:db8:9::1", zone) + " A") ==
          "127.0.0.10\n");
    const auto nx = run_command(dig + expand_name("@2001:db8:1:3::5", zone) + " A");
    CHECK(has(nx, "status: NXDOMAIN"));
    CHECK(
        has(run_command(dig + expand_name("@2001:db8:ff:10::5", zone) + " A"), "status: NXDOMAIN"));
    CHECK(run_command(dig + "+short " + expand_name("@::ffff:127.0.0.2", zone) + " A") ==
          "127.0.0.2\n");
    CHECK(
        has(run_command(dig + expand_name("@::ffff:127.0.0.1", zone) + " A"), "status: NXDOMAIN"));
    CHECK(run_command(dig + "+short 2.0.0.127." + zone + " A") == "127.0.0.2\n");
    // After a NXDOMAIN for an unlisted sibling, a listed name below a shared ancestor must
    // still resolve (an ENT answered NXDOMAIN would poison it under QNAME minimisation).
    CHECK(run_command(dig + "+short " + expand_name("@2001:db8:ff:20::1", zone) + " A") ==
          "127.0.0.2\n");
    unbound.stop();
}
