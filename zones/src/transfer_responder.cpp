// The zone transfer responder: AXFR and IXFR answers as message sequences (see header).
#include "v6bl/zones/transfer_responder.h"

#include <cstdio>
#include <ctime>
#include <exception>

#include "message_stream.h"
#include "record_rrs.h"
#include "tsig_check.h"
#include "v6bl/zones/serial_arith.h"
#include "v6bl/zones/zone_tree.h"

namespace v6bl::zones {
namespace {

constexpr std::uint16_t type_soa = 6;
constexpr std::uint16_t type_ixfr = 251;
constexpr std::uint16_t type_axfr = 252;
constexpr std::uint16_t rcode_badvers = 16;  // RFC 6891 9: extended rcode 1, rcode 0

// An error answer from the header alone, for queries ldns cannot parse.
void emit_header_error(std::span<const std::uint8_t> query, std::uint8_t rcode,
                       const transfer_emit& emit) {
    if (query.size() < 12) return;
    std::vector<std::uint8_t> out(query.begin(), query.begin() + 12);
    out[2] = static_cast<std::uint8_t>((out[2] & 0x78) | 0x80);  // QR, keep opcode
    out[3] = rcode;
    for (std::size_t i = 4; i < 12; ++i) out[i] = 0;
    emit(std::move(out));
}

}  // namespace

transfer_responder::transfer_responder(zone_config config, store::listing_policy policy,
                                       store::reputation_store& store, bool catch_up_each_transfer)
    : config_(std::move(config)),
      policy_(policy),
      store_(store),
      catch_up_(catch_up_each_transfer),
      acl_(config_),
      last_serial_(store.serial()) {
    make_soa_rr(config_, 0);  // validates the names now rather than per transfer
    make_glue_rrs(config_);
}

std::uint16_t transfer_responder::transfer_type(std::span<const std::uint8_t> query) {
    if (query.size() < 12 + 5) return 0;
    if ((query[2] & 0x80) != 0 || ((query[2] >> 3) & 0x0f) != 0) return 0;
    if (query[4] != 0 || query[5] != 1) return 0;
    std::size_t i = 12;
    while (i < query.size() && query[i] != 0) {
        if ((query[i] & 0xc0) != 0) return 0;
        i += static_cast<std::size_t>(query[i]) + 1;
    }
    if (i + 4 >= query.size()) return 0;
    const std::uint16_t qtype = static_cast<std::uint16_t>((query[i + 1] << 8) | query[i + 2]);
    return qtype == type_axfr || qtype == type_ixfr ? qtype : 0;
}

transfer_result transfer_responder::respond(std::span<const std::uint8_t> query,
                                            const sockaddr_storage& peer, std::uint32_t now,
                                            const transfer_emit& emit) {
    return respond_on(query, peer, now, emit, false);
}

std::optional<std::vector<std::uint8_t>> transfer_responder::respond_udp(
    std::span<const std::uint8_t> query, const sockaddr_storage& peer, std::uint32_t now,
    transfer_result* result) {
    std::optional<std::vector<std::uint8_t>> reply;
    const transfer_result r = respond_on(
        query, peer, now,
        [&](std::vector<std::uint8_t> message) {
            if (!reply) reply = std::move(message);
        },
        true);
    if (result) *result = r;
    return reply;
}

transfer_result transfer_responder::respond_on(std::span<const std::uint8_t> query,
                                               const sockaddr_storage& peer, std::uint32_t now,
                                               const transfer_emit& emit, bool udp) {
    transfer_result result;
    ldns_pkt* parsed = nullptr;
    // A TSIG that is not the last record (or several) is FORMERR (RFC 8945 5.1), decided
    // before ldns reads the message: it keeps the last TSIG and leaks the others.
    const std::optional<std::size_t> tsig_at = find_tsig(query);
    if (!tsig_at || ldns_wire2pkt(&parsed, query.data(), query.size()) != LDNS_STATUS_OK ||
        !parsed) {
        result.outcome = transfer_outcome::formerr;
        emit_header_error(query, LDNS_RCODE_FORMERR, emit);
        return result;
    }
    ldns_pkt_ptr pkt(parsed);

    auto answer_error = [&](std::uint16_t rcode, transfer_outcome outcome,
                            const tsig_key* key = nullptr, const ldns_rdf* mac = nullptr,
                            bool authoritative = true, const tsig_check* failed = nullptr) {
        message_stream stream(pkt.get(), config_, key, mac, message_budget, emit);
        if (!authoritative) stream.not_authoritative();
        if (failed) stream.set_tsig_error(failed->error, failed->request);
        stream.finish(rcode);
        result.outcome = outcome;
        result.messages = stream.messages();
        return result;
    };

    if (ldns_pkt_qr(pkt.get())) {
        result.outcome = transfer_outcome::formerr;
        return result;  // a response sent to us: never answer (no loops)
    }
    if (ldns_pkt_get_opcode(pkt.get()) != LDNS_PACKET_QUERY) {
        return answer_error(LDNS_RCODE_NOTIMPL, transfer_outcome::notimp, nullptr, nullptr, false);
    }
    // An EDNS version we do not speak (RFC 6891 6.1.3), before anything else is looked at.
    if (ldns_pkt_edns(pkt.get()) && ldns_pkt_edns_version(pkt.get()) != 0) {
        return answer_error(rcode_badvers, transfer_outcome::formerr, nullptr, nullptr, false);
    }
    if (ldns_pkt_qdcount(pkt.get()) != 1) {
        return answer_error(LDNS_RCODE_FORMERR, transfer_outcome::formerr, nullptr, nullptr, false);
    }
    const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(pkt.get()), 0);
    const ldns_rr_type qtype = ldns_rr_get_type(question);
    const ldns_rdf_ptr zone_name(ldns_dname_new_frm_str(absolute_name(config_.zone).c_str()));
    if (ldns_rr_get_class(question) != LDNS_RR_CLASS_IN ||
        ldns_dname_compare(ldns_rr_owner(question), zone_name.get()) != 0 ||
        (qtype != type_axfr && qtype != type_ixfr && qtype != type_soa)) {
        // Not our zone or class: no authority to claim.
        return answer_error(LDNS_RCODE_REFUSED, transfer_outcome::refused, nullptr, nullptr, false);
    }

    // TSIG first (RFC 8945 5.2): an unknown key or a bad MAC gets NOTAUTH with an unsigned
    // TSIG naming the error, a request outside its time window (a replay, or clocks apart)
    // NOTAUTH signed. The time is the wall clock's, whatever `now` evaluates listings at.
    const tsig_key* key = nullptr;
    ldns_rdf_ptr query_mac;
    if (const ldns_rr* tsig = ldns_pkt_tsig(pkt.get())) {
        const tsig_check check = check_tsig(acl_.keys(), pkt.get(), query, *tsig_at,
                                            static_cast<std::uint64_t>(std::time(nullptr)));
        if (check.malformed) {
            return answer_error(LDNS_RCODE_FORMERR, transfer_outcome::formerr, nullptr, nullptr,
                                false);
        }
        query_mac.reset(ldns_rdf_clone(ldns_rr_rdf(tsig, 3)));
        if (check.error != 0) {
            return answer_error(LDNS_RCODE_NOTAUTH, transfer_outcome::notauth, check.key,
                                check.key ? query_mac.get() : nullptr, true, &check);
        }
        key = check.key;
    }
    const bool source_ok = acl_.source_allowed(peer);
    const bool allowed =
        acl_.require_tsig() ? key && (source_ok || !acl_.has_sources()) : (source_ok || key);
    if (!allowed) {
        return answer_error(LDNS_RCODE_REFUSED, transfer_outcome::refused, key, query_mac.get());
    }

    std::optional<std::uint32_t> client_serial;
    if (qtype == type_ixfr) {
        const ldns_rr_list* authority = ldns_pkt_authority(pkt.get());
        const ldns_rr* soa =
            ldns_rr_list_rr_count(authority) == 1 ? ldns_rr_list_rr(authority, 0) : nullptr;
        if (!soa || ldns_rr_get_type(soa) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(soa) < 3) {
            return answer_error(LDNS_RCODE_FORMERR, transfer_outcome::formerr, key,
                                query_mac.get());
        }
        client_serial = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
    }

    if (udp && qtype == type_axfr) {
        return answer_error(LDNS_RCODE_REFUSED, transfer_outcome::refused, key, query_mac.get());
    }

    // UDP answers carry only the SOA: never wait behind a running transfer for it, take
    // the serial that transfer started from instead.
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    if (!udp) lock.lock();
    if (lock.owns_lock() || lock.try_lock()) {
        if (catch_up_) store_.catch_up();
        last_serial_ = store_.serial();
    }
    result.serial = last_serial_.load();
    // The zone is read at a time no earlier than its serial's commit: a `now` taken before
    // waiting behind a running transfer could predate a commit caught up since, and the
    // zone sent under that serial would hold listings that lapsed in between, which no
    // later serial names (docs/zones.md, "Publishing to secondaries").
    if (now == 0) now = static_cast<std::uint32_t>(std::time(nullptr));
    const ldns_rr_ptr soa = make_soa_rr(config_, result.serial);
    message_stream stream(pkt.get(), config_, key, query_mac.get(), message_budget, emit);
    try {
        const bool up_to_date = client_serial && !serial_newer(result.serial, *client_serial);
        if (qtype == type_soa || up_to_date || udp) {
            // RFC 1995 2: a client as new as we are gets our SOA alone, and so does an IXFR
            // over UDP that would not fit: the client then asks over TCP.
            stream.add(soa.get());
            stream.finish();
            result.outcome = qtype == type_soa ? transfer_outcome::soa
                             : up_to_date      ? transfer_outcome::up_to_date
                                               : transfer_outcome::tcp_needed;
        } else {
            // AXFR, and IXFR answered in full (RFC 1995 4): the store keeps which prefixes
            // changed, not their old records, so no difference sequence can be built
            // (docs/zones.md "IXFR").
            stream.add(soa.get());
            for (const ldns_rr_ptr& ns : make_ns_rrs(config_)) stream.add(ns.get());
            for (const ldns_rr_ptr& glue : make_glue_rrs(config_)) stream.add(glue.get());
            zone_tree_builder tree(store_.published_holes(), config_.url_template,
                                   [&](const zone_record& r) { stream.add(r); });
            store_.for_each_published(policy_, now,
                                      [&](const store::listing_entry& e) { tree.add_entry(e); });
            tree.finish();
            stream.add(soa.get());
            stream.finish();
            result.outcome = client_serial ? transfer_outcome::ixfr_full : transfer_outcome::axfr;
        }
    } catch (const std::exception&) {
        result.outcome = transfer_outcome::aborted;
    }
    result.messages = stream.messages();
    result.records = stream.records();
    return result;
}

transfer_hook transfer_responder::as_hook() {
    return [this](std::span<const std::uint8_t> query, const sockaddr_storage& peer,
                  transfer_emit emit) {
        respond(query, peer, 0, emit);  // the wall clock once caught up
    };
}

}  // namespace v6bl::zones
