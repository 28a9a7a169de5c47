// libpcap wrapper: offline files with resumable offsets, live capture with the sensor BPF.
#include "v6bl/ingest/capture_reader.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace v6bl::ingest {

std::string sensor_bpf_filter(std::uint16_t port) {
    const std::string p = std::to_string(port);
    // IPv6 packets whose first header is an extension header (hop-by-hop, routing,
    // fragment, destination options) pass too: BPF's "tcp dst port" only looks right
    // behind the fixed header; the decoder walks the chain.
    return "(ip and tcp dst port " + p +
           " and tcp[tcpflags] & (tcp-syn|tcp-ack|tcp-rst) == tcp-syn)" +
           " or (ip6 and tcp dst port " + p + ")" +
           " or (ip6 and (ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 44 or ip6[6] == 60))";
}

namespace {

constexpr std::size_t pcap_file_header_size = 24;
constexpr std::size_t pcap_record_header_size = 16;
// libpcap refuses records larger than this (max_snaplen_for_dlt), whatever the file's snap
// length: a corrupt length field, not a frame.
constexpr std::uint32_t max_record_caplen = 262144;
// Small enough that the kernel's copy is still in the L2 cache when the decoder reads it
// (1 MiB chunks read at half the speed on the 2-core VM), large enough that read() calls
// are rare (4 per MiB).
constexpr std::size_t read_chunk = std::size_t{1} << 18;

std::uint32_t load_u32(const std::uint8_t* p, bool swapped) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return swapped ? __builtin_bswap32(v) : v;
}

}  // namespace

capture_reader::~capture_reader() {
    if (fd_ >= 0) ::close(fd_);
    if (handle_) pcap_close(handle_);  // closes file_ too
}

bool capture_reader::open_classic(std::uint64_t resume_offset) {
    std::uint8_t hdr[pcap_file_header_size];
    const int fd = ::dup(fileno(file_));
    if (fd < 0) return false;
    if (::pread(fd, hdr, sizeof hdr, 0) != static_cast<ssize_t>(sizeof hdr)) {
        ::close(fd);
        return false;
    }
    std::uint32_t magic;
    std::memcpy(&magic, hdr, 4);
    switch (magic) {
        case 0xa1b2c3d4u:
            break;
        case 0xd4c3b2a1u:
            swapped_ = true;
            break;
        case 0xa1b23c4du:
            nanoseconds_ = true;
            break;
        case 0x4d3cb2a1u:
            swapped_ = nanoseconds_ = true;
            break;
        default:  // a variant libpcap knows (e.g. Kuznetzov's): let libpcap read it
            ::close(fd);
            return false;
    }
    fd_ = fd;
    // libpcap refuses any record over max_snaplen_for_dlt() (262144 for every link type
    // we decode) whatever the header's snap length says: a garbage snaplen must not let a
    // garbage record length allocate gigabytes.
    max_caplen_ = max_record_caplen;
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    // Past the end (the file shrank under the same inode) reads as the end, like fseeko.
    buf_offset_ = resume_offset > 0 ? resume_offset : pcap_file_header_size;
    buf_.resize(read_chunk);
    return true;
}

// Makes at least `need` bytes from buf_pos_ on available, unless the file ends first.
bool capture_reader::fill(std::size_t need) {
    if (buf_len_ - buf_pos_ >= need) return true;
    // Keep the unread tail, at the front.
    const std::size_t tail = buf_len_ - buf_pos_;
    std::memmove(buf_.data(), buf_.data() + buf_pos_, tail);
    buf_offset_ += buf_pos_;
    buf_pos_ = 0;
    buf_len_ = tail;
    if (buf_.size() < need) buf_.resize(need);  // a record larger than the buffer
    while (buf_len_ < need && !eof_) {
        const ssize_t n = ::pread(fd_, buf_.data() + buf_len_, buf_.size() - buf_len_,
                                  static_cast<off_t>(buf_offset_ + buf_len_));
        if (n < 0) {
            if (errno == EINTR) continue;
            error_ = std::string("read error: ") + std::strerror(errno);
            eof_ = true;
            return false;
        }
        if (n == 0) eof_ = true;
        buf_len_ += static_cast<std::size_t>(n);
    }
    return buf_len_ >= need;
}

capture_status capture_reader::next_buffered(capture_frame& frame) {
    if (!fill(pcap_record_header_size)) {
        const std::size_t left = buf_len_ - buf_pos_;
        if (left == 0 && error_.empty()) return capture_status::end;
        if (!error_.empty()) return capture_status::error;
        error_ = "truncated dump file; tried to read " + std::to_string(pcap_record_header_size) +
                 " header bytes, only got " + std::to_string(left);
        return capture_status::truncated;
    }
    const std::uint8_t* h = buf_.data() + buf_pos_;
    const std::uint32_t caplen = load_u32(h + 8, swapped_);
    if (caplen > max_caplen_) {
        error_ = "invalid packet capture length " + std::to_string(caplen) +
                 ", bigger than maximum of " + std::to_string(max_caplen_);
        return capture_status::error;
    }
    if (!fill(pcap_record_header_size + caplen)) {
        if (!error_.empty()) return capture_status::error;
        error_ = "truncated dump file; tried to read " + std::to_string(caplen) +
                 " captured bytes, only got " +
                 std::to_string(buf_len_ - buf_pos_ - pcap_record_header_size);
        return capture_status::truncated;
    }
    h = buf_.data() + buf_pos_;  // fill() may have moved the bytes
    const std::uint32_t sec = load_u32(h, swapped_);
    const std::uint32_t frac = load_u32(h + 4, swapped_);
    frame.data = h + pcap_record_header_size;
    frame.caplen = caplen;
    frame.time_us = static_cast<std::int64_t>(sec) * 1'000'000 +
                    static_cast<std::int64_t>(nanoseconds_ ? frac / 1000 : frac);
    frame_offset_ = buf_offset_ + buf_pos_;
    buf_pos_ += pcap_record_header_size + caplen;
    return capture_status::frame;
}

std::unique_ptr<capture_reader> capture_reader::open_file(const std::string& path,
                                                          std::uint64_t resume_offset,
                                                          std::string& error) {
    // Captures are read by offset (pread, rewind, resume): a pipe lost its first bytes and
    // was called "unknown file format", and opening a FIFO without a writer would block.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        error = "not a regular file (captures are read by offset: give a file, or --interface)";
        return nullptr;
    }
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        error = std::string("cannot open: ") + std::strerror(errno);
        return nullptr;
    }
    unsigned char magic[4] = {};
    const bool have_magic = std::fread(magic, 1, 4, f) == 4;
    std::rewind(f);
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap* h = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!h) {
        std::fclose(f);
        error = std::string("not a pcap/pcapng capture: ") + errbuf;
        return nullptr;
    }
    std::unique_ptr<capture_reader> r(new capture_reader());
    r->handle_ = h;
    r->file_ = f;
    r->pcapng_ =
        have_magic && magic[0] == 0x0A && magic[1] == 0x0D && magic[2] == 0x0D && magic[3] == 0x0A;
    const int dlt = pcap_datalink(h);
    r->link_ = link_kind_of_dlt(dlt);
    if (r->link_ == link_kind::unknown) {
        const char* name = pcap_datalink_val_to_name(dlt);
        error = "unsupported link type " + std::to_string(dlt) + " (" + (name ? name : "?") +
                "); supported: Ethernet, Linux SLL, Linux SLL2, raw IP, BSD loopback";
        return nullptr;
    }
    if (!r->pcapng_ && r->open_classic(resume_offset)) return r;
    if (resume_offset > 0 && !r->pcapng_) {
        if (fseeko(f, static_cast<off_t>(resume_offset), SEEK_SET) != 0) {
            error = "cannot seek to checkpoint offset " + std::to_string(resume_offset);
            return nullptr;
        }
    }
    return r;
}

std::unique_ptr<capture_reader> capture_reader::open_live(const std::string& interface,
                                                          std::uint16_t smtp_port,
                                                          unsigned buffer_mb, std::string& error) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap* h = pcap_create(interface.c_str(), errbuf);
    if (!h) {
        error = errbuf;
        return nullptr;
    }
    std::unique_ptr<capture_reader> r(new capture_reader());
    r->handle_ = h;
    r->live_ = true;
    pcap_set_snaplen(h, 256);  // headers only: a SYN never needs more
    pcap_set_promisc(h, 0);
    pcap_set_timeout(h, 100);
    pcap_set_immediate_mode(h, 1);
    pcap_set_buffer_size(h, static_cast<int>(std::min(buffer_mb, 2047u) << 20));
    if (pcap_activate(h) < 0) {
        error = std::string("cannot capture on ") + interface + ": " + pcap_geterr(h);
        return nullptr;
    }
    r->link_ = link_kind_of_dlt(pcap_datalink(h));
    if (r->link_ == link_kind::unknown) {
        error = "unsupported link type on " + interface;
        return nullptr;
    }
    bpf_program prog{};
    const std::string filter = sensor_bpf_filter(smtp_port);
    if (pcap_compile(h, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0 ||
        pcap_setfilter(h, &prog) != 0) {
        error = std::string("cannot set filter: ") + pcap_geterr(h);
        pcap_freecode(&prog);
        return nullptr;
    }
    pcap_freecode(&prog);
    pcap_setnonblock(h, 1, errbuf);
    return r;
}

capture_status capture_reader::next(capture_frame& frame) {
    if (fd_ >= 0) return next_buffered(frame);
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    if (!live_) frame_offset_ = offset();  // libpcap reads the next block from here
    pcapng_frame_ = false;
    const int rc = pcap_next_ex(handle_, &hdr, &data);
    if (rc == 1) {
        // libpcap skips other blocks (statistics, name resolution, interfaces) on its way
        // to a packet block: the packet's block ends where libpcap stopped reading, and
        // frame_offset() finds its start from there when a report asks for it.
        pcapng_frame_ = !live_ && pcapng_;
        frame.data = data;
        frame.caplen = hdr->caplen;
        // pcapng stamps are 64-bit: kept to the classic format's 32-bit seconds, so that a
        // hostile stamp cannot overflow the microseconds.
        const auto sec = std::clamp<std::int64_t>(hdr->ts.tv_sec, 0, 0xFFFFFFFF);
        frame.time_us = sec * 1'000'000 + hdr->ts.tv_usec;
        return capture_status::frame;
    }
    if (rc == 0) return capture_status::timeout;
    if (rc == PCAP_ERROR_BREAK) return capture_status::end;
    error_ = pcap_geterr(handle_);
    if (!live_ && error_.find("truncated") != std::string::npos) return capture_status::truncated;
    return capture_status::error;
}

// The start of the pcapng block that ends at `end`: its trailing length,
// in either byte order, must match the leading one. `fallback` when it does not.
std::uint64_t capture_reader::frame_offset() const {
    // The FILE has not moved since the frame was read: it is at the end of its block.
    return pcapng_frame_ ? packet_block_start(frame_offset_, offset()) : frame_offset_;
}

std::uint64_t capture_reader::packet_block_start(std::uint64_t fallback, std::uint64_t end) const {
    if (end < 12 || end <= fallback) return fallback;
    const int fd = fileno(file_);
    std::uint8_t tail[4], head[8];
    if (::pread(fd, tail, 4, static_cast<off_t>(end - 4)) != 4) return fallback;
    for (bool swapped : {false, true}) {
        const std::uint32_t len = load_u32(tail, swapped);
        if (len < 12 || len % 4 != 0 || len > end - fallback) continue;
        if (::pread(fd, head, 8, static_cast<off_t>(end - len)) != 8) continue;
        if (load_u32(head + 4, swapped) == len) return end - len;
    }
    return fallback;
}

std::uint64_t capture_reader::kernel_drops() const {
    pcap_stat st{};
    if (!live_ || !handle_ || pcap_stats(handle_, &st) != 0) return 0;
    return st.ps_drop;
}

std::uint64_t capture_reader::offset() const {
    if (fd_ >= 0) return buf_offset_ + buf_pos_;
    if (!file_) return 0;
    const off_t o = ftello(file_);
    return o < 0 ? 0 : static_cast<std::uint64_t>(o);
}

}  // namespace v6bl::ingest
