#pragma once
// Transparent huge pages for the process's heap.
//
// The store's memtables and block cache, and the server's listing view, are large structures
// read at random: with 4 KiB pages nearly every probe misses the TLB as well, and on a
// virtual machine a TLB miss walks two page tables. glibc backs its heaps with transparent
// huge pages when the tunable glibc.malloc.hugetlb=1 is set, but tunables are read only at
// program start, so this re-executes the program with it set (bench/store: upserts 1.2-1.7x
// faster, lookups at 10M /64s 1.3x cheaper).
namespace v6bl::store {

// Whether the heap goes on huge pages: the environment's V6BL_HUGE_PAGES (0: no, 1: yes)
// or else `by_default`. A process that touches a lot of fresh memory once and then reads it
// at random (ingest) can lose by them: on some guests a huge page costs several times as
// much to fault in as its 512 small pages (bench/ingest's ingest_floor prints both).
bool huge_pages_wanted(bool by_default);

// Re-executes /proc/self/exe with argv and GLIBC_TUNABLES extended by
// glibc.malloc.hugetlb=1, and does not return, unless: huge_pages_wanted(by_default) is
// false, the tunable is already set, the kernel's transparent huge pages are "never", or
// the exec fails (then the program just goes on with normal pages). Call it first in main,
// before any thread or file is opened.
void reexec_with_huge_pages(char** argv, bool by_default = true);

}  // namespace v6bl::store
