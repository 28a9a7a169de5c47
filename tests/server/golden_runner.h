// Golden query files: "query <name> <type> [+flags]" followed by the expected answer text,
// run through the pure answer core against a view built from the file's own listings.
#pragma once

#include <string>

namespace v6bl::server::test {

struct golden_report {
    int cases = 0;
    int failures = 0;
    std::string details;  // expected/actual of each failing case
    std::string actual;   // the whole file as it would be with the actual answers
};

golden_report run_golden_file(const std::string& path);

}  // namespace v6bl::server::test
