// Fuzz target: remote sensors' JSON association lines.
#include <cstdint>
#include <string>
#include <string_view>

#include "v6bl/ingest/association_line.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace v6bl::ingest;
    association_line out;
    std::string error;
    if (parse_association_line(std::string_view(reinterpret_cast<const char*>(data), size), out,
                               error)) {
        // what parses can be written back and parsed again
        association_line again;
        std::string error2;
        (void)parse_association_line(
            format_association_line(out.assoc, out.sensor, out.ipv4_rejected), again, error2);
    }
    return 0;
}
