// Loopback test plumbing: free ports, child processes and a minimal UDP/TCP DNS client.
#include "loopback_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace v6bl::server::test {
namespace {

int connect_socket(const std::string& host, std::uint16_t port, int type, sockaddr_storage& ss,
                   socklen_t& len) {
    std::memset(&ss, 0, sizeof ss);
    int family = host.find(':') != std::string::npos ? AF_INET6 : AF_INET;
    if (family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        inet_pton(AF_INET, host.c_str(), &a->sin_addr);
        len = sizeof *a;
    } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        inet_pton(AF_INET6, host.c_str(), &a->sin6_addr);
        len = sizeof *a;
    }
    const int fd = ::socket(family, type, 0);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

bool read_exact(int fd, std::uint8_t* p, std::size_t n,
                std::chrono::steady_clock::time_point deadline) {
    std::size_t got = 0;
    while (got < n) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0) return false;
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) return false;
        const ssize_t r = ::recv(fd, p + got, n - got, 0);
        if (r <= 0) return false;
        got += static_cast<std::size_t>(r);
    }
    return true;
}

}  // namespace

std::string run_command(const std::string& cmd, int* status) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed: " + cmd);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int st = ::pclose(p);
    if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

std::string temp_dir(const std::string& tag) {
    std::string t = "/tmp/v6bl-test-" + tag + "-XXXXXX";
    if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
    return t;
}

child_process::child_process(const std::vector<std::string>& argv, const std::string& log_path)
    : log_path_(log_path) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
}

child_process::~child_process() {
    if (pid_ > 0 && status_ < 0) stop();
}

bool child_process::running() {
    if (status_ >= 0) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return false;
    }
    return true;
}

std::string child_process::log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

bool child_process::wait_for_log(const std::string& line, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (has_line(log(), line)) return true;
        if (!running()) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

bool child_process::wait_for_dns(std::uint16_t port, std::chrono::milliseconds limit) {
    // A root SOA query: any answer at all (REFUSED included) means the server is up.
    const std::vector<std::uint8_t> q = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1};
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (!running()) return false;
        if (!udp_exchange("127.0.0.1", port, q, std::chrono::milliseconds(100)).empty())
            return true;
    }
    return false;
}

void child_process::signal(int sig) {
    if (pid_ > 0 && status_ < 0) ::kill(pid_, sig);
}

int child_process::stop() {
    if (status_ >= 0) return status_;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 250; ++i) {
        if (!running()) return status_;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    status_ = 137;
    return status_;
}

std::vector<std::uint8_t> udp_exchange(const std::string& host, std::uint16_t port,
                                       const std::vector<std::uint8_t>& query,
                                       std::chrono::milliseconds timeout) {
    sockaddr_storage ss;
    socklen_t len;
    const int fd = connect_socket(host, port, SOCK_DGRAM, ss, len);
    if (fd < 0) return {};
    std::vector<std::uint8_t> out;
    if (::send(fd, query.data(), query.size(), 0) == static_cast<ssize_t>(query.size())) {
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(timeout.count())) > 0) {
            out.resize(65535);
            const ssize_t r = ::recv(fd, out.data(), out.size(), 0);
            out.resize(r > 0 ? static_cast<std::size_t>(r) : 0);
        }
    }
    ::close(fd);
    return out;
}

std::vector<std::vector<std::uint8_t>> tcp_pipeline(
    const std::string& host, std::uint16_t port,
    const std::vector<std::vector<std::uint8_t>>& queries, std::chrono::milliseconds timeout) {
    sockaddr_storage ss;
    socklen_t len;
    const int fd = connect_socket(host, port, SOCK_STREAM, ss, len);
    if (fd < 0) return {};
    std::vector<std::uint8_t> all;
    for (const auto& q : queries) {
        all.push_back(static_cast<std::uint8_t>(q.size() >> 8));
        all.push_back(static_cast<std::uint8_t>(q.size()));
        all.insert(all.end(), q.begin(), q.end());
    }
    std::vector<std::vector<std::uint8_t>> answers;
    if (::send(fd, all.data(), all.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(all.size())) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (std::size_t i = 0; i < queries.size(); ++i) {
            std::uint8_t lenb[2];
            if (!read_exact(fd, lenb, 2, deadline)) break;
            std::vector<std::uint8_t> msg((static_cast<std::size_t>(lenb[0]) << 8) | lenb[1]);
            if (!read_exact(fd, msg.data(), msg.size(), deadline)) break;
            answers.push_back(std::move(msg));
        }
    }
    ::close(fd);
    return answers;
}

std::vector<std::uint8_t> tcp_exchange(const std::string& host, std::uint16_t port,
                                       const std::vector<std::uint8_t>& query,
                                       std::chrono::milliseconds timeout) {
    auto a = tcp_pipeline(host, port, {query}, timeout);
    return a.empty() ? std::vector<std::uint8_t>{} : a.front();
}

}  // namespace v6bl::server::test
