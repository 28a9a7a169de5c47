#include "v6bl/store/huge_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace v6bl::store {

namespace {

bool kernel_allows_huge_pages() {
    std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string line;
    if (!std::getline(in, line)) return false;
    return line.find("[never]") == std::string::npos;
}

// Faults in `bytes` of fresh memory on 2 MiB boundaries, advised as huge pages or not: ms
// per MiB, or a negative figure when the memory could not be mapped (or, for huge pages,
// advised).
double fault_cost(std::size_t bytes, bool huge) {
    constexpr std::size_t align = std::size_t{2} << 20;
    void* m = ::mmap(nullptr, bytes + align, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return -1;
    const auto base = reinterpret_cast<std::uintptr_t>(m);
    auto* p = reinterpret_cast<volatile unsigned char*>((base + align - 1) & ~(align - 1));
    if (::madvise(const_cast<unsigned char*>(p), bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) !=
            0 &&
        huge) {
        ::munmap(m, bytes + align);
        return -1;
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < bytes; i += 4096) p[i] = 1;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ::munmap(m, bytes + align);
    return s * 1e3 / static_cast<double>(bytes >> 20);
}

}  // namespace

page_fault_costs fault_costs() {
    constexpr std::size_t probe = std::size_t{2} << 20;
    page_fault_costs c;
    auto least = [](double kept, double v) { return kept < 0 || (v >= 0 && v < kept) ? v : kept; };
    for (int round = 0; round < 2; ++round) {
        c.huge_ms_per_mib = least(c.huge_ms_per_mib, fault_cost(probe, true));
        c.small_ms_per_mib = least(c.small_ms_per_mib, fault_cost(probe, false));
    }
    return c;
}

bool huge_pages_cheaper(const page_fault_costs& c) {
    if (c.huge_ms_per_mib < 0 || c.small_ms_per_mib < 0) return false;
    return c.small_ms_per_mib >= 1.5 && c.huge_ms_per_mib * 4 <= c.small_ms_per_mib * 3;
}

bool huge_pages_wanted(huge_pages_default by_default) {
    const char* v = std::getenv("V6BL_HUGE_PAGES");
    if (v && std::strcmp(v, "0") == 0) return false;
    if (v && std::strcmp(v, "1") == 0) return true;
    switch (by_default) {
        case huge_pages_default::yes:
            return true;
        case huge_pages_default::no:
            return false;
        case huge_pages_default::if_cheaper_to_fault:
            return huge_pages_cheaper(fault_costs());
    }
    return false;
}

std::optional<std::string> tunables_for_huge_pages(const char* current) {
    const std::string now = current ? current : "";
    if (now.find("glibc.malloc.hugetlb") != std::string::npos) return std::nullopt;
    return now.empty() ? "glibc.malloc.hugetlb=1" : now + ":glibc.malloc.hugetlb=1";
}

bool huge_pages_requested() {
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    return tunables && std::strstr(tunables, "glibc.malloc.hugetlb=1") != nullptr;
}

void reexec_with_huge_pages(char** argv, huge_pages_default by_default) {
    // (the re-executed program comes here again: the tunable says it is done, before any
    // measuring)
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    const std::optional<std::string> wanted = tunables_for_huge_pages(tunables);
    if (!wanted || !kernel_allows_huge_pages() || !huge_pages_wanted(by_default)) return;
    const std::string current = tunables ? tunables : "";
    if (setenv("GLIBC_TUNABLES", wanted->c_str(), 1) != 0) return;
    execv("/proc/self/exe", argv);
    // exec failed: go on as we are, with the environment as it was
    if (tunables)
        setenv("GLIBC_TUNABLES", current.c_str(), 1);
    else
        unsetenv("GLIBC_TUNABLES");
}

}  // namespace v6bl::store
