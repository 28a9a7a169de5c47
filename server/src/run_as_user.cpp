// Dropping root after the sockets are bound: user lookup, ownership hand-over, the drop
// itself and a check that the store is still readable as the new user.
#include "v6bl/server/run_as_user.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace v6bl::server {
namespace {

namespace fs = std::filesystem;

std::runtime_error failure(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

user_identity lookup_user(const std::string& name) {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    const int rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc != 0 || found == nullptr)
        throw std::invalid_argument("--user " + name + ": no such user");
    user_identity u{name, pw.pw_uid, pw.pw_gid};
    if (::geteuid() != 0 && ::geteuid() != u.uid)
        throw std::runtime_error("--user " + name + " needs v6bl serve to be started as root");
    return u;
}

void hand_over_directory(const std::string& dir, const user_identity& user) {
    if (::geteuid() != 0) return;
    const auto give = [&](const fs::path& p) {
        if (::lchown(p.c_str(), user.uid, user.gid) != 0)
            throw failure("--user " + user.name + ": cannot give " + p.string() + " to the user");
    };
    give(dir);
    for (const auto& e : fs::recursive_directory_iterator(dir)) give(e.path());
}

void drop_privileges(const user_identity& user) {
    if (::geteuid() != 0) return;  // already the user (lookup_user checked)
    if (::initgroups(user.name.c_str(), user.gid) != 0)
        throw failure("--user " + user.name + ": setgroups failed; refusing to run as root");
    if (::setgid(user.gid) != 0)
        throw failure("--user " + user.name + ": setgid failed; refusing to run as root");
    if (::setuid(user.uid) != 0)
        throw failure("--user " + user.name + ": setuid failed; refusing to run as root");
    if (::getuid() != user.uid || ::geteuid() != user.uid || ::getgid() != user.gid ||
        ::getegid() != user.gid)
        throw std::runtime_error("--user " + user.name +
                                 ": the ids did not change; refusing to run as root");
    if (user.uid != 0 && ::setuid(0) == 0)
        throw std::runtime_error("--user " + user.name +
                                 ": root could be regained after the drop; refusing to run");
}

void check_store_access(const std::string& db_path, const std::string& scratch_dir) {
    const auto need = [](const fs::path& p, int mode, const char* what) {
        if (::access(p.c_str(), mode) != 0)
            throw failure("the store cannot be used as this user: " + p.string() + " is not " +
                          what);
    };
    // Every directory on the way must be searchable (a mkdtemp directory above the store is
    // 0700); checked from the root down so the error names the one that is not.
    fs::path walk;
    for (const auto& part : fs::absolute(db_path)) {
        walk /= part;
        need(walk, X_OK, "searchable");
    }
    need(db_path, R_OK | X_OK, "readable");
    for (const auto& e : fs::directory_iterator(db_path))
        if (e.is_regular_file()) need(e.path(), R_OK, "readable");
    need(scratch_dir, R_OK | W_OK | X_OK, "writable (the RocksDB secondary's own files)");
}

}  // namespace v6bl::server
