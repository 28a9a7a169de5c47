// Checks of --config files beyond what CLI11 reads: CLI11's TOML reader is lenient (a
// truncated array swallows the lines after it, and the server started with half a file)
// and names a value it cannot convert by its flag only.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

namespace v6bl::tools {

// A config file must be a regular file of at most 1 MiB that parses as TOML (toml11).
// Returns "" or an error naming FILE:LINE:COL.
std::string config_file_problem(const std::string& path);

// For CLI11's "Could not convert: --rrl-rate = abc" from a config file: the same message
// prefixed with FILE:LINE of that key when the file has it (and the command line, `args`,
// does not give the flag, or the message quotes the file's value), else "".
std::string locate_config_error(const std::string& path, const std::string& message,
                                const std::vector<std::string>& args = {});

// For CLI11's "INI was not able to parse ingest.foo" (a key or section no flag takes):
// FILE:LINE and what is wrong in words (unknown key of a section, unknown section, a key
// outside any section), or "" when the message is not of that form.
// `sections` false: serve's files, whose keys are the flags themselves.
std::string describe_unknown_key(const std::string& path, const std::string& message,
                                 bool sections = true);

// CLI11 takes any TOML value as text: `quiet = 3` was a true switch and `capture = 3` a
// capture file named 3. A switch must be true or false, a text option a string (or an array
// of strings), a number option a number or a string. Keys are looked up in `app`'s
// subcommands by section (`sections`) or in `app` itself (serve's files have no sections);
// unknown keys are left to CLI11. Returns "" or FILE:LINE and what is wrong.
std::string config_kind_problem(const std::string& path, const CLI::App& app, bool sections);

// CLI11's reader for --config files, on toml11: CLI11's own line reader cut a string at its
// first '#' (`url-template = "https://x/lookup#{prefix}"`), kept escapes and the quotes of
// multi-line strings, could not read an array over several lines or a file with a BOM, and
// refused numbers like 1_000 or 5.0. Values reach the flags as toml11 read them (a string's
// text, a number in decimal, true/false, an array's elements); a [section] or an inline
// table is a subcommand's section, as CLI11 takes them.
std::shared_ptr<CLI::Config> toml_config_reader();

// Whether a config file (already checked) has a section (a table) of that name.
bool config_has_section(const std::string& path, const std::string& name);

// The values of --config (and --config=FILE) among command-line arguments.
std::vector<std::string> config_paths(const std::vector<std::string>& args);

}  // namespace v6bl::tools
