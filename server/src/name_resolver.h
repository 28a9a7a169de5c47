// The name resolver: what a question name under the zone is, with the exported zone's semantics.
#pragma once

#include <cstdint>

#include "query_parser.h"
#include "v6bl/server/answer.h"

namespace v6bl::server {

enum class name_kind : std::uint8_t { outside, apex, listed, node, hole, nxdomain, glue };

struct resolved_name {
    name_kind kind = name_kind::nxdomain;
    // The listing that answers (kind == listed), or the hole (kind == hole: entry.where).
    store::listing_entry entry;
    bool ipv4_test_point = false;  // listed through "2.0.0.127.<zone>"
    std::size_t zone_offset = 0;   // offset of the zone's first label in the question name
    std::size_t glue_index = 0;    // kind == glue: the first glue record of this name
};

// Resolves q's name. Nibble names go to the view (resolve_address for 32 nibbles,
// resolve_prefix for fewer); names with other labels follow the wildcard rules a standard
// server applies to the exported zone (RFC 4592), so answers match NSD label for label.
resolved_name resolve_name(const parsed_query& q, const answer_zone& zone,
                           const store::listing_view* view, std::uint32_t now);

}  // namespace v6bl::server
