// O_DIRECT reads ahead of the capture parser (direct_reader.h).
#include "direct_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace v6bl::ingest {
namespace {

// O_DIRECT wants the buffer, the offset and the length aligned to the device's logical
// block: 4 KiB covers 512-byte and 4 KiB devices. Another one fails the first read (EINVAL)
// and the caller reads through the page cache.
constexpr std::size_t alignment = 4096;

}  // namespace

std::unique_ptr<direct_reader> direct_reader::open(int fd, std::uint64_t from) {
    // The same file, not whatever its path names now: reopened through /proc.
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    const int dfd = ::open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (dfd < 0) return nullptr;
    struct stat a = {};
    struct stat b = {};
    if (::fstat(fd, &a) != 0 || ::fstat(dfd, &b) != 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino) {
        ::close(dfd);
        return nullptr;
    }
    std::unique_ptr<direct_reader> r;
    try {
        r.reset(new direct_reader(dfd, from));
    } catch (...) {  // memory, or no thread to be had: the caller reads as before
        return nullptr;
    }
    return r;
}

direct_reader::direct_reader(int fd, std::uint64_t from)
    : fd_(fd), start_(from & ~std::uint64_t{alignment - 1}), skip_(from - start_) {
    try {
        for (slot& s : slots_) {
            s.mem = static_cast<std::uint8_t*>(
                std::aligned_alloc(alignment, carry_bytes + chunk_bytes));
            if (!s.mem) throw std::bad_alloc();
        }
        thread_ = std::thread([this] { run(); });
    } catch (...) {
        for (slot& s : slots_) std::free(s.mem);
        ::close(fd_);
        throw;
    }
}

direct_reader::~direct_reader() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();  // after its read under way, if any (a few ms)
    for (slot& s : slots_) std::free(s.mem);
    ::close(fd_);
}

void direct_reader::run() {
    // Signals are the parser's thread's business (SIGTERM stops an ingest there).
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::uint64_t at = start_;
    for (int k = 0;; k = (k + 1) % depth) {
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [&] { return stop_ || !slots_[k].full; });
            if (stop_) return;
        }
        ssize_t n;
        do n = ::pread(fd_, slots_[k].mem + carry_bytes, chunk_bytes, static_cast<off_t>(at));
        while (n < 0 && errno == EINTR);
        const long result = n < 0 ? -static_cast<long>(errno) : static_cast<long>(n);
        {
            std::lock_guard lock(mutex_);
            slots_[k].result = result;
            slots_[k].full = true;
        }
        cv_.notify_all();
        if (result < static_cast<long>(chunk_bytes)) return;  // the end, or an error
        at += chunk_bytes;
    }
}

bool direct_reader::next(const std::uint8_t* keep, std::size_t carry, chunk_view& out) {
    if (ended_ || carry > carry_bytes) {  // the thread has stopped reading; no room
        errno = 0;
        return false;
    }
    slot& s = slots_[next_];
    {
        std::unique_lock lock(mutex_);
        if (!s.full) {
            const auto t0 = std::chrono::steady_clock::now();
            cv_.wait(lock, [&] { return s.full; });
            if (chunks_ > 0) waited_ += std::chrono::steady_clock::now() - t0;
        }
    }
    if (s.result < 0) {
        ended_ = true;
        errno = static_cast<int>(-s.result);
        return false;
    }
    if (chunks_ == 0) carry = 0;  // nothing came before the first
    // The carry room is the parser's alone (reads go behind it): filled before the chunk
    // that `keep` may point into is given back.
    std::memcpy(s.mem + carry_bytes - carry, keep, carry);
    if (current_ >= 0) {
        {
            std::lock_guard lock(mutex_);
            slots_[current_].full = false;
        }
        cv_.notify_all();
    }
    const auto n = static_cast<std::size_t>(s.result);
    const std::size_t skip = chunks_ == 0 ? std::min(skip_, n) : 0;
    out.data = s.mem + carry_bytes - carry + skip;
    out.size = carry + n - skip;
    ended_ = n < chunk_bytes;  // the end of the file when it was read
    if (chunks_ == 0) first_ = std::chrono::steady_clock::now();
    bytes_ += n - skip;
    ++chunks_;
    current_ = next_;
    next_ = (next_ + 1) % depth;
    return true;
}

bool direct_reader::falls_behind() const {
    if (chunks_ < 16) return false;
    return waited_ * 4 >= std::chrono::steady_clock::now() - first_;
}

}  // namespace v6bl::ingest
