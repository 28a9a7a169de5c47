// Who may transfer the zone: source prefixes and TSIG keys (RFC 8945).
#pragma once

#include <sys/socket.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "v6bl/store/prefix.h"
#include "v6bl/zones/zone_config.h"

namespace v6bl::zones {

struct tsig_key {
    std::string name;       // absolute, lower case: "transfer-key."
    std::string algorithm;  // ldns algorithm name: "hmac-sha256."
    std::string secret;     // base64
};

// "[ALGORITHM:]NAME:BASE64SECRET" as dig -y and knotc take it; the algorithm defaults to
// hmac-sha256. Returns nullopt on an unknown algorithm, a secret that is not base64 or a
// malformed spec.
std::optional<tsig_key> parse_tsig_key(std::string_view spec);

// A peer address as an IPv6 /128 (IPv4 as ::ffff:a.b.c.d), or nullopt for other families.
std::optional<store::prefix> peer_prefix(const sockaddr_storage& peer);

// "a.b.c.d[/len]" (mapped to ::ffff:0:0/96) or an IPv6 prefix; a bare address is a host.
std::optional<store::prefix> parse_acl_prefix(std::string_view text);

class transfer_acl {
  public:
    // Throws std::runtime_error naming the bad entry (start-up).
    explicit transfer_acl(const zone_config& config);

    bool source_allowed(const sockaddr_storage& peer) const;
    const tsig_key* find_key(std::string_view name) const;
    bool has_keys() const { return !keys_.empty(); }
    std::span<const tsig_key> keys() const { return keys_; }
    bool require_tsig() const { return require_tsig_; }
    bool has_sources() const { return !sources_.empty(); }

  private:
    std::vector<store::prefix> sources_;
    std::vector<tsig_key> keys_;
    bool require_tsig_ = false;
};

}  // namespace v6bl::zones
