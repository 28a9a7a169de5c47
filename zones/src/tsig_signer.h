// TSIG signing of outgoing transfer messages (RFC 8945 4.3.3 and 5.3.1) over raw wire.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "v6bl/zones/transfer_acl.h"

namespace v6bl::zones {

// ldns signs only its own ldns_pkt, whose renderer spends ~30 us per record compressing
// names; transfers are rendered by hand (message_stream), so their MACs are computed here
// with OpenSSL's HMAC. Query verification stays with ldns (ldns_pkt_tsig_verify), and the
// tests verify every message this signs with ldns_pkt_tsig_verify_next.
class tsig_signer {
  public:
    // Throws std::runtime_error on an unsupported algorithm or a bad base64 secret.
    explicit tsig_signer(const tsig_key& key);

    // Appends the TSIG RR for `message` (complete, ARCOUNT not yet counting the TSIG) to
    // `out`. The first message of a response chains from the request MAC with all TSIG
    // variables; later ones from the previous MAC with the timers only. Updates the MAC
    // to chain from.
    void sign(std::span<const std::uint8_t> message, bool first, std::uint64_t time_signed,
              std::vector<std::uint8_t>& out);

    void set_prior_mac(std::span<const std::uint8_t> mac) { mac_.assign(mac.begin(), mac.end()); }
    const std::vector<std::uint8_t>& mac() const { return mac_; }

  private:
    std::vector<std::uint8_t> secret_;
    std::vector<std::uint8_t> key_name_wire_;
    std::vector<std::uint8_t> algorithm_wire_;
    const char* digest_ = nullptr;  // OpenSSL digest name
    std::vector<std::uint8_t> mac_;
};

// "xfr-key." to canonical (lower case, uncompressed) wire form.
std::vector<std::uint8_t> canonical_name_wire(const std::string& name);

}  // namespace v6bl::zones
