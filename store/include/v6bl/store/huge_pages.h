#pragma once
// Transparent huge pages for the process's heap.
//
// The store's memtables and block cache, and the server's listing view, are large structures
// read at random: with 4 KiB pages nearly every probe misses the TLB as well, and on a
// virtual machine a TLB miss walks two page tables. glibc backs its heaps with transparent
// huge pages when the tunable glibc.malloc.hugetlb=1 is set, but tunables are read only at
// program start, so this re-executes the program with it set (bench/store: upserts 1.2-1.7x
// faster, lookups at 10M /64s 1.3x cheaper).
#include <optional>
#include <string>

namespace v6bl::store {

// What the heap goes on when the environment does not say.
enum class huge_pages_default {
    yes,
    no,
    // Where small pages are dear to fault in, measured (fault_costs(), huge_pages_cheaper()):
    // for a process that touches a lot of fresh memory once and then reads it at random
    // (ingest), faulting is where the page sizes differ, and which one wins depends on the
    // host. One guest faulted small pages in at 0.5 ms/MiB and huge ones at up to 2.5 (huge
    // pages made ingest 6 % slower); another at 2.7 and about 1 (6 % faster).
    if_cheaper_to_fault,
};

// What faulting in fresh anonymous memory costs here, in ms per MiB: the least of two
// rounds over 2 MiB each (2 MiB-aligned, advised MADV_HUGEPAGE or MADV_NOHUGEPAGE, one write
// per 4 KiB), the two sizes alternating. Negative: not measured (the mapping or, for huge
// pages, the advice failed).
struct page_fault_costs {
    double huge_ms_per_mib = -1;
    double small_ms_per_mib = -1;
};
page_fault_costs fault_costs();

// The rule for if_cheaper_to_fault: huge pages when small ones cost at least 1.5 ms/MiB
// (6 us a fault) and huge ones at most 3/4 of that. A huge page's figure is often of memory
// a process just freed, which the host still backs: on memory the guest never touched it
// was up to 2.5 ms/MiB, 17 times the probe's. A small page's cost is per fault and shows
// whatever memory it gets; 1.5 is 3x the guest where huge pages lost, half the one where
// they won.
bool huge_pages_cheaper(const page_fault_costs& c);

// Whether the heap goes on huge pages: the environment's V6BL_HUGE_PAGES (0: no, 1: yes)
// or else `by_default` (if_cheaper_to_fault measures, about 10 ms).
bool huge_pages_wanted(huge_pages_default by_default);

// The GLIBC_TUNABLES value that puts the heap on huge pages, given the current one (null:
// unset), or nothing when the current one names glibc.malloc.hugetlb already (the program
// re-executed for it, or the user's choice, whatever the value).
std::optional<std::string> tunables_for_huge_pages(const char* current);

// Re-executes /proc/self/exe with argv and GLIBC_TUNABLES extended by
// glibc.malloc.hugetlb=1, and does not return, unless: tunables_for_huge_pages() says
// nothing, the kernel's transparent huge pages are "never", huge_pages_wanted(by_default)
// is false, or the exec fails (then the program just goes on with normal pages). Call it
// first in main, before any thread or file is opened.
void reexec_with_huge_pages(char** argv, huge_pages_default by_default = huge_pages_default::yes);

// Whether this process asked glibc for a heap on huge pages (glibc.malloc.hugetlb=1 in
// GLIBC_TUNABLES): what the kernel then gives is its own (always: with THP "madvise" or
// "always" and memory to spare).
bool huge_pages_requested();

}  // namespace v6bl::store
