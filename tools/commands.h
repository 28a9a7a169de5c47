// Subcommand registration: each stage adds its own subcommands to the one v6bl executable.
#pragma once

#include <CLI/CLI.hpp>

namespace v6bl::tools {

// Each returns nothing; a subcommand's callback sets the process exit code through
// `exit_code`, so main stays a thin dispatcher.
void add_store_commands(CLI::App& app, int& exit_code);   // import, lookup, allow, delist, list
void add_ingest_commands(CLI::App& app, int& exit_code);  // ingest, simulate
void add_zones_commands(CLI::App& app, int& exit_code);   // export
void add_server_commands(CLI::App& app, int& exit_code);  // serve

}  // namespace v6bl::tools
