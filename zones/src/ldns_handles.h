// RAII owners for ldns objects, so that no early return leaks a packet or a record.
#pragma once

// ldns/common.h defines bool/true/false as macros unless stdbool.h came first.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)

#include <ldns/ldns.h>

#include <memory>

namespace v6bl::zones {

struct ldns_rr_deleter {
    void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
struct ldns_rdf_deleter {
    void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
struct ldns_pkt_deleter {
    void operator()(ldns_pkt* pkt) const { ldns_pkt_free(pkt); }
};
struct ldns_buffer_deleter {
    void operator()(ldns_buffer* buffer) const { ldns_buffer_free(buffer); }
};
struct ldns_rr_list_deleter {
    void operator()(ldns_rr_list* list) const { ldns_rr_list_deep_free(list); }
};

using ldns_rr_ptr = std::unique_ptr<ldns_rr, ldns_rr_deleter>;
using ldns_rdf_ptr = std::unique_ptr<ldns_rdf, ldns_rdf_deleter>;
using ldns_pkt_ptr = std::unique_ptr<ldns_pkt, ldns_pkt_deleter>;
using ldns_buffer_ptr = std::unique_ptr<ldns_buffer, ldns_buffer_deleter>;
using ldns_rr_list_ptr = std::unique_ptr<ldns_rr_list, ldns_rr_list_deleter>;

}  // namespace v6bl::zones
