// The view refresher: follows the store (a RocksDB secondary) and derives new listing views,
// incrementally per touched /48 region from the journal, or by a full rebuild.
#pragma once

#include <cstdint>
#include <memory>

#include "v6bl/store/listing_view.h"
#include "v6bl/store/policy.h"
#include "v6bl/store/store.h"

namespace v6bl::server {

class view_refresher {
  public:
    view_refresher(store::reputation_store& store, std::size_t overlay_limit)
        : store_(store), overlay_limit_(overlay_limit) {}

    std::shared_ptr<const store::listing_view> build_full(const store::listing_policy& policy,
                                                          std::uint32_t now);

    enum class step : std::uint8_t { unchanged, updated, needs_full };
    // Replays the writer's commits; when the serial moved, applies the journal to `current`
    // (result in `next`). needs_full when the journal no longer reaches back, the allowlist
    // changed, or the overlay grew past the limit.
    step refresh(const store::listing_view& current, const store::listing_policy& policy,
                 std::uint32_t now, std::shared_ptr<const store::listing_view>& next);

    std::uint32_t store_serial() const { return store_.serial(); }

  private:
    store::reputation_store& store_;
    std::size_t overlay_limit_;
};

}  // namespace v6bl::server
