// The zone transfer responder: AXFR (RFC 5936) and IXFR (RFC 1995) answers as a sequence of
// DNS messages, from a consistent snapshot of the store, behind the transfer ACL and TSIG.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "v6bl/store/policy.h"
#include "v6bl/store/store.h"
#include "v6bl/zones/transfer_acl.h"
#include "v6bl/zones/zone_config.h"

namespace v6bl::zones {

enum class transfer_outcome : std::uint8_t {
    formerr,     // unreadable query: FORMERR (or nothing when even the header is short)
    notimp,      // not a QUERY opcode
    refused,     // not our zone, not a transfer type, or the ACL says no
    notauth,     // TSIG with an unknown key or a bad signature (RFC 8945 5.2)
    soa,         // a SOA query of the apex (answered, for stand-alone transfer servers)
    up_to_date,  // IXFR with the client's serial >= ours: one message, our SOA
    axfr,        // full zone
    ixfr_full,   // IXFR answered with the full zone (RFC 1995 section 4)
    tcp_needed,  // IXFR over UDP that does not fit: our SOA alone, "ask over TCP" (RFC 1995 2)
    aborted,     // emit threw (connection gone); the transfer stopped part way
};

struct transfer_result {
    transfer_outcome outcome = transfer_outcome::refused;
    std::uint32_t serial = 0;
    std::uint64_t messages = 0;
    std::uint64_t records = 0;
};

// Called once per response message, in order. Each is a complete DNS message without the
// TCP length prefix. It may throw to abort the transfer (a closed connection).
using transfer_emit = std::function<void(std::vector<std::uint8_t>)>;

// The hook type `v6bl serve` calls for AXFR/IXFR over TCP.
using transfer_hook = std::function<void(std::span<const std::uint8_t> query,
                                         const sockaddr_storage& peer, transfer_emit emit)>;

class transfer_responder {
  public:
    // `store` must outlive the responder. With `catch_up_each_transfer` (a RocksDB secondary
    // opened with reputation_store::open_reader for the responder's own use), every transfer
    // first replays the writer's commits. Transfers are serialised by an internal mutex so
    // the serial and the records of one transfer come from the same state.
    // Throws std::runtime_error on a bad ACL or zone config (start-up).
    transfer_responder(zone_config config, store::listing_policy policy,
                       store::reputation_store& store, bool catch_up_each_transfer);

    // The QTYPE (AXFR or IXFR) of a QUERY asking for a transfer, else 0 (cheap header
    // check, no full parse).
    static std::uint16_t transfer_type(std::span<const std::uint8_t> query);
    static bool is_transfer_query(std::span<const std::uint8_t> query) {
        return transfer_type(query) != 0;
    }

    // Answers `query` from `peer`; `now` evaluates listing expiry (unix seconds; 0: the wall
    // clock read after waiting for a running transfer and catching up with the store).
    transfer_result respond(std::span<const std::uint8_t> query, const sockaddr_storage& peer,
                            std::uint32_t now, const transfer_emit& emit);

    // The same over UDP (RFC 1995 2, RFC 5936 4.2): IXFR answers our SOA alone when the
    // client is up to date or when the differences would not fit (always, here), so the
    // client retries over TCP; AXFR is REFUSED. Returns the one reply message, or nothing
    // when there is nothing to send (a response sent to us). Never waits for a running
    // transfer (it answers from the serial that transfer read), so an event loop may call it.
    std::optional<std::vector<std::uint8_t>> respond_udp(std::span<const std::uint8_t> query,
                                                         const sockaddr_storage& peer,
                                                         std::uint32_t now,
                                                         transfer_result* result = nullptr);

    // An adapter to the server's hook type, using the wall clock. The responder must outlive
    // the hook.
    transfer_hook as_hook();

    // Upper bound of one message's size before TSIG; messages are filled up to it.
    static constexpr std::size_t message_budget = 60000;

  private:
    transfer_result respond_on(std::span<const std::uint8_t> query, const sockaddr_storage& peer,
                               std::uint32_t now, const transfer_emit& emit, bool udp);

    zone_config config_;
    store::listing_policy policy_;
    store::reputation_store& store_;
    bool catch_up_;
    transfer_acl acl_;
    std::mutex mutex_;                        // one transfer at a time reads the store
    std::atomic<std::uint32_t> last_serial_;  // the serial last read under mutex_
};

}  // namespace v6bl::zones
