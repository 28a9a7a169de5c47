// A child process the test starts and always stops: output to a file, a ready line, SIGTERM.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace v6bl::monitoring::test {

class daemon_process {
  public:
    // Starts argv[0] with stdout and stderr appended to `log_path`. Throws on fork/exec errors
    // that it can see (an exec failure shows as exit status 127).
    daemon_process(std::vector<std::string> argv, std::string log_path);
    ~daemon_process();  // stop()
    daemon_process(const daemon_process&) = delete;
    daemon_process& operator=(const daemon_process&) = delete;

    // Waits until the log has a line that is exactly `needle`; false on timeout or exit.
    bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout);
    bool running();
    // SIGTERM, then SIGKILL after `grace`. Returns the exit status (or -signal).
    int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
    pid_t pid() const { return pid_; }
    std::string log() const;

  private:
    pid_t pid_ = -1;
    std::string log_path_;
    int status_ = 0;
};

// A loopback port free over UDP and TCP, below the ephemeral range (tests/support).
std::uint16_t free_loopback_port();

// A fresh directory under the system temp dir, removed by the destructor.
class temp_dir {
  public:
    explicit temp_dir(const std::string& prefix);
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// Runs a command to completion; returns its exit status, its output (stdout+stderr) in `out`.
int run_command(const std::vector<std::string>& argv, std::string& out,
                const std::string& stdin_text = "");

}  // namespace v6bl::monitoring::test
