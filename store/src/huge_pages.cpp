#include "v6bl/store/huge_pages.h"

#include <unistd.h>

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

}  // namespace

bool huge_pages_wanted(bool by_default) {
    const char* v = std::getenv("V6BL_HUGE_PAGES");
    if (v && std::strcmp(v, "0") == 0) return false;
    if (v && std::strcmp(v, "1") == 0) return true;
    return by_default;
}

void reexec_with_huge_pages(char** argv, bool by_default) {
    if (!huge_pages_wanted(by_default)) return;
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    const std::string current = tunables ? tunables : "";
    if (current.find("glibc.malloc.hugetlb") != std::string::npos) return;
    if (!kernel_allows_huge_pages()) return;
    const std::string wanted =
        current.empty() ? "glibc.malloc.hugetlb=1" : current + ":glibc.malloc.hugetlb=1";
    if (setenv("GLIBC_TUNABLES", wanted.c_str(), 1) != 0) return;
    execv("/proc/self/exe", argv);
    // exec failed: go on as we are, with the environment as it was
    if (tunables)
        setenv("GLIBC_TUNABLES", current.c_str(), 1);
    else
        unsetenv("GLIBC_TUNABLES");
}

}  // namespace v6bl::store
