// Fuzz input read as a stream of bytes: past its end, zeros.
#pragma once

#include <cstddef>
#include <cstdint>

namespace v6bl::fuzz {

struct byte_stream {
    const std::uint8_t* p;
    std::size_t n;
    std::uint8_t byte() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
};

}  // namespace v6bl::fuzz
