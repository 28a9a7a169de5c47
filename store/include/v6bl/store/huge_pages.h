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

// What the heap goes on when the environment does not say.
enum class huge_pages_default {
    yes,
    no,
    // Whichever page size this machine faults in cheaper, measured (fault_costs()): for a
    // process that touches a lot of fresh memory once and then reads it at random (ingest),
    // faulting is where the two differ, and which one wins depends on the host. One guest
    // faulted a huge page in at 2.4 ms/MiB and small ones at 0.5 (huge pages made ingest
    // 6 % slower); another at 0.06 and 2.4 (5 % faster).
    if_cheaper_to_fault,
};

// What faulting in fresh anonymous memory costs here, in ms per MiB, each measured over
// 4 MiB (2 MiB-aligned, advised MADV_HUGEPAGE or MADV_NOHUGEPAGE, one write per 4 KiB).
// Where transparent huge pages are unavailable the "huge" region is on small pages too.
struct page_fault_costs {
    double huge_ms_per_mib = 0;
    double small_ms_per_mib = 0;
};
page_fault_costs fault_costs();

// The rule for if_cheaper_to_fault: huge pages when they fault in at most 3/4 of what small
// pages cost; closer than that, small pages (which do not round mappings up to 2 MiB).
bool huge_pages_cheaper(const page_fault_costs& c);

// Whether the heap goes on huge pages: the environment's V6BL_HUGE_PAGES (0: no, 1: yes)
// or else `by_default` (if_cheaper_to_fault measures, about 10 ms).
bool huge_pages_wanted(huge_pages_default by_default);

// Re-executes /proc/self/exe with argv and GLIBC_TUNABLES extended by
// glibc.malloc.hugetlb=1, and does not return, unless: the tunable is already set, the
// kernel's transparent huge pages are "never", huge_pages_wanted(by_default) is false, or
// the exec fails (then the program just goes on with normal pages). Call it first in main,
// before any thread or file is opened.
void reexec_with_huge_pages(char** argv, huge_pages_default by_default = huge_pages_default::yes);

// Whether this process's heap is on huge pages (glibc.malloc.hugetlb=1 in GLIBC_TUNABLES).
bool heap_on_huge_pages();

}  // namespace v6bl::store
