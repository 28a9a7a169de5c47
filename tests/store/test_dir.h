// A temporary directory removed at the end of a test.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace v6bl::test {

class test_dir {
  public:
    explicit test_dir(const std::string& tag) {
        path_ =
            std::filesystem::temp_directory_path() /
            ("v6bl-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(counter()++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~test_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string path(const std::string& sub = {}) const {
        return sub.empty() ? path_.string() : (path_ / sub).string();
    }

  private:
    static int& counter() {
        static int n = 0;
        return n;
    }
    std::filesystem::path path_;
};

}  // namespace v6bl::test
