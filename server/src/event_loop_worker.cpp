// One event loop thread: its UDP and TCP sockets, its counters, its copy of the serving state.
#include "event_loop_worker.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "tcp_listener.h"
#include "udp_listener.h"

namespace v6bl::server {

int bind_reuseport_socket(const listen_address& a, int type) {
    const int fd = ::socket(a.addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket() for " + a.text + ": " + std::strerror(errno));
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        const int e = errno;
        ::close(fd);
        throw std::runtime_error("SO_REUSEPORT on " + a.text + ": " + std::strerror(e));
    }
    if (a.addr.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.addr_len) != 0) {
        const int e = errno;
        ::close(fd);
        throw std::runtime_error("cannot bind " + a.text + ": " + std::strerror(e));
    }
    return fd;
}

void check_address_free(const listen_address& a) {
    for (const int type : {SOCK_DGRAM, SOCK_STREAM}) {
        const int fd = ::socket(a.addr.ss_family, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
            throw std::runtime_error("socket() for " + a.text + ": " + std::strerror(errno));
        const int one = 1;
        // TCP: SO_REUSEADDR, so that an old instance's connections in TIME_WAIT are no
        // conflict (a listening socket still is). UDP: neither option, so any holder is one.
        if (type == SOCK_STREAM) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (a.addr.ss_family == AF_INET6)
            ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.addr_len);
        const int e = errno;
        ::close(fd);
        if (rc != 0)
            throw std::runtime_error("cannot bind " + a.text + " (" +
                                     (type == SOCK_DGRAM ? "udp" : "tcp") +
                                     "): " + std::strerror(e) +
                                     (e == EADDRINUSE ? " (is another server running?)" : ""));
    }
}

event_loop_worker::event_loop_worker(const server_config& config, const serving_slot& slot,
                                     const transfer_hook* transfer, std::size_t tcp_cap,
                                     const query_acl& acl, response_rate_limiter& rrl)
    : config_(config), slot_(slot), transfer_(transfer), tcp_cap_(tcp_cap), acl_(acl), rrl_(rrl) {
    if (uv_loop_init(&loop_) != 0) throw std::runtime_error("uv_loop_init failed");
    uv_async_init(&loop_, &async_, &event_loop_worker::on_async);
    async_.data = this;
    uv_check_init(&loop_, &check_);
    check_.data = this;
    if (config_.udp_coalesce_us > 0) uv_check_start(&check_, &event_loop_worker::on_check);
    tcp_scratch_.resize(65536);
    tcp_answer_.resize(dns::max_message_size);
    refresh_state();
}

event_loop_worker::~event_loop_worker() {
    if (!shut_down_) stop();  // after a shutdown the async handle is already closed
    join();
    // Run the loop until every handle's close callback has fired, then release it.
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
}

void event_loop_worker::listen(const std::vector<listen_address>& addresses) {
    for (const auto& a : addresses) {
        udp_.push_back(std::make_unique<udp_listener>(*this, a));
        tcp_.push_back(std::make_unique<tcp_listener>(*this, a));
    }
}

void event_loop_worker::start() {
    thread_ = std::thread([this] {
        try {
            uv_run(&loop_, UV_RUN_DEFAULT);
        } catch (const std::exception& e) {
            spdlog::error("event loop stopped: {}", e.what());
        }
    });
}

void event_loop_worker::stop() {
    stop_requested_.store(true);
    uv_async_send(&async_);
}

void event_loop_worker::join() {
    if (thread_.joinable()) thread_.join();
}

void event_loop_worker::reload_state() {
    generation_ = slot_.generation();
    auto s = slot_.load();
    if (s) state_ = std::move(s);
    if (!state_) throw std::logic_error("no serving state published before the loops start");
}

std::uint64_t event_loop_worker::add_connection(tcp_connection* c) {
    const std::uint64_t id = next_connection_++;
    connections_.emplace(id, c);
    return id;
}

void event_loop_worker::remove_connection(std::uint64_t id) {
    connections_.erase(id);
}

tcp_connection* event_loop_worker::oldest_idle_connection(std::uint64_t except) {
    tcp_connection* oldest = nullptr;
    for (const auto& [id, c] : connections_)
        if (id != except && tcp_connection_idle(*c) &&
            (!oldest || c->refused > oldest->refused ||
             (c->refused == oldest->refused &&
              (c->idle_since_ms < oldest->idle_since_ms ||
               (c->idle_since_ms == oldest->idle_since_ms && c->id < oldest->id)))))
            oldest = c;
    return oldest;
}

tcp_connection* event_loop_worker::find_connection(std::uint64_t id) {
    const auto it = connections_.find(id);
    return it == connections_.end() ? nullptr : it->second;
}

void event_loop_worker::post_transfer_message(std::uint64_t connection,
                                              std::vector<std::uint8_t> message) {
    {
        std::lock_guard<std::mutex> lock(outbox_mutex_);
        outbox_.emplace_back(connection, std::move(message));
    }
    uv_async_send(&async_);
}

void event_loop_worker::on_async(uv_async_t* h) {
    auto* self = static_cast<event_loop_worker*>(h->data);
    try {
        self->drain_outbox();
        if (self->stop_requested_.load()) self->shut_down();
    } catch (const std::exception& e) {
        spdlog::error("event loop wake-up: {}", e.what());
    }
}

// Once per loop iteration, after every ready handle's callback: one pause for all of this
// loop's sockets. Sleeping (not spinning) leaves the core to others; the timer that ends it
// is the thread's own, so no other CPU has to wake it.
void event_loop_worker::on_check(uv_check_t* h) {
    auto* self = static_cast<event_loop_worker*>(h->data);
    if (!self->coalesce_) return;
    self->coalesce_ = false;
    const std::uint32_t us = std::min<std::uint32_t>(self->config_.udp_coalesce_us, 100000);
    timespec pause{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
    ::nanosleep(&pause, nullptr);
}

void event_loop_worker::drain_outbox() {
    std::vector<std::pair<std::uint64_t, std::vector<std::uint8_t>>> batch;
    {
        std::lock_guard<std::mutex> lock(outbox_mutex_);
        batch.swap(outbox_);
    }
    for (auto& [id, msg] : batch) {
        tcp_connection* c = find_connection(id);
        if (!c) continue;
        if (c->transfer_reply_uncounted) {
            c->transfer_reply_uncounted = false;
            stats().count_transfer_reply(msg.size() >= 4 ? msg[3] & 0x0f : -1);
        }
        tcp_connection_send(*c, msg);
    }
}

void event_loop_worker::shut_down() {
    if (shut_down_) return;
    shut_down_ = true;
    for (auto& u : udp_) u->close();
    for (auto& t : tcp_) t->close();
    std::vector<tcp_connection*> open;
    for (auto& [id, c] : connections_) open.push_back(c);
    for (auto* c : open) tcp_connection_close(*c);
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&check_), nullptr);
}

}  // namespace v6bl::server
