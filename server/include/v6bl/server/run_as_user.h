// Dropping root after the sockets are bound (`serve --user NAME`).
#pragma once

#include <sys/types.h>

#include <string>

namespace v6bl::server {

struct user_identity {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

// The user's ids from the password database. Throws std::runtime_error when there is no
// such user, or when this process is not root and is not already that user.
user_identity lookup_user(const std::string& name);

// Gives `dir` and everything in it to the user (the secondary's scratch files, created as
// root before the drop). Throws naming the path that could not be changed.
void hand_over_directory(const std::string& dir, const user_identity& user);

// setgroups (the user's supplementary groups), setgid, setuid. Throws, and the caller must
// stop, when any step fails or root can be regained afterwards.
void drop_privileges(const user_identity& user);

// After the drop: the store and every file in it readable, the scratch directory writable.
// Throws naming the first path the user cannot use (a RocksDB secondary would otherwise
// just stop following the writer without saying why).
void check_store_access(const std::string& db_path, const std::string& scratch_dir);

}  // namespace v6bl::server
