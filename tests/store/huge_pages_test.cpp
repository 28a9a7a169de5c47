// Tests of the heap's page-size choice: the rule, the probe, the environment.
#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

#include "v6bl/store/huge_pages.h"

using namespace v6bl::store;

namespace {

// Sets an environment variable for one scope, then puts back what was there.
class scoped_env {
  public:
    scoped_env(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) {
            had_ = true;
            old_ = old;
        }
        if (value)
            setenv(name, value, 1);
        else
            unsetenv(name);
    }
    ~scoped_env() {
        if (had_)
            setenv(name_, old_.c_str(), 1);
        else
            unsetenv(name_);
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;

  private:
    const char* name_;
    bool had_ = false;
    std::string old_;
};

}  // namespace

TEST_CASE("huge pages are chosen where they fault in at most 3/4 of what small ones cost") {
    // the two guests of bench/ingest: huge pages 40x cheaper, and 5x dearer
    CHECK(huge_pages_cheaper({0.06, 2.4}));
    CHECK_FALSE(huge_pages_cheaper({2.4, 0.5}));
    // close: small pages, which do not round mappings up to 2 MiB
    CHECK_FALSE(huge_pages_cheaper({1.0, 1.2}));
    CHECK(huge_pages_cheaper({0.75, 1.0}));
    CHECK_FALSE(huge_pages_cheaper({0.76, 1.0}));
    // a probe that could not map its memory decides nothing
    CHECK_FALSE(huge_pages_cheaper({-1, 2.4}));
    CHECK_FALSE(huge_pages_cheaper({0.06, -1}));
}

TEST_CASE("the fault-cost probe measures both page sizes") {
    const page_fault_costs c = fault_costs();
    CHECK(c.huge_ms_per_mib > 0);
    CHECK(c.small_ms_per_mib > 0);
    // 1,024 faults of 4 KiB take far less than a minute per MiB on any machine that runs this
    CHECK(c.huge_ms_per_mib < 60'000);
    CHECK(c.small_ms_per_mib < 60'000);
}

TEST_CASE("V6BL_HUGE_PAGES overrides the default; unset, the default decides") {
    {
        scoped_env e("V6BL_HUGE_PAGES", "0");
        CHECK_FALSE(huge_pages_wanted(huge_pages_default::yes));
        CHECK_FALSE(huge_pages_wanted(huge_pages_default::if_cheaper_to_fault));
    }
    {
        scoped_env e("V6BL_HUGE_PAGES", "1");
        CHECK(huge_pages_wanted(huge_pages_default::no));
        CHECK(huge_pages_wanted(huge_pages_default::if_cheaper_to_fault));
    }
    scoped_env e("V6BL_HUGE_PAGES", nullptr);
    CHECK(huge_pages_wanted(huge_pages_default::yes));
    CHECK_FALSE(huge_pages_wanted(huge_pages_default::no));
}

TEST_CASE("the heap is on huge pages when GLIBC_TUNABLES sets glibc.malloc.hugetlb=1") {
    {
        scoped_env e("GLIBC_TUNABLES", "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
        CHECK(heap_on_huge_pages());
    }
    {
        scoped_env e("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0");
        CHECK_FALSE(heap_on_huge_pages());
        // a value the user chose is left alone: no re-exec (this returns)
        reexec_with_huge_pages(nullptr, huge_pages_default::yes);
        CHECK(std::string(std::getenv("GLIBC_TUNABLES")) == "glibc.malloc.hugetlb=0");
    }
    scoped_env e("GLIBC_TUNABLES", nullptr);
    CHECK_FALSE(heap_on_huge_pages());
}
