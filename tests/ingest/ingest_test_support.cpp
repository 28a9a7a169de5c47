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
