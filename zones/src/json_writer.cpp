// The JSON-lines writer: one object per listing and per allowlisted hole, for tooling.
#include "v6bl/zones/json_writer.h"

#include <nlohmann/json.hpp>

namespace v6bl::zones {
namespace {

void write_line(std::FILE* out, const nlohmann::json& j) {
    const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fwrite(text.data(), 1, text.size(), out);
    std::fputc('\n', out);
}

}  // namespace

void json_writer::write_header(std::uint32_t serial) {
    write_line(out_, {{"kind", "zone"}, {"zone", config_.zone}, {"serial", serial}});
}

void json_writer::write(const zone_record& r) {
    if (r.what == zone_record::kind::listing) {
        const store::listing_entry& e = *r.entry;
        write_line(out_, {{"kind", "listing"},
                          {"prefix", store::format_prefix(e.where)},
                          {"code", static_cast<unsigned>(e.code)},
                          {"a", "127.0.0." + std::to_string(static_cast<unsigned>(e.code))},
                          {"txt", *r.txt},
                          {"rejected_ipv4s", e.rejected_ipv4s},
                          {"attempts", e.attempts},
                          {"first_seen", e.first_seen},
                          {"last_seen", e.last_seen},
                          {"expires", e.expires},
                          {"source_length", e.source_length},
                          {"text", e.text}});
    } else if (r.what == zone_record::kind::hole) {
        write_line(out_,
                   {{"kind", "hole"}, {"prefix", store::format_prefix(r.node)}, {"txt", *r.txt}});
    }
}

}  // namespace v6bl::zones
