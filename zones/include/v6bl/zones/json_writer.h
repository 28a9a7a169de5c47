// The JSON-lines writer: one object per listing and per allowlisted hole, for tooling.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "v6bl/zones/zone_config.h"
#include "v6bl/zones/zone_tree.h"

namespace v6bl::zones {

// Lines: {"kind":"zone",...} first, then {"kind":"listing",...} and {"kind":"hole",...}.
// Covering wildcards are a zone-file device and are not written.
class json_writer {
  public:
    json_writer(std::FILE* out, const zone_config& config) : out_(out), config_(config) {}

    void write_header(std::uint32_t serial);
    void write(const zone_record& r);

  private:
    std::FILE* out_;
    zone_config config_;
};

}  // namespace v6bl::zones
