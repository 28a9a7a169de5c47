// TSIG-signed ordinary queries through the answer core (RFC 8945): a verified query gets the
// unsigned query's answer, signed so that ldns verifies it with the request's MAC; an unknown
// key, a bad MAC or a request outside its time window gets NOTAUTH with the TSIG error.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers): before ldns (its bool macros)

#include <ldns/ldns.h>
#include <openssl/evp.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dns_text.h"
#include "v6bl/server/answer.h"
#include "v6bl/store/listing_view.h"

using namespace v6bl;
using namespace v6bl::server;
using namespace v6bl::server::test;

namespace {

const std::string secret = "c2VjcmV0LWtleS1mb3ItdjZibC10ZXN0cy0xMjM0NTY=";
const std::string other_secret = "b3RoZXItc2VjcmV0LWZvci12NmJsLXRlc3RzLTk4NzY=";

struct pkt_deleter {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using pkt_ptr = std::unique_ptr<ldns_pkt, pkt_deleter>;

pkt_ptr parse(std::span<const std::uint8_t> wire) {
    ldns_pkt* p = nullptr;
    if (ldns_wire2pkt(&p, wire.data(), wire.size()) != LDNS_STATUS_OK) return nullptr;
    return pkt_ptr(p);
}

// A query signed with ldns, and the MAC an answer chains from.
struct signed_query {
    std::vector<std::uint8_t> wire;
    std::vector<std::uint8_t> mac_rdf;  // the request's MAC rdf bytes (length included)
};

signed_query sign(const std::vector<std::uint8_t>& query, const std::string& key,
                  const std::string& key_secret, std::uint16_t fudge = 300,
                  const char* algorithm = "hmac-sha256.") {
    pkt_ptr p = parse(query);
    REQUIRE(p);
    REQUIRE(ldns_pkt_tsig_sign(p.get(), key.c_str(), key_secret.c_str(), fudge, algorithm,
                               nullptr) == LDNS_STATUS_OK);
    std::uint8_t* data = nullptr;
    std::size_t size = 0;
    REQUIRE(ldns_pkt2wire(&data, p.get(), &size) == LDNS_STATUS_OK);
    signed_query s;
    s.wire.assign(data, data + size);
    LDNS_FREE(data);
    const ldns_rdf* mac = ldns_rr_rdf(ldns_pkt_tsig(p.get()), 3);
    s.mac_rdf.assign(ldns_rdf_data(mac), ldns_rdf_data(mac) + ldns_rdf_size(mac));
    return s;
}

struct tsig_fields {
    bool present = false;
    std::uint16_t error = 0;
    std::size_t mac_size = 0;
    std::size_t other_size = 0;
};

tsig_fields tsig_of(std::span<const std::uint8_t> response) {
    tsig_fields f;
    pkt_ptr p = parse(response);
    REQUIRE(p);
    const ldns_rr* t = ldns_pkt_tsig(p.get());
    if (!t) return f;
    f.present = true;
    f.mac_size = ldns_rdf_size(ldns_rr_rdf(t, 3)) - 2;
    f.error = ldns_rdf2native_int16(ldns_rr_rdf(t, 5));
    f.other_size = ldns_rdf_size(ldns_rr_rdf(t, 6)) - 2;
    return f;
}

// Whether ldns verifies `response` as the answer to `q` under the key.
bool verifies(std::span<const std::uint8_t> response, const signed_query& q,
              const std::string& key_secret) {
    pkt_ptr p = parse(response);
    if (!p || !ldns_pkt_tsig(p.get())) return false;
    ldns_rdf* mac =
        ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, q.mac_rdf.size(), q.mac_rdf.data());
    const bool ok = ldns_pkt_tsig_verify(p.get(), response.data(), response.size(), "xfr-key.",
                                         key_secret.c_str(), mac);
    ldns_rdf_deep_free(mac);
    return ok;
}

// A request signed by hand (RFC 8945 4.3.3), for what ldns cannot sign: hmac-sha224 and
// hmac-sha384 (ldns 1.8 lacks one and misspells the other), the short name "hmac-md5.",
// truncated or oversized MACs, a header ID other than the original one.
struct hand_signing {
    std::string key = "xfr-key.";
    std::string algorithm = "hmac-sha256.";
    const char* digest = "SHA256";
    std::string raw_secret = "secret-key-for-v6bl-tests-123456";  // `secret` decoded
    std::size_t mac_size = 0;     // 0: the whole MAC; else cut (or padded) to this size
    std::uint16_t header_id = 0;  // 0: the original ID
};

std::vector<std::uint8_t> name_wire(const std::string& name) {
    std::vector<std::uint8_t> out;
    std::size_t start = 0;
    while (start < name.size()) {
        std::size_t dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        out.push_back(static_cast<std::uint8_t>(dot - start));
        out.insert(out.end(), name.begin() + static_cast<long>(start),
                   name.begin() + static_cast<long>(dot));
        start = dot + 1;
    }
    out.push_back(0);
    return out;
}

std::vector<std::uint8_t> hmac_of(const char* digest, const std::string& raw_secret,
                                  const std::vector<std::uint8_t>& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    std::size_t n = 0;
    REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, raw_secret.data(),
                      raw_secret.size(), data.data(), data.size(), out, sizeof out, &n) != nullptr);
    return {out, out + n};
}

void put16(std::vector<std::uint8_t>& v, unsigned x) {
    v.push_back(static_cast<std::uint8_t>(x >> 8));
    v.push_back(static_cast<std::uint8_t>(x));
}

// The TSIG variables after the key name and class/TTL: algorithm, time, fudge, error, other.
std::vector<std::uint8_t> timers(std::uint64_t time_signed) {
    std::vector<std::uint8_t> v;
    for (int shift = 40; shift >= 0; shift -= 8)
        v.push_back(static_cast<std::uint8_t>(time_signed >> shift));
    put16(v, 300);
    return v;
}

signed_query sign_by_hand(const std::vector<std::uint8_t>& query, const hand_signing& h) {
    const auto now = static_cast<std::uint64_t>(std::time(nullptr));
    const std::vector<std::uint8_t> key = name_wire(h.key), alg = name_wire(h.algorithm);
    std::vector<std::uint8_t> data = query;  // ID is the original one, ARCOUNT without TSIG
    data.insert(data.end(), key.begin(), key.end());
    data.insert(data.end(), {0, 255, 0, 0, 0, 0});
    data.insert(data.end(), alg.begin(), alg.end());
    const auto t = timers(now);
    data.insert(data.end(), t.begin(), t.end());
    data.insert(data.end(), {0, 0, 0, 0});  // error, other length
    std::vector<std::uint8_t> mac = hmac_of(h.digest, h.raw_secret, data);
    if (h.mac_size != 0) mac.resize(h.mac_size, 0xAA);
    signed_query s;
    s.wire = query;
    s.wire.insert(s.wire.end(), key.begin(), key.end());
    put16(s.wire, 250);
    put16(s.wire, 255);
    s.wire.insert(s.wire.end(), {0, 0, 0, 0});
    put16(s.wire, static_cast<unsigned>(alg.size() + 6 + 2 + 2 + mac.size() + 6));
    s.wire.insert(s.wire.end(), alg.begin(), alg.end());
    s.wire.insert(s.wire.end(), t.begin(), t.end());
    put16(s.wire, static_cast<unsigned>(mac.size()));
    s.wire.insert(s.wire.end(), mac.begin(), mac.end());
    s.wire.insert(s.wire.end(), {query[0], query[1], 0, 0, 0, 0});  // original ID, error, other
    s.wire[11] = static_cast<std::uint8_t>(s.wire[11] + 1);
    if (h.header_id != 0) {
        s.wire[0] = static_cast<std::uint8_t>(h.header_id >> 8);
        s.wire[1] = static_cast<std::uint8_t>(h.header_id);
    }
    s.mac_rdf.clear();
    put16(s.mac_rdf, static_cast<unsigned>(mac.size()));
    s.mac_rdf.insert(s.mac_rdf.end(), mac.begin(), mac.end());
    return s;
}

// Checks a response's TSIG by hand (RFC 8945 4.3.3: the request MAC, the response without
// its TSIG, the variables): for the algorithms ldns cannot verify.
bool verifies_by_hand(std::span<const std::uint8_t> response, const signed_query& q,
                      const hand_signing& h) {
    pkt_ptr p = parse(response);
    if (!p || !ldns_pkt_tsig(p.get())) return false;
    const ldns_rr* t = ldns_pkt_tsig(p.get());
    const ldns_rdf* mac = ldns_rr_rdf(t, 3);
    const std::vector<std::uint8_t> got(ldns_rdf_data(mac) + 2,
                                        ldns_rdf_data(mac) + ldns_rdf_size(mac));
    // The response without its TSIG: the TSIG is the last record, its size known.
    const std::vector<std::uint8_t> key = name_wire(h.key), alg = name_wire(h.algorithm);
    const std::size_t tsig_size = key.size() + 10 + ldns_rdf_size(ldns_rr_rdf(t, 0)) + 6 + 2 +
                                  ldns_rdf_size(mac) + 2 + 2 + ldns_rdf_size(ldns_rr_rdf(t, 6));
    if (tsig_size > response.size()) return false;
    std::vector<std::uint8_t> data = q.mac_rdf;
    data.insert(data.end(), response.begin(), response.end() - static_cast<long>(tsig_size));
    data[q.mac_rdf.size() + 11] = static_cast<std::uint8_t>(data[q.mac_rdf.size() + 11] - 1);
    data.insert(data.end(), key.begin(), key.end());
    data.insert(data.end(), {0, 255, 0, 0, 0, 0});
    const ldns_rdf* alg_rdf = ldns_rr_rdf(t, 0);
    data.insert(data.end(), ldns_rdf_data(alg_rdf),
                ldns_rdf_data(alg_rdf) + ldns_rdf_size(alg_rdf));
    for (int i : {1, 2, 5, 6}) {
        const ldns_rdf* f = ldns_rr_rdf(t, static_cast<std::size_t>(i));
        data.insert(data.end(), ldns_rdf_data(f), ldns_rdf_data(f) + ldns_rdf_size(f));
    }
    return hmac_of(h.digest, h.raw_secret, data) == got;
}

struct tsig_fixture {
    std::shared_ptr<const store::listing_view> view;
    answer_zone zone;
    std::vector<std::uint8_t> out = std::vector<std::uint8_t>(dns::max_message_size);

    static zones::zone_config config(bool keys) {
        zones::zone_config c;
        // Long enough that a TXT answer fills most of 512 bytes.
        c.url_template =
            "https://dnsbl6.example.org/lookup?prefix={prefix}&see=" + std::string(120, 'p');
        c.ns_names = {"ns1.dnsbl6.example.org", "ns2.a-rather-long-name-for-a-server.example.net"};
        if (keys)
            c.transfer_tsig = {"hmac-sha256:xfr-key:" + secret, "hmac-sha384:k384:" + secret,
                               "hmac-sha224:k224:" + secret, "hmac-md5:kmd5:" + secret};
        return c;
    }
    static std::shared_ptr<const store::listing_view> make_view() {
        std::vector<store::listing_entry> entries;
        store::listing_entry e;
        e.where = *store::parse_prefix("2001:db8:1:2::/64");
        e.code = store::reason_code::associated;
        entries.push_back(e);
        e.where = *store::parse_prefix("2001:db8:ab::/48");
        e.code = store::reason_code::manual;
        e.text = std::string(200, 'x');
        entries.push_back(e);
        return store::listing_view::build(entries, {}, 7);
    }
    explicit tsig_fixture(bool keys = true) : view(make_view()), zone(config(keys)) {}

    answer_result ask(std::span<const std::uint8_t> q, transport_kind t = transport_kind::udp) {
        answer_context ctx{view.get(), &zone, 1790000000, t};
        return answer_query(q, out, ctx);
    }
    std::span<const std::uint8_t> reply(const answer_result& r) const {
        return {out.data(), r.size};
    }
};

std::vector<std::uint8_t> query_for(const std::string& address, const std::string& type,
                                    query_options o = {}) {
    return make_query(expand_name(address, "dnsbl6.example.org"), type, o);
}

}  // namespace

TEST_CASE("a TSIG-signed query gets the unsigned answer, signed with the request's key",
          "[server][tsig]") {
    tsig_fixture f;
    for (const std::string type : {"A", "TXT", "SOA"}) {
        INFO(type);
        const auto plain = type == "SOA" ? make_query("dnsbl6.example.org", "SOA", {})
                                         : query_for("@2001:db8:1:2::5", type);
        const answer_result unsigned_r = f.ask(plain);
        const std::string expected = describe_response(f.reply(unsigned_r));
        const signed_query q = sign(plain, "xfr-key.", secret);
        for (const transport_kind t : {transport_kind::udp, transport_kind::tcp}) {
            const answer_result r = f.ask(q.wire, t);
            REQUIRE(r.size > unsigned_r.size);
            CHECK(r.tsig == tsig_outcome::verified);
            CHECK(r.outcome == unsigned_r.outcome);
            CHECK(describe_response(f.reply(r)) == expected);
            const tsig_fields tf = tsig_of(f.reply(r));
            CHECK(tf.present);
            CHECK(tf.error == 0);
            CHECK(tf.mac_size == 32);
            CHECK(verifies(f.reply(r), q, secret));
            // Another key's secret does not verify it: the MAC is really over the answer.
            CHECK_FALSE(verifies(f.reply(r), q, other_secret));
        }
    }
}

TEST_CASE("a signed query with an unknown key or a bad MAC gets NOTAUTH with an unsigned TSIG",
          "[server][tsig]") {
    tsig_fixture f;
    const auto plain = query_for("@2001:db8:1:2::5", "A");
    struct bad_case {
        std::string key, key_secret;
        const char* algorithm;
        std::uint16_t error;
        tsig_outcome outcome;
    };
    const std::vector<bad_case> cases = {
        {"other-key.", secret, "hmac-sha256.", 17, tsig_outcome::badkey},
        // The right name with another algorithm is another key (RFC 8945 5.2.1).
        {"xfr-key.", secret, "hmac-sha512.", 17, tsig_outcome::badkey},
        {"xfr-key.", other_secret, "hmac-sha256.", 16, tsig_outcome::badsig},
    };
    for (const bad_case& c : cases) {
        INFO(c.key << " " << c.algorithm << " " << c.error);
        const signed_query q = sign(plain, c.key, c.key_secret, 300, c.algorithm);
        const answer_result r = f.ask(q.wire);
        CHECK(r.outcome == answer_outcome::notauth);
        CHECK(r.tsig == c.outcome);
        CHECK(r.rcode == dns::rcode_notauth);
        // The question is echoed, no answer is given away, AA is not claimed.
        CHECK(describe_response(f.reply(r)) == "NOTAUTH qr qd=1");
        const tsig_fields tf = tsig_of(f.reply(r));
        CHECK(tf.present);
        CHECK(tf.error == c.error);
        CHECK(tf.mac_size == 0);
    }
    // A server with no keys at all does not know the key either.
    tsig_fixture none(false);
    const signed_query q = sign(plain, "xfr-key.", secret);
    const answer_result r = none.ask(q.wire);
    CHECK(r.tsig == tsig_outcome::badkey);
    CHECK(tsig_of(none.reply(r)).error == 17);
}

TEST_CASE("a signed query outside its time window gets NOTAUTH BADTIME, signed", "[server][tsig]") {
    tsig_fixture f;
    const auto plain = query_for("@2001:db8:1:2::5", "A");
    // Fudge 0: the request is valid only in the second it was signed. A second later it is
    // what a replay looks like.
    const signed_query q = sign(plain, "xfr-key.", secret, 0);
    const auto signed_at = std::time(nullptr);
    while (std::time(nullptr) <= signed_at)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const answer_result r = f.ask(q.wire);
    CHECK(r.outcome == answer_outcome::notauth);
    CHECK(r.tsig == tsig_outcome::badtime);
    const tsig_fields tf = tsig_of(f.reply(r));
    CHECK(tf.error == 18);
    CHECK(tf.other_size == 6);  // our clock, for the client to see the skew
    CHECK(tf.mac_size == 32);
    CHECK(verifies(f.reply(r), q, secret));
}

namespace {

// The answer section's lines of describe_response.
std::string answer_lines(const std::string& described) {
    std::string out;
    std::size_t at = 0;
    while (at < described.size()) {
        const std::size_t end = std::min(described.find('\n', at), described.size());
        if (described.compare(at, 3, "an ") == 0) out += described.substr(at, end - at) + "\n";
        at = end + 1;
    }
    return out;
}

}  // namespace

TEST_CASE("a signed answer keeps to the UDP size limit with its TSIG", "[server][tsig]") {
    tsig_fixture f;
    // Without EDNS the limit is 512: the unsigned TXT answer fits with its authority NS
    // records; with the TSIG it would not, so the signed one keeps the answer and leaves
    // out what it must, and stays within 512 bytes.
    const auto plain = query_for("@2001:db8:ab::1", "TXT");
    const answer_result unsigned_r = f.ask(plain);
    const std::string whole = describe_response(f.reply(unsigned_r));
    REQUIRE(unsigned_r.size <= 512);
    REQUIRE(unsigned_r.size + 100 > 512);
    CHECK_FALSE(unsigned_r.truncated);
    const signed_query q = sign(plain, "xfr-key.", secret);
    const answer_result r = f.ask(q.wire);
    CHECK(r.size <= 512);
    CHECK(r.size < unsigned_r.size + 100);
    CHECK(answer_lines(describe_response(f.reply(r))) == answer_lines(whole));
    CHECK(answer_lines(whole).find("TXT") != std::string::npos);
    CHECK(verifies(f.reply(r), q, secret));
    // Over TCP it goes whole.
    const answer_result t = f.ask(q.wire, transport_kind::tcp);
    CHECK(describe_response(f.reply(t)) == whole);
    CHECK(verifies(f.reply(t), q, secret));
}

TEST_CASE("a TSIG that is not the last record is FORMERR", "[server][tsig]") {
    tsig_fixture f;
    const signed_query q = sign(query_for("@2001:db8:1:2::5", "A"), "xfr-key.", secret);
    // The same query with an OPT appended after its TSIG (ARCOUNT 2).
    std::vector<std::uint8_t> wire = q.wire;
    wire[11] = 2;
    for (const std::uint8_t b : {0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0}) wire.push_back(b);
    const answer_result r = f.ask(wire);
    CHECK(r.outcome == answer_outcome::formerr);
    CHECK(r.tsig == tsig_outcome::none);
}

// ldns 1.8 cannot compute hmac-sha224 or hmac-sha384 MACs (and takes "hmac-md5." only in
// its long form); when it could not, it dropped the packet's TSIG and serve aborted on the
// next read of it. The MACs are computed with OpenSSL now, for every algorithm a key may
// have, and the answers are signed with them.
TEST_CASE("signed queries with sha224, sha384 and the short hmac-md5 name are verified",
          "[server][tsig]") {
    tsig_fixture f;
    const auto plain = make_query("dnsbl6.example.org", "SOA", {});
    struct algo {
        const char* key;
        const char* name;
        const char* digest;
        std::size_t mac;
    };
    for (const algo& a :
         {algo{"k384.", "hmac-sha384.", "SHA384", 48}, algo{"k224.", "hmac-sha224.", "SHA224", 28},
          algo{"kmd5.", "hmac-md5.", "MD5", 16},
          algo{"kmd5.", "hmac-md5.sig-alg.reg.int.", "MD5", 16},
          algo{"xfr-key.", "hmac-sha256.", "SHA256", 32}}) {
        INFO(a.name);
        hand_signing h;
        h.key = a.key;
        h.algorithm = a.name;
        h.digest = a.digest;
        const signed_query q = sign_by_hand(plain, h);
        for (const transport_kind t : {transport_kind::udp, transport_kind::tcp}) {
            const answer_result r = f.ask(q.wire, t);
            CHECK(r.tsig == tsig_outcome::verified);
            CHECK(r.rcode == 0);
            const tsig_fields tf = tsig_of(f.reply(r));
            CHECK(tf.mac_size == a.mac);
            CHECK(verifies_by_hand(f.reply(r), q, h));
        }
        // A wrong secret under the same algorithm: BADSIG, no crash.
        h.raw_secret = "another-secret";
        const answer_result bad = f.ask(sign_by_hand(plain, h).wire);
        CHECK(bad.tsig == tsig_outcome::badsig);
        CHECK(tsig_of(f.reply(bad)).error == 16);
    }
}

// RFC 8945 5.2.2.1: a MAC longer than the hash or shorter than max(10, half the hash) is
// FORMERR; a truncated MAC of an allowed size that verifies is BADTRUNC (signed), one that
// does not is BADSIG. And 4.3.2: the header ID may differ from the original ID (the MAC is
// over the original).
TEST_CASE("TSIG MAC sizes: too long or short is FORMERR, truncated is BADTRUNC", "[server][tsig]") {
    tsig_fixture f;
    const auto plain = query_for("@2001:db8:1:2::5", "A");
    hand_signing h;
    for (const std::size_t size :
         {std::size_t{5}, std::size_t{9}, std::size_t{15}, std::size_t{40}}) {
        INFO(size);
        h.mac_size = size;
        const answer_result r = f.ask(sign_by_hand(plain, h).wire);
        CHECK(r.outcome == answer_outcome::formerr);
    }
    h.mac_size = 16;  // half of SHA-256's 32: allowed, but this server wants whole MACs
    const signed_query truncated = sign_by_hand(plain, h);
    const answer_result r = f.ask(truncated.wire);
    CHECK(r.outcome == answer_outcome::notauth);
    const tsig_fields tf = tsig_of(f.reply(r));
    CHECK(tf.error == 22);
    CHECK(tf.mac_size == 32);
    CHECK(verifies_by_hand(f.reply(r), truncated, h));
    h.mac_size = 0;
    h.header_id = 0x7777;
    const signed_query forwarded = sign_by_hand(plain, h);
    const answer_result fw = f.ask(forwarded.wire);
    CHECK(fw.tsig == tsig_outcome::verified);
    CHECK(verifies_by_hand(f.reply(fw), forwarded, h));
}

TEST_CASE("a NOTAUTH too large for the client's UDP size is the header with TC", "[server][tsig]") {
    tsig_fixture f;
    std::string name;
    for (int i = 0; i < 4; ++i) name += std::string(50, 'q') + ".";
    const auto plain = make_query(name + "dnsbl6.example.org", "A", {});
    std::string key;
    for (int i = 0; i < 4; ++i) key += std::string(60, 'k') + ".";
    const signed_query q = sign(plain, key, secret);
    // Over TCP the whole NOTAUTH, question and TSIG (key name) included: over 512 bytes.
    const answer_result tcp = f.ask(q.wire, transport_kind::tcp);
    REQUIRE(tcp.outcome == answer_outcome::notauth);
    REQUIRE(tcp.size > 512);
    // Over UDP without EDNS it was sent whole (776 bytes).
    const answer_result udp = f.ask(q.wire);
    CHECK(udp.outcome == answer_outcome::notauth);
    CHECK(udp.size <= 512);
    CHECK(udp.truncated);
    CHECK(describe_response(f.reply(udp)) == "NOTAUTH qr tc qd=0");
}
