// A connect() attempt: the SYNs one socket sent (same source address and port, 25 s window).
#pragma once

#include <cstdint>

#include "v6bl/ingest/syn_record.h"

namespace v6bl::ingest {

// Coarse OS class from the first SYN: initial TTL class and TCP option order (p0f-style).
enum class os_class : std::uint8_t {
    unknown = 0,
    linux_like = 1,
    windows = 2,
    macos = 3,
    other = 4
};

const char* os_class_name(os_class c);

// The initial TTL a sender most likely used: 64, 128 or 255 (the next class above `seen`).
std::uint8_t initial_ttl_class(std::uint8_t seen);

// Classifies by initial TTL class and option order.
os_class classify_os(std::uint8_t ttl_class, option_signature options);

// Trivially copyable: attempts are kept in flat arrays and serialized into checkpoints.
struct connect_attempt {
    std::int64_t start_us = 0;  // first SYN
    std::int64_t last_us = 0;   // latest SYN
    address_bytes source{};
    ip_family family = ip_family::v4;
    std::uint16_t source_port = 0;
    std::uint16_t syn_count = 0;
    std::uint8_t ttl_class = 0;
    os_class os = os_class::unknown;
    std::uint16_t window = 0;
    option_signature options = 0;
};

}  // namespace v6bl::ingest
