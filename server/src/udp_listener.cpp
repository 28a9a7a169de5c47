// The UDP listener: libuv polls the socket; datagrams come in by recvmmsg and answers go out
// by sendmmsg, in batches, one receive call per wake-up.
#include "udp_listener.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "event_loop_worker.h"
#include "query_acl.h"
#include "response_rate_limiter.h"

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
    // Answers are never fragmented (RFC 9715: responders should set DF): DF on IPv4, no
    // local fragmentation, and ICMP "fragmentation needed" (spoofable) cannot lower the size
    // we send. An answer is at most the EDNS payload we offer (1232 by default), which fits
    // a 1500-byte link with IPv6 and UDP headers; an operator who offers more than 1452 keeps
    // the kernel's default (fragments allowed). (On IPv4 DF also spares the kernel a hashed
    // IP ID per datagram, ~2 % of serve's CPU.) Decided at start, as the sockets are.
    if (worker_.config().zone.edns_udp_size > 1452) {
        // fragments allowed
    } else if (address.addr.ss_family == AF_INET) {
        const int probe = IP_PMTUDISC_PROBE;
        ::setsockopt(fd_, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe);
    } else {
        const int probe = IPV6_PMTUDISC_PROBE;
        ::setsockopt(fd_, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe, sizeof probe);
    }
    const int one = 1;
    if (address.addr.ss_family == AF_INET) {
        any_address_ =
            reinterpret_cast<const sockaddr_in*>(&address.addr)->sin_addr.s_addr == INADDR_ANY;
        if (any_address_) ::setsockopt(fd_, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    } else {
        any_address_ = IN6_IS_ADDR_UNSPECIFIED(
            &reinterpret_cast<const sockaddr_in6*>(&address.addr)->sin6_addr);
        if (any_address_) ::setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    }
    // libuv's own UDP receive (UV_UDP_RECVMMSG) calls recvmmsg until EAGAIN: one wasted
    // system call per wake-up, which at DNSBL packet rates costs as much as the answer.
    // Polling the fd and reading one batch per wake-up keeps it to epoll + recvmmsg +
    // sendmmsg; level-triggered polling brings us back while packets remain.
    if (uv_udp_init(worker_.loop(), &handle_) != 0 || uv_udp_open(&handle_, fd_) != 0 ||
        uv_poll_init(worker_.loop(), &poll_, fd_) != 0) {
        ::close(fd_);
        throw std::runtime_error("libuv cannot open the UDP socket of " + address.text);
    }
    handle_.data = this;
    poll_.data = this;
    recv_buf_ = std::make_unique<std::uint8_t[]>(batch * recv_slot);
    send_buf_ = std::make_unique<std::uint8_t[]>(batch * send_slot);
    for (std::size_t i = 0; i < batch; ++i) {
        iov_[i].iov_base = send_buf_.get() + i * send_slot;
        msgs_[i].msg_hdr.msg_iov = &iov_[i];
        msgs_[i].msg_hdr.msg_iovlen = 1;
        msgs_[i].msg_hdr.msg_name = &peers_[i];
        in_iov_[i].iov_base = recv_buf_.get() + i * recv_slot;
        in_iov_[i].iov_len = recv_slot;
        in_msgs_[i].msg_hdr.msg_iov = &in_iov_[i];
        in_msgs_[i].msg_hdr.msg_iovlen = 1;
        in_msgs_[i].msg_hdr.msg_name = &in_peers_[i];
    }
    if (uv_poll_start(&poll_, UV_READABLE, &udp_listener::on_readable) != 0)
        throw std::runtime_error("cannot receive on " + address.text);
}

void udp_listener::close() {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&poll_))) return;
    uv_poll_stop(&poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_), nullptr);
}

void udp_listener::on_readable(uv_poll_t* h, int status, int) {
    auto* self = static_cast<udp_listener*>(h->data);
    try {
        if (status < 0) return;
        self->receive_batch();
    } catch (const std::exception& e) {
        spdlog::error("udp receive on {}: {}", self->address_.text, e.what());
    }
}

void udp_listener::receive_batch() {
    for (std::size_t i = 0; i < batch; ++i) {
        in_msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        if (any_address_) {
            in_msgs_[i].msg_hdr.msg_control = in_control_[i].bytes;
            in_msgs_[i].msg_hdr.msg_controllen = sizeof(in_control_[i].bytes);
        }
    }
    const int n = ::recvmmsg(fd_, in_msgs_.data(), batch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    worker_.stats().add(&server_counters::udp_batches);
    // Once per batch: pick up a new view if one was published, and the clock.
    worker_.refresh_state();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        const auto& m = in_msgs_[static_cast<std::size_t>(i)];
        std::size_t len = m.msg_len;
        // A datagram longer than the slot was cut by the kernel: answer from its header
        // alone (FORMERR), never from a prefix that happens to parse.
        if (m.msg_hdr.msg_flags & MSG_TRUNC) len = std::min<std::size_t>(len, 12);
        answer(static_cast<const std::uint8_t*>(in_iov_[static_cast<std::size_t>(i)].iov_base), len,
               reinterpret_cast<const sockaddr*>(&in_peers_[static_cast<std::size_t>(i)]),
               m.msg_hdr);
    }
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    worker_.stats().count_latency(static_cast<std::uint64_t>(ns) / static_cast<std::uint64_t>(n),
                                  static_cast<std::uint64_t>(n));
    flush();
    // Under load (more than one datagram was waiting) but with a small batch, let the next
    // ones gather before the next read (event_loop_worker::on_check). From coalesce_below
    // on, a batch's system calls are already shared by enough queries, and a server near
    // saturation (whose batches grow by themselves) must not pause.
    if (n >= 2 && static_cast<std::size_t>(n) < coalesce_below) worker_.want_coalesce();
}

void udp_listener::set_source(msghdr& reply, const msghdr& received) {
    reply.msg_control = nullptr;
    reply.msg_controllen = 0;
    for (cmsghdr* in = CMSG_FIRSTHDR(&received); in;
         in = CMSG_NXTHDR(const_cast<msghdr*>(&received), in)) {
        const bool v4 = in->cmsg_level == IPPROTO_IP && in->cmsg_type == IP_PKTINFO;
        const bool v6 = in->cmsg_level == IPPROTO_IPV6 && in->cmsg_type == IPV6_PKTINFO;
        if (!v4 && !v6) continue;
        auto& buffer = out_control_[pending_];
        reply.msg_control = buffer.bytes;
        reply.msg_controllen =
            v4 ? CMSG_SPACE(sizeof(in_pktinfo)) : CMSG_SPACE(sizeof(in6_pktinfo));
        cmsghdr* out = CMSG_FIRSTHDR(&reply);
        out->cmsg_level = in->cmsg_level;
        out->cmsg_type = in->cmsg_type;
        if (v4) {
            in_pktinfo got{};
            std::memcpy(&got, CMSG_DATA(in), sizeof got);
            in_pktinfo send{};
            send.ipi_spec_dst = got.ipi_addr;  // the query's destination, as our source
            out->cmsg_len = CMSG_LEN(sizeof send);
            std::memcpy(CMSG_DATA(out), &send, sizeof send);
        } else {
            in6_pktinfo got{};
            std::memcpy(&got, CMSG_DATA(in), sizeof got);
            out->cmsg_len = CMSG_LEN(sizeof got);  // its address and interface, as they came
            std::memcpy(CMSG_DATA(out), &got, sizeof got);
        }
        return;
    }
}

void udp_listener::answer(const std::uint8_t* data, std::size_t size, const sockaddr* addr,
                          const msghdr& received) {
    std::uint8_t* out = send_buf_.get() + pending_ * send_slot;
    answer_context ctx = worker_.context(transport_kind::udp);
    ctx.source_refused = !worker_.acl().allows(addr);
    const answer_result r = answer_query({data, size}, {out, send_slot}, ctx);
    const rrl_verdict verdict =
        r.size == 0 ? rrl_verdict::send : worker_.rrl().account(addr, worker_.now_ms());
    worker_.stats().count_query(transport_kind::udp, r, verdict != rrl_verdict::drop);
    if (ctx.source_refused && r.outcome == answer_outcome::refused)
        worker_.stats().add(&server_counters::acl_refused);
    if (r.size == 0) return;
    std::size_t send_size = r.size;
    switch (verdict) {
        case rrl_verdict::send:
            break;
        case rrl_verdict::drop:
            worker_.stats().add(&server_counters::rrl_dropped);
            return;
        case rrl_verdict::slip:
            worker_.stats().add(&server_counters::rrl_slipped);
            send_size = answer_truncate({out, r.size});
            if (send_size == 0) return;
            // Sent with TC=1 as well (one truncated already was counted with the query).
            if (!r.truncated) worker_.stats().add(&server_counters::truncated);
            break;
    }
    const socklen_t alen = addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    std::memcpy(&peers_[pending_], addr, alen);
    msgs_[pending_].msg_hdr.msg_namelen = alen;
    if (any_address_) set_source(msgs_[pending_].msg_hdr, received);
    iov_[pending_].iov_len = send_size;
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
        // libuv's send carries no source address: from 0.0.0.0 or [::] it would go out from
        // the wrong one, which the client drops anyway. Dropped here, counted.
        if (any_address_) {
            worker_.stats().add(&server_counters::send_errors);
            continue;
        }
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
