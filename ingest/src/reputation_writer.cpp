// The join of associations with DNSBL rejections, and per-/64 records with bounded evidence.
#include "v6bl/ingest/reputation_writer.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "state_codec.h"

namespace v6bl::ingest {

// The ipv4-rejected signal's slot in the per-signal counters.
constexpr int ipv4_rejected_index = std::countr_zero(unsigned{sig_ipv4_rejected});
namespace {

// Checkpoint keys that carry join state rather than a source position. They ride in the
// store's checkpoint table because the store has no other small key-value space; they are
// written in the same WriteBatch as the data they describe.
std::string rejection_key(std::uint32_t ipv4) {
    return "r4:" + format_ipv4(ipv4);
}
std::string remembered_key(std::uint32_t ipv4) {
    return "a4:" + format_ipv4(ipv4);
}
constexpr const char* any_rejection_key = "r4:any";
constexpr const char* any_remembered_key = "a4:any";
constexpr std::size_t max_remembered_per_ipv4 = 8;

std::uint64_t high64_of(const address_bytes& a) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | a[i];
    return v;
}
std::uint64_t low64_of(const address_bytes& a) {
    std::uint64_t v = 0;
    for (int i = 8; i < 16; ++i) v = (v << 8) | a[i];
    return v;
}
std::string iid_item(std::uint64_t iid) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(iid >> (56 - 8 * i));
    return s;
}
std::uint64_t item_u64(std::string_view s) {
    std::uint64_t v = 0;
    for (char c : s) v = (v << 8) | static_cast<std::uint8_t>(c);
    return v;
}
std::uint32_t seconds_of(std::int64_t us) {
    if (us <= 0) return 0;
    const std::int64_t s = us / 1'000'000;
    return s > 0xFFFFFFFFLL ? 0xFFFFFFFFu : static_cast<std::uint32_t>(s);
}

}  // namespace

std::string ipv4_item(std::uint32_t ipv4) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(ipv4 >> (24 - 8 * i));
    return s;
}

std::string format_ipv4(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", v >> 24, (v >> 16) & 0xFF, (v >> 8) & 0xFF,
                  v & 0xFF);
    return buf;
}

namespace {

std::uint64_t mix64(std::uint64_t h) {
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
    return h;
}

}  // namespace

std::size_t reputation_writer::evidence_key_hash::operator()(const evidence_key& k) const noexcept {
    return static_cast<std::size_t>(
        mix64(k.p64 * 0x9E3779B97F4A7C15ull ^ (k.item + 0x632BE59BD9B4E019ull * k.kind)));
}

std::size_t reputation_writer::item_key_hash::operator()(const item_key& k) const noexcept {
    return static_cast<std::size_t>(
        mix64(k.p64 * 0x9E3779B97F4A7C15ull ^ (k.item + 0x632BE59BD9B4E019ull)));
}

std::size_t reputation_writer::u64_hash::operator()(std::uint64_t k) const noexcept {
    return static_cast<std::size_t>(mix64(k * 0x9E3779B97F4A7C15ull));
}

namespace {
address_book::options book_options(const writer_options& o) {
    address_book::options b;
    b.max_addresses =
        static_cast<std::uint16_t>(std::min<std::size_t>(o.max_addresses_per_64, 192));
    b.horizon_s = o.address_horizon_s;
    b.stored_horizon_s = o.stored_address_horizon_s;
    b.max_prefixes = o.max_book_64s;
    return b;
}
}  // namespace

reputation_writer::reputation_writer(store::reputation_store& store, ingest_counters& counters,
                                     writer_options options)
    : store_(store), counters_(counters), options_(options), book_(book_options(options)) {
    store_was_empty_ = true;
    store_.for_each_record([&](const store::prefix&, const store::reputation_record&) {
        store_was_empty_ = false;
        return false;
    });
    store_has_rejections_ = store_.checkpoint(any_rejection_key).has_value();
    store_has_remembered_ = store_.checkpoint(any_remembered_key).has_value();
}

void reputation_writer::save_state(std::string& out) const {
    save_state([&](std::string_view bytes) { out.append(bytes); });
}

void reputation_writer::save_state(const std::function<void(std::string_view)>& sink) const {
    {
        state_writer w(sink);
        w.put_u32(1);  // format version
        w.put_u32(seek_until_s_);
        w.put_u32(seek_pending_ ? 1 : 0);
        w.flush();
    }
    book_.save(sink);
}

bool reputation_writer::restore_state(std::string_view in) {
    state_reader r(in);
    if (r.get_u32() != 1) return false;
    const std::uint32_t until = r.get_u32();
    const std::uint32_t pending = r.get_u32();
    if (!r.ok() || !book_.restore(in.substr(12))) return false;
    seek_until_s_ = until;
    seek_pending_ = pending != 0;
    return true;
}

void reputation_writer::begin_without_state(bool store_may_hold_addresses) {
    book_ = address_book(book_options(options_));
    seek_until_s_ = 0;
    seek_pending_ = store_may_hold_addresses && !store_was_empty_;
}

std::uint16_t& reputation_writer::ipv4s_for(std::uint64_t p64) {
    auto [k, inserted] = ipv4_counts_.try_emplace(p64);
    if (inserted && (!store_was_empty_ || cache_evicted_)) {
        std::uint16_t loaded = 0;
        store_.for_each_evidence(
            store::make_prefix64(p64),
            [&](store::evidence_kind kind, std::string_view item, const store::evidence_item& e) {
                if (kind == store::evidence_kind::rejected_ipv4 && item.size() == 4) {
                    auto [r, fresh] = known_ipv4s_.try_emplace({p64, item_u64(item)});
                    *r = (e.signals & sig_ipv4_rejected) != 0;
                    if (fresh) ++loaded;
                }
                return true;
            });
        *k = loaded;  // only the item table grew: `k` still points into ipv4_counts_
    }
    return *k;
}

// A /64 new to the book while the store may hold its addresses (see begin_without_state).
// Also for a /64 the book knows (book_behind_store): the addresses it has are not added
// again, and their tallies, already in the store, are not stored again.
void reputation_writer::load_addresses(address_book::prefix& p) {
    bool any = false;
    const std::uint16_t had = p.count;
    store_.for_each_evidence(
        store::make_prefix64(p.p64),
        [&](store::evidence_kind kind, std::string_view item, const store::evidence_item&) {
            if (kind == store::evidence_kind::ipv6_address && item.size() == 8) {
                const std::uint64_t iid = item_u64(item);
                const std::uint64_t* known = book_.iids_of(p);
                if (std::find(known, known + had, iid) == known + had) book_.add_known(p, iid);
                any = true;
            }
            return true;
        });
    if (any) book_.set_in_store(p);
}

// The first local association of a /64: the addresses counted so far become evidence,
// with their tallies, and every later attempt adds to it.
void reputation_writer::addresses_to_store(address_book::prefix& p) {
    const std::uint64_t* iids = book_.iids_of(p);
    const address_book::tally* a = book_.tallies_of(p);
    for (std::uint16_t i = 0; i < p.count; ++i) {
        if (a[i].count == 0) continue;  // known from the store: tallied there
        store::evidence_item e;
        e.first_seen = a[i].first;
        e.last_seen = a[i].last;
        e.count = a[i].count;
        add_evidence(p.p64, iids[i], store::evidence_kind::ipv6_address, e);
    }
    book_.set_in_store(p);
}

void reputation_writer::add_evidence(std::uint64_t p64, std::uint64_t item,
                                     store::evidence_kind kind, const store::evidence_item& e) {
    auto [ev, inserted] = evidence_.try_emplace(
        {p64, item, static_cast<std::uint64_t>(static_cast<std::uint8_t>(kind))});
    if (inserted) {
        *ev = e;
        ++pending_ops_;
    } else {
        store::merge_into(*ev, e);
    }
}

void reputation_writer::merge_record(std::uint64_t p64, const record_delta& d) {
    auto [r, inserted] = records_.try_emplace(p64);
    if (inserted) {
        *r = d;
        ++pending_ops_;
        return;
    }
    // The store's merge rules (store::merge_into), on the flat delta.
    r->reason_bits |= d.reason_bits;
    if (d.first_seen && (!r->first_seen || d.first_seen < r->first_seen))
        r->first_seen = d.first_seen;
    r->last_seen = std::max(r->last_seen, d.last_seen);
    r->attempts += d.attempts;
    r->addresses += d.addresses;
    r->rejected_ipv4s += d.rejected_ipv4s;
    r->strength_milli = std::max(r->strength_milli, d.strength_milli);
    r->sensors |= d.sensors;
}

void reputation_writer::prefetch(const connect_attempt& a) const {
    if (a.family == ip_family::v6) book_.prefetch(high64_of(a.source));
}

void reputation_writer::prefetch_blocks(const connect_attempt* a, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (a[i].family == ip_family::v6)
            if (const address_book::prefix* p = book_.find(high64_of(a[i].source)))
                book_.prefetch_addresses(*p, low64_of(a[i].source));
}

void reputation_writer::add_attempts(const connect_attempt* a, std::size_t n,
                                     std::uint64_t sensor_bit) {
    for (std::size_t i = 0; i < n; ++i) add_attempt(a[i], sensor_bit);
}

void reputation_writer::add_attempt(const connect_attempt& a, std::uint64_t sensor_bit) {
    if (a.family != ip_family::v6) return;
    const std::uint64_t p64 = high64_of(a.source);
    const std::uint64_t iid = low64_of(a.source);
    const std::uint32_t t = seconds_of(a.start_us);
    book_.expire(t);
    if (seek_pending_) {
        seek_until_s_ = t + options_.stored_address_horizon_s;
        seek_pending_ = false;
    }
    bool created = false;
    address_book::prefix& p = book_.touch(p64, t, created);
    if (created && t < seek_until_s_) load_addresses(p);
    const address_book::added added = book_.add_attempt(p, iid, t, 1);
    if (p.in_store() && added != address_book::added::over_bound) {
        store::evidence_item e;
        e.first_seen = e.last_seen = t;
        e.count = 1;
        add_evidence(p64, iid, store::evidence_kind::ipv6_address, e);
    }
    address_book::record_delta& d = p.delta;
    if (!(p.flags & address_book::flag_dirty)) {
        book_.mark_dirty(p);
        d.first = d.last = t;
        ++pending_ops_;
    }
    d.first = std::min(d.first, t);
    d.last = std::max(d.last, t);
    ++d.attempts;
    if (added == address_book::added::fresh) ++d.addresses;
    d.sensors |= sensor_bit;
}

std::optional<reputation_writer::rejection_info> reputation_writer::rejection_of(
    std::uint32_t ipv4) {
    if (const rejection_info* known = rejections_.find(ipv4)) return *known;
    if (!store_has_rejections_ || not_rejected_.find(ipv4)) return std::nullopt;
    const auto v = store_.checkpoint(rejection_key(ipv4));
    if (!v) {
        if (not_rejected_.size() > 4'000'000) not_rejected_.clear();
        not_rejected_.try_emplace(ipv4);
        return std::nullopt;
    }
    rejection_info info;
    unsigned long long f = 0, l = 0, n = 0;
    if (std::sscanf(v->c_str(), "%llu %llu %llu", &f, &l, &n) == 3) {
        info.first = static_cast<std::uint32_t>(f);
        info.last = static_cast<std::uint32_t>(l);
        info.count = static_cast<std::uint32_t>(n);
    }
    rejections_[ipv4] = info;
    return info;
}

std::vector<reputation_writer::remembered> reputation_writer::remembered_for(std::uint32_t ipv4) {
    if (auto it = remembered_.find(ipv4); it != remembered_.end()) return it->second;
    std::vector<remembered> list;
    if (!store_has_remembered_) return list;
    if (const auto v = store_.checkpoint(remembered_key(ipv4))) list = parse_remembered(*v);
    remembered_[ipv4] = list;
    return list;
}

std::vector<reputation_writer::remembered> reputation_writer::parse_remembered(
    std::string_view value) {
    std::vector<remembered> list;
    const std::string v(value);
    const char* p = v.c_str();
    unsigned long long p64, t;
    unsigned s, sig;
    int used = 0;
    while (std::sscanf(p, "%llx %llu %u %u;%n", &p64, &t, &s, &sig, &used) == 4 && used > 0) {
        list.push_back({p64, static_cast<std::uint32_t>(t), static_cast<std::uint16_t>(s),
                        static_cast<std::uint16_t>(sig)});
        p += used;
        used = 0;
    }
    return list;
}

std::string reputation_writer::format_remembered(const std::vector<remembered>& list) {
    std::string v;
    char buf[96];
    for (const auto& m : list) {
        std::snprintf(buf, sizeof buf, "%llx %u %u %u;", static_cast<unsigned long long>(m.p64),
                      m.time, m.strength, m.signals);
        v += buf;
    }
    return v;
}

std::string remembered_without(std::string_view value, const store::prefix& p,
                               std::size_t& dropped) {
    auto list = reputation_writer::parse_remembered(value);
    const std::size_t before = list.size();
    std::erase_if(list, [&](const reputation_writer::remembered& m) {
        return p.covers(store::make_prefix64(m.p64));
    });
    dropped = before - list.size();
    return dropped ? reputation_writer::format_remembered(list) : std::string(value);
}

void reputation_writer::list_association(std::uint64_t p64, std::uint32_t ipv4, std::uint32_t t,
                                         std::uint16_t strength, std::uint16_t signals,
                                         std::uint64_t sensors, bool relisting) {
    std::uint16_t& kept = ipv4s_for(p64);
    std::uint8_t* seen = known_ipv4s_.find({p64, ipv4});
    // Kept as evidence while not rejected: that item counted the association already.
    const bool counted = relisting && seen && !*seen;
    bool newly = false;
    bool recorded = true;
    if (!seen) {
        if (kept < options_.max_ipv4s_per_64) {
            *known_ipv4s_.try_emplace({p64, ipv4}).first = 1;
            ++kept;
            newly = true;
        } else {
            recorded = false;
        }
    } else if (!*seen) {
        *seen = 1;
        newly = true;
    }
    if (recorded) {
        store::evidence_item e;
        e.first_seen = e.last_seen = t;
        e.count = counted ? 0 : 1;
        e.strength_milli = strength;
        e.signals = static_cast<std::uint16_t>(signals | sig_ipv4_rejected);
        add_evidence(p64, ipv4, store::evidence_kind::rejected_ipv4, e);
    }
    record_delta d{};
    d.reason_bits = (signals & structural_signals) ? store::bit_structural : store::bit_associated;
    d.first_seen = d.last_seen = t;
    d.rejected_ipv4s = newly ? 1 : 0;
    d.strength_milli = strength;
    d.sensors = sensors;
    merge_record(p64, d);
    if (strength >= options_.listable_milli && listed_.insert(p64).second) ++counters_.listed_64s;
}

bool reputation_writer::add_association(const association& a, bool known_rejected, bool local) {
    ++counters_.associations;
    for (int i = 0; i < 16; ++i)
        if (a.signals & (1u << i)) ++counters_.associations_by_signal[i];
    const std::uint64_t p64 = high64_of(a.ipv6);
    const std::uint32_t t = seconds_of(a.time_us);
    if (local) {
        // Only this sensor's own associations: the book changes only while captures are
        // read (its checkpoint is committed with theirs), and a remote sensor's /64 has
        // no addresses here.
        bool created = false;
        address_book::prefix& p = book_.touch(p64, t, created);
        if (created && t < seek_until_s_) load_addresses(p);
        if (!p.in_store() && book_behind_store_) load_addresses(p);
        if (!p.in_store()) addresses_to_store(p);
    }
    bool rejected = known_rejected;
    if (!rejected) {
        if (auto r = rejection_of(a.ipv4)) {
            const std::int64_t h = options_.rejection_horizon_s;
            rejected = static_cast<std::int64_t>(t) >= static_cast<std::int64_t>(r->first) - h &&
                       static_cast<std::int64_t>(t) <= static_cast<std::int64_t>(r->last) + h;
        }
    }
    if (rejected) {
        if (a.strength_milli >= options_.listable_milli) ++counters_.associations_listable;
        ++counters_.associations_by_signal[ipv4_rejected_index];
        list_association(p64, a.ipv4, t, a.strength_milli, a.signals, a.sensors);
        return true;
    }
    // Not (yet) rejected: keep the evidence so lookup can explain, without reason bits.
    std::uint16_t& kept = ipv4s_for(p64);
    bool keep = known_ipv4s_.find({p64, a.ipv4}) != nullptr;
    if (!keep && kept < options_.max_ipv4s_per_64) {
        *known_ipv4s_.try_emplace({p64, a.ipv4}).first = 0;
        ++kept;
        keep = true;
    }
    if (keep) {
        store::evidence_item e;
        e.first_seen = e.last_seen = t;
        e.count = 1;
        e.strength_milli = a.strength_milli;
        e.signals = a.signals;
        add_evidence(p64, a.ipv4, store::evidence_kind::rejected_ipv4, e);
    }
    if (a.strength_milli >= options_.remember_milli) {
        auto list = remembered_for(a.ipv4);
        auto r = std::find_if(list.begin(), list.end(),
                              [&](const remembered& x) { return x.p64 == p64; });
        if (r == list.end()) {
            list.push_back({p64, t, a.strength_milli, a.signals});
        } else {
            r->time = std::max(r->time, t);
            r->strength = std::max(r->strength, a.strength_milli);
            r->signals |= a.signals;
        }
        // Keep the strongest few, in a deterministic order.
        std::sort(list.begin(), list.end(), [](const remembered& x, const remembered& y) {
            return x.strength != y.strength ? x.strength > y.strength : x.p64 < y.p64;
        });
        if (list.size() > max_remembered_per_ipv4) list.resize(max_remembered_per_ipv4);
        remembered_[a.ipv4] = std::move(list);
        if (remembered_dirty_.insert(a.ipv4).second) ++pending_ops_;
    }
    return false;
}

void reputation_writer::add_rejection(const reject_event& r) {
    ++counters_.rejections_by_mta[static_cast<std::size_t>(r.mta)];
    const auto t =
        static_cast<std::uint32_t>(std::clamp<std::int64_t>(r.unix_seconds, 0, 0xFFFFFFFFLL));
    const auto known = rejection_of(r.ipv4);
    rejection_info info = known.value_or(rejection_info{t, t, 0});
    info.first = std::min(info.first, t);
    info.last = std::max(info.last, t);
    ++info.count;
    rejections_[r.ipv4] = info;
    not_rejected_.erase(r.ipv4);
    if (new_rejections_.insert_or_assign(r.ipv4, info).second) ++pending_ops_;
    // Associations remembered for this IPv4 that the rejection brings within the horizon
    // become listings now: before its first rejection, or since, when they came more than
    // the horizon after the rejections known then (those were remembered too). What lies
    // past the horizon after this rejection waits for a later one; what lies before the
    // first rejection's horizon never qualifies and is dropped.
    auto list = remembered_for(r.ipv4);
    if (list.empty()) return;
    const std::int64_t h = options_.rejection_horizon_s;
    std::vector<remembered> waiting;
    for (const remembered& m : list) {
        if (static_cast<std::int64_t>(m.time) > static_cast<std::int64_t>(info.last) + h) {
            waiting.push_back(m);
            continue;
        }
        if (static_cast<std::int64_t>(m.time) < static_cast<std::int64_t>(info.first) - h) continue;
        if (m.strength >= options_.listable_milli) ++counters_.associations_listable;
        ++counters_.associations_by_signal[ipv4_rejected_index];
        list_association(m.p64, r.ipv4, m.time, m.strength, m.signals, 0, true);
        if (keep_relisted_ && !(m.signals & sig_remote)) {
            association as;
            for (int b = 0; b < 8; ++b)
                as.ipv6[b] = static_cast<std::uint8_t>(m.p64 >> (56 - 8 * b));
            as.ipv4 = r.ipv4;
            as.time_us = std::int64_t{m.time} * 1'000'000;
            as.strength_milli = m.strength;
            as.signals = m.signals;
            relisted_.push_back(as);
        }
    }
    if (waiting.size() == list.size()) return;  // nothing listed, nothing dropped
    remembered_[r.ipv4] = std::move(waiting);
    if (remembered_dirty_.insert(r.ipv4).second) ++pending_ops_;
}

void reputation_writer::set_checkpoint(const std::string& source, std::string value) {
    for (auto& [k, v] : checkpoints_)
        if (k == source) {
            v = std::move(value);
            return;
        }
    checkpoints_.emplace_back(source, std::move(value));
}

bool reputation_writer::has_data() const {
    return !(records_.empty() && evidence_.empty() && new_rejections_.empty() &&
             remembered_dirty_.empty() && book_.dirty().empty() && book_.orphans().empty());
}

void reputation_writer::commit(const std::function<void()>& before_store) {
    // Touches are no data (nothing stored changes; the engine state is not behind for them)
    // but are committed all the same.
    const bool no_data = !has_data() && touches_.empty();
    // Nothing new and every checkpoint as stored (a rerun over files read before): no
    // commit, so the serial stays and secondaries get no NOTIFY for nothing.
    if (no_data && std::all_of(checkpoints_.begin(), checkpoints_.end(), [&](const auto& c) {
            return store_.checkpoint(c.first) == c.second;
        })) {
        checkpoints_.clear();
        return;
    }
    store::change_set cs;
    // Sized once (a record or an evidence item takes 30-50 bytes): a change set grown by
    // doubling copies itself into fresh pages again and again.
    const std::size_t most_ops =
        book_.dirty().size() + book_.orphans().size() + records_.size() + evidence_.size();
    cs.reserve(most_ops, most_ops * 48);
    // Keys go in in storage order: RocksDB's memtable skiplist inserts ascending keys with
    // its sequential splice, several times faster than the hash maps' random order. A /64
    // can have a delta in the address book (attempts), among the book's forgotten /64s and
    // in records_ (associations): they are merged here.
    std::vector<std::pair<std::uint64_t, record_delta>> recs;
    recs.reserve(book_.dirty().size() + book_.orphans().size() + records_.size());
    auto from_book = [](const address_book::record_delta& b) {
        record_delta d{};
        d.sensors = b.sensors;
        d.first_seen = b.first;
        d.last_seen = b.last;
        d.attempts = b.attempts;
        d.addresses = b.addresses;
        return d;
    };
    // A /64 forgotten with a delta and seen again in the same window is listed twice in
    // dirty(): its new delta is taken once (the flag is cleared as it is), the old one is
    // among the orphans.
    for (std::uint64_t p64 : book_.dirty())
        if (address_book::prefix* p = book_.find(p64); p && (p->flags & address_book::flag_dirty)) {
            recs.emplace_back(p64, from_book(p->delta));
            p->flags &= static_cast<std::uint8_t>(~address_book::flag_dirty);
        }
    for (const auto& [p64, delta] : book_.orphans()) recs.emplace_back(p64, from_book(delta));
    records_.for_each([&](std::uint64_t p64, const record_delta& r) { recs.emplace_back(p64, r); });
    std::sort(recs.begin(), recs.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    store::reputation_record rec;
    for (std::size_t i = 0; i < recs.size();) {
        const std::uint64_t p64 = recs[i].first;
        record_delta d = recs[i].second;
        for (++i; i < recs.size() && recs[i].first == p64; ++i) {
            const record_delta& o = recs[i].second;
            d.reason_bits |= o.reason_bits;
            if (o.first_seen && (!d.first_seen || o.first_seen < d.first_seen))
                d.first_seen = o.first_seen;
            d.last_seen = std::max(d.last_seen, o.last_seen);
            d.attempts += o.attempts;
            d.addresses += o.addresses;
            d.rejected_ipv4s += o.rejected_ipv4s;
            d.strength_milli = std::max(d.strength_milli, o.strength_milli);
            d.sensors |= o.sensors;
        }
        rec.reason_bits = d.reason_bits;
        rec.first_seen = d.first_seen;
        rec.last_seen = d.last_seen;
        rec.attempts = d.attempts;
        rec.addresses = d.addresses;
        rec.rejected_ipv4s = d.rejected_ipv4s;
        rec.strength_milli = d.strength_milli;
        rec.sensors = d.sensors;
        cs.merge_record(store::make_prefix64(p64), rec);
    }
    // Each part is freed once it is in `cs`: the store then builds a WriteBatch and a
    // memtable from `cs`, the peak of a run, without the writer's copies beside them.
    std::vector<std::pair<std::uint64_t, record_delta>>().swap(recs);
    records_.clear();
    book_.clear_dirty();
    std::vector<std::pair<evidence_key, const store::evidence_item*>> evs;
    evs.reserve(evidence_.size());
    evidence_.for_each(
        [&](const evidence_key& k, const store::evidence_item& e) { evs.emplace_back(k, &e); });
    std::sort(evs.begin(), evs.end(), [](const auto& a, const auto& b) {
        if (a.first.p64 != b.first.p64) return a.first.p64 < b.first.p64;
        if (a.first.kind != b.first.kind) return a.first.kind < b.first.kind;
        return a.first.item < b.first.item;
    });
    for (const auto& [k, ep] : evs) {
        const store::evidence_item& e = *ep;
        const auto kind = static_cast<store::evidence_kind>(k.kind);
        const std::string item = kind == store::evidence_kind::ipv6_address
                                     ? iid_item(k.item)
                                     : ipv4_item(static_cast<std::uint32_t>(k.item));
        cs.merge_evidence(store::make_prefix64(k.p64), kind, item, e);
    }
    std::vector<std::pair<evidence_key, const store::evidence_item*>>().swap(evs);
    evidence_.clear();
    if (!new_rejections_.empty()) cs.set_checkpoint(any_rejection_key, "1");
    for (const auto& [ip, info] : new_rejections_) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%u %u %u", info.first, info.last, info.count);
        cs.set_checkpoint(rejection_key(ip), buf);
    }
    if (!remembered_dirty_.empty()) cs.set_checkpoint(any_remembered_key, "1");
    for (std::uint32_t ip : remembered_dirty_) {
        if (remembered_[ip].empty()) {
            // Listed (or past use) at a rejection: nothing left to remember.
            cs.erase_checkpoint(remembered_key(ip));
            continue;
        }
        cs.set_checkpoint(remembered_key(ip), format_remembered(remembered_[ip]));
    }
    for (auto& [k, v] : checkpoints_) cs.set_checkpoint(k, std::move(v));
    for (const store::prefix& p : touches_) cs.touch(p);
    touches_.clear();
    const std::size_t ops = cs.size() + checkpoints_.size();
    const bool wrote_rejections = !new_rejections_.empty();
    const bool wrote_remembered = !remembered_dirty_.empty();
    // The engine checkpoint (tens of MB) too. A failed commit throws and ends the run; the
    // rerun resumes from the last committed checkpoints, as after a crash.
    new_rejections_.clear();
    remembered_dirty_.clear();
    checkpoints_.clear();
    pending_ops_ = 0;
    if (before_store) before_store();
    const auto t0 = std::chrono::steady_clock::now();
    store_.commit(std::move(cs), static_cast<std::uint32_t>(std::time(nullptr)));
    const auto us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count());
    ++counters_.commits;
    counters_.commit_ops += ops;
    counters_.commit_us_total += us;
    counters_.commit_us_max = std::max(counters_.commit_us_max, us);
    if (wrote_rejections) store_has_rejections_ = true;
    if (wrote_remembered) store_has_remembered_ = true;
    if (ipv4_counts_.size() > options_.max_cached_64s) {
        ipv4_counts_.clear();
        known_ipv4s_.clear();
        cache_evicted_ = true;
    }
    if (remembered_.size() > options_.max_cached_64s) remembered_.clear();
    if (rejections_.size() > 4 * options_.max_cached_64s) rejections_.clear();
}

}  // namespace v6bl::ingest
