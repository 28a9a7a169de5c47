// Fuzz target: IPv6 prefix parsing, formatting and storage keys.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "v6bl/store/prefix.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace v6bl::store;
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    for (bool bare64 : {true, false}) {
        if (auto p = parse_prefix(in, bare64)) {
            auto again = parse_prefix(format_prefix(*p), bare64);
            if (!again || *again != *p) std::abort();
            const auto key = prefix_key(*p);
            auto back = prefix_from_key(std::string_view(key.data(), key.size()));
            if (!back || *back != *p) std::abort();
        }
    }
    if (size == prefix_key_size) (void)prefix_from_key(in);
    return 0;
}
