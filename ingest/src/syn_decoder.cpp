// Frame → SYN decoding with a bounds check on every header length read from the wire.
#include "v6bl/ingest/syn_decoder.h"

#include <pcap/dlt.h>

#include <cstring>

#include "tcp_options.h"

namespace v6bl::ingest {
namespace {

constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_ipv6 = 0x86DD;
constexpr std::uint16_t ethertype_vlan = 0x8100;
constexpr std::uint16_t ethertype_qinq = 0x88A8;
constexpr std::uint8_t proto_tcp = 6;
constexpr std::uint8_t proto_ah = 51;
constexpr std::uint8_t tcp_fin = 0x01, tcp_syn = 0x02, tcp_rst = 0x04, tcp_ack = 0x10;
// IEEE 802.1Q stacks deeper than this are not seen on a sensor's link; refuse them.
constexpr int max_vlan_tags = 2;
// IPv6 extension headers we walk before giving up (a loop guard against crafted chains).
constexpr int max_ipv6_ext_headers = 8;

inline std::uint16_t be16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

// `cut`: the IP datagram was cut by the snap length (caplen < the IP length), so the TCP
// header may end in the options; what was captured of them is read.
// A cut header still names a SYN once its flags (byte 13) are in: `tcpdump -s 68` keeps 14
// bytes of TCP behind an IPv6 header on Ethernet. What was not captured reads as zero (the
// window) or absent (the options).
constexpr std::size_t tcp_flags_end = 14;

decode_status decode_tcp(const std::uint8_t* p, std::size_t len, bool cut, std::uint16_t smtp_port,
                         syn_record& out) {
    if (len < (cut ? tcp_flags_end : 20)) return decode_status::malformed;
    std::size_t data_offset = static_cast<std::size_t>(p[12] >> 4) * 4;
    if (data_offset < 20) return decode_status::malformed;
    bool options_cut = false;
    if (data_offset > len) {
        if (!cut) return decode_status::malformed;
        data_offset = len;
        options_cut = true;
    }
    const std::size_t options_captured = data_offset > 20 ? data_offset - 20 : 0;
    const std::uint8_t flags = p[13];
    if (!(flags & tcp_syn) || (flags & (tcp_ack | tcp_rst | tcp_fin)))
        return decode_status::not_syn;
    out.source_port = be16(p);
    out.dest_port = be16(p + 2);
    if (smtp_port != 0 && out.dest_port != smtp_port) return decode_status::wrong_port;
    out.window = len >= 16 ? be16(p + 14) : 0;
    out.options = 0;
    out.mss = 0;
    const std::uint8_t* options = p + 20;
    if (options_cut) {
        // What was captured is walked (for the MSS, and to refuse a malformed list), and the
        // signature says `cut`: at -s 68 an IPv4 SYN keeps its first kinds and an IPv6 one
        // none, so one macOS host read as two OSes and was never paired (helper-87). The
        // first two kinds (the OS class's) are kept when an IPv6 SYN cut by the same snap
        // length would have them too: its header is 20 bytes longer, and the MSS option
        // and the next kind take 5.
        if (options_captured > 0 &&
            !tcp_options::walk(options, options_captured, true, out.options, out.mss))
            return decode_status::malformed;
        const std::size_t as_ipv6 = out.family == ip_family::v4
                                        ? (options_captured > 20 ? options_captured - 20 : 0)
                                        : options_captured;
        out.options = cut_options | (as_ipv6 >= 5 ? out.options & 0xFFFF : 0);
        return decode_status::syn;
    }
    if (options_captured == 0) return decode_status::syn;  // no options
    // Most SYNs carry one of a few stacks' option lists: matched whole, without the walk.
    if (tcp_options::match_layout(options, options_captured, out.options, out.mss))
        return decode_status::syn;
    return tcp_options::walk(options, options_captured, false, out.options, out.mss)
               ? decode_status::syn
               : decode_status::malformed;
}

decode_status decode_ipv4(const std::uint8_t* p, std::size_t len, std::uint16_t smtp_port,
                          syn_record& out) {
    if (len < 20) return decode_status::malformed;
    if ((p[0] >> 4) != 4) return decode_status::malformed;
    const std::size_t ihl = static_cast<std::size_t>(p[0] & 0x0F) * 4;
    if (ihl < 20 || ihl > len) return decode_status::malformed;
    std::size_t total = be16(p + 2);
    if (total < ihl) return decode_status::malformed;
    const bool cut = total > len;
    if (cut) total = len;  // snaplen cut: decode what was captured
    const std::uint16_t frag = be16(p + 6);
    if ((frag & 0x1FFF) != 0) return decode_status::not_tcp;  // not the first fragment
    std::size_t off = ihl;
    if (p[9] == proto_ah) {  // IPsec AH (RFC 4302) ahead of TCP: its length is in 4-byte units
        if (off + 2 > total) return decode_status::malformed;
        const std::size_t hlen = (static_cast<std::size_t>(p[off + 1]) + 2) * 4;
        if (off + hlen > total) return decode_status::malformed;
        if (p[off] != proto_tcp) return decode_status::not_tcp;
        off += hlen;
    } else if (p[9] != proto_tcp) {
        return decode_status::not_tcp;
    }
    out.family = ip_family::v4;
    out.source = address_bytes{};
    std::memcpy(out.source.data() + 12, p + 12, 4);
    out.ttl = p[8];
    const decode_status st = decode_tcp(p + off, total - off, cut, smtp_port, out);
    return st == decode_status::syn && ipv4_no_sender(ipv4_of(out.source))
               ? decode_status::no_sender
               : st;
}

decode_status decode_ipv6(const std::uint8_t* p, std::size_t len, std::uint16_t smtp_port,
                          syn_record& out) {
    if (len < 40) return decode_status::malformed;
    if ((p[0] >> 4) != 6) return decode_status::malformed;
    std::size_t end = 40 + static_cast<std::size_t>(be16(p + 4));
    const bool cut = end > len;
    if (cut) end = len;
    std::uint8_t next = p[6];
    std::size_t off = 40;
    for (int n = 0; n < max_ipv6_ext_headers && next != proto_tcp; ++n) {
        if (next == 0 || next == 43 || next == 60) {  // hop-by-hop, routing, destination
            if (off + 2 > end) return decode_status::malformed;
            const std::size_t hlen = (static_cast<std::size_t>(p[off + 1]) + 1) * 8;
            if (off + hlen > end) return decode_status::malformed;
            next = p[off];
            off += hlen;
        } else if (next == proto_ah) {  // authentication header (RFC 4302): 4-byte units
            if (off + 2 > end) return decode_status::malformed;
            const std::size_t hlen = (static_cast<std::size_t>(p[off + 1]) + 2) * 4;
            if (off + hlen > end) return decode_status::malformed;
            next = p[off];
            off += hlen;
        } else if (next == 44) {  // fragment: only the first fragment carries the TCP header
            if (off + 8 > end) return decode_status::malformed;
            if ((be16(p + off + 2) & 0xFFF8) != 0) return decode_status::not_tcp;
            next = p[off];
            off += 8;
        } else {
            return decode_status::not_tcp;
        }
    }
    if (next != proto_tcp) return decode_status::not_tcp;
    out.family = ip_family::v6;
    std::memcpy(out.source.data(), p + 8, 16);
    out.ttl = p[7];
    const decode_status st = decode_tcp(p + off, end - off, cut, smtp_port, out);
    return st == decode_status::syn &&
                   (ipv6_in_zero_64(out.source) || ipv6_link_local_or_multicast(out.source))
               ? decode_status::no_sender
               : st;
}

decode_status decode_ip(const std::uint8_t* p, std::size_t len, std::uint16_t smtp_port,
                        syn_record& out) {
    if (len < 1) return decode_status::malformed;
    switch (p[0] >> 4) {
        case 4:
            return decode_ipv4(p, len, smtp_port, out);
        case 6:
            return decode_ipv6(p, len, smtp_port, out);
        default:
            return decode_status::malformed;
    }
}

decode_status decode_ethertype(std::uint16_t type, const std::uint8_t* p, std::size_t len,
                               std::uint16_t smtp_port, syn_record& out) {
    if (type == ethertype_ipv4) return decode_ipv4(p, len, smtp_port, out);
    if (type == ethertype_ipv6) return decode_ipv6(p, len, smtp_port, out);
    return decode_status::not_tcp;
}

// The type field at `off` (Ethernet: 12; Linux SLL: 14, where libpcap re-inserts the VLAN
// tags the kernel stripped), then up to max_vlan_tags 802.1Q/802.1ad tags.
decode_status decode_tagged(const std::uint8_t* f, std::size_t caplen, std::size_t off,
                            std::uint16_t smtp_port, syn_record& out) {
    std::uint16_t type = be16(f + off);
    for (int tags = 0; type == ethertype_vlan || type == ethertype_qinq; ++tags) {
        if (tags == max_vlan_tags || off + 6 > caplen) return decode_status::malformed;
        off += 4;
        type = be16(f + off);
    }
    off += 2;
    return decode_ethertype(type, f + off, caplen - off, smtp_port, out);
}

}  // namespace

link_kind link_kind_of_dlt(int dlt) {
    switch (dlt) {
        case DLT_EN10MB:
            return link_kind::ethernet;
        case DLT_LINUX_SLL:
            return link_kind::linux_sll;
#ifdef DLT_LINUX_SLL2
        case DLT_LINUX_SLL2:
            return link_kind::linux_sll2;
#endif
        case DLT_RAW:
        case DLT_IPV4:
        case DLT_IPV6:
            return link_kind::raw_ip;
        case 14:
            return link_kind::raw_ip;  // DLT_RAW on OpenBSD-written files
        case DLT_NULL:
        case DLT_LOOP:
            return link_kind::bsd_null;
        default:
            return link_kind::unknown;
    }
}

link_kind link_kind_of_linktype(int linktype) {
    switch (linktype) {
        case 0:    // LINKTYPE_NULL
        case 108:  // LINKTYPE_LOOP
            return link_kind::bsd_null;
        case 1:  // LINKTYPE_ETHERNET
            return link_kind::ethernet;
        case 113:  // LINKTYPE_LINUX_SLL
            return link_kind::linux_sll;
        case 276:  // LINKTYPE_LINUX_SLL2
            return link_kind::linux_sll2;
        case 101:  // LINKTYPE_RAW
        case 228:  // LINKTYPE_IPV4
        case 229:  // LINKTYPE_IPV6
        case 12:   // DLT_RAW as some systems wrote it into files
        case 14:
            return link_kind::raw_ip;
        default:
            return link_kind::unknown;
    }
}

const char* link_kind_name(link_kind k) {
    switch (k) {
        case link_kind::ethernet:
            return "ethernet";
        case link_kind::linux_sll:
            return "linux-sll";
        case link_kind::linux_sll2:
            return "linux-sll2";
        case link_kind::raw_ip:
            return "raw-ip";
        case link_kind::bsd_null:
            return "bsd-null";
        case link_kind::unknown:
            break;
    }
    return "unknown";
}

decode_status decode_syn(link_kind link, const std::uint8_t* f, std::size_t caplen,
                         std::int64_t time_us, std::uint16_t smtp_port, syn_record& out) {
    out.time_us = time_us;
    switch (link) {
        case link_kind::ethernet:
            if (caplen < 14) return decode_status::malformed;
            return decode_tagged(f, caplen, 12, smtp_port, out);
        case link_kind::linux_sll:
            if (caplen < 16) return decode_status::malformed;
            return decode_tagged(f, caplen, 14, smtp_port, out);
        case link_kind::linux_sll2:
            if (caplen < 20) return decode_status::malformed;
            return decode_ethertype(be16(f), f + 20, caplen - 20, smtp_port, out);
        case link_kind::raw_ip:
            return decode_ip(f, caplen, smtp_port, out);
        case link_kind::bsd_null: {
            if (caplen < 4) return decode_status::malformed;
            return decode_ip(f + 4, caplen - 4, smtp_port, out);
        }
        case link_kind::unknown:
            break;
    }
    return decode_status::not_tcp;
}

}  // namespace v6bl::ingest
