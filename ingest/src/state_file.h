// Large ingest checkpoints (the engine state, the address book: tens of MB at a busy
// sensor) kept in files beside the store instead of inside the commit's WriteBatch, where
// RocksDB copied them four times (batch, WAL, memtable, flush). A file is written and
// synced before the commit whose checkpoint names it; the commit makes it current.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace v6bl::ingest {

// What the committed checkpoint holds: "state-file v1 name=NAME size=N sum=HEX".
struct state_file_ref {
    std::string name;  // in the state directory: BASE.GENERATION
    std::uint64_t size = 0;
    std::uint64_t sum = 0;
    bool operator==(const state_file_ref&) const = default;
};
std::string format_state_ref(const state_file_ref& r);
// nullopt when `value` is not a reference (an inline state of an older v6bl, or garbage).
std::optional<state_file_ref> parse_state_ref(std::string_view value);

// A 64-bit checksum of a byte stream, the same however the stream is cut into pieces.
class state_sum {
  public:
    void update(std::string_view bytes);
    std::uint64_t value() const;

  private:
    void mix(std::uint64_t word) {
        h_ = (h_ ^ word) * 0x9E3779B97F4A7C15ull;
        h_ ^= h_ >> 29;
    }
    std::uint64_t h_ = 0x6A09E667F3BCC908ull;
    std::uint64_t carry_ = 0;
    unsigned carry_n_ = 0;
    std::uint64_t length_ = 0;
};

// The files of one checkpoint key (BASE.1, BASE.2, …) in `dir`. Single writer: the store's
// lock is held by the one ingest that uses them.
class state_file_set {
  public:
    state_file_set(std::string dir, std::string base);
    ~state_file_set();
    state_file_set(const state_file_set&) = delete;
    state_file_set& operator=(const state_file_set&) = delete;

    // The reference committed in the store (nullopt: none, or an inline state). Removes
    // this base's other files: left by a run that stopped between writing one and its
    // commit. Call once, before begin().
    void adopt(const std::optional<state_file_ref>& committed);

    // A new generation: open (truncating a leftover of the same name), appended to, and
    // finished. Throws std::runtime_error naming the file on an I/O error.
    void begin();
    void append(std::string_view bytes);
    // Returns the checkpoint value naming the file, and starts syncing the file and the
    // directory on a thread of its own: wait_durable() before a commit names it. A state
    // equal to the committed one keeps its reference (the new file is removed), so that a
    // run that changed nothing commits nothing.
    std::string finish();
    // Waits for finish()'s sync (the commit's batch is built meanwhile: a 20 MB state took
    // 10-22 ms to sync on the 2-core VM). Throws std::runtime_error naming the file when the
    // sync failed; the commit must not happen then.
    void wait_durable();
    // The commit naming the last finished file succeeded: the file it replaced is removed,
    // on a thread of its own (an unlink of a 25 MB file waits 8-17 ms for the file system,
    // with 1 ms of CPU; a crash before it leaves the file to the next run's adopt()).
    // Safe against power loss because ingest's commits are synced (store_options::
    // sync_commits, on outside tests and benchmarks): without that, a lost commit could
    // leave the store naming the removed file (reported at the next start, which then
    // begins with an empty state).
    void committed();
    // Waits for the removal committed() started (before the directory is listed).
    void wait_removed();

    // Reads the file `ref` names into `out`; false with a reason in `error` when it is
    // missing, of another size or checksum.
    static bool read(const std::string& dir, const state_file_ref& ref, std::string& out,
                     std::string& error);

    const std::string& dir() const { return dir_; }

  private:
    std::string path_of(const std::string& name) const { return dir_ + "/" + name; }
    void remove_file(const std::string& name) const;
    [[noreturn]] void fail(const std::string& what) const;

    std::string dir_;
    std::string base_;
    bool adopted_ = false;
    std::uint64_t generation_ = 0;  // the newest written or adopted
    std::optional<state_file_ref> committed_;
    std::optional<state_file_ref> pending_;  // finished, not yet committed
    int fd_ = -1;
    state_file_ref writing_;
    state_sum sum_;
    // finish()'s sync of the file (then closed) and of the directory; what failed, if any.
    void sync(int fd);
    std::thread syncing_;
    std::thread removing_;  // committed()'s removal of the file replaced
    const char* sync_failed_ = nullptr;
    int sync_errno_ = 0;
    // Bytes from here on have not been handed to the disk's writeback yet (append()).
    std::uint64_t writeback_from_ = 0;
    static constexpr std::uint64_t writeback_step = std::uint64_t{4} << 20;
};

}  // namespace v6bl::ingest
