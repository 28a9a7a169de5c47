// The RFC 1035 master-file writer of the exported zone (NSD, Knot and BIND load it).
#include "v6bl/zones/zone_writer.h"

#include <string>
#include <vector>

#include "record_rrs.h"
#include "v6bl/zones/nibble_name.h"

namespace v6bl::zones {

struct zone_file_writer::impl {
    std::FILE* out;
    zone_config config;
    zone_text_mode mode;
    record_rr_builder builder;
    std::string zone_suffix;     // "<zone>.\t<ttl>\tIN\t"
    std::string line;            // reused per record: no allocation in steady state
    std::string last_txt;        // last TXT text rendered ...
    std::string last_txt_rdata;  // ... and its presentation form
    std::vector<ldns_rr_ptr> rrs;

    impl(std::FILE* o, const zone_config& c, zone_text_mode m)
        : out(o), config(c), mode(m), builder(c) {
        zone_suffix = config.zone + ".\t" + std::to_string(config.listing_ttl) + "\tIN\t";
    }

    const std::string& txt_rdata(const std::string& text) {
        if (text != last_txt || last_txt_rdata.empty()) {
            ldns_rdf_ptr rdf = make_txt_rdf(text);
            char* s = ldns_rdf2str(rdf.get());
            last_txt = text;
            last_txt_rdata = s ? s : "\"\"";
            LDNS_FREE(s);
        }
        return last_txt_rdata;
    }

    void append_owner(const zone_record& r) {
        if (r.what == zone_record::kind::ipv4_test_point) {
            line.append("2.0.0.127.");
        } else {
            if (r.wildcard) line.append("*.");
            append_nibble_labels(line, r.node);
        }
        line.append(zone_suffix);
    }

    void write_direct(const zone_record& r) {
        line.clear();
        if (r.what != zone_record::kind::hole) {
            append_owner(r);
            line.append("A\t127.0.0.");
            line.append(std::to_string(static_cast<unsigned>(r.entry->code)));
            line.push_back('\n');
        }
        append_owner(r);
        line.append("TXT\t");
        line.append(txt_rdata(*r.txt));
        line.push_back('\n');
        std::fwrite(line.data(), 1, line.size(), out);
    }

    void write_records(const zone_record& r) {
        rrs.clear();
        builder.append(r, rrs);
        for (const ldns_rr_ptr& rr : rrs) ldns_rr_print(out, rr.get());
    }
};

zone_file_writer::zone_file_writer(std::FILE* out, const zone_config& config, zone_text_mode mode)
    : impl_(std::make_unique<impl>(out, config, mode)) {}

zone_file_writer::~zone_file_writer() = default;

void zone_file_writer::write_apex(std::uint32_t serial) {
    std::fprintf(impl_->out,
                 ";; v6bl zone %s serial %u: listed prefixes are wildcards, "
                 "allowlisted holes are nodes without a wildcard\n",
                 impl_->config.zone.c_str(), serial);
    ldns_rr_print(impl_->out, make_soa_rr(impl_->config, serial).get());
    for (const ldns_rr_ptr& ns : make_ns_rrs(impl_->config)) ldns_rr_print(impl_->out, ns.get());
    for (const ldns_rr_ptr& glue : make_glue_rrs(impl_->config)) {
        ldns_rr_print(impl_->out, glue.get());
    }
}

void zone_file_writer::write(const zone_record& r) {
    if (impl_->mode == zone_text_mode::ldns_records) {
        impl_->write_records(r);
    } else {
        impl_->write_direct(r);
    }
}

}  // namespace v6bl::zones
