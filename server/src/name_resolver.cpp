// The name resolver: what a question name under the zone is, with the exported zone's semantics.
#include "name_resolver.h"

#include <cstring>
#include <optional>

namespace v6bl::server {
namespace {

// -1 when the label is not a single hex digit (the name is already lower-cased).
int nibble_of(const parsed_query& q, std::size_t label) {
    const std::size_t at = q.label_at[label];
    if (q.qname[at] != 1) return -1;
    const std::uint8_t c = q.qname[at + 1];
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

bool label_is(const parsed_query& q, std::size_t label, const char* text) {
    const std::size_t at = q.label_at[label];
    const std::size_t len = std::strlen(text);
    return q.qname[at] == len && std::memcmp(&q.qname[at + 1], text, len) == 0;
}

void set_nibble(store::ipv6_bytes& a, std::size_t i, int nibble) {
    const auto n = static_cast<std::uint8_t>(nibble);
    a[i / 2] = static_cast<std::uint8_t>(a[i / 2] | ((i % 2 == 0) ? (n << 4) : n));
}

store::name_answer resolve_nibbles(const store::listing_view* view, const store::prefix& p,
                                   std::uint32_t now) {
    if (view == nullptr) return {};
    if (p.length == 128) return view->resolve_address(p.address, now);
    return view->resolve_prefix(p, now);
}

bool exact_128(const store::name_answer& a) {
    return a.state == store::name_state::listed && a.entry.where.length == 128;
}

// Whether the existing node `s` has a wildcard child "*.<s>", and which listing it carries.
// A nibble child that does not exist is answered through that wildcard when there is one,
// so the first non-existent child tells. (When all 16 children exist, which needs 16
// separate sub-listings under one node, the answer is taken as no wildcard.)
std::optional<store::listing_entry> wildcard_below(const store::listing_view* view,
                                                   const store::prefix& s, std::uint32_t now) {
    if (view == nullptr || s.length >= 128) return std::nullopt;
    for (int x = 0; x < 16; ++x) {
        store::prefix child = s;
        child.length = static_cast<std::uint8_t>(s.length + 4);
        set_nibble(child.address, s.length / 4u, x);
        store::name_answer a = resolve_nibbles(view, child, now);
        if (a.state == store::name_state::nxdomain) return std::nullopt;
        if (a.state == store::name_state::listed && !(exact_128(a) && a.entry.where == child))
            return std::move(a.entry);
    }
    return std::nullopt;
}

resolved_name from_answer(store::name_answer&& a) {
    resolved_name r;
    switch (a.state) {
        case store::name_state::listed:
            r.kind = name_kind::listed;
            break;
        case store::name_state::node:
            r.kind = name_kind::node;
            break;
        case store::name_state::hole:
            r.kind = name_kind::hole;
            break;
        case store::name_state::nxdomain:
            r.kind = name_kind::nxdomain;
            break;
    }
    r.entry = std::move(a.entry);
    return r;
}

// "a.b.c.d.<zone>" in the RFC 5782 IPv4 form: only 127.0.0.2 exists (with its ENTs).
resolved_name resolve_ipv4_form(const parsed_query& q, const answer_zone& zone, std::size_t under) {
    resolved_name r;
    r.kind = name_kind::nxdomain;
    // under >= 1 and the label right above the zone is "127".
    static const char* const path[] = {"127", "0", "0", "2"};
    std::size_t depth = 0;
    while (depth < under && depth < 4 && label_is(q, under - 1 - depth, path[depth])) ++depth;
    if (depth < under && depth < 4) return r;  // a label off the path
    if (depth < under) return r;               // below 2.0.0.127: no such name
    if (depth < 4) {
        r.kind = name_kind::node;
        return r;
    }
    r.kind = name_kind::listed;
    r.entry = zone.ipv4_test_entry();
    r.ipv4_test_point = true;
    return r;
}

}  // namespace

resolved_name resolve_name(const parsed_query& q, const answer_zone& zone,
                           const store::listing_view* view, std::uint32_t now) {
    resolved_name r;
    r.kind = name_kind::outside;
    const std::size_t zl = zone.zone_labels();
    if (q.labels < zl) return r;
    const std::size_t under = q.labels - zl;  // labels below the zone apex
    const std::size_t zone_at = q.label_at[under];
    // Both names end in the root label, so a suffix compare at a label boundary is exact.
    const auto zw = zone.zone_wire();
    if (q.qname_size - zone_at != zw.size() ||
        std::memcmp(&q.qname[zone_at], zw.data(), zw.size()) != 0)
        return r;
    const auto finish = [&](resolved_name&& x) {
        x.zone_offset = zone_at;
        return std::move(x);
    };
    if (under == 0) {
        r.kind = name_kind::apex;
        return finish(std::move(r));
    }
    // In-zone NS names with glue: their own names, and the empty non-terminals above them.
    for (std::size_t i = 0; i < zone.glue().size(); ++i) {
        const auto& g = zone.glue()[i].name;
        if (g.size() == q.qname_size && std::memcmp(g.data(), q.qname.data(), g.size()) == 0) {
            r.kind = name_kind::glue;
            r.glue_index = i;
            return finish(std::move(r));
        }
        if (g.size() > q.qname_size &&
            std::memcmp(g.data() + (g.size() - q.qname_size), q.qname.data(), q.qname_size) == 0) {
            for (std::size_t at = 0; at < g.size() - q.qname_size; at += g[at] + 1u) {
                if (at + g[at] + 1u == g.size() - q.qname_size) {
                    r.kind = name_kind::node;
                    return finish(std::move(r));
                }
            }
        }
    }
    if (label_is(q, under - 1, "127")) return finish(resolve_ipv4_form(q, zone, under));

    // The run of nibble labels right below the zone, most significant first, at most 32.
    store::prefix s{};
    std::size_t nibbles = 0;
    while (nibbles < under && nibbles < 32) {
        const int n = nibble_of(q, under - 1 - nibbles);
        if (n < 0) break;
        set_nibble(s.address, nibbles, n);
        ++nibbles;
    }
    s.length = static_cast<std::uint8_t>(nibbles * 4);
    if (nibbles == under) return finish(from_answer(resolve_nibbles(view, s, now)));

    // More labels above the nibble run (a non-nibble label, or a 33rd label): the name can
    // only exist through a wildcard, "*.<s>" when <s> exists, else the one covering <s>.
    resolved_name no;
    no.kind = name_kind::nxdomain;
    store::name_state state = store::name_state::node;  // the apex exists
    store::listing_entry covering;
    if (nibbles > 0) {
        store::name_answer a = resolve_nibbles(view, s, now);
        state = a.state;
        if (a.state == store::name_state::listed && !(exact_128(a) && a.entry.where == s)) {
            resolved_name yes;
            yes.kind = name_kind::listed;
            yes.entry = std::move(a.entry);
            return finish(std::move(yes));
        }
    }
    if (state != store::name_state::node) return finish(std::move(no));
    // "x.*.<s>": "*.<s>" is itself a node without a wildcard below it.
    if (under - nibbles >= 2 && label_is(q, under - 1 - nibbles, "*")) return finish(std::move(no));
    auto w = wildcard_below(view, s, now);
    if (!w) return finish(std::move(no));
    resolved_name yes;
    yes.kind = name_kind::listed;
    yes.entry = std::move(*w);
    return finish(std::move(yes));
}

}  // namespace v6bl::server
