// A libpcap capture source (pcap or pcapng file, or a live interface) yielding raw frames.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "v6bl/ingest/syn_decoder.h"

struct pcap;

namespace v6bl::ingest {

enum class capture_status : std::uint8_t { frame, end, timeout, truncated, error };

struct capture_frame {
    const std::uint8_t* data = nullptr;
    std::size_t caplen = 0;
    std::int64_t time_us = 0;
};

// The BPF filter for live capture: SYNs without ACK to port 25 over IPv4, and TCP to port
// 25 over IPv6 (BPF cannot index TCP flags behind IPv6 extension headers; the decoder
// drops non-SYNs).
std::string sensor_bpf_filter(std::uint16_t smtp_port);

class capture_reader {
  public:
    ~capture_reader();
    capture_reader(const capture_reader&) = delete;
    capture_reader& operator=(const capture_reader&) = delete;

    // Opens a pcap/pcapng file. `resume_offset` > 0 seeks a classic pcap file to a record
    // boundary previously returned by offset(). Returns nullptr with `error` set on failure
    // (missing file, not a capture, unknown link type).
    static std::unique_ptr<capture_reader> open_file(const std::string& path,
                                                     std::uint64_t resume_offset,
                                                     std::string& error);
    // Opens a live interface with the sensor filter, non-blocking.
    static std::unique_ptr<capture_reader> open_live(const std::string& interface,
                                                     std::uint16_t smtp_port, std::string& error);

    // frame.data stays valid until the next call.
    capture_status next(capture_frame& frame);
    link_kind link() const { return link_; }
    bool is_pcapng() const { return pcapng_; }
    // Byte offset of the next record (classic pcap files only; stdio position).
    std::uint64_t offset() const;
    const std::string& last_error() const { return error_; }

  private:
    capture_reader() = default;
    bool map_classic(std::uint64_t resume_offset);
    capture_status next_mapped(capture_frame& frame);
    void release_read_pages();

    pcap* handle_ = nullptr;
    // Classic pcap files are read straight from a read-only mapping: libpcap's reader
    // copies every record through two fread() calls, which alone costs more than the
    // whole SYN decoding. pcapng and live capture go through libpcap.
    const std::uint8_t* map_ = nullptr;
    std::size_t map_size_ = 0;
    std::size_t map_pos_ = 0;
    std::size_t map_released_ = 0;  // pages before this were read and dropped from RSS
    bool swapped_ = false;
    bool nanoseconds_ = false;
    std::uint32_t max_caplen_ = 0;
    std::FILE* file_ = nullptr;  // owned by libpcap once opened
    link_kind link_ = link_kind::unknown;
    bool pcapng_ = false;
    bool live_ = false;
    std::string error_;
};

}  // namespace v6bl::ingest
