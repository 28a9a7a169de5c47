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

// `bad_block` and `bad_interface` (pcapng) name a block that was skipped, with the reason
// in last_error() and its offset in error_offset(); reading goes on after it. `truncated`
// and `error` end the file.
enum class capture_status : std::uint8_t {
    frame,
    end,
    timeout,
    truncated,
    error,
    bad_block,      // a packet block whose own fields are impossible
    bad_interface,  // an interface whose link type is not decoded: its packets are skipped
};

struct capture_frame {
    const std::uint8_t* data = nullptr;
    std::size_t caplen = 0;
    std::int64_t time_us = 0;
    // How to decode it: pcapng files can mix interfaces of several link types. Frames of an
    // interface the decoder does not take, and pcapng's simple packet blocks (which carry no
    // time), come as `unknown`: counted as packets, never as SYNs.
    link_kind link = link_kind::unknown;
};

// How a capture file's bytes are read: through the page cache (pread into one buffer), or
// with O_DIRECT by a thread of their own ahead of the parser (direct_reader.h), where the
// file system allows it (else through the page cache).
enum class file_reading : std::uint8_t { buffered, direct };

// The BPF filter for live capture: SYNs without ACK to port 25 over IPv4, and TCP to port
// 25 over IPv6 (BPF cannot index TCP flags behind IPv6 extension headers; the decoder
// drops non-SYNs); on Ethernet, the same behind one or two VLAN tags.
std::string sensor_bpf_filter(std::uint16_t smtp_port, link_kind link = link_kind::ethernet);

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
                                                     std::string& error,
                                                     file_reading how = file_reading::buffered);
    // Opens a live interface with the sensor filter, non-blocking, with a kernel buffer of
    // `buffer_mb` MiB.
    static std::unique_ptr<capture_reader> open_live(const std::string& interface,
                                                     std::uint16_t smtp_port, unsigned buffer_mb,
                                                     std::string& error);

    // frame.data stays valid until the next call.
    capture_status next(capture_frame& frame);
    // The link type of a classic pcap file or live capture, or of a pcapng file's first
    // interface (frame.link is each frame's own).
    link_kind link() const { return link_; }
    bool is_pcapng() const { return pcapng_; }
    // The open file's descriptor (reading it by offset, with pread, is safe): the file read,
    // whatever its path names by now. -1 for a live capture.
    int descriptor() const { return fd_; }
    // Byte offset of the next record (classic pcap files only; stdio position).
    std::uint64_t offset() const;
    // Byte offset in the file of the record (pcap) or block (pcapng) of the frame the last
    // next() returned; 0 for live capture.
    std::uint64_t frame_offset() const;
    // Byte offset of the record (pcap) or block (pcapng) a truncated, error or bad_* status
    // of next() was about.
    std::uint64_t error_offset() const {
        return pcapng_ ? error_at_ : fd_ >= 0 ? offset() : frame_offset_;
    }
    const std::string& last_error() const { return error_; }
    // Live capture: packets that passed the filter but were dropped because the kernel's
    // capture buffer was full (pcap_stats' ps_drop; its ps_ifdrop is the interface's own
    // count over all traffic, not only the sensor's). 0 for files.
    std::uint64_t kernel_drops() const;
    // Bytes of the file that came through O_DIRECT reads (file_reading::direct).
    std::uint64_t direct_bytes() const;

  private:
    capture_reader() = default;
    bool open_classic(std::uint64_t resume_offset);
    bool open_descriptor(std::uint64_t from);
    capture_status next_buffered(capture_frame& frame);
    capture_status next_pcapng(capture_frame& frame);
    capture_status pcapng_block_failed(capture_status st, std::uint64_t at, std::string why);
    // Makes at least `need` bytes from buf_pos_ on available, unless the file ends first:
    // twice a record, so the check that they are there already is inline.
    bool fill(std::size_t need) { return buf_len_ - buf_pos_ >= need || refill(need); }
    bool refill(std::size_t need);
    bool refill_direct(std::size_t need);
    // From here on through the page cache: the unread bytes move into buf_.
    void leave_direct();

    pcap* handle_ = nullptr;
    // Files are read with pread() into one reused buffer, or in chunks by a direct_reader,
    // once libpcap has opened them: libpcap's reader copies every record through two
    // fread() calls, which alone costs more than the whole SYN decoding, and a file mapping
    // costs a page fault per 4 KiB read (and, to keep the RSS down, an munmap-like TLB
    // flush behind the reader). For pcapng it also stops at an interface whose link type or
    // snap length differs from the first one's, and at the first bad block. Live capture
    // goes through libpcap.
    int fd_ = -1;  // our own descriptor of the file
    file_reading reading_ = file_reading::buffered;
    std::unique_ptr<class direct_reader> direct_;  // while reading with O_DIRECT
    std::uint64_t direct_bytes_ = 0;               // of readers given up since
    std::vector<std::uint8_t> buf_;
    // The bytes [buf_offset_, buf_offset_ + buf_len_) of the file: buf_'s, or a chunk of
    // direct_'s.
    const std::uint8_t* base_ = nullptr;
    std::uint64_t buf_offset_ = 0;  // file offset of base_[0]
    std::size_t buf_len_ = 0;
    std::size_t buf_pos_ = 0;  // next record at base_ + buf_pos_
    bool eof_ = false;
    bool swapped_ = false;
    bool nanoseconds_ = false;
    std::uint32_t max_caplen_ = 0;
    std::FILE* file_ = nullptr;  // owned by libpcap once opened
    link_kind link_ = link_kind::unknown;
    bool pcapng_ = false;
    // pcapng: the current section's byte order and interfaces (a section header block
    // starts both anew), and where the block of the last bad status started.
    struct pcapng_interface {
        link_kind link = link_kind::unknown;
        std::uint32_t snaplen = 0;
        bool binary_resolution = false;  // units of 2^-resolution s, else 10^-resolution s
        std::uint8_t resolution = 6;
        std::int64_t offset_s = 0;
    };
    bool in_section_ = false;
    std::vector<pcapng_interface> interfaces_;
    std::uint64_t error_at_ = 0;
    std::uint64_t frame_offset_ = 0;
    bool live_ = false;
    std::string error_;
};

}  // namespace v6bl::ingest
