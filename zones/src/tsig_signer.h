// TSIG signing of outgoing transfer messages (RFC 8945 4.3.3 and 5.3.1) over raw wire.
#pragma once

#include <cstdint>
#include <initializer_list>
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
    // `error` and `other` are the TSIG error and Other Data of the first message (BADTIME:
    // 18 and the server's time, RFC 8945 5.2.3); later messages carry neither.
    void sign(std::span<const std::uint8_t> message, bool first, std::uint64_t time_signed,
              std::vector<std::uint8_t>& out, std::uint16_t error = 0,
              std::span<const std::uint8_t> other = {});

    void set_prior_mac(std::span<const std::uint8_t> mac) { mac_.assign(mac.begin(), mac.end()); }
    const std::vector<std::uint8_t>& mac() const { return mac_; }

  private:
    std::vector<std::uint8_t> secret_;
    std::vector<std::uint8_t> key_name_wire_;
    std::vector<std::uint8_t> algorithm_wire_;
    const char* digest_ = nullptr;  // OpenSSL digest name
    std::vector<std::uint8_t> mac_;
};

// The TSIG of a request as received (RFC 8945 4.2), for the answer's own TSIG.
struct tsig_request {
    std::vector<std::uint8_t> key_name_wire;   // canonical wire form
    std::vector<std::uint8_t> algorithm_wire;  // canonical wire form
    std::uint64_t time_signed = 0;
    std::uint16_t fudge = 0;
    std::uint16_t original_id = 0;
    std::vector<std::uint8_t> mac;
};

// Appends the unsigned TSIG RR of an error answer to a request whose key or MAC failed
// (BADKEY 17, BADSIG 16: MAC size 0, RFC 8945 5.3.2), its times those of the request.
void append_unsigned_tsig(const tsig_request& request, std::uint16_t error, std::uint16_t id,
                          std::vector<std::uint8_t>& out);

// The HMAC of `parts` under the key (its algorithm and base64 secret). Throws
// std::runtime_error on an unsupported algorithm or a secret that is not base64.
std::vector<std::uint8_t> tsig_hmac(const tsig_key& key,
                                    std::initializer_list<std::span<const std::uint8_t>> parts);

// "xfr-key." to canonical (lower case, uncompressed) wire form.
std::vector<std::uint8_t> canonical_name_wire(const std::string& name);

}  // namespace v6bl::zones
