// Tests of the heap's page-size choice: the rule, the probe, the environment.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

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

TEST_CASE("huge pages are chosen where small ones are dear to fault in and huge ones cheaper") {
    // the two guests of bench/ingest: small pages at 2.7 ms/MiB, huge 0.07 (probe); small
    // at 0.5, huge 0.1 on memory just freed (and up to 2.5 on memory never touched)
    CHECK(huge_pages_cheaper({0.07, 2.7}));
    CHECK_FALSE(huge_pages_cheaper({0.1, 0.5}));
    CHECK_FALSE(huge_pages_cheaper({2.4, 0.5}));
    // small pages at 1.5 ms/MiB and up, huge ones at most 3/4 of that
    CHECK(huge_pages_cheaper({1.125, 1.5}));
    CHECK_FALSE(huge_pages_cheaper({1.13, 1.5}));
    CHECK_FALSE(huge_pages_cheaper({0.1, 1.49}));
    CHECK_FALSE(huge_pages_cheaper({1.6, 2.0}));
    // a probe that measured nothing decides nothing
    CHECK_FALSE(huge_pages_cheaper({-1, 2.7}));
    CHECK_FALSE(huge_pages_cheaper({0.07, -1}));
}

TEST_CASE("the fault-cost probe measures both page sizes") {
    const page_fault_costs c = fault_costs();
    // (huge pages may be unavailable here: then not measured, -1)
    CHECK(c.huge_ms_per_mib != 0);
    CHECK(c.small_ms_per_mib > 0);
    // 512 faults of 4 KiB take far less than a minute per MiB on any machine that runs this
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

TEST_CASE("GLIBC_TUNABLES gains glibc.malloc.hugetlb=1 once, and never overrides the user's") {
    CHECK(tunables_for_huge_pages(nullptr) == "glibc.malloc.hugetlb=1");
    CHECK(tunables_for_huge_pages("") == "glibc.malloc.hugetlb=1");
    CHECK(tunables_for_huge_pages("glibc.malloc.arena_max=2") ==
          "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
    // the re-executed program: done
    CHECK_FALSE(tunables_for_huge_pages("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"));
    // the user's value, whatever it is
    CHECK_FALSE(tunables_for_huge_pages("glibc.malloc.hugetlb=0"));
    CHECK_FALSE(tunables_for_huge_pages("glibc.malloc.hugetlb=2:glibc.malloc.arena_max=2"));
}

TEST_CASE("huge pages are requested when GLIBC_TUNABLES sets glibc.malloc.hugetlb=1") {
    {
        scoped_env e("GLIBC_TUNABLES", "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
        CHECK(huge_pages_requested());
    }
    {
        scoped_env e("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0");
        CHECK_FALSE(huge_pages_requested());
    }
    scoped_env e("GLIBC_TUNABLES", nullptr);
    CHECK_FALSE(huge_pages_requested());
}
