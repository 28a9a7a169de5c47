// The RFC 1035 master-file writer of the exported zone (NSD, Knot and BIND load it).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>

#include "v6bl/zones/zone_config.h"
#include "v6bl/zones/zone_tree.h"

namespace v6bl::zones {

// How record lines are produced. Both give the same bytes (a test compares them):
// - ldns_records: every record built as an ldns_rr and printed with ldns_rr_print;
// - direct: the same presentation format appended to one reused line buffer (owner from
//   the nibbles, TXT escaped per RFC 1035 5.1 exactly as ldns does). The default: ldns
//   renders TXT one printf per byte and allocates per record; direct is ~3x faster
//   (docs/zones.md "Performance"). The apex (SOA, NS, glue) is always printed by ldns.
enum class zone_text_mode : std::uint8_t { ldns_records, direct };

class zone_file_writer {
  public:
    zone_file_writer(std::FILE* out, const zone_config& config,
                     zone_text_mode mode = zone_text_mode::direct);
    ~zone_file_writer();
    zone_file_writer(const zone_file_writer&) = delete;
    zone_file_writer& operator=(const zone_file_writer&) = delete;

    // The SOA and NS records, written with ldns; first in the file.
    void write_apex(std::uint32_t serial);
    void write(const zone_record& r);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace v6bl::zones
