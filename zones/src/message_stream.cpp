// A stream of DNS response messages for one transfer (see message_stream.h).
#include "message_stream.h"

#include <stdexcept>

namespace v6bl::zones {

std::size_t rr_wire_size(const ldns_rr* rr) {
    std::size_t size = ldns_rdf_size(ldns_rr_owner(rr)) + 10;
    for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i)
        size += ldns_rdf_size(ldns_rr_rdf(rr, i));
    return size;
}

message_stream::message_stream(const ldns_pkt* query, const tsig_key* key,
                               const ldns_rdf* query_mac, std::size_t budget, const emit_fn& emit)
    : query_(query), key_(key), budget_(budget), emit_(emit) {
    if (query_mac) mac_.reset(ldns_rdf_clone(query_mac));
    start_message();
}

message_stream::~message_stream() = default;

void message_stream::start_message() {
    pkt_.reset(ldns_pkt_new());
    ldns_pkt_set_id(pkt_.get(), ldns_pkt_id(query_));
    ldns_pkt_set_qr(pkt_.get(), true);
    ldns_pkt_set_aa(pkt_.get(), true);
    ldns_pkt_set_opcode(pkt_.get(), ldns_pkt_get_opcode(query_));
    size_ = 12;
    if (messages_ == 0) {
        // RFC 5936 2.2.1: the question is copied into the first message only.
        const ldns_rr_list* question = ldns_pkt_question(query_);
        for (std::size_t i = 0; i < ldns_rr_list_rr_count(question); ++i) {
            ldns_rr* q = ldns_rr_clone(ldns_rr_list_rr(question, i));
            size_ += ldns_rdf_size(ldns_rr_owner(q)) + 4;
            ldns_pkt_push_rr(pkt_.get(), LDNS_SECTION_QUESTION, q);
        }
    }
}

void message_stream::add(ldns_rr_ptr rr) {
    const std::size_t size = rr_wire_size(rr.get());
    if (size_ + size > budget_ && ldns_pkt_ancount(pkt_.get()) > 0) {
        flush(LDNS_RCODE_NOERROR);
        start_message();
    }
    size_ += size;
    ++records_;
    ldns_pkt_push_rr(pkt_.get(), LDNS_SECTION_ANSWER, rr.release());
}

void message_stream::finish(ldns_pkt_rcode rcode) {
    flush(rcode);
}

void message_stream::flush(ldns_pkt_rcode rcode) {
    ldns_pkt_set_rcode(pkt_.get(), static_cast<std::uint8_t>(rcode));
    if (key_) {
        const ldns_status status =
            messages_ == 0
                ? ldns_pkt_tsig_sign(pkt_.get(), key_->name.c_str(), key_->secret.c_str(), 300,
                                     key_->algorithm.c_str(), mac_.get())
                : ldns_pkt_tsig_sign_next(pkt_.get(), key_->name.c_str(), key_->secret.c_str(), 300,
                                          key_->algorithm.c_str(), mac_.get(), 1);
        if (status != LDNS_STATUS_OK) {
            throw std::runtime_error(std::string("TSIG signing failed: ") +
                                     ldns_get_errorstr_by_id(status));
        }
        const ldns_rr* tsig = ldns_pkt_tsig(pkt_.get());
        mac_.reset(ldns_rdf_clone(ldns_rr_rdf(tsig, 3)));
    }
    std::uint8_t* wire = nullptr;
    std::size_t wire_size = 0;
    const ldns_status status = ldns_pkt2wire(&wire, pkt_.get(), &wire_size);
    if (status != LDNS_STATUS_OK) {
        throw std::runtime_error(std::string("cannot render transfer message: ") +
                                 ldns_get_errorstr_by_id(status));
    }
    std::vector<std::uint8_t> message(wire, wire + wire_size);
    LDNS_FREE(wire);
    pkt_.reset();
    ++messages_;
    emit_(std::move(message));
}

}  // namespace v6bl::zones
