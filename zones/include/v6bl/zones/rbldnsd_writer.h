// The rbldnsd ip6trie data writer: $SOA/$NS, one line per listing, "!" exclusions for holes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "v6bl/zones/zone_config.h"
#include "v6bl/zones/zone_tree.h"

namespace v6bl::zones {

// rbldnsd answers by longest prefix match itself, so it needs only the listings and the
// holes, not the covering wildcards of the master file. It cannot hold the IPv4-form test
// point in an ip6trie dataset (docs/zones.md).
class rbldnsd_writer {
  public:
    rbldnsd_writer(std::FILE* out, const zone_config& config) : out_(out), config_(config) {}

    void write_header(std::uint32_t serial);
    void write(const zone_record& r);

  private:
    std::FILE* out_;
    zone_config config_;
    std::string line_;
};

// rbldnsd TXT templates substitute "$"; a literal dollar is "$$".
std::string rbldnsd_escape_text(const std::string& text);
// All eight groups in hex, no "::" compression and no dotted quad: the spelling every
// rbldnsd version parses ("2001:db8:0:0:0:0:0:0/64").
std::string rbldnsd_prefix_text(const store::prefix& p);

}  // namespace v6bl::zones
