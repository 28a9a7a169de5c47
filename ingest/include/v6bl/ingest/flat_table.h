// An open-addressing hash table (linear probing, backward-shift erase) for ingest's hot maps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "v6bl/ingest/huge_page_allocator.h"

namespace v6bl::ingest {

// std::unordered_map allocates a node per entry and chases a pointer per lookup; at a busy
// sensor the engine looks up hundreds of thousands of addresses per second, so entries live
// in one array here. Keys and values must be trivially copyable. Pointers returned by find()
// and try_emplace() stay valid until the next insertion or erase. Iteration order depends
// on the insertion history: nothing that must be deterministic may depend on it.
// `HugePages`: the slots of a large table go on transparent huge pages
// (huge_page_allocator.h), for a table that lives long and is read at random; not for one
// emptied after every commit, whose pages would be faulted in again each time.
template <typename Key, typename Value, typename Hash, bool HugePages = false>
class flat_table {
  public:
    flat_table() = default;

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    Value* find(const Key& k) {
        if (size_ == 0) return nullptr;
        for (std::size_t i = Hash{}(k)&mask_;; i = (i + 1) & mask_) {
            if (!slots_[i].used) return nullptr;
            if (same(slots_[i].key, k)) return &slots_[i].value;
        }
    }
    const Value* find(const Key& k) const { return const_cast<flat_table*>(this)->find(k); }
    // Starts loading the slot a lookup of `k` reads first.
    void prefetch(const Key& k) const {
        if (!slots_.empty()) __builtin_prefetch(&slots_[Hash{}(k)&mask_]);
    }

    // The value for `k`, value-initialised when new; second is true when it was inserted.
    std::pair<Value*, bool> try_emplace(const Key& k) {
        if ((size_ + 1) * 8 > slots_.size() * 5) grow();  // load factor <= 0.625
        std::size_t i = Hash{}(k)&mask_;
        for (; slots_[i].used; i = (i + 1) & mask_)
            if (same(slots_[i].key, k)) return {&slots_[i].value, false};
        slots_[i].used = 1;
        slots_[i].key = k;
        slots_[i].value = Value{};
        ++size_;
        return {&slots_[i].value, true};
    }
    Value& operator[](const Key& k) { return *try_emplace(k).first; }

    bool erase(const Key& k) {
        if (size_ == 0) return false;
        std::size_t i = Hash{}(k)&mask_;
        for (;; i = (i + 1) & mask_) {
            if (!slots_[i].used) return false;
            if (same(slots_[i].key, k)) break;
        }
        // Backward-shift deletion: no tombstones, probe chains stay short.
        for (std::size_t j = (i + 1) & mask_; slots_[j].used; j = (j + 1) & mask_) {
            const std::size_t home = Hash{}(slots_[j].key) & mask_;
            // Move j into the hole at i when its home is not cyclically in (i, j].
            if (((j - home) & mask_) >= ((j - i) & mask_)) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i].used = 0;
        --size_;
        return true;
    }

    // Empties the table and frees its array (a table sized by a burst does not keep it).
    void clear() {
        decltype(slots_)().swap(slots_);
        size_ = 0;
        mask_ = 0;
    }

    void reserve(std::size_t n) {
        while (n * 8 > slots_.size() * 5) grow();
    }

    template <typename Fn>  // fn(const Key&, const Value&)
    void for_each(Fn&& fn) const {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].used) fn(slots_[i].key, slots_[i].value);
    }

  private:
    struct slot {
        Key key;
        Value value;
        std::uint8_t used;  // in the slot: one cache line per probe
    };
    static bool same(const Key& a, const Key& b) {
        return std::memcmp(&a, &b, sizeof(Key)) == 0;  // keys have no padding
    }
    void grow() {
        decltype(slots_) old = std::move(slots_);
        const std::size_t cap = old.empty() ? 64 : old.size() * 2;
        slots_.assign(cap, slot{});
        mask_ = cap - 1;
        for (const slot& s : old) {
            if (!s.used) continue;
            std::size_t j = Hash{}(s.key) & mask_;
            while (slots_[j].used) j = (j + 1) & mask_;
            slots_[j] = s;
        }
    }

    using slot_allocator =
        std::conditional_t<HugePages, huge_page_allocator<slot>, std::allocator<slot>>;
    std::vector<slot, slot_allocator> slots_;
    std::size_t size_ = 0;
    std::size_t mask_ = 0;
};

}  // namespace v6bl::ingest
