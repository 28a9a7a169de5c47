// Reads a capture file ahead of its parser with O_DIRECT, from a thread of its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

namespace v6bl::ingest {

// A capture is read once, start to end. Through the page cache, this CPU copies every byte
// from the cache into the reader's buffer (bench/ingest: 1.83 GB, about 0.2 s of a 4.3 s
// run). With O_DIRECT the device (or, in a VM, the host) writes the bytes into the chunks
// itself while this CPU parses the chunk before; the thread only issues the reads and
// sleeps in them. The parser sees one chunk at a time, with the unread end of the previous
// one copied in front of it (a record split across two chunks): `carry_bytes` of room.
//
// The order of bytes handed out is the file's, from the offset asked for on, exactly as
// pread() would give them. A chunk that comes back short (the end of the file then) is the
// last: the caller reads on by itself, as the file may have grown.
class direct_reader {
  public:
    static constexpr std::size_t chunk_bytes = std::size_t{4} << 20;
    static constexpr std::size_t carry_bytes = std::size_t{512} << 10;
    static constexpr int depth = 4;  // chunks read or being read ahead

    // A reader of the file open as `fd` (a second descriptor of it, with O_DIRECT) from
    // byte `from` on; nullptr where that cannot be had (no /proc/self/fd, or a file system
    // without O_DIRECT). A device's refusal of the alignment shows at the first next().
    static std::unique_ptr<direct_reader> open(int fd, std::uint64_t from);
    ~direct_reader();
    direct_reader(const direct_reader&) = delete;
    direct_reader& operator=(const direct_reader&) = delete;

    struct chunk_view {
        const std::uint8_t* data = nullptr;  // the carried bytes, then the chunk's
        std::size_t size = 0;
    };
    // The next chunk, with `carry` bytes copied from `keep` in front of it (none before the
    // first); `keep` may point into the chunk handed out before, which is given back to the
    // thread only after the copy. False when its read failed (errno is the read's), after
    // the last chunk (one that came back short), and when `carry` exceeds carry_bytes.
    bool next(const std::uint8_t* keep, std::size_t carry, chunk_view& out);

    // Whether the parser keeps waiting for the device: after 16 chunks, a quarter or more
    // of the time since the first one came was spent waiting for the next. A file in the
    // page cache on a slow disk is read faster through the cache: the caller switches.
    bool falls_behind() const;
    // Bytes handed out (carried bytes not counted twice).
    std::uint64_t bytes() const { return bytes_; }

  private:
    direct_reader(int fd, std::uint64_t from);
    void run();

    struct slot {
        std::uint8_t* mem = nullptr;  // carry_bytes of room, then chunk_bytes (4 KiB aligned)
        long result = 0;              // bytes read, or -errno
        bool full = false;            // read and not yet given back
    };
    int fd_;
    std::uint64_t start_;  // file offset of the first chunk (aligned down from `from`)
    std::size_t skip_;     // bytes of the first chunk before `from`
    slot slots_[depth];
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false;
    bool ended_ = false;  // a read came back short or failed: the thread is done
    int current_ = -1;    // the slot handed out last
    int next_ = 0;
    std::uint64_t bytes_ = 0;
    std::uint64_t chunks_ = 0;
    std::chrono::steady_clock::time_point first_{};
    std::chrono::steady_clock::duration waited_{};
    std::thread thread_;
};

}  // namespace v6bl::ingest
