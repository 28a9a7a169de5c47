// An allocator for ingest's large hash tables: transparent huge pages, asked for with
// madvise(MADV_HUGEPAGE) before the first touch.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace v6bl::ingest {

// The round histories, their rings and the address book's /64s are tens of MB each at a
// busy sensor and are read at random, a few times per attempt: on 4 KiB pages nearly every
// such read also misses the TLB. Allocations from 4 MiB up are mapped 2 MiB-aligned and
// advised as huge pages (bench/ingest, docs/benchmarks.md: 8.6 % less time in paired runs
// on the 2-core VM, although a huge page costs three to four times as much to fault in
// there; the rest of the heap goes on huge pages only where small ones are dearer to fault
// in, store/huge_pages.h). Where transparent huge pages are off, madvise fails or is ignored
// and the table is on small pages as before.
template <typename T>
struct huge_page_allocator {
    using value_type = T;
    static constexpr std::size_t huge = std::size_t{2} << 20;
    // Below this, the ordinary allocator: a smaller table fits the TLB's reach anyway.
    static constexpr std::size_t min_bytes = std::size_t{4} << 20;

    huge_page_allocator() = default;
    template <typename U>
    huge_page_allocator(const huge_page_allocator<U>&) noexcept {}

    static std::size_t mapped_bytes(std::size_t n) {
        return (n * sizeof(T) + huge - 1) / huge * huge;
    }

    // Under AddressSanitizer every table stays on the ordinary heap, where ASan sees
    // reads out of bounds and uses after a rehash freed the old array.
#if defined(__SANITIZE_ADDRESS__)
    static constexpr bool enabled = false;
#else
    static constexpr bool enabled = true;
#endif
    static bool mapped(std::size_t n) {
        return enabled && n * sizeof(T) >= min_bytes;
    }

    T* allocate(std::size_t n) {
        if (n > (SIZE_MAX - 2 * huge) / sizeof(T)) throw std::bad_array_new_length();
        if (!mapped(n)) return std::allocator<T>().allocate(n);
        const std::size_t len = mapped_bytes(n);
        // Over-map by one huge page and trim both ends to a 2 MiB boundary.
        void* p =
            ::mmap(nullptr, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        const auto base = reinterpret_cast<std::uintptr_t>(p);
        const std::uintptr_t start = (base + huge - 1) & ~(huge - 1);
        if (start > base) ::munmap(p, start - base);
        const std::uintptr_t tail = start + len, end = base + len + huge;
        if (end > tail) ::munmap(reinterpret_cast<void*>(tail), end - tail);
        ::madvise(reinterpret_cast<void*>(start), len, MADV_HUGEPAGE);
        return reinterpret_cast<T*>(start);
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (!mapped(n)) {
            std::allocator<T>().deallocate(p, n);
            return;
        }
        ::munmap(p, mapped_bytes(n));
    }
    template <typename U>
    bool operator==(const huge_page_allocator<U>&) const noexcept {
        return true;
    }
};

}  // namespace v6bl::ingest
