// One event loop thread: its UDP and TCP sockets, its counters, its copy of the serving state.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "serving_state.h"
#include "v6bl/server/dns_server.h"
#include "v6bl/server/server_stats.h"

namespace v6bl::server {

class query_acl;
class response_rate_limiter;
class udp_listener;
class tcp_listener;
struct tcp_connection;

class event_loop_worker {
  public:
    // `acl` and `rrl` are shared by every loop and outlive it.
    event_loop_worker(const server_config& config, const serving_slot& slot,
                      const transfer_hook* transfer, std::size_t tcp_cap, const query_acl& acl,
                      response_rate_limiter& rrl);
    ~event_loop_worker();
    event_loop_worker(const event_loop_worker&) = delete;
    event_loop_worker& operator=(const event_loop_worker&) = delete;

    // Creates the sockets (throws std::runtime_error naming the address on failure).
    void listen(const std::vector<listen_address>& addresses);
    void start();  // runs the loop on its own thread
    void stop();   // any thread
    void join();

    // For the listeners, on the loop thread.
    uv_loop_t* loop() { return &loop_; }
    const server_config& config() const { return config_; }
    server_stats& stats() { return stats_; }
    // Refreshes the serving state when the slot moved: once per receive batch.
    void refresh_state() {
        if (slot_.generation() != generation_) reload_state();
        now_ = static_cast<std::uint32_t>(std::time(nullptr));
        now_ms_ =
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now().time_since_epoch())
                                           .count());
    }
    std::uint64_t now_ms() const { return now_ms_; }
    // A listener saw load: pause once before the loop polls again (udp_coalesce_us).
    void want_coalesce() { coalesce_ = true; }
    const query_acl& acl() const { return acl_; }
    response_rate_limiter& rrl() { return rrl_; }
    answer_context context(transport_kind t) const {
        return answer_context{state_->view.get(), state_->zone.get(), now_, t,
                              transfer_ != nullptr && *transfer_};
    }
    const transfer_hook* transfer() const { return transfer_; }
    std::size_t tcp_cap() const { return tcp_cap_; }
    std::vector<std::uint8_t>& tcp_scratch() { return tcp_scratch_; }
    std::vector<std::uint8_t>& tcp_answer_buffer() { return tcp_answer_; }

    // TCP connections by id, so transfer messages find their connection (or learn it is gone).
    std::uint64_t add_connection(tcp_connection* c);
    void remove_connection(std::uint64_t id);
    tcp_connection* find_connection(std::uint64_t id);
    // The idle connection (tcp_connection_idle) idle the longest, other than `except`, one
    // from outside --allow-query first; nullptr when none is. A scan (one pass over the
    // loop's connections): only asked at the connection cap.
    tcp_connection* oldest_idle_connection(std::uint64_t except);
    std::size_t connections() const { return connections_.size(); }
    // Any thread: queues a framed transfer message for a connection and wakes the loop.
    void post_transfer_message(std::uint64_t connection, std::vector<std::uint8_t> message);
    // On the loop thread: sends the transfer messages posted so far.
    void drain_outbox();

  private:
    void reload_state();
    static void on_async(uv_async_t* h);
    static void on_check(uv_check_t* h);
    void shut_down();

    const server_config& config_;
    const serving_slot& slot_;
    const transfer_hook* transfer_;
    std::size_t tcp_cap_;
    const query_acl& acl_;
    response_rate_limiter& rrl_;
    uv_loop_t loop_{};
    uv_async_t async_{};
    uv_check_t check_{};  // runs after each poll's callbacks: the coalescing pause
    bool coalesce_ = false;
    std::thread thread_;
    std::atomic<bool> stop_requested_{false};
    bool shut_down_ = false;
    server_stats stats_;
    std::uint64_t generation_ = ~0ull;
    std::shared_ptr<const serving_state> state_;
    std::uint32_t now_ = 0;
    std::uint64_t now_ms_ = 0;
    std::vector<std::unique_ptr<udp_listener>> udp_;
    std::vector<std::unique_ptr<tcp_listener>> tcp_;
    std::vector<std::uint8_t> tcp_scratch_;
    std::vector<std::uint8_t> tcp_answer_;
    std::unordered_map<std::uint64_t, tcp_connection*> connections_;
    std::uint64_t next_connection_ = 1;
    std::mutex outbox_mutex_;
    std::vector<std::pair<std::uint64_t, std::vector<std::uint8_t>>> outbox_;
};

// Creates a socket bound to `a` with SO_REUSEPORT (libuv 1.44 has no UV_UDP_REUSEPORT), so
// every loop has its own socket and the kernel spreads packets and connections across them.
int bind_reuseport_socket(const listen_address& a, int type);
// Throws std::runtime_error when another socket (another process, an old instance) holds
// the address: SO_REUSEPORT lets any process of this user bind it beside us and take part
// of the queries. Binds a UDP and a TCP socket without it, and closes them.
void check_address_free(const listen_address& a);

}  // namespace v6bl::server
