// A child process the test starts and always stops: output to a file, a ready line, SIGTERM.
#include "daemon_process.h"

#include "free_port.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace v6bl::monitoring::test {
namespace {

std::vector<char*> c_argv(std::vector<std::string>& argv) {
    std::vector<char*> out;
    for (auto& a : argv) out.push_back(a.data());
    out.push_back(nullptr);
    return out;
}

}  // namespace

daemon_process::daemon_process(std::vector<std::string> argv, std::string log_path)
    : log_path_(std::move(log_path)) {
    const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) throw std::runtime_error("cannot open " + log_path_);
    auto args = c_argv(argv);
    pid_ = ::fork();
    if (pid_ < 0) {
        ::close(log_fd);
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        const int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, 0);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(log_fd);
}

daemon_process::~daemon_process() {
    stop();
}

std::string daemon_process::log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool daemon_process::running() {
    if (pid_ <= 0) return false;
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
        pid_ = -1;
        return false;
    }
    return true;
}

bool daemon_process::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        // Whole lines only: "ready" must not match "Address already in use".
        if (("\n" + log()).find("\n" + needle + "\n") != std::string::npos) return true;
        if (!running()) return ("\n" + log()).find("\n" + needle + "\n") != std::string::npos;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

int daemon_process::stop(std::chrono::milliseconds grace) {
    if (!running()) return status_;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!running()) return status_;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    status_ = -SIGKILL;
    return status_;
}

std::uint16_t free_loopback_port() {
    return v6bl::test::free_port();
}

temp_dir::temp_dir(const std::string& prefix) {
    std::string templ = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

int run_command(const std::vector<std::string>& argv, std::string& out,
                const std::string& stdin_text) {
    // A child that exits before reading its input must not kill the test with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    int in_pipe[2];
    int out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) return -1;
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        ::close(in_pipe[0]);
        ::close(in_pipe[1]);
        return -1;
    }
    auto copy = argv;
    auto args = c_argv(copy);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(in_pipe[0], 0);
        ::dup2(out_pipe[1], 1);
        ::dup2(out_pipe[1], 2);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    // The writer thread lets the child's output drain while its input is still being fed.
    std::thread feeder([fd = in_pipe[1], &stdin_text] {
        std::size_t done = 0;
        while (done < stdin_text.size()) {
            const ssize_t n = ::write(fd, stdin_text.data() + done, stdin_text.size() - done);
            if (n <= 0) break;
            done += static_cast<std::size_t>(n);
        }
        ::close(fd);
    });
    out.clear();
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out_pipe[0]);
    feeder.join();
    int st = 0;
    if (pid < 0 || ::waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

}  // namespace v6bl::monitoring::test
