// The zone tree: turns published listings and allowlisted holes into the owner names and
// records of the exported zone, so that a standard server's wildcard rules give the
// longest-prefix-match answer for every name (docs/zones.md "The zone tree").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "v6bl/store/listing.h"
#include "v6bl/store/prefix.h"

namespace v6bl::zones {

struct zone_record {
    enum class kind : std::uint8_t {
        listing,          // a published entry: "*.<node>" (exact "<node>" for a /128), A + TXT
        covering,         // "*.<node>" of an empty non-terminal strictly inside a listing:
                          // the longest covering entry's A + TXT
        hole,             // an allowlisted hole's own node "<node>": one TXT, no wildcard
        ipv4_test_point,  // "2.0.0.127.<zone>": the RFC 5782 IPv4-form test point, A + TXT
    };
    kind what = kind::listing;
    store::prefix node;
    bool wildcard = false;                        // owner is "*.<node>"
    const store::listing_entry* entry = nullptr;  // null for holes
    const std::string* txt = nullptr;             // the TXT text
};

struct zone_tree_stats {
    std::uint64_t entries = 0;
    std::uint64_t holes = 0;
    std::uint64_t covering = 0;
    std::uint64_t records() const { return entries + holes + covering; }
};

// Streaming: memory is bounded by the nesting depth of prefixes (at most 33), never by the
// number of listings. Entries must arrive in prefix order (address, then shorter first),
// which is the order reputation_store::for_each_published streams them in.
class zone_tree_builder {
  public:
    using record_sink = std::function<void(const zone_record&)>;

    // `holes` in any order; `url_template` is the listing TXT's "{prefix}" template.
    zone_tree_builder(std::vector<store::prefix> holes, std::string url_template, record_sink sink);

    // Throws std::runtime_error when entries arrive out of order (a batch-level bug).
    void add_entry(const store::listing_entry& e);
    // Emits the remaining holes and the IPv4-form test point.
    void finish();

    const zone_tree_stats& stats() const { return stats_; }

  private:
    struct open_node {
        store::prefix where;
        bool is_hole = false;
        store::listing_entry entry;
        std::string txt;
    };

    void add_node(const store::prefix& where, const store::listing_entry* entry);
    void emit_covering_ancestors(const store::prefix& where);

    std::vector<store::prefix> holes_;
    std::size_t next_hole_ = 0;
    std::string url_template_;
    record_sink sink_;
    std::vector<open_node> stack_;  // open entries and holes covering the current node
    store::prefix last_{};
    bool have_last_ = false;
    bool finished_ = false;
    zone_tree_stats stats_;
};

// Walks the whole published tree of `zone` content: every entry, hole, covering wildcard
// and the IPv4 test point, in prefix order. Convenience over zone_tree_builder for callers
// that already hold all entries (tests, small tools).
void walk_zone_tree(const std::vector<store::listing_entry>& entries_in_order,
                    std::vector<store::prefix> holes, const std::string& url_template,
                    const zone_tree_builder::record_sink& sink);

}  // namespace v6bl::zones
