// The slot array of an open-addressing table that doubles in place: on huge pages like
// huge_page_allocator's, and grown by moving its pages (mremap), not by copying them into
// a new array, then rehashed where it lies.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "v6bl/ingest/huge_page_allocator.h"

namespace v6bl::ingest {

// Doubling a table the usual way touches a new array twice its size while the old one is
// still held: the round histories and the address book reach 32 MiB each at a busy sensor
// after 4, 8 and 16 MiB arrays, and on the 2-core VM every MiB touched for the first time
// costs about 1.3 ms once the host has taken it back (docs/benchmarks.md). Grown here, the
// old pages become the first half of the new array and only the second half is new.
template <typename T>
class huge_array {
    static_assert(std::is_trivially_copyable_v<T>);

  public:
    huge_array() = default;
    huge_array(const huge_array&) = delete;
    huge_array& operator=(const huge_array&) = delete;
    huge_array(huge_array&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)),
          size_(std::exchange(o.size_, 0)),
          parts_(std::move(o.parts_)) {}
    huge_array& operator=(huge_array&& o) noexcept {
        if (this != &o) {
            release();
            data_ = std::exchange(o.data_, nullptr);
            size_ = std::exchange(o.size_, 0);
            parts_ = std::move(o.parts_);
        }
        return *this;
    }
    ~huge_array() { release(); }

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    T& operator[](std::size_t i) { return data_[i]; }
    const T& operator[](std::size_t i) const { return data_[i]; }
    T* begin() { return data_; }
    T* end() { return data_ + size_; }
    const T* begin() const { return data_; }
    const T* end() const { return data_ + size_; }

    // n copies of v; what was held is dropped.
    void assign(std::size_t n, const T& v) {
        release();
        if (n == 0) return;
        data_ = alloc_t().allocate(n);
        size_ = n;
        if (alloc_t::mapped(n)) parts_.assign(1, alloc_t::mapped_bytes(n));
        for (std::size_t i = 0; i < n; ++i) data_[i] = v;
    }
    // Grows to n slots (n >= size()): the first size() keep what they hold, the others are
    // v. Mapped arrays move their pages into the new mapping; others are copied.
    void grow(std::size_t n, const T& v) {
        const std::size_t old = size_;
        grow(n);
        for (std::size_t i = old; i < size_; ++i) data_[i] = v;
    }
    // The same, the new slots left as they come (not touched: a pool that hands them out
    // one by one faults its memory in as it goes).
    void grow(std::size_t n) {
        const std::size_t old = size_;
        if (n <= old) return;
        T* p = alloc_t().allocate(n);
        if (old > 0 && alloc_t::mapped(old) && alloc_t::mapped(n)) {
            move_pages(p, alloc_t::mapped_bytes(n));
        } else {
            if (old > 0) std::memcpy(static_cast<void*>(p), data_, old * sizeof(T));
            if (data_) alloc_t().deallocate(data_, old);
            parts_.clear();
            if (alloc_t::mapped(n)) parts_.assign(1, alloc_t::mapped_bytes(n));
        }
        data_ = p;
        size_ = n;
    }
    void release() {
        if (data_) alloc_t().deallocate(data_, size_);
        data_ = nullptr;
        size_ = 0;
        parts_.clear();
    }

  private:
    using alloc_t = huge_page_allocator<T>;
    // Moves the array's pages to the start of `to` (a mapping of `to_bytes`): the kernel
    // moves page table entries (a 2 MiB huge page is one), no byte is copied or zeroed. A
    // grown array is several mappings (the pages moved in, then the new part), which the
    // kernel does not merge; older kernels move one mapping per call, so each part moves on
    // its own. A part the kernel refuses to move is copied, with every part after it.
    void move_pages(T* to, std::size_t to_bytes) {
        auto* from = reinterpret_cast<std::byte*>(data_);
        auto* dest = reinterpret_cast<std::byte*>(to);
        std::size_t at = 0, total = 0, moved = 0;
        for (std::size_t len : parts_) total += len;
        for (; moved < parts_.size(); ++moved) {
            const std::size_t len = parts_[moved];
            if (::mremap(from + at, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dest + at) ==
                MAP_FAILED)
                break;
            at += len;
        }
        if (at < total) {
            std::memcpy(dest + at, from + at, total - at);
            ::munmap(from + at, total - at);
        }
        parts_.resize(moved);
        parts_.push_back(to_bytes - at);  // the rest of the new mapping, one mapping still
    }

    T* data_ = nullptr;
    std::size_t size_ = 0;
    // A mapped array: the lengths of the mappings it is made of, in address order.
    std::vector<std::size_t> parts_;
};

// Rehashes a linear-probing table of power-of-two size where it lies, after its slots grew
// from `old_size` to slots.size() (the same, or a power-of-two multiple: the new part empty). Each
// entry goes where an insertion into an empty table of the new size would probe it to.
//   used(const T&): the slot holds an entry (an empty slot is T{});
//   keep(T&): whether the entry stays (false: it is dropped; the callee lets go of what
//   it holds);
//   home(const T&): its hash (any bits; masked here).
// The entries from the first empty slot on are taken out and put back one at a time in slot
// order: one that stays in the old part lands at or before its old slot, on a probe path of
// entries already placed, and one that moves up into the new part probes among entries
// already placed there. Those before the first empty slot (a cluster can wrap round the
// old end into them) are put back last, into a table that is whole again; so would be one
// whose probe wrapped round the new end (it cannot: the entries probing into the new part
// from a slot s on come from old slots s - old_size and up, no more than fit). Returns the
// entries kept.
template <typename T, typename Used, typename Keep, typename Home>
std::size_t rehash_in_place(huge_array<T>& slots, std::size_t old_size, Used used, Keep keep,
                            Home home) {
    const std::size_t size = slots.size(), mask = size - 1;
    std::size_t kept = 0;
    std::vector<T> later;
    std::size_t first_empty = 0;
    while (first_empty < old_size && used(slots[first_empty])) ++first_empty;
    later.reserve(first_empty + 16);  // taking entries out cannot then fail halfway
    for (std::size_t i = 0; i < first_empty; ++i) {
        T e = slots[i];
        slots[i] = T{};
        if (keep(e)) later.push_back(e);
    }
    for (std::size_t i = first_empty; i < old_size; ++i) {
        if (!used(slots[i])) continue;
        T e = slots[i];
        slots[i] = T{};
        if (!keep(e)) continue;
        std::size_t j = home(e) & mask;
        while (used(slots[j]) && j != mask) ++j;
        if (used(slots[j])) {  // would wrap round the end
            later.push_back(e);
            continue;
        }
        slots[j] = e;
        ++kept;
    }
    for (const T& e : later) {
        std::size_t j = home(e) & mask;
        while (used(slots[j])) j = (j + 1) & mask;
        slots[j] = e;
        ++kept;
    }
    return kept;
}

}  // namespace v6bl::ingest
