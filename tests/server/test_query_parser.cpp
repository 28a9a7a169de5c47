// The hand-written query parser held equal to ldns (ldns_wire2pkt) on valid and random input,
// and every response of the core readable by ldns.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>

#include "dns_text.h"
#include "query_parser.h"
#include "v6bl/server/answer.h"
#include "v6bl/store/listing_view.h"

// ldns last: its headers define macros (false, true) that break <optional>.
#include <ldns/ldns.h>

using namespace v6bl;
using namespace v6bl::server;

namespace {

std::string our_name_text(const parsed_query& q) {
    std::string out;
    for (std::size_t i = 0; i < q.labels; ++i) {
        const std::size_t at = q.label_at[i];
        for (std::size_t k = 0; k < q.qname[at]; ++k) {
            const unsigned char c = q.qname[at + 1 + k];
            if (c == '.' || c == '\\' || c == '(' || c == ')' || c == ';' || c == '"' || c == '@' ||
                c == '$') {
                out += '\\';
                out += static_cast<char>(c);
            } else if (c < 0x21 || c > 0x7e) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\%03u", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
        out += '.';
    }
    return out.empty() ? "." : out;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

struct comparison {
    bool ours_ok = false;
    bool ldns_ok = false;
    std::string mismatch;
};

comparison compare(const std::vector<std::uint8_t>& wire) {
    comparison c;
    parsed_query q;
    c.ours_ok = parse_query(wire, q) == parse_status::ok;
    ldns_pkt* pkt = nullptr;
    c.ldns_ok = ldns_wire2pkt(&pkt, wire.data(), wire.size()) == LDNS_STATUS_OK;
    if (c.ours_ok && c.ldns_ok) {
        const ldns_rr_list* qs = ldns_pkt_question(pkt);
        if (ldns_pkt_qdcount(pkt) != 1 || ldns_rr_list_rr_count(qs) != 1) {
            c.mismatch = "question count";
        } else {
            const ldns_rr* rr = ldns_rr_list_rr(qs, 0);
            // Names compared in lower-cased wire form (text would differ only in escapes).
            const ldns_rdf* owner = ldns_rr_owner(rr);
            std::string theirs(reinterpret_cast<const char*>(ldns_rdf_data(owner)),
                               ldns_rdf_size(owner));
            theirs = lower(theirs);
            const std::string ours(reinterpret_cast<const char*>(q.qname.data()), q.qname_size);
            if (theirs != ours) c.mismatch = "name " + our_name_text(q) + " differs";
            if (ldns_rr_get_type(rr) != q.qtype) c.mismatch += " qtype";
            if (ldns_rr_get_class(rr) != q.qclass) c.mismatch += " qclass";
            if (static_cast<bool>(ldns_pkt_edns(pkt)) != q.has_opt &&
                (q.has_opt || ldns_pkt_edns(pkt)))
                c.mismatch += " edns";
            if (q.has_opt) {
                if (ldns_pkt_edns_udp_size(pkt) != q.opt_udp_size) c.mismatch += " udp size";
                if (ldns_pkt_edns_version(pkt) != q.opt_version) c.mismatch += " version";
                if (static_cast<bool>(ldns_pkt_edns_do(pkt)) != q.opt_do) c.mismatch += " do";
            }
            if (ldns_pkt_id(pkt) != q.id) c.mismatch += " id";
        }
    }
    if (c.ours_ok && !c.ldns_ok) c.mismatch = "we accept what ldns rejects";
    ldns_pkt_free(pkt);
    return c;
}

std::vector<std::vector<std::uint8_t>> seed_queries() {
    using test::make_query;
    test::query_options plain, edns, dnssec;
    edns.edns = true;
    dnssec.edns = dnssec.dnssec_ok = true;
    dnssec.bufsize = 4096;
    return {
        make_query(
            "1.2.3.4.5.6.7.8.9.a.b.c.d.e.f.0.1.2.3.4.5.6.7.8.9.a.b.c.d.e.f.0.dnsbl6.example.org.",
            "A", plain),
        make_query("2.0.0.127.dnsbl6.Example.org.", "TXT", edns),
        make_query("dnsbl6.example.org.", "SOA", dnssec),
        make_query("x.y.z.", "ANY", plain),
        make_query(".", "NS", edns),
    };
}

}  // namespace

TEST_CASE("parser agrees with ldns on well-formed queries", "[server][parser]") {
    for (const auto& wire : seed_queries()) {
        const comparison c = compare(wire);
        INFO(c.mismatch);
        CHECK(c.ours_ok);
        CHECK(c.ldns_ok);
        CHECK(c.mismatch.empty());
    }
}

TEST_CASE("parser never accepts what ldns rejects, and agrees when both accept",
          "[server][parser]") {
    std::mt19937_64 rng(20261124);
    const auto seeds = seed_queries();
    int both_ok = 0, rejected = 0;
    for (int i = 0; i < 200000; ++i) {
        std::vector<std::uint8_t> w = seeds[rng() % seeds.size()];
        const int mutations = 1 + static_cast<int>(rng() % 4);
        for (int m = 0; m < mutations; ++m) {
            switch (rng() % 6) {
                case 0:
                    if (!w.empty())
                        w[rng() % w.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
                    break;
                case 1:
                    if (!w.empty()) w[rng() % w.size()] = static_cast<std::uint8_t>(rng());
                    break;
                case 2:
                    if (!w.empty()) w.resize(rng() % w.size());
                    break;
                case 3:
                    w.insert(w.begin() + static_cast<long>(rng() % (w.size() + 1)),
                             static_cast<std::uint8_t>(rng()));
                    break;
                case 4:
                    if (w.size() > 12) w[4 + rng() % 8] = static_cast<std::uint8_t>(rng() % 3);
                    break;
                case 5:
                    for (int k = 0; k < 11; ++k) w.push_back(static_cast<std::uint8_t>(rng()));
                    break;
            }
        }
        const comparison c = compare(w);
        if (!c.mismatch.empty()) {
            std::string hex;
            for (auto b : w) {
                char buf[4];
                std::snprintf(buf, sizeof buf, "%02x", b);
                hex += buf;
            }
            FAIL("input " << hex << ": " << c.mismatch);
        }
        both_ok += c.ours_ok && c.ldns_ok;
        rejected += !c.ours_ok;
    }
    CHECK(both_ok > 1000);   // the mutations leave many valid queries
    CHECK(rejected > 1000);  // and break many
}

TEST_CASE("every response of the core is a message ldns reads, for random input",
          "[server][parser]") {
    std::vector<store::listing_entry> entries;
    store::listing_entry e;
    e.where = *store::parse_prefix("2001:db8:1:2::/64");
    e.code = store::reason_code::associated;
    entries.push_back(e);
    entries.push_back(store::rfc5782_test_entry());
    auto view = store::listing_view::build(entries, {}, 3);
    const answer_zone zone(zones::zone_config{});
    std::mt19937_64 rng(7);
    const auto seeds = seed_queries();
    std::vector<std::uint8_t> out(dns::max_message_size);
    for (int i = 0; i < 50000; ++i) {
        std::vector<std::uint8_t> w = seeds[rng() % seeds.size()];
        if (i % 2) w[rng() % w.size()] = static_cast<std::uint8_t>(rng());
        if (i % 3 == 0) w.resize(rng() % (w.size() + 1));
        answer_context ctx{view.get(), &zone, 1790000000,
                           i % 5 ? transport_kind::udp : transport_kind::tcp};
        const answer_result r = answer_query(w, out, ctx);
        if (r.size == 0) continue;
        REQUIRE(r.size <= (ctx.transport == transport_kind::udp ? 1232u : 65535u));
        ldns_pkt* pkt = nullptr;
        const bool ok = ldns_wire2pkt(&pkt, out.data(), r.size) == LDNS_STATUS_OK;
        ldns_pkt_free(pkt);
        REQUIRE(ok);
    }
}

TEST_CASE("an IXFR with its SOA in authority: the SOA alone over UDP, REFUSED over TCP",
          "[server][parser]") {
    // As `dig +notcp ... ixfr=5` sends it: the client's SOA, owner compressed to the question.
    const auto wire = test::from_hex(
        "0102 0000 0001 0000 0001 0000 06646e73626c36 076578616d706c65 036f7267 00 00fb 0001"
        "c00c 0006 0001 00000000 0016 00 00 00000005 00000000 00000000 00000000 00000000");
    const comparison c = compare(wire);
    INFO(c.mismatch);
    CHECK(c.ours_ok);
    CHECK(c.ldns_ok);
    CHECK(c.mismatch.empty());

    auto view = store::listing_view::build({store::rfc5782_test_entry()}, {}, 3);
    const answer_zone zone(zones::zone_config{});
    std::vector<std::uint8_t> out(dns::max_message_size);
    answer_context ctx{view.get(), &zone, 1790000000, transport_kind::udp, false};
    answer_result r = answer_query(wire, out, ctx);
    CHECK(test::describe_response({out.data(), r.size}) ==
          "NOERROR qr aa qd=1\nan dnsbl6.example.org. 300 IN SOA ns1.dnsbl6.example.org. "
          "hostmaster.dnsbl6.example.org. 3 3600 600 604800 300");
    ctx.transport = transport_kind::tcp;
    r = answer_query(wire, out, ctx);
    CHECK(test::describe_response({out.data(), r.size}) == "REFUSED qr qd=1");
    ctx.transfer_enabled = true;
    CHECK(answer_query(wire, out, ctx).outcome == answer_outcome::transfer);
}

// RFC 6891 6.1.1: an EDNS request gets an EDNS response, NOTIMP included; a message that
// does not parse (or a FORMERR) gets the bare header.
TEST_CASE("NOTIMP to an EDNS message carries an OPT, with DO echoed", "[server][parser]") {
    auto view = store::listing_view::build({store::rfc5782_test_entry()}, {}, 3);
    const answer_zone zone(zones::zone_config{});
    std::vector<std::uint8_t> out(dns::max_message_size);
    answer_context ctx{view.get(), &zone, 1790000000, transport_kind::udp, false};
    auto describe = [&](const char* hex) {
        const answer_result r = answer_query(test::from_hex(hex), out, ctx);
        return test::describe_response({out.data(), r.size});
    };
    // NOTIFY (opcode 4) of SOA, with an OPT of 4096 bytes and DO, then without DO, then none
    CHECK(describe("0102 2000 0001 0000 0000 0001 06646e73626c36076578616d706c65036f726700 "
                   "0006 0001 00 0029 1000 00008000 0000") ==
          "NOTIMPL opcode=4 qr qd=0\nedns udp=1232 do");
    CHECK(describe("0102 2000 0001 0000 0000 0001 06646e73626c36076578616d706c65036f726700 "
                   "0006 0001 00 0029 1000 00000000 0000") ==
          "NOTIMPL opcode=4 qr qd=0\nedns udp=1232");
    CHECK(describe("0102 2000 0001 0000 0000 0000 06646e73626c36076578616d706c65036f726700 "
                   "0006 0001") == "NOTIMPL opcode=4 qr qd=0");
    // UPDATE (opcode 5) whose OPT runs past the message: NOTIMP, no OPT
    CHECK(describe("0102 2800 0001 0000 0000 0001 06646e73626c36076578616d706c65036f726700 "
                   "0006 0001 00 0029 1000 00000000 0008 0001") == "NOTIMPL opcode=5 qr qd=0");
    // NOTIFY with the new SOA in its answer section (RFC 1996 3.7), owner compressed
    CHECK(describe("0102 2000 0001 0001 0000 0001 06646e73626c36076578616d706c65036f726700 "
                   "0006 0001 c00c 0006 0001 00000000 0016 00 00 00000005 00000000 00000000 "
                   "00000000 00000000 00 0029 1000 00008000 0000") ==
          "NOTIMPL opcode=4 qr qd=0\nedns udp=1232 do");
    // UPDATE (RFC 2136): zone SOA, one update record (delete an RRset), then the OPT
    CHECK(describe("0102 2800 0001 0000 0001 0001 06646e73626c36076578616d706c65036f726700 "
                   "0006 0001 0178 c00c 0001 00ff 00000000 0000 00 0029 1000 00000000 0000") ==
          "NOTIMPL opcode=5 qr qd=0\nedns udp=1232");
    // EDNS version 1: BADVERS (RFC 6891 6.1.3), whatever the opcode
    const answer_result bad = answer_query(
        test::from_hex("0102 2000 0001 0000 0000 0001 06646e73626c36076578616d706c65036f726700 "
                       "0006 0001 00 0029 1000 00010000 0000"),
        out, ctx);
    CHECK(bad.outcome == answer_outcome::badvers);
    CHECK(test::describe_response({out.data(), bad.size}) ==
          "BADVERS opcode=4 qr qd=0\nedns udp=1232");
    // two OPTs, or an OPT not owned by the root: none
    CHECK(describe("0102 2000 0001 0000 0000 0002 06646e73626c36076578616d706c65036f726700 "
                   "0006 0001 00 0029 1000 00000000 0000 00 0029 1000 00000000 0000") ==
          "NOTIMPL opcode=4 qr qd=0");
    CHECK(describe("0102 2000 0001 0000 0000 0001 06646e73626c36076578616d706c65036f726700 "
                   "0006 0001 c00c 0029 1000 00000000 0000") == "NOTIMPL opcode=4 qr qd=0");
    // a query with an OPT and trailing garbage: FORMERR, no OPT
    CHECK(describe("0102 0000 0001 0000 0000 0001 06646e73626c36076578616d706c65036f726700 "
                   "0006 0001 00 0029 1000 00000000 0000 dead") == "FORMERR qr qd=0");
}

TEST_CASE("compression pointers are followed at most 256 times in one message",
          "[server][parser]") {
    auto view = store::listing_view::build({store::rfc5782_test_entry()}, {}, 3);
    const answer_zone zone(zones::zone_config{});
    std::vector<std::uint8_t> out(dns::max_message_size);
    answer_context ctx{view.get(), &zone, 1790000000, transport_kind::tcp, false};
    // A NOTIFY of `n` questions: the root, then each a pointer to the one before (question
    // i is a chain of i pointers), then an OPT. Read to its end, it gets an OPT back.
    auto chained = [](int n) {
        std::vector<std::uint8_t> m = {0x01, 0x02, 0x20, 0x00, 0, 0, 0, 0, 0, 0, 0, 1};
        m[4] = static_cast<std::uint8_t>(n >> 8);
        m[5] = static_cast<std::uint8_t>(n);
        std::size_t previous = m.size();
        m.insert(m.end(), {0, 0, 6, 0, 1});
        for (int i = 1; i < n; ++i) {
            const std::size_t here = m.size();
            m.insert(m.end(), {static_cast<std::uint8_t>(0xc0 | (previous >> 8)),
                               static_cast<std::uint8_t>(previous), 0, 6, 0, 1});
            previous = here;
        }
        m.insert(m.end(), {0, 0, 0x29, 0x10, 0, 0, 0, 0, 0, 0, 0});
        return m;
    };
    auto describe = [&](const std::vector<std::uint8_t>& q) {
        const answer_result r = answer_query(q, out, ctx);
        return test::describe_response({out.data(), r.size});
    };
    // 22 questions follow 231 pointers: read, OPT found.
    CHECK(describe(chained(22)) == "NOTIMPL opcode=4 qr qd=0\nedns udp=1232");
    // 24 follow 276: the message is not read further (10,000 such questions in 64 KiB were
    // tens of millions of hops), so no OPT is found.
    CHECK(describe(chained(24)) == "NOTIMPL opcode=4 qr qd=0");
    CHECK(describe(chained(10000)) == "NOTIMPL opcode=4 qr qd=0");
}
