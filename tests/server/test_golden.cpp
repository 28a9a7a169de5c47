// Runs every golden query file in tests/server/golden through the pure answer core.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "golden_runner.h"

TEST_CASE("golden query files answer as written", "[server][golden]") {
    const std::filesystem::path dir = V6BL_GOLDEN_DIR;
    int files = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
        if (f.path().extension() != ".txt" || f.path().filename() == "README.txt") continue;
        ++files;
        const auto report = v6bl::server::test::run_golden_file(f.path().string());
        // V6BL_GOLDEN_WRITE=DIR writes the actual answers beside, for review before adopting.
        if (const char* out = std::getenv("V6BL_GOLDEN_WRITE")) {
            std::ofstream(std::filesystem::path(out) / f.path().filename()) << report.actual;
        }
        INFO(f.path().filename().string() << ":\n" << report.details);
        CHECK(report.cases > 0);
        CHECK(report.failures == 0);
    }
    CHECK(files > 0);
}
