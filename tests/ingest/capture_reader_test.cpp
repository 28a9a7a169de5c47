// Capture files as the reader hands them out: pcapng's interfaces (link types, time stamp
// resolutions and offsets, byte orders) and the blocks it skips or stops at.
#include <fcntl.h>
#include <pcap/dlt.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "ingest_test_support.h"
#include "v6bl/ingest/capture_reader.h"
#include "v6bl/ingest/pcap_file_writer.h"

using namespace v6bl;
using namespace v6bl::ingest;
using ingest_test::ethernet;
using ingest_test::ip_syn;
using ingest_test::pcapng_builder;

namespace {

std::unique_ptr<capture_reader> open_bytes(const ingest_test::temp_dir& d, const std::string& bytes,
                                           const std::string& name = "c.pcapng") {
    const std::string path = d.path(name);
    std::ofstream(path, std::ios::binary) << bytes;
    std::string error;
    auto r = capture_reader::open_file(path, 0, error);
    INFO(error);
    REQUIRE(r);
    return r;
}

// The next frame, which must be a SYN of that link type from that source port.
void expect_syn(capture_reader& r, link_kind link, std::uint16_t port, std::int64_t time_us) {
    capture_frame f;
    REQUIRE(r.next(f) == capture_status::frame);
    CHECK(f.link == link);
    CHECK(f.time_us == time_us);
    syn_record s;
    CHECK(decode_syn(f.link, f.data, f.caplen, f.time_us, 25, s) == decode_status::syn);
    CHECK(s.source_port == port);
}

}  // namespace

TEST_CASE(
    "pcapng interfaces of several link types, resolutions and offsets are each read as theirs",
    "[capture_reader]") {
    for (bool swap : {false, true}) {
        INFO((swap ? "the other byte order" : "the host's byte order"));
        ingest_test::temp_dir d("reader-interfaces");
        pcapng_builder b;
        b.swap = swap;
        b.shb();
        b.idb(1);                     // microseconds (no option)
        b.idb(101, 9);                // nanoseconds
        b.idb(276, 0x80 | 10, 1000);  // 2^-10 s, 1000 s later than stamped
        b.idb(1, 0, 0, 96);           // whole seconds, a short snap length
        const auto sll2 = [] {
            std::vector<std::uint8_t> f(20, 0);
            f[0] = 0x86;  // protocol: IPv6
            f[1] = 0xDD;
            const auto ip = ip_syn(true, 40002, 25, 64);
            f.insert(f.end(), ip.begin(), ip.end());
            return f;
        }();
        b.epb(ethernet(ip_syn(false, 40000, 25, 64), false), 1'700'000'000'123'456ull, 0);
        b.epb(ip_syn(true, 40001, 25, 64), 1'700'000'001'000'000'999ull, 1);
        b.epb(sll2, (std::uint64_t{1'700'000'000} << 10) + 512, 2);
        b.epb(ethernet(ip_syn(false, 40003, 25, 64), false, 1), 1'700'000'003ull, 3);
        auto r = open_bytes(d, b.f);
        CHECK(r->is_pcapng());
        CHECK(r->link() == link_kind::ethernet);  // the first interface's
        expect_syn(*r, link_kind::ethernet, 40000, 1'700'000'000'123'456);
        expect_syn(*r, link_kind::raw_ip, 40001, 1'700'000'001'000'000);
        expect_syn(*r, link_kind::linux_sll2, 40002, 1'700'001'000'500'000);
        expect_syn(*r, link_kind::ethernet, 40003, 1'700'000'003'000'000);
        capture_frame f;
        CHECK(r->next(f) == capture_status::end);
    }
}

TEST_CASE("a pcapng block with impossible fields of its own is skipped, and the rest read",
          "[capture_reader]") {
    ingest_test::temp_dir d("reader-bad-blocks");
    const auto syn = [](std::uint16_t port) {
        return ethernet(ip_syn(false, port, 25, 64), false);
    };
    pcapng_builder b;
    b.shb();
    b.idb(1);
    b.idb(105);  // not decoded: its packets are skipped
    b.epb(syn(40000), 1'000'000);
    const std::size_t long_caplen = b.epb(syn(40001), 2'000'000);
    b.f[long_caplen + 20] = 0x7F;  // captured length 127 + ...: more than the block holds
    const std::size_t no_interface = b.epb(syn(40002), 3'000'000, 9);
    const std::size_t other_link = b.epb(syn(40003), 4'000'000, 1);
    const std::size_t simple = b.spb(syn(40004));
    b.isb();
    b.epb(syn(40005), 5'000'000);
    auto r = open_bytes(d, b.f);
    capture_frame f;
    // The interface of an unsupported link type is reported where it is described.
    REQUIRE(r->next(f) == capture_status::bad_interface);
    CHECK(r->error_offset() == 28 + 20);
    CHECK(r->last_error().find("IEEE802_11") != std::string::npos);
    expect_syn(*r, link_kind::ethernet, 40000, 1'000'000);
    REQUIRE(r->next(f) == capture_status::bad_block);
    CHECK(r->error_offset() == long_caplen);
    CHECK(r->last_error().find("exceeds the block") != std::string::npos);
    REQUIRE(r->next(f) == capture_status::bad_block);
    CHECK(r->error_offset() == no_interface);
    CHECK(r->last_error().find("interface 9") != std::string::npos);
    // Its packets come, undecoded: counted as packets, never SYNs.
    REQUIRE(r->next(f) == capture_status::frame);
    CHECK(r->frame_offset() == other_link);
    CHECK(f.link == link_kind::unknown);
    // A simple packet block has no time stamp: the same.
    REQUIRE(r->next(f) == capture_status::frame);
    CHECK(r->frame_offset() == simple);
    CHECK(f.link == link_kind::unknown);
    expect_syn(*r, link_kind::ethernet, 40005, 5'000'000);
    CHECK(r->next(f) == capture_status::end);
}

TEST_CASE("a second pcapng section in the other byte order starts its interfaces anew",
          "[capture_reader]") {
    ingest_test::temp_dir d("reader-sections");
    pcapng_builder b;
    b.shb();
    b.idb(1);
    b.epb(ethernet(ip_syn(false, 40000, 25, 64), false), 1'000'000);
    b.swap = true;
    b.shb();
    b.idb(101);
    b.epb(ip_syn(true, 40001, 25, 64), 2'000'000);
    const std::size_t stale = b.epb(ip_syn(true, 40002, 25, 64), 3'000'000, 1);
    auto r = open_bytes(d, b.f);
    expect_syn(*r, link_kind::ethernet, 40000, 1'000'000);
    expect_syn(*r, link_kind::raw_ip, 40001, 2'000'000);
    capture_frame f;
    // Interface 1 was the first section's count, not this one's.
    REQUIRE(r->next(f) == capture_status::bad_block);
    CHECK(r->error_offset() == stale);
    CHECK(r->next(f) == capture_status::end);
}

TEST_CASE("a pcapng section header too short for its fields is called that, not a version",
          "[capture_reader]") {
    ingest_test::temp_dir d("reader-short-shb");
    pcapng_builder b;
    b.shb();
    b.idb(1);
    b.epb(ethernet(ip_syn(false, 40000, 25, 64), false), 1'000'000);
    const std::size_t at = b.f.size();
    b.u32(0x0A0D0D0A);  // a section header of 16 bytes: its byte-order magic only
    b.u32(16);
    b.u32(0x1A2B3C4D);
    b.u32(16);
    auto r = open_bytes(d, b.f);
    expect_syn(*r, link_kind::ethernet, 40000, 1'000'000);
    capture_frame f;
    CHECK(r->next(f) == capture_status::error);
    CHECK(r->error_offset() == at);
    CHECK(r->last_error().find("section header block of 16 bytes, shorter than its fields") !=
          std::string::npos);
}

TEST_CASE("a pcapng block whose two lengths disagree ends the file there", "[capture_reader]") {
    ingest_test::temp_dir d("reader-lengths");
    pcapng_builder b;
    b.shb();
    b.idb(1);
    b.epb(ethernet(ip_syn(false, 40000, 25, 64), false), 1'000'000);
    const std::size_t broken = b.epb(ethernet(ip_syn(false, 40001, 25, 64), false), 2'000'000);
    b.f[b.f.size() - 4] ^= 0x04;  // its trailing length
    b.epb(ethernet(ip_syn(false, 40002, 25, 64), false), 3'000'000);
    auto r = open_bytes(d, b.f);
    expect_syn(*r, link_kind::ethernet, 40000, 1'000'000);
    capture_frame f;
    REQUIRE(r->next(f) == capture_status::error);
    CHECK(r->error_offset() == broken);
    CHECK(r->last_error().find("trailing length") != std::string::npos);
    // Cut inside a block: truncated, at the block.
    const std::string cut = b.f.substr(0, broken + 30);
    auto t = open_bytes(d, cut, "cut.pcapng");
    expect_syn(*t, link_kind::ethernet, 40000, 1'000'000);
    REQUIRE(t->next(f) == capture_status::truncated);
    CHECK(t->error_offset() == broken);
}

TEST_CASE("the pcap writer's reset answers its SYN: RST+ACK from port 25, acknowledging it",
          "[capture_reader]") {
    ingest_test::temp_dir d("reader-resets");
    const std::string path = d.path("r.pcap");
    const address_bytes v4 = address_from_ipv4(0xC0000201), sensor4 = address_from_ipv4(0xC6336419);
    address_bytes v6{}, sensor6{};
    v6[0] = 0x2a;
    v6[15] = 7;
    sensor6[0] = 0x20;
    sensor6[15] = 0x25;
    {
        pcap_file_writer w(path);
        w.write_syn(1'000'000, v4, sensor4, ip_family::v4, 40001, 60, 64240, os_class::linux_like);
        w.write_reset(1'000'050, 1'000'000, sensor4, v4, ip_family::v4, 40001);
        w.write_syn(2'000'000, v6, sensor6, ip_family::v6, 50002, 120, 8192, os_class::windows);
        w.write_reset(2'000'050, 2'000'000, sensor6, v6, ip_family::v6, 50002);
        w.close();
    }
    std::string error;
    auto r = capture_reader::open_file(path, 0, error);
    REQUIRE(r);
    for (bool ipv6 : {false, true}) {
        INFO((ipv6 ? "IPv6" : "IPv4"));
        capture_frame f;
        REQUIRE(r->next(f) == capture_status::frame);
        syn_record syn;
        REQUIRE(decode_syn(f.link, f.data, f.caplen, f.time_us, 25, syn) == decode_status::syn);
        const std::size_t tcp = 14 + (ipv6 ? 40 : 20);
        REQUIRE(f.caplen > tcp + 20);
        const std::vector<std::uint8_t> syn_bytes(f.data, f.data + f.caplen);
        REQUIRE(r->next(f) == capture_status::frame);
        REQUIRE(f.caplen == tcp + 20);  // no options, no payload
        if (ipv6) {
            CHECK(ingest_test::read_be16(f.data + 18) == 20);  // payload length
            CHECK(f.data[20] == 6);                            // next header: TCP
        } else {
            CHECK(ingest_test::read_be16(f.data + 16) == 40);  // total length
            CHECK(f.data[23] == 6);                            // protocol: TCP
            std::uint32_t sum = 0;  // the header checksum: the sum folds to all ones
            for (int i = 14; i < 34; i += 2) sum += ingest_test::read_be16(f.data + i);
            while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
            CHECK(sum == 0xFFFF);
        }
        syn_record none;
        CHECK(decode_syn(f.link, f.data, f.caplen, f.time_us, 25, none) == decode_status::not_syn);
        // The addresses and ports the other way round.
        if (ipv6) {
            CHECK(std::equal(f.data + 22, f.data + 38, syn_bytes.begin() + 38));
            CHECK(std::equal(f.data + 38, f.data + 54, syn_bytes.begin() + 22));
        } else {
            CHECK(std::equal(f.data + 26, f.data + 30, syn_bytes.begin() + 30));
            CHECK(std::equal(f.data + 30, f.data + 34, syn_bytes.begin() + 26));
        }
        const std::uint8_t* t = f.data + tcp;
        CHECK(ingest_test::read_be16(t) == 25);
        CHECK(ingest_test::read_be16(t + 2) == syn.source_port);
        CHECK(ingest_test::read_be32(t + 4) == 0);
        CHECK(ingest_test::read_be32(t + 8) ==
              ingest_test::read_be32(syn_bytes.data() + tcp + 4) + 1);  // SEG.SEQ + 1 (the SYN)
        CHECK(t[12] == 0x50);
        CHECK(t[13] == 0x14);  // RST, ACK
    }
    capture_frame f;
    CHECK(r->next(f) == capture_status::end);
}

namespace {

// What a reader hands out, frame by frame, to its end: enough to tell two readings apart.
struct reading {
    struct item {
        capture_status status;
        std::size_t caplen;
        std::int64_t time_us;
        std::uint64_t at, next;  // frame_offset() (error_offset() for a status), offset()
        std::uint64_t hash;      // of the frame's bytes (FNV-1a)
        bool operator==(const item&) const = default;
    };
    std::vector<item> items;
    std::string last_error;
    std::uint64_t direct_bytes = 0;
};

reading read_all(const std::string& path, std::uint64_t from, file_reading how) {
    std::string error;
    auto r = capture_reader::open_file(path, from, error, how);
    INFO(error);
    REQUIRE(r);
    reading out;
    for (;;) {
        capture_frame f;
        const capture_status st = r->next(f);
        if (st == capture_status::frame) {
            std::uint64_t h = 0xcbf29ce484222325ull;
            for (std::size_t i = 0; i < f.caplen; ++i) h = (h ^ f.data[i]) * 0x100000001b3ull;
            out.items.push_back({st, f.caplen, f.time_us, r->frame_offset(), r->offset(), h});
            continue;
        }
        out.items.push_back({st, 0, 0, r->error_offset(), r->is_pcapng() ? 0 : r->offset(), 0});
        if (st != capture_status::bad_block && st != capture_status::bad_interface) break;
    }
    out.last_error = r->last_error();
    out.direct_bytes = r->direct_bytes();
    return out;
}

// Whether the file system of `path` takes O_DIRECT (where it does not, file_reading::direct
// reads through the page cache, as it should).
bool takes_o_direct(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}

// Frames of many sizes (up to the largest record a pcap may hold), so that records straddle
// the direct reader's 4 MiB chunks at all kinds of positions.
std::string write_mixed_capture(const ingest_test::temp_dir& d, std::size_t bytes) {
    const std::string path = d.path("mixed.pcap");
    pcap_file_writer w(path);
    std::vector<std::uint8_t> frame(262144);
    std::uint64_t x = 88172645463325252ull;
    std::size_t written = 24;
    for (std::int64_t t = 1'000'000; written < bytes; t += 137) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        std::size_t len = 40 + x % 1500;
        if (x % 97 == 0) len = 60'000 + x % 200'000;
        if (x % 991 == 0) len = frame.size();
        for (std::size_t i = 0; i < len; i += 8)
            frame[i] = static_cast<std::uint8_t>(x >> (i % 56));
        w.write_frame(t, frame.data(), len);
        written += 16 + len;
    }
    w.close();
    return path;
}

}  // namespace

TEST_CASE("a capture read with O_DIRECT ahead of the parser gives what pread gives",
          "[capture_reader]") {
    ingest_test::temp_dir d("reader-direct");
    const std::string path = write_mixed_capture(d, 21u << 20);  // five chunks and a bit
    const auto size = std::filesystem::file_size(path);
    const reading buffered = read_all(path, 0, file_reading::buffered);
    REQUIRE(buffered.items.size() > 1000);
    CHECK(buffered.items.back().status == capture_status::end);
    CHECK(buffered.direct_bytes == 0);
    const reading direct = read_all(path, 0, file_reading::direct);
    CHECK(direct.items == buffered.items);
    if (takes_o_direct(path)) {
        CHECK(direct.direct_bytes == size - 24);  // all but the file header
    } else {
        WARN("no O_DIRECT on " << path << "'s file system: the page cache was read twice");
    }

    SECTION("resumed at a record boundary that is not on a block boundary") {
        std::size_t k = 0;
        while (buffered.items[k].at < (6u << 20) || buffered.items[k].at % 4096 == 0) ++k;
        const std::uint64_t from = buffered.items[k].at;
        const reading b = read_all(path, from, file_reading::buffered);
        const reading r = read_all(path, from, file_reading::direct);
        REQUIRE(b.items.size() == buffered.items.size() - k);
        CHECK(b.items.front() == buffered.items[k]);
        CHECK(r.items == b.items);
        if (takes_o_direct(path)) CHECK(r.direct_bytes == size - from);
    }

    SECTION("cut inside a record past the first chunks: truncated at the same record") {
        const std::size_t k = buffered.items.size() - 40;
        const std::uint64_t cut = buffered.items[k].at + 9;  // inside its record header
        std::filesystem::resize_file(path, cut);
        const reading b = read_all(path, 0, file_reading::buffered);
        const reading r = read_all(path, 0, file_reading::direct);
        REQUIRE(b.items.size() == k + 1);
        CHECK(b.items.back().status == capture_status::truncated);
        CHECK(b.items.back().at == buffered.items[k].at);
        CHECK(r.items == b.items);
        CHECK(r.last_error == b.last_error);
    }
}

TEST_CASE("a pcapng block that a chunk cannot carry over is read on through the cache",
          "[capture_reader]") {
    ingest_test::temp_dir d("reader-direct-ng");
    pcapng_builder b;
    b.shb();
    b.idb(1, -1, 0, 0);  // no snap length: packets as large as their blocks
    std::int64_t t = 1'000'000;
    auto small_until = [&](std::size_t size) {
        while (b.f.size() < size) b.epb(ethernet(ip_syn(false, 40001, 25, 64), false), ++t);
    };
    std::vector<std::uint8_t> big = ethernet(ip_syn(false, 40000, 25, 64), false);
    // A block of 700 KiB across the first chunk's end, 100 KB of it before: carried over
    // (the 512 KiB in front of a chunk take it).
    small_until((4u << 20) - 100'000);
    big.resize(700u << 10, 0xAB);
    b.epb(big, ++t);
    // One of 3 MiB across the second chunk's end, 1 MiB of it before: too much to carry.
    small_until(7u << 20);
    big.resize(3u << 20, 0xCD);
    b.epb(big, ++t);
    small_until(12u << 20);
    const std::string path = d.path("big.pcapng");
    std::ofstream(path, std::ios::binary) << b.f;
    const reading buffered = read_all(path, 0, file_reading::buffered);
    const reading direct = read_all(path, 0, file_reading::direct);
    REQUIRE(buffered.items.back().status == capture_status::end);
    REQUIRE(buffered.items.size() > 50'000);
    CHECK(direct.items == buffered.items);
    // Two chunks read directly, the rest through the cache.
    if (takes_o_direct(path)) CHECK(direct.direct_bytes == (8u << 20));
}
