// Fuzz target: the capture frame decoder for every supported link type.
#include <cstdint>

#include "v6bl/ingest/syn_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace v6bl::ingest;
    for (auto link : {link_kind::ethernet, link_kind::linux_sll, link_kind::linux_sll2,
                      link_kind::raw_ip, link_kind::bsd_null}) {
        syn_record out;
        (void)decode_syn(link, data, size, 0, 25, out);
        (void)decode_syn(link, data, size, 0, 0, out);
    }
    return 0;
}
