// The RFC 1035 master-file writer of the exported zone (NSD, Knot and BIND load it).
#include "v6bl/zones/zone_writer.h"

#include <algorithm>
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

    // RFC 1035 5.1 presentation of one character-string, as ldns_rdf2str writes it:
    // quoted, '"' and '\\' escaped, bytes outside printable ASCII as \DDD. ldns renders it
    // one buffer_printf per byte, which was 40 % of an export (docs/zones.md).
    void append_txt_rdata(const std::string& text) {
        line.push_back('"');
        const std::size_t len = std::min<std::size_t>(text.size(), 255);
        for (std::size_t i = 0; i < len; ++i) {
            const auto c = static_cast<unsigned char>(text[i]);
            if (c == '"' || c == '\\') {
                line.push_back('\\');
                line.push_back(static_cast<char>(c));
            } else if (c < 0x20 || c > 0x7e) {
                const char digits[] = {'\\', static_cast<char>('0' + c / 100),
                                       static_cast<char>('0' + c / 10 % 10),
                                       static_cast<char>('0' + c % 10)};
                line.append(digits, sizeof(digits));
            } else {
                line.push_back(static_cast<char>(c));
            }
        }
        line.push_back('"');
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
        append_txt_rdata(*r.txt);
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
