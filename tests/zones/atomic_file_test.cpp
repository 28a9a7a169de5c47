// Atomic output: a reader sees the old file or the complete new one, never a part.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>

#include "v6bl/zones/atomic_file.h"
#include "zone_test_support.h"

using namespace v6bl;

TEST_CASE("atomic_file replaces the target only on commit", "[zones][atomic_file]") {
    zones::testing::temp_dir dir;
    const std::string target = dir.file("out.zone");
    zones::testing::write_text(target, "old\n");
    std::string temp;
    {
        zones::atomic_file file(target);
        temp = file.temp_path();
        std::fputs("new, half written", file.stream());
        std::fflush(file.stream());
        CHECK(std::filesystem::exists(temp));
        CHECK(temp.rfind(dir.path() + "/", 0) == 0);  // same directory: rename is atomic
        CHECK(zones::testing::read_text(target) == "old\n");
        // destroyed without commit: an aborted export
    }
    CHECK(zones::testing::read_text(target) == "old\n");
    CHECK_FALSE(std::filesystem::exists(temp));
    {
        zones::atomic_file file(target);
        std::fputs("new\n", file.stream());
        file.commit();
        temp = file.temp_path();
    }
    CHECK(zones::testing::read_text(target) == "new\n");
    CHECK_FALSE(std::filesystem::exists(temp));
    const auto perms = std::filesystem::status(target).permissions();
    CHECK((perms & std::filesystem::perms::others_read) != std::filesystem::perms::none);
}

TEST_CASE("atomic_file refuses to replace what is not a regular file", "[zones][atomic_file]") {
    zones::testing::temp_dir dir;
    const std::string fifo = dir.file("pipe");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THROWS_WITH(zones::atomic_file(fifo),
                      Catch::Contains(fifo) && Catch::Contains("not a regular file"));
    CHECK(std::filesystem::is_fifo(fifo));
    std::filesystem::create_directories(dir.file("sub"));
    CHECK_THROWS(zones::atomic_file(dir.file("sub")));
    CHECK(std::filesystem::is_directory(dir.file("sub")));
}

TEST_CASE("atomic_file names the file when its directory is missing", "[zones][atomic_file]") {
    try {
        zones::atomic_file file("/nonexistent-dir/out.zone");
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find("/nonexistent-dir/out.zone") != std::string::npos);
    }
}
