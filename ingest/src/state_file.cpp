// Checkpoint files beside the store (see state_file.h).
#include "state_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace v6bl::ingest {
namespace {

constexpr std::string_view ref_prefix = "state-file v1 ";

// Exactly a number in `base`, digits only (no sign, prefix or space), that fits 64 bits.
bool parse_number(std::string_view v, int base, std::uint64_t& out) {
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out, base);
    return !v.empty() && ec == std::errc() && end == v.data() + v.size() &&
           std::isalnum(static_cast<unsigned char>(v[0]));
}

// The generation of NAME when it is BASE.<digits>, else 0.
std::uint64_t generation_of(std::string_view name, std::string_view base) {
    std::uint64_t g = 0;
    if (name.size() <= base.size() + 1 || name.substr(0, base.size()) != base ||
        name[base.size()] != '.' || !parse_number(name.substr(base.size() + 1), 10, g))
        return 0;
    return g;
}

bool sync_directory(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

// Runs `work` on `thread` (joined by its owner), or here when no thread can be had.
template <typename Work>
void run_aside(std::thread& thread, Work work) {
    try {
        thread = std::thread(work);
    } catch (...) {
        work();
    }
}

std::string parent_of(const std::string& dir) {
    const auto slash = dir.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : dir.substr(0, slash);
}

}  // namespace

std::string format_state_ref(const state_file_ref& r) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " size=%" PRIu64 " sum=%016" PRIx64, r.size, r.sum);
    return std::string(ref_prefix) + "name=" + r.name + buf;
}

std::optional<state_file_ref> parse_state_ref(std::string_view value) {
    // Exactly what format_state_ref writes: anything else is not a reference.
    auto field = [&](std::string_view name) -> std::optional<std::string_view> {
        if (value.substr(0, name.size()) != name) return std::nullopt;
        value.remove_prefix(name.size());
        const auto space = value.find(' ');
        const std::string_view v = value.substr(0, space);
        value.remove_prefix(space == std::string_view::npos ? value.size() : space + 1);
        if (v.empty()) return std::nullopt;
        return v;
    };
    if (value.substr(0, ref_prefix.size()) != ref_prefix) return std::nullopt;
    value.remove_prefix(ref_prefix.size());
    const auto name = field("name=");
    const auto size = field("size=");
    const auto sum = field("sum=");
    if (!name || !size || !sum || !value.empty() || sum->size() != 16) return std::nullopt;
    state_file_ref r;
    r.name = std::string(*name);
    // A name is BASE.N in the state directory, never a path.
    const auto dot = r.name.rfind('.');
    std::uint64_t generation = 0;
    if (r.name.find('/') != std::string::npos || r.name[0] == '.' || dot == std::string::npos ||
        !parse_number(std::string_view(r.name).substr(dot + 1), 10, generation) ||
        !parse_number(*size, 10, r.size) || !parse_number(*sum, 16, r.sum))
        return std::nullopt;
    return r;
}

void state_sum::update(std::string_view bytes) {
    length_ += bytes.size();
    const char* p = bytes.data();
    std::size_t n = bytes.size();
    while (carry_n_ != 0 && n != 0) {
        carry_ |= std::uint64_t{static_cast<unsigned char>(*p++)} << (8 * carry_n_++);
        --n;
        if (carry_n_ == 8) {
            mix(carry_);
            carry_ = 0;
            carry_n_ = 0;
        }
    }
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        mix(w);
    }
    for (; n != 0; --n)
        carry_ |= std::uint64_t{static_cast<unsigned char>(*p++)} << (8 * carry_n_++);
}

std::uint64_t state_sum::value() const {
    std::uint64_t h = h_;
    // The unfinished word and the length, so that trailing zero bytes still count.
    h = (h ^ carry_) * 0x9E3779B97F4A7C15ull;
    h = (h ^ length_) * 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
}

state_file_set::state_file_set(std::string dir, std::string base)
    : dir_(std::move(dir)), base_(std::move(base)) {}

state_file_set::~state_file_set() {
    if (syncing_.joinable()) syncing_.join();
    wait_removed();
    if (fd_ >= 0) {
        ::close(fd_);
        remove_file(writing_.name);  // never finished: no commit can name it
    }
}

void state_file_set::fail(const std::string& what) const {
    throw std::runtime_error("cannot write " + path_of(writing_.name) + ": " + what + ": " +
                             std::strerror(errno));
}

void state_file_set::remove_file(const std::string& name) const {
    ::unlink(path_of(name).c_str());
}

void state_file_set::adopt(const std::optional<state_file_ref>& committed) {
    adopted_ = true;
    committed_ = committed;
    pending_.reset();
    generation_ = committed ? generation_of(committed->name, base_) : 0;
    DIR* d = ::opendir(dir_.c_str());
    if (!d) return;  // no state files yet
    while (const dirent* e = ::readdir(d)) {
        const std::string_view name = e->d_name;
        const std::uint64_t g = generation_of(name, base_);
        if (g == 0 || (committed && name == committed->name)) continue;
        if (g > generation_) generation_ = g;
        remove_file(std::string(name));
    }
    ::closedir(d);
}

void state_file_set::begin() {
    // Without the committed reference the next name could be the committed file's.
    if (!adopted_) throw std::logic_error("state_file_set::begin before adopt: " + base_);
    wait_durable();
    if (fd_ >= 0) {
        ::close(fd_);
        remove_file(writing_.name);
        fd_ = -1;
    }
    struct stat st {};
    if (::stat(dir_.c_str(), &st) != 0) {
        if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST)
            throw std::runtime_error("cannot create " + dir_ + ": " + std::strerror(errno));
        sync_directory(parent_of(dir_));
    }
    writing_ = state_file_ref{};
    writing_.name = base_ + "." + std::to_string(++generation_);
    sum_ = state_sum{};
    writeback_from_ = 0;
    fd_ = ::open(path_of(writing_.name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("open");
}

void state_file_set::append(std::string_view bytes) {
    sum_.update(bytes);
    writing_.size += bytes.size();
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("write");
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    // Start writing what has come so far to the disk while the rest is made: finish()'s
    // fdatasync then waits for the tail only (bench/ingest: a 20 MB state took 14-22 ms
    // to sync after the last byte). A hint; the fdatasync is what makes the file durable.
    if (writing_.size - writeback_from_ >= writeback_step) {
        ::sync_file_range(fd_, static_cast<off_t>(writeback_from_),
                          static_cast<off_t>(writing_.size - writeback_from_),
                          SYNC_FILE_RANGE_WRITE);
        writeback_from_ = writing_.size;
    }
}

std::string state_file_set::finish() {
    wait_durable();
    writing_.sum = sum_.value();
    const int fd = fd_;
    fd_ = -1;
    // An earlier file of this run that no commit named is superseded either way.
    if (pending_) remove_file(pending_->name);
    pending_.reset();
    if (committed_ && committed_->size == writing_.size && committed_->sum == writing_.sum) {
        ::close(fd);
        remove_file(writing_.name);
        return format_state_ref(*committed_);
    }
    pending_ = writing_;
    run_aside(syncing_, [this, fd] { sync(fd); });
    return format_state_ref(writing_);
}

void state_file_set::sync(int fd) {
    const char* failed = nullptr;
    if (::fdatasync(fd) != 0) {
        failed = "fdatasync";
        sync_errno_ = errno;
    }
    if (::close(fd) != 0 && !failed) {
        failed = "close";
        sync_errno_ = errno;
    }
    if (!failed && !sync_directory(dir_)) {
        failed = "fsync of the directory";
        sync_errno_ = errno;
    }
    sync_failed_ = failed;
}

void state_file_set::wait_durable() {
    if (syncing_.joinable()) syncing_.join();
    if (!sync_failed_) return;
    const char* failed = std::exchange(sync_failed_, nullptr);
    errno = sync_errno_;
    fail(failed);
}

void state_file_set::committed() {
    wait_durable();
    if (!pending_) return;
    if (committed_) {
        wait_removed();
        run_aside(removing_, [this, name = committed_->name] { remove_file(name); });
    }
    committed_ = std::move(pending_);
    pending_.reset();
}

void state_file_set::wait_removed() {
    if (removing_.joinable()) removing_.join();
}

bool state_file_set::read(const std::string& dir, const state_file_ref& ref, std::string& out,
                          std::string& error) {
    const std::string path = dir + "/" + ref.name;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error = path + ": " + std::strerror(errno);
        return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != ref.size) {
        error = path + ": " + std::to_string(st.st_size) + " bytes, the checkpoint names " +
                std::to_string(ref.size);
        ::close(fd);
        return false;
    }
    out.resize(ref.size);
    std::size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = path + ": read error at byte " + std::to_string(got) + ": " +
                    (n < 0 ? std::strerror(errno) : "end of file");
            ::close(fd);
            return false;
        }
        got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    state_sum s;
    s.update(out);
    if (s.value() != ref.sum) {
        error = path + ": checksum differs from the checkpoint's (the file was changed)";
        return false;
    }
    return true;
}

}  // namespace v6bl::ingest
