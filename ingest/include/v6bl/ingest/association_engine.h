// Pairs IPv6 and IPv4 connect() attempts from the same host, scoring every signal of design §2.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "v6bl/ingest/association.h"
#include "v6bl/ingest/attempt_grouper.h"
#include "v6bl/ingest/connect_attempt.h"
#include "v6bl/ingest/embedded_ipv4.h"
#include "v6bl/ingest/flat_table.h"
#include "v6bl/ingest/huge_page_allocator.h"
#include "v6bl/ingest/ring_buffer.h"
#include "v6bl/ingest/round_bucket_filter.h"
#include "v6bl/ingest/round_history_table.h"

namespace v6bl::ingest {

struct association_options {
    // Candidate IPv4 attempts start within this of the IPv6 attempt (both orders).
    std::int64_t pair_window_us = 2'000'000;
    // Table 4.3: Sendmail, Postfix and Exchange all start the second family within 0.5 s.
    std::int64_t tight_us = 500'000;
    // Attempts of one address closer than this are one retry round (MTAs retry after
    // minutes; a host hammering every 5 s gives one round a minute, not one per connect).
    std::int64_t round_gap_us = 60'000'000;
    // Attempts are evaluated once no attempt starting earlier can still be open in the
    // grouper: grouper window (25 s) + max span (120 s) + 1 s.
    std::int64_t settle_us = 146'000'000;
    // Address histories not seen for this long are dropped (Postfix backs off to 40 min).
    std::int64_t history_horizon_us = 3LL * 3600 * 1'000'000;
    // An address seen on one round only is kept this long: the longest first retry
    // interval of the MTAs measured (Postfix backs off to 40 minutes) plus slack. Most
    // addresses at a busy sensor are one-shots; this keeps their state small.
    std::int64_t single_round_horizon_us = 45LL * 60 * 1'000'000;
    // About this many addresses seen on one round only are kept (0: no bound): past it,
    // those seen least recently are forgotten early (round_history_table::set_single_limit).
    // A flood of spoofed sources, each new, otherwise holds ~100 bytes per source for the
    // whole one-round horizon. 4M keeps 45 minutes of up to 1,500 new addresses a second.
    std::size_t max_one_round_histories = 4'000'000;
    // Repetition: at least this many rounds together, covering these shares of the
    // IPv6 address's rounds and of the IPv4 address's rounds in the same period. One host
    // tries both families each round, so its IPv4 has (nearly) no rounds its IPv6 does not
    // explain; a NAT's IPv4 has its other hosts' rounds too, from before any of them has
    // paired often enough to mark it shared (at 0.5, the first member of a NAT group to
    // reach three rounds was listed).
    int min_rounds = 3;
    double min_share_v6 = 0.75;
    double min_share_v4 = 0.9;
    // Over their whole histories, the IPv4 may have at most this many times the IPv6's
    // rounds (plus two): an IPv4 far busier than its partner speaks for other hosts too.
    double max_round_ratio_v4 = 1.5;
    // Two IPv4s attended the IPv6's rounds as often (the lockstep rule lists neither): the
    // one that started within this of the IPv6 on every round it met is the host's, if it is
    // the only one and no other attending IPv4 is busier than the IPv6 (a NAT's). Table 4.3:
    // MTAs start the second family within 0.5 s; a stranger within the ±2 s window does on
    // all of three rounds rarely.
    std::int64_t close_us = 750'000;
    // Port proximity of the Windows shared pool.
    int port_proximity = 16;
    // Associations weaker than this are not reported at all (they are noise at a busy sensor).
    std::uint16_t min_emit_milli = 400;
    // Listable threshold used for the ambiguity rule (two listable candidates → neither).
    std::uint16_t listable_milli = 600;
    // A /64 paired on repeated rounds with an IPv4 within this long marks it as shared.
    std::int64_t partner_horizon_us = 2LL * 3600 * 1'000'000;
    std::uint64_t sensor_bit = 1;
};

struct association_stats {
    std::uint64_t evaluated_v6_rounds = 0;
    std::uint64_t candidates = 0;
    std::uint64_t ambiguous = 0;
};

class association_engine {
  public:
    explicit association_engine(association_options options = {}) : options_(options) {
        history_.set_horizons(options_.single_round_horizon_us, options_.history_horizon_us);
        history_.set_single_limit(options_.max_one_round_histories);
    }

    // Takes closed attempts (any order within the grouper's window).
    void add(const connect_attempt& a);
    // Evaluates every attempt that can no longer gain candidates; appends associations.
    void advance(std::int64_t now_us, std::vector<association>& out);
    // End of input: evaluates everything pending (histories are kept).
    void flush(std::vector<association>& out);

    // Drops every attempt not yet evaluated (histories and partner sets stay): for a state
    // restored from before commits that already hold those attempts' associations.
    // Returns how many were dropped.
    std::size_t drop_pending();

    const association_stats& stats() const { return stats_; }
    std::size_t pending() const { return pending_.size() + staged_.size(); }
    // Live histories (a scan of the table: for tests and reports).
    std::size_t histories() const { return history_.live_size(); }
    // Histories started over because the pool of rings was full (round_history_table).
    std::uint64_t history_restarts() const { return history_.rounds_restarted(); }
    // One-round addresses forgotten early for max_one_round_histories (this process).
    std::uint64_t histories_forgotten() const { return history_.forgotten_early(); }

    void save(std::string& out) const;
    // The same bytes, handed to `sink` a buffer at a time (streamed to a checkpoint file:
    // no copy of the whole state in memory).
    void save(const std::function<void(std::string_view)>& sink) const;
    bool restore(std::string_view in);

    // IPv4 addresses only: IPv6 /64s recently paired with the IPv4 on repeated rounds.
    // Two different ones mean several hosts share the IPv4 (NAT): none is listable.
    struct partner_set {
        static constexpr int max_partners = 4;
        std::uint64_t partner64[max_partners] = {};
        std::int64_t partner_us[max_partners] = {};
    };

  private:
    struct pending_attempt {
        connect_attempt a;
        bool new_round = false;
        // Set when this attempt started its address's only round in the history: an IPv4
        // candidate like that pairs on one round at most, so evaluate() skips it.
        bool only_round = false;
        // Set when this attempt started a new round after less than round_gap of quiet: the
        // address tries all the time (a hammering provider MTA), it has no retry rounds.
        bool continuous = false;
        std::uint32_t hash = 0;  // of a.source, for the history table (computed once)
    };
    static_assert(sizeof(pending_attempt) == 64);
    // An IPv4 attempt that can pair on more than one round (not `only_round`): the only
    // kind of candidate that can score above 350 without a structural match. Kept apart,
    // in start order, so that scoring a repeat IPv6 round scans tens of attempts, not
    // every attempt of the ±2 s window (hundreds at a busy sensor).
    struct v4_candidate {
        std::int64_t start_us;
        option_signature options;
        std::uint32_t ipv4;
        std::uint32_t hash;
        std::uint16_t source_port;
        std::uint16_t syn_count;
        std::uint8_t ttl_class;
        os_class os;
        // The IPv4's rounds as they were when this attempt joined the histories. Every IPv6
        // attempt that can score this one comes within 4 s, and a new round of the IPv4
        // needs round_gap after its newest: unless its round started round_gap − 4 s or
        // more before this attempt (`rounds_final` false: looked up when scored), the copy
        // is what a lookup would find, so scoring reads it instead of two cache misses.
        bool rounds_final = false;
        std::uint8_t round_count = 0;
        std::uint32_t total_rounds = 0;
        std::int64_t round_start[round_history_table::max_rounds] = {};
        std::uint16_t round_port[round_history_table::max_rounds] = {};
        // Each round's span, the newest's last (as far as it went when copied: it grows only
        // past this attempt, so past every IPv6 round that can score it).
        std::uint32_t round_span[round_history_table::max_rounds] = {};
        round_history_table::rounds_view rounds() const {
            return {round_start,  round_port, round_count,
                    total_rounds, round_span, round_count ? round_span[round_count - 1] : 0u};
        }
    };
    void evaluate(const pending_attempt& p, std::vector<association>& out);
    // Whether an IPv4 among the evaluation's candidates other than `leader_v4` was with the
    // IPv6 (rounds `r6`, the newest starting at `a6_start`) as often as the leader.
    bool another_ipv4_attended(const round_history_table::rounds_view& r6, std::int64_t a6_start,
                               std::uint32_t leader_v4, int leader_rounds);
    // Whether an IPv6 of another /64 in a6's window had its rounds met by `v4`'s as often
    // as a6's (`winner_rounds`), within close_us on each: one IPv4 in lockstep with two
    // hosts' IPv6s.
    bool another_ipv6_attended(const connect_attempt& a6, std::uint32_t v4, int winner_rounds);
    // `r4`: the IPv4's rounds; nullptr when it has no history.
    void score(const connect_attempt& a6, const round_history_table::rounds_view& h6,
               bool six_to_four, const embedded_ipv4& emb, const v4_candidate& a4,
               const round_history_table::rounds_view* r4, bool& structural_paired);
    // Where what a history shows begins: its oldest round, or, when none has been dropped
    // from its ring, the shorter horizon of silence before that (else the address would
    // still have had a live history), whose rounds of another address were without it.
    // Under the bound of one-round histories an address can have been forgotten sooner:
    // only the silence after the threshold the bound raised (it never falls) is certain.
    std::int64_t known_since(const round_history_table::rounds_view& v) const {
        if (v.total_rounds != static_cast<std::uint32_t>(v.count)) return v.start_us[0];
        const std::int64_t silence =
            std::min(options_.single_round_horizon_us, options_.history_horizon_us);
        return std::min(v.start_us[0],
                        std::max(v.start_us[0] - silence, history_.pressure_before_us()));
    }
    // What both save()s write.
    void save_to(class state_writer& w) const;
    // `r`: the entry's ring (nullptr for one round), as round_history_table::for_each gives.
    static void save_history(class state_writer& w, const round_history_table::entry& e,
                             const round_history_table::ring* r);
    // `spans`: the rings carry their rounds' spans (version 10 on).
    bool restore_history(class state_reader& r, round_history_table::entry& e, bool spans);
    bool restore_v6_histories(class state_reader& r);
    // The index in scratch_ of the one IPv4 candidate that was close (close_us) to the IPv6
    // on every round it met, when exactly one was and it can list; else scratch_.size().
    std::size_t close_rounds_winner(const round_history_table::rounds_view& r6,
                                    std::uint32_t six_total_rounds);
    bool candidate_rounds(const v4_candidate& c, round_history_table::rounds_view& r4) const;
    bool candidate_rounds_of(std::uint32_t v4, round_history_table::rounds_view& r4) const;
    void forget_old_partners();
    void note_partner(const connect_attempt& a6);
    // Notes a6's /64 among the partners of `v4` (the oldest of a full set gives way).
    void remember_partner(std::uint32_t v4, const connect_attempt& a6);
    std::vector<std::uint32_t> attended_;  // IPv4s that attended this evaluation's IPv6

    // Which IPv4s came close to an IPv6 address's recent rounds, by any attempt, not only by
    // round start: a NAT's IPv4 carries its member's fallback attempt inside a round another
    // member opened, or one its ring of round starts has dropped since, so neither the rings
    // nor the window of one evaluation show that it was with the member on every round. A
    // direct-mapped table by the IPv6 address (a colliding address takes the slot: a lost
    // record only leaves a pairing to the other rules), one 64-byte slot each: the last three
    // rounds that had such an IPv4, with up to eight IPv4s each as 16-bit fingerprints (of
    // the IPv6's OS and TCP options, with two rounds or more then, that came within
    // close_us after it, as RFC 6724 has a host fall back, or before a 6to4 one: the
    // busiest, then the nearest).
    static constexpr int close_memo_rounds = 3, close_memo_width = 8;
    struct close_memo {
        std::uint32_t key = 0;  // of the IPv6 address (the hash's high half); 0: empty
        std::uint32_t round_ms[close_memo_rounds] = {};  // starts, ms (low 32 bits), oldest first
        std::uint16_t v4[close_memo_rounds][close_memo_width] = {};  // fingerprints; 0: none
    };
    static_assert(sizeof(close_memo) == 64);
    static std::uint16_t close_fingerprint(std::uint32_t v4) {
        return static_cast<std::uint16_t>(((v4 * 0x9E3779B97F4A7C15ull) >> 48) | 1u);
    }
    static constexpr int close_memo_bits = 18;  // 16 MiB
    static constexpr std::size_t close_memo_mask = (std::size_t{1} << close_memo_bits) - 1;
    // A rival with this many attempts in the evaluation's window (about 4 s) is too busy
    // for its closeness to mean anything.
    static constexpr std::uint32_t busy_window_attempts = 4;
    // Rounds this much (and the pair window) older than the one evaluated are not read (a
    // ring can hold older ones only for an address that never went quiet for the 3 h
    // history horizon) and a record drops them; checkpoints leave out slots whose newest
    // round is older than this before the clock, less an hour (evaluation trails the clock
    // by the settle time and the pair window). Ages are compared in 32-bit ms: a slot left
    // alone for 25 to 50 days reads as recent again (states can then differ across a
    // restore; answers cannot, as a read matches a round's exact start).
    static constexpr std::int64_t close_memo_horizon_us = 4LL * 3600 * 1'000'000;
    // Allocated at first use, on huge pages: read at random once per IPv6 round.
    std::vector<close_memo, huge_page_allocator<close_memo>> close_memo_;
    close_memo* close_memo_slot(const address_bytes& a6, std::uint32_t& key);
    void record_close_ipv4s(const pending_attempt& p);
    static bool memo_slot_valid(const close_memo& m);
    // Whether a slot goes into a checkpoint (one a round evaluated from now on can read).
    bool memo_saved(const close_memo& m) const;
    bool restore_memo_slot(std::uint64_t at, const close_memo& m);  // false if invalid
    bool restore_memo(class state_reader& r);
    bool restore_v11_memo(class state_reader& r);
    // Whether an IPv4 other than `winner` came close to each of the IPv6's rounds the memo
    // holds, min_rounds of them at least, in the period the winner's history covers too.
    bool another_ipv4_close_each_round(const pending_attempt& p,
                                       const round_history_table::rounds_view& r6,
                                       std::uint32_t winner);
    void merge_staged();
    void insert_late(const pending_attempt& p);
    void add_history(pending_attempt& p);
    void note_candidate(const pending_attempt& p, const round_history_table::entry* h,
                        bool rounds_final);
    void housekeep(std::int64_t now_us);
    void step(std::vector<association>& out);

    association_options options_;
    association_stats stats_;
    ring_buffer<pending_attempt> pending_;  // sorted by start (ties: arrival order)
    std::size_t history_index_ = 0;         // pending_[< this] are in history_
    std::size_t eval_index_ = 0;            // pending_[< this] are evaluated
    // Attempts as they arrive, merged into pending_ in batches (sorted) before anything
    // could need them: the grouper closes a three-SYN attempt after the one-SYN attempts
    // that started in the second after it, and inserting it one by one moved ~150 of them.
    std::vector<pending_attempt> staged_;
    std::int64_t staged_min_start_us_ = 0;
    std::vector<pending_attempt> merge_tail_;                          // scratch of merge_staged()
    std::vector<std::pair<std::int64_t, std::size_t>> staged_order_;   // (start, index in staged_)
    std::vector<std::pair<std::int64_t, std::size_t>> staged_late_;    // scratch of merge_staged()
    std::vector<std::pair<std::int64_t, std::size_t>> staged_merged_;  // scratch of merge_staged()
    round_history_table history_;
    // In history_, not only_round; sorted by start; one list per TTL class and OS class (a
    // candidate must have the IPv6's, so an evaluation scans its own class only: at a busy
    // sensor of Linux and Windows hosts, half the list or less). Read, each holds what one
    // list that every step() pruned to its attempt's window held of its class. A list is
    // pruned when it is read or added to, to the last step's bound (candidates_keep_from_:
    // that one list held nothing older), so between reads it can also hold entries that
    // list had dropped. Two cases differ, both rare: after a late candidate (one older than
    // the bound, which an attempt evaluated out of order can still score) every list is
    // pruned to the bound at once and then left until the next step prunes them all; and
    // before a step lowers the bound (an attempt evaluated out of order), every list is
    // pruned to the old one first.
    static constexpr std::size_t candidate_classes = 4 * 5;
    static std::size_t candidate_class(std::uint8_t ttl_class, os_class os) {
        return static_cast<std::size_t>(ttl_class >> 6) * 5 +
               std::min<std::size_t>(static_cast<std::size_t>(os), 4);
    }
    std::array<ring_buffer<v4_candidate>, candidate_classes> v4_candidates_;
    std::int64_t candidates_keep_from_ = INT64_MIN;
    bool late_candidates_ = false;
    // The class's list, pruned, and the first position in it that starts at `from` or later.
    ring_buffer<v4_candidate>& candidates_from(std::uint8_t ttl_class, os_class os,
                                               std::int64_t from, std::size_t& first);
    void clear_candidates();
    // The IPv6 attempts in history_ that another_ipv6_attended() can count: new rounds, not
    // the address's only one, not of an address that is never quiet; sorted by start. A
    // winner above the cap (each repeat round of a listed host) scanned every pending
    // attempt of its ±2 s, a 64-byte line each, for the few that qualify (bench/ingest: 30
    // of 504 on average).
    struct v6_round {
        std::int64_t start_us;
        address_bytes source;
        std::uint32_t hash;
    };
    ring_buffer<v6_round> v6_rounds_;
    void note_v6_round(const pending_attempt& p);
    flat_table<address_bytes, partner_set, address_hash> partners_;
    std::int64_t next_housekeeping_us_ = 0;
    std::int64_t next_partner_cleanup_us_ = 0;
    // IPv4 addresses with an attempt among the pending ones already in the histories (the
    // few seconds from the oldest kept attempt to the history cursor, a superset of any
    // evaluation's ±2 s window), with their number of such attempts: whether a structural
    // candidate can be in the window, from a table small enough to stay in the L1/L2 cache.
    struct u32_hash {
        std::size_t operator()(std::uint32_t k) const noexcept {
            return static_cast<std::size_t>((k * 0x9E3779B97F4A7C15ull) >> 20);
        }
    };
    flat_table<std::uint32_t, std::uint32_t, u32_hash> window_v4_;
    void window_remove(const pending_attempt& p);
    std::vector<association> scratch_;
    std::vector<const v4_candidate*> refs_;      // the candidates of one evaluation
    std::vector<v4_candidate> structural_refs_;  // those read from pending_ (refs_ points here)
    round_bucket_filter round_filter_;           // of the IPv6 address being evaluated
    // Those that can count, with their history entries.
    std::vector<std::pair<const v4_candidate*, const round_history_table::entry*>> scored_;
};
}  // namespace v6bl::ingest
