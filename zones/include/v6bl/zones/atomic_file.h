// Atomic output files: written to a temporary in the same directory, fsynced, renamed.
#pragma once

#include <cstdio>
#include <string>

namespace v6bl::zones {

// A reader of `path` sees the old file or the complete new one, never half a file.
// Throws std::runtime_error naming the file and the cause (batch tools only).
class atomic_file {
  public:
    explicit atomic_file(std::string path);
    ~atomic_file();  // removes the temporary unless committed
    atomic_file(const atomic_file&) = delete;
    atomic_file& operator=(const atomic_file&) = delete;

    std::FILE* stream() { return stream_; }
    const std::string& temp_path() const { return temp_path_; }

    // fflush, fsync, rename over `path`, fsync the directory.
    void commit();

  private:
    std::string path_;
    std::string temp_path_;
    std::FILE* stream_ = nullptr;
    bool committed_ = false;
};

}  // namespace v6bl::zones
