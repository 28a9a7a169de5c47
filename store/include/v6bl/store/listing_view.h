// An immutable in-memory view of the published listings, for answering queries fast.
// Pure data: no RocksDB, no sockets. The server swaps views atomically as the store changes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "v6bl/store/listing.h"
#include "v6bl/store/prefix.h"

namespace v6bl::store {

// What a name made of nibble labels resolves to, with the semantics of the exported zone
// (design §4): listed prefixes are wildcards, allowlisted holes are NXDOMAIN, names that
// are prefix nodes or their ancestors exist as empty non-terminals.
enum class name_state : std::uint8_t {
    nxdomain,  // not covered, not a node
    node,      // an existing node without data of its own (NOERROR NODATA)
    hole,      // an allowlisted hole's own node (NODATA, TXT explains)
    listed,    // covered by a listing: answer from `entry`
};

// `entry` is meaningful only when state == listed; it is materialised from the view's
// compact tables (first/last seen are kept at day precision, which is all the TXT shows).
// For state == hole, `entry.where` is the hole.
struct name_answer {
    name_state state = name_state::nxdomain;
    listing_entry entry;
};

class listing_view_builder;

class listing_view {
  public:
    // `entries` and `holes` must be published (nibble-aligned) and may come in any order.
    static std::shared_ptr<const listing_view> build(std::vector<listing_entry> entries,
                                                     std::vector<prefix> holes,
                                                     std::uint32_t serial);

    // A copy of this view in which every entry inside the given /48 regions is replaced by
    // `region_entries` (all entries of those regions), wide (< /48) entries by `wide` when
    // given, and holes by `holes` when given. Shares the large arrays with this view.
    std::shared_ptr<const listing_view> with_changes(
        const std::vector<std::uint64_t>& regions48, std::vector<listing_entry> region_entries,
        const std::optional<std::vector<listing_entry>>& wide,
        const std::optional<std::vector<prefix>>& holes, std::uint32_t serial) const;

    // A full 128-bit address (32 nibbles): the hot path. `now` drops expired entries.
    name_answer resolve_address(const ipv6_bytes& addr, std::uint32_t now) const;
    // A nibble-aligned prefix name of fewer than 32 nibbles (length % 4 == 0, < 128).
    name_answer resolve_prefix(const prefix& name, std::uint32_t now) const;

    // What has to be rebuilt by `now` because answers there change with time beyond each
    // entry's own expiry (listing_entry::refresh_at): /48 regions (as with_changes names
    // them), and whether the wide listings (stored prefixes shorter than /48) are due.
    struct due_refresh {
        std::vector<std::uint64_t> regions48;
        bool wide = false;
        bool empty() const { return regions48.empty() && !wide; }
    };
    due_refresh due(std::uint32_t now) const;

    std::uint32_t serial() const { return serial_; }
    std::size_t size() const;
    std::size_t overlay_regions() const { return overlay_.size(); }
    std::size_t memory_bytes() const;

    struct base_table;  // sorted arrays + hash index of entries /48../64, shared between views

  private:
    friend class listing_view_builder;
    bool match_region(const prefix& name, std::uint32_t now, listing_entry& out) const;
    void refresh_masks();
    bool has_node_under(const prefix& name, std::uint32_t now) const;

    std::shared_ptr<const base_table> base_;
    // /48 region -> all entries of that region (possibly none), overriding base_.
    std::unordered_map<std::uint64_t, std::vector<listing_entry>> overlay_;
    std::vector<listing_entry> wide_;  // entries shorter than /48, sorted
    std::vector<listing_entry> fine_;  // entries longer than /64, sorted
    std::vector<prefix> holes_;        // sorted
    std::uint64_t wide_mask_ = 0, fine_mask_ = 0, hole_mask_ = 0;  // bit n: length 4n present
    std::uint32_t serial_ = 0;
    // (refresh_at, /48 region) of the entries that have one, sorted; the wide listings'
    // earliest (0: none).
    std::vector<std::pair<std::uint32_t, std::uint64_t>> refresh_points_;
    std::uint32_t wide_refresh_at_ = 0;
};

// Builds a view from a stream of entries without holding them all as listing_entry
// objects: the bulk goes straight into the compact base table (10M /64s fit in ~250 MB).
class listing_view_builder {
  public:
    listing_view_builder();
    ~listing_view_builder();
    void add(const listing_entry& e);
    void add_hole(const prefix& p);
    std::shared_ptr<const listing_view> finish(std::uint32_t serial);

  private:
    std::shared_ptr<listing_view::base_table> base_;
    std::vector<std::uint8_t> sources_;  // stored prefix length per base row
    std::vector<listing_entry> other_;
    std::vector<prefix> holes_;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> refresh_points_;
    std::uint32_t wide_refresh_at_ = 0;
};

}  // namespace v6bl::store
