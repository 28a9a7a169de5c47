// IPv4 addresses embedded in IPv6 sources: 6to4, Teredo, ISATAP, and IIDs ending in an IPv4.
#pragma once

#include <cstdint>
#include <optional>

#include "v6bl/ingest/syn_record.h"

namespace v6bl::ingest {

enum class embedding_kind : std::uint8_t { none, six_to_four, teredo, isatap, iid_suffix };

struct embedded_ipv4 {
    embedding_kind kind = embedding_kind::none;
    std::uint32_t ipv4 = 0;  // host byte order
};

const char* embedding_kind_name(embedding_kind k);

// True for 2002::/16 (6to4), whose hosts prefer IPv4 first under RFC 6724.
bool is_6to4(const address_bytes& v6);

// True for an IPv4 address a host on the Internet could have (not private, loopback,
// link-local, CGN, multicast, reserved or 0/8): only those make a structural association.
bool is_global_ipv4(std::uint32_t v4);

// The IPv4 the address structurally names, if any:
//   6to4 2002:AABB:CCDD::/48 → a.b.c.d (the gateway, usually the host itself);
//   Teredo 2001:0::/32 → client IPv4 = last 32 bits XOR 0xffffffff (the NAT's public side);
//   ISATAP IID ::0:5efe:a.b.c.d or ::200:5efe:a.b.c.d → a.b.c.d;
//   any other IID whose last 32 bits are a global IPv4 and whose bits 64..95 are zero
//   (the "::a.b.c.d" style some operators number hosts by) → a.b.c.d.
embedded_ipv4 find_embedded_ipv4(const address_bytes& v6);

}  // namespace v6bl::ingest
