// The query parser: header, question and EDNS OPT of an untrusted DNS query, every length checked.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace v6bl::server {

enum class parse_status : std::uint8_t {
    ok,
    drop,     // header unreadable, or QR=1 (never answer a response: no reflection loops)
    formerr,  // header readable, the rest is not a well-formed single-question query
    notimp,   // opcode other than QUERY
    // A well-formed query whose last record is a TSIG (at `tsig_at`): answered through
    // zones::answer_signed_query, which verifies it and signs the answer (RFC 8945).
    signed_query,
};

struct parsed_query {
    std::uint16_t id = 0;
    std::uint8_t flags1 = 0;  // header byte 2: QR, opcode, AA, TC, RD
    std::uint8_t flags2 = 0;  // header byte 3: RA, Z, AD, CD, rcode
    std::uint8_t opcode = 0;

    // The question name lower-cased in wire form (root label included) and where each label
    // starts in it. A name has at most 127 labels (255 bytes).
    std::array<std::uint8_t, 255> qname;  // not zeroed: filled up to qname_size
    std::size_t qname_size = 0;
    std::array<std::uint8_t, 128> label_at;  // filled up to labels
    std::size_t labels = 0;                  // not counting the root
    std::uint16_t qtype = 0;
    std::uint16_t qclass = 0;
    std::size_t question_end = 0;  // offset just past QCLASS in the query

    bool has_opt = false;
    std::uint16_t opt_udp_size = 0;
    std::uint8_t opt_version = 0;
    bool opt_do = false;

    std::size_t tsig_at = 0;  // offset of the TSIG record (signed_query), else 0
};

// Fills `q` as far as the packet allows; `q.id` and flags are valid unless the result is drop.
parse_status parse_query(std::span<const std::uint8_t> packet, parsed_query& q);

}  // namespace v6bl::server
