// ldns resource records of the exported zone: apex SOA/NS and the records of zone_record.
#include "record_rrs.h"

#include <array>
#include <stdexcept>

#include "v6bl/zones/nibble_name.h"

namespace v6bl::zones {
namespace {

ldns_rdf_ptr dname_from_text(const std::string& name) {
    ldns_rdf* rdf = ldns_dname_new_frm_str(name.c_str());
    if (!rdf) throw std::runtime_error("invalid domain name '" + name + "'");
    return ldns_rdf_ptr(rdf);
}

ldns_rr_ptr new_rr(ldns_rdf_ptr owner, ldns_rr_type type, std::uint32_t ttl) {
    ldns_rr* rr = ldns_rr_new();
    ldns_rr_set_owner(rr, owner.release());
    ldns_rr_set_type(rr, type);
    ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
    ldns_rr_set_ttl(rr, ttl);
    return ldns_rr_ptr(rr);
}

}  // namespace

std::string absolute_name(std::string_view name) {
    std::string out(name);
    if (out.empty() || out.back() != '.') out.push_back('.');
    return out;
}

std::string soa_rname_name(std::string_view rname) {
    // RFC 1035 8: the mailbox's local part is the first label, whatever it holds: a dot in it
    // is escaped (john.doe@example.org is john\.doe.example.org., not john@doe.example.org).
    const auto at = rname.find('@');
    if (at == std::string_view::npos) return absolute_name(rname);
    std::string out;
    for (const char c : rname.substr(0, at)) {
        if (c == '.' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('.');
    out.append(rname.substr(at + 1));
    return absolute_name(out);
}

ldns_rr_ptr make_soa_rr(const zone_config& config, std::uint32_t serial) {
    if (config.ns_names.empty()) throw std::runtime_error("zone config: no NS names");
    ldns_rr_ptr rr =
        new_rr(dname_from_text(absolute_name(config.zone)), LDNS_RR_TYPE_SOA, config.soa_ttl);
    ldns_rr_push_rdf(rr.get(), dname_from_text(absolute_name(config.ns_names.front())).release());
    ldns_rr_push_rdf(rr.get(), dname_from_text(soa_rname_name(config.soa_rname)).release());
    ldns_rr_push_rdf(rr.get(), ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, serial));
    for (std::uint32_t v :
         {config.soa_refresh, config.soa_retry, config.soa_expire, config.soa_minimum}) {
        ldns_rr_push_rdf(rr.get(), ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, v));
    }
    return rr;
}

std::vector<ldns_rr_ptr> make_ns_rrs(const zone_config& config) {
    std::vector<ldns_rr_ptr> out;
    for (const std::string& ns : config.ns_names) {
        ldns_rr_ptr rr =
            new_rr(dname_from_text(absolute_name(config.zone)), LDNS_RR_TYPE_NS, config.ns_ttl);
        ldns_rr_push_rdf(rr.get(), dname_from_text(absolute_name(ns)).release());
        out.push_back(std::move(rr));
    }
    return out;
}

std::vector<ldns_rr_ptr> make_glue_rrs(const zone_config& config) {
    std::vector<ldns_rr_ptr> out;
    for (const std::string& spec : config.ns_addresses) {
        // An out-of-zone NS name's glue is no zone data (serve leaves it out too).
        if (!glue_is_zone_data(config, spec)) continue;
        const auto eq = spec.find('=');
        if (eq == std::string::npos) {
            throw std::runtime_error("NS address '" + spec + "': want NAME=ADDRESS");
        }
        const std::string address = spec.substr(eq + 1);
        const bool v6 = address.find(':') != std::string::npos;
        ldns_rdf* rdf =
            ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, address.c_str());
        if (!rdf) throw std::runtime_error("NS address '" + spec + "': bad address");
        ldns_rr_ptr rr = new_rr(dname_from_text(absolute_name(spec.substr(0, eq))),
                                v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A, config.ns_ttl);
        ldns_rr_push_rdf(rr.get(), rdf);
        out.push_back(std::move(rr));
    }
    return out;
}

ldns_rdf_ptr make_txt_rdf(std::string_view text) {
    std::array<std::uint8_t, 256> wire{};
    const std::size_t len = std::min<std::size_t>(text.size(), 255);
    wire[0] = static_cast<std::uint8_t>(len);
    std::copy_n(text.begin(), len, wire.begin() + 1);
    return ldns_rdf_ptr(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, len + 1, wire.data()));
}

record_rr_builder::record_rr_builder(const zone_config& config) : listing_ttl_(config.listing_ttl) {
    ldns_rdf_ptr zone = dname_from_text(absolute_name(config.zone));
    const std::uint8_t* data = ldns_rdf_data(zone.get());
    zone_wire_.assign(data, data + ldns_rdf_size(zone.get()));
}

ldns_rdf_ptr record_rr_builder::owner(const zone_record& r) const {
    static constexpr char hex_digits[] = "0123456789abcdef";
    std::vector<std::uint8_t> wire;
    wire.reserve(2 + 2 * 32 + 16 + zone_wire_.size());
    if (r.what == zone_record::kind::ipv4_test_point) {
        for (const char* label : {"2", "0", "0", "127"}) {
            const std::string_view l(label);
            wire.push_back(static_cast<std::uint8_t>(l.size()));
            wire.insert(wire.end(), l.begin(), l.end());
        }
    } else {
        if (r.wildcard) {
            wire.push_back(1);
            wire.push_back('*');
        }
        for (int i = r.node.length / 4 - 1; i >= 0; --i) {
            const std::uint8_t byte = r.node.address[static_cast<std::size_t>(i / 2)];
            wire.push_back(1);
            wire.push_back(
                static_cast<std::uint8_t>(hex_digits[(i % 2 == 0) ? (byte >> 4) : (byte & 0x0f)]));
        }
    }
    wire.insert(wire.end(), zone_wire_.begin(), zone_wire_.end());
    return ldns_rdf_ptr(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, wire.size(), wire.data()));
}

void record_rr_builder::append(const zone_record& r, std::vector<ldns_rr_ptr>& out) const {
    if (r.what != zone_record::kind::hole) {
        ldns_rr_ptr a = new_rr(owner(r), LDNS_RR_TYPE_A, listing_ttl_);
        const std::array<std::uint8_t, 4> address{127, 0, 0,
                                                  static_cast<std::uint8_t>(r.entry->code)};
        ldns_rr_push_rdf(a.get(), ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, address.data()));
        out.push_back(std::move(a));
    }
    ldns_rr_ptr txt = new_rr(owner(r), LDNS_RR_TYPE_TXT, listing_ttl_);
    ldns_rr_push_rdf(txt.get(), make_txt_rdf(*r.txt).release());
    out.push_back(std::move(txt));
}

}  // namespace v6bl::zones
