// Helpers for the ingest tests: temporary directories, hand-built frames, store dumps.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "v6bl/ingest/connect_attempt.h"
#include "v6bl/ingest/syn_record.h"
#include "v6bl/store/store.h"

namespace v6bl::ingest_test {

// Network byte order fields of a frame read back.
inline std::uint16_t read_be16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
inline std::uint32_t read_be32(const std::uint8_t* p) {
    return std::uint32_t{read_be16(p)} << 16 | read_be16(p + 2);
}

class temp_dir {
  public:
    explicit temp_dir(const std::string& tag) {
        static int n = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("v6bl-ingest-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(n++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string path(const std::string& sub = {}) const {
        return sub.empty() ? path_.string() : (path_ / sub).string();
    }

  private:
    std::filesystem::path path_;
};

inline ingest::address_bytes v6(const std::string& text) {
    const auto a = store::parse_address(text);
    ingest::address_bytes b{};
    if (a) std::copy(a->begin(), a->end(), b.begin());
    return b;
}

inline std::uint32_t v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    return (std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d;
}

// A TCP SYN in an IPv4 or IPv6 packet (no link header), Linux-style options.
std::vector<std::uint8_t> ip_syn(bool ipv6, std::uint16_t sport, std::uint16_t dport,
                                 std::uint8_t ttl, std::uint8_t flags = 0x02);
std::vector<std::uint8_t> ethernet(const std::vector<std::uint8_t>& ip, bool ipv6,
                                   int vlan_tags = 0);

// pcapng files block by block, in the host's byte order or the other one (`swap`).
struct pcapng_builder {
    std::string f;
    bool swap = false;
    void u32(std::uint32_t v);
    void u16(std::uint16_t v);
    void u64(std::uint64_t v);
    void shb();
    // An interface of a LINKTYPE_ link type (1 Ethernet, 101 raw IP, 276 Linux SLL2, 105
    // IEEE 802.11), with an if_tsresol option (its byte) and an
    // if_tsoffset option (seconds) when given.
    void idb(std::uint16_t linktype = 1, int tsresol = -1, std::int64_t tsoffset_s = 0,
             std::uint32_t snaplen = 65535);
    // An enhanced packet block stamped `ts` in the interface's units; returns its offset.
    std::size_t epb(const std::vector<std::uint8_t>& frame, std::uint64_t ts,
                    std::uint32_t interface = 0);
    // A simple packet block (no interface number, no time stamp); returns its offset.
    std::size_t spb(const std::vector<std::uint8_t>& frame);
    // An interface statistics block (type 5, no options).
    void isb();
};

// What was written to a temporary file (the diagnostics of a run), which is then closed.
std::string read_and_close(std::FILE* f);

// Everything the store holds for the listing side: records and evidence, comparable.
using store_dump = std::map<std::string, std::string>;
store_dump dump_store(const store::reputation_store& s);

// A connect attempt built by hand (the engine's input).
ingest::connect_attempt attempt(const ingest::address_bytes& src, bool ipv6, double t_seconds,
                                std::uint16_t port, int syns, bool windows);

}  // namespace v6bl::ingest_test
