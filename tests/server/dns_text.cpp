// Test helpers: build queries and render responses as stable text with ldns.
#include "dns_text.h"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "v6bl/store/prefix.h"

// ldns last: its headers define macros (false, true) that break <optional>.
#include <ldns/ldns.h>

namespace v6bl::server::test {
namespace {

struct pkt_free {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using pkt_ptr = std::unique_ptr<ldns_pkt, pkt_free>;

std::string rr_text(const ldns_rr* rr) {
    char* s = ldns_rr2str(rr);
    std::string out = s ? s : "?";
    free(s);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    std::replace(out.begin(), out.end(), '\t', ' ');
    return out;
}

void section(std::string& out, const char* tag, const ldns_rr_list* list) {
    std::vector<std::string> lines;
    for (std::size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i)
        lines.push_back(std::string(tag) + " " + rr_text(ldns_rr_list_rr(list, i)));
    std::sort(lines.begin(), lines.end());
    for (const auto& l : lines) out += "\n" + l;
}

}  // namespace

std::string expand_name(const std::string& spec, const std::string& zone) {
    if (spec.empty() || spec[0] != '@') return spec;
    const std::string text = spec.substr(1);
    const bool is_prefix = text.find('/') != std::string::npos;
    auto p = store::parse_prefix(text, false);
    if (!p) throw std::runtime_error("bad address in test: " + text);
    if (!is_prefix) p->length = 128;
    static constexpr char hex[] = "0123456789abcdef";
    std::string name;
    for (int i = p->length / 4 - 1; i >= 0; --i) {
        const std::uint8_t byte = p->address[static_cast<std::size_t>(i / 2)];
        name.push_back(hex[(i % 2 == 0) ? (byte >> 4) : (byte & 0x0f)]);
        name.push_back('.');
    }
    return name + zone + ".";
}

std::vector<std::uint8_t> make_query(const std::string& name, const std::string& type,
                                     const query_options& opts) {
    ldns_rdf* owner = ldns_dname_new_frm_str(name.c_str());
    if (!owner) throw std::runtime_error("bad name in test: " + name);
    const ldns_rr_type t = ldns_get_rr_type_by_name(type.c_str());
    if (t == 0 && type != "TYPE0") throw std::runtime_error("bad type in test: " + type);
    std::uint16_t flags = 0;
    if (opts.rd) flags |= LDNS_RD;
    if (opts.cd) flags |= LDNS_CD;
    pkt_ptr pkt(ldns_pkt_query_new(owner, t, static_cast<ldns_rr_class>(opts.qclass), flags));
    ldns_pkt_set_id(pkt.get(), opts.id);
    if (opts.edns) {
        ldns_pkt_set_edns_udp_size(pkt.get(), opts.bufsize);
        ldns_pkt_set_edns_version(pkt.get(), opts.edns_version);
        ldns_pkt_set_edns_do(pkt.get(), opts.dnssec_ok);
        // ldns writes an OPT only when it sees a non-default EDNS field.
        if (opts.bufsize == 0 && !opts.dnssec_ok && opts.edns_version == 0)
            ldns_pkt_set_edns_udp_size(pkt.get(), 512);
    }
    std::uint8_t* wire = nullptr;
    std::size_t size = 0;
    if (ldns_pkt2wire(&wire, pkt.get(), &size) != LDNS_STATUS_OK)
        throw std::runtime_error("ldns_pkt2wire failed");
    std::vector<std::uint8_t> out(wire, wire + size);
    free(wire);
    return out;
}

std::string describe_response(std::span<const std::uint8_t> response) {
    if (response.empty()) return "drop";
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, response.data(), response.size()) != LDNS_STATUS_OK)
        return "unparsable";
    pkt_ptr pkt(raw);
    std::string out;
    std::uint16_t rcode = ldns_pkt_get_rcode(pkt.get());
    if (ldns_pkt_edns(pkt.get()))
        rcode = static_cast<std::uint16_t>(rcode | (ldns_pkt_edns_extended_rcode(pkt.get()) << 4));
    if (rcode == 16) {
        out = "BADVERS";
    } else {
        const ldns_lookup_table* lt = ldns_lookup_by_id(ldns_rcodes, rcode);
        out = lt ? lt->name : ("RCODE" + std::to_string(rcode));
    }
    if (ldns_pkt_get_opcode(pkt.get()) != LDNS_PACKET_QUERY)
        out += " opcode=" + std::to_string(static_cast<int>(ldns_pkt_get_opcode(pkt.get())));
    if (ldns_pkt_qr(pkt.get())) out += " qr";
    if (ldns_pkt_aa(pkt.get())) out += " aa";
    if (ldns_pkt_tc(pkt.get())) out += " tc";
    if (ldns_pkt_rd(pkt.get())) out += " rd";
    if (ldns_pkt_ra(pkt.get())) out += " ra";
    if (ldns_pkt_ad(pkt.get())) out += " ad";
    if (ldns_pkt_cd(pkt.get())) out += " cd";
    out += " qd=" + std::to_string(ldns_pkt_qdcount(pkt.get()));
    if (ldns_pkt_edns(pkt.get())) {
        out += "\nedns udp=" + std::to_string(ldns_pkt_edns_udp_size(pkt.get()));
        if (ldns_pkt_edns_do(pkt.get())) out += " do";
        if (ldns_pkt_edns_version(pkt.get()) != 0)
            out += " version=" + std::to_string(ldns_pkt_edns_version(pkt.get()));
    }
    section(out, "an", ldns_pkt_answer(pkt.get()));
    section(out, "ns", ldns_pkt_authority(pkt.get()));
    section(out, "ar", ldns_pkt_additional(pkt.get()));
    return out;
}

std::vector<std::uint8_t> from_hex(const std::string& hex) {
    std::vector<std::uint8_t> out;
    int hi = -1;
    for (char c : hex) {
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<std::uint8_t>(hi * 16 + v));
            hi = -1;
        }
    }
    return out;
}

}  // namespace v6bl::server::test
