// The UDP listener: libuv polls the socket; datagrams come in by recvmmsg and answers go out
// by sendmmsg, in batches, one receive call per wake-up.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "v6bl/server/server_config.h"

namespace v6bl::server {

class event_loop_worker;

class udp_listener {
  public:
    udp_listener(event_loop_worker& worker, const listen_address& address);
    udp_listener(const udp_listener&) = delete;
    udp_listener& operator=(const udp_listener&) = delete;
    void close();

    // Datagrams per recvmmsg/sendmmsg call. Under load, batches smaller than
    // coalesce_below make the loop pause before its next read (server_config's
    // udp_coalesce_us); against dnsperf at 140k queries/s batches settle around 50.
    static constexpr std::size_t batch = 128;
    static constexpr std::size_t coalesce_below = 64;
    // A query is a question and an OPT: far below 4 KiB; a longer datagram is cut
    // (MSG_TRUNC) and answered FORMERR from its header. Answers never exceed our EDNS size.
    static constexpr std::size_t recv_slot = 4096;
    static constexpr std::size_t send_slot = 4096;

  private:
    static void on_readable(uv_poll_t* h, int status, int events);
    void receive_batch();
    void answer(const std::uint8_t* data, std::size_t size, const sockaddr* addr,
                const msghdr& received);
    void set_source(msghdr& reply, const msghdr& received);
    void flush();
    void send_queued(std::size_t from);

    event_loop_worker& worker_;
    listen_address address_;
    uv_poll_t poll_{};
    uv_udp_t handle_{};  // the same socket, for libuv's queued sends when the socket is full
    int fd_ = -1;
    std::array<mmsghdr, batch> in_msgs_{};
    std::array<iovec, batch> in_iov_{};
    std::array<sockaddr_storage, batch> in_peers_{};
    std::unique_ptr<std::uint8_t[]> recv_buf_;
    std::unique_ptr<std::uint8_t[]> send_buf_;
    std::array<mmsghdr, batch> msgs_{};
    std::array<iovec, batch> iov_{};
    std::array<sockaddr_storage, batch> peers_{};
    std::size_t pending_ = 0;
    // Bound to 0.0.0.0 or [::]: the kernel would send each answer from the address it
    // routes from, not the one the query came to, and a resolver drops an answer from an
    // address it did not ask. The query's destination comes in with it (IP_PKTINFO,
    // IPV6_RECVPKTINFO) and goes out as the answer's source.
    bool any_address_ = false;
    struct alignas(cmsghdr) control_buffer {
        std::uint8_t bytes[CMSG_SPACE(sizeof(in6_pktinfo))];
    };
    std::array<control_buffer, batch> in_control_{};
    std::array<control_buffer, batch> out_control_{};
};

}  // namespace v6bl::server
