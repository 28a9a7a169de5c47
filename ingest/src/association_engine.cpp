// The association engine: candidate search in a sorted window, per-address round histories,
// and the scoring documented in docs/ingest.md ("Scoring").
#include "v6bl/ingest/association_engine.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "state_codec.h"
#include "v6bl/ingest/embedded_ipv4.h"

namespace v6bl::ingest {
namespace {

constexpr std::uint16_t cap_milli(int v) {
    return static_cast<std::uint16_t>(v < 0 ? 0 : (v > 1000 ? 1000 : v));
}

std::uint16_t structural_strength(embedding_kind k) {
    switch (k) {
        case embedding_kind::six_to_four:
            return 900;  // the gateway is the host's own IPv4
        case embedding_kind::isatap:
            return 800;
        case embedding_kind::teredo:
            return 750;  // the NAT's public side: may be shared
        case embedding_kind::iid_suffix:
            return 700;  // ::a.b.c.d numbering
        case embedding_kind::none:
            break;
    }
    return 0;
}

std::uint16_t structural_signal(embedding_kind k) {
    switch (k) {
        case embedding_kind::six_to_four:
            return sig_6to4;
        case embedding_kind::isatap:
            return sig_isatap;
        case embedding_kind::teredo:
            return sig_teredo;
        case embedding_kind::iid_suffix:
            return sig_iid_ipv4;
        case embedding_kind::none:
            break;
    }
    return 0;
}

// Rounds of `h` (start times), oldest first.
int rounds_of(const association_engine::round_history& h, std::int64_t* starts,
              std::uint16_t* ports) {
    const int n = h.count;
    for (int i = 0; i < n; ++i) {
        const int idx = (h.head - n + i + association_engine::history_rounds * 2) %
                        association_engine::history_rounds;
        starts[i] = h.start_us[idx];
        if (ports) ports[i] = h.port[idx];
    }
    return n;
}

std::uint64_t high64_of(const address_bytes& a) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | a[i];
    return v;
}

bool port_climbs(std::uint16_t older, std::uint16_t newer) {
    const auto d = static_cast<std::uint16_t>(newer - older);
    return d >= 1 && d <= 64;
}

}  // namespace

void association_engine::add(const connect_attempt& a) {
    pending_attempt p{a, false};
    // Closed attempts arrive nearly in start order: search from the back.
    auto it = pending_.end();
    while (it != pending_.begin() && std::prev(it)->a.start_us > a.start_us) --it;
    const auto pos = static_cast<std::size_t>(it - pending_.begin());
    // An attempt older than the evaluation cursor would be lost: it cannot happen while
    // settle_us covers the grouper's window, but keep the state consistent if it does.
    if (pos < eval_index_) {
        // Later than the evaluation cursor can take: record its round, never evaluate it.
        pending_.insert(pending_.begin() + static_cast<std::ptrdiff_t>(eval_index_), p);
        add_history(pending_[eval_index_]);
        ++history_index_;
        ++eval_index_;
        return;
    }
    if (pos < history_index_) {
        add_history(p);
        pending_.insert(it, p);
        ++history_index_;
        return;
    }
    pending_.insert(it, p);
}

namespace {
std::uint32_t v4_filter_slot(std::uint32_t v4, int bits) {
    return static_cast<std::uint32_t>((v4 * 0x9E3779B1u) >> (32 - bits));
}
}  // namespace

bool association_engine::v4_maybe_seen(std::uint32_t v4) const {
    const std::uint32_t b = v4_filter_slot(v4, v4_filter_bits);
    return (v4_filter_[b >> 6] >> (b & 63)) & 1u;
}

void association_engine::v4_mark_seen(std::uint32_t v4) {
    const std::uint32_t b = v4_filter_slot(v4, v4_filter_bits);
    v4_filter_[b >> 6] |= std::uint64_t{1} << (b & 63);
}

void association_engine::add_history(pending_attempt& p) {
    if (p.a.family == ip_family::v4) v4_mark_seen(ipv4_of(p.a.source));
    auto& h = history_[p.a.source];
    if (h.count > 0 && p.a.start_us - h.start_us[(h.head + history_rounds - 1) % history_rounds] <
                           options_.round_gap_us) {
        p.new_round = false;
        p.only_round = false;
    } else {
        h.start_us[h.head] = p.a.start_us;
        h.port[h.head] = p.a.source_port;
        h.head = static_cast<std::uint8_t>((h.head + 1) % history_rounds);
        if (h.count < history_rounds) ++h.count;
        ++h.total_rounds;
        p.new_round = true;
        p.only_round = h.count == 1;
        expiry_.push_back({p.a.source, p.a.start_us});
    }
    if (p.a.last_us > h.last_us) h.last_us = p.a.last_us;
}

void association_engine::evaluate(const pending_attempt& p, std::vector<association>& out) {
    const connect_attempt& a6 = p.a;
    if (a6.family != ip_family::v6 || !p.new_round) return;
    ++stats_.evaluated_v6_rounds;
    const bool six_to_four = is_6to4(a6.source);
    const embedded_ipv4 emb = find_embedded_ipv4(a6.source);

    std::int64_t s6[history_rounds], s4[history_rounds];
    std::uint16_t p6[history_rounds], p4[history_rounds];
    scratch_.clear();
    bool structural_paired = false;
    // On its first round an IPv6 address can only pair once (k <= 1), which scores at most
    // 350: below the emission threshold, only structural matches can matter. Skipping the
    // history lookups there keeps a busy sensor's one-shot traffic cheap. (`only_round`:
    // no later round of the address can be in the histories yet, so n6 is 1.)
    const bool first_round_only = p.only_round && options_.min_emit_milli > 350;
    const std::uint32_t iid_low32 = ipv4_of(a6.source);
    // Every candidate is already in the histories (step() adds attempts up to start + window
    // first), so when neither IPv4 the address could name has a history, no candidate can
    // count and the window need not be scanned: most of a busy sensor's IPv6 traffic.
    auto v4_history = [&](std::uint32_t v4) {
        return v4_maybe_seen(v4) && history_.find(address_from_ipv4(v4));
    };
    const bool no_candidate = first_round_only && !v4_history(iid_low32) &&
                              (emb.kind == embedding_kind::none || !v4_history(emb.ipv4));
    const round_history* h6p = no_candidate ? nullptr : history_.find(a6.source);
    const int n6 = h6p ? rounds_of(*h6p, s6, p6) : 1;
    const std::int64_t lo = a6.start_us - options_.pair_window_us;
    const std::int64_t hi = a6.start_us + options_.pair_window_us;
    auto first = h6p ? std::lower_bound(pending_.begin(), pending_.end(), lo,
                                        [](const pending_attempt& x, std::int64_t t) {
                                            return x.a.start_us < t;
                                        })
                     : pending_.end();
    for (auto it = first; it != pending_.end() && it->a.start_us <= hi; ++it) {
        const connect_attempt& a4 = it->a;
        if (a4.family != ip_family::v4) continue;
        const std::uint32_t v4 = ipv4_of(a4.source);
        if (first_round_only && v4 != iid_low32 &&
            !(emb.kind != embedding_kind::none && emb.ipv4 == v4))
            continue;
        ++stats_.candidates;
        const std::int64_t dt = a6.start_us - a4.start_us;  // > 0: IPv4 first
        const std::int64_t adt = std::llabs(dt);
        std::uint16_t sig = sig_timing;
        if (adt <= options_.tight_us) sig |= sig_tight_timing;
        // RFC 6724: native IPv6 before IPv4, 6to4 after IPv4.
        if ((six_to_four && dt > 0) || (!six_to_four && dt < 0)) sig |= sig_order_rfc6724;
        if (a4.syn_count == a6.syn_count) sig |= sig_syn_count;
        const bool same_os = a4.ttl_class == a6.ttl_class && a4.os == a6.os;
        if (same_os && a4.options == a6.options) sig |= sig_os_match;
        if (!same_os) continue;  // one host, one OS: a TTL class or stack mismatch rules it out
        const int dport =
            static_cast<std::int16_t>(static_cast<std::uint16_t>(a6.source_port - a4.source_port));
        if (a6.os == os_class::windows && std::abs(dport) <= options_.port_proximity)
            sig |= sig_port_proximity;
        if (dport == 1 && dt > 0) sig |= sig_exchange_port;
        const bool iid_match = ipv4_of(a6.source) == v4;
        if (iid_match) sig |= sig_iid_ipv4;
        if (emb.kind != embedding_kind::none && emb.ipv4 == v4) sig |= structural_signal(emb.kind);
        // An IPv4 whose only round is this one pairs on one round at most (rounds are 60 s
        // apart, so no later round of it is in the histories yet): it scores <= 350, is
        // not emitted and cannot change the winner among emitted candidates.
        if (it->only_round && !(sig & structural_signals) && options_.min_emit_milli > 350)
            continue;

        // Repetition: over the period both round histories cover (a NAT's IPv4 fills its
        // history fast, so that period is short), the IPv6 rounds that have a round of this
        // IPv4 nearby, against all rounds of either address in the period.
        int k = 0, n4 = 0, n6p = 0;
        std::uint16_t last_p4 = 0, prev_p4 = 0;
        const round_history* h4 = history_.find(a4.source);
        if (h4) {
            const int m = rounds_of(*h4, s4, p4);
            const std::int64_t from =
                (m > 0 ? std::max(s6[0], s4[0]) : s6[0]) - options_.pair_window_us;
            for (int i = 0; i < n6; ++i) {
                if (s6[i] < from) continue;
                ++n6p;
                for (int j = 0; j < m; ++j)
                    if (std::llabs(s6[i] - s4[j]) <= options_.pair_window_us) {
                        ++k;
                        break;
                    }
            }
            for (int j = 0; j < m; ++j)
                if (s4[j] >= from) ++n4;
            if (m >= 2) {
                last_p4 = p4[m - 1];
                prev_p4 = p4[m - 2];
            }
        }
        if (n4 == 0) n4 = 1;
        if (k >= 2 && n6 >= 2 && port_climbs(p6[n6 - 2], p6[n6 - 1]) &&
            port_climbs(prev_p4, last_p4))
            sig |= sig_port_progression;
        if (n6p == 0) n6p = 1;
        const std::uint32_t total4 = h4 ? h4->total_rounds : 0;
        const bool busy_v4 = total4 > options_.max_round_ratio_v4 * h6p->total_rounds + 2;
        // NAT: remember /64s that pair with this IPv4 on repeated rounds; another /64 seen
        // so recently means several hosts share the IPv4.
        bool shared = false;
        if (h4 && k >= 2 && k >= options_.min_share_v6 * n6p) {
            partner_set& ps = partners_[a4.source];
            const std::uint64_t me = high64_of(a6.source);
            int slot = -1, oldest = 0;
            for (int i = 0; i < partner_set::max_partners; ++i) {
                if (ps.partner_us[i] == 0) continue;
                if (ps.partner64[i] == me) {
                    slot = i;
                } else if (a6.start_us - ps.partner_us[i] <= options_.partner_horizon_us) {
                    shared = true;
                }
            }
            if (slot < 0) {
                for (int i = 0; i < partner_set::max_partners; ++i)
                    if (ps.partner_us[i] < ps.partner_us[oldest]) oldest = i;
                slot = oldest;
            }
            ps.partner64[slot] = me;
            ps.partner_us[slot] = a6.start_us;
        }
        if (busy_v4) shared = true;
        if (shared) sig |= sig_shared_ipv4;
        const bool repeated = k >= options_.min_rounds && k >= options_.min_share_v6 * n6p &&
                              k >= options_.min_share_v4 * n4;
        if (repeated) sig |= sig_repetition;

        int score;
        if (sig & structural_signals) {
            score = 900 + ((sig & sig_tight_timing) ? 50 : 0);
            structural_paired = true;
        } else if (repeated) {
            score = 650 + 50 * std::min(k - options_.min_rounds, 4);
            if (sig & sig_tight_timing) score += 50;
            if (sig & (sig_exchange_port | sig_port_proximity)) score += 50;
            if (sig & sig_port_progression) score += 25;
        } else if ((sig & sig_exchange_port) && (sig & sig_tight_timing) && (sig & sig_syn_count) &&
                   a6.syn_count >= 3 && k >= 2 && k >= options_.min_share_v6 * n6p) {
            // Windows shared pool, IPv4 then IPv6 on the next port within 0.5 s, three SYNs
            // each, on two rounds: the Exchange signature. One round is not enough at a busy
            // sensor (a stranger hits port - 1 about once per 10^4 Windows attempts).
            score = 650;
        } else if (k >= 2 && k >= options_.min_share_v6 * n6p && k >= options_.min_share_v4 * n4) {
            score = 450 + ((sig & sig_tight_timing) ? 50 : 0) + ((sig & sig_os_match) ? 50 : 0);
        } else {
            // Seen together once: a busy second explains that as well as one host does.
            score = 150 + ((sig & sig_tight_timing) ? 100 : 0) +
                    ((sig & sig_syn_count) && (sig & sig_os_match) ? 50 : 0) +
                    ((sig & sig_port_proximity) ? 50 : 0);
        }
        // The pairing may well be real, but a shared IPv4 speaks for several hosts.
        if (shared && !(sig & structural_signals)) score = std::min(score, 450);
        association as;
        as.ipv6 = a6.source;
        as.ipv4 = v4;
        as.time_us = a6.start_us;
        as.strength_milli = cap_milli(score);
        as.signals = sig;
        as.rounds = static_cast<std::uint16_t>(k < 1 ? 1 : k);
        as.sensors = options_.sensor_bit;
        scratch_.push_back(as);
    }
    // One host has one IPv4: only a candidate clearly ahead of the others (by 50) keeps a
    // listable score; a tie at the top (lockstep strangers) lists none of them. Structural
    // pairings name the IPv4 outright and are exempt.
    std::size_t best = scratch_.size();
    int best_score = -1, runner_up = -1;
    for (std::size_t i = 0; i < scratch_.size(); ++i) {
        const int sc = scratch_[i].strength_milli;
        if (sc > best_score) {
            runner_up = best_score;
            best_score = sc;
            best = i;
        } else if (sc > runner_up) {
            runner_up = sc;
        }
    }
    const bool clear_winner = best < scratch_.size() && best_score - runner_up >= 50;
    if (!clear_winner && best_score >= options_.listable_milli) ++stats_.ambiguous;
    const auto capped = static_cast<std::uint16_t>(options_.listable_milli - 50);
    for (std::size_t i = 0; i < scratch_.size(); ++i) {
        auto& as = scratch_[i];
        if (as.signals & structural_signals) continue;
        if ((i != best || !clear_winner) && as.strength_milli > capped) as.strength_milli = capped;
    }
    for (const auto& as : scratch_)
        if (as.strength_milli >= options_.min_emit_milli) out.push_back(as);
    // The address names an IPv4 by itself: report it even when that IPv4 tried no attempt.
    if (emb.kind != embedding_kind::none && !structural_paired) {
        association as;
        as.ipv6 = a6.source;
        as.ipv4 = emb.ipv4;
        as.time_us = a6.start_us;
        as.strength_milli = structural_strength(emb.kind);
        as.signals = structural_signal(emb.kind);
        as.rounds = 1;
        as.sensors = options_.sensor_bit;
        out.push_back(as);
    }
}

void association_engine::step(std::vector<association>& out) {
    pending_attempt& e = pending_[eval_index_];
    // Every attempt that could be e's candidate must be in the histories first.
    while (history_index_ < pending_.size() &&
           pending_[history_index_].a.start_us <= e.a.start_us + options_.pair_window_us) {
        add_history(pending_[history_index_]);
        ++history_index_;
    }
    evaluate(e, out);
    const std::int64_t keep_from = e.a.start_us - options_.pair_window_us;
    ++eval_index_;
    while (!pending_.empty() && eval_index_ > 0 && history_index_ > 0 &&
           pending_.front().a.start_us < keep_from) {
        pending_.pop_front();
        --eval_index_;
        --history_index_;
    }
}

void association_engine::advance(std::int64_t now_us, std::vector<association>& out) {
    while (eval_index_ < pending_.size() &&
           pending_[eval_index_].a.start_us + options_.pair_window_us + options_.settle_us <=
               now_us)
        step(out);
    housekeep(now_us);
}

void association_engine::flush(std::vector<association>& out) {
    while (eval_index_ < pending_.size()) step(out);
    while (history_index_ < pending_.size()) {
        add_history(pending_[history_index_]);
        ++history_index_;
    }
    pending_.clear();
    eval_index_ = history_index_ = 0;
}

void association_engine::housekeep(std::int64_t now_us) {
    if (now_us < next_housekeeping_us_) return;
    // Every minute of capture time (not wall time: replays must prune identically).
    next_housekeeping_us_ = now_us + 60'000'000;
    const std::int64_t base = now_us - options_.settle_us;
    while (!expiry_.empty() && expiry_.front().round_us < base - options_.single_round_horizon_us) {
        const expiry_t e = expiry_.front();
        expiry_.pop_front();
        const round_history* hp = history_.find(e.address);
        if (!hp) continue;
        const round_history& h = *hp;
        const std::int64_t newest = h.start_us[(h.head + history_rounds - 1) % history_rounds];
        if (newest != e.round_us) continue;  // a later round queued its own entry
        const std::int64_t horizon =
            h.count > 1 ? options_.history_horizon_us : options_.single_round_horizon_us;
        if (h.last_us < base - horizon) {
            history_.erase(e.address);
            partners_.erase(e.address);
        } else {
            expiry_.push_back(e);  // several rounds: keep for the long horizon
        }
    }
}

void association_engine::save(std::string& out) const {
    state_writer w(out);
    w.put_u32(4);  // state format version
    w.put_u64(static_cast<std::uint64_t>(next_housekeeping_us_));
    w.put_u64(history_index_);
    w.put_u64(eval_index_);
    w.put_u64(pending_.size());
    for (const auto& p : pending_) w.put_pod(p);
    // Most addresses at a busy sensor are seen on one round: those are saved compactly.
    struct single_round {
        address_bytes address;
        std::int64_t start_us;
        std::int64_t last_us;
        std::uint16_t port;
    };
    auto single = [](const round_history& h) {
        return h.count == 1 && h.head == 1 && h.total_rounds == 1;
    };
    std::uint64_t singles = 0;
    history_.for_each(
        [&](const address_bytes&, const round_history& h) { singles += single(h) ? 1 : 0; });
    w.put_u64(history_.size() - singles);
    history_.for_each([&](const address_bytes& k, const round_history& h) {
        if (single(h)) return;
        w.put_pod(k);
        w.put_pod(h);
    });
    w.put_u64(singles);
    history_.for_each([&](const address_bytes& k, const round_history& h) {
        if (single(h)) w.put_pod(single_round{k, h.start_us[0], h.last_us, h.port[0]});
    });
    w.put_u64(partners_.size());
    partners_.for_each([&](const address_bytes& k, const partner_set& ps) {
        w.put_pod(k);
        w.put_pod(ps);
    });
    w.put_u64(expiry_.size());
    for (const auto& e : expiry_) w.put_pod(e);
    w.put_pod(stats_);
}

bool association_engine::restore(std::string_view in) {
    state_reader r(in);
    pending_.clear();
    history_.clear();
    partners_.clear();
    expiry_.clear();
    if (r.get_u32() != 4) return false;
    next_housekeeping_us_ = static_cast<std::int64_t>(r.get_u64());
    history_index_ = r.get_u64();
    eval_index_ = r.get_u64();
    const std::uint64_t n = r.get_u64();
    if (!r.fits(n, sizeof(pending_attempt))) return false;
    for (std::uint64_t i = 0; i < n; ++i) pending_.push_back(r.get_pod<pending_attempt>());
    const std::uint64_t m = r.get_u64();
    if (!r.fits(m, sizeof(address_bytes) + sizeof(round_history))) return false;
    history_.reserve(m);
    for (std::uint64_t i = 0; i < m; ++i) {
        const auto k = r.get_pod<address_bytes>();
        history_[k] = r.get_pod<round_history>();
    }
    struct single_round {
        address_bytes address;
        std::int64_t start_us;
        std::int64_t last_us;
        std::uint16_t port;
    };
    const std::uint64_t singles = r.get_u64();
    if (!r.fits(singles, sizeof(single_round))) return false;
    history_.reserve(m + singles);
    for (std::uint64_t i = 0; i < singles; ++i) {
        const auto sr = r.get_pod<single_round>();
        round_history h;
        h.start_us[0] = sr.start_us;
        h.port[0] = sr.port;
        h.count = 1;
        h.head = 1;
        h.last_us = sr.last_us;
        h.total_rounds = 1;
        history_[sr.address] = h;
    }
    const std::uint64_t np = r.get_u64();
    if (!r.fits(np, sizeof(address_bytes) + sizeof(partner_set))) return false;
    for (std::uint64_t i = 0; i < np; ++i) {
        const auto k = r.get_pod<address_bytes>();
        partners_[k] = r.get_pod<partner_set>();
    }
    const std::uint64_t ne = r.get_u64();
    if (!r.fits(ne, sizeof(expiry_t))) return false;
    for (std::uint64_t i = 0; i < ne; ++i) expiry_.push_back(r.get_pod<expiry_t>());
    stats_ = r.get_pod<association_stats>();
    history_.for_each([&](const address_bytes& k, const round_history&) {
        std::uint64_t hi;
        std::memcpy(&hi, k.data(), 8);
        if (hi == 0 && k[8] == 0 && k[9] == 0 && k[10] == 0 && k[11] == 0) v4_mark_seen(ipv4_of(k));
    });
    if (!r.ok() || history_index_ > pending_.size() || eval_index_ > pending_.size()) {
        pending_.clear();
        history_.clear();
        history_index_ = eval_index_ = 0;
        return false;
    }
    return true;
}

}  // namespace v6bl::ingest
