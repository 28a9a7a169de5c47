// The in-memory listing view: compact sorted tables plus a hash index for the hot path.
#include "v6bl/store/listing_view.h"

#include <algorithm>
#include <bit>
#include <span>

namespace v6bl::store {

namespace {

constexpr std::uint32_t day_seconds = 86400;
__extension__ typedef unsigned __int128 uint128;

std::uint64_t mask_high(std::uint64_t v, unsigned len) {
    return len == 0 ? 0 : (len >= 64 ? v : v & (~std::uint64_t{0} << (64 - len)));
}

std::uint64_t region_of(const prefix& p) {
    return mask_high(p.high64(), 48);
}

bool live(std::uint32_t expires, std::uint32_t now) {
    return expires == 0 || expires >= now;
}

bool entry_less(const listing_entry& a, const listing_entry& b) {
    if (a.where != b.where) return a.where < b.where;
    return a.source_length > b.source_length;  // the more specific stored prefix first
}

// Sorted, one entry per published prefix (the most specific stored prefix wins a tie).
void normalise(std::vector<listing_entry>& v) {
    std::sort(v.begin(), v.end(), entry_less);
    v.erase(std::unique(
                v.begin(), v.end(),
                [](const listing_entry& a, const listing_entry& b) { return a.where == b.where; }),
            v.end());
}

// Bit i set when some entry of length 4*i is in `v`.
std::uint64_t length_mask(const std::vector<listing_entry>& v) {
    std::uint64_t m = 0;
    for (const auto& e : v) m |= std::uint64_t{1} << (e.where.length / 4);
    return m;
}
std::uint64_t length_mask(const std::vector<prefix>& v) {
    std::uint64_t m = 0;
    for (const auto& p : v) m |= std::uint64_t{1} << (p.length / 4);
    return m;
}

// Longest live entry of a sorted list covering `name` with length <= max_len.
bool longest_in_list(const std::vector<listing_entry>& list, std::uint64_t mask, const prefix& name,
                     unsigned max_len, std::uint32_t now, listing_entry& out) {
    for (int n = static_cast<int>(max_len / 4); n >= 0; --n) {
        if (!((mask >> n) & 1u)) continue;
        const prefix key = name.truncated(static_cast<std::uint8_t>(n * 4));
        auto it =
            std::lower_bound(list.begin(), list.end(), key,
                             [](const listing_entry& e, const prefix& k) { return e.where < k; });
        if (it != list.end() && it->where == key && live(it->expires, now)) {
            out = *it;
            return true;
        }
    }
    return false;
}

// Longest hole covering `name` with length <= max_len.
const prefix* longest_hole(const std::vector<prefix>& holes, std::uint64_t mask, const prefix& name,
                           unsigned max_len) {
    for (int n = static_cast<int>(max_len / 4); n >= 0; --n) {
        if (!((mask >> n) & 1u)) continue;
        const prefix key = name.truncated(static_cast<std::uint8_t>(n * 4));
        auto it = std::lower_bound(holes.begin(), holes.end(), key);
        if (it != holes.end() && *it == key) return &*it;
    }
    return nullptr;
}

// Any live entry at or under `name` in a sorted list.
bool list_has_under(const std::vector<listing_entry>& list, const prefix& name, std::uint32_t now) {
    auto it = std::lower_bound(list.begin(), list.end(), name,
                               [](const listing_entry& e, const prefix& k) { return e.where < k; });
    for (; it != list.end() && name.covers(it->where.address); ++it) {
        if (it->where.length >= name.length && live(it->expires, now)) return true;
    }
    return false;
}

bool holes_have_under(const std::vector<prefix>& holes, const prefix& name) {
    auto it = std::lower_bound(holes.begin(), holes.end(), name);
    for (; it != holes.end() && name.covers(it->address); ++it)
        if (it->length >= name.length) return true;
    return false;
}

}  // namespace

// Entries of length /48../64 whose stored prefix was at least /48: the bulk of a DNSBL.
// Rows (key and data together, 24 bytes) are sorted by (key, length) for range walks; an
// open-addressing index finds an exact (key, length). Each index slot carries 32 bits of
// the hash beside the row's position, so a probe rejects other keys without reading their
// rows: an unlisted name costs one cache miss (its run of slots), a listed one two.
struct listing_view::base_table {
    struct row {
        std::uint64_t key;
        std::uint32_t attempts;
        std::uint32_t expires;
        std::uint16_t first_day;
        std::uint16_t last_day;
        std::uint16_t ipv4s;
        // The prefix length (48..64), with manual_bit for an operator's listing: the code
        // keeps all of its byte (127.0.0.2 to 127.0.0.255; it had 7 bits, and 127.0.0.200
        // was answered as 127.0.0.72).
        std::uint8_t length_manual;
        std::uint8_t code;
        unsigned length() const { return length_manual & length_mask; }
        bool manual() const { return (length_manual & manual_bit) != 0; }
    };
    static_assert(sizeof(row) == 24);
    static constexpr std::uint8_t manual_bit = 0x80, length_mask = 0x7f;
    std::vector<row> rows;
    std::vector<std::uint64_t> index;  // hash tag << 32 | (position + 1); 0 = empty slot
    std::unordered_map<std::uint32_t, std::string> texts;  // manual text by position
    std::uint32_t length_bits = 0;  // bit (length - 48) / 4 for lengths present

    static std::uint64_t hash(std::uint64_t key, unsigned length) {
        std::uint64_t h = (key ^ (std::uint64_t{length} << 1)) * 0x9e3779b97f4a7c15ull;
        return h ^ (h >> 29);
    }
    // The slot comes from the hash's high bits, the tag from its low 32: independent bits.
    std::size_t slot(std::uint64_t h) const {
        return static_cast<std::size_t>((static_cast<uint128>(h) * index.size()) >> 64);
    }
    static std::uint64_t tag(std::uint64_t h) { return (h & 0xffffffffu) << 32; }

    void build_index() {
        index.assign(rows.empty() ? 1 : rows.size() + rows.size() / 2 + 1, 0);
        for (std::uint32_t i = 0; i < rows.size(); ++i) {
            const std::uint64_t h = hash(rows[i].key, rows[i].length());
            std::size_t s = slot(h);
            while (index[s] != 0) s = s + 1 == index.size() ? 0 : s + 1;
            index[s] = tag(h) | (std::uint64_t{i} + 1);
        }
    }

    // Position of (key, length), or -1.
    std::int64_t find(std::uint64_t key, unsigned length) const {
        const std::uint64_t h = hash(key, length);
        const std::uint64_t t = tag(h);
        std::size_t s = slot(h);
        while (true) {
            const std::uint64_t v = index[s];
            if (v == 0) return -1;
            if ((v & ~std::uint64_t{0xffffffffu}) == t) {
                const std::uint32_t i = static_cast<std::uint32_t>(v) - 1;
                if (rows[i].key == key && rows[i].length() == length) return i;
            }
            s = s + 1 == index.size() ? 0 : s + 1;
        }
    }

    void materialise(std::size_t i, listing_entry& out) const {
        const row& d = rows[i];
        out.where = make_prefix64(d.key);
        out.where.length = static_cast<std::uint8_t>(d.length());
        out.code = static_cast<reason_code>(d.code);
        out.manual = d.manual();
        out.rejected_ipv4s = d.ipv4s;
        out.attempts = d.attempts;
        out.first_seen = std::uint32_t{d.first_day} * day_seconds;
        out.last_seen = std::uint32_t{d.last_day} * day_seconds;
        out.expires = d.expires;
        out.source_length = static_cast<std::uint8_t>(d.length());
        if (out.manual || out.code == reason_code::manual) {
            auto it = texts.find(static_cast<std::uint32_t>(i));
            out.text = it == texts.end() ? std::string{} : it->second;
        } else {
            out.text.clear();
        }
    }

    std::size_t bytes() const {
        return rows.capacity() * sizeof(row) + index.capacity() * sizeof(std::uint64_t);
    }
    // The rows of one /48 region (rows are sorted by key: a run, found by binary search).
    std::span<const row> region_rows(std::uint64_t region) const {
        const auto first =
            std::lower_bound(rows.begin(), rows.end(), region,
                             [](const row& r, std::uint64_t key) { return r.key < key; });
        const auto last = std::partition_point(
            first, rows.end(), [&](const row& r) { return mask_high(r.key, 48) == region; });
        return {first, last};
    }
};

namespace {
struct split_entries {
    std::vector<listing_entry> base, wide, fine;
};
split_entries split(std::vector<listing_entry>&& entries) {
    normalise(entries);
    split_entries s;
    for (auto& e : entries) {
        if (e.source_length < 48 || e.where.length < 48)
            s.wide.push_back(std::move(e));
        else if (e.where.length > 64)
            s.fine.push_back(std::move(e));
        else
            s.base.push_back(std::move(e));
    }
    return s;
}
}  // namespace

std::shared_ptr<const listing_view> listing_view::build(std::vector<listing_entry> entries,
                                                        std::vector<prefix> holes,
                                                        std::uint32_t serial) {
    listing_view_builder b;
    for (const auto& e : entries) b.add(e);
    for (const auto& h : holes) b.add_hole(h);
    return b.finish(serial);
}

listing_view_builder::listing_view_builder()
    : base_(std::make_shared<listing_view::base_table>()) {}
listing_view_builder::~listing_view_builder() = default;

namespace {

// Notes an entry's refresh time: under its /48 region, or with the wide listings when it
// comes from a stored prefix shorter than /48 (those are refreshed as one list).
void note_refresh(const listing_entry& e,
                  std::vector<std::pair<std::uint32_t, std::uint64_t>>& points,
                  std::uint32_t& wide_at) {
    if (e.refresh_at == 0) return;
    if (e.source_length < 48 || e.where.length < 48)
        wide_at = earlier_refresh(wide_at, e.refresh_at);
    else
        points.emplace_back(e.refresh_at, region_of(e.where));
}

}  // namespace

void listing_view_builder::add(const listing_entry& e) {
    note_refresh(e, refresh_points_, wide_refresh_at_);
    if (e.source_length < 48 || e.where.length < 48 || e.where.length > 64) {
        other_.push_back(e);
        return;
    }
    auto& b = *base_;
    if (!e.text.empty()) b.texts.emplace(static_cast<std::uint32_t>(b.rows.size()), e.text);
    b.rows.push_back({e.where.high64(), e.attempts, e.expires,
                      static_cast<std::uint16_t>(e.first_seen / day_seconds),
                      static_cast<std::uint16_t>(e.last_seen / day_seconds), e.rejected_ipv4s,
                      static_cast<std::uint8_t>(
                          e.where.length | (e.manual ? listing_view::base_table::manual_bit : 0)),
                      static_cast<std::uint8_t>(e.code)});
    sources_.push_back(e.source_length);
}

void listing_view_builder::add_hole(const prefix& p) {
    holes_.push_back(p);
}

std::shared_ptr<const listing_view> listing_view_builder::finish(std::uint32_t serial) {
    auto& b = *base_;
    // Sort by (key, length, source length descending) unless already in order, then keep
    // one row per (key, length).
    const std::size_t n = b.rows.size();
    auto less = [&](std::size_t x, std::size_t y) {
        if (b.rows[x].key != b.rows[y].key) return b.rows[x].key < b.rows[y].key;
        if (b.rows[x].length() != b.rows[y].length())
            return b.rows[x].length() < b.rows[y].length();
        return sources_[x] > sources_[y];
    };
    bool sorted = true;
    for (std::size_t i = 1; i < n && sorted; ++i) sorted = !less(i, i - 1);
    std::vector<std::uint32_t> order;
    if (!sorted) {
        order.resize(n);
        for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
        std::stable_sort(order.begin(), order.end(), less);
    }
    auto at = [&](std::size_t i) { return sorted ? i : order[i]; };
    std::vector<listing_view::base_table::row> rows;
    std::unordered_map<std::uint32_t, std::string> texts;
    rows.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t j = at(i);
        if (!rows.empty() && rows.back().key == b.rows[j].key &&
            rows.back().length() == b.rows[j].length())
            continue;
        if (auto t = b.texts.find(static_cast<std::uint32_t>(j)); t != b.texts.end())
            texts.emplace(static_cast<std::uint32_t>(rows.size()), std::move(t->second));
        rows.push_back(b.rows[j]);
        b.length_bits |= 1u << ((b.rows[j].length() - 48) / 4);
    }
    std::vector<std::uint8_t>().swap(sources_);
    b.rows = std::move(rows);
    b.texts = std::move(texts);
    b.build_index();

    auto view = std::make_shared<listing_view>();
    auto parts = split(std::move(other_));
    view->base_ = base_;
    view->wide_ = std::move(parts.wide);
    view->fine_ = std::move(parts.fine);
    std::sort(holes_.begin(), holes_.end());
    holes_.erase(std::unique(holes_.begin(), holes_.end()), holes_.end());
    view->holes_ = std::move(holes_);
    view->serial_ = serial;
    view->refresh_masks();
    std::sort(refresh_points_.begin(), refresh_points_.end());
    view->refresh_points_ = std::move(refresh_points_);
    view->wide_refresh_at_ = wide_refresh_at_;
    refresh_points_.clear();
    wide_refresh_at_ = 0;
    base_ = std::make_shared<listing_view::base_table>();
    return view;
}

listing_view::due_refresh listing_view::due(std::uint32_t now) const {
    due_refresh d;
    d.wide = wide_refresh_at_ != 0 && wide_refresh_at_ <= now;
    for (const auto& [at, region] : refresh_points_) {
        if (at > now) break;
        d.regions48.push_back(region);
    }
    std::sort(d.regions48.begin(), d.regions48.end());
    d.regions48.erase(std::unique(d.regions48.begin(), d.regions48.end()), d.regions48.end());
    return d;
}

void listing_view::refresh_masks() {
    wide_mask_ = length_mask(wide_);
    fine_mask_ = length_mask(fine_);
    hole_mask_ = length_mask(holes_);
}

std::shared_ptr<const listing_view> listing_view::with_changes(
    const std::vector<std::uint64_t>& regions48, std::vector<listing_entry> region_entries,
    const std::optional<std::vector<listing_entry>>& wide,
    const std::optional<std::vector<prefix>>& holes, std::uint32_t serial) const {
    auto view = std::make_shared<listing_view>(*this);
    std::vector<std::uint64_t> changed(regions48.begin(), regions48.end());
    for (auto& r : changed) r = mask_high(r, 48);
    std::sort(changed.begin(), changed.end());
    // Refresh times: the changed regions' (and the wide list's, when given) are replaced.
    std::erase_if(view->refresh_points_, [&](const std::pair<std::uint32_t, std::uint64_t>& p) {
        return std::binary_search(changed.begin(), changed.end(), p.second);
    });
    if (wide) view->wide_refresh_at_ = 0;
    for (const auto& e : region_entries)
        note_refresh(e, view->refresh_points_, view->wide_refresh_at_);
    if (wide)
        for (const auto& e : *wide) note_refresh(e, view->refresh_points_, view->wide_refresh_at_);
    std::sort(view->refresh_points_.begin(), view->refresh_points_.end());
    auto parts = split(std::move(region_entries));
    for (std::uint64_t r : changed) view->overlay_[r].clear();
    for (auto& e : parts.base) view->overlay_[region_of(e.where)].push_back(std::move(e));
    // A region that publishes nothing, and nothing in the base table either, needs no
    // overlay entry: a flood of SYNs from new /48s touched thousands of them a commit, and
    // their empty entries pushed the overlay past its limit, into full rebuilds (helper-90).
    for (std::uint64_t region : changed) {
        auto it = view->overlay_.find(region);
        if (it == view->overlay_.end() || !it->second.empty()) continue;
        if (base_->region_rows(region).empty()) view->overlay_.erase(it);
    }
    // Fine entries of the changed regions are replaced too.
    std::erase_if(view->fine_, [&](const listing_entry& e) {
        return std::binary_search(changed.begin(), changed.end(), region_of(e.where));
    });
    for (auto& e : parts.fine) view->fine_.push_back(std::move(e));
    normalise(view->fine_);
    if (wide) {
        view->wide_ = *wide;
        normalise(view->wide_);
    } else {
        for (auto& e : parts.wide) view->wide_.push_back(std::move(e));
        normalise(view->wide_);
    }
    if (holes) {
        view->holes_ = *holes;
        std::sort(view->holes_.begin(), view->holes_.end());
        view->holes_.erase(std::unique(view->holes_.begin(), view->holes_.end()),
                           view->holes_.end());
    }
    view->serial_ = serial;
    view->refresh_masks();
    return view;
}

bool listing_view::match_region(const prefix& name, std::uint32_t now, listing_entry& out) const {
    // Entries /48../64 covering `name` (name.length >= 48), longest first, not longer than name.
    const unsigned max_len = std::min<unsigned>(name.length, 64);
    if (max_len < 48) return false;
    const std::uint64_t high = name.high64();
    if (!overlay_.empty()) {
        auto it = overlay_.find(mask_high(high, 48));
        if (it != overlay_.end()) {
            return longest_in_list(it->second, length_mask(it->second), name, max_len, now, out);
        }
    }
    const base_table& b = *base_;
    for (int n = static_cast<int>((max_len - 48) / 4); n >= 0; --n) {
        if (!((b.length_bits >> n) & 1u)) continue;
        const unsigned len = 48 + 4 * static_cast<unsigned>(n);
        const std::int64_t i = b.find(mask_high(high, len), len);
        if (i >= 0 && live(b.rows[static_cast<std::size_t>(i)].expires, now)) {
            b.materialise(static_cast<std::size_t>(i), out);
            return true;
        }
    }
    return false;
}

name_answer listing_view::resolve_address(const ipv6_bytes& addr, std::uint32_t now) const {
    name_answer a;
    const prefix name{addr, 128};
    if (const prefix* h = longest_hole(holes_, hole_mask_, name, 128)) {
        if (h->length == 128) {
            a.state = name_state::hole;
            a.entry.where = *h;
        }
        return a;
    }
    if (fine_mask_ != 0 && longest_in_list(fine_, fine_mask_, name, 128, now, a.entry)) {
        a.state = name_state::listed;
        return a;
    }
    if (match_region(name, now, a.entry) ||
        (wide_mask_ != 0 && longest_in_list(wide_, wide_mask_, name, 48, now, a.entry))) {
        a.state = name_state::listed;
    }
    return a;
}

bool listing_view::has_node_under(const prefix& name, std::uint32_t now) const {
    if (list_has_under(fine_, name, now) || list_has_under(wide_, name, now) ||
        holes_have_under(holes_, name))
        return true;
    // Overlay regions replace the base's entries of the same region.
    if (name.length >= 48) {
        auto it = overlay_.find(region_of(name));
        if (it != overlay_.end()) return list_has_under(it->second, name, now);
    } else {
        for (const auto& [region, list] : overlay_) {
            if (name.covers(make_prefix64(region)) && list_has_under(list, name, now)) return true;
        }
    }
    if (name.length > 64) return false;
    const base_table& b = *base_;
    const std::uint64_t lo = name.high64();
    auto it =
        std::lower_bound(b.rows.begin(), b.rows.end(), lo,
                         [](const base_table::row& r, std::uint64_t key) { return r.key < key; });
    for (; it != b.rows.end() && mask_high(it->key, name.length) == lo; ++it) {
        if (it->length() < name.length || !live(it->expires, now)) continue;
        if (!overlay_.empty() && overlay_.count(mask_high(it->key, 48))) continue;
        return true;
    }
    return false;
}

name_answer listing_view::resolve_prefix(const prefix& name, std::uint32_t now) const {
    name_answer a;
    const prefix* h = longest_hole(holes_, hole_mask_, name, name.length);
    if (h != nullptr && h->length == name.length) {
        a.state = name_state::hole;
        a.entry.where = *h;
        return a;
    }
    if (has_node_under(name, now)) {
        a.state = name_state::node;
        return a;
    }
    if (h != nullptr || name.length == 0) return a;
    const unsigned below = name.length - 4u;  // a covering listing strictly above the name
    const prefix probe = name;
    if (fine_mask_ != 0 && below > 64 &&
        longest_in_list(fine_, fine_mask_, probe, below, now, a.entry)) {
        a.state = name_state::listed;
        return a;
    }
    if (below >= 48 &&
        match_region(probe.truncated(static_cast<std::uint8_t>(std::min(below, 64u))), now,
                     a.entry)) {
        a.state = name_state::listed;
        return a;
    }
    if (wide_mask_ != 0 &&
        longest_in_list(wide_, wide_mask_, probe, std::min(below, 48u), now, a.entry))
        a.state = name_state::listed;
    return a;
}

std::size_t listing_view::size() const {
    // An overlaid region's list replaces its base rows: those are not counted (they were,
    // and v6bl_view_listings of a serve that had followed commits read more than a fresh
    // one's at the same serial; helper-93).
    std::size_t n = base_->rows.size() + wide_.size() + fine_.size();
    for (const auto& [region, list] : overlay_)
        n = n - base_->region_rows(region).size() + list.size();
    return n;
}

std::size_t listing_view::memory_bytes() const {
    std::size_t n = base_->bytes() + (wide_.size() + fine_.size()) * sizeof(listing_entry) +
                    holes_.size() * sizeof(prefix);
    for (const auto& [r, list] : overlay_) n += list.size() * sizeof(listing_entry) + 64;
    return n;
}

}  // namespace v6bl::store
