// Atomic output files: written to a temporary in the same directory, fsynced, renamed.
#include "v6bl/zones/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace v6bl::zones {
namespace {

std::runtime_error file_error(const std::string& what, const std::string& path) {
    return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

std::string directory_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

}  // namespace

atomic_file::atomic_file(std::string path) : path_(std::move(path)) {
    // The rename would replace a device, FIFO or directory entry (as root: --out /dev/null
    // left a regular file in /dev). Only a regular file, or none yet, is a target.
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw std::runtime_error(path_ + " exists and is not a regular file");
    std::string pattern = path_ + ".tmp.XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    const int fd = ::mkstemp(buffer.data());
    if (fd < 0) throw file_error("cannot create temporary file for", path_);
    temp_path_ = buffer.data();
    ::fchmod(fd, 0644);  // mkstemp's 0600 would hide the export from a daemon's user
    stream_ = ::fdopen(fd, "w");
    if (!stream_) {
        ::close(fd);
        ::unlink(temp_path_.c_str());
        throw file_error("cannot open", temp_path_);
    }
    static constexpr std::size_t buffer_size = 1 << 20;
    std::setvbuf(stream_, nullptr, _IOFBF, buffer_size);
}

atomic_file::~atomic_file() {
    if (stream_) std::fclose(stream_);
    if (!committed_) ::unlink(temp_path_.c_str());
}

void atomic_file::commit() {
    if (std::fflush(stream_) != 0 || std::ferror(stream_)) {
        throw file_error("cannot write", temp_path_);
    }
    if (::fsync(::fileno(stream_)) != 0) throw file_error("cannot fsync", temp_path_);
    const int close_result = std::fclose(stream_);
    stream_ = nullptr;
    if (close_result != 0) throw file_error("cannot close", temp_path_);
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        throw file_error("cannot rename " + temp_path_ + " to", path_);
    }
    committed_ = true;
    const std::string dir = directory_of(path_);
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir_fd < 0) throw file_error("cannot open directory", dir);
    const int sync_result = ::fsync(dir_fd);
    ::close(dir_fd);
    if (sync_result != 0) throw file_error("cannot fsync directory", dir);
}

}  // namespace v6bl::zones
