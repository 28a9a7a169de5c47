// Published listings: policy, nibble expansion, escalation and the explaining TXT.
#include "v6bl/store/listing.h"

#include <algorithm>
#include <ctime>
#include <map>

namespace v6bl::store {

namespace {

std::uint8_t nibble_ceiling(std::uint8_t len) {
    return static_cast<std::uint8_t>((len + 3) / 4 * 4);
}

// Calls fn for every nibble-aligned prefix a stored prefix publishes as (1, 2, 4 or 8).
template <typename Fn>
void expand_to_nibbles(const prefix& where, Fn&& fn) {
    const std::uint8_t target = nibble_ceiling(where.length);
    const unsigned extra = target - where.length;
    for (unsigned i = 0; i < (1u << extra); ++i) {
        prefix p = where;
        p.length = target;
        for (unsigned b = 0; b < extra; ++b) {
            if ((i >> (extra - 1 - b)) & 1u) {
                const unsigned bit = where.length + b;
                p.address[bit / 8] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
            }
        }
        fn(p);
    }
}

std::string date_of(std::uint32_t t) {
    if (t == 0) return "-";
    std::time_t tt = t;
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

std::uint16_t sat16(std::uint64_t v) {
    return v > 0xffff ? 0xffff : static_cast<std::uint16_t>(v);
}
std::uint32_t sat32(std::uint64_t v) {
    return v > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(v);
}

bool inferred(reason_code c) {
    return c == reason_code::associated || c == reason_code::structural;
}

}  // namespace

void published_entries(const prefix& where, const reputation_record& r,
                       const listing_policy& policy, std::uint32_t now,
                       std::vector<listing_entry>& out) {
    const auto code = listed_code(r, policy, now);
    if (!code) return;
    listing_entry e;
    e.code = *code;
    e.rejected_ipv4s = sat16(r.rejected_ipv4s);
    e.attempts = r.attempts;
    e.first_seen = r.first_seen;
    e.last_seen = r.last_seen;
    // Answered because of the operator's listing (not because of evidence that happens to
    // give the same code after the operator's listing lapsed).
    const bool by_hand = manual_in_force(r, policy, now);
    if (by_hand) {
        e.manual = true;
        e.expires = r.last_seen == 0 ? 0 : expiry_time(r.last_seen, policy.manual_expiry_seconds);
        e.text = r.text;
        // The evidence under it answers once the operator's listing lapses (helper-88: the
        // server answered NXDOMAIN there until its next full rebuild).
        if (const std::uint32_t lapse = lapse_time(e.expires); lapse != 0) {
            reputation_record evidence = r;
            evidence.manual_code = 0;
            if (listed_code(evidence, policy, lapse)) e.refresh_at = lapse;
        }
    } else {
        e.expires = expiry_time(r.last_seen, policy.expiry_seconds);
    }
    e.source_length = where.length;
    expand_to_nibbles(where, [&](const prefix& p) {
        e.where = p;
        out.push_back(e);
    });
}

void published_holes(const prefix& where, std::vector<prefix>& out) {
    expand_to_nibbles(where, [&](const prefix& p) { out.push_back(p); });
}

void add_escalations(std::vector<listing_entry>& region, const listing_policy& policy) {
    if (policy.escalate_56_after == 0 && policy.escalate_48_after == 0) return;
    struct tally {
        std::uint32_t members = 0;
        std::uint64_t ipv4s = 0, attempts = 0;
        std::uint32_t first = 0, last = 0;
        std::vector<std::uint32_t> expires;  // the members' (0: never)
    };
    std::map<prefix, tally> wider;  // /56 and /48 candidates of this region
    for (const auto& e : region) {
        if (e.where.length != 64 || !inferred(e.code) || e.manual) continue;
        for (std::uint8_t len : {std::uint8_t{56}, std::uint8_t{48}}) {
            auto& t = wider[e.where.truncated(len)];
            ++t.members;
            t.ipv4s += e.rejected_ipv4s;
            t.attempts += e.attempts;
            t.first = t.first == 0 ? e.first_seen : std::min(t.first, e.first_seen);
            t.last = std::max(t.last, e.last_seen);
            t.expires.push_back(e.expires);
        }
    }
    bool added = false;
    for (const auto& item : wider) {
        const prefix& p = item.first;  // not a structured binding: clang 14 cannot capture those
        const tally& t = item.second;
        const std::uint32_t need =
            p.length == 56 ? policy.escalate_56_after : policy.escalate_48_after;
        if (need == 0 || t.members < need) continue;
        const bool exists = std::any_of(region.begin(), region.end(),
                                        [&](const listing_entry& e) { return e.where == p; });
        if (exists) continue;  // an operator's own listing of that prefix wins
        listing_entry e;
        e.where = p;
        e.code = reason_code::escalated;
        e.rejected_ipv4s = sat16(t.ipv4s);
        e.attempts = sat32(t.attempts);
        e.first_seen = t.first;
        e.last_seen = t.last;
        // It stands while `need` members do: until the need-th latest lapses (it stood
        // until the last one did, listing a /48 on one /64's evidence; helper-88). Its
        // region is rebuilt when the first member lapses (the count in its TXT changes).
        std::vector<std::uint32_t> ends = t.expires;
        const auto later = [](std::uint32_t a, std::uint32_t b) {
            return (a == 0 ? 0xFFFFFFFFull + 1 : a) > (b == 0 ? 0xFFFFFFFFull + 1 : b);
        };
        std::nth_element(ends.begin(), ends.begin() + (need - 1), ends.end(), later);
        e.expires = ends[need - 1];
        for (const std::uint32_t x : t.expires)
            e.refresh_at = earlier_refresh(e.refresh_at, lapse_time(x));
        e.source_length = p.length;
        region.push_back(std::move(e));
        added = true;
    }
    if (added) {
        std::sort(region.begin(), region.end(),
                  [](const listing_entry& a, const listing_entry& b) { return a.where < b.where; });
    }
}

std::string listing_txt(const listing_entry& e, const std::string& url_template) {
    const std::string where = format_prefix(e.where);
    if (is_rfc5782_test_point(e.where)) return "v6bl: RFC 5782 test point";
    // An operator's listing is described as one under whatever code it answers with.
    const reason_code described = e.manual ? reason_code::manual : e.code;
    std::string text;
    switch (described) {
        case reason_code::associated:
            text = "v6bl: " + where + " associated with " + std::to_string(e.rejected_ipv4s) +
                   " DNSBL-rejected IPv4 sender(s)";
            break;
        case reason_code::structural:
            text = "v6bl: " + where + " embeds or tunnels " + std::to_string(e.rejected_ipv4s) +
                   " DNSBL-rejected IPv4 sender(s)";
            break;
        case reason_code::escalated:
            text = "v6bl: " + where + " escalated from listed /64s inside it, " +
                   std::to_string(e.rejected_ipv4s) + " rejected IPv4 sender(s)";
            break;
        default:
            text = "v6bl: " + where + " listed by operator";
            if (!e.text.empty()) text += ": " + e.text.substr(0, 100);
            break;
    }
    if (described != reason_code::manual && described != reason_code::none) {
        text += "; " + std::to_string(e.attempts) + " attempts, first " + date_of(e.first_seen) +
                ", last " + date_of(e.last_seen);
    }
    if (!url_template.empty()) {
        std::string url = url_template;
        for (auto at = url.find("{prefix}"); at != std::string::npos;
             at = url.find("{prefix}", at + where.size()))
            url.replace(at, 8, where);
        text += "; " + url;
    }
    // A TXT character-string holds at most 255 bytes; keep only printable ASCII so the
    // text survives every zone file and log it passes through.
    for (char& c : text)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
    if (text.size() > 255) text.resize(255);
    return text;
}

std::string hole_txt(const prefix& hole) {
    return "v6bl: " + format_prefix(hole) + " is allowlisted";
}

listing_entry rfc5782_test_entry() {
    listing_entry e;
    e.where = make_prefix(ipv6_bytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 2}, 128);
    e.code = reason_code::associated;
    e.source_length = 128;
    return e;
}

bool is_rfc5782_test_point(const prefix& p) {
    return p == rfc5782_test_entry().where;
}

bool covers_rfc5782_unlisted_point(const prefix& p) {
    static const ipv6_bytes unlisted{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
    return p.covers(unlisted);
}

}  // namespace v6bl::store
