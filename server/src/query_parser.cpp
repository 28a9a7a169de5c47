// The query parser: header, question and EDNS OPT of an untrusted DNS query, every length checked.
#include "query_parser.h"

#include "v6bl/server/answer.h"
#include "wire_buffer.h"

namespace v6bl::server {
namespace {

// Compression pointers one message may have followed, in all its names. Each must point
// strictly backward, so they cannot loop, but a chain of them can be long: a 64 KiB NOTIFY of
// 10,000 questions, each a pointer to the one before, cost 72 ms of a thread when every hop
// was followed (helper-52). A real message follows a few per name.
constexpr int max_pointer_hops = 256;

// Skips a name in a record after the question. Compression pointers are followed to check
// the name, at most `hops_left` of them (counted down) in the whole message.
bool skip_record_name(wire_reader& r, int& hops_left) {
    const auto data = r.data();
    std::size_t at = r.pos();
    std::size_t end = 0;   // where the name ends in the record: after its first pointer
    std::size_t size = 1;  // decompressed wire size, root label included
    for (;;) {
        if (at >= data.size()) return false;
        const std::uint8_t len = data[at];
        if (len == 0) break;
        if ((len & 0xc0) == 0xc0) {
            if (at + 1 >= data.size()) return false;
            const std::size_t target = ((len & 0x3fu) << 8) | data[at + 1];
            if (target >= at || --hops_left < 0) return false;
            if (end == 0) end = at + 2;
            at = target;
            continue;
        }
        if (len > 63) return false;
        size += 1u + len;
        if (size > dns::max_name_size) return false;
        at += 1u + len;
    }
    return r.skip((end != 0 ? end : at + 1) - r.pos());
}

// The client's SOA that an IXFR query carries in its authority section (RFC 1995 3).
bool skip_ixfr_soa(wire_reader& r, int& hops_left) {
    if (!skip_record_name(r, hops_left)) return false;
    const std::uint16_t type = r.u16();
    r.u16();  // class
    r.u32();  // TTL
    const std::uint16_t rdlen = r.u16();
    const std::size_t start = r.pos();
    if (r.failed() || type != dns::type_soa || !skip_record_name(r, hops_left) ||
        !skip_record_name(r, hops_left) || !r.skip(20))
        return false;
    return r.pos() - start == rdlen;
}

// Another opcode (NOTIFY, UPDATE, ...) is NOTIMP whatever it holds; the message is read
// generically (questions, then records of any section, names possibly compressed) only to
// find its OPT, so that an EDNS request gets an EDNS answer (RFC 6891 6.1.1). A message that
// does not read to its end, or holds no OPT or several, gets none.
void find_opt(wire_reader& r, std::size_t questions, std::size_t records, std::size_t additional,
              parsed_query& q) {
    int hops_left = max_pointer_hops;
    for (std::size_t i = 0; i < questions; ++i)
        if (!skip_record_name(r, hops_left) || !r.skip(4)) return;
    for (std::size_t i = 0; i < records; ++i) {
        if (!skip_record_name(r, hops_left) || !r.skip(8)) return;
        const std::uint16_t len = r.u16();
        if (r.failed() || !r.skip(len)) return;
    }
    int opts = 0;
    parsed_query found;
    for (std::size_t i = 0; i < additional; ++i) {
        const bool root = r.remaining() > 0 && r.data()[r.pos()] == 0;
        if (!skip_record_name(r, hops_left)) return;
        const std::uint16_t type = r.u16();
        const std::uint16_t klass = r.u16();
        const std::uint32_t ttl = r.u32();
        const std::uint16_t len = r.u16();
        if (r.failed() || !r.skip(len)) return;
        if (type != dns::type_opt) continue;
        if (!root || ++opts > 1) return;
        found.opt_udp_size = klass;
        found.opt_version = static_cast<std::uint8_t>(ttl >> 16);
        found.opt_do = (ttl & 0x8000u) != 0;
    }
    if (opts != 1 || r.remaining() != 0) return;
    q.has_opt = true;
    q.opt_udp_size = found.opt_udp_size;
    q.opt_version = found.opt_version;
    q.opt_do = found.opt_do;
}

}  // namespace

parse_status parse_query(std::span<const std::uint8_t> packet, parsed_query& q) {
    if (packet.size() < dns::header_size) return parse_status::drop;
    wire_reader r(packet);
    q.id = r.u16();
    q.flags1 = r.u8();
    q.flags2 = r.u8();
    if (q.flags1 & 0x80) return parse_status::drop;
    q.opcode = static_cast<std::uint8_t>((q.flags1 >> 3) & 0x0f);
    const std::uint16_t qdcount = r.u16();
    const std::uint16_t ancount = r.u16();
    const std::uint16_t nscount = r.u16();
    const std::uint16_t arcount = r.u16();
    q.has_opt = false;
    if (q.opcode != 0) {
        find_opt(r, qdcount, ancount + nscount, arcount, q);
        return parse_status::notimp;
    }
    // Only an IXFR has an authority record (its SOA), checked after the question.
    if (qdcount != 1 || ancount != 0 || nscount > 1) return parse_status::formerr;

    // Question name: no compression (nothing precedes it to point at), lower-cased copy.
    q.qname_size = 0;
    q.labels = 0;
    for (;;) {
        const std::uint8_t len = r.u8();
        if (r.failed()) return parse_status::formerr;
        if (len == 0) {
            q.qname[q.qname_size++] = 0;
            break;
        }
        if (len > 63) return parse_status::formerr;
        if (q.qname_size + 1u + len + 1u > dns::max_name_size) return parse_status::formerr;
        if (len > r.remaining()) return parse_status::formerr;
        q.label_at[q.labels++] = static_cast<std::uint8_t>(q.qname_size);
        q.qname[q.qname_size++] = len;
        const std::uint8_t* src = packet.data() + r.pos();
        for (std::size_t i = 0; i < len; ++i) {
            const std::uint8_t c = src[i];
            q.qname[q.qname_size++] =
                (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c;
        }
        r.skip(len);
    }
    q.qtype = r.u16();
    q.qclass = r.u16();
    if (r.failed()) return parse_status::formerr;
    q.question_end = r.pos();
    int hops_left = max_pointer_hops;
    if (nscount == 1 && (q.qtype != dns::type_ixfr || !skip_ixfr_soa(r, hops_left)))
        return parse_status::formerr;

    // Additional section: a query may carry one OPT (owner root) and a TSIG, which must be
    // the last record (RFC 8945 5.1); anything else is refused as malformed rather than
    // half-read.
    if (arcount > 2) return parse_status::formerr;
    q.tsig_at = 0;
    for (std::uint16_t i = 0; i < arcount; ++i) {
        const std::size_t record_at = r.pos();
        const bool root = r.remaining() > 0 && packet[record_at] == 0;
        if (!skip_record_name(r, hops_left)) return parse_status::formerr;
        const std::uint16_t type = r.u16();
        const std::uint16_t klass = r.u16();
        const std::uint32_t ttl = r.u32();
        const std::uint16_t rdlen = r.u16();
        if (r.failed() || rdlen > r.remaining()) return parse_status::formerr;
        if (type == dns::type_tsig) {
            if (i + 1 != arcount) return parse_status::formerr;
            r.skip(rdlen);
            q.tsig_at = record_at;
            continue;
        }
        if (!root || type != dns::type_opt || q.has_opt) return parse_status::formerr;
        // Options (code, length, data) are ignored, but one running past the record makes
        // the OPT malformed: FORMERR (RFC 6891 7), as NSD answers.
        for (std::size_t left = rdlen; left != 0;) {
            if (left < 4) return parse_status::formerr;
            r.skip(2);
            const std::uint16_t len = r.u16();
            if (len > left - 4) return parse_status::formerr;
            r.skip(len);
            left -= 4u + len;
        }
        q.has_opt = true;
        q.opt_udp_size = klass;
        q.opt_version = static_cast<std::uint8_t>(ttl >> 16);
        q.opt_do = (ttl & 0x8000u) != 0;
    }
    if (r.remaining() != 0) {  // trailing garbage
        q.has_opt = false;
        return parse_status::formerr;
    }
    return q.tsig_at != 0 ? parse_status::signed_query : parse_status::ok;
}

}  // namespace v6bl::server
