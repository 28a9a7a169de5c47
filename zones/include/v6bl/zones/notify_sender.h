// The NOTIFY sender (RFC 1996): tells configured secondaries that the serial changed.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "v6bl/zones/transfer_acl.h"
#include "v6bl/zones/zone_config.h"

namespace v6bl::zones {

struct notify_target {
    std::string text;  // as configured
    sockaddr_storage address{};
    socklen_t address_size = 0;
};

// "a.b.c.d[:port]", "[v6]:port" or a bare IPv6 address; the port defaults to 53.
std::optional<notify_target> parse_notify_target(const std::string& text);

struct notify_result {
    std::string target;
    bool acknowledged = false;
    std::string error;  // why not, when not acknowledged
};

class notify_sender {
  public:
    // Throws std::runtime_error on a bad target or key (start-up).
    explicit notify_sender(const zone_config& config);

    // The pieces, for callers with their own event loop (libuv in server/):
    // the NOTIFY message for `serial` with query ID `id` (TSIG-signed when configured) ...
    std::vector<std::uint8_t> make_notify(std::uint32_t serial, std::uint16_t id) const;
    // ... and whether `reply` acknowledges it (RFC 1996 4.7: same ID, QR, opcode NOTIFY,
    // NOERROR).
    static bool is_acknowledgement(std::span<const std::uint8_t> reply, std::uint16_t id);
    // ... or its refusal: the reply's RCODE when it is not NOERROR, else -1. send_all gives
    // up on FORMERR, NOTIMP, REFUSED and NOTAUTH, and tries SERVFAIL again.
    static int refusal_rcode(std::span<const std::uint8_t> reply, std::uint16_t id);

    // Blocking convenience for batch tools and tests: sends to every target over UDP and
    // waits up to `timeout_ms` per attempt, retrying `attempts` times (RFC 1996 3.6).
    std::vector<notify_result> send_all(std::uint32_t serial, int timeout_ms, int attempts) const;

    const std::vector<notify_target>& targets() const { return targets_; }

  private:
    zone_config config_;
    std::vector<notify_target> targets_;
    std::optional<tsig_key> key_;
};

}  // namespace v6bl::zones
