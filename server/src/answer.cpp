// The answer pipeline: parse -> resolve -> write, one pure function over bytes and a view.
#include "v6bl/server/answer.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <string>

#include "name_resolver.h"
#include "query_parser.h"
#include "v6bl/zones/signed_query.h"
#include "wire_buffer.h"

namespace v6bl::server {
namespace {

constexpr std::uint8_t flag_qr = 0x80;
constexpr std::uint8_t flag_aa = 0x04;
constexpr std::uint8_t flag_tc = 0x02;
constexpr std::uint8_t flag_rd = 0x01;
constexpr std::uint8_t flag_cd = 0x10;  // in header byte 3

// The sections an answer is made of, decided before anything is written.
enum class answer_rrs : std::uint8_t { none, a, txt, soa, ns, glue };

struct answer_plan {
    std::uint8_t rcode = dns::rcode_noerror;
    bool aa = true;
    answer_rrs answer = answer_rrs::none;
    bool authority_ns = false;     // positive answers carry the zone's NS (as NSD does)
    bool authority_soa = false;    // negative answers carry the SOA with the negative TTL
    bool additional_glue = false;  // with an NS RRset: the in-zone NS names' addresses
    std::uint16_t glue_type = 0;   // answer_rrs::glue: A or AAAA
    bool ext_badvers = false;
};

class response_builder {
  public:
    response_builder(std::span<std::uint8_t> out, std::size_t limit, const parsed_query& q,
                     std::span<const std::uint8_t> query, const answer_zone& zone,
                     std::uint32_t serial, std::size_t zone_offset)
        : w_(out, limit),
          q_(q),
          query_(query),
          zone_(zone),
          serial_(serial),
          zone_ptr_(static_cast<std::uint16_t>(0xc000 | (dns::header_size + zone_offset))) {}

    // Header with zero counts; counts are patched as records go in.
    void header(std::uint8_t rcode, bool aa, bool tc, bool with_question) {
        w_.u16(q_.id);
        std::uint8_t f1 =
            static_cast<std::uint8_t>(flag_qr | (q_.opcode << 3) | (q_.flags1 & flag_rd));
        if (aa) f1 |= flag_aa;
        if (tc) f1 |= flag_tc;
        w_.u8(f1);
        w_.u8(static_cast<std::uint8_t>((q_.flags2 & flag_cd) | (rcode & 0x0f)));
        w_.u16(with_question ? 1 : 0);
        w_.u16(0);
        w_.u16(0);
        w_.u16(0);
        if (with_question)
            w_.bytes(query_.data() + dns::header_size, q_.question_end - dns::header_size);
    }

    void a_record(std::uint32_t ttl, std::uint8_t code) {
        rr_head(0xc000 | dns::header_size, dns::type_a, ttl);
        w_.u16(4);
        const std::uint8_t addr[4] = {127, 0, 0, code};
        w_.bytes(addr, 4);
    }
    void txt_record(std::uint16_t owner, std::uint32_t ttl, const std::string& text) {
        const std::size_t len = std::min<std::size_t>(text.size(), 255);
        rr_head(owner, dns::type_txt, ttl);
        w_.u16(static_cast<std::uint16_t>(len + 1));
        w_.u8(static_cast<std::uint8_t>(len));
        w_.bytes(reinterpret_cast<const std::uint8_t*>(text.data()), len);
    }
    void soa_record(std::uint32_t ttl) {
        const auto& c = zone_.config();
        rr_head(zone_ptr_, dns::type_soa, ttl);
        const std::size_t rdlen_at = w_.pos();
        w_.u16(0);
        const std::size_t start = w_.pos();
        name(zone_.soa_mname());
        name(zone_.soa_rname());
        w_.u32(serial_);
        w_.u32(c.soa_refresh);
        w_.u32(c.soa_retry);
        w_.u32(c.soa_expire);
        w_.u32(c.soa_minimum);
        w_.patch_u16(rdlen_at, static_cast<std::uint16_t>(w_.pos() - start));
    }
    void ns_records() {
        for (const auto& ns : zone_.ns_names()) {
            rr_head(zone_ptr_, dns::type_ns, zone_.config().ns_ttl);
            const std::size_t rdlen_at = w_.pos();
            w_.u16(0);
            const std::size_t start = w_.pos();
            name(ns);
            w_.patch_u16(rdlen_at, static_cast<std::uint16_t>(w_.pos() - start));
        }
    }
    // The question's own glue records of one type, in the answer (owner = the question).
    void glue_answer(std::uint16_t type) {
        for (const auto& g : zone_.glue()) {
            if (g.type != type || !names_equal(g)) continue;
            rr_head(0xc000 | dns::header_size, g.type, zone_.config().ns_ttl);
            w_.u16(g.rdlen);
            w_.bytes(g.rdata.data(), g.rdlen);
        }
    }
    // The additional section's glue as NSD writes it: every A, then every AAAA, each in the
    // NS RRset's order; a record that does not fit with `reserve` bytes left over (the OPT)
    // is left out and the next tried (optional data, RFC 2181 9; helper-94: the whole
    // section was left out, where NSD kept what fit). `only_type` names the RRset already
    // in the answer (of the question's name), which is not repeated, as NSD does.
    void glue_additional(std::uint16_t only_type, std::size_t reserve) {
        // (what came before did not fit: the caller retries with less; a rewind here would
        // hide that)
        if (w_.overflow()) return;
        const auto& names_ns = zone_.ns_names();
        for (const std::uint16_t type : {dns::type_a, dns::type_aaaa}) {
            for (std::size_t k = 0; k < names_ns.size(); ++k) {
                const auto& ns = names_ns[k];
                // an NS name given twice has its glue once
                if (std::any_of(names_ns.begin(), names_ns.begin() + static_cast<std::ptrdiff_t>(k),
                                [&](const auto& earlier) { return same_name(earlier, ns); }))
                    continue;
                for (const auto& g : zone_.glue()) {
                    if (g.type != type || !same_name(g.owner, ns)) continue;
                    if (only_type != 0 && g.type == only_type && names_equal(g)) continue;
                    const std::size_t at = w_.pos(), names = written_count_;
                    name(g.owner);
                    w_.u16(g.type);
                    w_.u16(dns::class_in);
                    w_.u32(zone_.config().ns_ttl);
                    w_.u16(g.rdlen);
                    w_.bytes(g.rdata.data(), g.rdlen);
                    if (w_.overflow() || w_.left() < reserve) {
                        w_.rewind(at);
                        written_count_ = names;
                        continue;
                    }
                    ++count_;
                }
            }
        }
    }
    void opt_record(bool badvers) {
        w_.u8(0);
        w_.u16(dns::type_opt);
        w_.u16(std::max<std::uint16_t>(zone_.config().edns_udp_size, 512));
        std::uint32_t ttl = badvers ? (1u << 24) : 0u;  // BADVERS = 16: upper 8 bits of 12
        if (q_.opt_do) ttl |= 0x8000u;
        w_.u32(ttl);
        w_.u16(0);
        ++count_;
    }

    // Ends a section: writes its count at `index` (0 = answer, 1 = authority, 2 = additional).
    void end_section(int index) {
        w_.patch_u16(6 + 2 * static_cast<std::size_t>(index), static_cast<std::uint16_t>(count_));
        count_ = 0;
    }

    wire_writer& writer() { return w_; }

  private:
    bool names_equal(const answer_zone::glue_record& g) const {
        return g.name.size() == q_.qname_size &&
               std::equal(g.name.begin(), g.name.end(), q_.qname.begin());
    }
    void rr_head(std::uint16_t owner_ptr, std::uint16_t type, std::uint32_t ttl) {
        w_.u16(owner_ptr);
        w_.u16(type);
        w_.u16(dns::class_in);
        w_.u32(ttl);
        ++count_;
    }
    // A name written before in this message is a pointer to it (RFC 1035 4.1.4): an NS
    // name that is also the SOA's MNAME, a glue record's owner after the NS RRset, as NSD
    // compresses them (written out again, three glue records took 12 bytes more and passed
    // 512 sooner, where the additional section is dropped).
    void name(const answer_zone::name_wire& n) {
        if (n.labels.empty()) {  // the zone itself, or the root
            if (n.under_zone)
                w_.u16(zone_ptr_);
            else
                w_.u8(0);
            return;
        }
        for (std::size_t i = 0; i < written_count_; ++i)
            if (same_name(*written_[i].name, n)) {
                w_.u16(static_cast<std::uint16_t>(0xc000 | written_[i].offset));
                return;
            }
        // The question at or below the name (ns1.Z asked for, the SOA's MNAME ns1.Z): a
        // pointer into the question, in its spelling, as NSD and Knot write it (helper-94:
        // the name was written out, 4 bytes longer and in the zone's own case).
        if (const std::size_t at = question_suffix(n); at != 0) {
            w_.u16(static_cast<std::uint16_t>(0xc000 | at));
            return;
        }
        const std::size_t at = w_.pos();
        w_.bytes(n.labels.data(), n.labels.size());
        if (n.under_zone)
            w_.u16(zone_ptr_);
        else
            w_.u8(0);
        if (at < 0x4000 && written_count_ < written_.size())
            written_[written_count_++] = {&n, static_cast<std::uint16_t>(at)};
    }
    // Where in the message the question's name ends with `n` (an in-zone name), at a label
    // boundary; 0 if it does not. The question's labels before the zone are uncompressed
    // (checked by the parser) and end where zone_ptr_ points.
    std::size_t question_suffix(const answer_zone::name_wire& n) const {
        if (!n.under_zone || n.labels.empty()) return 0;
        const std::size_t begin = dns::header_size, end = zone_ptr_ & 0x3fffu;
        if (end <= begin || end > query_.size() || end - begin < n.labels.size()) return 0;
        std::size_t pos = begin;
        while (pos < end && end - pos > n.labels.size()) pos += 1 + query_[pos];
        if (pos > end || end - pos != n.labels.size()) return 0;  // not at a label boundary
        const bool same =
            std::equal(n.labels.begin(), n.labels.end(), query_.begin() + pos, same_letter);
        return same ? pos : 0;
    }
    // Names compare without regard to case (RFC 4343): an --ns-address NAME in other capitals
    // than the --ns NAME is the same name. (Length bytes are below 64: no letters.)
    static bool same_letter(std::uint8_t x, std::uint8_t y) {
        auto lower = [](std::uint8_t c) {
            return c >= 'A' && c <= 'Z' ? static_cast<std::uint8_t>(c + 32) : c;
        };
        return lower(x) == lower(y);
    }
    static bool same_name(const answer_zone::name_wire& a, const answer_zone::name_wire& b) {
        return a.under_zone == b.under_zone && a.labels.size() == b.labels.size() &&
               std::equal(a.labels.begin(), a.labels.end(), b.labels.begin(), same_letter);
    }
    struct written_name {
        const answer_zone::name_wire* name;
        std::uint16_t offset;
    };

    wire_writer w_;
    const parsed_query& q_;
    std::span<const std::uint8_t> query_;
    const answer_zone& zone_;
    std::uint32_t serial_;
    std::uint16_t zone_ptr_;
    std::size_t count_ = 0;
    // Names written out in full so far (the SOA's two, the NS names: a handful).
    std::array<written_name, 16> written_{};
    std::size_t written_count_ = 0;
};

// NSD's choices for the exported zone: ANY gets the node's first RRset only (RFC 8482), with
// no authority; A/TXT/SOA answers carry the NS RRset in authority; NS at the apex does not.
answer_plan plan_for(const resolved_name& n, std::uint16_t qtype) {
    answer_plan p;
    const bool any = qtype == dns::type_any;
    switch (n.kind) {
        case name_kind::outside:
            p.rcode = dns::rcode_refused;
            p.aa = false;
            break;
        case name_kind::apex:
            if (qtype == dns::type_soa || any) {
                p.answer = answer_rrs::soa;
                p.authority_ns = !any;
            } else if (qtype == dns::type_ns) {
                p.answer = answer_rrs::ns;
            } else {
                p.authority_soa = true;
            }
            break;
        case name_kind::listed:
            if (qtype == dns::type_a || any) {
                p.answer = answer_rrs::a;
                p.authority_ns = !any;
            } else if (qtype == dns::type_txt) {
                p.answer = answer_rrs::txt;
                p.authority_ns = true;
            } else {
                p.authority_soa = true;
            }
            break;
        case name_kind::hole:
            if (qtype == dns::type_txt || any) {
                p.answer = answer_rrs::txt;
                p.authority_ns = !any;
            } else {
                p.authority_soa = true;
            }
            break;
        case name_kind::node:
            p.authority_soa = true;
            break;
        case name_kind::nxdomain:
            p.rcode = dns::rcode_nxdomain;
            p.authority_soa = true;
            break;
        case name_kind::glue:
            break;  // decided by the caller, which knows the glue types
    }
    return p;
}

answer_outcome outcome_of(name_kind k) {
    switch (k) {
        case name_kind::outside:
            return answer_outcome::refused;
        case name_kind::apex:
            return answer_outcome::apex;
        case name_kind::listed:
            return answer_outcome::listed;
        case name_kind::node:
            return answer_outcome::node;
        case name_kind::hole:
            return answer_outcome::hole;
        case name_kind::nxdomain:
            return answer_outcome::nxdomain;
        case name_kind::glue:
            return answer_outcome::apex;  // zone data of the apex's own NS names
    }
    return answer_outcome::refused;
}

std::size_t udp_limit(const parsed_query& q, const answer_zone& zone) {
    if (!q.has_opt) return dns::classic_udp_size;
    const std::size_t ours =
        std::max<std::size_t>(zone.config().edns_udp_size, dns::classic_udp_size);
    const std::size_t theirs = std::max<std::size_t>(q.opt_udp_size, dns::classic_udp_size);
    return std::min(ours, theirs);
}

// A header-only reply (FORMERR, NOTIMP): the question may not be trustworthy, so none is echoed.
// A NOTIMP to a well-formed message with an OPT carries an OPT (RFC 6891 6.1.1: a responder
// answers an EDNS request with EDNS), with our UDP size and the DO bit echoed (RFC 3225 3).
answer_result header_only(std::span<std::uint8_t> out, const parsed_query& q, std::uint8_t rcode,
                          answer_outcome outcome, const answer_zone& zone) {
    answer_result res;
    const bool opt = q.has_opt && rcode == dns::rcode_notimp;
    // An EDNS version we do not speak is answered BADVERS whatever the opcode (RFC 6891
    // 6.1.3), as for a query.
    const bool badvers = opt && q.opt_version != 0;
    if (badvers) {
        rcode = 0;
        outcome = answer_outcome::badvers;
    }
    res.outcome = outcome;
    res.rcode = rcode;
    if (out.size() < dns::header_size + (opt ? 11u : 0u)) return res;
    wire_writer w(out, out.size());
    w.u16(q.id);
    w.u8(static_cast<std::uint8_t>(flag_qr | (q.flags1 & 0x78) | (q.flags1 & flag_rd)));
    w.u8(static_cast<std::uint8_t>((q.flags2 & flag_cd) | rcode));
    for (int i = 0; i < 3; ++i) w.u16(0);
    w.u16(opt ? 1 : 0);
    if (opt) {
        w.u8(0);
        w.u16(dns::type_opt);
        w.u16(std::max<std::uint16_t>(zone.config().edns_udp_size, 512));
        w.u32((badvers ? 1u << 24 : 0u) | (q.opt_do ? 0x8000u : 0u));
        w.u16(0);
    }
    res.size = w.pos();
    return res;
}

// A TSIG-signed query (RFC 8945): checked against the zone's keys (--transfer-tsig) and
// answered as the same query unsigned, the answer signed with the request's key; a failed
// check gets NOTAUTH with the TSIG error. Rare (secondaries' refresh checks, dig -y), so
// this path may allocate.
answer_result answer_signed(std::span<const std::uint8_t> query, std::span<std::uint8_t> out,
                            const answer_context& ctx, const parsed_query& q) {
    answer_result inner;
    const zones::signed_query_result s = zones::answer_signed_query(
        ctx.zone->config(), ctx.zone->tsig_keys(), query, q.tsig_at, out,
        static_cast<std::uint64_t>(std::time(nullptr)),
        [&](std::span<const std::uint8_t> bare, std::size_t reserve) {
            answer_context unsigned_ctx = ctx;
            unsigned_ctx.reserve = reserve;
            inner = answer_query(bare, out, unsigned_ctx);
            return inner.outcome == answer_outcome::transfer ? std::size_t{0} : inner.size;
        });
    answer_result res;
    res.qtype = q.qtype;
    switch (s.status) {
        case zones::signed_query_status::formerr:
            return header_only(out, q, dns::rcode_formerr, answer_outcome::formerr, *ctx.zone);
        case zones::signed_query_status::answered:
            inner.size = inner.outcome == answer_outcome::transfer ? 0 : s.size;
            inner.tsig = tsig_outcome::verified;
            return inner;
        case zones::signed_query_status::badkey:
            res.tsig = tsig_outcome::badkey;
            break;
        case zones::signed_query_status::badsig:
        case zones::signed_query_status::badtrunc:  // counted with bad MACs
            res.tsig = tsig_outcome::badsig;
            break;
        case zones::signed_query_status::badtime:
            res.tsig = tsig_outcome::badtime;
            break;
    }
    res.outcome = answer_outcome::notauth;
    res.rcode = dns::rcode_notauth;
    res.size = s.size;
    // Over UDP no larger than the client takes (RFC 1035 4.2.1, RFC 6891 6.2.3): a long
    // question and key name made a 776-byte NOTAUTH to a query without EDNS (helper-52).
    // The header alone then, TC set: the client asks again over TCP.
    if (ctx.transport == transport_kind::udp && res.size > udp_limit(q, *ctx.zone)) {
        out[2] |= 0x02;
        std::fill(out.begin() + 4, out.begin() + 12, std::uint8_t{0});
        res.size = dns::header_size;
        res.truncated = true;
    }
    return res;
}

}  // namespace

answer_result answer_query(std::span<const std::uint8_t> query, std::span<std::uint8_t> out,
                           const answer_context& ctx) {
    answer_result res;
    if (ctx.zone == nullptr) return res;
    parsed_query q;
    switch (parse_query(query, q)) {
        case parse_status::drop:
            return res;
        case parse_status::formerr:
            return header_only(out, q, dns::rcode_formerr, answer_outcome::formerr, *ctx.zone);
        case parse_status::notimp:
            return header_only(out, q, dns::rcode_notimp, answer_outcome::notimp, *ctx.zone);
        case parse_status::signed_query:
            return answer_signed(query, out, ctx, q);
        case parse_status::ok:
            break;
    }
    res.qtype = q.qtype;
    const answer_zone& zone = *ctx.zone;
    std::size_t limit = ctx.transport == transport_kind::udp
                            ? std::min(udp_limit(q, zone), out.size())
                            : std::min(dns::max_message_size, out.size());
    limit -= std::min(limit, ctx.reserve);
    const std::uint32_t serial = ctx.view ? ctx.view->serial() : 0;

    resolved_name n;
    answer_plan plan;
    if (ctx.source_refused) {
        // Outside the allow-query ACL: REFUSED as for a name we are not authoritative for.
        plan.rcode = dns::rcode_refused;
        plan.aa = false;
        res.outcome = answer_outcome::refused;
    } else if (q.has_opt && q.opt_version != 0) {
        plan.rcode = 0;
        plan.aa = false;
        plan.ext_badvers = true;
        res.outcome = answer_outcome::badvers;
    } else {
        n = resolve_name(q, zone, ctx.view, ctx.now);
        const bool transfer = q.qtype == dns::type_axfr || q.qtype == dns::type_ixfr;
        // QCLASS * matches the zone's IN data (the question echoed with class *, the records
        // IN), as NSD and Knot answer it; a transfer names the zone's own class.
        const bool in_class =
            q.qclass == dns::class_in || (q.qclass == dns::class_any && !transfer);
        if (!in_class) n.kind = name_kind::outside;
        res.outcome = outcome_of(n.kind);
        if (transfer && n.kind != name_kind::outside) {
            if (n.kind == name_kind::apex && ctx.transport == transport_kind::tcp &&
                ctx.transfer_enabled) {
                res.outcome = answer_outcome::transfer;
                return res;
            }
            if (n.kind == name_kind::apex && q.qtype == dns::type_ixfr &&
                ctx.transport == transport_kind::udp) {
                // RFC 1995 4: over UDP, the current SOA alone tells the client to use TCP.
                plan.answer = answer_rrs::soa;
            } else {
                plan.rcode = dns::rcode_refused;
                plan.aa = false;
                res.outcome = answer_outcome::refused;
            }
        } else if (n.kind == name_kind::glue) {
            // The NS name's own A/AAAA: ANY gets its first RRset, as NSD.
            const auto& glue = zone.glue();
            std::uint16_t want = q.qtype == dns::type_any ? glue[n.glue_index].type : q.qtype;
            bool found = false;
            for (const auto& g : glue)
                if (g.name == glue[n.glue_index].name && g.type == want) found = true;
            if (found) {
                plan.answer = answer_rrs::glue;
                plan.glue_type = want;
                plan.authority_ns = q.qtype != dns::type_any;
            } else {
                plan.authority_soa = true;
            }
        } else {
            plan = plan_for(n, q.qtype);
            // A listed name asked for a type it has none of (MX, AAAA) is answered NODATA,
            // and counted so: as `listed` it inflated the listed share (helper-89).
            if (n.kind == name_kind::listed && plan.answer == answer_rrs::none)
                res.outcome = answer_outcome::node;
        }
        // As NSD answers class *: not authoritative (a server need not hold every class of
        // a name), with no authority section, NXDOMAIN and NODATA by the rcode alone. (Knot
        // answers it as IN, with AA.)
        if (q.qclass == dns::class_any && n.kind != name_kind::outside) {
            plan.aa = false;
            plan.authority_ns = plan.authority_soa = false;
        }
        plan.additional_glue =
            !zone.glue().empty() && (plan.authority_ns || plan.answer == answer_rrs::ns);
        if (res.outcome == answer_outcome::listed)
            res.code = static_cast<std::uint8_t>(n.entry.code);
    }

    const auto& cfg = zone.config();
    // Returns the size written, or 0 when it did not fit.
    const auto build = [&](const answer_plan& p) -> std::size_t {
        response_builder b(out, limit, q, query, zone, serial, n.zone_offset);
        b.header(p.rcode, p.aa, false, true);
        switch (p.answer) {
            case answer_rrs::none:
                break;
            case answer_rrs::a:
                b.a_record(cfg.listing_ttl, static_cast<std::uint8_t>(n.entry.code));
                break;
            case answer_rrs::txt:
                if (n.kind == name_kind::hole)
                    b.txt_record(0xc000 | dns::header_size, cfg.listing_ttl,
                                 store::hole_txt(n.entry.where));
                else if (n.ipv4_test_point)
                    b.txt_record(0xc000 | dns::header_size, cfg.listing_ttl, zone.ipv4_test_txt());
                else
                    b.txt_record(0xc000 | dns::header_size, cfg.listing_ttl,
                                 store::listing_txt(n.entry, cfg.url_template));
                break;
            case answer_rrs::soa:
                b.soa_record(cfg.soa_ttl);
                break;
            case answer_rrs::ns:
                b.ns_records();
                break;
            case answer_rrs::glue:
                b.glue_answer(p.glue_type);
                break;
        }
        b.end_section(0);
        if (p.authority_ns) b.ns_records();
        if (p.authority_soa) b.soa_record(std::min(cfg.soa_ttl, cfg.soa_minimum));
        b.end_section(1);
        if (p.additional_glue)
            b.glue_additional(p.answer == answer_rrs::glue ? p.glue_type : 0,
                              q.has_opt ? dns::opt_record_size : 0);
        if (q.has_opt) b.opt_record(p.ext_badvers);
        b.end_section(2);
        return b.writer().overflow() ? 0 : b.writer().pos();
    };
    std::size_t size = build(plan);
    if (size == 0 && plan.additional_glue) {
        // Additional data goes first when the answer does not fit.
        plan.additional_glue = false;
        size = build(plan);
    }
    if (size == 0 && plan.authority_ns) {
        // The NS RRset in authority is optional data (RFC 2181 9): leave it out first.
        plan.authority_ns = false;
        size = build(plan);
    }
    if (size == 0) {
        // Too large for the client's UDP size: TC=1 with the question only (RFC 2181 9).
        response_builder t(out, limit, q, query, zone, serial, n.zone_offset);
        t.header(plan.rcode, plan.aa, true, true);
        if (q.has_opt) t.opt_record(plan.ext_badvers);
        t.end_section(2);
        if (t.writer().overflow()) return res;  // out smaller than the question: drop
        res.size = t.writer().pos();
        res.truncated = true;
    } else {
        res.size = size;
    }
    res.rcode = plan.rcode;
    return res;
}

std::size_t answer_truncate(std::span<std::uint8_t> response) {
    if (response.size() < dns::header_size || (response[2] & flag_qr) == 0) return 0;
    std::size_t end = dns::header_size;
    const std::size_t qdcount = (static_cast<std::size_t>(response[4]) << 8) | response[5];
    if (qdcount > 1) return 0;
    if (qdcount == 1) {
        // The question is the query's, checked by the parser: uncompressed labels.
        while (end < response.size() && response[end] != 0) {
            if (response[end] > 63) return 0;
            end += 1 + response[end];
        }
        end += 1 + 4;  // root label, type, class
        if (end > response.size()) return 0;
    }
    // RFC 6891 6.1.1: a response to a query with an OPT record carries one. It is found by
    // walking the records (an AAAA's address could end in bytes shaped like an OPT), then
    // moved behind the question: the slip answer is as long as the query that asked.
    auto count = [&](std::size_t at) {
        return (static_cast<std::size_t>(response[at]) << 8) | response[at + 1];
    };
    const std::size_t before_additional = count(6) + count(8),
                      records = before_additional + count(10);
    std::size_t opt_at = 0, opt_size = 0;
    for (std::size_t k = 0, i = end; k < records; ++k) {
        const std::size_t record = i;
        while (i < response.size() && response[i] != 0 && (response[i] & 0xc0) != 0xc0) {
            if (response[i] > 63) return 0;
            i += 1 + response[i];
        }
        if (i >= response.size()) return 0;
        i += response[i] == 0 ? 1 : 2;  // the root label, or a compression pointer
        if (i + 10 > response.size()) return 0;
        const std::size_t rr_end = i + 10 + count(i + 8);
        if (rr_end > response.size()) return 0;
        if (k >= before_additional && count(i) == 41) {
            opt_at = record;
            opt_size = rr_end - record;
        }
        i = rr_end;
    }
    response[2] |= flag_tc;
    for (std::size_t i = 6; i < dns::header_size; ++i) response[i] = 0;
    if (opt_size == 0) return end;
    std::memmove(response.data() + end, response.data() + opt_at, opt_size);
    response[11] = 1;
    return end + opt_size;
}

}  // namespace v6bl::server
