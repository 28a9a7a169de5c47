// Writes SYN frames (Ethernet + IPv4/IPv6 + TCP with options), and the sensor's resets of
// them, to a classic pcap file, fast.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "v6bl/ingest/connect_attempt.h"
#include "v6bl/ingest/syn_record.h"

namespace v6bl::ingest {

class pcap_file_writer {
  public:
    // Throws std::runtime_error when the file cannot be created, and from write_*() and
    // close() when it cannot be written (the file is closed then; the destructor never throws).
    explicit pcap_file_writer(const std::string& path);
    ~pcap_file_writer();
    pcap_file_writer(const pcap_file_writer&) = delete;
    pcap_file_writer& operator=(const pcap_file_writer&) = delete;

    // One SYN with the option layout of `os` (Linux, Windows or macOS stacks).
    void write_syn(std::int64_t time_us, const address_bytes& source, const address_bytes& dest,
                   ip_family family, std::uint16_t source_port, std::uint8_t ttl,
                   std::uint16_t window, os_class os);
    // The sensor's reply to a SYN written by write_syn(): RST+ACK from `sensor` port 25 to
    // the SYN's source and port, acknowledging its sequence number (which is a function of
    // the SYN's time and port).
    void write_reset(std::int64_t time_us, std::int64_t syn_time_us, const address_bytes& sensor,
                     const address_bytes& client, ip_family family, std::uint16_t client_port);
    // Any frame bytes (tests write RSTs and garbage through this).
    void write_frame(std::int64_t time_us, const std::uint8_t* data, std::size_t len);
    void close();
    std::uint64_t frames() const { return frames_; }

  private:
    void flush();
    [[noreturn]] void fail(int error);
    std::string path_;
    std::FILE* file_ = nullptr;
    std::vector<std::uint8_t> buffer_;
    std::uint64_t frames_ = 0;
};

}  // namespace v6bl::ingest
