// Fuzz target: the store's record, evidence and allowlist decoders (and re-encoding).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "v6bl/store/record.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace v6bl::store;
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto r = decode_record(in)) {
        // a value that decodes re-encodes to the very same bytes
        if (encode_record(*r) != in) std::abort();
        reputation_record merged = *r;
        merge_into(merged, *r);
    }
    if (auto e = decode_evidence(in)) {
        if (encode_evidence(*e) != in) std::abort();
    }
    if (auto a = decode_allow(in)) {
        if (encode_allow(*a) != in) std::abort();
    }
    return 0;
}
