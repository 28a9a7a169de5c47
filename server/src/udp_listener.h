// The UDP listener: recvmmsg batches in through libuv, answers out in sendmmsg batches.
#pragma once

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

    // libuv's recvmmsg splits the receive buffer into 64 KiB slots, at most 20 per call.
    static constexpr std::size_t batch = 20;
    static constexpr std::size_t recv_slot = 64 * 1024;
    // Our answers never exceed the advertised EDNS size, so a smaller slot suffices out.
    static constexpr std::size_t send_slot = 4096;

  private:
    static void on_alloc(uv_handle_t* h, std::size_t suggested, uv_buf_t* buf);
    static void on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                        unsigned flags);
    void answer(const std::uint8_t* data, std::size_t size, const sockaddr* addr);
    void flush();
    void send_queued(std::size_t from);

    event_loop_worker& worker_;
    listen_address address_;
    uv_udp_t handle_{};
    int fd_ = -1;
    std::unique_ptr<std::uint8_t[]> recv_buf_;
    std::unique_ptr<std::uint8_t[]> send_buf_;
    std::array<mmsghdr, batch> msgs_{};
    std::array<iovec, batch> iov_{};
    std::array<sockaddr_storage, batch> peers_{};
    std::size_t pending_ = 0;
};

}  // namespace v6bl::server
