// The zone tree: published listings and holes to owner names and records (see zone_tree.h).
#include "v6bl/zones/zone_tree.h"

#include <algorithm>
#include <stdexcept>

namespace v6bl::zones {
namespace {

// Leading bits two prefixes share, rounded down to a nibble, capped by the shorter length.
int common_nibble_bits(const store::prefix& a, const store::prefix& b) {
    const int limit = std::min(a.length, b.length);
    int bits = 0;
    for (std::size_t i = 0; i < a.address.size() && bits < limit; ++i) {
        const std::uint8_t diff = a.address[i] ^ b.address[i];
        if (diff == 0) {
            bits += 8;
            continue;
        }
        bits += (diff & 0xf0) ? 0 : 4;
        break;
    }
    return std::min(bits, limit);
}

}  // namespace

zone_tree_builder::zone_tree_builder(std::vector<store::prefix> holes, std::string url_template,
                                     record_sink sink)
    : holes_(std::move(holes)), url_template_(std::move(url_template)), sink_(std::move(sink)) {
    std::sort(holes_.begin(), holes_.end());
    holes_.erase(std::unique(holes_.begin(), holes_.end()), holes_.end());
}

void zone_tree_builder::add_entry(const store::listing_entry& e) {
    if (e.where.length % 4 != 0) {
        throw std::runtime_error("zone tree: entry " + store::format_prefix(e.where) +
                                 " is not nibble-aligned");
    }
    while (next_hole_ < holes_.size() && holes_[next_hole_] < e.where) {
        add_node(holes_[next_hole_++], nullptr);
    }
    if (next_hole_ < holes_.size() && holes_[next_hole_] == e.where) {
        return;  // an entry on an allowlisted hole's own node is not published
    }
    if (have_last_ && e.where < last_) {
        throw std::runtime_error("zone tree: entry " + store::format_prefix(e.where) +
                                 " arrived after " + store::format_prefix(last_) +
                                 " (entries must come in prefix order)");
    }
    add_node(e.where, &e);
}

void zone_tree_builder::finish() {
    if (finished_) return;
    finished_ = true;
    while (next_hole_ < holes_.size()) add_node(holes_[next_hole_++], nullptr);
    const store::listing_entry test = store::rfc5782_test_entry();
    const std::string txt = store::listing_txt(test, url_template_);
    zone_record r;
    r.what = zone_record::kind::ipv4_test_point;
    r.node = test.where;
    r.entry = &test;
    r.txt = &txt;
    sink_(r);
}

void zone_tree_builder::add_node(const store::prefix& where, const store::listing_entry* entry) {
    if (have_last_ && where == last_) return;  // duplicate node: already emitted
    while (!stack_.empty() && !stack_.back().where.covers(where)) stack_.pop_back();
    if (entry) {
        for (const open_node& n : stack_) {
            if (n.is_hole) return;  // never list inside an allowlisted hole
        }
    }
    emit_covering_ancestors(where);
    last_ = where;
    have_last_ = true;

    open_node node;
    node.where = where;
    node.is_hole = entry == nullptr;
    zone_record r;
    r.node = where;
    if (entry) {
        node.entry = *entry;
        node.txt = store::listing_txt(*entry, url_template_);
        r.what = zone_record::kind::listing;
        r.wildcard = where.length < 128;
        ++stats_.entries;
    } else {
        node.txt = store::hole_txt(where);
        r.what = zone_record::kind::hole;
        ++stats_.holes;
    }
    stack_.push_back(std::move(node));
    r.entry = entry ? &stack_.back().entry : nullptr;
    r.txt = &stack_.back().txt;
    sink_(r);
}

// Every strict ancestor N of `where` that lies strictly inside an open entry, is not an
// entry itself and is covered by no hole gets "*.N" with the longest covering entry's
// records. Ancestors shared with the previous node were handled with it (prefix order).
void zone_tree_builder::emit_covering_ancestors(const store::prefix& where) {
    int shortest_entry = -1;
    for (const open_node& n : stack_) {
        if (n.is_hole) return;  // everything below a hole is NXDOMAIN territory
        if (shortest_entry < 0) shortest_entry = n.where.length;
    }
    if (shortest_entry < 0) return;
    int low = shortest_entry + 4;
    if (have_last_) low = std::max(low, common_nibble_bits(last_, where) + 4);
    std::size_t covering = 0;  // index into stack_ of the longest entry shorter than `len`
    for (int len = low; len < where.length; len += 4) {
        bool is_entry = false;
        while (covering + 1 < stack_.size() && stack_[covering + 1].where.length <= len) {
            ++covering;
        }
        if (stack_[covering].where.length == len) {
            is_entry = true;
        }
        if (is_entry) continue;
        zone_record r;
        r.what = zone_record::kind::covering;
        r.node = where.truncated(static_cast<std::uint8_t>(len));
        r.wildcard = true;
        r.entry = &stack_[covering].entry;
        r.txt = &stack_[covering].txt;
        ++stats_.covering;
        sink_(r);
    }
}

void walk_zone_tree(const std::vector<store::listing_entry>& entries_in_order,
                    std::vector<store::prefix> holes, const std::string& url_template,
                    const zone_tree_builder::record_sink& sink) {
    zone_tree_builder builder(std::move(holes), url_template, sink);
    for (const store::listing_entry& e : entries_in_order) builder.add_entry(e);
    builder.finish();
}

}  // namespace v6bl::zones
