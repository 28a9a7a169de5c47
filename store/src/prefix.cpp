// Parsing, formatting and masking of IPv6 prefixes.
#include "v6bl/store/prefix.h"

#include <arpa/inet.h>

#include <cstring>

namespace v6bl::store {

namespace {

std::uint64_t load_be64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    return v;
}

ipv6_bytes masked(const ipv6_bytes& addr, std::uint8_t length) {
    ipv6_bytes out{};
    const unsigned full = length / 8;
    const unsigned rest = length % 8;
    for (unsigned i = 0; i < full && i < 16; ++i) out[i] = addr[i];
    if (rest != 0 && full < 16)
        out[full] = addr[full] & static_cast<std::uint8_t>(0xff << (8 - rest));
    return out;
}

}  // namespace

std::uint64_t prefix::high64() const {
    return load_be64(address.data());
}
std::uint64_t prefix::low64() const {
    return load_be64(address.data() + 8);
}

bool prefix::covers(const prefix& other) const {
    return other.length >= length && masked(other.address, length) == address;
}

bool prefix::covers(const ipv6_bytes& addr) const {
    return masked(addr, length) == address;
}

prefix prefix::truncated(std::uint8_t len) const {
    return make_prefix(address, len < length ? len : length);
}

prefix make_prefix(const ipv6_bytes& addr, std::uint8_t length) {
    if (length > 128) length = 128;
    return prefix{masked(addr, length), length};
}

prefix make_prefix64(std::uint64_t high64) {
    prefix p;
    for (int i = 0; i < 8; ++i) p.address[i] = static_cast<std::uint8_t>(high64 >> (56 - 8 * i));
    p.length = 64;
    return p;
}

std::optional<ipv6_bytes> parse_address(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    // inet_pton stops at a NUL: "2001:db8::\0junk" was read as 2001:db8:: (helper-53).
    if (text.find('\0') != std::string_view::npos) return std::nullopt;
    char buf[INET6_ADDRSTRLEN];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    ipv6_bytes out{};
    if (inet_pton(AF_INET6, buf, out.data()) != 1) return std::nullopt;
    return out;
}

std::optional<prefix> parse_prefix(std::string_view text, bool bare_is_64) {
    const auto slash = text.find('/');
    const auto addr = parse_address(text.substr(0, slash));
    if (!addr) return std::nullopt;
    if (slash == std::string_view::npos) return make_prefix(*addr, bare_is_64 ? 64 : 128);
    const auto len_text = text.substr(slash + 1);
    if (len_text.empty() || len_text.size() > 3) return std::nullopt;
    unsigned len = 0;
    for (char c : len_text) {
        if (c < '0' || c > '9') return std::nullopt;
        len = len * 10 + static_cast<unsigned>(c - '0');
    }
    if (len > 128) return std::nullopt;
    return make_prefix(*addr, static_cast<std::uint8_t>(len));
}

std::string format_address(const ipv6_bytes& addr) {
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, addr.data(), buf, sizeof buf) == nullptr) return "?";
    return buf;
}

std::string format_prefix(const prefix& p) {
    return format_address(p.address) + "/" + std::to_string(p.length);
}

std::array<char, prefix_key_size> prefix_key(const prefix& p) {
    std::array<char, prefix_key_size> key{};
    std::memcpy(key.data(), p.address.data(), 16);
    key[16] = static_cast<char>(p.length);
    return key;
}

std::optional<prefix> prefix_from_key(std::string_view key) {
    if (key.size() != prefix_key_size) return std::nullopt;
    prefix p;
    std::memcpy(p.address.data(), key.data(), 16);
    p.length = static_cast<std::uint8_t>(key[16]);
    if (p.length > 128 || make_prefix(p.address, p.length).address != p.address)
        return std::nullopt;
    return p;
}

}  // namespace v6bl::store
