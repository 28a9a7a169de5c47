// Classic pcap (microsecond, DLT_EN10MB) writer with a large buffer: the simulator's output.
#include "v6bl/ingest/pcap_file_writer.h"

#include <cerrno>

#include <cstring>
#include <stdexcept>

namespace v6bl::ingest {
namespace {

constexpr std::size_t buffer_limit = 1 << 22;

void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}

void put32(std::uint8_t* p, std::uint32_t v) {
    put16(p, static_cast<std::uint16_t>(v >> 16));
    put16(p + 2, static_cast<std::uint16_t>(v));
}

// A SYN's initial sequence number: any value will do, as long as its reset can name it.
std::uint32_t syn_sequence(std::int64_t time_us, std::uint16_t sport) {
    // (in unsigned arithmetic: the signed product of a real date's µs overflows)
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(time_us) * 2654435761u) ^ sport;
}

// Ethernet and IP headers of a TCP segment of `tcp_len` bytes; returns where TCP starts.
std::size_t put_ip_headers(std::uint8_t* f, const std::uint8_t macs[12], ip_family family,
                           const address_bytes& src, const address_bytes& dst, std::uint8_t ttl,
                           std::size_t tcp_len, std::uint16_t ip_id) {
    std::memcpy(f, macs, 12);
    std::size_t off = 14;
    if (family == ip_family::v4) {
        put16(f + 12, 0x0800);
        std::uint8_t* ip = f + off;
        ip[0] = 0x45;
        put16(ip + 2, static_cast<std::uint16_t>(20 + tcp_len));
        put16(ip + 4, ip_id);
        ip[6] = 0x40;  // DF
        ip[8] = ttl;
        ip[9] = 6;
        std::memcpy(ip + 12, src.data() + 12, 4);
        std::memcpy(ip + 16, dst.data() + 12, 4);
        std::uint32_t sum = 0;
        for (int i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>((ip[i] << 8) | ip[i + 1]);
        while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
        put16(ip + 10, static_cast<std::uint16_t>(~sum));
        return off + 20;
    }
    put16(f + 12, 0x86DD);
    std::uint8_t* ip = f + off;
    ip[0] = 0x60;
    put16(ip + 4, static_cast<std::uint16_t>(tcp_len));
    ip[6] = 6;
    ip[7] = ttl;
    std::memcpy(ip + 8, src.data(), 16);
    std::memcpy(ip + 24, dst.data(), 16);
    return off + 40;
}

// TCP option bytes per stack, as their SYNs carry them.
std::size_t tcp_options(os_class os, ip_family fam, std::uint8_t* o) {
    const std::uint16_t mss = fam == ip_family::v4 ? 1460 : 1440;
    switch (os) {
        case os_class::windows: {  // MSS, NOP, WS 8, NOP, NOP, SACK-permitted
            const std::uint8_t w[] = {2, 4, 0, 0, 1, 3, 3, 8, 1, 1, 4, 2};
            std::memcpy(o, w, sizeof w);
            put16(o + 2, mss);
            return sizeof w;
        }
        case os_class::macos: {  // MSS, NOP, WS 6, NOP, NOP, TS, SACK-permitted, EOL, EOL
            const std::uint8_t m[] = {2, 4, 0, 0, 1, 3, 3, 6, 1, 1, 8, 10,
                                      0, 0, 0, 1, 0, 0, 0, 0, 4, 2, 0, 0};
            std::memcpy(o, m, sizeof m);
            put16(o + 2, mss);
            return sizeof m;
        }
        default: {  // Linux: MSS, SACK-permitted, TS, NOP, WS 7
            const std::uint8_t l[] = {2, 4, 0, 0, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
            std::memcpy(o, l, sizeof l);
            put16(o + 2, mss);
            return sizeof l;
        }
    }
}

}  // namespace

pcap_file_writer::pcap_file_writer(const std::string& path) : path_(path) {
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
    buffer_.reserve(buffer_limit + 256);
    const std::uint32_t hdr[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 1};  // v2.4, EN10MB
    const auto* b = reinterpret_cast<const std::uint8_t*>(hdr);
    buffer_.insert(buffer_.end(), b, b + sizeof hdr);
}

pcap_file_writer::~pcap_file_writer() {
    try {
        close();
    } catch (const std::exception&) {
        // Not closed on purpose (an exception left the writer's scope): the error is moot.
    }
}

// Closes the file and throws, naming it and the error (a full disk, an I/O error).
void pcap_file_writer::fail(int error) {
    std::fclose(file_);
    file_ = nullptr;
    buffer_.clear();
    throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(error));
}

void pcap_file_writer::flush() {
    if (file_ && !buffer_.empty()) {
        errno = 0;
        if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size())
            fail(errno ? errno : EIO);
    }
    buffer_.clear();
}

void pcap_file_writer::close() {
    if (!file_) return;
    flush();
    errno = 0;
    if (std::fflush(file_) != 0) fail(errno ? errno : EIO);
    std::FILE* f = file_;
    file_ = nullptr;
    if (std::fclose(f) != 0)
        throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
}

void pcap_file_writer::write_frame(std::int64_t time_us, const std::uint8_t* data,
                                   std::size_t len) {
    std::uint32_t rec[4] = {static_cast<std::uint32_t>(time_us / 1'000'000),
                            static_cast<std::uint32_t>(time_us % 1'000'000),
                            static_cast<std::uint32_t>(len), static_cast<std::uint32_t>(len)};
    const auto* r = reinterpret_cast<const std::uint8_t*>(rec);
    buffer_.insert(buffer_.end(), r, r + sizeof rec);
    buffer_.insert(buffer_.end(), data, data + len);
    ++frames_;
    if (buffer_.size() >= buffer_limit) flush();
}

void pcap_file_writer::write_syn(std::int64_t time_us, const address_bytes& src,
                                 const address_bytes& dst, ip_family family, std::uint16_t sport,
                                 std::uint8_t ttl, std::uint16_t window, os_class os) {
    std::uint8_t f[128] = {};
    // Ethernet: fixed sensor and router MACs (to the sensor, from the router).
    const std::uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x25, 0x02, 0, 0, 0, 0, 0x01};
    std::uint8_t opts[24];
    const std::size_t olen = tcp_options(os, family, opts);
    const std::size_t tcp_len = 20 + olen;
    const std::size_t off = put_ip_headers(f, macs, family, src, dst, ttl, tcp_len,
                                           static_cast<std::uint16_t>(frames_));
    std::uint8_t* tcp = f + off;
    put16(tcp, sport);
    put16(tcp + 2, 25);
    put32(tcp + 4, syn_sequence(time_us, sport));
    tcp[12] = static_cast<std::uint8_t>((tcp_len / 4) << 4);
    tcp[13] = 0x02;  // SYN
    put16(tcp + 14, window);
    std::memcpy(tcp + 20, opts, olen);
    // TCP checksum left zero: the decoder, like a sensor behind checksum offload, ignores it.
    write_frame(time_us, f, off + tcp_len);
}

void pcap_file_writer::write_reset(std::int64_t time_us, std::int64_t syn_time_us,
                                   const address_bytes& sensor, const address_bytes& client,
                                   ip_family family, std::uint16_t client_port) {
    std::uint8_t f[80] = {};
    // From the sensor to the router: write_syn()'s MACs the other way round.
    const std::uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x25};
    const std::size_t off = put_ip_headers(f, macs, family, sensor, client, 64, 20,
                                           static_cast<std::uint16_t>(frames_));
    std::uint8_t* tcp = f + off;
    put16(tcp, 25);
    put16(tcp + 2, client_port);
    // RST+ACK with sequence number 0, acknowledging the SYN (RFC 9293 3.10.7.1: a segment
    // to a port that takes no connection).
    put32(tcp + 8, syn_sequence(syn_time_us, client_port) + 1);
    tcp[12] = 5 << 4;
    tcp[13] = 0x14;  // RST, ACK
    write_frame(time_us, f, off + 20);
}

}  // namespace v6bl::ingest
