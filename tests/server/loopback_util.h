// Loopback test plumbing: free ports, child processes (v6bl serve, nsd, unbound) and a
// minimal UDP/TCP DNS client over raw sockets (bytes in, bytes out; ldns reads them).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "free_port.h"

namespace v6bl::server::test {

// A port free on 127.0.0.1 and ::1 for both UDP and TCP, below the ephemeral range.
using v6bl::test::free_port;

// Whether `text` has a line that is exactly `line`.
bool has_line(const std::string& text, const std::string& line);

// Runs a shell command, returns its stdout; `status` gets the exit status.
std::string run_command(const std::string& cmd, int* status = nullptr);

class child_process {
  public:
    // Starts argv[0] with stdout and stderr to `log_path`.
    child_process(const std::vector<std::string>& argv, const std::string& log_path);
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    // Waits until the log has a line that is exactly `line` ("ready" must not match the
    // "Address already in use" of a failed start), or the process died, or the time ran out.
    bool wait_for_log(const std::string& line, std::chrono::milliseconds limit);
    // Waits until a DNS query to 127.0.0.1:port over UDP gets any answer.
    bool wait_for_dns(std::uint16_t port, std::chrono::milliseconds limit);
    bool running();
    void signal(int sig);
    int stop();  // SIGTERM, then SIGKILL after 5 s; returns the exit status
    std::string log() const;
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
    std::string log_path_;
    int status_ = -1;
};

// One query over UDP or TCP to host ("127.0.0.1" or "::1"); empty on timeout.
std::vector<std::uint8_t> udp_exchange(
    const std::string& host, std::uint16_t port, const std::vector<std::uint8_t>& query,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
std::vector<std::uint8_t> tcp_exchange(
    const std::string& host, std::uint16_t port, const std::vector<std::uint8_t>& query,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
// Several queries written at once on one TCP connection (pipelining); answers in arrival order.
std::vector<std::vector<std::uint8_t>> tcp_pipeline(
    const std::string& host, std::uint16_t port,
    const std::vector<std::vector<std::uint8_t>>& queries,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

std::string temp_dir(const std::string& tag);

}  // namespace v6bl::server::test
