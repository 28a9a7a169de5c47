// The TCP listener and its connections (RFC 7766): 2-byte framing, pipelining, idle and read
// timeouts, a connection cap per loop and a cap on answers queued per connection.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "v6bl/server/server_config.h"

namespace v6bl::server {

class event_loop_worker;

class tcp_listener {
  public:
    tcp_listener(event_loop_worker& worker, const listen_address& address);
    tcp_listener(const tcp_listener&) = delete;
    tcp_listener& operator=(const tcp_listener&) = delete;
    void close();

  private:
    static void on_connection(uv_stream_t* server, int status);
    event_loop_worker& worker_;
    listen_address address_;
    uv_tcp_t handle_{};
};

struct tcp_connection {
    event_loop_worker* worker = nullptr;
    std::uint64_t id = 0;
    uv_tcp_t tcp{};
    uv_timer_t idle{};
    int open_handles = 0;
    bool closing = false;
    bool reading = false;
    bool peer_done = false;        // the peer half-closed: answer what it sent, then close
    std::vector<std::uint8_t> in;  // bytes received and not yet answered
    std::size_t queued_writes = 0;
    std::uint64_t writes_done = 0;
    std::uint64_t writes_at_arm = 0;  // writes_done when the timer was last armed
    std::uint64_t frames_done = 0;
    std::uint64_t frames_at_arm = 0;  // frames_done when the read deadline was armed
    bool read_deadline = false;       // the timer runs for a message begun, not for idleness
    int transfers_running = 0;
    // The running transfer's first message is still to be sent: its RCODE is counted then
    // (server_stats::count_transfer_reply), on the loop's thread, before the client can
    // see it.
    bool transfer_reply_uncounted = false;
    // A transfer's answers went a whole idle period untaken once: the next time cuts it
    // (its first message may have been queued just before the timer fired, its write
    // callback not run yet).
    bool transfer_stall_warned = false;
    std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);
    sockaddr_storage peer{};
    bool refused = false;  // outside the allow-query ACL (decided once, at accept)
    // The loop's time (uv_now) when the connection last went idle: no message begun, no
    // answer queued, no transfer running (then it may be closed to admit a new one at the
    // connection cap, the longest idle first).
    std::uint64_t idle_since_ms = 0;
};

// Writes one DNS message with its 2-byte length prefix.
void tcp_connection_send(tcp_connection& c, std::span<const std::uint8_t> message);
void tcp_connection_close(tcp_connection& c);
// No message begun, no answer queued, no transfer running, open both ways.
bool tcp_connection_idle(const tcp_connection& c);

}  // namespace v6bl::server
