// A stream of DNS response messages for one transfer: fills each message up to a budget,
// TSIG-signs it (RFC 8945 5.3.1 chaining) and hands its wire form on.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ldns_handles.h"
#include "v6bl/zones/transfer_acl.h"

namespace v6bl::zones {

class message_stream {
  public:
    using emit_fn = std::function<void(std::vector<std::uint8_t>)>;

    // `query` gives the ID and question (first message only); `key` and `query_mac` sign
    // every message when a TSIG key was used (both may be null).
    message_stream(const ldns_pkt* query, const tsig_key* key, const ldns_rdf* query_mac,
                   std::size_t budget, const emit_fn& emit);
    ~message_stream();
    message_stream(const message_stream&) = delete;
    message_stream& operator=(const message_stream&) = delete;

    void add(ldns_rr_ptr rr);
    // Emits the last message (also an empty one when nothing was added: an error answer).
    void finish(ldns_pkt_rcode rcode = LDNS_RCODE_NOERROR);

    std::uint64_t messages() const { return messages_; }
    std::uint64_t records() const { return records_; }

  private:
    void start_message();
    void flush(ldns_pkt_rcode rcode);

    const ldns_pkt* query_;
    const tsig_key* key_;
    ldns_rdf_ptr mac_;  // the MAC to chain from: the query's, then each message's
    std::size_t budget_;
    const emit_fn& emit_;
    ldns_pkt_ptr pkt_;
    std::size_t size_ = 0;
    std::uint64_t messages_ = 0;
    std::uint64_t records_ = 0;
};

// The uncompressed wire size of `rr`: an upper bound of what it adds to a message.
std::size_t rr_wire_size(const ldns_rr* rr);

}  // namespace v6bl::zones
