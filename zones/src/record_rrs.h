// ldns resource records of the exported zone: apex SOA/NS and the records of zone_record.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ldns_handles.h"
#include "v6bl/zones/zone_config.h"
#include "v6bl/zones/zone_tree.h"

namespace v6bl::zones {

// The zone name and its NS/rname as absolute presentation names ("x.example.org.").
std::string absolute_name(std::string_view name);
// "hostmaster@example.org" or "hostmaster.example.org" to the SOA rname form.
std::string soa_rname_name(std::string_view rname);

// Throws std::runtime_error on a name ldns refuses (start-up / batch level).
ldns_rr_ptr make_soa_rr(const zone_config& config, std::uint32_t serial);
std::vector<ldns_rr_ptr> make_ns_rrs(const zone_config& config);
// A/AAAA records of `ns_addresses` ("name=address").
std::vector<ldns_rr_ptr> make_glue_rrs(const zone_config& config);

// Builds the owner names and records of zone_record values without parsing text: owner
// names are assembled in wire form from the nibbles.
class record_rr_builder {
  public:
    explicit record_rr_builder(const zone_config& config);

    // The owner of `r` as an ldns dname.
    ldns_rdf_ptr owner(const zone_record& r) const;
    // Appends the records of `r` (A then TXT; TXT only for a hole) to `out`.
    void append(const zone_record& r, std::vector<ldns_rr_ptr>& out) const;

  private:
    std::vector<std::uint8_t> zone_wire_;  // the zone name in wire form, root label included
    std::uint32_t listing_ttl_;
};

// A TXT character-string rdf (length byte + at most 255 bytes of `text`).
ldns_rdf_ptr make_txt_rdf(std::string_view text);

}  // namespace v6bl::zones
