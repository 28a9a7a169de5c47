// The association engine: candidate search in a sorted window, per-address round histories,
// and the scoring documented in docs/ingest.md ("Scoring").
#include "v6bl/ingest/association_engine.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

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

std::uint64_t high64_of(const address_bytes& a) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | a[i];
    return v;
}

// Whether a round start of `v` lies within `d` of each time asked (|start - t| <= d, as
// differences: no sum that a huge `d` overflows). A ring's starts ascend with a positive
// round gap (add() opens a round only that long after the newest), and the times asked
// (another ring's) ascend too: one pass over the starts serves them all, from where the
// last time left off. A time that goes back starts over; starts out of order (a negative
// gap, a state file made by hand) are each tried.
class start_cursor {
  public:
    start_cursor(const round_history_table::rounds_view& v, std::int64_t d) : v_(v), d_(d) {
        for (int i = 1; i < v.count; ++i) ascending_ &= v.start_us[i] >= v.start_us[i - 1];
    }
    bool within(std::int64_t t) {
        if (!ascending_) {
            for (int q = 0; q < v_.count; ++q)
                if (std::llabs(v_.start_us[q] - t) <= d_) return true;
            return false;
        }
        if (t < last_) j_ = 0;
        last_ = t;
        while (j_ < v_.count && t - v_.start_us[j_] > d_) ++j_;
        return j_ < v_.count && v_.start_us[j_] - t <= d_;
    }

  private:
    const round_history_table::rounds_view& v_;
    std::int64_t d_;
    bool ascending_ = true;
    int j_ = 0;
    std::int64_t last_ = INT64_MIN;
};

// Whether a round of `v` was under way at `t`: from its start to its span's end, give or
// take `w`.
bool under_way_at(const round_history_table::rounds_view& v, std::int64_t t, std::int64_t w) {
    for (int q = 0; q < v.count; ++q)
        if (v.start_us[q] - w <= t && t <= v.start_us[q] + v.span_of(q) + w) return true;
    return false;
}

bool port_climbs(std::uint16_t older, std::uint16_t newer) {
    const auto d = static_cast<std::uint16_t>(newer - older);
    return d >= 1 && d <= 64;
}

}  // namespace

namespace {

// Drops the front of a list in start order up to `t` (what starts before it).
template <typename List>
void drop_before(List& list, std::int64_t t) {
    while (!list.empty() && list.front().start_us < t) list.pop_front();
}

// How far ahead of its use a history slot is prefetched: enough attempts to cover a cache
// miss (hundreds of ns on this kind of VM), few enough that the lines are still there.
constexpr std::size_t prefetch_distance = 16;

}  // namespace

// Arrivals are staged; anything that could be a history or a candidate before the next
// merge is merged first (see advance()).
constexpr std::size_t max_staged = 4096;

void association_engine::add(const connect_attempt& a) {
    pending_attempt p;
    p.a = a;
    p.hash = static_cast<std::uint32_t>(round_history_table::hash(a.source));
    if (staged_.empty() || a.start_us < staged_min_start_us_) staged_min_start_us_ = a.start_us;
    staged_.push_back(p);
    if (staged_.size() >= max_staged) merge_staged();
}

// An attempt that sorts before the history cursor (the grouper's window exceeds settle_us,
// or a capture out of order): it goes where one-by-one insertion always put it.
void association_engine::insert_late(const pending_attempt& p) {
    std::size_t pos = pending_.size();
    while (pos > 0 && pending_[pos - 1].a.start_us > p.a.start_us) --pos;
    if (pos < eval_index_) {
        // Later than the evaluation cursor can take: record its round, never evaluate it.
        pending_.insert(eval_index_, p);
        add_history(pending_[eval_index_]);
        ++history_index_;
        ++eval_index_;
        return;
    }
    pending_attempt q = p;
    add_history(q);
    pending_.insert(pos, q);
    ++history_index_;
}

void association_engine::merge_staged() {
    if (staged_.empty()) return;
    // Late ones first, in arrival order, as they came.
    if (history_index_ > 0) {
        const std::int64_t cursor = pending_[history_index_ - 1].a.start_us;
        std::size_t kept = 0;
        for (std::size_t i = 0; i < staged_.size(); ++i) {
            if (staged_[i].a.start_us < cursor)
                insert_late(staged_[i]);
            else if (kept++ != i)
                staged_[kept - 1] = staged_[i];
        }
        staged_.resize(kept);
        if (staged_.empty()) return;  // all of them were late
    }
    // The rest sorts at or after the history cursor: a stable merge of the sorted batch
    // with pending_'s tail gives the order of one-by-one insertion (earlier arrivals first
    // among equal starts).
    // Sorted as (start, arrival) keys, 16 bytes each, rather than moving the 64-byte
    // attempts around: the same order as a stable sort by start. The grouper closes a
    // one-SYN attempt exactly a window after its start, so those arrive in start order
    // already: the keys that keep arriving in order are set apart as they are, only the
    // others (attempts of several SYNs, closed later) are sorted, and the two merged.
    staged_order_.clear();
    staged_late_.clear();
    for (std::size_t k = 0; k < staged_.size(); ++k) {
        const std::int64_t t = staged_[k].a.start_us;
        if (staged_order_.empty() || t >= staged_order_.back().first)
            staged_order_.emplace_back(t, k);
        else
            staged_late_.emplace_back(t, k);
    }
    if (!staged_late_.empty()) {
        std::sort(staged_late_.begin(), staged_late_.end());
        staged_merged_.resize(staged_order_.size() + staged_late_.size());
        std::merge(staged_order_.begin(), staged_order_.end(), staged_late_.begin(),
                   staged_late_.end(), staged_merged_.begin());
        staged_order_.swap(staged_merged_);
    }
    const std::int64_t first = staged_order_.front().first;
    std::size_t cut = pending_.size();
    while (cut > history_index_ && pending_[cut - 1].a.start_us > first) --cut;
    merge_tail_.clear();
    for (std::size_t i = cut; i < pending_.size(); ++i) merge_tail_.push_back(pending_[i]);
    while (pending_.size() > cut) pending_.pop_back();
    std::size_t i = 0, j = 0;
    while (i < merge_tail_.size() || j < staged_order_.size()) {
        if (j == staged_order_.size() ||
            (i < merge_tail_.size() && merge_tail_[i].a.start_us <= staged_order_[j].first))
            pending_.push_back(merge_tail_[i++]);
        else
            pending_.push_back(staged_[staged_order_[j++].second]);
    }
    staged_.clear();
}

void association_engine::window_remove(const pending_attempt& p) {
    if (p.a.family != ip_family::v4) return;
    const std::uint32_t v4 = ipv4_of(p.a.source);
    std::uint32_t* n = window_v4_.find(v4);
    if (n && --*n == 0) window_v4_.erase(v4);
}

void association_engine::add_history(pending_attempt& p) {
    // Histories are added in start order (but for late attempts): the clock that decides
    // which histories have expired.
    history_.advance_clock(p.a.start_us);
    const auto r = history_.add(p.a.source, p.hash, p.a.start_us, p.a.last_us, p.a.source_port,
                                options_.round_gap_us);
    p.new_round = r.new_round;
    p.only_round = r.only_round;
    p.continuous = r.new_round && r.quiet_us < options_.round_gap_us;
    if (p.a.family != ip_family::v4) {
        note_v6_round(p);
        return;
    }
    ++window_v4_[ipv4_of(p.a.source)];
    // A candidate counts only if its IPv4 has two rounds or more when an IPv6 attempt
    // within ±2 s is scored (else k <= 1: it scores <= 350 and updates no partner set).
    // By then the histories reach 2 s past that IPv6 attempt, so at most 4 s past this
    // one: a single round that started less than round_gap − 4 s before it stays single.
    if (p.only_round) return;
    const bool may_gain_round =
        p.a.start_us + 2 * options_.pair_window_us - r.round_us >= options_.round_gap_us;
    if (r.rounds >= 2 || may_gain_round) note_candidate(p, r.history, !may_gain_round);
}

void association_engine::note_v6_round(const pending_attempt& p) {
    if (!p.new_round || p.only_round || p.continuous) return;
    // Histories are added in start order, so this is an append but for a late attempt.
    std::size_t pos = v6_rounds_.size();
    while (pos > 0 && v6_rounds_[pos - 1].start_us > p.a.start_us) --pos;
    v6_rounds_.insert(pos, v6_round{p.a.start_us, p.a.source, p.hash});
}

void association_engine::note_candidate(const pending_attempt& p,
                                        const round_history_table::entry* h, bool rounds_final) {
    const connect_attempt& a = p.a;
    v4_candidate c{a.start_us,    a.options,   ipv4_of(a.source), p.hash,
                   a.source_port, a.syn_count, a.ttl_class,       a.os};
    if (h && rounds_final) {
        const round_history_table::rounds_view r = history_.rounds_of(*h);
        c.rounds_final = true;
        c.round_count = static_cast<std::uint8_t>(r.count);
        c.total_rounds = r.total_rounds;
        std::copy(r.start_us, r.start_us + r.count, c.round_start);
        std::copy(r.port, r.port + r.count, c.round_port);
        for (int i = 0; i < r.count; ++i)
            c.round_span[i] = static_cast<std::uint32_t>(r.span_of(i));
    }
    if (c.start_us < candidates_keep_from_ && !late_candidates_) {
        // A late attempt from before the last evaluated one's window, which an attempt
        // evaluated out of order may still score: every list is pruned as the last step
        // left it, and is not pruned again until the next step (step()).
        for (auto& list : v4_candidates_) drop_before(list, candidates_keep_from_);
        late_candidates_ = true;
    }
    ring_buffer<v4_candidate>& list = v4_candidates_[candidate_class(a.ttl_class, a.os)];
    if (!late_candidates_) drop_before(list, candidates_keep_from_);
    // Histories are added in start order, so this is an append but for a late attempt.
    std::size_t pos = list.size();
    while (pos > 0 && list[pos - 1].start_us > c.start_us) --pos;
    list.insert(pos, c);
}

ring_buffer<association_engine::v4_candidate>& association_engine::candidates_from(
    std::uint8_t ttl_class, os_class os, std::int64_t from, std::size_t& first) {
    ring_buffer<v4_candidate>& list = v4_candidates_[candidate_class(ttl_class, os)];
    if (!late_candidates_) drop_before(list, candidates_keep_from_);
    // Evaluations come in start order (nearly always) and the list was just pruned to the
    // previous one's pair window: the start of this one's is a few entries in (a walk finds
    // it), a time further in (record_close_ipv4s), or one after an evaluation out of order,
    // is searched for.
    constexpr std::size_t walk = 8;
    std::size_t i = 0;
    while (i < walk && i < list.size() && list[i].start_us < from) ++i;
    if (i == walk)
        i = list.lower_bound(from,
                             [](const v4_candidate& x, std::int64_t t) { return x.start_us < t; });
    first = i;
    return list;
}

void association_engine::clear_candidates() {
    for (auto& list : v4_candidates_) list.clear();
    candidates_keep_from_ = INT64_MIN;
    late_candidates_ = false;
}

void association_engine::evaluate(const pending_attempt& p, std::vector<association>& out) {
    const connect_attempt& a6 = p.a;
    if (a6.family != ip_family::v6 || !p.new_round) return;
    ++stats_.evaluated_v6_rounds;
    // (an address never quiet has no retry rounds: it pairs structurally or not at all)
    if (!p.continuous) record_close_ipv4s(p);
    const bool six_to_four = is_6to4(a6.source);
    const embedded_ipv4 emb = find_embedded_ipv4(a6.source);
    scratch_.clear();
    refs_.clear();
    structural_refs_.clear();
    bool structural_paired = false;
    // On its first round an IPv6 address can only pair once (k <= 1), which scores at most
    // 350: below the emission threshold, only structural matches can matter. (`only_round`:
    // no later round of the address can be in the histories yet, so it has one round.)
    const bool first_round_only = p.only_round && options_.min_emit_milli > 350;
    const std::uint32_t iid_low32 = ipv4_of(a6.source);
    auto structural_v4 = [&](std::uint32_t v4) {
        return v4 == iid_low32 || (emb.kind != embedding_kind::none && emb.ipv4 == v4);
    };
    // Every candidate is already in the histories (step() adds attempts up to start + window
    // first), so when neither IPv4 the address could name has an attempt there, no
    // candidate is structural. Then a first round has no candidate that counts (most of a
    // busy sensor's IPv6 traffic), and a repeat round needs only the IPv4 attempts that can
    // pair on more than one round: the others score <= 350, below emission, and cannot
    // change the winner among emitted candidates.
    const bool structural_possible =
        window_v4_.find(iid_low32) ||
        (emb.kind != embedding_kind::none && window_v4_.find(emb.ipv4));
    const round_history_table::entry* h6 = nullptr;
    if (!first_round_only || structural_possible) h6 = history_.find(a6.source, p.hash);
    if (h6) {
        const std::int64_t lo = a6.start_us - options_.pair_window_us;
        const std::int64_t hi = a6.start_us + options_.pair_window_us;
        auto same_os = [&](std::uint8_t ttl_class, os_class os) {
            // one host, one OS: a TTL class or stack mismatch rules a candidate out
            return ttl_class == a6.ttl_class && os == a6.os;
        };
        if (structural_possible) {
            const std::size_t first = pending_.lower_bound(
                lo, [](const pending_attempt& x, std::int64_t t) { return x.a.start_us < t; });
            for (std::size_t i = first; i < pending_.size() && pending_[i].a.start_us <= hi; ++i) {
                const pending_attempt* it = &pending_[i];
                const connect_attempt& a4 = it->a;
                if (a4.family != ip_family::v4) continue;
                const std::uint32_t v4 = ipv4_of(a4.source);
                const bool structural = structural_v4(v4);
                if (first_round_only && !structural) continue;
                if (!same_os(a4.ttl_class, a4.os)) continue;
                if (it->only_round && !structural && options_.min_emit_milli > 350) continue;
                structural_refs_.push_back(v4_candidate{a4.start_us, a4.options, v4, it->hash,
                                                        a4.source_port, a4.syn_count, a4.ttl_class,
                                                        a4.os});
            }
            for (const v4_candidate& c : structural_refs_) refs_.push_back(&c);
        } else {
            std::size_t i = 0;
            const ring_buffer<v4_candidate>& list = candidates_from(a6.ttl_class, a6.os, lo, i);
            for (; i < list.size() && list[i].start_us <= hi; ++i)
                if (same_os(list[i].ttl_class, list[i].os)) refs_.push_back(&list[i]);
        }
    }
    if (!refs_.empty()) {
        // A candidate whose IPv4 has no second round cannot pair on two (k <= 1: it scores
        // <= 350, below emission, and updates no partner set): unless it is structural it
        // is dropped here. The others' rounds come from the copy taken when the attempt
        // joined the histories or, where that copy may be stale, from the table: each of
        // those lookups (the entry, then its ring) is a cache miss, so all are asked for
        // before any is used.
        for (const v4_candidate* c : refs_)
            if (!c->rounds_final) history_.prefetch(c->hash);
        const round_history_table::rounds_view r6 = history_.rounds_of(*h6);
        // Most candidates (96 % at a busy sensor) pair on one round at most: those are
        // told apart from the rest by the time buckets of their rounds before scoring.
        const bool filter = round_filter_.mark(r6.start_us, r6.count, options_.pair_window_us,
                                               options_.round_gap_us);
        scored_.clear();
        for (const v4_candidate* c : refs_) {
            if (c->rounds_final) {
                if ((c->round_count >= 2 &&
                     (!filter || round_filter_.may_pair_twice(c->round_start, c->round_count))) ||
                    structural_v4(c->ipv4))
                    scored_.push_back({c, nullptr});
                continue;
            }
            const round_history_table::entry* e4 =
                history_.find(address_from_ipv4(c->ipv4), c->hash);
            if ((!e4 || e4->rounds < 2) && !structural_v4(c->ipv4)) continue;
            if (e4) history_.prefetch_ring(*e4);
            scored_.push_back({c, e4});
        }
        for (const auto& [c, e4] : scored_) {
            round_history_table::rounds_view r4;
            const round_history_table::rounds_view* r4p = &r4;
            if (c->rounds_final)
                r4 = c->rounds();
            else if (e4)
                r4 = history_.rounds_of(*e4);
            else
                r4p = nullptr;
            score(a6, r6, six_to_four, emb, *c, r4p, structural_paired);
        }
        if (filter) round_filter_.unmark(r6.start_us, r6.count);
    }
    // One host has one IPv4: only a candidate clearly ahead of the others (by 50) keeps a
    // listable score; a tie at the top (lockstep strangers) lists none of them. Structural
    // pairings name the IPv4 outright and are exempt.
    // Several attempts of one IPv4 in the window (parallel connections) are one candidate:
    // the runner-up is the best other IPv4.
    std::size_t best = scratch_.size();
    int best_score = -1, runner_up = -1;
    for (std::size_t i = 0; i < scratch_.size(); ++i)
        if (scratch_[i].strength_milli > best_score) {
            best_score = scratch_[i].strength_milli;
            best = i;
        }
    for (std::size_t i = 0; i < scratch_.size(); ++i)
        if (scratch_[i].ipv4 != scratch_[best].ipv4)  // (scratch_ not empty: best is in it)
            runner_up = std::max<int>(runner_up, scratch_[i].strength_milli);
    bool clear_winner = best < scratch_.size() && best_score - runner_up >= 50;
    // Another IPv4 that was with the IPv6 as often is another host in lockstep as far as
    // repetition can tell, whether or not the IPv6 explains its own rounds (a NAT's IPv4
    // has the other members' too): timing bonuses do not pick one, only more rounds
    // together do, or an IPv4 close to the IPv6 on every round when it is the only one
    // (close_rounds_winner).
    const auto capped = static_cast<std::uint16_t>(options_.listable_milli - 50);
    if (best < scratch_.size() && best_score > capped &&
        !(scratch_[best].signals & structural_signals) &&
        (!clear_winner || another_ipv4_attended(history_.rounds_of(*h6), a6.start_us,
                                                scratch_[best].ipv4, scratch_[best].rounds))) {
        // Lockstep (two IPv4s as often, or a tie at the top): only an IPv4 that was close to
        // the IPv6 on every round, the one such, is the host's.
        const round_history_table::rounds_view r6 = history_.rounds_of(*h6);
        const std::size_t pick = close_rounds_winner(r6, r6.total_rounds);
        clear_winner = pick < scratch_.size();
        if (clear_winner) best = pick;
    }
    // An IPv6 address that never goes quiet between its rounds (a provider MTA hammering
    // every few seconds) has no retry rounds to pair on: its round starts are the round
    // gap's, one a minute, which another sender's minute-apart round starts drift past
    // (meeting three in a row: repetition), and with thousands of attempts chance gives it
    // a port - 1 stranger on two (the Exchange signature). Only structural pairings name
    // its IPv4.
    if (!clear_winner && best_score >= options_.listable_milli) ++stats_.ambiguous;
    if (p.continuous && clear_winner && !(scratch_[best].signals & structural_signals))
        clear_winner = false;  // (not ambiguous: there is no retry round to decide on)
    // Nor is a timing winner believed when another /64 tried in the same window and the
    // winner's IPv4 met its rounds as often, close on every one: one IPv4 in lockstep with
    // two IPv6 hosts. Nor is the IPv4 taken as this /64's partner then, which would make
    // it shared for the other (when that one is the closer, its own).
    if (clear_winner && scratch_[best].strength_milli > capped &&
        !(scratch_[best].signals & structural_signals) &&
        another_ipv6_attended(a6, scratch_[best].ipv4, scratch_[best].rounds)) {
        clear_winner = false;
        attended_.clear();
    }
    // Nor when another IPv4 came close to every round of the IPv6 the memo holds, by any
    // attempt: a NAT's IPv4 carrying the member's own fallback attempts (at 20,000 hosts and
    // 30/s, a member was listed beside an IPv4-only spammer 0.06-0.98 s away on its three
    // rounds while the NAT's came 0.08-0.25 s after each, once inside a round another member
    // had opened, once as a round start its ring had dropped by the third). Nor is the
    // winner's IPv4 given this /64 as a partner then: it is a stranger's (a spammer's own,
    // often), whose own pairing would find it shared.
    if (clear_winner && scratch_[best].strength_milli > capped &&
        !(scratch_[best].signals & structural_signals) &&
        another_ipv4_close_each_round(p, history_.rounds_of(*h6), scratch_[best].ipv4)) {
        clear_winner = false;
        attended_.clear();
    }
    note_partner(a6);
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
    // An IPv4 the address names (6to4, Teredo, ISATAP, an ::a.b.c.d IID, or IID low bits
    // equal to an IPv4 that tried in the window) is its host's, or its site's, from the
    // first round on, as the structural association above says: another /64 paired with
    // that IPv4 by timing alone within the partner horizon shares it (below: score()), as
    // a stranger in lockstep with a NAT member on three rounds does. Only repeated
    // pairings note a partner otherwise, since two rounds together happen by chance.
    if (emb.kind != embedding_kind::none) remember_partner(emb.ipv4, a6);
    for (const association& as : scratch_)
        if ((as.signals & sig_iid_ipv4) &&
            !(emb.kind != embedding_kind::none && emb.ipv4 == as.ipv4))
            remember_partner(as.ipv4, a6);
}

// Whether an IPv6 of another /64 that started a round in this evaluation's window had as
// many of its rounds met by `v4`'s round starts as the winner, and 75 % of them (the
// IPv6-side share of `repetition`), each within close_us: the twin of
// another_ipv4_attended(), two hosts' IPv6s in lockstep with one IPv4. The IPv4 is the one
// host's or the other's, and whichever IPv6 is evaluated first would take it (and make it
// its partner, so that the other, the IPv4's own host perhaps, finds it shared): at 12,000
// hosts and 260/s a NAT member was listed beside a Postfix spammer 0.2 s away on all three
// rounds, and the spammer was not. When this IPv6 was close on every round too, the
// other's evaluation finds this one and neither wins; when it was not, the other, the
// closer, can. Addresses that are never quiet (`continuous`) have no retry rounds to
// compare. Only IPv6s within the pair window of this one are looked at (those are in the
// histories now): one 2 to 2.75 s away, close to an IPv4 1.6 s from this one, is not.
// Only a winner above the cap asks, a few evaluations in a hundred.
bool association_engine::another_ipv6_attended(const connect_attempt& a6, std::uint32_t v4,
                                               int winner_rounds) {
    round_history_table::rounds_view r4;
    if (!candidate_rounds_of(v4, r4)) return false;
    const std::int64_t w = options_.pair_window_us;
    const int need = std::max(options_.min_rounds, winner_rounds);
    const std::uint64_t me = high64_of(a6.source);
    const std::int64_t since4 = known_since(r4);
    const std::size_t first = v6_rounds_.lower_bound(
        a6.start_us - w, [](const v6_round& x, std::int64_t t) { return x.start_us < t; });
    // (all of the window is in the histories, step() saw to it)
    for (std::size_t i = first; i < v6_rounds_.size() && v6_rounds_[i].start_us <= a6.start_us + w;
         ++i) {
        const v6_round& q = v6_rounds_[i];
        if (high64_of(q.source) == me) continue;
        const round_history_table::entry* h = history_.find(q.source, q.hash);
        if (!h || h->rounds < options_.min_rounds) continue;
        const round_history_table::rounds_view r = history_.rounds_of(*h);
        if (r.count < need) continue;  // (k <= n <= its rounds)
        const std::int64_t from = std::max(known_since(r), since4) - w;
        int n = 0, k = 0, close = 0, j = 0;
        for (int x = 0; x < r.count; ++x) {
            if (r.start_us[x] < from) continue;
            ++n;
            while (j < r4.count && r4.start_us[j] < r.start_us[x] - w) ++j;
            if (j < r4.count && r4.start_us[j] <= r.start_us[x] + w) {
                ++k;
                bool near = false;
                for (int y = j; y < r4.count && r4.start_us[y] <= r.start_us[x] + w; ++y)
                    near |= std::llabs(r4.start_us[y] - r.start_us[x]) <= options_.close_us;
                close += near;
            }
        }
        if (k >= need && k >= options_.min_share_v6 * n && close == k) return true;
    }
    return false;
}

association_engine::close_memo* association_engine::close_memo_slot(const address_bytes& a6,
                                                                    std::uint32_t& key) {
    if (close_memo_.empty()) close_memo_.resize(close_memo_mask + 1);
    const std::uint64_t h = round_history_table::hash(a6);
    key = static_cast<std::uint32_t>(h >> 32) | 1u;
    return &close_memo_[h & close_memo_mask];  // (step() prefetches by the low 32 bits)
}

// Records the IPv4s that came within close_us after this round of the IPv6 (before it, for
// 6to4: RFC 6724 order), evaluate() calling it for every round of an address that has quiet
// between them, its first included. Only IPv4s with two rounds or more then can be a rival
// later (one that scores), and those are in the IPv6's class list (which a restore rebuilds as a
// superset: the extra ones have one round, so the record is the same). Of the same OS (TTL
// class and stack) and TCP options as the IPv6: one host's two families. Eight at most,
// the busiest first (a NAT's ring is full), then the nearest: at 70 attempts/s a NAT's
// IPv4 78 ms after a member had three such IPv4s nearer.
void association_engine::record_close_ipv4s(const pending_attempt& p) {
    const connect_attempt& a6 = p.a;
    const bool after = !is_6to4(a6.source);
    const std::int64_t lo = after ? a6.start_us : a6.start_us - options_.close_us;
    const std::int64_t hi = after ? a6.start_us + options_.close_us : a6.start_us;
    constexpr int keep = close_memo_width;
    std::uint32_t v4[keep] = {};
    std::int64_t rank[keep] = {};  // of v4[k]: lower is kept first
    int n = 0;
    std::size_t first = 0;
    const ring_buffer<v4_candidate>& list = candidates_from(a6.ttl_class, a6.os, lo, first);
    for (std::size_t i = first; i < list.size() && list[i].start_us <= hi; ++i) {
        const v4_candidate& c = list[i];
        if (c.ttl_class != a6.ttl_class || c.os != a6.os || c.options != a6.options) continue;
        const std::int64_t d = std::llabs(c.start_us - a6.start_us);
        // An IPv4 counts once, ranked by its first attempt seen (the scan runs forward:
        // after a native IPv6 that is its nearest, before a 6to4 one its farthest).
        if (std::find(v4, v4 + n, c.ipv4) != v4 + n) continue;
        int rounds = c.round_count;
        if (!c.rounds_final) {
            const round_history_table::entry* e4 = history_.find(address_from_ipv4(c.ipv4), c.hash);
            rounds = e4 ? e4->rounds : 0;
        }
        if (rounds < 2) continue;
        // Busier first (a NAT's ring is full), then nearer.
        const std::int64_t r = (std::int64_t{round_history_table::max_rounds - rounds} << 40) + d;
        int slot = n < keep ? n++ : -1;
        if (slot < 0) {
            int worst = 0;
            for (int k = 1; k < keep; ++k)
                if (rank[k] > rank[worst]) worst = k;
            if (r >= rank[worst]) continue;
            slot = worst;
        }
        v4[slot] = c.ipv4;
        rank[slot] = r;
    }
    if (n == 0) return;
    std::uint32_t key = 0;
    close_memo& m = *close_memo_slot(a6.source, key);
    if (m.key != key) m = close_memo{};
    // Rounds past the horizon go (no read looks at them, and a checkpoint leaves out a slot
    // whose newest is that old: a restored run would hold none of them).
    const auto oldest_ms = static_cast<std::uint32_t>(
        (a6.start_us - close_memo_horizon_us - options_.pair_window_us) / 1000);
    for (int r = 0; r < close_memo_rounds; ++r)
        if (static_cast<std::int32_t>(m.round_ms[r] - oldest_ms) < 0) {
            m.round_ms[r] = 0;
            std::fill(m.v4[r], m.v4[r] + keep, std::uint16_t{0});
        }
    for (int r = 0; r + 1 < close_memo_rounds; ++r) {
        m.round_ms[r] = m.round_ms[r + 1];
        std::copy(m.v4[r + 1], m.v4[r + 1] + keep, m.v4[r]);
    }
    m.key = key;
    m.round_ms[close_memo_rounds - 1] = static_cast<std::uint32_t>(a6.start_us / 1000);
    for (int k = 0; k < keep; ++k)
        m.v4[close_memo_rounds - 1][k] = k < n ? close_fingerprint(v4[k]) : 0;
}

bool association_engine::another_ipv4_close_each_round(const pending_attempt& p,
                                                       const round_history_table::rounds_view& r6,
                                                       std::uint32_t winner) {
    if (close_memo_.empty()) return false;
    std::uint32_t key = 0;
    const close_memo& m = *close_memo_slot(p.a.source, key);
    if (m.key != key) return false;
    round_history_table::rounds_view r4;
    const bool found = candidate_rounds_of(winner, r4);
    const std::int64_t from = std::max({found ? known_since(r4) : INT64_MIN, known_since(r6),
                                        p.a.start_us - close_memo_horizon_us}) -
                              options_.pair_window_us;
    // The memo's rounds that are rounds of the IPv6 in that period.
    int held[close_memo_rounds], n = 0;
    std::int64_t held_us[close_memo_rounds];
    for (int r = 0; r < close_memo_rounds; ++r) {
        if (!m.v4[r][0]) continue;
        for (int i = 0; i < r6.count; ++i)
            if (r6.start_us[i] >= from &&
                static_cast<std::uint32_t>(r6.start_us[i] / 1000) == m.round_ms[r]) {
                held_us[n] = r6.start_us[i];
                held[n++] = r;
                break;
            }
    }
    // The newest must be this round (then it is held: it is in r6, after `from`): a rival is
    // close now.
    if (n < options_.min_rounds ||
        m.round_ms[close_memo_rounds - 1] != static_cast<std::uint32_t>(p.a.start_us / 1000))
        return false;
    const std::uint16_t w = close_fingerprint(winner);
    auto has = [&](int r, std::uint16_t x) {
        for (std::uint16_t v : m.v4[r])
            if (v == x) return true;
        return false;
    };
    for (std::uint16_t x : m.v4[held[n - 1]]) {
        if (!x || x == w) continue;
        bool each = true;
        for (int j = 0; j + 1 < n && each; ++j) each = has(held[j], x);
        if (!each) continue;
        // An IPv4 that tries every second or so (a NAT of a thousand) is close after every
        // IPv6's rounds by chance, its own host's or not: beside one, a winner whose round
        // started within close_us of each of those rounds too (as a host's own IPv4 does,
        // in either order) is believed; one that was farther on any (a stranger that met
        // the rounds within the 2 s window) is not. Its attempts in this evaluation's ±2 s
        // (window_v4_) tell how busy it is.
        std::uint32_t attempts = 0;
        for (const v4_candidate* c : refs_)
            if (close_fingerprint(c->ipv4) == x) {
                if (const std::uint32_t* k = window_v4_.find(c->ipv4)) attempts = *k;
                break;
            }
        if (attempts < busy_window_attempts || !found) return true;
        bool winner_close = true;
        for (int j = 0; j < n && winner_close; ++j) {
            bool near = false;
            for (int q = 0; q < r4.count; ++q)
                near |= std::llabs(r4.start_us[q] - held_us[j]) <= options_.close_us;
            winner_close = near;
        }
        if (!winner_close) return true;
    }
    return false;
}

// The rounds of `v4` from the first of this evaluation's candidates of that IPv4 whose
// history is still there (false when none is).
bool association_engine::candidate_rounds_of(std::uint32_t v4,
                                             round_history_table::rounds_view& r4) const {
    for (const v4_candidate* c : refs_)
        if (c->ipv4 == v4 && candidate_rounds(*c, r4)) return true;
    return false;
}

// A candidate's rounds: the copy taken when it joined the histories, or, where that may be
// stale, the table's (false when its history is gone).
bool association_engine::candidate_rounds(const v4_candidate& c,
                                          round_history_table::rounds_view& r4) const {
    if (c.rounds_final) {
        r4 = c.rounds();
        return true;
    }
    const round_history_table::entry* e4 = history_.find(address_from_ipv4(c.ipv4), c.hash);
    if (!e4) return false;
    r4 = history_.rounds_of(*e4);
    return true;
}

// Among this evaluation's IPv4 candidates: those that attended the IPv6's rounds (as many as
// min_rounds, 75 % of the IPv6's in the period both histories cover), and of those the ones
// whose round started within close_us of the IPv6's on every round they met. One close IPv4
// among attending others is the host's own; none, or two, is lockstep as before. An
// attending IPv4 busier than the IPv6 (more rounds than max_round_ratio_v4 allows: a NAT's,
// whose round starts are often another member's) leaves it undecided, and so does a NAT's
// IPv4 under way at every IPv6 round, when its round starts came close to two of them or
// the close IPv4 missed one.
std::size_t association_engine::close_rounds_winner(const round_history_table::rounds_view& r6,
                                                    std::uint32_t six_total_rounds) {
    const std::int64_t w = options_.pair_window_us;
    std::uint32_t close_v4 = 0;
    int close_count = 0;
    bool busy_rival = false, nat_under_way = false, close_met_all = false;
    std::uint32_t seen[16];
    int seen_n = 0;
    const std::int64_t since6 = known_since(r6);
    for (const v4_candidate* c : refs_) {
        bool dup = false;
        for (int i = 0; i < seen_n; ++i) dup = dup || seen[i] == c->ipv4;
        if (dup) continue;
        if (seen_n < 16) seen[seen_n++] = c->ipv4;
        round_history_table::rounds_view r4;
        if (!candidate_rounds(*c, r4)) continue;
        const std::int64_t from = std::max(since6, known_since(r4)) - w;
        const bool cut_short = r4.total_rounds > static_cast<std::uint32_t>(r4.count);
        start_cursor met_at(r4, w), close_at(r4, options_.close_us);
        int n = 0, met = 0, close = 0, under_way = 0;
        for (int i = 0; i < r6.count; ++i) {
            const std::int64_t t = r6.start_us[i];
            if (t < from) continue;
            ++n;
            met += met_at.within(t);
            close += close_at.within(t);
            // (under way counts only for a ring cut short)
            if (cut_short) under_way += under_way_at(r4, t, w);
        }
        // A NAT's IPv4 (another_ipv4_attended): a round under way at every IPv6 round its
        // ring reaches, the ring having dropped older ones. Its members' rounds are not all
        // its round starts, so no close stranger is believed beside it if the NAT came close
        // (close_us) to two of the IPv6's rounds, by round starts or by its attempt now, as
        // a host's own IPv4 does, or if the close IPv4 missed one of the IPv6's rounds. Under way
        // alone is no sign of the member: a busy NAT's rounds cover much of the time (at 280/s, one
        // was under way at a Postfix spammer's three rounds, with one round start near them, while
        // the spammer's own IPv4 came within 0.52 s of each).
        if (cut_short && under_way >= 2 && under_way == n) {
            nat_under_way = true;
            // This round counts as met close if an attempt of it came within close_us now,
            // though inside a round another member opened (its ring shows no start then).
            const std::int64_t now = r6.start_us[r6.count - 1];
            const bool start_close_now = close_at.within(now);
            bool attempt_close_now = false;
            for (const v4_candidate* o : refs_)
                attempt_close_now |=
                    o->ipv4 == c->ipv4 && std::llabs(o->start_us - now) <= options_.close_us;
            if (close + (attempt_close_now && !start_close_now ? 1 : 0) >= 2) busy_rival = true;
        }
        if (met < options_.min_rounds || met < options_.min_share_v6 * n) continue;
        if (r4.total_rounds > options_.max_round_ratio_v4 * six_total_rounds + 2) busy_rival = true;
        if (close == met) {
            ++close_count;
            close_v4 = c->ipv4;
            close_met_all = met == n;
        }
    }
    if (close_count != 1 || busy_rival) return scratch_.size();
    if (nat_under_way && !close_met_all) return scratch_.size();
    const auto capped = static_cast<std::uint16_t>(options_.listable_milli - 50);
    std::size_t pick = scratch_.size();
    for (std::size_t i = 0; i < scratch_.size(); ++i)
        if (scratch_[i].ipv4 == close_v4 && scratch_[i].strength_milli > capped &&
            (pick == scratch_.size() || scratch_[i].strength_milli > scratch_[pick].strength_milli))
            pick = i;
    return pick;
}

// An IPv4 that attended the IPv6's rounds (score(): as many rounds as min_rounds, and
// their share of the IPv6's) takes the /64 among its partners, if it was the only one that
// did. Two or more did in a busy second's lockstep: strangers on one retry schedule meet
// on three rounds by chance, and one such stranger marked a spammer's own IPv4 shared
// (two /64s: as if behind a NAT), and the spammer was never listed.
void association_engine::note_partner(const connect_attempt& a6) {
    if (attended_.empty()) return;
    const std::uint32_t v4 = attended_.front();
    bool one = true;
    for (std::uint32_t x : attended_) one = one && x == v4;
    attended_.clear();
    if (one) remember_partner(v4, a6);
}

void association_engine::remember_partner(std::uint32_t v4, const connect_attempt& a6) {
    partner_set& ps = partners_[address_from_ipv4(v4)];
    const std::uint64_t me = high64_of(a6.source);
    int slot = -1, oldest = 0;
    for (int i = 0; i < partner_set::max_partners; ++i)
        if (ps.partner_us[i] != 0 && ps.partner64[i] == me) slot = i;
    if (slot < 0) {
        for (int i = 0; i < partner_set::max_partners; ++i)
            if (ps.partner_us[i] < ps.partner_us[oldest]) oldest = i;
        slot = oldest;
    }
    ps.partner64[slot] = me;
    ps.partner_us[slot] = a6.start_us;
}

// Whether another IPv4 among this evaluation's candidates was with the IPv6 as often as the
// leader, over the period both their histories cover (from score()):
// - its round starts met as many of the IPv6's rounds as the leader's, and 75 % of them
//   (the IPv6-side share of `repetition`), whatever else it did; or
// - it came within 0.5 s of this round, no farther than the leader (or the leader's round
//   starts missed one of the IPv6's rounds: a stranger 3 of 4, beside a NAT member), and
//   had a round under way (start to latest SYN, widened by the pair window) at every IPv6
//   round its history reaches, two at least, the history having dropped older rounds from
//   its ring. A NAT's IPv4 opens a round for one member, and another member's attempt
//   inside it starts none;
//   its ring of 8 rounds, the other members', may reach back over two of a member's rounds
//   only, so "3 of 3" cannot show for it as it does for a stranger in lockstep.
// Candidates are read again here, not kept from scoring: only a leader above the cap needs
// this, a few evaluations in a hundred.
bool association_engine::another_ipv4_attended(const round_history_table::rounds_view& r6,
                                               std::int64_t a6_start, std::uint32_t leader_v4,
                                               int leader_rounds) {
    const std::int64_t w = options_.pair_window_us;
    const int need = std::max(options_.min_rounds, leader_rounds);
    // The IPv6 rounds in the period both histories cover, those a round start of the IPv4
    // met (within the pair window) and, when asked, those a round of it was under way at.
    struct attendance {
        int n = 0, met = 0, under_way = 0;
    };
    const std::int64_t since6 = known_since(r6);
    auto attendance_of = [&](const round_history_table::rounds_view& r4, bool want_under_way) {
        attendance a;
        const std::int64_t from = std::max(since6, known_since(r4)) - w;
        start_cursor started_at(r4, w);
        for (int i = 0; i < r6.count; ++i) {
            const std::int64_t t = r6.start_us[i];
            if (t < from) continue;
            ++a.n;
            a.met += started_at.within(t);
            if (want_under_way) a.under_way += under_way_at(r4, t, w);
        }
        return a;
    };
    std::int64_t leader_dt = INT64_MAX;
    bool leader_missed = false;  // a round of the IPv6 that no round start of the leader met
    for (const v4_candidate* c : refs_) {
        if (c->ipv4 != leader_v4) continue;
        if (leader_dt == INT64_MAX) {
            round_history_table::rounds_view r4;
            if (candidate_rounds(*c, r4)) {
                const attendance a = attendance_of(r4, false);
                leader_missed = a.met < a.n;
            }
        }
        leader_dt = std::min<std::int64_t>(leader_dt, std::llabs(c->start_us - a6_start));
    }
    // When the IPv6's rounds are more than two pair windows apart (add() opens a round a
    // round gap after the newest), a round start of an IPv4 meets one of them at most: an
    // IPv4 with fewer rounds than `need` cannot have met as many, and only the NAT rule
    // below can hold for it.
    bool spaced = true;
    for (int i = 1; i < r6.count; ++i) {
        const std::int64_t gap = r6.start_us[i] - r6.start_us[i - 1];
        spaced = spaced && gap > w && gap - w > w;
    }
    for (const v4_candidate* c : refs_) {
        if (c->ipv4 == leader_v4) continue;
        const std::int64_t dt = std::llabs(c->start_us - a6_start);
        const bool close_now = dt <= options_.tight_us && (dt <= leader_dt || leader_missed);
        if (spaced && !close_now && c->rounds_final && c->round_count < need) continue;
        round_history_table::rounds_view r4;
        if (!candidate_rounds(*c, r4)) continue;
        if (spaced && !close_now && r4.count < need) continue;
        const bool cut_short = r4.total_rounds > static_cast<std::uint32_t>(r4.count);
        // Close now with its ring cut short: a NAT's IPv4 if a round of it was under way at
        // every one of the IPv6's (counted only then).
        const bool nat_close = close_now && cut_short;
        const attendance a = attendance_of(r4, nat_close);
        if (a.met >= need && a.met >= options_.min_share_v6 * a.n) return true;
        if (nat_close && a.under_way >= 2 && a.under_way == a.n) return true;
    }
    return false;
}

void association_engine::score(const connect_attempt& a6,
                               const round_history_table::rounds_view& h6, bool six_to_four,
                               const embedded_ipv4& emb, const v4_candidate& a4,
                               const round_history_table::rounds_view* h4,
                               bool& structural_paired) {
    const std::uint32_t v4 = a4.ipv4;
    const bool structural =
        ipv4_of(a6.source) == v4 || (emb.kind != embedding_kind::none && emb.ipv4 == v4);

    // Repetition: over the period both round histories cover (a NAT's IPv4 fills its
    // history fast, so that period is short), the IPv6 rounds that have a round of this
    // IPv4 nearby, against all rounds of either address in the period. Both lists are
    // in time order, so one pass over each finds, for every IPv6 round, whether the
    // earliest IPv4 round not before it minus the window is within the window after it.
    const int n6 = h6.count;
    const std::int64_t* s6 = h6.start_us;
    const std::uint16_t* p6 = h6.port;
    const std::int64_t w = options_.pair_window_us;
    int k = 0, n4 = 0, n6p = 0;
    std::uint16_t last_p4 = 0, prev_p4 = 0;
    round_history_table::rounds_view r4;
    if (h4) {
        r4 = *h4;
        const int m = r4.count;
        const std::int64_t* s4 = r4.start_us;
        // A history that has all its rounds (none dropped from the ring) started with an
        // attempt after at least the shorter history horizon of silence (else the address
        // would still have had a live history): the other address's rounds in that silence are
        // rounds without it, and count against the share. (A stranger whose first three
        // rounds met an IPv6's last three of many met it on three of those many.)
        const std::int64_t from = (m > 0 ? std::max(known_since(h6), known_since(r4)) : s6[0]) - w;
        int j = 0;
        for (int i = 0; i < n6; ++i) {
            if (s6[i] < from) continue;
            ++n6p;
            while (j < m && s4[j] < s6[i] - w) ++j;
            if (j < m && s4[j] <= s6[i] + w) ++k;
        }
        for (int i = 0; i < m; ++i)
            if (s4[i] >= from) ++n4;
        if (m >= 2) {
            last_p4 = r4.port[m - 1];
            prev_p4 = r4.port[m - 2];
        }
    }
    // Seen together on one round at most: it scores <= 350 (below emission, and no winner
    // among emitted candidates is capped by it) and updates no partner set.
    if (k < 2 && !structural) return;
    ++stats_.candidates;

    const std::int64_t dt = a6.start_us - a4.start_us;  // > 0: IPv4 first
    const std::int64_t adt = std::llabs(dt);
    std::uint16_t sig = sig_timing;
    if (adt <= options_.tight_us) sig |= sig_tight_timing;
    // RFC 6724: native IPv6 before IPv4, 6to4 after IPv4.
    if ((six_to_four && dt > 0) || (!six_to_four && dt < 0)) sig |= sig_order_rfc6724;
    if (a4.syn_count == a6.syn_count) sig |= sig_syn_count;
    // The OS class matches (filtered); options the snap length cut match nothing.
    if (a4.options == a6.options && !options_were_cut(a6.options)) sig |= sig_os_match;
    const int dport =
        static_cast<std::int16_t>(static_cast<std::uint16_t>(a6.source_port - a4.source_port));
    if (a6.os == os_class::windows && std::abs(dport) <= options_.port_proximity)
        sig |= sig_port_proximity;
    if (dport == 1 && dt > 0) sig |= sig_exchange_port;
    if (ipv4_of(a6.source) == v4) sig |= sig_iid_ipv4;
    if (emb.kind != embedding_kind::none && emb.ipv4 == v4) sig |= structural_signal(emb.kind);

    if (n4 == 0) n4 = 1;
    if (k >= 2 && n6 >= 2 && port_climbs(p6[n6 - 2], p6[n6 - 1]) && port_climbs(prev_p4, last_p4))
        sig |= sig_port_progression;
    if (n6p == 0) n6p = 1;
    const address_bytes a4_address = address_from_ipv4(v4);
    const std::uint32_t total4 = h4 ? r4.total_rounds : 0;
    const bool busy_v4 = total4 > options_.max_round_ratio_v4 * h6.total_rounds + 2;
    // NAT: remember /64s that pair with this IPv4 on repeated rounds; another /64 seen
    // so recently means several hosts share the IPv4.
    bool shared = false;
    // Only a repeated pairing (min_rounds) makes a /64 a partner: two rounds together
    // happen by chance between hosts on the same retry schedule, and marking a spammer's
    // own IPv4 shared for it cost recall (0.92 at 20,000 hosts) and let strangers win.
    const bool attends = h4 && k >= options_.min_rounds && k >= options_.min_share_v6 * n6p;
    if (attends) {
        const std::uint64_t me = high64_of(a6.source);
        if (const partner_set* ps = partners_.find(a4_address))
            for (int i = 0; i < partner_set::max_partners; ++i)
                if (ps->partner_us[i] != 0 && ps->partner64[i] != me &&
                    a6.start_us - ps->partner_us[i] <= options_.partner_horizon_us)
                    shared = true;
        attended_.push_back(v4);
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

void association_engine::step(std::vector<association>& out) {
    pending_attempt& e = pending_[eval_index_];
    // Every attempt that could be e's candidate must be in the histories first.
    while (history_index_ < pending_.size() &&
           pending_[history_index_].a.start_us <= e.a.start_us + options_.pair_window_us) {
        // The attempts were queued ~150 s (of capture) ago and left the caches since: the
        // queue is read ahead of the cursor, then the history slot of an attempt further on.
        if (history_index_ + 4 * prefetch_distance < pending_.size())
            __builtin_prefetch(&pending_[history_index_ + 4 * prefetch_distance]);
        if (history_index_ + prefetch_distance < pending_.size())
            history_.prefetch(pending_[history_index_ + prefetch_distance].hash);
        // Halfway there, that slot has come in: the ring it names is asked for next.
        if (history_index_ + prefetch_distance / 2 < pending_.size()) {
            const pending_attempt& q = pending_[history_index_ + prefetch_distance / 2];
            history_.prefetch_ring_of(q.a.source, q.hash);
        }
        add_history(pending_[history_index_]);
        ++history_index_;
    }
    // The close memo's slot of an IPv6 round further on (the memo is 16 MiB, direct-mapped
    // by address: each record missed the caches and cost a sixth of the ingest's time).
    if (!close_memo_.empty() && eval_index_ + prefetch_distance < history_index_) {
        const pending_attempt& q = pending_[eval_index_ + prefetch_distance];
        if (q.a.family == ip_family::v6 && q.new_round && !q.continuous)
            __builtin_prefetch(&close_memo_[q.hash & close_memo_mask], 1);
    }
    evaluate(e, out);
    const std::int64_t keep_from = e.a.start_us - options_.pair_window_us;
    ++eval_index_;
    while (!pending_.empty() && eval_index_ > 0 && history_index_ > 0 &&
           pending_.front().a.start_us < keep_from) {
        window_remove(pending_.front());
        pending_.pop_front();
        --eval_index_;
        --history_index_;
    }
    // The lists are pruned to this bound as they are read, but not where that would differ
    // from the one list each step pruned before: after a late candidate came in (pruned
    // here as that list was), and when an attempt evaluated out of order lowers the bound
    // (what the higher one dropped stays dropped: brought up to it first).
    if (late_candidates_ || keep_from < candidates_keep_from_) {
        const std::int64_t bound = late_candidates_ ? keep_from : candidates_keep_from_;
        for (auto& list : v4_candidates_) drop_before(list, bound);
        late_candidates_ = false;
    }
    candidates_keep_from_ = keep_from;
    drop_before(v6_rounds_, keep_from);
}

void association_engine::advance(std::int64_t now_us, std::vector<association>& out) {
    // step() adds histories up to pending start + pair window, for attempts that started
    // pair window + settle before now: a staged attempt may be needed once it started
    // settle_us before now. The grouper closes attempts well within that.
    if (!staged_.empty() && staged_min_start_us_ <= now_us - options_.settle_us) merge_staged();
    while (eval_index_ < pending_.size() &&
           pending_[eval_index_].a.start_us + options_.pair_window_us + options_.settle_us <=
               now_us)
        step(out);
    housekeep(now_us);
}

std::size_t association_engine::drop_pending() {
    const std::size_t n = pending_.size() - eval_index_ + staged_.size();
    // Those already in the histories stay there; the rest never get in.
    pending_.clear();
    staged_.clear();
    clear_candidates();
    v6_rounds_.clear();
    window_v4_.clear();
    eval_index_ = history_index_ = 0;
    return n;
}

void association_engine::flush(std::vector<association>& out) {
    merge_staged();
    while (eval_index_ < pending_.size()) step(out);
    while (history_index_ < pending_.size()) {
        add_history(pending_[history_index_]);
        ++history_index_;
    }
    pending_.clear();
    clear_candidates();
    v6_rounds_.clear();
    window_v4_.clear();
    eval_index_ = history_index_ = 0;
}

// Expired histories are dead to every lookup already (round_history_table): this only
// gives their memory back. A sweep of 1/32 of the table per minute of capture passes over
// it all in about half an hour, so dead entries stay a fraction of the live ones (the
// one-round horizon is 45 minutes), and reads it in order instead of looking each address
// up when it comes due (a cache miss each).
constexpr std::size_t sweep_fraction = 32;

void association_engine::housekeep(std::int64_t now_us) {
    if (now_us < next_housekeeping_us_) return;
    // Every minute of capture time (not wall time: replays must prune identically).
    next_housekeeping_us_ = now_us + 60'000'000;
    history_.sweep(history_.capacity() / sweep_fraction + 1);
    if (now_us >= next_partner_cleanup_us_) {
        next_partner_cleanup_us_ = now_us + 3600LL * 1'000'000;
        forget_old_partners();
    }
}

// A partner set only ever counts partners within partner_horizon of the IPv6 attempt being
// scored, and every attempt scored from now on starts after the history clock less the
// settle time and pair window: a set with no partner that recent can never count again
// (dropping it changes nothing, it only bounds the table).
void association_engine::forget_old_partners() {
    const std::int64_t before = history_.clock() - options_.settle_us - options_.pair_window_us -
                                options_.partner_horizon_us;
    std::vector<address_bytes> old;
    partners_.for_each([&](const address_bytes& k, const partner_set& ps) {
        for (int i = 0; i < partner_set::max_partners; ++i)
            if (ps.partner_us[i] >= before) return;
        old.push_back(k);
    });
    for (const address_bytes& k : old) partners_.erase(k);
}

// Checkpoint layout (version 13): the housekeeping and partner-cleanup times, the cursors,
// the pending attempts, the history clock, the time before which one-round histories were
// forgotten for the bound of them, then every live history (rings as varint
// distances back from the newest round, the ports, then the older rounds' spans), the
// partner sets, the close-IPv4 memo's live slots (index distance, key, then per round the
// count of IPv4s and the start and fingerprints of those that have some) and the
// statistics. Version 12 has no bound's time (read as never raised). Version 11 has the memo's
// slots as in memory (index, slot). Version 10 has no memo (restored empty: a NAT member's rounds
// before the restart are not known to have had its NAT close). Version 9 has no spans (a ring's
// older rounds read as 0 s long: attendance is then their starts'); version 7 lacks the
// partner-cleanup time (a restored engine then cleaned at its first housekeeping, not on its hourly
// schedule: the state differed from a clean run's); version 8 has no `continuous` flag in the
// pending attempts (read as not continuous); version 6 (an expiry queue of live and stale entries
// with the histories inline) is still read: its stale entries are dropped.
namespace {
constexpr std::uint32_t state_version = 13;
constexpr std::uint8_t queued_live = 0, queued_stale = 1;  // version 6
struct v6_expiry_t {
    address_bytes address;
    std::int64_t round_us;
};
}  // namespace

void association_engine::save_history(state_writer& w, const round_history_table::entry& e,
                                      const round_history_table::ring* r) {
    w.put_pod(e);
    if (!r) return;
    w.put_varint(r->total_rounds);
    for (int i = 0; i + 1 < r->count; ++i)
        w.put_varint(static_cast<std::uint64_t>(e.newest_us - r->start_us[i]));
    for (int i = 0; i < r->count; ++i) w.put_pod(r->port[i]);
    for (int i = 0; i + 1 < r->count; ++i) w.put_varint(r->span_us[i]);
}

bool association_engine::restore_history(state_reader& r, round_history_table::entry& e,
                                         bool spans) {
    e = r.get_pod<round_history_table::entry>();
    if (!r.ok()) return false;
    if (e.rounds <= 1) return history_.restore(e, nullptr);
    if (e.rounds > round_history_table::max_rounds) return false;
    round_history_table::ring g;
    g.count = e.rounds;
    const std::uint64_t total = r.get_varint();
    if (total < e.rounds || total > 0xFFFFFFFFu) return false;
    g.total_rounds = static_cast<std::uint32_t>(total);
    for (int i = 0; i + 1 < g.count; ++i) {
        const std::uint64_t back = r.get_varint();
        if (back == 0 || back > static_cast<std::uint64_t>(INT64_MAX)) return false;
        g.start_us[i] = e.newest_us - static_cast<std::int64_t>(back);
    }
    g.start_us[g.count - 1] = e.newest_us;
    for (int i = 0; i < g.count; ++i) g.port[i] = r.get_pod<std::uint16_t>();
    // Before version 10 a ring kept no spans: its older rounds read as having lasted 0 s.
    for (int i = 0; spans && i + 1 < g.count; ++i) {
        const std::uint64_t span = r.get_varint();
        if (span > 0xFFFFFFFFu) return false;
        g.span_us[i] = static_cast<std::uint32_t>(span);
    }
    return r.ok() && history_.restore(e, &g);
}

// A slot as record_close_ipv4s() leaves one: an odd key; in each round its IPv4s' odd
// fingerprints first, then zeros; a round without any all zero; the newest one not empty.
bool association_engine::memo_slot_valid(const close_memo& m) {
    if (!(m.key & 1) || !m.v4[close_memo_rounds - 1][0]) return false;
    for (int k = 0; k < close_memo_rounds; ++k) {
        int n = 0;
        while (n < close_memo_width && m.v4[k][n]) {
            if (!(m.v4[k][n] & 1)) return false;
            ++n;
        }
        for (int j = n; j < close_memo_width; ++j)
            if (m.v4[k][j]) return false;
        if (n == 0 && m.round_ms[k] != 0) return false;
    }
    return true;
}

// Version 11: the live slots as they are in memory, each after its index (checked as
// version 12's are: a slot read here must save as one that reads back).
bool association_engine::restore_v11_memo(state_reader& r) {
    const std::uint64_t nm = r.get_u64();
    if (!r.fits(nm, 4 + sizeof(close_memo)) || nm > close_memo_mask + 1) return false;
    for (std::uint64_t i = 0; i < nm; ++i) {
        const std::uint32_t at = r.get_u32();
        const auto m = r.get_pod<close_memo>();
        if (!r.ok() || !restore_memo_slot(at, m)) return false;
    }
    return true;
}

// What save() writes of the memo: indexes ascending, then slots as memo_slot_valid()
// wants them.
bool association_engine::restore_memo(state_reader& r) {
    const std::uint64_t nm = r.get_u64();
    constexpr std::size_t smallest = 1 + 4 + close_memo_rounds + 4 + 2;
    if (!r.fits(nm, smallest) || nm > close_memo_mask + 1) return false;
    std::uint64_t at = 0;
    for (std::uint64_t i = 0; i < nm; ++i) {
        const std::uint64_t step = r.get_varint();
        if ((i > 0 && step == 0) || step > close_memo_mask - at) return false;
        at += step;
        close_memo m;
        m.key = r.get_u32();
        for (int k = 0; k < close_memo_rounds; ++k) {
            const auto n = r.get_pod<std::uint8_t>();
            if (n > close_memo_width) return false;
            if (n == 0) continue;
            m.round_ms[k] = r.get_u32();
            for (int j = 0; j < n; ++j) m.v4[k][j] = r.get_pod<std::uint16_t>();
        }
        if (!r.ok() || !restore_memo_slot(at, m)) return false;
    }
    return true;
}

bool association_engine::restore_memo_slot(std::uint64_t at, const close_memo& m) {
    if (at > close_memo_mask || !memo_slot_valid(m)) return false;
    if (close_memo_.empty()) close_memo_.resize(close_memo_mask + 1);
    close_memo_[at] = m;
    return true;
}

// The close-IPv4 memo's slots that a round evaluated from here on can still read
// (close_memo_horizon_us); the others restore empty.
bool association_engine::memo_saved(const close_memo& m) const {
    const auto memo_from =
        static_cast<std::uint32_t>((history_.clock() - close_memo_horizon_us) / 1000 - 3'600'000);
    return m.key != 0 &&
           static_cast<std::int32_t>(m.round_ms[close_memo_rounds - 1] - memo_from) >= 0;
}

void association_engine::save(std::string& out) const {
    state_writer w(out);
    save_to(w);
}

void association_engine::save(const std::function<void(std::string_view)>& sink) const {
    state_writer w(sink);
    save_to(w);
    w.flush();
}

void association_engine::save_to(state_writer& w) const {
    std::uint64_t memo_n = 0;
    const std::size_t memo_size = close_memo_.size();
    for (std::size_t i = 0; i < memo_size; ++i) memo_n += memo_saved(close_memo_[i]);
    w.put_u32(state_version);
    w.put_u64(static_cast<std::uint64_t>(next_housekeeping_us_));
    w.put_u64(static_cast<std::uint64_t>(next_partner_cleanup_us_));
    w.put_u64(history_index_);
    w.put_u64(eval_index_);
    w.put_u64(pending_.size());
    for (std::size_t i = 0; i < pending_.size(); ++i) w.put_pod(pending_[i]);
    w.put_u64(staged_.size());
    for (const auto& p : staged_) w.put_pod(p);
    w.put_u64(static_cast<std::uint64_t>(history_.clock()));
    w.put_u64(static_cast<std::uint64_t>(history_.pressure_before_us()));
    // The count goes in front: a scan now saves a second pass over the table's memory.
    w.put_u64(history_.live_size());
    history_.for_each([&](const round_history_table::entry& e, const round_history_table::ring* r) {
        save_history(w, e, r);
    });
    w.put_u64(partners_.size());
    partners_.for_each([&](const address_bytes& k, const partner_set& ps) {
        w.put_pod(k);
        w.put_pod(ps);
    });
    w.put_u64(memo_n);
    // Each as the distance from the previous one's index, the key, then per round the
    // number of IPv4s and, if any, the start and the fingerprints: most of a slot is empty
    // (a busy sensor's memo is full, and was 17 MB of a 30 MB checkpoint slot by slot).
    std::size_t prev = 0;
    for (std::size_t i = 0; i < memo_size; ++i) {
        const close_memo& m = close_memo_[i];
        if (!memo_saved(m)) continue;
        w.put_varint(i - prev);
        prev = i;
        w.put_u32(m.key);
        for (int r = 0; r < close_memo_rounds; ++r) {
            std::uint8_t n = 0;
            while (n < close_memo_width && m.v4[r][n]) ++n;
            w.put_pod(n);
            if (n == 0) continue;
            w.put_u32(m.round_ms[r]);
            for (int k = 0; k < n; ++k) w.put_pod(m.v4[r][k]);
        }
    }
    w.put_pod(stats_);
}

// Version 6: the expiry queue, each entry live (a history follows) or stale (dropped now),
// then the histories that were not queued.
bool association_engine::restore_v6_histories(state_reader& r) {
    const std::uint64_t queued = r.get_u64();
    if (!r.fits(queued, 1 + sizeof(v6_expiry_t))) return false;  // the smaller record
    history_.reserve(queued);
    for (std::uint64_t i = 0; i < queued; ++i) {
        const auto tag = r.get_pod<std::uint8_t>();
        if (tag == queued_live) {
            round_history_table::entry e;
            if (!restore_history(r, e, false)) return false;
        } else if (tag == queued_stale) {
            r.get_pod<v6_expiry_t>();
        } else {
            return false;
        }
    }
    const std::uint64_t unqueued = r.get_u64();
    if (!r.fits(unqueued, sizeof(round_history_table::entry))) return false;
    for (std::uint64_t i = 0; i < unqueued; ++i) {
        round_history_table::entry e;
        if (!restore_history(r, e, false)) return false;
    }
    return r.ok();
}

bool association_engine::restore(std::string_view in) {
    state_reader r(in);
    auto clear = [&] {
        pending_.clear();
        staged_.clear();
        window_v4_.clear();
        history_ = round_history_table();
        history_.set_horizons(options_.single_round_horizon_us, options_.history_horizon_us);
        history_.set_single_limit(options_.max_one_round_histories);
        clear_candidates();
        v6_rounds_.clear();
        partners_.clear();
        decltype(close_memo_)().swap(close_memo_);  // (frees the 16 MiB)
        history_index_ = eval_index_ = 0;
    };
    auto fail = [&] {
        clear();
        return false;
    };
    clear();
    const std::uint32_t version = r.get_u32();
    if (version < 6 || version > state_version) return fail();
    next_housekeeping_us_ = static_cast<std::int64_t>(r.get_u64());
    next_partner_cleanup_us_ =
        version >= 8 ? static_cast<std::int64_t>(r.get_u64()) : std::int64_t{0};
    history_index_ = r.get_u64();
    eval_index_ = r.get_u64();
    const std::uint64_t n = r.get_u64();
    if (!r.fits(n, sizeof(pending_attempt))) return fail();
    for (std::uint64_t i = 0; i < n; ++i) pending_.push_back(r.get_pod<pending_attempt>());
    if (history_index_ > pending_.size() || eval_index_ > pending_.size()) return fail();
    const std::uint64_t ns = r.get_u64();
    if (!r.fits(ns, sizeof(pending_attempt))) return fail();
    for (std::uint64_t i = 0; i < ns; ++i) {
        staged_.push_back(r.get_pod<pending_attempt>());
        if (i == 0 || staged_.back().a.start_us < staged_min_start_us_)
            staged_min_start_us_ = staged_.back().a.start_us;
    }
    if (version < 9) {
        // Before `continuous`, that byte was padding: not known, so not continuous (as
        // those versions scored every round).
        for (std::size_t i = 0; i < pending_.size(); ++i) pending_[i].continuous = false;
        for (auto& p : staged_) p.continuous = false;
    }
    if (version == 6) {
        // No clock then: the newest attempt in the histories is where it stood.
        if (history_index_ > 0) history_.advance_clock(pending_[history_index_ - 1].a.start_us);
        if (!restore_v6_histories(r)) return fail();
    } else {
        history_.advance_clock(static_cast<std::int64_t>(r.get_u64()));
        if (version >= 13) {
            // Never raised, or a time no later than the clock (a bound never kills the
            // histories of the last minute): anything else is no threshold of ours.
            const auto before = static_cast<std::int64_t>(r.get_u64());
            if (before < INT64_MIN / 4 || before > history_.clock()) return fail();
            history_.restore_pressure_before(before);
        }
        const std::uint64_t live = r.get_u64();
        if (!r.fits(live, sizeof(round_history_table::entry))) return fail();
        history_.reserve(live);
        for (std::uint64_t i = 0; i < live; ++i) {
            round_history_table::entry e;
            if (!restore_history(r, e, version >= 10)) return fail();
        }
    }
    const std::uint64_t np = r.get_u64();
    if (!r.fits(np, sizeof(address_bytes) + sizeof(partner_set))) return fail();
    for (std::uint64_t i = 0; i < np; ++i) {
        const auto k = r.get_pod<address_bytes>();
        partners_[k] = r.get_pod<partner_set>();
    }
    if (version == 11 && !restore_v11_memo(r)) return fail();
    if (version >= 12 && !restore_memo(r)) return fail();
    stats_ = r.get_pod<association_stats>();
    if (!r.ok() || !r.at_end()) return fail();
    // The window's IPv4s, the candidate list and the IPv6 rounds are derived from the
    // pending attempts.
    // The list is rebuilt from every IPv4 attempt that was not its address's only round:
    // a superset of the one kept without the restart (the extra ones have one round when
    // scored and change nothing), so the restored run gives the same associations.
    for (std::size_t i = 0; i < history_index_; ++i) {
        if (pending_[i].a.family != ip_family::v4) {
            note_v6_round(pending_[i]);
            continue;
        }
        ++window_v4_[ipv4_of(pending_[i].a.source)];
        if (!pending_[i].only_round) note_candidate(pending_[i], nullptr, false);
    }
    return true;
}

}  // namespace v6bl::ingest
