// `v6bl export` end to end through the executable: atomic file output, stdout, errors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "zone_test_support.h"

namespace zt = v6bl::zones::testing;

#ifdef V6BL_EXECUTABLE
TEST_CASE("v6bl export writes a checked zone atomically and names bad input", "[zones][cli]") {
    const std::string v6bl = V6BL_EXECUTABLE;
    zt::temp_dir dir;
    const zt::sample_store s = zt::make_sample_store(dir.file("db"));
    std::string out;
    const std::string common = v6bl + " export --db " + s.db +
                               " --zone dnsbl6.example.org --ns ns1.example.net --now " +
                               std::to_string(s.now);
    REQUIRE(zt::run_command(common + " --out " + dir.file("z.zone"), &out) == 0);
    INFO(out);
    CHECK(out.find("serial " + std::to_string(s.serial)) != std::string::npos);
    CHECK(zt::run_command("nsd-checkzone dnsbl6.example.org " + dir.file("z.zone")) == 0);
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        CHECK(entry.path().filename().string().find(".tmp.") == std::string::npos);
    }
    // stdout gives the same bytes as --out
    REQUIRE(zt::run_command("(" + common + " >" + dir.file("stdout.zone") + " 2>/dev/null)") == 0);
    CHECK(zt::read_text(dir.file("stdout.zone")) == zt::read_text(dir.file("z.zone")));
    REQUIRE(zt::run_command(common + " --format rbldnsd --out " + dir.file("r.data")) == 0);
    CHECK(zt::read_text(dir.file("r.data")).find("\n$SOA 300 ns1.example.net. ") !=
          std::string::npos);
    // A zone name the zone file cannot carry (it was written unescaped: a broken zone).
    CHECK(zt::run_command(v6bl + " export --db " + s.db + " --zone 'a b.example'", &out) == 64);
    CHECK(out.find("--zone 'a b.example'") != std::string::npos);
    // NS names, the SOA mailbox and glue are refused as the zone is, before the store is
    // read, with the exit serve gives them (an empty --ns made `NS .`; a bad --ns-address
    // exited 1 after opening the store).
    for (const auto& [flags, want] : std::vector<std::pair<std::string, std::string>>{
             {"--ns ''", "--ns '': the name is empty"},
             {"--ns 'ns1;x.example'", "--ns 'ns1;x.example'"},
             {"--soa-rname 'a b@example.org'", "--soa-rname 'a b@example.org'"},
             {"--ns-address ns1.example.net=bogus", "NS address 'ns1.example.net=bogus'"}}) {
        INFO(flags);
        CHECK(zt::run_command(v6bl + " export --db " + dir.file("missing") + " " + flags, &out) ==
              64);
        CHECK(out.find(want) != std::string::npos);
    }
    // Glue of an out-of-zone NS name is left out, not written as out-of-zone data that
    // nsd-checkzone refuses.
    REQUIRE(zt::run_command(
                common + " --ns-address ns1.example.net=192.0.2.1 --out " + dir.file("glue.zone"),
                &out) == 0);
    CHECK(zt::read_text(dir.file("glue.zone")).find("192.0.2.1") == std::string::npos);
    CHECK(zt::run_command("nsd-checkzone dnsbl6.example.org " + dir.file("glue.zone")) == 0);
    CHECK(zt::run_command(common + " --format bind", &out) == 64);
    CHECK(out.find("unknown format 'bind'") != std::string::npos);
    CHECK(zt::run_command(v6bl + " export --db " + dir.file("missing"), &out) != 0);
    CHECK(out.find(dir.file("missing")) != std::string::npos);
    CHECK(zt::run_command(common + " --out /nonexistent-dir/z.zone", &out) != 0);
    CHECK(out.find("/nonexistent-dir/z.zone") != std::string::npos);
}
#endif
