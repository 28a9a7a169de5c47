// The UDP listener: recvmmsg batches in through libuv, answers out in sendmmsg batches.
#include "udp_listener.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "event_loop_worker.h"

namespace v6bl::server {
namespace {

// A copy of an answer that could not go out at once (socket buffer full): libuv sends it
// when the socket is writable. Only this fallback allocates.
struct queued_send {
    uv_udp_send_t req{};
    std::vector<std::uint8_t> data;
    sockaddr_storage peer{};
    server_stats* stats = nullptr;
};

void on_queued_sent(uv_udp_send_t* req, int status) {
    auto* q = static_cast<queued_send*>(req->data);
    if (status != 0 && q->stats) q->stats->add(&server_counters::send_errors);
    delete q;
}

}  // namespace

udp_listener::udp_listener(event_loop_worker& worker, const listen_address& address)
    : worker_(worker), address_(address) {
    fd_ = bind_reuseport_socket(address, SOCK_DGRAM);
    const int big = 4 << 20;  // room for bursts between loop iterations
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    if (uv_udp_init_ex(worker_.loop(), &handle_, AF_UNSPEC | UV_UDP_RECVMMSG) != 0 ||
        uv_udp_open(&handle_, fd_) != 0) {
        ::close(fd_);
        throw std::runtime_error("libuv cannot open the UDP socket of " + address.text);
    }
    handle_.data = this;
    recv_buf_ = std::make_unique<std::uint8_t[]>(batch * recv_slot);
    send_buf_ = std::make_unique<std::uint8_t[]>(batch * send_slot);
    for (std::size_t i = 0; i < batch; ++i) {
        iov_[i].iov_base = send_buf_.get() + i * send_slot;
        msgs_[i].msg_hdr.msg_iov = &iov_[i];
        msgs_[i].msg_hdr.msg_iovlen = 1;
        msgs_[i].msg_hdr.msg_name = &peers_[i];
    }
    if (uv_udp_recv_start(&handle_, &udp_listener::on_alloc, &udp_listener::on_recv) != 0)
        throw std::runtime_error("cannot receive on " + address.text);
}

void udp_listener::close() {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&handle_))) return;
    uv_udp_recv_stop(&handle_);
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_), nullptr);
}

void udp_listener::on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
    auto* self = static_cast<udp_listener*>(h->data);
    try {
        // Once per receive batch: pick up a new view if one was published.
        self->worker_.refresh_state();
    } catch (const std::exception& e) {
        spdlog::error("udp alloc: {}", e.what());
    }
    buf->base = reinterpret_cast<char*>(self->recv_buf_.get());
    buf->len = batch * recv_slot;
}

void udp_listener::on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                           unsigned flags) {
    auto* self = static_cast<udp_listener*>(h->data);
    try {
        if (nread > 0 && addr != nullptr) {
            self->answer(reinterpret_cast<const std::uint8_t*>(buf->base),
                         static_cast<std::size_t>(nread), addr);
            if (self->pending_ == batch) self->flush();
        }
        // The end of a batch (or a single datagram without recvmmsg): send what we have.
        if (!(flags & UV_UDP_MMSG_CHUNK)) self->flush();
    } catch (const std::exception& e) {
        spdlog::error("udp receive on {}: {}", self->address_.text, e.what());
    }
}

void udp_listener::answer(const std::uint8_t* data, std::size_t size, const sockaddr* addr) {
    const auto t0 = std::chrono::steady_clock::now();
    std::uint8_t* out = send_buf_.get() + pending_ * send_slot;
    const answer_result r =
        answer_query({data, size}, {out, send_slot}, worker_.context(transport_kind::udp));
    const auto t1 = std::chrono::steady_clock::now();
    worker_.stats().count_query(
        transport_kind::udp, r,
        static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
    if (r.size == 0) return;
    const socklen_t alen = addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    std::memcpy(&peers_[pending_], addr, alen);
    msgs_[pending_].msg_hdr.msg_namelen = alen;
    iov_[pending_].iov_len = r.size;
    ++pending_;
}

void udp_listener::flush() {
    std::size_t sent = 0;
    while (sent < pending_) {
        const int n = ::sendmmsg(fd_, msgs_.data() + sent, static_cast<unsigned>(pending_ - sent),
                                 MSG_DONTWAIT);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            send_queued(sent);
        } else {
            // A peer's unreachable port, an unroutable address: drop this one, keep the rest.
            worker_.stats().add(&server_counters::send_errors);
            ++sent;
            continue;
        }
        break;
    }
    pending_ = 0;
}

void udp_listener::send_queued(std::size_t from) {
    for (std::size_t i = from; i < pending_; ++i) {
        auto* q = new queued_send;
        q->req.data = q;
        q->stats = &worker_.stats();
        const auto* base = static_cast<const std::uint8_t*>(iov_[i].iov_base);
        q->data.assign(base, base + iov_[i].iov_len);
        q->peer = peers_[i];
        uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(q->data.data()),
                                 static_cast<unsigned>(q->data.size()));
        if (uv_udp_send(&q->req, &handle_, &b, 1, reinterpret_cast<const sockaddr*>(&q->peer),
                        &on_queued_sent) != 0) {
            worker_.stats().add(&server_counters::send_errors);
            delete q;
            continue;
        }
        worker_.stats().add(&server_counters::send_queued);
    }
}

}  // namespace v6bl::server
