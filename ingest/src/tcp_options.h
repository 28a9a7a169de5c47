// A SYN's TCP options: the kinds in order (the stack's signature) and the MSS. Internal to
// the decoder (syn_decoder.cpp); its tests reach it directly.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "v6bl/ingest/syn_record.h"

namespace v6bl::ingest::tcp_options {

// Walks the option list `o[0, len)` byte by byte. `cut`: the snap length cut the header
// inside the options, so an option running past `len` ends the walk instead of being
// malformed. Records up to 8 kinds (an end-of-list as 0xFF) and the MSS of a 4-byte MSS
// option. False: malformed (an option length below 2, or past `len` when not cut).
constexpr bool walk(const std::uint8_t* o, std::size_t len, bool cut, option_signature& signature,
                    std::uint16_t& mss) {
    signature = 0;
    mss = 0;
    int kinds = 0;
    std::size_t i = 0;
    while (i < len) {
        const std::uint8_t kind = o[i];
        if (kinds < 8) {
            signature |= static_cast<option_signature>(kind == 0 ? 0xFF : kind) << (8 * kinds);
            ++kinds;
        }
        if (kind == 0) break;  // end of option list
        if (kind == 1) {       // NOP
            ++i;
            continue;
        }
        if (cut && i + 1 >= len) break;  // the rest was not captured
        if (i + 1 >= len) return false;
        const std::size_t olen = o[i + 1];
        if (olen < 2) return false;
        if (i + olen > len) {
            if (cut) break;
            return false;
        }
        if (kind == 2 && olen == 4) mss = static_cast<std::uint16_t>((o[i + 2] << 8) | o[i + 3]);
        i += olen;
    }
    return true;
}

// The option lists most SYNs carry, byte for byte but for the values (MSS, window scale,
// timestamps: `any`). Every one starts with a 4-byte MSS option, and `any` is never a kind
// or a length byte (layouts_sound() checks both), so bytes that match a layout walk exactly
// as the layout does: its signature is theirs, their MSS is bytes 2 and 3.
constexpr int any = -1;
struct layout {
    std::size_t len;  // 8 to 24
    std::array<int, 24> bytes;
};
constexpr layout layouts[] = {
    // Windows: MSS, NOP, WS, NOP, NOP, SACK-permitted
    {12, {2, 4, any, any, 1, 3, 3, any, 1, 1, 4, 2}},
    // Linux: MSS, SACK-permitted, TS, NOP, WS
    {20, {2, 4, any, any, 4, 2, 8, 10, any, any, any, any, any, any, any, any, 1, 3, 3, any}},
    // macOS: MSS, NOP, WS, NOP, NOP, TS, SACK-permitted, EOL, EOL
    {24, {2,   4,   any, any, 1,   3,   3,   any, 1, 1, 8, 10,
          any, any, any, any, any, any, any, any, 4, 2, 0, 0}},
    // FreeBSD: MSS, NOP, WS, SACK-permitted, TS
    {20, {2, 4, any, any, 1, 3, 3, any, 4, 2, 8, 10, any, any, any, any, any, any, any, any}},
    // Linux without timestamps: MSS, NOP, NOP, SACK-permitted, NOP, WS
    {12, {2, 4, any, any, 1, 1, 4, 2, 1, 3, 3, any}},
};
constexpr std::size_t layout_count = sizeof layouts / sizeof layouts[0];

// A layout as three 8-byte words read at offsets 0, min(8, len - 8) and len - 8 (they
// overlap for lengths below 24), little-endian: the bytes to match and which of them count.
struct compiled_layout {
    std::size_t len = 0;
    std::uint64_t want[3] = {}, care[3] = {};
    option_signature signature = 0;
};

constexpr std::size_t word_offset(std::size_t len, int w) {
    return w == 0 ? 0 : (w == 1 ? (len - 8 < 8 ? len - 8 : 8) : len - 8);
}

// A layout's walk with every `any` byte set to `fill`: false if it is malformed.
constexpr bool walk_layout(const layout& l, std::uint8_t fill, option_signature& signature) {
    std::uint8_t sample[24] = {};
    for (std::size_t k = 0; k < l.len; ++k)
        sample[k] = l.bytes[k] == any ? fill : static_cast<std::uint8_t>(l.bytes[k]);
    std::uint16_t mss = 0;
    return walk(sample, l.len, false, signature, mss);
}

// Every layout is well formed, starts with a 4-byte MSS option, and walks alike whatever
// its `any` bytes hold (here 0x00 and 0xFF: one on a kind or a length byte would change
// the walk).
constexpr bool layouts_sound() {
    for (const layout& l : layouts) {
        option_signature low = 0, high = 0;
        if (l.len < 8 || l.len > 24 || l.bytes[0] != 2 || l.bytes[1] != 4 ||
            !walk_layout(l, 0x00, low) || !walk_layout(l, 0xFF, high) || low != high)
            return false;
    }
    return true;
}
static_assert(layouts_sound());

constexpr compiled_layout compile(const layout& l) {
    compiled_layout c;
    c.len = l.len;
    for (int w = 0; w < 3; ++w)
        for (std::size_t k = 0; k < 8; ++k) {
            const int b = l.bytes[word_offset(l.len, w) + k];
            if (b == any) continue;
            c.want[w] |= std::uint64_t(b) << (8 * k);
            c.care[w] |= std::uint64_t{0xFF} << (8 * k);
        }
    walk_layout(l, 0, c.signature);
    return c;
}

constexpr std::array<compiled_layout, layout_count> compiled = [] {
    std::array<compiled_layout, layout_count> a{};
    for (std::size_t i = 0; i < layout_count; ++i) a[i] = compile(layouts[i]);
    return a;
}();

inline std::uint64_t load_le64(const std::uint8_t* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    return v;
}

// Whether `o[0, len)` is one of the layouts, all of it there (not cut): then its signature
// and MSS are set as walk() would set them. Three loads and masked compares replace a walk
// whose branches change with each SYN's stack.
inline bool match_layout(const std::uint8_t* o, std::size_t len, option_signature& signature,
                         std::uint16_t& mss) {
    if (len < 8 || len > 24) return false;
    const std::uint64_t w0 = load_le64(o), w1 = load_le64(o + word_offset(len, 1)),
                        w2 = load_le64(o + len - 8);
    for (const compiled_layout& c : compiled) {
        if (c.len != len || ((w0 ^ c.want[0]) & c.care[0]) || ((w1 ^ c.want[1]) & c.care[1]) ||
            ((w2 ^ c.want[2]) & c.care[2]))
            continue;
        signature = c.signature;
        mss = static_cast<std::uint16_t>((o[2] << 8) | o[3]);
        return true;
    }
    return false;
}

}  // namespace v6bl::ingest::tcp_options
