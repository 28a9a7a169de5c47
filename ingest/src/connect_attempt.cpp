// OS classification of connect() attempts from initial TTL class and TCP option order.
#include "v6bl/ingest/connect_attempt.h"

namespace v6bl::ingest {

const char* os_class_name(os_class c) {
    switch (c) {
        case os_class::linux_like:
            return "linux";
        case os_class::windows:
            return "windows";
        case os_class::macos:
            return "macos";
        case os_class::other:
            return "other";
        case os_class::unknown:
            break;
    }
    return "unknown";
}

std::uint8_t initial_ttl_class(std::uint8_t seen) {
    if (seen <= 64) return 64;
    if (seen <= 128) return 128;
    return 255;
}

os_class classify_os(std::uint8_t ttl_class, option_signature options) {
    const auto first = static_cast<std::uint8_t>(options & 0xFF);
    const auto second = static_cast<std::uint8_t>((options >> 8) & 0xFF);
    if (ttl_class == 128) return os_class::windows;  // Windows: MSS,NOP,WS,NOP,NOP,SACK
    // Options cut before their first two kinds: by the TTL alone.
    if (ttl_class == 64 && options == cut_options) return os_class::unknown;
    if (ttl_class == 64) {
        if (first == 2 && second == 4) return os_class::linux_like;  // MSS,SACK,TS,NOP,WS
        if (first == 2 && second == 1) return os_class::macos;       // MSS,NOP,WS,...
        return os_class::linux_like;
    }
    if (ttl_class == 255) return os_class::other;  // Solaris, network gear
    return os_class::unknown;
}

}  // namespace v6bl::ingest
