// The v6bl executable: a thin dispatcher over the stage libraries' subcommands.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include "commands.h"
#include "config_file.h"
#include "v6bl/ingest/malloc_tuning.h"
#include "v6bl/store/huge_pages.h"

// A command line or configuration file that cannot be used (EX_USAGE).
constexpr int usage_error = 64;

namespace {

// The subcommand named on the command line, before CLI11 has seen it: the first word that
// is not an option (nor the file of a --config before it).
const char* subcommand_of(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--config") == 0) {
            ++i;
            continue;
        }
        if (argv[i][0] != '-') return argv[i];
    }
    return "";
}

// Standard input, output or error started closed (`<&-`) is /dev/null instead: else the
// first file opened took its number, and `import -` read RocksDB's LOG as listings, or a
// message went into a store's file (helper-53).
void open_standard_descriptors() {
    for (int fd = 0; fd <= 2; ++fd)
        if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF)
            if (::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) < 0) return;
}

}  // namespace

int main(int argc, char** argv) {
    open_standard_descriptors();
    const bool ingest = std::strcmp(subcommand_of(argc, argv), "ingest") == 0;
    // Ingest faults in ~300 MB once and reads its big tables (on huge pages either way) at
    // random: faulting is where the page sizes differ for the rest, and which is cheaper
    // depends on the host (bench/ingest on huge pages: 6 % slower on one guest, 6 % faster
    // on another), so it measures. The store and the server keep them (bench/store).
    using v6bl::store::huge_pages_default;
    v6bl::store::reexec_with_huge_pages(
        argv, ingest ? huge_pages_default::if_cheaper_to_fault : huge_pages_default::yes);
    // Before anything is allocated; only for ingest (serve should give memory back).
    if (ingest) v6bl::ingest::tune_malloc_for_ingest();
    CLI::App app{"v6bl: a DNS blacklist for IPv6 sender reputation, inferred from evidence"};
    app.require_subcommand(1);
    // `v6bl ingest --config FILE` as well as `v6bl --config FILE ingest` (serve has its own).
    app.fallthrough();
    app.set_version_flag("--version", "v6bl 0.1.0");
    int exit_code = 0;
    v6bl::tools::add_store_commands(app, exit_code);
    v6bl::tools::add_ingest_commands(app, exit_code);
    v6bl::tools::add_zones_commands(app, exit_code);
    v6bl::tools::add_server_commands(app, exit_code);
    const auto configs = v6bl::tools::config_paths({argv + 1, argv + argc});
    for (const auto& c : configs) {
        if (const auto problem = v6bl::tools::config_file_problem(c); !problem.empty()) {
            std::fprintf(stderr, "v6bl: %s\n", problem.c_str());
            return usage_error;
        }
        if (const auto problem = v6bl::tools::config_kind_problem(c, app, true); !problem.empty()) {
            std::fprintf(stderr, "v6bl: %s\n", problem.c_str());
            return usage_error;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ConfigError& e) {
        // CLI11 names the key only: name the file and line, and what is wrong.
        for (const auto& c : configs) {
            if (const auto what = v6bl::tools::describe_unknown_key(c, e.what()); !what.empty()) {
                std::fprintf(stderr, "v6bl: %s\n", what.c_str());
                return usage_error;
            }
        }
        std::fprintf(stderr,
                     "v6bl: %s: %s (a subcommand's keys go in its section, e.g. [lookup])\n",
                     app.get_config_ptr()->as<std::string>().c_str(), e.what());
        return usage_error;
    } catch (const CLI::ParseError& e) {
        for (const auto& c : configs) {
            if (const auto at =
                    v6bl::tools::locate_config_error(c, e.what(), {argv + 1, argv + argc});
                !at.empty()) {
                std::fprintf(stderr, "v6bl: %s\n", at.c_str());
                return usage_error;
            }
        }
        // --help and --version are "errors" that exit 0; every other one is a usage error.
        return app.exit(e) == 0 ? 0 : usage_error;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "v6bl: %s\n", e.what());
        return 1;
    }
    return exit_code;
}
