// The pure DNS answer core: query bytes + listing view + zone -> response bytes, no sockets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "v6bl/store/listing.h"
#include "v6bl/store/listing_view.h"
#include "v6bl/zones/transfer_acl.h"
#include "v6bl/zones/zone_config.h"

namespace v6bl::server {

// DNS constants the core speaks (RFC 1035, 6891, 5936, 1995).
namespace dns {
constexpr std::uint16_t type_a = 1;
constexpr std::uint16_t type_ns = 2;
constexpr std::uint16_t type_soa = 6;
constexpr std::uint16_t type_txt = 16;
constexpr std::uint16_t type_aaaa = 28;
constexpr std::uint16_t type_opt = 41;
constexpr std::uint16_t type_tsig = 250;
constexpr std::uint16_t type_ixfr = 251;
constexpr std::uint16_t type_axfr = 252;
constexpr std::uint16_t type_any = 255;
constexpr std::uint16_t class_in = 1;
constexpr std::uint16_t class_any = 255;  // QCLASS * (RFC 1035 3.2.5)
constexpr std::uint8_t rcode_noerror = 0;
constexpr std::uint8_t rcode_formerr = 1;
constexpr std::uint8_t rcode_servfail = 2;
constexpr std::uint8_t rcode_nxdomain = 3;
constexpr std::uint8_t rcode_notimp = 4;
constexpr std::uint8_t rcode_refused = 5;
constexpr std::uint8_t rcode_notauth = 9;    // TSIG failures (RFC 8945 5.2)
constexpr std::uint16_t rcode_badvers = 16;  // extended: needs OPT
constexpr std::size_t header_size = 12;
constexpr std::size_t opt_record_size = 11;  // root owner, type, class, TTL, RDLENGTH 0
// Without EDNS a UDP answer is limited to 512 bytes (RFC 1035 4.2.1); EDNS sizes below 512
// are treated as 512 (RFC 6891 6.2.5).
constexpr std::size_t classic_udp_size = 512;
constexpr std::size_t max_message_size = 65535;
constexpr std::size_t max_name_size = 255;
}  // namespace dns

// The zone's fixed wire data, derived once from the (immutable) zone_config: lower-cased
// zone name, SOA and NS rdata, the IPv4-form test point's TXT. Answering never allocates
// for it.
class answer_zone {
  public:
    explicit answer_zone(const zones::zone_config& config);

    const zones::zone_config& config() const { return config_; }
    std::span<const std::uint8_t> zone_wire() const { return {zone_wire_.data(), zone_wire_len_}; }
    std::size_t zone_labels() const { return zone_labels_; }

    // A name as wire labels before the zone (compressed by pointer to the zone) or in full.
    struct name_wire {
        std::vector<std::uint8_t> labels;  // labels only; no terminator
        bool under_zone = false;           // when true, labels are followed by a zone pointer
    };
    const name_wire& soa_mname() const { return mname_; }
    const name_wire& soa_rname() const { return rname_; }
    const std::vector<name_wire>& ns_names() const { return ns_; }
    // A/AAAA glue of in-zone NS names (zone_config::ns_addresses), in configuration order;
    // out-of-zone names are left out, as a server loading the zone file ignores them.
    struct glue_record {
        std::vector<std::uint8_t> name;  // lower-cased wire name, root label included
        name_wire owner;
        std::uint16_t type = 0;  // A or AAAA
        std::array<std::uint8_t, 16> rdata{};
        std::uint8_t rdlen = 0;
    };
    const std::vector<glue_record>& glue() const { return glue_; }
    const store::listing_entry& ipv4_test_entry() const { return test_entry_; }
    const std::string& ipv4_test_txt() const { return test_txt_; }
    // The TSIG keys of `transfer_tsig`: signed queries of any type are checked with them.
    std::span<const zones::tsig_key> tsig_keys() const { return tsig_keys_; }

  private:
    zones::zone_config config_;
    std::array<std::uint8_t, dns::max_name_size> zone_wire_{};
    std::size_t zone_wire_len_ = 0;
    std::size_t zone_labels_ = 0;
    name_wire mname_;
    name_wire rname_;
    std::vector<name_wire> ns_;
    std::vector<glue_record> glue_;
    store::listing_entry test_entry_;
    std::string test_txt_;
    std::vector<zones::tsig_key> tsig_keys_;
};

enum class transport_kind : std::uint8_t { udp, tcp };

struct answer_context {
    const store::listing_view* view = nullptr;  // may be null: answers as an empty zone
    const answer_zone* zone = nullptr;
    std::uint32_t now = 0;  // unix seconds, for listing expiry
    transport_kind transport = transport_kind::udp;
    // Whether AXFR/IXFR over TCP are handed on (outcome transfer) or REFUSED.
    bool transfer_enabled = true;
    // The source is outside the allow-query ACL: every readable query gets REFUSED.
    bool source_refused = false;
    // Bytes kept free below the answer's size limit (the TSIG of a signed query's answer).
    std::size_t reserve = 0;
};

// What the core decided, for counters and for the transport (drop, hand off a transfer).
enum class answer_outcome : std::uint8_t {
    dropped,  // no response: unreadable header or a response (QR=1) sent to us
    formerr,
    notimp,
    refused,  // outside the zone, other class, transfer without handler over UDP
    badvers,
    apex,
    listed,
    node,  // NOERROR NODATA at an empty non-terminal or a listed prefix's own node
    hole,
    nxdomain,
    transfer,  // AXFR/IXFR of the zone over TCP: the caller hands it to the transfer hook
    notauth,   // a TSIG-signed query whose key, MAC or time failed (RFC 8945 5.2)
};

// What became of a query's TSIG, for counters.
enum class tsig_outcome : std::uint8_t { none, verified, badkey, badsig, badtime };

struct answer_result {
    std::size_t size = 0;  // response bytes written to `out` (0 when dropped or transfer)
    answer_outcome outcome = answer_outcome::dropped;
    std::uint8_t rcode = 0;  // the 4-bit header rcode written
    std::uint16_t qtype = 0;
    std::uint8_t code = 0;  // the listing's reason code when outcome == listed
    bool truncated = false;
    tsig_outcome tsig = tsig_outcome::none;
};

// Answers one query. `out` should hold dns::max_message_size bytes for TCP; for UDP any
// size >= 512, and the answer is cut to the client's limit (TC=1, question only) when it
// does not fit. Never throws on any input; allocates only to render a TXT.
answer_result answer_query(std::span<const std::uint8_t> query, std::span<std::uint8_t> out,
                           const answer_context& ctx);

// Cuts a response written by answer_query down to its header and question with TC=1 and
// no records but its OPT, if the query had one (RRL's slip: a real client retries over TCP,
// a spoofed victim gets no more than it sent). Returns the new size; 0 when `response` is
// not one of ours.
std::size_t answer_truncate(std::span<std::uint8_t> response);

}  // namespace v6bl::server
