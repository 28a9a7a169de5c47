// A stream of DNS response messages for one transfer (see message_stream.h).
#include "message_stream.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include "record_rrs.h"

namespace v6bl::zones {
namespace {

constexpr std::size_t max_pointer_offset = 0x3fff;

void put16(std::vector<std::uint8_t>& out, std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    put16(out, v >> 16);
    put16(out, v & 0xffff);
}

}  // namespace

message_stream::message_stream(const ldns_pkt* query, const zone_config& config,
                               const tsig_key* key, const ldns_rdf* query_mac, std::size_t budget,
                               const emit_fn& emit)
    : id_(ldns_pkt_id(query)),
      flags_(static_cast<std::uint8_t>(0x80 | (ldns_pkt_get_opcode(query) << 3) | 0x04 |
                                       (ldns_pkt_rd(query) ? 1 : 0))),
      edns_(ldns_pkt_edns(query)),
      dnssec_ok_(ldns_pkt_edns_do(query)),
      edns_udp_size_(config.edns_udp_size),
      ttl_(config.listing_ttl),
      budget_(budget),
      emit_(emit) {
    const ldns_rr_list* question = ldns_pkt_question(query);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(question); ++i) {
        std::uint8_t* data = nullptr;
        std::size_t size = 0;
        if (ldns_rr2wire(&data, ldns_rr_list_rr(question, i), LDNS_SECTION_QUESTION, &size) ==
            LDNS_STATUS_OK) {
            question_.insert(question_.end(), data, data + size);
            LDNS_FREE(data);
        }
    }
    const ldns_rdf_ptr zone(ldns_dname_new_frm_str(absolute_name(config.zone).c_str()));
    if (!zone) throw std::runtime_error("invalid zone name '" + config.zone + "'");
    ldns_dname2canonical(zone.get());
    zone_wire_.assign(ldns_rdf_data(zone.get()),
                      ldns_rdf_data(zone.get()) + ldns_rdf_size(zone.get()));
    if (key) {
        signer_.emplace(*key);
        if (query_mac) {
            signer_->set_prior_mac({ldns_rdf_data(query_mac) + 2, ldns_rdf_size(query_mac) - 2});
        }
    }
    start_message();
}

void message_stream::start_message() {
    wire_.clear();
    put16(wire_, id_);
    wire_.push_back(flags_);
    wire_.push_back(0);
    const bool first = messages_ == 0 && !question_.empty();
    put16(wire_, first ? 1 : 0);
    wire_.insert(wire_.end(), 6, 0);  // AN, NS, AR counts: set at flush
    if (first) wire_.insert(wire_.end(), question_.begin(), question_.end());
    zone_offset_ = 0;
    ancount_ = 0;
}

void message_stream::make_room(std::size_t size) {
    if (ancount_ > 0 && wire_.size() + size > budget_) {
        flush(0);
        start_message();
    }
}

void message_stream::add(const ldns_rr* rr) {
    std::uint8_t* data = nullptr;
    std::size_t size = 0;
    if (ldns_rr2wire(&data, rr, LDNS_SECTION_ANSWER, &size) != LDNS_STATUS_OK) {
        throw std::runtime_error("cannot render an apex record");
    }
    make_room(size);
    const bool apex_owner =
        ldns_rdf_size(ldns_rr_owner(rr)) == zone_wire_.size() &&
        std::equal(
            zone_wire_.begin(), zone_wire_.end(), ldns_rdf_data(ldns_rr_owner(rr)),
            [](std::uint8_t a, std::uint8_t b) { return std::tolower(a) == std::tolower(b); });
    if (apex_owner && zone_offset_ == 0 && wire_.size() <= max_pointer_offset) {
        zone_offset_ = wire_.size();  // owners after it point here
    }
    wire_.insert(wire_.end(), data, data + size);
    LDNS_FREE(data);
    ++ancount_;
    ++records_;
}

void message_stream::put_owner(const zone_record& r) {
    static constexpr char hex_digits[] = "0123456789abcdef";
    if (r.what == zone_record::kind::ipv4_test_point) {
        for (const char* label : {"\x01"
                                  "2",
                                  "\x01"
                                  "0",
                                  "\x01"
                                  "0",
                                  "\x03"
                                  "127"}) {
            wire_.insert(wire_.end(), label, label + 1 + static_cast<unsigned char>(label[0]));
        }
    } else {
        if (r.wildcard) wire_.insert(wire_.end(), {1, '*'});
        for (int i = r.node.length / 4 - 1; i >= 0; --i) {
            const std::uint8_t byte = r.node.address[static_cast<std::size_t>(i / 2)];
            wire_.push_back(1);
            wire_.push_back(
                static_cast<std::uint8_t>(hex_digits[(i % 2 == 0) ? (byte >> 4) : (byte & 0x0f)]));
        }
    }
    if (zone_offset_ != 0) {
        put16(wire_, 0xc000 | static_cast<std::uint32_t>(zone_offset_));
    } else {
        if (wire_.size() <= max_pointer_offset) zone_offset_ = wire_.size();
        wire_.insert(wire_.end(), zone_wire_.begin(), zone_wire_.end());
    }
}

void message_stream::add(const zone_record& r) {
    const std::size_t txt_size = std::min<std::size_t>(r.txt->size(), 255);
    // upper bound: owner (66 nibble+wildcard bytes + zone) twice, fixed fields, rdata
    make_room(2 * (68 + zone_wire_.size()) + 2 * 10 + 4 + 1 + txt_size);
    const std::size_t owner_at = wire_.size();
    if (r.what != zone_record::kind::hole) {
        put_owner(r);
        put16(wire_, 1);  // A
        put16(wire_, 1);  // IN
        put32(wire_, ttl_);
        put16(wire_, 4);
        wire_.insert(wire_.end(), {127, 0, 0, static_cast<std::uint8_t>(r.entry->code)});
        ++ancount_;
        ++records_;
    }
    if (r.what != zone_record::kind::hole && owner_at <= max_pointer_offset) {
        put16(wire_, 0xc000 | static_cast<std::uint32_t>(owner_at));  // same owner as the A
    } else {
        put_owner(r);
    }
    put16(wire_, 16);  // TXT
    put16(wire_, 1);
    put32(wire_, ttl_);
    put16(wire_, static_cast<std::uint32_t>(txt_size + 1));
    wire_.push_back(static_cast<std::uint8_t>(txt_size));
    wire_.insert(wire_.end(), r.txt->begin(), r.txt->begin() + static_cast<long>(txt_size));
    ++ancount_;
    ++records_;
}

void message_stream::finish(std::uint16_t rcode) {
    flush(rcode);
}

void message_stream::set_tsig_error(std::uint16_t error, const tsig_request& request) {
    tsig_error_ = error;
    tsig_request_ = request;
}

void message_stream::not_authoritative() {
    flags_ = static_cast<std::uint8_t>(flags_ & ~0x04);
    wire_[2] = flags_;
}

void message_stream::flush(std::uint16_t rcode) {
    wire_[3] = static_cast<std::uint8_t>(rcode & 0x0f);
    wire_[6] = static_cast<std::uint8_t>(ancount_ >> 8);
    wire_[7] = static_cast<std::uint8_t>(ancount_);
    if (edns_) {
        // OPT: root owner, our UDP size as class, extended rcode and version 0 in the TTL.
        wire_.push_back(0);
        put16(wire_, 41);
        put16(wire_, edns_udp_size_);
        // The DO bit echoed, as the query path does (helper-52: transfers and TSIG errors
        // dropped it).
        put32(wire_, (static_cast<std::uint32_t>(rcode >> 4) << 24) | (dnssec_ok_ ? 0x8000u : 0u));
        put16(wire_, 0);
        wire_[11] = 1;  // ARCOUNT: the OPT (TSIG, when signed, comes after it)
    }
    const auto now = static_cast<std::uint64_t>(std::time(nullptr));
    if (signer_) {
        const std::size_t message_size = wire_.size();
        std::vector<std::uint8_t> tsig;
        if (tsig_error_ != 0 && messages_ == 0) {
            // BADTIME tells the client our time (RFC 8945 5.2.3); BADTRUNC nothing more.
            const std::uint8_t ours[6] = {
                static_cast<std::uint8_t>(now >> 40), static_cast<std::uint8_t>(now >> 32),
                static_cast<std::uint8_t>(now >> 24), static_cast<std::uint8_t>(now >> 16),
                static_cast<std::uint8_t>(now >> 8),  static_cast<std::uint8_t>(now)};
            signer_->sign({wire_.data(), message_size}, true, tsig_request_.time_signed, tsig,
                          tsig_error_,
                          tsig_error_ == 18 ? std::span<const std::uint8_t>(ours)
                                            : std::span<const std::uint8_t>());
        } else {
            signer_->sign({wire_.data(), message_size}, messages_ == 0, now, tsig);
        }
        wire_.insert(wire_.end(), tsig.begin(), tsig.end());
        ++wire_[11];  // ARCOUNT: the TSIG
    } else if (tsig_error_ != 0) {
        append_unsigned_tsig(tsig_request_, tsig_error_, tsig_request_.original_id, wire_);
        ++wire_[11];
    }
    ++messages_;
    std::vector<std::uint8_t> out;
    out.swap(wire_);
    emit_(std::move(out));
    wire_.reserve(budget_ + 512);
}

}  // namespace v6bl::zones
