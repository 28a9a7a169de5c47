// Frame builders and store dumps shared by the ingest tests.
#include "ingest_test_support.h"

#include <cstdio>

namespace v6bl::ingest_test {

std::vector<std::uint8_t> ip_syn(bool ipv6, std::uint16_t sport, std::uint16_t dport,
                                 std::uint8_t ttl, std::uint8_t flags) {
    std::vector<std::uint8_t> tcp = {
        static_cast<std::uint8_t>(sport >> 8), static_cast<std::uint8_t>(sport),
        static_cast<std::uint8_t>(dport >> 8), static_cast<std::uint8_t>(dport), 0, 0, 0, 1, 0, 0,
        0, 0, 0xA0, flags, 0xFA, 0xF0, 0, 0, 0, 0,
        // MSS 1460, SACK-permitted, timestamps, NOP, window scale 7
        2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
    std::vector<std::uint8_t> ip;
    if (ipv6) {
        ip = {0x60, 0, 0, 0, 0, static_cast<std::uint8_t>(tcp.size()), 6, ttl};
        const auto s = v6("2001:db8:1:2::10");
        const auto d = v6("2001:db8:25::25");
        ip.insert(ip.end(), s.begin(), s.end());
        ip.insert(ip.end(), d.begin(), d.end());
    } else {
        ip = {0x45, 0,  0,    static_cast<std::uint8_t>(20 + tcp.size()),
              0,    1,  0x40, 0,
              ttl,  6,  0,    0,
              192,  0,  2,    10,
              198,  51, 100,  25};
    }
    ip.insert(ip.end(), tcp.begin(), tcp.end());
    return ip;
}

std::vector<std::uint8_t> ethernet(const std::vector<std::uint8_t>& ip, bool ipv6, int vlan_tags) {
    std::vector<std::uint8_t> f = {2, 0, 0, 0, 0, 0x25, 2, 0, 0, 0, 0, 1};
    for (int i = 0; i < vlan_tags; ++i) {
        f.push_back(0x81);
        f.push_back(0x00);
        f.push_back(0x00);
        f.push_back(0x0A);
    }
    f.push_back(ipv6 ? 0x86 : 0x08);
    f.push_back(ipv6 ? 0xDD : 0x00);
    f.insert(f.end(), ip.begin(), ip.end());
    return f;
}

void pcapng_builder::u32(std::uint32_t v) {
    if (swap) v = __builtin_bswap32(v);
    f.append(reinterpret_cast<const char*>(&v), 4);
}

void pcapng_builder::u16(std::uint16_t v) {
    if (swap) v = __builtin_bswap16(v);
    f.append(reinterpret_cast<const char*>(&v), 2);
}

void pcapng_builder::u64(std::uint64_t v) {
    if (swap) v = __builtin_bswap64(v);
    f.append(reinterpret_cast<const char*>(&v), 8);
}

void pcapng_builder::shb() {
    u32(0x0A0D0D0Au);
    u32(28);
    u32(0x1A2B3C4Du);
    u16(1);  // version 1.0
    u16(0);
    u64(~std::uint64_t{0});  // section length not given
    u32(28);
}

void pcapng_builder::idb(std::uint16_t linktype, int tsresol, std::int64_t tsoffset_s,
                         std::uint32_t snaplen) {
    std::uint32_t len = 20;
    if (tsresol >= 0) len += 8;
    if (tsoffset_s != 0) len += 12;
    if (tsresol >= 0 || tsoffset_s != 0) len += 4;  // opt_endofopt
    u32(1);
    u32(len);
    u16(linktype);
    u16(0);
    u32(snaplen);
    if (tsresol >= 0) {
        u16(9);
        u16(1);
        f.push_back(static_cast<char>(tsresol));
        f.append(3, '\0');
    }
    if (tsoffset_s != 0) {
        u16(14);
        u16(8);
        u64(static_cast<std::uint64_t>(tsoffset_s));
    }
    if (tsresol >= 0 || tsoffset_s != 0) u32(0);
    u32(len);
}

std::size_t pcapng_builder::epb(const std::vector<std::uint8_t>& frame, std::uint64_t ts,
                                std::uint32_t interface) {
    const std::size_t at = f.size();
    auto padded = frame;
    while (padded.size() % 4) padded.push_back(0);
    const auto len = static_cast<std::uint32_t>(32 + padded.size());
    for (std::uint32_t v :
         {6u, len, interface, static_cast<std::uint32_t>(ts >> 32), static_cast<std::uint32_t>(ts),
          static_cast<std::uint32_t>(frame.size()), static_cast<std::uint32_t>(frame.size())})
        u32(v);
    f.append(reinterpret_cast<const char*>(padded.data()), padded.size());
    u32(len);
    return at;
}

std::size_t pcapng_builder::spb(const std::vector<std::uint8_t>& frame) {
    const std::size_t at = f.size();
    auto padded = frame;
    while (padded.size() % 4) padded.push_back(0);
    const auto len = static_cast<std::uint32_t>(16 + padded.size());
    u32(3);
    u32(len);
    u32(static_cast<std::uint32_t>(frame.size()));
    f.append(reinterpret_cast<const char*>(padded.data()), padded.size());
    u32(len);
    return at;
}

void pcapng_builder::isb() {
    for (std::uint32_t v : {5u, 24u, 0u, 0u, 0u, 24u}) u32(v);
}

std::string read_and_close(std::FILE* f) {
    std::rewind(f);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
    return out;
}

store_dump dump_store(const store::reputation_store& s) {
    store_dump out;
    s.for_each_record([&](const store::prefix& p, const store::reputation_record& r) {
        char buf[256];
        std::snprintf(
            buf, sizeof buf, "bits=%u first=%u last=%u att=%u addr=%u rej=%u str=%u sens=%llu",
            r.reason_bits, r.first_seen, r.last_seen, r.attempts, r.addresses, r.rejected_ipv4s,
            r.strength_milli, static_cast<unsigned long long>(r.sensors));
        out["R " + store::format_prefix(p)] = buf;
        if (p.length == 64) {
            s.for_each_evidence(p, [&](store::evidence_kind k, std::string_view item,
                                       const store::evidence_item& e) {
                std::snprintf(buf, sizeof buf, "first=%u last=%u count=%u str=%u sig=%u",
                              e.first_seen, e.last_seen, e.count, e.strength_milli, e.signals);
                std::string key = "E " + store::format_prefix(p) + " " + static_cast<char>(k);
                for (unsigned char c : item) {
                    char hex[3];
                    std::snprintf(hex, sizeof hex, "%02x", c);
                    key += hex;
                }
                out[key] = buf;
                return true;
            });
        }
        return true;
    });
    return out;
}

ingest::connect_attempt attempt(const ingest::address_bytes& src, bool ipv6, double t_seconds,
                                std::uint16_t port, int syns, bool windows) {
    ingest::connect_attempt a;
    a.start_us = static_cast<std::int64_t>(t_seconds * 1e6);
    a.last_us = a.start_us + (syns - 1) * 500'000;
    a.source = src;
    a.family = ipv6 ? ingest::ip_family::v6 : ingest::ip_family::v4;
    a.source_port = port;
    a.syn_count = static_cast<std::uint16_t>(syns);
    a.ttl_class = windows ? 128 : 64;
    a.os = windows ? ingest::os_class::windows : ingest::os_class::linux_like;
    a.window = windows ? 8192 : 64240;
    a.options = windows ? 0x0204010301010402ull : 0x0301080402ull;
    return a;
}

}  // namespace v6bl::ingest_test
