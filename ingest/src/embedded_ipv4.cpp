// Structural IPv4-in-IPv6 detection (6to4, Teredo, ISATAP, IID suffix).
#include "v6bl/ingest/embedded_ipv4.h"

namespace v6bl::ingest {
namespace {
std::uint32_t load32(const address_bytes& a, int off) {
    return (std::uint32_t{a[off]} << 24) | (std::uint32_t{a[off + 1]} << 16) |
           (std::uint32_t{a[off + 2]} << 8) | std::uint32_t{a[off + 3]};
}
}  // namespace

const char* embedding_kind_name(embedding_kind k) {
    switch (k) {
        case embedding_kind::six_to_four:
            return "6to4";
        case embedding_kind::teredo:
            return "teredo";
        case embedding_kind::isatap:
            return "isatap";
        case embedding_kind::iid_suffix:
            return "iid-ipv4";
        case embedding_kind::none:
            break;
    }
    return "none";
}

bool is_6to4(const address_bytes& v6) {
    return v6[0] == 0x20 && v6[1] == 0x02;
}

bool is_global_ipv4(std::uint32_t v4) {
    const std::uint32_t a = v4 >> 24, b = (v4 >> 16) & 0xFF;
    if (a == 0 || a == 10 || a == 127 || a >= 224) return false;
    if (a == 100 && (b & 0xC0) == 64) return false;  // 100.64/10 CGN
    if (a == 169 && b == 254) return false;
    if (a == 172 && (b & 0xF0) == 16) return false;
    if (a == 192 && b == 168) return false;
    if (a == 192 && b == 0 && ((v4 >> 8) & 0xFF) == 2) return false;  // TEST-NET-1
    if (a == 198 && (b & 0xFE) == 18) return false;                   // benchmarking
    return true;
}

embedded_ipv4 find_embedded_ipv4(const address_bytes& v6) {
    if (is_6to4(v6)) {
        const std::uint32_t gw = load32(v6, 2);
        if (is_global_ipv4(gw)) return {embedding_kind::six_to_four, gw};
        return {};
    }
    if (v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0 && v6[3] == 0) {
        const std::uint32_t client = load32(v6, 12) ^ 0xFFFFFFFFu;
        if (is_global_ipv4(client)) return {embedding_kind::teredo, client};
        return {};
    }
    const std::uint32_t iid_hi = load32(v6, 8);
    const std::uint32_t last = load32(v6, 12);
    // ISATAP: IID 0000:5efe or 0200:5efe (u/l bit set for a global IPv4).
    if ((iid_hi & 0xFDFFFFFFu) == 0x00005EFEu) {
        if (is_global_ipv4(last)) return {embedding_kind::isatap, last};
        return {};
    }
    if (iid_hi == 0 && is_global_ipv4(last) && last > 0x00FFFFFFu) {
        return {embedding_kind::iid_suffix, last};
    }
    return {};
}

}  // namespace v6bl::ingest
