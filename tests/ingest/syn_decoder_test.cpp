// SYN decoding: every link type, extension headers, non-SYNs, truncation and garbage.
#include <pcap/dlt.h>

#include <catch2/catch.hpp>
#include <random>

#include "ingest_test_support.h"
#include "tcp_options.h"
#include "v6bl/ingest/connect_attempt.h"
#include "v6bl/ingest/syn_decoder.h"

using namespace v6bl;
using namespace v6bl::ingest;
using ingest_test::ethernet;
using ingest_test::ip_syn;

TEST_CASE("an Ethernet IPv4 SYN decodes with its fingerprint", "[syn_decoder]") {
    const auto f = ethernet(ip_syn(false, 50000, 25, 57), false);
    syn_record s;
    REQUIRE(decode_syn(link_kind::ethernet, f.data(), f.size(), 7, 25, s) == decode_status::syn);
    CHECK(s.family == ip_family::v4);
    CHECK(ipv4_of(s.source) == ingest_test::v4(192, 0, 2, 10));
    CHECK(s.source_port == 50000);
    CHECK(s.ttl == 57);
    CHECK(s.window == 0xFAF0);
    CHECK(s.mss == 1460);
    CHECK((s.options & 0xFFFF) == 0x0402);  // MSS then SACK-permitted
    CHECK(s.time_us == 7);
}

TEST_CASE("IPv6 SYNs decode behind VLAN tags, SLL, SLL2, raw IP and extension headers",
          "[syn_decoder]") {
    const auto ip = ip_syn(true, 40000, 25, 60);
    syn_record s;
    auto eth = ethernet(ip, true, 2);
    REQUIRE(decode_syn(link_kind::ethernet, eth.data(), eth.size(), 0, 25, s) ==
            decode_status::syn);
    CHECK(s.family == ip_family::v6);
    CHECK(s.source == ingest_test::v6("2001:db8:1:2::10"));

    std::vector<std::uint8_t> sll(16, 0);
    sll[14] = 0x86;
    sll[15] = 0xDD;
    sll.insert(sll.end(), ip.begin(), ip.end());
    CHECK(decode_syn(link_kind::linux_sll, sll.data(), sll.size(), 0, 25, s) == decode_status::syn);

    std::vector<std::uint8_t> sll2(20, 0);
    sll2[0] = 0x86;
    sll2[1] = 0xDD;
    sll2.insert(sll2.end(), ip.begin(), ip.end());
    CHECK(decode_syn(link_kind::linux_sll2, sll2.data(), sll2.size(), 0, 25, s) ==
          decode_status::syn);
    CHECK(decode_syn(link_kind::raw_ip, ip.data(), ip.size(), 0, 25, s) == decode_status::syn);

    // Hop-by-hop options header (8 bytes) between IPv6 and TCP.
    auto ext = ip;
    ext[6] = 0;  // next header: hop-by-hop
    const std::uint8_t hbh[8] = {6, 0, 1, 4, 0, 0, 0, 0};
    ext.insert(ext.begin() + 40, hbh, hbh + 8);
    ext[5] = static_cast<std::uint8_t>(ext[5] + 8);
    CHECK(decode_syn(link_kind::raw_ip, ext.data(), ext.size(), 0, 25, s) == decode_status::syn);
    CHECK(s.source_port == 40000);

    CHECK(link_kind_of_dlt(DLT_EN10MB) == link_kind::ethernet);
    CHECK(link_kind_of_dlt(DLT_LINUX_SLL2) == link_kind::linux_sll2);
    CHECK(link_kind_of_dlt(DLT_RAW) == link_kind::raw_ip);
    CHECK(link_kind_of_dlt(DLT_IEEE802_11) == link_kind::unknown);
    // Files store LINKTYPE_ values: raw IP is 101 there, whatever DLT_RAW is here.
    CHECK(link_kind_of_linktype(101) == link_kind::raw_ip);
    CHECK(link_kind_of_linktype(1) == link_kind::ethernet);
    CHECK(link_kind_of_linktype(113) == link_kind::linux_sll);
    CHECK(link_kind_of_linktype(276) == link_kind::linux_sll2);
    CHECK(link_kind_of_linktype(0) == link_kind::bsd_null);
    CHECK(link_kind_of_linktype(105) == link_kind::unknown);
}

TEST_CASE("SYNs behind an IPsec authentication header decode, in both families", "[syn_decoder]") {
    // AH (RFC 4302): next header, payload length in 4-byte units minus 2, then SPI,
    // sequence number and the integrity check value (here 12 bytes: 24 bytes in all).
    const std::uint8_t ah[24] = {6, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 7};
    syn_record s;

    auto v6 = ip_syn(true, 40001, 25, 64);
    v6[6] = 51;
    v6.insert(v6.begin() + 40, ah, ah + 24);
    v6[5] = static_cast<std::uint8_t>(v6[5] + 24);
    REQUIRE(decode_syn(link_kind::raw_ip, v6.data(), v6.size(), 0, 25, s) == decode_status::syn);
    CHECK(s.family == ip_family::v6);
    CHECK(s.source_port == 40001);
    CHECK(s.ttl == 64);

    auto v4 = ip_syn(false, 50001, 25, 57);
    v4[9] = 51;
    v4.insert(v4.begin() + 20, ah, ah + 24);
    const auto total = static_cast<std::uint16_t>(((v4[2] << 8) | v4[3]) + 24);
    v4[2] = static_cast<std::uint8_t>(total >> 8);
    v4[3] = static_cast<std::uint8_t>(total);
    REQUIRE(decode_syn(link_kind::raw_ip, v4.data(), v4.size(), 0, 25, s) == decode_status::syn);
    CHECK(s.family == ip_family::v4);
    CHECK(s.source_port == 50001);
    CHECK(s.window == 0xFAF0);

    // An AH longer than the packet is malformed; one ahead of UDP is not TCP.
    auto longer = v6;
    longer[41] = 200;
    CHECK(decode_syn(link_kind::raw_ip, longer.data(), longer.size(), 0, 25, s) ==
          decode_status::malformed);
    auto udp = v4;
    udp[20] = 17;
    CHECK(decode_syn(link_kind::raw_ip, udp.data(), udp.size(), 0, 25, s) ==
          decode_status::not_tcp);
}

TEST_CASE("RSTs, SYN-ACKs, other ports and other protocols are skipped, not bad", "[syn_decoder]") {
    syn_record s;
    auto rst = ip_syn(false, 1, 25, 64, 0x04);
    CHECK(decode_syn(link_kind::raw_ip, rst.data(), rst.size(), 0, 25, s) ==
          decode_status::not_syn);
    auto synrst = ip_syn(false, 1, 25, 64, 0x06);
    CHECK(decode_syn(link_kind::raw_ip, synrst.data(), synrst.size(), 0, 25, s) ==
          decode_status::not_syn);
    auto synack = ip_syn(false, 1, 25, 64, 0x12);
    CHECK(decode_syn(link_kind::raw_ip, synack.data(), synack.size(), 0, 25, s) ==
          decode_status::not_syn);
    auto other = ip_syn(false, 1, 587, 64);
    CHECK(decode_syn(link_kind::raw_ip, other.data(), other.size(), 0, 25, s) ==
          decode_status::wrong_port);
    CHECK(decode_syn(link_kind::raw_ip, other.data(), other.size(), 0, 0, s) == decode_status::syn);
    auto udp = ip_syn(false, 1, 25, 64);
    udp[9] = 17;
    CHECK(decode_syn(link_kind::raw_ip, udp.data(), udp.size(), 0, 25, s) ==
          decode_status::not_tcp);
    auto frag = ip_syn(false, 1, 25, 64);
    frag[7] = 10;  // fragment offset 80: not the first fragment
    CHECK(decode_syn(link_kind::raw_ip, frag.data(), frag.size(), 0, 25, s) ==
          decode_status::not_tcp);
}

TEST_CASE("every truncation of a SYN is rejected without reading past the buffer",
          "[syn_decoder]") {
    for (bool v6 : {false, true}) {
        const auto full = ethernet(ip_syn(v6, 1234, 25, 64), v6);
        syn_record s;
        REQUIRE(decode_syn(link_kind::ethernet, full.data(), full.size(), 0, 25, s) ==
                decode_status::syn);
        for (std::size_t len = 0; len < full.size(); ++len) {
            // A heap copy of exactly `len` bytes: ASan catches any over-read.
            std::vector<std::uint8_t> cut(full.begin(), full.begin() + static_cast<long>(len));
            const auto st = decode_syn(link_kind::ethernet, cut.data(), cut.size(), 0, 25, s);
            INFO("ipv6=" << v6 << " len=" << len);
            // Cut once the TCP flags are in (a snap length): still the SYN, as far as
            // captured; the window is read once its two bytes are in.
            const std::size_t tcp_flags_end = 14 + (v6 ? 40 : 20) + 14;
            if (len >= tcp_flags_end) {
                REQUIRE(st == decode_status::syn);
                CHECK(s.source_port == 1234);
                CHECK(s.window == (len >= tcp_flags_end + 2 ? 64240 : 0));
            } else {
                CHECK(st != decode_status::syn);
            }
        }
    }
}

TEST_CASE("an IPv6 SYN from ::/64 is no sender's", "[syn_decoder]") {
    syn_record s;
    for (const char* src : {"::", "::1", "::131.215.255.8", "::ffff:192.0.2.1"}) {
        INFO(src);
        auto ip = ip_syn(true, 40000, 25, 60);
        const auto a = ingest_test::v6(src);
        std::copy(a.begin(), a.end(), ip.begin() + 8);
        CHECK(decode_syn(link_kind::raw_ip, ip.data(), ip.size(), 0, 25, s) ==
              decode_status::no_sender);
    }
    // ::1:0:0:0:1 is outside ::/64
    auto ip = ip_syn(true, 40000, 25, 60);
    const auto a = ingest_test::v6("0:0:0:1::1");
    std::copy(a.begin(), a.end(), ip.begin() + 8);
    CHECK(decode_syn(link_kind::raw_ip, ip.data(), ip.size(), 0, 25, s) == decode_status::syn);
}

TEST_CASE("impossible header lengths are malformed", "[syn_decoder]") {
    syn_record s;
    auto bad_ihl = ip_syn(false, 1, 25, 64);
    bad_ihl[0] = 0x44;  // IHL 16 bytes < 20
    CHECK(decode_syn(link_kind::raw_ip, bad_ihl.data(), bad_ihl.size(), 0, 25, s) ==
          decode_status::malformed);
    auto bad_doff = ip_syn(false, 1, 25, 64);
    bad_doff[20 + 12] = 0xF0;  // data offset 60 > segment
    CHECK(decode_syn(link_kind::raw_ip, bad_doff.data(), bad_doff.size(), 0, 25, s) ==
          decode_status::malformed);
    auto bad_opt = ip_syn(false, 1, 25, 64);
    bad_opt[20 + 21] = 0;  // MSS option length 0
    CHECK(decode_syn(link_kind::raw_ip, bad_opt.data(), bad_opt.size(), 0, 25, s) ==
          decode_status::malformed);
    auto long_opt = ip_syn(false, 1, 25, 64);
    long_opt[20 + 21] = 40;  // MSS option claims 40 bytes
    CHECK(decode_syn(link_kind::raw_ip, long_opt.data(), long_opt.size(), 0, 25, s) ==
          decode_status::malformed);
}

TEST_CASE("random garbage frames never crash the decoder", "[syn_decoder]") {
    std::mt19937 rng(12345);
    syn_record s;
    int syns = 0;
    for (int i = 0; i < 20000; ++i) {
        std::vector<std::uint8_t> f(rng() % 120);
        for (auto& b : f) b = static_cast<std::uint8_t>(rng());
        // Half of them start as plausible IPv4/IPv6 so deeper layers are exercised.
        if (!f.empty() && (i & 1)) f[0] = (i & 2) ? 0x45 : 0x60;
        for (auto link : {link_kind::ethernet, link_kind::linux_sll, link_kind::linux_sll2,
                          link_kind::raw_ip, link_kind::bsd_null})
            syns += decode_syn(link, f.data(), f.size(), 0, 0, s) == decode_status::syn;
    }
    CHECK(syns < 2000);  // a few random frames happen to be SYNs; most must not be
}

TEST_CASE("a Linux SLL frame carrying a VLAN tag (as libpcap writes it) decodes", "[syn_decoder]") {
    // libpcap's pcap-linux.c re-inserts the VLAN tag the kernel stripped at the type field
    // (set_vlan_offset: DLT_LINUX_SLL -> SLL_HDR_LEN - 2), so `tcpdump -i any` on a host with
    // tagged traffic writes: 16-byte SLL header with protocol 0x8100, TCI, real ethertype.
    for (bool v6 : {false, true}) {
        const auto ip = ip_syn(v6, 50000, 25, 57);
        std::vector<std::uint8_t> sll(16, 0);
        sll[14] = 0x81;  // protocol: 802.1Q
        sll[15] = 0x00;
        const std::uint8_t tag[4] = {0x00, 0x0A, static_cast<std::uint8_t>(v6 ? 0x86 : 0x08),
                                     static_cast<std::uint8_t>(v6 ? 0xDD : 0x00)};
        sll.insert(sll.end(), tag, tag + 4);
        sll.insert(sll.end(), ip.begin(), ip.end());
        syn_record s;
        INFO("ipv6=" << v6);
        CHECK(decode_syn(link_kind::linux_sll, sll.data(), sll.size(), 0, 25, s) ==
              decode_status::syn);
        CHECK(s.source_port == 50000);
    }
}

TEST_CASE("a SYN whose TCP options were cut by the snap length is still a SYN", "[syn_decoder]") {
    // tcpdump's old default snap lengths: 68 bytes (IPv4 era), 96 (since IPv6): the fixed
    // TCP header (ports, flags, window) is captured, the tail of the options is not. The IP
    // total length covers the whole TCP header, so the frame is cut, not malformed.
    syn_record s;
    const auto v4 = ethernet(ip_syn(false, 50000, 25, 57), false);  // 74 bytes
    REQUIRE(v4.size() == 74);
    CHECK(decode_syn(link_kind::ethernet, v4.data(), 68, 0, 25, s) == decode_status::syn);
    CHECK(s.source_port == 50000);
    CHECK(s.ttl == 57);
    const auto v6 = ethernet(ip_syn(true, 40000, 25, 60), true, 1);  // 98 bytes (one VLAN tag)
    REQUIRE(v6.size() == 98);
    CHECK(decode_syn(link_kind::ethernet, v6.data(), 96, 0, 25, s) == decode_status::syn);
    CHECK(s.source_port == 40000);
    // -s 68 behind an IPv6 header: 14 bytes of TCP, the flags but not the window.
    const auto v6_untagged = ethernet(ip_syn(true, 40001, 25, 60), true);
    CHECK(decode_syn(link_kind::ethernet, v6_untagged.data(), 68, 0, 25, s) == decode_status::syn);
    CHECK(s.source_port == 40001);
    CHECK(s.window == 0);
    // Cut options are no stack's signature (the IPv4 SYN above kept its first kinds, this
    // one none): both say so, and one host's two families compare alike (helper-87).
    CHECK(s.options == cut_options);
    CHECK(decode_syn(link_kind::ethernet, v4.data(), 68, 0, 25, s) == decode_status::syn);
    CHECK(s.options == cut_options);
    CHECK(classify_os(64, s.options) == os_class::unknown);
    CHECK(classify_os(128, s.options) == os_class::windows);  // the TTL says it
    CHECK(decode_syn(link_kind::ethernet, v4.data(), v4.size(), 0, 25, s) == decode_status::syn);
    CHECK_FALSE(options_were_cut(s.options));
    // -s 96: an IPv6 SYN keeps 22 bytes of options, its first two kinds among them: the
    // class is read from them (an IPv4 one keeps them all), the signature still says cut.
    const auto v6_96 = ethernet(ip_syn(true, 40003, 25, 60), true);
    REQUIRE(decode_syn(link_kind::ethernet, v6_96.data(), v6_96.size(), 0, 25, s) ==
            decode_status::syn);
    const option_signature whole = s.options;
    REQUIRE(decode_syn(link_kind::ethernet, v6_96.data(), 14 + 40 + 20 + 5, 0, 25, s) ==
            decode_status::syn);
    CHECK(options_were_cut(s.options));
    CHECK((s.options & 0xFFFF) == (whole & 0xFFFF));
    CHECK(classify_os(64, s.options) == classify_os(64, whole));
    // Not cut but short: an IP length that ends the segment inside the fixed header is
    // malformed, whatever was captured.
    auto short_segment = ip_syn(true, 40002, 25, 60);
    short_segment[5] = 14;  // payload length 14: a TCP header of 14 bytes
    short_segment.resize(40 + 14);
    CHECK(decode_syn(link_kind::raw_ip, short_segment.data(), short_segment.size(), 0, 25, s) ==
          decode_status::malformed);
}

TEST_CASE("an IPv6 SYN from link-local or multicast space is no sender's", "[syn_decoder]") {
    syn_record s;
    auto decode_from = [&](const char* src) {
        auto ip = ip_syn(true, 40000, 25, 60);
        const auto a = ingest_test::v6(src);
        std::copy(a.begin(), a.end(), ip.begin() + 8);
        return decode_syn(link_kind::raw_ip, ip.data(), ip.size(), 0, 25, s);
    };
    for (const char* src : {"fe80::1", "febf:ffff::1", "ff02::1", "ff0e::1234"}) {
        INFO(src);
        CHECK(decode_from(src) == decode_status::no_sender);
    }
    // just outside fe80::/10, and unique local space: senders as far as the decoder knows
    for (const char* src : {"fec0::1", "fe7f::1", "fd00::1", "2001:db8::1"}) {
        INFO(src);
        CHECK(decode_from(src) == decode_status::syn);
    }
}

TEST_CASE("an IPv4 SYN from 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16 or 224.0.0.0/3 is no sender's",
          "[syn_decoder]") {
    syn_record s;
    auto decode_from = [&](std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
        auto ip = ip_syn(false, 40000, 25, 60);
        ip[12] = a;
        ip[13] = b;
        ip[14] = c;
        ip[15] = d;
        return decode_syn(link_kind::raw_ip, ip.data(), ip.size(), 0, 25, s);
    };
    CHECK(decode_from(0, 0, 0, 0) == decode_status::no_sender);
    CHECK(decode_from(0, 1, 2, 3) == decode_status::no_sender);
    CHECK(decode_from(224, 0, 0, 1) == decode_status::no_sender);
    CHECK(decode_from(240, 0, 0, 1) == decode_status::no_sender);
    CHECK(decode_from(255, 255, 255, 255) == decode_status::no_sender);
    CHECK(decode_from(127, 0, 0, 1) == decode_status::no_sender);
    CHECK(decode_from(127, 255, 255, 254) == decode_status::no_sender);
    CHECK(decode_from(169, 254, 0, 1) == decode_status::no_sender);
    CHECK(decode_from(169, 254, 255, 255) == decode_status::no_sender);
    // the edges of the blocks: senders as far as the decoder knows
    CHECK(decode_from(1, 0, 0, 0) == decode_status::syn);
    CHECK(decode_from(126, 255, 255, 255) == decode_status::syn);
    CHECK(decode_from(128, 0, 0, 0) == decode_status::syn);
    CHECK(decode_from(169, 253, 255, 255) == decode_status::syn);
    CHECK(decode_from(169, 255, 0, 0) == decode_status::syn);
    CHECK(decode_from(223, 255, 255, 254) == decode_status::syn);
}

namespace {

// A layout's bytes with random values where it has `any`.
std::vector<std::uint8_t> fill_layout(const tcp_options::layout& l, std::mt19937& rng) {
    std::vector<std::uint8_t> b(l.len);
    for (std::size_t k = 0; k < l.len; ++k)
        b[k] = static_cast<std::uint8_t>(l.bytes[k] == tcp_options::any ? rng() : l.bytes[k]);
    return b;
}

}  // namespace

TEST_CASE("the known option layouts give the signatures of their stacks", "[syn_decoder]") {
    // Kinds in order, the first in the low byte; an end-of-list as 0xFF.
    REQUIRE(tcp_options::layout_count == 5);
    CHECK(tcp_options::compiled[0].signature == 0x040101030102ull);      // Windows
    CHECK(tcp_options::compiled[1].signature == 0x0301080402ull);        // Linux
    CHECK(tcp_options::compiled[2].signature == 0xFF04080101030102ull);  // macOS
    CHECK(tcp_options::compiled[3].signature == 0x0804030102ull);        // FreeBSD
    CHECK(tcp_options::compiled[4].signature == 0x030104010102ull);      // Linux, no TS
    // The simulator's SYNs (pcap_file_writer) are Windows, Linux and macOS ones.
    std::mt19937 rng(7);
    for (const auto& l : tcp_options::layouts) {
        const auto b = fill_layout(l, rng);
        option_signature sig = 0;
        std::uint16_t mss = 0;
        CHECK(tcp_options::match_layout(b.data(), b.size(), sig, mss));
        CHECK(mss == ((b[2] << 8) | b[3]));
    }
}

TEST_CASE("a matched option layout reads exactly as the byte walk does", "[syn_decoder]") {
    // Every layout with random values, then with one byte changed (a kind or a length
    // among them): whatever matches gives the walk's signature and MSS, and what does not
    // match is left to the walk. Lengths next to the layouts' are tried too.
    std::mt19937 rng(2026);
    int matched = 0, walked = 0;
    for (int round = 0; round < 4000; ++round)
        for (const auto& l : tcp_options::layouts) {
            auto b = fill_layout(l, rng);
            if (round % 2) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
            if (round % 7 == 3) b.push_back(static_cast<std::uint8_t>(rng() % 2));
            if (round % 7 == 5) b.pop_back();
            option_signature want_sig = 0, sig = 0;
            std::uint16_t want_mss = 0, mss = 0;
            const bool ok = tcp_options::walk(b.data(), b.size(), false, want_sig, want_mss);
            if (tcp_options::match_layout(b.data(), b.size(), sig, mss)) {
                ++matched;
                INFO("layout of " << l.len << " bytes, round " << round);
                REQUIRE(ok);
                REQUIRE(sig == want_sig);
                REQUIRE(mss == want_mss);
            } else {
                ++walked;
            }
        }
    CHECK(matched >= 7000);  // the unchanged ones of unchanged length, 1,428 rounds of 5, at least
    CHECK(walked >= 5000);
    // Through the whole decoder: an IPv4 SYN with each layout, then with its options cut
    // by the snap length (cut options are always walked).
    for (const auto& l : tcp_options::layouts) {
        auto ip = ip_syn(false, 50000, 25, 57);
        ip.resize(40);  // IPv4 and the fixed TCP header
        const auto b = fill_layout(l, rng);
        ip.insert(ip.end(), b.begin(), b.end());
        ip[3] = static_cast<std::uint8_t>(ip.size());                    // IPv4 total length
        ip[20 + 12] = static_cast<std::uint8_t>((20 + l.len) / 4 << 4);  // data offset
        syn_record s;
        REQUIRE(decode_syn(link_kind::raw_ip, ip.data(), ip.size(), 0, 25, s) ==
                decode_status::syn);
        option_signature want_sig = 0;
        std::uint16_t want_mss = 0;
        REQUIRE(tcp_options::walk(b.data(), b.size(), false, want_sig, want_mss));
        CHECK(s.options == want_sig);
        CHECK(s.mss == want_mss);
        REQUIRE(decode_syn(link_kind::raw_ip, ip.data(), ip.size() - 3, 0, 25, s) ==
                decode_status::syn);
        option_signature cut_sig = 0;
        std::uint16_t cut_mss = 0;
        tcp_options::walk(b.data(), b.size() - 3, true, cut_sig, cut_mss);
        // Cut: walked for the MSS; 3 bytes short leave 9 or more of a layout's options, not
        // the 25 an IPv6 SYN cut alike would need for its first two kinds.
        CHECK(s.options == cut_options);
        CHECK(s.mss == cut_mss);
    }
}
