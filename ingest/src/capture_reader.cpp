// libpcap wrapper: offline files with resumable offsets, live capture with the sensor BPF.
#include "v6bl/ingest/capture_reader.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "direct_reader.h"

namespace v6bl::ingest {

std::string sensor_bpf_filter(std::uint16_t port, link_kind link) {
    // Port 0 takes SYNs to any port, as the decoder does (`tcp dst port 0` would take none).
    const std::string to_port = port ? "tcp dst port " + std::to_string(port) : "tcp";
    // IPv6 packets whose first header is an extension header (hop-by-hop, routing,
    // fragment, destination options, IPsec AH) and IPv4 packets with AH ahead of TCP pass
    // too: BPF's "tcp dst port" only looks right behind the fixed header; the decoder walks
    // the chain.
    const std::string syn = "(ip and " + to_port +
                            " and tcp[tcpflags] & (tcp-syn|tcp-ack|tcp-rst) == tcp-syn)" +
                            " or (ip and ip[9] == 51 and ip[(ip[0] & 0xf) << 2] == 6)" +
                            " or (ip6 and " + to_port + ")" +
                            " or (ip6 and (ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 44 or "
                            "ip6[6] == 51 or ip6[6] == 60))";
    // The same behind one or two 802.1Q/802.1ad tags, as the decoder takes them. Each
    // "vlan" moves the offsets of what follows it by a tag, so the untagged test comes
    // first. On Linux the kernel takes the outer tag out of the frame (the first "vlan"
    // then tests that it was there): a QinQ frame keeps its inner tag in the data.
    // libpcap compiles "vlan" for Ethernet only (not for Linux cooked frames, `-i any`, nor
    // raw IP: tun, ppp); there a tagged frame is captured on its VLAN's own interface.
    if (link != link_kind::ethernet) return syn;
    return "(" + syn + ") or (vlan and ((" + syn + ") or (vlan and (" + syn + "))))";
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

std::uint16_t load_u16(const std::uint8_t* p, bool swapped) {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return swapped ? __builtin_bswap16(v) : v;
}

// pcapng (draft-ietf-opsawg-pcapng): block types and the section header's byte-order magic.
constexpr std::uint32_t ng_section_header = 0x0A0D0D0Au;
constexpr std::uint32_t ng_interface = 1;
constexpr std::uint32_t ng_old_packet = 2;  // obsolete, still written by old tools
constexpr std::uint32_t ng_simple_packet = 3;
constexpr std::uint32_t ng_enhanced_packet = 6;
constexpr std::uint32_t ng_byte_order_magic = 0x1A2B3C4Du;
constexpr std::uint16_t ng_option_tsresol = 9, ng_option_tsoffset = 14;
// libpcap's limit on a block: a larger length is a corrupt field, not a block.
constexpr std::uint32_t ng_max_block = 16u << 20;

// A pcapng time stamp in microseconds, its seconds kept to the classic format's 32 bits
// (so that a hostile stamp cannot overflow anything downstream).
std::int64_t pcapng_time_us(std::uint64_t units, bool binary, std::uint8_t resolution,
                            std::int64_t offset_s) {
    __extension__ typedef __int128 wide;
    wide us;
    if (binary) {
        us = (wide{static_cast<wide>(units)} * 1'000'000) >> resolution;
    } else {
        wide scale = 1;
        for (int i = 0; i < (resolution > 6 ? resolution - 6 : 6 - resolution); ++i) scale *= 10;
        us = resolution > 6 ? static_cast<wide>(units) / scale : static_cast<wide>(units) * scale;
    }
    wide sec = us / 1'000'000 + offset_s;
    const wide frac = us % 1'000'000;
    if (sec < 0) sec = 0;
    if (sec > 0xFFFFFFFF) sec = 0xFFFFFFFF;
    return static_cast<std::int64_t>(sec * 1'000'000 + frac);
}

}  // namespace

capture_reader::~capture_reader() {
    direct_.reset();  // its thread joined before the descriptors go
    if (fd_ >= 0) ::close(fd_);
    if (handle_)
        pcap_close(handle_);  // closes file_ too
    else if (file_)
        std::fclose(file_);
}

bool capture_reader::open_descriptor(std::uint64_t from) {
    const int fd = ::dup(fileno(file_));
    if (fd < 0) return false;
    fd_ = fd;
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    buf_offset_ = from;
    buf_.resize(read_chunk);
    base_ = buf_.data();
    if (reading_ == file_reading::direct) direct_ = direct_reader::open(fd_, from);
    return true;
}

bool capture_reader::open_classic(std::uint64_t resume_offset) {
    std::uint8_t hdr[pcap_file_header_size];
    if (::pread(fileno(file_), hdr, sizeof hdr, 0) != static_cast<ssize_t>(sizeof hdr))
        return false;
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
            return false;
    }
    // libpcap refuses any record over max_snaplen_for_dlt() (262144 for every link type
    // we decode) whatever the header's snap length says: a garbage snaplen must not let a
    // garbage record length allocate gigabytes.
    max_caplen_ = max_record_caplen;
    // Past the end (the file shrank under the same inode) reads as the end, like fseeko.
    return open_descriptor(resume_offset > 0 ? resume_offset : pcap_file_header_size);
}

void capture_reader::leave_direct() {
    const std::size_t tail = buf_len_ - buf_pos_;
    if (buf_.size() < tail) buf_.resize(tail);
    std::memcpy(buf_.data(), base_ + buf_pos_, tail);  // (from the reader's chunk)
    buf_offset_ += buf_pos_;
    buf_pos_ = 0;
    buf_len_ = tail;
    base_ = buf_.data();
    direct_bytes_ += direct_->bytes();
    direct_.reset();
}

// refill() while reading with O_DIRECT: the next chunk, the unread bytes carried in front of
// it. Where it cannot go on (next() refuses after the last chunk, a failed read, or a pcapng
// block longer than the room for carried bytes; or the device is slower than the parser),
// reading goes on through the page cache from the same byte: pread() reads on past a short
// chunk (a file still growing) and reports a failing read as it does any.
bool capture_reader::refill_direct(std::size_t need) {
    while (buf_len_ - buf_pos_ < need) {
        const std::size_t carry = buf_len_ - buf_pos_;
        direct_reader::chunk_view chunk;
        if (direct_->falls_behind() || !direct_->next(base_ + buf_pos_, carry, chunk)) {
            leave_direct();
            return false;
        }
        buf_offset_ += buf_pos_;
        base_ = chunk.data;
        buf_pos_ = 0;
        buf_len_ = chunk.size;
    }
    return true;
}

// fill()'s slow path: fewer than `need` bytes are left in the buffer.
bool capture_reader::refill(std::size_t need) {
    if (direct_ && refill_direct(need)) return true;
    // Keep the unread tail, at the front.
    const std::size_t tail = buf_len_ - buf_pos_;
    std::memmove(buf_.data(), base_ + buf_pos_, tail);
    buf_offset_ += buf_pos_;
    buf_pos_ = 0;
    buf_len_ = tail;
    if (buf_.size() < need) buf_.resize(need);  // a record larger than the buffer
    base_ = buf_.data();
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
    const std::uint8_t* h = base_ + buf_pos_;
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
    h = base_ + buf_pos_;  // fill() may have moved the bytes
    const std::uint32_t sec = load_u32(h, swapped_);
    const std::uint32_t frac = load_u32(h + 4, swapped_);
    frame.data = h + pcap_record_header_size;
    frame.caplen = caplen;
    frame.link = link_;
    frame.time_us = static_cast<std::int64_t>(sec) * 1'000'000 +
                    static_cast<std::int64_t>(nanoseconds_ ? frac / 1000 : frac);
    frame_offset_ = buf_offset_ + buf_pos_;
    buf_pos_ += pcap_record_header_size + caplen;
    return capture_status::frame;
}

capture_status capture_reader::pcapng_block_failed(capture_status st, std::uint64_t at,
                                                   std::string why) {
    error_at_ = at;
    error_ = std::move(why);
    return st;
}

// Blocks are read whole (the length at both ends checked) before anything in them is
// believed. A block with impossible fields of its own is skipped and reported: its lengths
// say where the next one starts. A length that cannot be right, or a file that ends inside
// a block, ends the file.
capture_status capture_reader::next_pcapng(capture_frame& frame) {
    error_.clear();  // a skipped block's reason is not a read error
    for (;;) {
        const std::uint64_t at = buf_offset_ + buf_pos_;
        if (!fill(8)) {
            const std::size_t left = buf_len_ - buf_pos_;
            if (!error_.empty()) return pcapng_block_failed(capture_status::error, at, error_);
            if (left == 0) return capture_status::end;
            return pcapng_block_failed(
                capture_status::truncated, at,
                "truncated pcapng block header: " + std::to_string(left) + " of 8 bytes");
        }
        const std::uint8_t* b = base_ + buf_pos_;
        std::uint32_t type;
        std::memcpy(&type, b, 4);  // the section header's type reads alike in both orders
        if (type == ng_section_header) {
            if (!fill(12))
                return pcapng_block_failed(capture_status::truncated, at,
                                           "truncated pcapng section header block");
            b = base_ + buf_pos_;
            const std::uint32_t magic = load_u32(b + 8, false);
            if (magic != ng_byte_order_magic && magic != __builtin_bswap32(ng_byte_order_magic))
                return pcapng_block_failed(capture_status::error, at,
                                           "pcapng section header without its byte-order magic");
            swapped_ = magic != ng_byte_order_magic;
        } else {
            type = load_u32(b, swapped_);
            if (!in_section_)
                return pcapng_block_failed(capture_status::error, at,
                                           "pcapng block of type " + std::to_string(type) +
                                               " before any section header block");
        }
        const std::uint32_t len = load_u32(b + 4, swapped_);
        if (len < 12 || len % 4 != 0 || len > ng_max_block)
            return pcapng_block_failed(capture_status::error, at,
                                       "pcapng block of type " + std::to_string(type) +
                                           " with an impossible length " + std::to_string(len) +
                                           " (a multiple of 4 from 12 to " +
                                           std::to_string(ng_max_block) + ")");
        if (!fill(len)) {
            if (!error_.empty()) return pcapng_block_failed(capture_status::error, at, error_);
            return pcapng_block_failed(capture_status::truncated, at,
                                       "truncated pcapng block of type " + std::to_string(type) +
                                           ": " + std::to_string(buf_len_ - buf_pos_) + " of " +
                                           std::to_string(len) + " bytes");
        }
        b = base_ + buf_pos_;
        if (load_u32(b + len - 4, swapped_) != len)
            return pcapng_block_failed(capture_status::error, at,
                                       "pcapng block of type " + std::to_string(type) +
                                           " whose trailing length differs from its length " +
                                           std::to_string(len));
        buf_pos_ += len;  // from here on the block is read: the next one starts there
        const std::uint8_t* body = b + 8;
        const std::size_t body_len = len - 12;
        switch (type) {
            case ng_section_header: {
                if (body_len < 16)
                    return pcapng_block_failed(capture_status::error, at,
                                               "pcapng section header block of " +
                                                   std::to_string(len) +
                                                   " bytes, shorter than its fields (28 bytes)");
                if (load_u16(body + 4, swapped_) != 1)
                    return pcapng_block_failed(capture_status::error, at,
                                               "pcapng section of an unsupported version");
                in_section_ = true;
                interfaces_.clear();
                continue;
            }
            case ng_interface: {
                pcapng_interface ifc;
                const std::size_t id = interfaces_.size();
                if (body_len < 8) {
                    interfaces_.push_back(ifc);  // keeps the later interfaces' numbers
                    return pcapng_block_failed(capture_status::bad_interface, at,
                                               "pcapng interface " + std::to_string(id) +
                                                   ": block too short; its packets are skipped");
                }
                const int linktype = load_u16(body, swapped_);
                ifc.link = link_kind_of_linktype(linktype);
                ifc.snaplen = load_u32(body + 4, swapped_);
                for (std::size_t o = 8; o + 4 <= body_len;) {
                    const std::uint16_t code = load_u16(body + o, swapped_);
                    const std::size_t olen = load_u16(body + o + 2, swapped_);
                    if (code == 0 || o + 4 + olen > body_len) break;  // end of options
                    const std::uint8_t* v = body + o + 4;
                    if (code == ng_option_tsresol && olen >= 1) {
                        ifc.binary_resolution = (v[0] & 0x80) != 0;
                        ifc.resolution = v[0] & 0x7F;
                    } else if (code == ng_option_tsoffset && olen >= 8) {
                        std::uint64_t off;
                        std::memcpy(&off, v, 8);
                        if (swapped_) off = __builtin_bswap64(off);
                        ifc.offset_s = static_cast<std::int64_t>(off);
                    }
                    o += 4 + (olen + 3) / 4 * 4;
                }
                // Beyond 10^-19 s or 2^-63 s a unit no longer fits the arithmetic: taken as
                // the nearest that does (no capture tool writes such a resolution).
                if (ifc.resolution > (ifc.binary_resolution ? 63 : 19))
                    ifc.resolution = ifc.binary_resolution ? 63 : 19;
                // A tsoffset past any real clock would only overflow the seconds.
                ifc.offset_s = std::clamp<std::int64_t>(ifc.offset_s, -(std::int64_t{1} << 40),
                                                        std::int64_t{1} << 40);
                interfaces_.push_back(ifc);
                if (ifc.link == link_kind::unknown) {
                    // LINKTYPE_ values from 104 on are the DLT_ values libpcap names.
                    const char* name =
                        linktype >= 104 ? pcap_datalink_val_to_name(linktype) : nullptr;
                    return pcapng_block_failed(
                        capture_status::bad_interface, at,
                        "pcapng interface " + std::to_string(id) +
                            " has the unsupported link type " + std::to_string(linktype) +
                            (name ? std::string(" (") + name + ")" : std::string()) +
                            "; its packets are skipped");
                }
                continue;
            }
            case ng_enhanced_packet:
            case ng_old_packet: {
                if (body_len < 20)
                    return pcapng_block_failed(capture_status::bad_block, at,
                                               "pcapng packet block too short for its header");
                const std::uint32_t id = type == ng_enhanced_packet ? load_u32(body, swapped_)
                                                                    : load_u16(body, swapped_);
                const std::uint64_t units = (std::uint64_t{load_u32(body + 4, swapped_)} << 32) |
                                            load_u32(body + 8, swapped_);
                const std::uint32_t caplen = load_u32(body + 12, swapped_);
                if (caplen > body_len - 20)
                    return pcapng_block_failed(capture_status::bad_block, at,
                                               "pcapng packet block whose captured length " +
                                                   std::to_string(caplen) + " exceeds the block");
                if (id >= interfaces_.size())
                    return pcapng_block_failed(capture_status::bad_block, at,
                                               "pcapng packet block of interface " +
                                                   std::to_string(id) + ", which is not described");
                const pcapng_interface& ifc = interfaces_[id];
                frame.data = body + 20;
                frame.caplen = caplen;
                frame.link = ifc.link;
                frame.time_us =
                    pcapng_time_us(units, ifc.binary_resolution, ifc.resolution, ifc.offset_s);
                frame_offset_ = at;
                return capture_status::frame;
            }
            case ng_simple_packet: {
                if (body_len < 4 || interfaces_.empty())
                    return pcapng_block_failed(capture_status::bad_block, at,
                                               "pcapng simple packet block without an interface");
                // No time stamp: counted as a packet, never a SYN (what libpcap did, a stamp of
                // zero, would have put the SYN in 1970).
                std::size_t caplen = std::min<std::size_t>(load_u32(body, swapped_), body_len - 4);
                if (interfaces_[0].snaplen)
                    caplen = std::min<std::size_t>(caplen, interfaces_[0].snaplen);
                frame.data = body + 4;
                frame.caplen = caplen;
                frame.link = link_kind::unknown;
                frame.time_us = 0;
                frame_offset_ = at;
                return capture_status::frame;
            }
            default:  // statistics, name resolution, secrets, custom blocks
                continue;
        }
    }
}

std::unique_ptr<capture_reader> capture_reader::open_file(const std::string& path,
                                                          std::uint64_t resume_offset,
                                                          std::string& error, file_reading how) {
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
    const bool pcapng =
        have_magic && magic[0] == 0x0A && magic[1] == 0x0D && magic[2] == 0x0D && magic[3] == 0x0A;
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap* h = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!h && !pcapng) {
        std::fclose(f);
        error = std::string("not a pcap/pcapng capture: ") + errbuf;
        return nullptr;
    }
    std::unique_ptr<capture_reader> r(new capture_reader());
    r->handle_ = h;
    r->file_ = f;
    r->pcapng_ = pcapng;
    r->reading_ = how;
    // pcapng is read by our own code, block by block, each frame with its interface's link
    // type: libpcap's opening checks (the first interface's link type and options, an
    // interface block before the first packet) would refuse a whole file for one block our
    // reader reports and skips (a USB interface listed first, say). It is read from the
    // start: checkpoints name its frames by number.
    if (pcapng) {
        if (h) r->link_ = link_kind_of_dlt(pcap_datalink(h));
        if (!r->open_descriptor(0)) {
            error = std::string("cannot read: ") + std::strerror(errno);
            return nullptr;
        }
        return r;
    }
    const int dlt = pcap_datalink(h);
    r->link_ = link_kind_of_dlt(dlt);
    if (r->link_ == link_kind::unknown) {
        const char* name = pcap_datalink_val_to_name(dlt);
        error = "unsupported link type " + std::to_string(dlt) + " (" + (name ? name : "?") +
                "); supported: Ethernet, Linux SLL, Linux SLL2, raw IP, BSD loopback";
        return nullptr;
    }
    if (r->open_classic(resume_offset)) return r;
    if (resume_offset > 0) {
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
    const std::string filter = sensor_bpf_filter(smtp_port, r->link_);
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
    if (fd_ >= 0) return pcapng_ ? next_pcapng(frame) : next_buffered(frame);
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    if (!live_) frame_offset_ = offset();  // libpcap reads the next record from here
    const int rc = pcap_next_ex(handle_, &hdr, &data);
    if (rc == 1) {
        frame.data = data;
        frame.caplen = hdr->caplen;
        frame.link = link_;
        // Kept to the classic format's 32-bit seconds, as for pcapng.
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

std::uint64_t capture_reader::direct_bytes() const {
    return direct_bytes_ + (direct_ ? direct_->bytes() : 0);
}

std::uint64_t capture_reader::frame_offset() const {
    return frame_offset_;
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
