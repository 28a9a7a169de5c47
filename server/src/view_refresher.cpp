// The view refresher: follows the store (a RocksDB secondary) and derives new listing views,
// incrementally per touched /48 region from the journal, or by a full rebuild.
#include "view_refresher.h"

#include <algorithm>
#include <optional>
#include <unordered_set>
#include <vector>

namespace v6bl::server {
namespace {

// Regions are /48s; shorter stored prefixes are wide listings.
constexpr std::uint8_t region_bits = 48;

}  // namespace

std::shared_ptr<const store::listing_view> view_refresher::build_full(
    const store::listing_policy& policy, std::uint32_t now) {
    store_.catch_up();
    return store::build_view(store_, policy, now);
}

view_refresher::step view_refresher::refresh(const store::listing_view& current,
                                             const store::listing_policy& policy, std::uint32_t now,
                                             std::shared_ptr<const store::listing_view>& next) {
    store_.catch_up();
    const std::uint32_t serial = store_.serial();
    // Regions whose answers changed with time alone (an escalation's member lapsed, a manual
    // listing lapsed over evidence): rebuilt as if the journal named them.
    const auto due = current.due(now);
    if (serial == current.serial() && due.empty()) return step::unchanged;
    std::unordered_set<std::uint64_t> regions(due.regions48.begin(), due.regions48.end());
    bool wide = due.wide;
    bool allowlist = false;
    const bool reaches = store_.journal_since(current.serial(), [&](const store::journal_entry& j) {
        allowlist = allowlist || j.allowlist_changed;
        for (const auto& p : j.touched) {
            // A region is named by the high 64 bits of its /48, low 16 bits zero.
            const std::uint64_t r = p.high64() & ~std::uint64_t{0xffff};
            // Records shorter than /48 live with the wide listings in the store, even when
            // they publish as /48s, so any of them refreshes the wide list.
            if (p.length >= region_bits) {
                regions.insert(r);
            } else {
                wide = true;
            }
        }
    });
    // The journal does not name allowlist prefixes; a hole can cut any number of regions.
    if (!reaches || allowlist) return step::needs_full;
    // Regions that publish nothing take no overlay entry (listing_view::with_changes), so
    // the limit is checked on the result; this bound only saves reading a region at a time
    // what a full rebuild reads at once.
    if (regions.size() > 16 * overlay_limit_) return step::needs_full;
    std::vector<std::uint64_t> list(regions.begin(), regions.end());
    std::sort(list.begin(), list.end());
    std::vector<store::listing_entry> entries;
    for (const std::uint64_t r : list) {
        auto part = store_.published_region(r, policy, now);
        entries.insert(entries.end(), std::make_move_iterator(part.begin()),
                       std::make_move_iterator(part.end()));
    }
    std::optional<std::vector<store::listing_entry>> wide_entries;
    if (wide) wide_entries = store_.published_wide(policy, now);
    next = current.with_changes(list, std::move(entries), wide_entries, std::nullopt, serial);
    if (next->overlay_regions() > overlay_limit_) {
        next.reset();
        return step::needs_full;
    }
    return step::updated;
}

}  // namespace v6bl::server
