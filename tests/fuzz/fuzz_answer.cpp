// Fuzz target: the pure DNS answer core over UDP and TCP. Every response it writes must fit
// the buffer and parse with ldns.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "v6bl/server/answer.h"

// ldns's headers define bool-ish macros that clash with libstdc++ under clang: last.
#include <ldns/ldns.h>

namespace {

using namespace v6bl;

struct fixture {
    std::shared_ptr<const store::listing_view> view;
    std::unique_ptr<server::answer_zone> zone;
    fixture() {
        std::vector<store::listing_entry> entries;
        auto add = [&](const char* p, store::reason_code code, const char* text = "") {
            store::listing_entry e;
            e.where = *store::parse_prefix(p);
            e.code = code;
            e.source_length = e.where.length;
            e.text = text;
            e.attempts = 3;
            entries.push_back(e);
        };
        add("2001:db8:1::/48", store::reason_code::escalated);
        add("2001:db8:1:2::/64", store::reason_code::associated);
        add("2001:db8:5::/64", store::reason_code::manual, "by hand");
        add("2001:db8:6::1/128", store::reason_code::structural);
        add("2001:db9::/32", store::reason_code::manual);
        entries.push_back(store::rfc5782_test_entry());
        view = store::listing_view::build(entries, {*store::parse_prefix("2001:db8:1:3::/64")}, 1);
        zones::zone_config cfg;
        // A key, so that signed queries (corpus: signed_*) reach the MAC check and, when it
        // fails, the signed and unsigned NOTAUTH answers (RFC 8945 5.2).
        cfg.transfer_tsig = {"hmac-sha256:xfr-key:c2VjcmV0LWtleS1mb3ItdjZibC10ZXN0cy0xMjM0NTY="};
        zone = std::make_unique<server::answer_zone>(cfg);
    }
};

void check(std::span<const std::uint8_t> query, server::transport_kind t, const fixture& f) {
    std::vector<std::uint8_t> out(server::dns::max_message_size);
    server::answer_context ctx{f.view.get(), f.zone.get(), 1000, t, true};
    const auto r = server::answer_query(query, out, ctx);
    if (r.size > out.size()) std::abort();
    if (t == server::transport_kind::udp && r.size > 4096) std::abort();
    if (r.size == 0) return;
    ldns_pkt* pkt = nullptr;
    if (ldns_wire2pkt(&pkt, out.data(), r.size) != LDNS_STATUS_OK) std::abort();
    ldns_pkt_free(pkt);
    // an answer never amplifies a query beyond what the client allowed over UDP
    if (t == server::transport_kind::udp && r.size > 512 && query.size() < 12 + 11) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const fixture f;
    const std::span<const std::uint8_t> query(data, size);
    check(query, server::transport_kind::udp, f);
    check(query, server::transport_kind::tcp, f);
    return 0;
}
