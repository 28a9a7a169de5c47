// A libpcap capture source (pcap or pcapng file, or a live interface) yielding raw frames.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

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
    // Opens a live interface with the sensor filter, non-blocking, with a kernel buffer of
    // `buffer_mb` MiB.
    static std::unique_ptr<capture_reader> open_live(const std::string& interface,
                                                     std::uint16_t smtp_port, unsigned buffer_mb,
                                                     std::string& error);

    // frame.data stays valid until the next call.
    capture_status next(capture_frame& frame);
    link_kind link() const { return link_; }
    bool is_pcapng() const { return pcapng_; }
    // Byte offset of the next record (classic pcap files only; stdio position).
    std::uint64_t offset() const;
    // Byte offset in the file of the record (pcap) or block (pcapng) of the frame the last
    // next() returned; 0 for live capture.
    std::uint64_t frame_offset() const;
    // Byte offset of the record (pcap) or block (pcapng) a truncated/error status of next()
    // was about.
    std::uint64_t error_offset() const { return fd_ >= 0 ? offset() : frame_offset_; }
    const std::string& last_error() const { return error_; }
    // Live capture: packets that passed the filter but were dropped because the kernel's
    // capture buffer was full (pcap_stats' ps_drop; its ps_ifdrop is the interface's own
    // count over all traffic, not only the sensor's). 0 for files.
    std::uint64_t kernel_drops() const;

  private:
    capture_reader() = default;
    bool open_classic(std::uint64_t resume_offset);
    capture_status next_buffered(capture_frame& frame);
    bool fill(std::size_t need);
    std::uint64_t packet_block_start(std::uint64_t fallback, std::uint64_t end) const;

    pcap* handle_ = nullptr;
    // Classic pcap files are read with read() into one reused buffer: libpcap's reader
    // copies every record through two fread() calls, which alone costs more than the
    // whole SYN decoding, and a file mapping costs a page fault per 4 KiB read (and, to
    // keep the RSS down, an munmap-like TLB flush behind the reader). pcapng and live
    // capture go through libpcap.
    int fd_ = -1;                    // our own descriptor of the classic file
    std::vector<std::uint8_t> buf_;  // holds bytes [buf_offset_, buf_offset_ + buf_len_)
    std::uint64_t buf_offset_ = 0;   // file offset of buf_[0]
    std::size_t buf_len_ = 0;
    std::size_t buf_pos_ = 0;  // next record within buf_
    bool eof_ = false;
    bool swapped_ = false;
    bool nanoseconds_ = false;
    std::uint32_t max_caplen_ = 0;
    std::FILE* file_ = nullptr;  // owned by libpcap once opened
    link_kind link_ = link_kind::unknown;
    bool pcapng_ = false;
    std::uint64_t frame_offset_ = 0;
    bool pcapng_frame_ = false;  // the last frame came from a pcapng packet block
    bool live_ = false;
    std::string error_;
};

}  // namespace v6bl::ingest
