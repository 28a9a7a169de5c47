// The rbldnsd ip6trie data writer: $SOA/$NS, one line per listing, "!" exclusions for holes.
#include "v6bl/zones/rbldnsd_writer.h"

#include "record_rrs.h"

namespace v6bl::zones {

std::string rbldnsd_escape_text(const std::string& text) {
    std::string out;
    out.reserve(text.size() + 4);
    for (char c : text) {
        if (c == '\n' || c == '\r') c = ' ';  // one entry per line
        out.push_back(c);
        if (c == '$') out.push_back('$');
    }
    return out;
}

std::string rbldnsd_prefix_text(const store::prefix& p) {
    char buffer[64];
    int n = 0;
    for (std::size_t g = 0; g < 8; ++g) {
        const unsigned group =
            (static_cast<unsigned>(p.address[2 * g]) << 8) | p.address[2 * g + 1];
        n += std::snprintf(buffer + n, sizeof(buffer) - static_cast<std::size_t>(n),
                           g == 0 ? "%x" : ":%x", group);
    }
    std::snprintf(buffer + n, sizeof(buffer) - static_cast<std::size_t>(n), "/%u",
                  static_cast<unsigned>(p.length));
    return buffer;
}

void rbldnsd_writer::write_header(std::uint32_t serial) {
    std::fprintf(out_, "# v6bl rbldnsd ip6trie data for %s, serial %u\n", config_.zone.c_str(),
                 serial);
    std::fprintf(
        out_, "$SOA %u %s %s %u %u %u %u %u\n", config_.soa_ttl,
        absolute_name(config_.ns_names.empty() ? config_.zone : config_.ns_names.front()).c_str(),
        soa_rname_name(config_.soa_rname).c_str(), serial, config_.soa_refresh, config_.soa_retry,
        config_.soa_expire, config_.soa_minimum);
    std::fprintf(out_, "$NS %u", config_.ns_ttl);
    for (const std::string& ns : config_.ns_names) {
        std::fprintf(out_, " %s", absolute_name(ns).c_str());
    }
    std::fprintf(out_, "\n$TTL %u\n", config_.listing_ttl);
}

void rbldnsd_writer::write(const zone_record& r) {
    line_.clear();
    if (r.what == zone_record::kind::listing) {
        line_.append(rbldnsd_prefix_text(r.node));
        line_.append(" :127.0.0.");
        line_.append(std::to_string(static_cast<unsigned>(r.entry->code)));
        line_.push_back(':');
        line_.append(rbldnsd_escape_text(*r.txt));
    } else if (r.what == zone_record::kind::hole) {
        line_.push_back('!');
        line_.append(rbldnsd_prefix_text(r.node));
    } else {
        return;  // covering wildcards: rbldnsd matches the longest prefix itself
    }
    line_.push_back('\n');
    std::fwrite(line_.data(), 1, line_.size(), out_);
}

}  // namespace v6bl::zones
