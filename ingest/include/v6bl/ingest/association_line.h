// The versioned JSON line schema remote sensors use to report associations (docs/ingest.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "v6bl/ingest/association.h"

namespace v6bl::ingest {

constexpr int association_schema_version = 1;

struct association_line {
    association assoc;
    std::string sensor;          // free-form sensor id
    bool ipv4_rejected = false;  // the remote site's production MTA rejected the IPv4 by DNSBL
};

// Parses one line. On failure returns false and sets `error` to a short reason
// ("invalid JSON", "missing field ipv6", "unsupported version 2", ...).
bool parse_association_line(std::string_view line, association_line& out, std::string& error);

// The line a sensor writes for `a` (no trailing newline).
std::string format_association_line(const association& a, std::string_view sensor,
                                    bool ipv4_rejected);

}  // namespace v6bl::ingest
