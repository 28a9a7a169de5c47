// Per-thread server counters: written by one event loop, read by the metrics stage.
#include "v6bl/server/server_stats.h"

#include <cstring>

namespace v6bl::server {
namespace {

std::size_t word_of(std::uint64_t server_counters::*field) {
    static const server_counters probe{};
    return static_cast<std::size_t>(reinterpret_cast<const char*>(&(probe.*field)) -
                                    reinterpret_cast<const char*>(&probe)) /
           sizeof(std::uint64_t);
}

template <std::size_t N>
std::size_t word_of_array(std::array<std::uint64_t, N> server_counters::*field, std::size_t i) {
    static const server_counters probe{};
    return static_cast<std::size_t>(reinterpret_cast<const char*>(&(probe.*field)[i]) -
                                    reinterpret_cast<const char*>(&probe)) /
           sizeof(std::uint64_t);
}

std::size_t qtype_slot(std::uint16_t t) {
    switch (t) {
        case dns::type_a:
            return 0;
        case dns::type_aaaa:
            return 1;
        case dns::type_txt:
            return 2;
        case dns::type_any:
            return 3;
        case dns::type_soa:
            return 4;
        case dns::type_ns:
            return 5;
        case dns::type_axfr:
        case dns::type_ixfr:
            return 6;
        default:
            return 7;
    }
}

std::size_t code_slot(std::uint8_t code) {
    switch (code) {
        case 2:
            return 0;
        case 3:
            return 1;
        case 4:
            return 2;
        case 10:
            return 3;
        default:
            return 4;
    }
}

}  // namespace

server_counters& server_counters::operator+=(const server_counters& o) {
    auto* a = reinterpret_cast<std::uint64_t*>(this);
    const auto* b = reinterpret_cast<const std::uint64_t*>(&o);
    for (std::size_t i = 0; i < sizeof(server_counters) / sizeof(std::uint64_t); ++i) a[i] += b[i];
    return *this;
}

void server_stats::count_query(transport_kind t, const answer_result& r, bool sent) {
    bump(word_of(t == transport_kind::udp ? &server_counters::queries_udp
                                          : &server_counters::queries_tcp),
         1);
    bump(word_of_array(&server_counters::by_qtype, qtype_slot(r.qtype)), 1);
    std::size_t rc = r.rcode <= 5 ? r.rcode : 8;
    switch (r.outcome) {
        case answer_outcome::dropped:
            rc = 8;
            break;
        case answer_outcome::badvers:
            rc = 6;
            break;
        case answer_outcome::notauth:
            rc = 7;
            break;
        default:
            break;
    }
    // A transfer's response is the responder's (count_transfer_reply): refused transfers
    // were counted as NOERROR responses (helper-52).
    // Nor is an answer RRL dropped a response (it was counted as one).
    if (sent && r.outcome != answer_outcome::transfer)
        bump(word_of_array(&server_counters::by_rcode, rc), 1);
    switch (r.outcome) {
        case answer_outcome::listed:
            bump(word_of_array(&server_counters::listed_by_code, code_slot(r.code)), 1);
            break;
        case answer_outcome::nxdomain:
            bump(word_of(&server_counters::unlisted), 1);
            break;
        case answer_outcome::node:
        case answer_outcome::hole:
            bump(word_of(&server_counters::nodata), 1);
            break;
        case answer_outcome::refused:
            bump(word_of(&server_counters::refused), 1);
            break;
        case answer_outcome::formerr:
            bump(word_of(&server_counters::malformed), 1);
            break;
        case answer_outcome::dropped:
            bump(word_of(&server_counters::malformed), 1);
            bump(word_of(&server_counters::dropped), 1);
            break;
        default:
            break;
    }
    // Sent with TC=1: an answer RRL drops is not sent (one that RRL slips is counted there).
    if (r.truncated && sent) bump(word_of(&server_counters::truncated), 1);
    if (r.tsig != tsig_outcome::none)
        bump(word_of_array(&server_counters::tsig, static_cast<std::size_t>(r.tsig) - 1), 1);
}

void server_stats::count_transfer_reply(int rcode) {
    // Slots as count_query's: RCODE 0..5, NOTAUTH (TSIG) 7, anything else or none 8.
    const std::size_t rc = rcode >= 0 && rcode <= 5 ? static_cast<std::size_t>(rcode)
                           : rcode == 9             ? 7
                                                    : 8;
    bump(word_of_array(&server_counters::by_rcode, rc), 1);
    if (rcode == 0) bump(word_of(&server_counters::transfers), 1);
    if (rcode == 5) bump(word_of(&server_counters::refused), 1);
}

void server_stats::count_latency(std::uint64_t latency_ns, std::uint64_t queries) {
    std::size_t b = 0;
    while (b < latency_bounds_ns.size() && latency_ns > latency_bounds_ns[b]) ++b;
    bump(word_of_array(&server_counters::latency, b), queries);
}

void server_stats::add(std::uint64_t server_counters::*field, std::uint64_t n) {
    bump(word_of(field), n);
}

void server_stats::sub(std::uint64_t server_counters::*field, std::uint64_t n) {
    const std::size_t w = word_of(field);
    words_[w].store(words_[w].load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
}

server_counters server_stats::snapshot() const {
    server_counters out;
    auto* a = reinterpret_cast<std::uint64_t*>(&out);
    for (std::size_t i = 0; i < words; ++i) a[i] = words_[i].load(std::memory_order_relaxed);
    return out;
}

}  // namespace v6bl::server
