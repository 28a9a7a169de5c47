// Zone export: streams the store's published listings into a zone file, rbldnsd data or JSON.
#include "v6bl/zones/zone_export.h"

#include "v6bl/zones/json_writer.h"
#include "v6bl/zones/rbldnsd_writer.h"

namespace v6bl::zones {

std::optional<export_format> parse_export_format(std::string_view name) {
    if (name == "zone") return export_format::zone;
    if (name == "rbldnsd") return export_format::rbldnsd;
    if (name == "json") return export_format::json;
    return std::nullopt;
}

export_result export_published(const store::reputation_store& store, const zone_config& config,
                               const store::listing_policy& policy, std::uint32_t now,
                               export_format format, std::FILE* out, zone_text_mode mode) {
    export_result result;
    result.serial = store.serial();
    zone_tree_builder::record_sink sink;
    std::optional<zone_file_writer> zone_out;
    std::optional<rbldnsd_writer> rbldnsd_out;
    std::optional<json_writer> json_out;
    switch (format) {
        case export_format::zone:
            zone_out.emplace(out, config, mode);
            zone_out->write_apex(result.serial);
            sink = [&](const zone_record& r) { zone_out->write(r); };
            break;
        case export_format::rbldnsd:
            rbldnsd_out.emplace(out, config);
            rbldnsd_out->write_header(result.serial);
            sink = [&](const zone_record& r) { rbldnsd_out->write(r); };
            break;
        case export_format::json:
            json_out.emplace(out, config);
            json_out->write_header(result.serial);
            sink = [&](const zone_record& r) { json_out->write(r); };
            break;
    }
    zone_tree_builder builder(store.published_holes(), config.url_template, sink);
    store.for_each_published(policy, now,
                             [&](const store::listing_entry& e) { builder.add_entry(e); });
    builder.finish();
    result.tree = builder.stats();
    return result;
}

}  // namespace v6bl::zones
