// The per-/64 address book: an open-addressing table of /64s, address blocks in size
// classes, two lazily checked expiry queues.
#include "v6bl/ingest/address_book.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "state_codec.h"

namespace v6bl::ingest {
namespace {

std::uint64_t p64_hash(std::uint64_t k) {
    std::uint64_t h = k * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return h;
}

// Interface identifiers are attacker-chosen, so the bit comes from a mix of all 64 bits.
std::uint64_t seen_bit(std::uint64_t iid) {
    return std::uint64_t{1} << ((iid * 0x9E3779B97F4A7C15ull) >> 58);
}

}  // namespace

address_book::address_book(options o) : options_(o) {
    if (options_.max_addresses > class_size[class_count - 1])
        options_.max_addresses = class_size[class_count - 1];
    for (int c = 1; c < class_count; ++c) {
        int shift = 16;  // 2^16 addresses (1.25 MiB) a chunk, rounded to whole blocks
        for (std::uint16_t n = 1; n < class_size[c]; n = static_cast<std::uint16_t>(n * 2)) --shift;
        pools_[c].chunk_shift = shift;
        pools_[c].size = class_size[c];
    }
}

void address_book::prefetch(std::uint64_t p64) const {
    if (!table_.empty()) __builtin_prefetch(&table_[p64_hash(p64) & mask_]);
}

address_book::prefix* address_book::find(std::uint64_t p64) {
    if (size_ == 0) return nullptr;
    for (std::size_t i = p64_hash(p64) & mask_;; i = (i + 1) & mask_) {
        prefix& p = table_[i];
        if (!(p.flags & flag_used)) return nullptr;
        if (p.p64 == p64) return &p;
    }
}

address_book::prefix* address_book::slot_for(std::uint64_t p64, bool& created) {
    if ((size_ + 1) * 8 > table_.size() * 5) grow();  // load factor <= 0.625
    std::size_t i = p64_hash(p64) & mask_;
    for (; table_[i].flags & flag_used; i = (i + 1) & mask_)
        if (table_[i].p64 == p64) {
            created = false;
            return &table_[i];
        }
    created = true;
    table_[i] = prefix{};
    table_[i].p64 = p64;
    table_[i].flags = flag_used;
    ++size_;
    return &table_[i];
}

void address_book::grow() {
    const std::size_t old = table_.size();
    table_.grow(old == 0 ? 1024 : old * 2, prefix{});
    mask_ = table_.size() - 1;
    rehash_in_place(
        table_, old, [](const prefix& p) { return (p.flags & flag_used) != 0; },
        [](const prefix&) { return true; }, [](const prefix& p) { return p64_hash(p.p64); });
}

void address_book::erase(std::uint64_t p64) {
    std::size_t i = p64_hash(p64) & mask_;
    for (;; i = (i + 1) & mask_) {
        if (!(table_[i].flags & flag_used)) return;
        if (table_[i].p64 == p64) break;
    }
    // Backward-shift deletion: no tombstones, probe chains stay short.
    for (std::size_t j = (i + 1) & mask_; table_[j].flags & flag_used; j = (j + 1) & mask_) {
        const std::size_t home = p64_hash(table_[j].p64) & mask_;
        if (((j - home) & mask_) >= ((j - i) & mask_)) {
            table_[i] = table_[j];
            i = j;
        }
    }
    table_[i] = prefix{};
    --size_;
}

address_book::prefix& address_book::touch(std::uint64_t p64, std::uint32_t now_s, bool& created) {
    // Before the new /64 has its slot: forgetting one moves slots (backward shift).
    if (options_.max_prefixes && size_ >= options_.max_prefixes && !find(p64)) make_room(now_s);
    prefix* p = slot_for(p64, created);
    if (now_s > p->last_seen) p->last_seen = now_s;
    if (created) queue_expiry(*p);
    return *p;
}

void address_book::queue_expiry(const prefix& p) {
    const int which = p.in_store() ? 1 : 0;
    const std::uint32_t horizon = which ? options_.stored_horizon_s : options_.horizon_s;
    const std::uint64_t due = std::uint64_t{p.last_seen} + horizon;
    expiry_[which].push_back(
        {p.p64, static_cast<std::uint32_t>(std::min<std::uint64_t>(due, 0xFFFFFFFFu))});
}

std::uint32_t address_book::allocate(int cls) {
    pool& pl = pools_[cls];
    if (!pl.free.empty()) {
        const std::uint32_t b = pl.free.back();
        pl.free.pop_back();
        return b;
    }
    if ((pl.blocks >> pl.chunk_shift) == pl.chunks.size())
        pl.chunks.emplace_back(
            new std::byte[(std::size_t{1} << pl.chunk_shift) * pl.block_bytes()]);
    return pl.blocks++;
}

namespace {
// Every line of [from, from + bytes), up to `most` of them.
void prefetch_lines(const std::byte* from, std::size_t bytes, std::size_t most) {
    if (bytes == 0) return;
    const auto first = reinterpret_cast<std::uintptr_t>(from) & ~std::uintptr_t{63};
    const auto last = (reinterpret_cast<std::uintptr_t>(from) + bytes - 1) & ~std::uintptr_t{63};
    for (std::uintptr_t at = first; at <= last && most > 0; at += 64, --most)
        __builtin_prefetch(reinterpret_cast<const void*>(at));
}
}  // namespace

void address_book::prefetch_addresses(const prefix& p, std::uint64_t iid) const {
    if (!p.cls) return;
    const pool& pl = pools_[p.cls];
    const std::byte* block = pl.at(p.block);
    const std::byte* tallies = block + std::size_t{pl.size} * 8;
    const bool full = p.count == pl.size;
    if (full || (p.seen_bits & seen_bit(iid))) {
        prefetch_lines(block, std::size_t{p.count} * 8, 8);
        if (full) prefetch_lines(tallies, std::size_t{p.count} * sizeof(tally), 8);
    } else {
        prefetch_lines(block + std::size_t{p.count} * 8, 8, 1);
        prefetch_lines(tallies + std::size_t{p.count} * sizeof(tally), sizeof(tally), 2);
    }
}

std::size_t address_book::address_block_bytes() const {
    std::size_t n = 0;
    for (const pool& pl : pools_)
        n += pl.chunks.size() * (std::size_t{1} << pl.chunk_shift) * pl.block_bytes();
    return n;
}

void address_book::release(int cls, std::uint32_t block) {
    if (cls > 0) pools_[cls].free.push_back(block);
}

const std::uint64_t* address_book::iids_of(const prefix& p) const {
    return p.cls ? iids(p) : nullptr;
}

const address_book::tally* address_book::tallies_of(const prefix& p) const {
    return p.cls ? tallies(p) : nullptr;
}

address_book::added address_book::add_attempt(prefix& p, std::uint64_t iid, std::uint32_t t,
                                              std::uint32_t attempts) {
    if (p.cls && (p.seen_bits & seen_bit(iid))) {
        const std::uint64_t* known = iids(p);
        for (std::uint16_t i = 0; i < p.count; ++i)
            if (known[i] == iid) {
                tally& a = tallies(p)[i];
                a.first = std::min(a.first, t);
                a.last = std::max(a.last, t);
                a.count += attempts;
                return added::known;
            }
    }
    if (p.count >= options_.max_addresses) return added::over_bound;
    add_known(p, iid);
    tallies(p)[p.count - 1] = tally{t, t, attempts};
    return added::fresh;
}

void address_book::add_known(prefix& p, std::uint64_t iid) {
    if (p.count >= options_.max_addresses) return;
    if (p.count == class_size[p.cls]) {
        const int cls = p.cls + 1;
        const std::uint32_t b = allocate(cls);
        prefix moved = p;
        moved.cls = static_cast<std::uint8_t>(cls);
        moved.block = b;
        if (p.count) {
            std::copy(iids(p), iids(p) + p.count, iids(moved));
            std::copy(tallies(p), tallies(p) + p.count, tallies(moved));
        }
        release(p.cls, p.block);
        p.cls = moved.cls;
        p.block = moved.block;
    }
    iids(p)[p.count] = iid;
    tallies(p)[p.count] = tally{0, 0, 0};
    p.seen_bits |= seen_bit(iid);
    ++p.count;
    ++address_total_;
}

void address_book::set_in_store(prefix& p) {
    if (p.in_store()) return;
    p.flags |= flag_in_store;
    queue_expiry(p);  // its entry in the short queue is dropped when it comes up
}

void address_book::mark_dirty(prefix& p) {
    if (p.flags & flag_dirty) return;
    p.flags |= flag_dirty;
    dirty_.push_back(p.p64);
}

void address_book::clear_dirty() {
    for (std::uint64_t k : dirty_)
        if (prefix* p = find(k)) {
            p->delta = record_delta{};
            p->flags &= static_cast<std::uint8_t>(~flag_dirty);
        }
    std::vector<std::uint64_t>().swap(dirty_);
    std::vector<std::pair<std::uint64_t, record_delta>>().swap(orphans_);
}

void address_book::forget(prefix& p) {
    if (p.flags & flag_dirty) orphans_.emplace_back(p.p64, p.delta);
    address_total_ -= p.count;
    release(p.cls, p.block);
    erase(p.p64);
}

// The bound of /64s is reached and a new one comes: the /64s not in the store are forgotten
// in the order of the short expiry queue, oldest entry first, until there is room. An
// entry whose /64 was seen after it was queued goes to the back with its due time brought
// up to date (a second chance), so what goes is a /64 quiet since its entry was queued:
// roughly the least recently seen. Each second chance follows an attempt on that /64, so
// the work stays in proportion to the attempts; the queue is part of the checkpoint, so a
// resumed run forgets the same /64s as a clean one (given the same bound: it is an option,
// not part of the checkpoint).
void address_book::make_room(std::uint32_t now_s) {
    ring_buffer<expiry_t>& q = expiry_[0];
    while (size_ >= options_.max_prefixes && !q.empty()) {
        const expiry_t e = q.front();
        q.pop_front();
        prefix* p = find(e.p64);
        if (!p || p->in_store()) continue;  // gone, or queued in the long queue
        const std::uint64_t due =
            std::min<std::uint64_t>(std::uint64_t{p->last_seen} + options_.horizon_s, 0xFFFFFFFFu);
        if (due > e.due_s) {
            queue_expiry(*p);
            continue;
        }
        // (one past its horizon, not yet reached by the once-a-minute pass, is not early)
        if (due > now_s) ++evicted_;
        forget(*p);
    }
}

void address_book::expire(std::uint32_t now_s) {
    // Once a minute; a clock far (more than the horizon) before the last pass, after a
    // checkpoint taken at a bogus future time, passes now, not when it has caught up.
    // Attempts closed seconds out of order do not move the passes.
    if (now_s < next_expiry_s_ && next_expiry_s_ - now_s <= std::uint64_t{options_.horizon_s} + 60)
        return;
    next_expiry_s_ = now_s + 60;
    for (int which = 0; which < 2; ++which) {
        ring_buffer<expiry_t>& q = expiry_[which];
        // Each entry present now is looked at once per pass.
        std::size_t budget = q.size();
        while (budget > 0 && !q.empty() && q.front().due_s <= now_s) {
            --budget;
            const expiry_t e = q.front();
            q.pop_front();
            prefix* p = find(e.p64);
            if (!p || (p->in_store() ? 1 : 0) != which) continue;  // gone, or queued in the other
            const std::uint32_t horizon = which ? options_.stored_horizon_s : options_.horizon_s;
            if (std::uint64_t{p->last_seen} + horizon <= now_s)
                forget(*p);
            else
                queue_expiry(*p);
        }
    }
}

void address_book::save(std::string& out) const {
    out.reserve(out.size() + 32 + size_ * 16 + address_total_ * 14 +
                (expiry_[0].size() + expiry_[1].size()) * 16);
    state_writer w(out);
    save_to(w);
}

void address_book::save(const std::function<void(std::string_view)>& sink) const {
    state_writer w(sink);
    save_to(w);
    w.flush();
}

void address_book::save_to(state_writer& w) const {
    w.put_u32(2);  // format version
    w.put_u32(next_expiry_s_);
    w.put_u64(size_);
    auto put_head = [&](std::uint64_t p64, std::uint32_t last_seen, std::uint32_t bits) {
        w.put_u64(p64);
        w.put_u32(last_seen);
        w.put_u32(bits);
    };
    // The /64s with addresses go in the order of their blocks in memory, not of the table:
    // read in table order, each block was a cache and TLB miss, most of a save's time. A
    // pass over the table puts each one's head where its block is in that order (the /64s
    // without addresses are written as they come); then the blocks are read in order.
    struct head {
        std::uint64_t p64;
        std::uint32_t last_seen;
        std::uint32_t bits;  // as saved; 0 (no addresses): a free block
    };
    std::size_t base[class_count + 1] = {};
    for (int c = 1; c < class_count; ++c) base[c + 1] = base[c] + pools_[c].blocks;
    std::vector<head> by_block(base[class_count], head{0, 0, 0});
    for (const prefix& p : table_) {
        if (!(p.flags & flag_used)) continue;
        const std::uint32_t bits = (p.in_store() ? 1u : 0u) | (std::uint32_t{p.count} << 16);
        if (p.count == 0)
            put_head(p.p64, p.last_seen, bits);
        else
            by_block[base[p.cls] + p.block] = head{p.p64, p.last_seen, bits};
    }
    for (int c = 1; c < class_count; ++c) {
        const pool& pl = pools_[c];
        for (std::uint32_t b = 0; b < pl.blocks; ++b) {
            const head& h = by_block[base[c] + b];
            const auto count = static_cast<std::uint16_t>(h.bits >> 16);
            if (count == 0) continue;
            put_head(h.p64, h.last_seen, h.bits);
            // Tallies relative to the /64's last attempt: a few bytes instead of twelve.
            const std::byte* block = pl.at(b);
            const auto* known = reinterpret_cast<const std::uint64_t*>(block);
            const auto* a = reinterpret_cast<const tally*>(block + std::size_t{pl.size} * 8);
            for (std::uint16_t i = 0; i < count; ++i) {
                w.put_u64(known[i]);
                w.put_varint(std::uint64_t{h.last_seen} - std::min(a[i].last, h.last_seen));
                w.put_varint(std::uint64_t{a[i].last} - std::min(a[i].first, a[i].last));
                w.put_varint(a[i].count);
            }
        }
    }
    for (const auto& q : expiry_) {
        w.put_u64(q.size());
        for (std::size_t i = 0; i < q.size(); ++i) w.put_pod(q[i]);
    }
}

bool address_book::restore(std::string_view in) {
    const options o = options_;
    *this = address_book(o);
    state_reader r(in);
    auto fail = [&] {
        *this = address_book(o);
        return false;
    };
    if (r.get_u32() != 2) return fail();
    next_expiry_s_ = r.get_u32();
    const std::uint64_t n = r.get_u64();
    if (!r.fits(n, 16)) return fail();
    while (table_.size() * 5 < n * 8) grow();
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint64_t p64 = r.get_u64();
        const std::uint32_t last_seen = r.get_u32();
        const std::uint32_t bits = r.get_u32();
        const auto count = static_cast<std::uint16_t>(bits >> 16);
        if (!r.fits(count, 11) || count > options_.max_addresses) return fail();
        bool created = false;
        prefix* p = slot_for(p64, created);
        if (!created) return fail();  // a /64 twice
        p->last_seen = last_seen;
        if (bits & 1u) p->flags |= flag_in_store;
        for (std::uint16_t j = 0; j < count; ++j) {
            const std::uint64_t iid = r.get_u64();
            const std::uint64_t last_back = r.get_varint();
            const std::uint64_t span = r.get_varint();
            const std::uint64_t attempts = r.get_varint();
            if (last_back > last_seen || span > last_seen - last_back || attempts > 0xFFFFFFFFu)
                return fail();
            add_known(*p, iid);
            tally& a = tallies(*p)[p->count - 1];
            a.last = static_cast<std::uint32_t>(last_seen - last_back);
            a.first = static_cast<std::uint32_t>(a.last - span);
            a.count = static_cast<std::uint32_t>(attempts);
        }
    }
    for (auto& q : expiry_) {
        const std::uint64_t m = r.get_u64();
        if (!r.fits(m, sizeof(expiry_t))) return fail();
        for (std::uint64_t i = 0; i < m; ++i) q.push_back(r.get_pod<expiry_t>());
    }
    if (!r.ok() || !r.at_end()) return fail();
    return true;
}

}  // namespace v6bl::ingest
