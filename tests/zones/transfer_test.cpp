// Zone transfers: AXFR equals the zone file, IXFR up-to-date and full fallback, the ACL and
// TSIG (chained over every message), NOTIFY, and Knot as a real secondary.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>  // before ldns: its common.h defines bool/true/false otherwise

#include <ldns/ldns.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "v6bl/store/store.h"
#include "v6bl/zones/atomic_file.h"
#include "v6bl/zones/notify_sender.h"
#include "v6bl/zones/notify_service.h"
#include "v6bl/zones/transfer_responder.h"
#include "v6bl/zones/zone_export.h"
#include "zone_test_support.h"

using namespace v6bl;
namespace zt = v6bl::zones::testing;

namespace {

const std::string zone_name = "dnsbl6.example.org";
const std::string key_secret = "c2VjcmV0LWtleS1mb3ItdjZibC10ZXN0cy0xMjM0NTY=";

zones::zone_config transfer_config() {
    zones::zone_config c;
    c.zone = zone_name;
    c.ns_names = {"ns1.example.net"};
    c.transfer_allow = {"127.0.0.0/8", "::1"};
    c.transfer_tsig = {"hmac-sha256:xfr-key:" + key_secret};
    return c;
}

sockaddr_storage address_of(const char* text) {
    sockaddr_storage s{};
    auto* sin = reinterpret_cast<sockaddr_in*>(&s);
    sin->sin_family = AF_INET;
    ::inet_pton(AF_INET, text, &sin->sin_addr);
    return s;
}

struct built_query {
    std::vector<std::uint8_t> wire;
    ldns_rdf* mac = nullptr;  // the query's TSIG MAC when signed (owned)
    ~built_query() {
        if (mac) ldns_rdf_deep_free(mac);
    }
};

void build_query(built_query& q, ldns_rr_type type, const std::string& name,
                 std::optional<std::uint32_t> ixfr_serial = std::nullopt,
                 const std::string& key_name = "", const std::string& secret = "",
                 std::uint16_t fudge = 300, const char* algorithm = "hmac-sha256.") {
    ldns_pkt* pkt =
        ldns_pkt_query_new(ldns_dname_new_frm_str(name.c_str()), type, LDNS_RR_CLASS_IN, 0);
    ldns_pkt_set_id(pkt, 4242);
    if (ixfr_serial) {
        ldns_rr* soa = nullptr;
        const std::string text =
            name + " 0 IN SOA . . " + std::to_string(*ixfr_serial) + " 0 0 0 0";
        REQUIRE(ldns_rr_new_frm_str(&soa, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK);
        ldns_pkt_push_rr(pkt, LDNS_SECTION_AUTHORITY, soa);
    }
    if (!key_name.empty()) {
        REQUIRE(ldns_pkt_tsig_sign(pkt, key_name.c_str(), secret.c_str(), fudge, algorithm,
                                   nullptr) == LDNS_STATUS_OK);
        q.mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(pkt), 3));
    }
    std::uint8_t* wire = nullptr;
    std::size_t size = 0;
    REQUIRE(ldns_pkt2wire(&wire, pkt, &size) == LDNS_STATUS_OK);
    q.wire.assign(wire, wire + size);
    LDNS_FREE(wire);
    ldns_pkt_free(pkt);
}

struct collected {
    zones::transfer_result result;
    std::vector<std::vector<std::uint8_t>> messages;
    std::vector<std::string> rrs;
    std::vector<int> rcodes;
};

collected run(zones::transfer_responder& responder, const built_query& q,
              const char* peer = "127.0.0.1", std::uint32_t now = 0) {
    collected c;
    c.result = responder.respond(q.wire, address_of(peer), now, [&](std::vector<std::uint8_t> m) {
        c.messages.push_back(std::move(m));
    });
    for (const auto& m : c.messages) {
        ldns_pkt* pkt = nullptr;
        REQUIRE(ldns_wire2pkt(&pkt, m.data(), m.size()) == LDNS_STATUS_OK);
        CHECK(ldns_pkt_id(pkt) == 4242);
        CHECK(ldns_pkt_qr(pkt));
        c.rcodes.push_back(ldns_pkt_get_rcode(pkt));
        const ldns_rr_list* an = ldns_pkt_answer(pkt);
        for (std::size_t i = 0; i < ldns_rr_list_rr_count(an); ++i) {
            char* s = ldns_rr2str(ldns_rr_list_rr(an, i));
            c.rrs.emplace_back(s);
            LDNS_FREE(s);
        }
        ldns_pkt_free(pkt);
    }
    return c;
}

std::vector<std::string> zone_file_rrs(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "r");
    REQUIRE(f);
    ldns_zone* zone = nullptr;
    int line = 0;
    const ldns_status status =
        ldns_zone_new_frm_fp_l(&zone, f, nullptr, 0, LDNS_RR_CLASS_IN, &line);
    std::fclose(f);
    REQUIRE(status == LDNS_STATUS_OK);
    std::vector<std::string> out;
    char* soa = ldns_rr2str(ldns_zone_soa(zone));
    out.emplace_back(soa);
    LDNS_FREE(soa);
    const ldns_rr_list* rrs = ldns_zone_rrs(zone);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(rrs); ++i) {
        char* s = ldns_rr2str(ldns_rr_list_rr(rrs, i));
        out.emplace_back(s);
        LDNS_FREE(s);
    }
    ldns_zone_deep_free(zone);
    return out;
}

std::unique_ptr<store::reputation_store> open_ro(const std::string& db) {
    store::store_options o;
    o.path = db;
    o.create_if_missing = false;
    return store::reputation_store::open_read_only(o);
}

}  // namespace

TEST_CASE("AXFR carries exactly the zone file's records between two SOAs", "[zones][transfer]") {
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    auto db = open_ro(s.db);
    const zones::zone_config config = transfer_config();
    {
        zones::atomic_file file(dir.file("z.zone"));
        zones::export_published(*db, config, s.policy, s.now, zones::export_format::zone,
                                file.stream());
        file.commit();
    }
    zones::transfer_responder responder(config, s.policy, *db, false);
    built_query q;
    build_query(q, LDNS_RR_TYPE_AXFR, zone_name + ".");
    const collected c = run(responder, q, "127.0.0.1", s.now);
    REQUIRE(c.result.outcome == zones::transfer_outcome::axfr);
    CHECK(c.result.serial == s.serial);
    REQUIRE(c.rrs.size() >= 3);
    CHECK(c.rrs.front() == c.rrs.back());
    CHECK(c.rrs.front().find("\tSOA\t") != std::string::npos);
    std::vector<std::string> transferred(c.rrs.begin(), c.rrs.end() - 1);
    std::vector<std::string> file = zone_file_rrs(dir.file("z.zone"));
    std::sort(transferred.begin(), transferred.end());
    std::sort(file.begin(), file.end());
    CHECK(transferred == file);
    CHECK(std::all_of(c.rcodes.begin(), c.rcodes.end(), [](int r) { return r == 0; }));
}

TEST_CASE("a large AXFR is split into messages under 64 KiB", "[zones][transfer]") {
    zt::temp_dir dir;
    store::store_options o;
    o.path = dir.file("db");
    o.sync_commits = false;
    {
        auto w = store::reputation_store::open_writer(o);
        store::change_set cs;
        for (int i = 0; i < 3000; ++i) {
            store::ipv6_bytes a{0x20,
                                0x01,
                                0x0d,
                                0xb8,
                                0,
                                0,
                                static_cast<std::uint8_t>(i >> 8),
                                static_cast<std::uint8_t>(i)};
            cs.list_manually(store::make_prefix(a, 64), store::reason_code::manual, "", 1);
        }
        w->commit(std::move(cs), 1);
    }
    auto db = open_ro(o.path);
    store::listing_policy policy;
    policy.escalate_48_after = policy.escalate_56_after = 0;
    zones::transfer_responder responder(transfer_config(), policy, *db, false);
    built_query q;
    build_query(q, LDNS_RR_TYPE_AXFR, zone_name + ".");
    const collected c = run(responder, q);
    CHECK(c.result.outcome == zones::transfer_outcome::axfr);
    CHECK(c.messages.size() > 3);
    for (const auto& m : c.messages) CHECK(m.size() <= 65535);
    // SOA, NS, 3000 x (A, TXT), two test points x 2, SOA
    CHECK(c.rrs.size() == 1 + 1 + 6000 + 4 + 1);
}

TEST_CASE("transfers are refused outside the ACL and NOTAUTH with a wrong key",
          "[zones][transfer]") {
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    auto db = open_ro(s.db);
    zones::transfer_responder responder(transfer_config(), s.policy, *db, false);

    built_query plain;
    build_query(plain, LDNS_RR_TYPE_AXFR, zone_name + ".");
    collected c = run(responder, plain, "192.0.2.1");
    CHECK(c.result.outcome == zones::transfer_outcome::refused);
    REQUIRE(c.rcodes.size() == 1);
    CHECK(c.rcodes[0] == LDNS_RCODE_REFUSED);
    CHECK(c.rrs.empty());

    built_query wrong;
    build_query(wrong, LDNS_RR_TYPE_AXFR, zone_name + ".", std::nullopt, "xfr-key.",
                "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC0xMjM0NTY=");
    c = run(responder, wrong, "192.0.2.1");
    CHECK(c.result.outcome == zones::transfer_outcome::notauth);
    REQUIRE(c.rcodes.size() == 1);
    CHECK(c.rcodes[0] == LDNS_RCODE_NOTAUTH);
    CHECK(c.rrs.empty());

    built_query unknown;
    build_query(unknown, LDNS_RR_TYPE_AXFR, zone_name + ".", std::nullopt, "other-key.",
                key_secret);
    CHECK(run(responder, unknown, "127.0.0.1").result.outcome == zones::transfer_outcome::notauth);

    built_query other_zone;
    build_query(other_zone, LDNS_RR_TYPE_AXFR, "example.com.");
    CHECK(run(responder, other_zone).result.outcome == zones::transfer_outcome::refused);

    const std::vector<std::uint8_t> garbage = {0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0,
                                               0,    0,    0,    0,    0,    0x05, 'x'};
    std::vector<std::vector<std::uint8_t>> out;
    const auto r = responder.respond(garbage, address_of("127.0.0.1"), 0,
                                     [&](std::vector<std::uint8_t> m) { out.push_back(m); });
    CHECK(r.outcome == zones::transfer_outcome::formerr);
    REQUIRE(out.size() == 1);
    CHECK((out[0][3] & 0x0f) == LDNS_RCODE_FORMERR);
}

namespace {

// A query with an OPT record of EDNS `version`, unsigned.
std::vector<std::uint8_t> edns_query(ldns_rr_type type, const std::string& name,
                                     std::uint8_t version, bool dnssec_ok = false) {
    ldns_pkt* pkt =
        ldns_pkt_query_new(ldns_dname_new_frm_str(name.c_str()), type, LDNS_RR_CLASS_IN, 0);
    ldns_pkt_set_id(pkt, 4242);
    ldns_pkt_set_edns_udp_size(pkt, 4096);
    ldns_pkt_set_edns_version(pkt, version);
    ldns_pkt_set_edns_do(pkt, dnssec_ok);
    std::uint8_t* wire = nullptr;
    std::size_t size = 0;
    REQUIRE(ldns_pkt2wire(&wire, pkt, &size) == LDNS_STATUS_OK);
    std::vector<std::uint8_t> out(wire, wire + size);
    LDNS_FREE(wire);
    ldns_pkt_free(pkt);
    return out;
}

}  // namespace

// RFC 8945 5.2: the key (by name and algorithm), then the MAC, then the time. A failed key
// or MAC is answered with an unsigned TSIG naming the error; a request outside its time
// window (a replay of a captured request, or clocks apart) with a signed one carrying our
// time. ldns checks the MAC only, so the time check is ours.
TEST_CASE("a signed transfer request is checked for key, algorithm, MAC and time",
          "[zones][transfer][tsig]") {
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    auto db = open_ro(s.db);
    zones::transfer_responder responder(transfer_config(), s.policy, *db, false);
    struct tsig_seen {
        int error = -1;
        std::size_t mac_size = 0, other_size = 0;
        bool verifies = false;
    };
    auto tsig_of = [](const collected& c, const built_query& q) {
        tsig_seen t;
        REQUIRE(c.messages.size() == 1);
        ldns_pkt* pkt = nullptr;
        REQUIRE(ldns_wire2pkt(&pkt, c.messages[0].data(), c.messages[0].size()) == LDNS_STATUS_OK);
        if (const ldns_rr* rr = ldns_pkt_tsig(pkt)) {
            t.error = ldns_rdf2native_int16(ldns_rr_rdf(rr, 5));
            t.mac_size = ldns_rdf_size(ldns_rr_rdf(rr, 3)) - 2;
            t.other_size = ldns_rdf_size(ldns_rr_rdf(rr, 6)) - 2;
            t.verifies =
                q.mac && ldns_pkt_tsig_verify(pkt, c.messages[0].data(), c.messages[0].size(),
                                              "xfr-key.", key_secret.c_str(), q.mac);
        }
        ldns_pkt_free(pkt);
        return t;
    };
    const std::string zone = zone_name + ".";
    // From an address outside the ACL: only the key can allow these.
    built_query unknown, other_algorithm, wrong_secret, stale, good;
    build_query(unknown, LDNS_RR_TYPE_AXFR, zone, std::nullopt, "other-key.", key_secret);
    build_query(other_algorithm, LDNS_RR_TYPE_AXFR, zone, std::nullopt, "xfr-key.", key_secret, 300,
                "hmac-sha512.");
    build_query(wrong_secret, LDNS_RR_TYPE_AXFR, zone, std::nullopt, "xfr-key.",
                "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC0xMjM0NTY=");
    // Fudge 0: valid only in the second it was signed; a second later it is a replay.
    build_query(stale, LDNS_RR_TYPE_AXFR, zone, std::nullopt, "xfr-key.", key_secret, 0);
    const auto signed_at = std::time(nullptr);
    while (std::time(nullptr) <= signed_at)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    build_query(good, LDNS_RR_TYPE_AXFR, zone, std::nullopt, "xfr-key.", key_secret);

    for (const built_query* q : {&unknown, &other_algorithm, &wrong_secret}) {
        const collected c = run(responder, *q, "192.0.2.1");
        CHECK(c.result.outcome == zones::transfer_outcome::notauth);
        CHECK(c.rrs.empty());
        const tsig_seen t = tsig_of(c, *q);
        CHECK(t.error == (q == &wrong_secret ? 16 : 17));  // BADSIG, else BADKEY
        CHECK(t.mac_size == 0);                            // unsigned (RFC 8945 5.3.2)
    }
    const collected replay = run(responder, stale, "192.0.2.1");
    CHECK(replay.result.outcome == zones::transfer_outcome::notauth);
    CHECK(replay.rrs.empty());
    const tsig_seen t = tsig_of(replay, stale);
    CHECK(t.error == 18);  // BADTIME
    CHECK(t.other_size == 6);
    CHECK(t.verifies);
    // Two TSIGs (the first not last): FORMERR, decided before ldns reads the message.
    built_query twice;
    twice.wire = good.wire;
    std::size_t tsig_at = 12;
    while (twice.wire[tsig_at] != 0) tsig_at += twice.wire[tsig_at] + 1u;
    tsig_at += 1 + 4;
    twice.wire.insert(twice.wire.end(), good.wire.begin() + static_cast<long>(tsig_at),
                      good.wire.end());
    twice.wire[11] = 2;
    CHECK(run(responder, twice, "192.0.2.1").result.outcome == zones::transfer_outcome::formerr);
    const collected fresh = run(responder, good, "192.0.2.1");
    CHECK(fresh.result.outcome == zones::transfer_outcome::axfr);
    CHECK(tsig_of(collected{fresh.result, {fresh.messages.front()}, {}, {}}, good).verifies);
}

TEST_CASE("transfer answers: no AA outside the zone, an OPT when asked with one, BADVERS",
          "[zones][transfer][edns]") {
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    auto db = open_ro(s.db);
    zones::transfer_responder responder(transfer_config(), s.policy, *db, false);
    auto respond = [&](const std::vector<std::uint8_t>& q, const char* peer) {
        std::vector<ldns_pkt*> out;
        responder.respond(q, address_of(peer), 0, [&](std::vector<std::uint8_t> m) {
            ldns_pkt* p = nullptr;
            REQUIRE(ldns_wire2pkt(&p, m.data(), m.size()) == LDNS_STATUS_OK);
            out.push_back(p);
        });
        return out;
    };
    auto free_all = [](std::vector<ldns_pkt*>& v) {
        for (ldns_pkt* p : v) ldns_pkt_free(p);
        v.clear();
    };

    // Another zone: REFUSED without claiming authority (it was AA=1).
    built_query other;
    build_query(other, LDNS_RR_TYPE_AXFR, "example.com.");
    auto msgs = respond(other.wire, "127.0.0.1");
    REQUIRE(msgs.size() == 1);
    CHECK(ldns_pkt_get_rcode(msgs[0]) == LDNS_RCODE_REFUSED);
    CHECK_FALSE(ldns_pkt_aa(msgs[0]));
    CHECK_FALSE(ldns_pkt_edns(msgs[0]));  // no OPT asked, none given
    free_all(msgs);

    // With OPT version 0: every message of an allowed AXFR carries an OPT (RFC 6891 6.1.1),
    // and so does a refusal.
    msgs = respond(edns_query(LDNS_RR_TYPE_AXFR, zone_name + ".", 0), "127.0.0.1");
    REQUIRE(msgs.size() >= 1);
    for (ldns_pkt* p : msgs) {
        CHECK(ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR);
        CHECK(ldns_pkt_aa(p));
        CHECK(ldns_pkt_edns(p));
        CHECK(ldns_pkt_edns_udp_size(p) == 1232);
        CHECK(ldns_pkt_edns_version(p) == 0);
        CHECK_FALSE(ldns_pkt_edns_do(p));
    }
    free_all(msgs);
    // DO set in the query is echoed in every message (RFC 3225 3), a refusal's too.
    for (const char* peer : {"127.0.0.1", "192.0.2.1"}) {
        INFO(peer);
        msgs = respond(edns_query(LDNS_RR_TYPE_AXFR, zone_name + ".", 0, true), peer);
        REQUIRE(msgs.size() >= 1);
        for (ldns_pkt* p : msgs) CHECK(ldns_pkt_edns_do(p));
        free_all(msgs);
    }
    msgs = respond(edns_query(LDNS_RR_TYPE_AXFR, zone_name + ".", 0), "192.0.2.1");
    REQUIRE(msgs.size() == 1);
    CHECK(ldns_pkt_get_rcode(msgs[0]) == LDNS_RCODE_REFUSED);
    CHECK(ldns_pkt_edns(msgs[0]));
    free_all(msgs);

    // Version 1: BADVERS (extended rcode 1), also from an allowed source: no zone.
    for (const char* peer : {"127.0.0.1", "192.0.2.1"}) {
        INFO(peer);
        msgs = respond(edns_query(LDNS_RR_TYPE_AXFR, zone_name + ".", 1), peer);
        REQUIRE(msgs.size() == 1);
        CHECK(ldns_pkt_get_rcode(msgs[0]) == LDNS_RCODE_NOERROR);  // the low 4 bits
        CHECK(ldns_pkt_edns_extended_rcode(msgs[0]) == 1);
        CHECK(ldns_pkt_ancount(msgs[0]) == 0);
        CHECK_FALSE(ldns_pkt_aa(msgs[0]));
        free_all(msgs);
    }
}

TEST_CASE("a TSIG key whose secret is not base64 is refused when configured", "[zones][transfer]") {
    CHECK(zones::parse_tsig_key("hmac-sha256:k:c2VjcmV0c2VjcmV0c2VjcmV0"));
    CHECK(zones::parse_tsig_key("k:c2VjcmV0MQ=="));
    CHECK_FALSE(zones::parse_tsig_key("hmac-sha256:k:!!!notbase64"));
    CHECK_FALSE(zones::parse_tsig_key("k:c2VjcmV0M"));     // length not a multiple of 4
    CHECK_FALSE(zones::parse_tsig_key("k:c2Vj cmV0"));     // a space inside
    CHECK_FALSE(zones::parse_tsig_key("k:c2VjcmV0===="));  // more padding than base64 has
    zones::zone_config config = transfer_config();
    config.transfer_tsig = {"xfr-key:not base64!"};
    CHECK_THROWS(zones::transfer_acl(config));
}

TEST_CASE("a TSIG-signed AXFR is allowed from anywhere and every message is signed",
          "[zones][transfer][tsig]") {
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    auto db = open_ro(s.db);
    zones::zone_config config = transfer_config();
    zones::transfer_responder responder(config, s.policy, *db, false);
    built_query q;
    build_query(q, LDNS_RR_TYPE_AXFR, zone_name + ".", std::nullopt, "xfr-key.", key_secret);
    const collected c = run(responder, q, "192.0.2.1", s.now);
    REQUIRE(c.result.outcome == zones::transfer_outcome::axfr);
    ldns_rdf* mac = ldns_rdf_clone(q.mac);
    for (std::size_t i = 0; i < c.messages.size(); ++i) {
        ldns_pkt* pkt = nullptr;
        REQUIRE(ldns_wire2pkt(&pkt, c.messages[i].data(), c.messages[i].size()) == LDNS_STATUS_OK);
        REQUIRE(ldns_pkt_tsig(pkt));
        const bool ok =
            i == 0 ? ldns_pkt_tsig_verify(pkt, c.messages[i].data(), c.messages[i].size(),
                                          "xfr-key.", key_secret.c_str(), mac)
                   : ldns_pkt_tsig_verify_next(pkt, c.messages[i].data(), c.messages[i].size(),
                                               "xfr-key.", key_secret.c_str(), mac, 1);
        CHECK(ok);
        ldns_rdf_deep_free(mac);
        mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(pkt), 3));
        ldns_pkt_free(pkt);
    }
    ldns_rdf_deep_free(mac);

    // with transfer_require_tsig, an allowed source without a key is refused
    config.transfer_require_tsig = true;
    zones::transfer_responder strict(config, s.policy, *db, false);
    built_query plain;
    build_query(plain, LDNS_RR_TYPE_AXFR, zone_name + ".");
    CHECK(run(strict, plain, "127.0.0.1").result.outcome == zones::transfer_outcome::refused);
}

TEST_CASE("IXFR: up to date gets one SOA, older serials the full zone", "[zones][transfer]") {
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    auto db = open_ro(s.db);
    zones::transfer_responder responder(transfer_config(), s.policy, *db, false);

    built_query current;
    build_query(current, LDNS_RR_TYPE_IXFR, zone_name + ".", s.serial);
    collected c = run(responder, current, "127.0.0.1", s.now);
    CHECK(c.result.outcome == zones::transfer_outcome::up_to_date);
    REQUIRE(c.rrs.size() == 1);
    CHECK(c.rrs[0].find("\tSOA\t") != std::string::npos);

    built_query old;
    build_query(old, LDNS_RR_TYPE_IXFR, zone_name + ".", s.serial - 1);
    c = run(responder, old, "127.0.0.1", s.now);
    CHECK(c.result.outcome == zones::transfer_outcome::ixfr_full);
    REQUIRE(c.rrs.size() > 3);
    // RFC 1995 4: an AXFR-style answer, recognisable because the 2nd RR is not a SOA
    CHECK(c.rrs[1].find("\tSOA\t") == std::string::npos);
    CHECK(c.rrs.front() == c.rrs.back());

    // over UDP: our SOA alone ("use TCP"), and AXFR refused
    zones::transfer_result udp_result;
    const auto udp = responder.respond_udp(old.wire, address_of("127.0.0.1"), s.now, &udp_result);
    CHECK(udp_result.outcome == zones::transfer_outcome::tcp_needed);
    REQUIRE(udp);
    CHECK(udp->size() < 512);
    built_query axfr;
    build_query(axfr, LDNS_RR_TYPE_AXFR, zone_name + ".");
    responder.respond_udp(axfr.wire, address_of("127.0.0.1"), s.now, &udp_result);
    CHECK(udp_result.outcome == zones::transfer_outcome::refused);

    built_query no_soa;
    build_query(no_soa, LDNS_RR_TYPE_IXFR, zone_name + ".");
    CHECK(run(responder, no_soa).result.outcome == zones::transfer_outcome::formerr);
}

TEST_CASE("NOTIFY messages are well formed and acknowledgements recognised", "[zones][notify]") {
    zones::zone_config config = transfer_config();
    config.notify_targets = {"127.0.0.1:5300", "[::1]:53"};
    config.notify_tsig = "xfr-key:" + key_secret;
    zones::notify_sender sender(config);
    REQUIRE(sender.targets().size() == 2);
    const auto wire = sender.make_notify(77, 999);
    ldns_pkt* pkt = nullptr;
    REQUIRE(ldns_wire2pkt(&pkt, wire.data(), wire.size()) == LDNS_STATUS_OK);
    CHECK(ldns_pkt_get_opcode(pkt) == LDNS_PACKET_NOTIFY);
    CHECK(ldns_pkt_aa(pkt));
    CHECK(ldns_pkt_id(pkt) == 999);
    CHECK(ldns_pkt_tsig(pkt) != nullptr);
    CHECK(ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(pkt), 0), 2)) == 77);
    ldns_pkt_free(pkt);
    std::vector<std::uint8_t> ack(wire.begin(), wire.begin() + 12);
    ack[2] |= 0x80;
    CHECK(zones::notify_sender::is_acknowledgement(ack, 999));
    CHECK_FALSE(zones::notify_sender::is_acknowledgement(ack, 998));
    config.notify_targets = {"not-an-address"};
    CHECK_THROWS(zones::notify_sender(config));
}

namespace {

// Knot takes the zone from the in-test transfer server, then a change is committed, NOTIFY
// sent, and Knot refreshes by IXFR (answered in full). With `tsig`, only TSIG is accepted
// (no source prefixes): Knot signs its SOA, IXFR and AXFR queries, we sign every answer
// message and the NOTIFY.
// Knot (3.2) as a secondary of 127.0.0.1@primary_port, answering on knot_port; with `tsig`
// it signs its queries with xfr-key and wants NOTIFY signed with it.
void write_knot_secondary_config(const zt::temp_dir& dir, int knot_port, int primary_port,
                                 bool tsig) {
    zt::write_text(
        dir.file("knot.conf"),
        "server:\n  rundir: \"" + dir.path() + "\"\n  listen: 127.0.0.1@" +
            std::to_string(knot_port) +
            "\n"
            "database:\n  storage: \"" +
            dir.file("knotdb") +
            "\"\n"
            "log:\n  - target: stderr\n    any: info\n" +
            (tsig ? "key:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: " + key_secret +
                        "\n"
                  : std::string()) +
            "remote:\n  - id: primary\n    address: 127.0.0.1@" + std::to_string(primary_port) +
            (tsig ? "\n    key: xfr-key" : "") +
            "\n"
            "acl:\n  - id: notify_from_primary\n    address: 127.0.0.1\n    action: notify\n" +
            (tsig ? "    key: xfr-key\n" : "") + "zone:\n  - domain: " + zone_name +
            "\n    storage: \"" + dir.path() +
            "\"\n    file: \"secondary.zone\"\n    master: primary\n"
            "    acl: notify_from_primary\n    zonefile-sync: -1\n    zonefile-load: none\n"
            "    journal-content: none\n");
}

enum class secondary_kind { knot, nsd };

void secondary_scenario(secondary_kind kind, bool tsig) {
    const bool nsd = kind == secondary_kind::nsd;
    REQUIRE(zt::tool_exists(nsd ? "nsd" : "knotd"));
    const std::string log_file = nsd ? "nsd.log" : "knot.log";
    zt::temp_dir dir;
    zt::sample_store s = zt::make_sample_store(dir.file("db"));
    store::store_options o;
    o.path = s.db;
    o.create_if_missing = false;
    o.sync_commits = false;
    auto writer = store::reputation_store::open_writer(o);
    auto reader = store::reputation_store::open_reader(o, dir.file("reader"));
    zones::zone_config config = transfer_config();
    if (tsig) {
        config.transfer_allow.clear();
        config.transfer_require_tsig = true;
        config.notify_tsig = "hmac-sha256:xfr-key:" + key_secret;
    }
    // listings must not expire between the sample's clock and the wall clock used by the
    // transfer server: make the policy ignore expiry for this test
    store::listing_policy policy = s.policy;
    policy.expiry_seconds = 0;
    zones::transfer_responder responder(config, policy, *reader, true);
    const int primary_port = zt::free_port();
    zt::transfer_test_server server(responder, primary_port);
    const int knot_port = zt::free_port();
    write_knot_secondary_config(dir, knot_port, primary_port, tsig);
    const std::string key_ref = tsig ? "xfr-key" : "NOKEY";
    zt::write_text(
        dir.file("nsd.conf"),
        "server:\n  ip-address: 127.0.0.1@" + std::to_string(knot_port) + "\n  port: " +
            std::to_string(knot_port) + "\n  username: \"\"\n  chroot: \"\"\n  database: \"\"\n" +
            "  zonesdir: \"" + dir.path() + "\"\n  pidfile: \"" + dir.file("nsd.pid") +
            "\"\n  xfrdfile: \"" + dir.file("xfrd.state") + "\"\n  zonelistfile: \"" +
            dir.file("zone.list") + "\"\n  xfrdir: \"" + dir.path() +
            "\"\n  server-count: 1\n  rrl-ratelimit: 0\n  verbosity: 2\n" +
            "remote-control:\n  control-enable: no\n" +
            (tsig ? "key:\n  name: xfr-key\n  algorithm: hmac-sha256\n  secret: \"" + key_secret +
                        "\"\n"
                  : std::string()) +
            "zone:\n  name: " + zone_name + "\n  zonefile: \"" + dir.file("nsd-secondary.zone") +
            "\"\n  request-xfr: 127.0.0.1@" + std::to_string(primary_port) + " " + key_ref +
            "\n  allow-notify: 127.0.0.1 " + key_ref + "\n");
    zt::child_process secondary(
        nsd ? std::vector<std::string>{"nsd", "-d", "-c", dir.file("nsd.conf")}
            : std::vector<std::string>{"knotd", "-c", dir.file("knot.conf")},
        dir.file(log_file));

    auto wait_serial = [&](std::uint32_t serial) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < deadline) {
            const zt::dns_reply r = zt::dns_query(knot_port, zone_name + ".", "SOA", 200);
            if (r.ok && r.rcode == 0 && r.soa_serial == serial) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    };
    auto compare_sample = [&](const zt::sample_store& truth) {
        int checked = 0;
        for (const store::prefix& name : zt::sample_names(truth, false)) {
            const zt::expected_answer want = zt::reference_answer(truth.entries, truth.holes, name);
            const std::string qname = zt::query_name(name, name.length / 4, zone_name);
            const zt::dns_reply got = zt::dns_query(knot_port, qname, "A");
            INFO("query " << qname);
            REQUIRE(got.ok);
            if (want.what == zt::expected_answer::kind::listed) {
                REQUIRE(got.a.size() == 1);
                CHECK(got.a[0] == "127.0.0." + std::to_string(want.code));
            } else {
                CHECK(got.rcode == (want.what == zt::expected_answer::kind::nxdomain ? 3 : 0));
                CHECK(got.a.empty());
            }
            ++checked;
        }
        CHECK(checked > 200);
    };
    auto published = [&](zt::sample_store& truth) {
        truth.entries.clear();
        reader->catch_up();
        reader->for_each_published(
            policy, s.now, [&](const store::listing_entry& e) { truth.entries.push_back(e); });
        truth.holes = reader->published_holes();
        truth.serial = reader->serial();
    };

    published(s);
    const bool first = wait_serial(s.serial);
    INFO(zt::read_text(dir.file(log_file)));
    REQUIRE(first);
    compare_sample(s);

    // a change: a new /64, a delisting and a new hole; then NOTIFY
    store::change_set cs;
    cs.list_manually(*store::parse_prefix("2001:db8:8:1::/64"), store::reason_code::manual, "new",
                     s.now);
    cs.remove(*store::parse_prefix("2001:db8:4::1/128", false));
    cs.allow(*store::parse_prefix("2001:db8:1:2:5:1::/96"), "new hole", s.now);
    const std::uint32_t new_serial = writer->commit(std::move(cs), s.now);
    zt::sample_store after = s;
    published(after);
    REQUIRE(after.serial == new_serial);
    config.notify_targets = {"127.0.0.1:" + std::to_string(knot_port)};
    zones::notify_sender sender(config);
    const auto results = sender.send_all(new_serial, 2000, 3);
    REQUIRE(results.size() == 1);
    CHECK(results[0].acknowledged);
    const bool second = wait_serial(new_serial);
    INFO(zt::read_text(dir.file(log_file)));
    REQUIRE(second);
    compare_sample(after);
    const auto outcomes = server.outcomes();
    CHECK(std::count(outcomes.begin(), outcomes.end(), zones::transfer_outcome::axfr) +
              std::count(outcomes.begin(), outcomes.end(), zones::transfer_outcome::ixfr_full) >=
          2);
}

}  // namespace

namespace {

// A secondary on 127.0.0.1:port, on a thread of its own, that answers each message it
// receives with what `reply` makes of it in place (the reply's length; 0: none).
class fake_secondary {
  public:
    using reply_fn = std::function<std::size_t(std::uint8_t* message, std::size_t size)>;
    fake_secondary(int port, reply_fn reply) : reply_(std::move(reply)) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(static_cast<std::uint16_t>(port));
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0);
        thread_ = std::thread([this] { run(); });
    }
    ~fake_secondary() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    fake_secondary(const fake_secondary&) = delete;
    fake_secondary& operator=(const fake_secondary&) = delete;

  private:
    void run() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            std::uint8_t buffer[4096];
            sockaddr_storage peer{};
            socklen_t len = sizeof(peer);
            const ssize_t n = ::recvfrom(fd_, buffer, sizeof(buffer), 0,
                                         reinterpret_cast<sockaddr*>(&peer), &len);
            if (n < 12) continue;
            if (const std::size_t out = reply_(buffer, static_cast<std::size_t>(n)); out > 0)
                ::sendto(fd_, buffer, out, 0, reinterpret_cast<sockaddr*>(&peer), len);
        }
    }
    reply_fn reply_;
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace

TEST_CASE("notify_service sends in the background and coalesces serials", "[zones][notify]") {
    // a fake secondary: acknowledges every NOTIFY and records the announced serials
    const int port = zt::free_port();
    std::mutex seen_mutex;
    std::vector<std::uint32_t> seen;
    auto secondary = std::make_unique<fake_secondary>(port, [&](std::uint8_t* m, std::size_t n) {
        ldns_pkt* pkt = nullptr;
        if (ldns_wire2pkt(&pkt, m, n) == LDNS_STATUS_OK) {
            std::lock_guard<std::mutex> lock(seen_mutex);
            seen.push_back(
                ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(pkt), 0), 2)));
            ldns_pkt_free(pkt);
        }
        m[2] |= 0x80;  // QR: the acknowledgement
        return n;
    });
    std::mutex reports_mutex;
    std::vector<std::pair<std::uint32_t, bool>> reports;
    {
        zones::zone_config config = transfer_config();
        config.notify_targets = {"127.0.0.1:" + std::to_string(port)};
        zones::notify_service service(config,
                                      [&](std::uint32_t serial, const zones::notify_result& r) {
                                          std::lock_guard<std::mutex> lock(reports_mutex);
                                          reports.emplace_back(serial, r.acknowledged);
                                      });
        for (std::uint32_t serial = 10; serial <= 14; ++serial) service.serial_changed(serial);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            {
                std::lock_guard<std::mutex> lock(reports_mutex);
                if (!reports.empty() && reports.back().first == 14) break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    secondary.reset();
    REQUIRE_FALSE(reports.empty());
    CHECK(reports.back() == std::make_pair(std::uint32_t{14}, true));
    CHECK(reports.size() <= 5);  // coalesced: never more rounds than changes
    std::lock_guard<std::mutex> lock(seen_mutex);
    CHECK(std::find(seen.begin(), seen.end(), 14u) != seen.end());
}

TEST_CASE("Knot as a secondary: AXFR, then NOTIFY and IXFR after a change",
          "[zones][transfer][peers][knot]") {
    secondary_scenario(secondary_kind::knot, false);
}

TEST_CASE("Knot as a secondary with TSIG only", "[zones][transfer][peers][knot][tsig]") {
    secondary_scenario(secondary_kind::knot, true);
}

TEST_CASE("NSD as a secondary: AXFR, then NOTIFY and IXFR (UDP, then TCP) after a change",
          "[zones][transfer][peers][nsd]") {
    secondary_scenario(secondary_kind::nsd, false);
}

TEST_CASE("NSD as a secondary with TSIG only", "[zones][transfer][peers][nsd][tsig]") {
    secondary_scenario(secondary_kind::nsd, true);
}

#ifdef V6BL_EXECUTABLE
namespace {

// The zone's SOA serial as the server on `port` answers it (0: no answer yet).
std::uint32_t soa_serial(int port) {
    const zt::dns_reply r = zt::dns_query(port, zone_name + ".", "SOA", 300);
    return r.ok && r.rcode == 0 ? r.soa_serial : 0u;
}

// Polls `done` every 100 ms for up to `seconds`.
template <typename Fn>
bool wait_until(Fn&& done, int seconds = 20) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

// `v6bl serve` of `db` on 127.0.0.1:port for the test zone (NS ns1.example.net, the store
// re-read every 200 ms), then `extra`.
std::vector<std::string> serve_argv(const zt::temp_dir& dir, const std::string& db, int port,
                                    const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {V6BL_EXECUTABLE, "serve",
                                     "--db",          db,
                                     "--listen",      "127.0.0.1:" + std::to_string(port),
                                     "--zone",        zone_name,
                                     "--ns",          "ns1.example.net",
                                     "--refresh-ms",  "200",
                                     "--scratch-dir", dir.file("serve-scratch")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
}

}  // namespace

// The issue's end-to-end case: Knot is a secondary of `v6bl serve` itself. It takes an AXFR;
// `v6bl import` changes the list, `v6bl notify` tells Knot, Knot takes an IXFR, and its
// answers equal v6bl's on a sample. A transfer from a source outside the ACL, or with a
// wrong key, is refused.
TEST_CASE("Knot as a secondary of v6bl serve", "[zones][transfer][peers][knot][serve]") {
    REQUIRE(zt::tool_exists("knotd"));
    const std::string v6bl = V6BL_EXECUTABLE;
    zt::temp_dir dir;
    zt::sample_store s = zt::make_sample_store(dir.file("db"));
    s.policy.expiry_seconds = 0;  // serve evaluates at the wall clock; the sample is older
    const int serve_port = zt::free_port();
    const int knot_port = zt::free_port();
    zt::child_process serve(serve_argv(dir, s.db, serve_port,
                                       {"--expiry", "0", "--transfer-allow", "127.0.0.1/32",
                                        "--transfer-tsig", "hmac-sha256:xfr-key:" + key_secret}),
                            dir.file("serve.log"));
    REQUIRE(zt::wait_for_zone(serve_port, zone_name, 20000));
    write_knot_secondary_config(dir, knot_port, serve_port, false);
    zt::child_process knot({"knotd", "-c", dir.file("knot.conf")}, dir.file("knot.log"));

    auto wait_serial = [&](int port, std::uint32_t serial) {
        return wait_until([&] { return soa_serial(port) == serial; });
    };
    auto republished = [&](zt::sample_store& truth) {
        store::store_options o;
        o.path = truth.db;
        o.create_if_missing = false;
        auto db = store::reputation_store::open_read_only(o);
        truth.entries.clear();
        db->for_each_published(truth.policy, truth.now,
                               [&](const store::listing_entry& e) { truth.entries.push_back(e); });
        truth.holes = db->published_holes();
        truth.serial = db->serial();
    };
    auto compare = [&](const zt::sample_store& truth) {
        int listed = 0;
        for (const store::prefix& name : zt::sample_names(truth, false)) {
            const std::string qname = zt::query_name(name, name.length / 4, zone_name);
            const zt::dns_reply ours = zt::dns_query(serve_port, qname, "A");
            const zt::dns_reply theirs = zt::dns_query(knot_port, qname, "A");
            const zt::expected_answer want = zt::reference_answer(truth.entries, truth.holes, name);
            INFO("query " << qname);
            REQUIRE(ours.ok);
            REQUIRE(theirs.ok);
            CHECK(ours.rcode == theirs.rcode);
            CHECK(ours.a == theirs.a);
            if (want.what == zt::expected_answer::kind::listed) {
                ++listed;
                REQUIRE(theirs.a.size() == 1);
                CHECK(theirs.a[0] == "127.0.0." + std::to_string(want.code));
            }
        }
        CHECK(listed > 100);
    };

    republished(s);
    const bool first = wait_serial(knot_port, s.serial);
    INFO(zt::read_text(dir.file("knot.log")) + zt::read_text(dir.file("serve.log")));
    REQUIRE(first);
    compare(s);

    // a change through the CLI while serve runs, then NOTIFY through the CLI
    zt::write_text(dir.file("more.txt"),
                   "2001:db8:8:1::/64 127.0.0.10 new listing\n"
                   "2001:db8:1:2:5:1::/96 127.0.0.3 deeper\n");
    std::string out;
    REQUIRE(zt::run_command(v6bl + " import --db " + s.db + " " + dir.file("more.txt"), &out) == 0);
    REQUIRE(zt::run_command(v6bl + " allow --db " + s.db + " 2001:db8:2:6::/64", &out) == 0);
    zt::sample_store after = s;
    republished(after);
    REQUIRE(after.serial != s.serial);
    REQUIRE(wait_serial(serve_port, after.serial));
    CHECK(zt::run_command(v6bl + " notify --db " + s.db + " --zone " + zone_name +
                              " --notify 127.0.0.1:" + std::to_string(knot_port),
                          &out) == 0);
    INFO(out);
    const bool second = wait_serial(knot_port, after.serial);
    INFO(zt::read_text(dir.file("knot.log")));
    REQUIRE(second);
    compare(after);

    // refused: a source outside 127.0.0.1/32, and a wrong key
    built_query q;
    build_query(q, LDNS_RR_TYPE_AXFR, zone_name + ".");
    const zt::transfer_reply outside = zt::tcp_transfer(serve_port, q.wire, 3000, "127.0.0.2");
    CHECK(outside.rcode == LDNS_RCODE_REFUSED);
    CHECK(outside.rrs.empty());
    const zt::transfer_reply allowed = zt::tcp_transfer(serve_port, q.wire, 5000);
    CHECK(allowed.ok);
    CHECK(allowed.rrs.size() > 10);
}

// A listing that expires between commits leaves serve at once, but under the serial the
// zone had: Knot, told nothing and asking for the same serial, kept answering it. `v6bl
// expire` (serve's policy flags) commits a journal entry naming it: the serial moves, serve
// sends NOTIFY, Knot transfers and drops it; the listing that has not lapsed stays.
TEST_CASE("Knot as a secondary of v6bl serve drops a listing once v6bl expire moves the serial",
          "[zones][transfer][peers][knot][serve][expire]") {
    REQUIRE(zt::tool_exists("knotd"));
    const std::string v6bl = V6BL_EXECUTABLE;
    zt::temp_dir dir;
    const std::string db = dir.file("db");
    const int serve_port = zt::free_port();
    const int knot_port = zt::free_port();
    // Manual listings expire 100 s after their import: the first, imported as if 80 s
    // ago, lapses about 20 s from now (time for serve and Knot to start and transfer).
    const long long wall = static_cast<long long>(std::time(nullptr));
    zt::write_text(dir.file("soon.txt"), "2001:db8:77:1::/64 127.0.0.10 lapses soon\n");
    zt::write_text(dir.file("stays.txt"), "2001:db8:77:2::/64 127.0.0.10 stays\n");
    std::string out;
    REQUIRE(zt::run_command(v6bl + " import --db " + db + " --now " + std::to_string(wall - 80) +
                                " " + dir.file("soon.txt"),
                            &out) == 0);
    REQUIRE(zt::run_command(v6bl + " import --db " + db + " " + dir.file("stays.txt"), &out) == 0);
    zt::child_process serve(
        serve_argv(dir, db, serve_port,
                   {"--manual-expiry", "100", "--transfer-allow", "127.0.0.1/32", "--notify",
                    "127.0.0.1:" + std::to_string(knot_port)}),
        dir.file("serve.log"));
    REQUIRE(zt::wait_for_zone(serve_port, zone_name, 20000));
    write_knot_secondary_config(dir, knot_port, serve_port, false);
    zt::child_process knot({"knotd", "-c", dir.file("knot.conf")}, dir.file("knot.log"));

    auto answer = [&](int port, const char* address) {
        const store::prefix p = *store::parse_prefix(address, false);  // a bare address: /128
        const zt::dns_reply r = zt::dns_query(port, zt::query_name(p, 32, zone_name), "A", 300);
        return !r.ok                            ? std::string("no reply")
               : r.rcode == LDNS_RCODE_NXDOMAIN ? std::string("NXDOMAIN")
               : r.a.empty()                    ? "rcode " + std::to_string(r.rcode)
                                                : r.a[0];
    };
    const std::uint32_t before = soa_serial(serve_port);
    REQUIRE(before != 0);
    const bool transferred = wait_until([&] { return soa_serial(knot_port) == before; }, 20);
    INFO(zt::read_text(dir.file("knot.log")) + zt::read_text(dir.file("serve.log")));
    REQUIRE(transferred);
    CHECK(answer(knot_port, "2001:db8:77:1::1") == "127.0.0.10");

    // The listing lapses: serve drops it, the serial stays, Knot keeps it.
    REQUIRE(wait_until([&] { return answer(serve_port, "2001:db8:77:1::1") == "NXDOMAIN"; }, 40));
    CHECK(soa_serial(serve_port) == before);
    CHECK(answer(knot_port, "2001:db8:77:1::1") == "127.0.0.10");

    REQUIRE(zt::run_command(v6bl + " expire --db " + db + " --manual-expiry 100", &out) == 0);
    INFO(out);
    CHECK(out.find("1 listing(s) lapsed") != std::string::npos);
    const bool moved = wait_until([&] { return soa_serial(knot_port) == before + 1; }, 20);
    INFO(zt::read_text(dir.file("knot.log")));
    REQUIRE(moved);
    CHECK(soa_serial(serve_port) == before + 1);
    CHECK(answer(knot_port, "2001:db8:77:1::1") == "NXDOMAIN");
    CHECK(answer(knot_port, "2001:db8:77:2::1") == "127.0.0.10");
    CHECK(answer(serve_port, "2001:db8:77:2::1") == "127.0.0.10");

    // Nothing more has lapsed: no commit.
    REQUIRE(zt::run_command(v6bl + " expire --db " + db + " --manual-expiry 100", &out) == 0);
    CHECK(out.find("no listing lapsed") != std::string::npos);
    CHECK(soa_serial(serve_port) == before + 1);
}

// Knot with a key and nothing else (the documented TSIG-only setup): its refresh checks are
// SOA queries over UDP signed with the key, which serve answered FORMERR until it verified
// and signed ordinary queries, so Knot kept its first copy of the zone until it expired.
// Here each change reaches Knot through serve's signed NOTIFY, Knot's signed SOA query and
// a signed IXFR.
TEST_CASE("Knot with TSIG only as a secondary of v6bl serve follows changes",
          "[zones][transfer][peers][knot][serve][tsig]") {
    REQUIRE(zt::tool_exists("knotd"));
    const std::string v6bl = V6BL_EXECUTABLE;
    zt::temp_dir dir;
    const std::string db = dir.file("db");
    const int serve_port = zt::free_port();
    const int knot_port = zt::free_port();
    const std::string key = "hmac-sha256:xfr-key:" + key_secret;
    std::string out;
    zt::write_text(dir.file("first.txt"), "2001:db8:66:1::/64 127.0.0.10 first\n");
    REQUIRE(zt::run_command(v6bl + " import --db " + db + " " + dir.file("first.txt"), &out) == 0);
    zt::child_process serve(
        serve_argv(dir, db, serve_port,
                   {"--transfer-tsig", key, "--transfer-require-tsig", "--notify",
                    "127.0.0.1:" + std::to_string(knot_port), "--notify-tsig", key}),
        dir.file("serve.log"));
    REQUIRE(zt::wait_for_zone(serve_port, zone_name, 20000));
    write_knot_secondary_config(dir, knot_port, serve_port, true);
    zt::child_process knot({"knotd", "-c", dir.file("knot.conf")}, dir.file("knot.log"));
    auto wait_serial = [&](std::uint32_t serial) {
        return wait_until([&] { return soa_serial(knot_port) == serial; });
    };
    const std::uint32_t first = soa_serial(serve_port);
    REQUIRE(first != 0);
    const bool bootstrapped = wait_serial(first);
    INFO(zt::read_text(dir.file("knot.log")) + zt::read_text(dir.file("serve.log")));
    REQUIRE(bootstrapped);
    for (int change = 0; change < 2; ++change) {
        INFO("change " << change);
        zt::write_text(dir.file("more.txt"),
                       "2001:db8:66:" + std::to_string(change + 2) + "::/64 127.0.0.10 more\n");
        REQUIRE(zt::run_command(v6bl + " import --db " + db + " " + dir.file("more.txt"), &out) ==
                0);
        const std::uint32_t want = first + 1 + static_cast<std::uint32_t>(change);
        const bool followed = wait_serial(want);
        INFO(zt::read_text(dir.file("knot.log")));
        REQUIRE(followed);
        const store::prefix p =
            *store::parse_prefix("2001:db8:66:" + std::to_string(change + 2) + "::1", false);
        const zt::dns_reply r = zt::dns_query(knot_port, zt::query_name(p, 32, zone_name), "A");
        REQUIRE(r.ok);
        CHECK(r.a == std::vector<std::string>{"127.0.0.10"});
    }
    // Knot's log shows the refresh checks it made (one per NOTIFY), none refused.
    const std::string log = zt::read_text(dir.file("knot.log"));
    CHECK(log.find("remote serial") != std::string::npos);
    CHECK(log.find("FORMERR") == std::string::npos);
    CHECK(log.find("NOTAUTH") == std::string::npos);
}

// TSIG-signed and IXFR queries through `v6bl serve`: the server hands queries with an
// authority SOA (IXFR) or a TSIG record to the transfer responder before its strict parser.
TEST_CASE("v6bl serve passes IXFR and TSIG-signed transfers to the responder",
          "[zones][transfer][serve]") {
    const std::string v6bl = V6BL_EXECUTABLE;
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    const int serve_port = zt::free_port();
    zt::child_process serve(
        {v6bl, "serve", "--db", s.db, "--listen", "127.0.0.1:" + std::to_string(serve_port),
         "--zone", zone_name, "--ns", "ns1.example.net", "--transfer-allow", "127.0.0.1/32",
         "--transfer-tsig", "hmac-sha256:xfr-key:" + key_secret, "--scratch-dir",
         dir.file("serve-scratch")},
        dir.file("serve.log"));
    REQUIRE(zt::wait_for_zone(serve_port, zone_name, 20000));
    built_query wrong;
    build_query(wrong, LDNS_RR_TYPE_AXFR, zone_name + ".", std::nullopt, "xfr-key.",
                "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC0xMjM0NTY=");
    const zt::transfer_reply bad_key = zt::tcp_transfer(serve_port, wrong.wire, 3000, "127.0.0.2");
    CHECK(bad_key.rcode == LDNS_RCODE_NOTAUTH);
    CHECK(bad_key.rrs.empty());
    built_query good;
    build_query(good, LDNS_RR_TYPE_AXFR, zone_name + ".", std::nullopt, "xfr-key.", key_secret);
    const zt::transfer_reply signed_axfr =
        zt::tcp_transfer(serve_port, good.wire, 5000, "127.0.0.2");
    CHECK(signed_axfr.ok);
    CHECK(signed_axfr.rrs.size() > 10);
    built_query ixfr;
    build_query(ixfr, LDNS_RR_TYPE_IXFR, zone_name + ".", s.serial);
    const zt::transfer_reply up_to_date = zt::tcp_transfer(serve_port, ixfr.wire, 3000);
    CHECK(up_to_date.ok);
    CHECK(up_to_date.rrs.size() == 1);
}
#endif

TEST_CASE("a NOTIFY the secondary refuses is reported as refused, at once", "[zones][notify]") {
    // A secondary that answers every NOTIFY with REFUSED, as one that does not serve the
    // zone does (or NOTAUTH, for a key it does not know).
    const int port = zt::free_port();
    std::atomic<int> received{0};
    auto secondary = std::make_unique<fake_secondary>(port, [&](std::uint8_t* m, std::size_t) {
        ++received;
        m[2] |= 0x80;
        m[3] = static_cast<std::uint8_t>((m[3] & 0xf0) | 5);  // REFUSED
        return std::size_t{12};
    });
    zones::zone_config config = transfer_config();
    config.notify_targets = {"127.0.0.1:" + std::to_string(port)};
    const zones::notify_sender sender(config);
    const auto results = sender.send_all(5, 3000, 3);
    secondary.reset();
    REQUIRE(results.size() == 1);
    CHECK_FALSE(results[0].acknowledged);
    CHECK(results[0].error == "refused by the secondary: REFUSED (RCODE 5)");
    // Sent once: a refusal is final (it was "no acknowledgement" after three timeouts).
    CHECK(received == 1);

    // SERVFAIL (a secondary still loading the zone) is tried again, and named.
    received = 0;
    secondary = std::make_unique<fake_secondary>(port, [&](std::uint8_t* m, std::size_t) {
        ++received;
        m[2] |= 0x80;
        m[3] = static_cast<std::uint8_t>((m[3] & 0xf0) | 2);  // SERVFAIL
        return std::size_t{12};
    });
    const auto again = sender.send_all(5, 300, 3);
    secondary.reset();
    REQUIRE(again.size() == 1);
    CHECK_FALSE(again[0].acknowledged);
    CHECK(again[0].error == "the secondary answered SERVFAIL (RCODE 2)");
    CHECK(received == 3);

    std::vector<std::uint8_t> reply = sender.make_notify(5, 42);
    reply.resize(12);
    reply[2] |= 0x80;
    CHECK(zones::notify_sender::refusal_rcode(reply, 42) == -1);  // NOERROR: an ack
    reply[3] = static_cast<std::uint8_t>((reply[3] & 0xf0) | 9);
    CHECK(zones::notify_sender::refusal_rcode(reply, 42) == 9);
    CHECK(zones::notify_sender::refusal_rcode(reply, 43) == -1);
}
