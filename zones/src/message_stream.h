// A stream of DNS response messages for one transfer: fills each message up to a budget
// with records rendered straight to wire (names compressed by pointer to the zone name),
// TSIG-signs it (RFC 8945 5.3.1 chaining) and hands it on.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "ldns_handles.h"
#include "tsig_signer.h"
#include "v6bl/zones/transfer_acl.h"
#include "v6bl/zones/zone_config.h"
#include "v6bl/zones/zone_tree.h"

namespace v6bl::zones {

class message_stream {
  public:
    using emit_fn = std::function<void(std::vector<std::uint8_t>)>;

    // `query` gives the ID, opcode, RD and question (first message only). With a `key`,
    // every message is signed, chaining from `query_mac`.
    message_stream(const ldns_pkt* query, const zone_config& config, const tsig_key* key,
                   const ldns_rdf* query_mac, std::size_t budget, const emit_fn& emit);

    // Apex records built with ldns (SOA, NS, glue), uncompressed.
    void add(const ldns_rr* rr);
    // A zone tree record (A + TXT, or TXT for a hole), rendered directly.
    void add(const zone_record& r);
    // Emits the last message (also an empty one when nothing was added: an error answer).
    // An rcode above 15 (BADVERS) needs the query to have had an OPT: its upper bits go there.
    void finish(std::uint16_t rcode = 0);
    // The answer to a request whose TSIG failed (RFC 8945 5.2): BADKEY and BADSIG carry an
    // unsigned TSIG (construct without a key), BADTIME one signed with the key, holding the
    // request's time signed and ours as Other Data.
    void set_tsig_error(std::uint16_t error, const tsig_request& request);
    // Clears AA: for a refusal of a zone or class that is not ours (RFC 1035 4.1.1).
    void not_authoritative();

    std::uint64_t messages() const { return messages_; }
    std::uint64_t records() const { return records_; }

  private:
    void start_message();
    void flush(std::uint16_t rcode);
    void make_room(std::size_t size);
    void put_owner(const zone_record& r);

    std::uint16_t id_;
    std::uint8_t flags_;  // opcode and RD of the query, with QR and AA set
    // The query had an OPT: every message carries one (RFC 6891 6.1.1), with our UDP size.
    bool edns_ = false;
    bool dnssec_ok_ = false;  // the query's DO bit, echoed in our OPT (RFC 3225 3)
    std::uint16_t edns_udp_size_ = 1232;
    std::vector<std::uint8_t> question_;
    std::vector<std::uint8_t> zone_wire_;
    std::uint32_t ttl_;
    std::optional<tsig_signer> signer_;
    std::uint16_t tsig_error_ = 0;
    tsig_request tsig_request_;
    std::size_t budget_;
    const emit_fn& emit_;
    std::vector<std::uint8_t> wire_;
    std::size_t zone_offset_ = 0;  // where the zone name is in this message (0: not yet)
    std::uint16_t ancount_ = 0;
    std::uint64_t messages_ = 0;
    std::uint64_t records_ = 0;
};

}  // namespace v6bl::zones
