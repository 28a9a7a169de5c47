// Zone export: streams the store's published listings into a zone file, rbldnsd data or JSON.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string_view>

#include "v6bl/store/policy.h"
#include "v6bl/store/store.h"
#include "v6bl/zones/zone_config.h"
#include "v6bl/zones/zone_tree.h"
#include "v6bl/zones/zone_writer.h"

namespace v6bl::zones {

enum class export_format : std::uint8_t { zone, rbldnsd, json };

std::optional<export_format> parse_export_format(std::string_view name);

struct export_result {
    std::uint32_t serial = 0;
    zone_tree_stats tree;
};

// Writes the whole published state of `store` at `now` to `out`. Memory is bounded by the
// holes and the prefix nesting depth, not by the number of listings. Throws
// std::runtime_error on out-of-order input or a bad zone config (batch level).
export_result export_published(const store::reputation_store& store, const zone_config& config,
                               const store::listing_policy& policy, std::uint32_t now,
                               export_format format, std::FILE* out,
                               zone_text_mode mode = zone_text_mode::direct);

}  // namespace v6bl::zones
