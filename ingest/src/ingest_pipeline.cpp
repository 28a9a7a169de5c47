// The ingest run loop: checkpointed sources feeding grouper → engine → writer → store.
#include "v6bl/ingest/ingest_pipeline.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "state_codec.h"
#include "state_file.h"
#include "v6bl/ingest/association_line.h"
#include "v6bl/ingest/capture_reader.h"
#include "v6bl/ingest/reject_log_parser.h"
#include "v6bl/ingest/syn_decoder.h"

namespace v6bl::ingest {
namespace {

// What a path that is not a regular file is, for a report ("is a FIFO").
std::string not_a_regular_file(const struct ::stat& st) {
    if (S_ISDIR(st.st_mode)) return "is a directory";
    if (S_ISFIFO(st.st_mode))
        return "is a FIFO, not a regular file (logs are read by offset and followed across "
               "rotation: give the file syslog writes)";
    if (S_ISSOCK(st.st_mode)) return "is a socket, not a regular file";
    return "is not a regular file (a device?)";
}

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string absolute_path(const std::string& p) {
    std::error_code ec;
    auto a = std::filesystem::absolute(p, ec);
    return ec ? p : a.lexically_normal().string();
}

// The path a source's checkpoint is kept under: the file's own, symlinks resolved, so
// that a file reached by another path (a symlink to it, or through one) is the source
// read before, not a new one read again. A path that does not resolve (no such file
// yet) keeps its absolute form.
std::string source_path(const std::string& p) {
    std::error_code ec;
    auto c = std::filesystem::canonical(p, ec);
    return ec ? absolute_path(p) : c.string();
}

// Source checkpoint: "v1 ino=N off=N idx=N done=N" (idx: packets or lines consumed).
struct source_position {
    unsigned long long ino = 0, off = 0, idx = 0;
    int done = 0;
    // A fingerprint of the bytes just before `at` (tail_fingerprint; for logs and classic
    // pcap files `at` is `off`, for pcapng the byte offset where reading stopped), so that a
    // file rewritten in place since (copytruncate rotation of a log, a capture copied or
    // written again over the same file) is read from its start, not resumed in the middle
    // of a line or record, nor skipped as done.
    unsigned long long tail = 0, at = 0;
    bool has_tail = false;
    // How many bytes before `at` the tail fingerprint covers: 64 in checkpoints written
    // before `tw=` (the end of one log line, often the same from line to line: a rotated
    // log's new file matched and its first lines were skipped), tail_fingerprint_width from then
    // on.
    unsigned long long tail_width = 64;
};

// A few log lines or capture records, timestamps included.
constexpr unsigned long long tail_fingerprint_width = 4096;

source_position parse_position(const std::optional<std::string>& v) {
    source_position p;
    if (!v) return p;
    const int n =
        std::sscanf(v->c_str(), "v1 ino=%llu off=%llu idx=%llu done=%d tail=%llx at=%llu tw=%llu",
                    &p.ino, &p.off, &p.idx, &p.done, &p.tail, &p.at, &p.tail_width);
    p.has_tail = n >= 5;
    if (n == 5) p.at = p.off;
    if (n < 7 || p.tail_width == 0 || p.tail_width > tail_fingerprint_width) p.tail_width = 64;
    return p;
}

std::string format_position(const source_position& p) {
    char buf[160];
    int n = std::snprintf(buf, sizeof buf, "v1 ino=%llu off=%llu idx=%llu done=%d", p.ino, p.off,
                          p.idx, p.done);
    if (p.has_tail && n > 0 && static_cast<std::size_t>(n) < sizeof buf)
        std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n),
                      " tail=%016llx at=%llu tw=%llu", p.tail, p.at, p.tail_width);
    return buf;
}

// FNV-1a over the (up to) `width` bytes of the file before `off`; nullopt when they cannot
// be read.
std::optional<unsigned long long> tail_fingerprint(int fd, unsigned long long off,
                                                   unsigned long long width);

// The same, opening the file by its path (a regular file only: opening a FIFO without a
// writer would wait past SIGTERM).
std::optional<unsigned long long> tail_fingerprint(const std::string& path, unsigned long long off,
                                                   unsigned long long width) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return std::nullopt;
    }
    const auto h = tail_fingerprint(fd, off, width);
    ::close(fd);
    return h;
}

std::optional<unsigned long long> tail_fingerprint(int fd, unsigned long long off,
                                                   unsigned long long width) {
    const std::size_t want =
        static_cast<std::size_t>(std::min({off, width, tail_fingerprint_width}));
    unsigned char bytes[tail_fingerprint_width];
    std::size_t got = 0;
    while (got < want) {
        const ssize_t r =
            ::pread(fd, bytes + got, want - got, static_cast<off_t>(off - want + got));
        if (r <= 0) return std::nullopt;
        got += static_cast<std::size_t>(r);
    }
    unsigned long long h = 1469598103934665603ull;
    for (std::size_t i = 0; i < want; ++i) h = (h ^ bytes[i]) * 1099511628211ull;
    return h;
}

// FNV-1a over the (up to) 64 bytes at the start of the file, or of its first `off` bytes
// when fewer: with the tail, what tells a file from another that got its inode.
std::optional<unsigned long long> head_fingerprint(int fd, unsigned long long off) {
    return tail_fingerprint(fd, std::min<unsigned long long>(off, 64), 64);
}

// A file now under another inode that holds the bytes the checkpoint was taken at, in the
// same place (rsync's or `cp f.tmp; mv f.tmp f`'s replacement of a growing file: its start
// again, then more): read on from the checkpoint. Anything else under a new inode (a
// rotation's fresh file, another file) is read from its start.
bool replaced_by_same_start(const source_position& cp, unsigned long long size,
                            std::optional<unsigned long long> now_tail, const std::string& name,
                            std::FILE* diagnostics) {
    if (!cp.has_tail || cp.at == 0 || size < cp.at || now_tail != cp.tail) return false;
    if (diagnostics)
        std::fprintf(diagnostics,
                     "v6bl ingest: %s is another file now (inode %llu before), with the same "
                     "bytes up to where it was read (offset %llu): reading on from there\n",
                     name.c_str(), cp.ino, cp.at);
    return true;
}

// Whether the bytes before the checkpoint's `at` are no longer those it fingerprinted: the
// file was rewritten in place since. Notes it on `diagnostics`.
bool rewritten_since(const source_position& cp, std::optional<unsigned long long> now_tail,
                     const std::string& name, std::FILE* diagnostics) {
    if (!cp.has_tail || cp.at == 0 || now_tail == cp.tail) return false;
    if (diagnostics)
        std::fprintf(diagnostics,
                     "v6bl ingest: %s: the bytes before the checkpoint (offset %llu) have changed "
                     "(rewritten in place: copytruncate rotation, another capture written over "
                     "it); reading it from the start\n",
                     name.c_str(), cp.at);
    return true;
}

// Takes the checkpoint's fingerprint of the file (a descriptor or a path): the bytes before
// `at`, where reading stopped; none when they cannot be read.
template <typename File>
void take_tail_fingerprint(const File& file, unsigned long long at, source_position& pos) {
    pos.at = at;
    pos.tail_width = tail_fingerprint_width;
    const auto t = tail_fingerprint(file, pos.at, pos.tail_width);
    pos.has_tail = t.has_value();
    pos.tail = t.value_or(0);
}

// A capture's checkpoint fingerprint, of the file being read (its path may name another one
// by now: a capture replaced while it was read was resumed in the new file at the old one's
// offset, and read from a record header that was none).
void fingerprint_capture(const capture_reader& reader, std::uint64_t at, source_position& pos) {
    take_tail_fingerprint(reader.descriptor(), at, pos);
}

// The value kept under a file's inode (log-ino:, json-ino:, pcap-ino:): its checkpoint
// `position`, and a fingerprint of the file's head (`fd`, its first `at` bytes at most).
std::string with_head(std::string position, int fd, unsigned long long at) {
    if (const auto head = head_fingerprint(fd, at)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, " head=%016llx", *head);
        position += buf;
    }
    return position;
}

// The position in the inode value `v` when the open file `fd` (`st`) is still the one it
// was taken in: the same inode, reading stopped (`at`) within it, and the bytes before
// that and at its head as they were. An inode reused by another file, or the file
// truncated or written over since, has other bytes.
std::optional<source_position> inode_position_in(const std::string& v, int fd,
                                                 const struct ::stat& st) {
    const source_position cp = parse_position(v);
    if (cp.ino != static_cast<unsigned long long>(st.st_ino) || !cp.has_tail || cp.at == 0 ||
        cp.at > static_cast<unsigned long long>(st.st_size))
        return std::nullopt;
    const auto at = v.find(" head=");
    if (at == std::string::npos ||
        head_fingerprint(fd, cp.at) != std::strtoull(v.c_str() + at + 6, nullptr, 16) ||
        tail_fingerprint(fd, cp.at, cp.tail_width) != cp.tail)
        return std::nullopt;
    return cp;
}

// The checkpoint holding the address book (docs/ingest.md, "Checkpoints").
constexpr const char* address_book_key = "addresses";
// Attempts handed to the writer at once: enough to overlap their cache misses.
constexpr std::size_t writer_batch = 32;
// Attempts whose book slots are asked for at once (record_closed_attempts).
constexpr std::size_t book_burst = 32;
// Frames decoded and grouped ahead of the engine (see ingest_capture): the larger the
// batch, the longer the grouper works from its own state in the caches (bench/ingest: 256
// to 4096 SYNs took 1-3 % off the run in paired runs, about the noise).
constexpr std::size_t capture_batch = 4096;
// A SYN stamped more than this ahead of the capture's time so far is held until the next
// SYN says whether the capture jumped there (a gap in the traffic: the next one is near
// it) or that one SYN is off (the next one is back): such an outlier moved the grouper's
// and the engine's clocks, closed every open attempt early and blocked the grouper's
// expiry queue until the capture caught up with it (helper-87).
constexpr std::int64_t outlier_jump_us = 2'000'000;
// A log or JSON line longer than this is no line of ours: reported and dropped whole.
constexpr std::size_t max_line = 65536;

std::uint64_t sensor_bit_of(std::string_view id) {
    if (id.empty()) return 0;
    std::uint64_t n = 0;
    bool numeric = id.size() < 19;
    for (char c : id) {
        if (c < '0' || c > '9') {
            numeric = false;
            break;
        }
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (!numeric) {
        n = 1469598103934665603ull;  // FNV-1a: stable across builds, unlike std::hash
        for (char c : id) n = (n ^ static_cast<std::uint8_t>(c)) * 1099511628211ull;
    }
    return 1ull << (n % 64);
}

}  // namespace

struct ingest_pipeline::line_source {
    std::string path;
    std::string key;
    std::string legacy_key;      // before symlinks were resolved (stores of older versions)
    unsigned long long dev = 0;  // the open file's device (its inode's checkpoint key)
    bool json = false;
    std::FILE* file = nullptr;
    source_position pos;  // off/idx: after the last complete line consumed
    std::string partial;
    bool skipping_long_line = false;  // dropping the rest of a line reported too long
    // Bytes of that line dropped so far. They are not in pos until its newline: a checkpoint
    // taken meanwhile names the line's start, so a rerun drops the whole line again instead
    // of reading its tail as a line of its own.
    unsigned long long skipped = 0;
    // --follow: since when the path has named a new file (rename rotation) and this old
    // one gave nothing (0: not rotated, or the old one still grows)
    std::int64_t renamed_quiet_since_ms = 0;
    // --follow: where the file left for a new one was read to, with its tail fingerprint:
    // a new file with the same bytes up to there (rsync, `cp f f.tmp; mv f.tmp f` of a
    // growing file) is read on from there, as between runs, not again from its start.
    source_position left_at;
    int reports = 0;
    // Whether a JSON line past the store's retention was noted (once a source).
    bool stale_noted = false;
    // The error of the last failed open() of the path (EACCES, EMFILE...), reported once
    // until the file opens or the error changes; 0 when it opened.
    int open_errno = 0;
    bool dirty = false;
    // The rest of another file read for this source (a rotation's, a symlink's old target):
    // its own rotations and links are not looked for.
    bool rest_of_another = false;
    // --follow: the path named no file at the start (between a rotation's rename and the
    // log's next line): its first open is the start's (the checkpoint, the rotated rest).
    bool start_pending = false;
    ~line_source() {
        if (file) std::fclose(file);
    }
};

ingest_pipeline::ingest_pipeline(store::reputation_store& store, ingest_options options)
    : store_(store),
      options_(std::move(options)),
      grouper_(options_.grouping),
      engine_([&] {
          auto a = options_.association;
          a.sensor_bit = 1ull << (options_.sensor_id % 64);
          return a;
      }()),
      writer_(store, counters_, options_.writer) {
    sensor_bit_ = 1ull << (options_.sensor_id % 64);
    engine_key_ = "engine:" + std::to_string(options_.sensor_id);
    const std::string state_dir = store_.path() + "/ingest-state";
    engine_files_ =
        std::make_unique<state_file_set>(state_dir, "engine-" + std::to_string(options_.sensor_id));
    book_files_ = std::make_unique<state_file_set>(state_dir, address_book_key);
    hint_.fixed_year = options_.year;
    hint_.fallback_year = options_.fallback_year;
    if (options_.local_log_times) hint_.zone = &log_zone_;
}

ingest_pipeline::~ingest_pipeline() {
    if (associations_out_) std::fclose(associations_out_);
}

bool ingest_pipeline::stopping() const {
    return options_.stop && options_.stop->load();
}

void ingest_pipeline::report(const std::string& where, const std::string& what,
                             bad_input_reason why, int& reports) {
    ++counters_.bad_input[static_cast<std::size_t>(why)];
    if (reports < options_.max_reports_per_source && options_.diagnostics)
        std::fprintf(options_.diagnostics, "v6bl ingest: %s: %s\n", where.c_str(), what.c_str());
    else if (reports == options_.max_reports_per_source && options_.diagnostics)
        std::fprintf(options_.diagnostics, "v6bl ingest: %s: further reports suppressed\n",
                     where.c_str());
    ++reports;
}

// A log or JSON file that is there but does not open (no permission, out of descriptors):
// reported and counted as unreadable, once while the error lasts (--follow polls again).
void ingest_pipeline::cannot_open(line_source& src, int error) {
    if (error == src.open_errno) return;
    src.open_errno = error;
    report(src.path, std::string("cannot open: ") + std::strerror(error),
           bad_input_reason::unreadable_file, src.reports);
}

// A source's checkpoint, under its key or, where that has none and the path took another
// form before symlinks were resolved, under the older key.
std::optional<std::string> ingest_pipeline::checkpoint_of(const std::string& key,
                                                          const std::string& legacy_key) const {
    auto v = store_.checkpoint(key);
    if (!v && legacy_key != key) v = store_.checkpoint(legacy_key);
    return v;
}

namespace {

// The latest evidence time taken, in seconds: a day ahead of the machine's clock. A sensor's
// or MTA's clock running further ahead would date a /64's evidence past any expiry (a
// listing is kept until its last evidence is `expiry` old) and hold the address book's
// clock there. SYNs, log lines and remote associations past it are reported and skipped.
std::int64_t latest_evidence_s() {
    return static_cast<std::int64_t>(std::time(nullptr)) + 86400;
}

// The time a capture starts at, if it can be read: the median of its first 15 packets'
// times (past pcapng blocks without one), so that one packet stamped wrong (a clock that
// jumped, a packet from a year ago) does not move the capture in the order, nor the range
// BSD syslog years are read in (one such first packet put a whole maillog a year back).
std::optional<std::int64_t> first_packet_us(const std::string& path) {
    std::string err;
    auto r = capture_reader::open_file(path, 0, err);
    if (!r) return std::nullopt;
    capture_frame f;
    // Frames with a time (pcapng's simple packet blocks have none) that a SYN could be taken
    // at (not 0, not more than a day ahead: ingest_capture refuses those), past any skipped
    // blocks; a few dozen blocks at most.
    constexpr std::size_t sample = 15;
    std::int64_t times[sample];
    std::size_t n = 0;
    const std::int64_t latest_us = latest_evidence_s() * 1'000'000;
    for (int blocks = 0; blocks < 64 + static_cast<int>(sample) && n < sample; ++blocks) {
        const capture_status st = r->next(f);
        if (st == capture_status::frame && f.link != link_kind::unknown && f.time_us >= 1'000'000 &&
            f.time_us <= latest_us)
            times[n++] = f.time_us;
        else if (st != capture_status::frame && st != capture_status::bad_block &&
                 st != capture_status::bad_interface)
            break;
    }
    if (n == 0) return std::nullopt;
    std::nth_element(times, times + n / 2, times + n);
    return times[n / 2];
}

}  // namespace

// Captures are read in the order of their first packets: SYNs are grouped and paired in
// capture time, and a capture read after a later one had its attempts joined to histories
// that had moved on (tcpdump -C writes f, f1, ..., f10, which a glob gives as f f1 f10 f2:
// given so, a testbed's two halves listed 45 /64s instead of 61). Their first packets' times
// are also the range BSD syslog years are read in.
void ingest_pipeline::order_captures() {
    std::vector<std::pair<std::int64_t, std::string>> keyed;
    for (const auto& path : options_.captures)
        keyed.emplace_back(first_packet_us(path).value_or(INT64_MAX), path);
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    captures_.clear();
    for (const auto& [t, path] : keyed) captures_.push_back(path);
    if (!keyed.empty() && keyed.front().first != INT64_MAX) {
        hint_.reference_unix = keyed.front().first / 1'000'000;
        for (const auto& [t, path] : keyed)
            if (t != INT64_MAX) hint_.reference_last_unix = t / 1'000'000;
    }
    if (captures_ != options_.captures && options_.diagnostics) {
        std::string order;
        for (const auto& c : captures_) order += (order.empty() ? "" : ", ") + c;
        std::fprintf(options_.diagnostics,
                     "v6bl ingest: captures read in the order of their first packets: %s\n",
                     order.c_str());
    }
}

// The writer's attempts wait in a short queue so that the address book's slots are
// loaded for several of them at once (each is a cache miss). Every other call into the
// writer flushes the queue first, so the writer sees the same sequence of calls.
void ingest_pipeline::flush_attempts() {
    if (writer_queue_.empty()) return;
    writer_.prefetch_blocks(writer_queue_.data(), writer_queue_.size());
    writer_.add_attempts(writer_queue_.data(), writer_queue_.size(), sensor_bit_);
    writer_queue_.clear();
}

// Two batches deep: the book's slots were asked for when the attempts were queued; the
// address blocks of the newer batch are asked for while the older one is written.
void ingest_pipeline::write_queued_batch() {
    writer_.prefetch_blocks(writer_queue_.data() + writer_batch, writer_batch);
    writer_.add_attempts(writer_queue_.data(), writer_batch, sensor_bit_);
    writer_queue_.erase(writer_queue_.begin(),
                        writer_queue_.begin() + static_cast<std::ptrdiff_t>(writer_batch));
}

void ingest_pipeline::drain_associations() {
    flush_attempts();
    for (const association& a : found_) {
        const bool rejected = writer_.add_association(a, false, true);
        queue_association_out(a, rejected);
    }
    found_.clear();
}

// An --associations-out line, held until the commit of its data (write_associations_out).
void ingest_pipeline::queue_association_out(const association& a, bool rejected) {
    if (!associations_out_) return;
    aout_pending_ += format_association_line(a, std::to_string(options_.sensor_id), rejected);
    aout_pending_ += '\n';
}

// Associations written out before their IPv4 was rejected: written again, rejected, so
// that a central list fed by --associations-out lists them as this store does.
void ingest_pipeline::write_relisted() {
    if (!associations_out_) return;
    for (const association& a : writer_.take_relisted()) queue_association_out(a, true);
}

// Counts the attempts the grouper closed, records them for their /64s and hands them to
// the association engine.
void ingest_pipeline::record_closed_attempts() {
    record_closed_attempts(0, closed_.size());
    closed_.clear();
    book_prefetched_ = 0;
}

void ingest_pipeline::record_closed_attempts(std::size_t from, std::size_t to) {
    // The book's slots are asked for in bursts, before any is used: on the 2-core VM a
    // prefetch that misses the TLB holds up the instructions behind it for its page walk
    // (perf samples pile up right after it), so one prefetch per attempt between the rest
    // of the work stalled on each walk in turn; a burst has several walks under way at once.
    // One SYN closes an attempt or two: a burst covers the next book_burst attempts of
    // the batch, so that it is one in that many calls.
    if (book_prefetched_ < to) {
        const std::size_t until = std::min(closed_.size(), to + book_burst);
        for (std::size_t i = std::max(book_prefetched_, from); i < until; ++i)
            if (closed_[i].family == ip_family::v6) writer_.prefetch(closed_[i]);
        book_prefetched_ = until;
    }
    for (std::size_t i = from; i < to; ++i) {
        const connect_attempt& a = closed_[i];
        ++counters_.attempts;
        if (a.family == ip_family::v6) {
            ++counters_.attempts_v6;
            writer_queue_.push_back(a);
        }
        engine_.add(a);
    }
    if (writer_queue_.size() >= 2 * writer_batch) write_queued_batch();
}

void ingest_pipeline::on_syn_batch(std::int64_t now_us) {
    record_closed_attempts();
    engine_.advance(now_us, found_);
    if (!found_.empty()) drain_associations();
}

void ingest_pipeline::checkpoint_engine() {
    flush_attempts();
    // A state (tens of MB at a busy sensor) is streamed to its file a MiB at a time rather
    // than built in memory first (fresh pages, then a copy); the file is what the commit
    // names.
    auto stream_to = [&](state_file_set& files, auto&& save) {
        state_scratch_.clear();
        save([&](std::string_view bytes) {
            state_scratch_.append(bytes);
            if (state_scratch_.size() >= std::size_t{1} << 20) {
                files.append(state_scratch_);
                state_scratch_.clear();
            }
        });
        files.append(state_scratch_);
    };
    // Layout 2: the grouper's state with its length in front (it is small: built in
    // memory), then the engine's to the end of the file. Layout 1 had the engine's
    // length-prefixed too, so it was built in memory whole (both are read: run()).
    engine_files_->begin();
    const std::uint32_t version = 2;
    engine_files_->append({reinterpret_cast<const char*>(&version), sizeof version});
    state_scratch_.clear();
    grouper_.save(state_scratch_);
    const std::uint64_t n = state_scratch_.size();
    engine_files_->append({reinterpret_cast<const char*>(&n), sizeof n});
    engine_files_->append(state_scratch_);
    stream_to(*engine_files_, [&](const auto& sink) { engine_.save(sink); });
    writer_.set_checkpoint(engine_key_, engine_files_->finish());
    // The address book is the store's, not one sensor's: its own key. It is the larger
    // state (30 MB at a busy sensor, an address and its tally each).
    book_files_->begin();
    stream_to(*book_files_, [&](const auto& sink) { writer_.save_state(sink); });
    writer_.set_checkpoint(address_book_key, book_files_->finish());
    if (state_behind_) writer_.set_checkpoint(engine_key_ + ":behind", "0");
    state_behind_ = false;
    last_state_ms_ = wall_ms();
}

// Before a commit while a live capture runs. The engine state and the address book go
// with it once state_interval has passed since they last did (they can be tens of MB,
// and the commits come every second); a commit without them says that the store's state
// is behind its data, for a restart after a crash (run()).
void ingest_pipeline::live_state_for_commit() {
    if (!live_capture_) return;
    flush_attempts();  // queued attempts are data of this commit too
    if (!live_state_written_ || wall_ms() - last_state_ms_ >= options_.state_interval_ms) {
        checkpoint_engine();
        live_state_written_ = true;
    } else if (!state_behind_ && writer_.has_data()) {
        // Only data makes the state behind: a commit of checkpoints alone (an idle link)
        // does not, and is not forced by the marker.
        writer_.set_checkpoint(engine_key_ + ":behind", "1");
        state_behind_ = true;
    }
}

// A state checkpoint's bytes: read from the file its value names (and this key's files
// left by an interrupted run removed), or the value itself when it is an inline state of
// an older v6bl. An unreadable file is reported and gives an empty state, which the
// caller reports as unreadable.
std::optional<std::string> ingest_pipeline::state_checkpoint(const std::string& key,
                                                             state_file_set& files) {
    auto value = store_.checkpoint(key);
    const auto ref = value ? parse_state_ref(*value) : std::nullopt;
    files.adopt(ref);
    if (!ref) return value;
    std::string bytes, error;
    if (!state_file_set::read(files.dir(), *ref, bytes, error)) {
        if (options_.diagnostics)
            std::fprintf(options_.diagnostics, "v6bl ingest: checkpoint %s: %s\n", key.c_str(),
                         error.c_str());
        return std::string();
    }
    return bytes;
}

bool ingest_pipeline::commit_due() const {
    const int interval =
        following_ ? options_.follow_commit_interval_ms : options_.commit_interval_ms;
    return since_commit_ >= options_.commit_every || wall_ms() - last_commit_ms_ >= interval;
}

// --associations-out lines wait for the commit of the data they come from: written and
// synced just before it, with the file's length committed as a checkpoint, so that a run
// killed before the commit leaves lines the next run cuts off and writes again, and none
// is lost or written twice (the file is cut back to the committed length at the start).
void ingest_pipeline::write_associations_out() {
    if (!associations_out_) return;
    if (!aout_pending_.empty()) {
        if (std::fwrite(aout_pending_.data(), 1, aout_pending_.size(), associations_out_) !=
                aout_pending_.size() ||
            std::fflush(associations_out_) != 0 || ::fdatasync(::fileno(associations_out_)) != 0)
            throw std::runtime_error("cannot write " + options_.associations_out + ": " +
                                     std::strerror(errno));
        aout_pending_.clear();
    }
    struct stat st {};
    if (::fstat(::fileno(associations_out_), &st) != 0) return;
    char buf[96];
    std::snprintf(buf, sizeof buf, "v1 ino=%llu size=%llu",
                  static_cast<unsigned long long>(st.st_ino),
                  static_cast<unsigned long long>(st.st_size));
    writer_.set_checkpoint(aout_key_, buf);
}

// Listings whose expiry came after the store's last commit are still in the zones that
// secondaries copied under its serial. Any commit moves the serial past the lapses before
// it (a transfer reads the zone at or after its serial's commit), so while commits come at
// least every `expire_every_s` nothing is to be done; once they stop, the writer names
// the listings that lapsed since the last one in a commit of their own.
void ingest_pipeline::sweep_expired() {
    if (options_.expire_every_s <= 0) return;
    const std::int64_t now_ms = wall_ms();
    if (now_ms - last_expiry_sweep_ms_ < 1000) return;  // a store read: once a second at most
    last_expiry_sweep_ms_ = now_ms;
    const auto since = store_.serial_time();
    if (!since) return;
    const auto now = static_cast<std::uint32_t>(std::time(nullptr));
    if (now < std::uint64_t{*since} + static_cast<std::uint64_t>(options_.expire_every_s)) return;
    const auto lapsed = store::lapsed_listings(store_, options_.expiry_policy, *since, now);
    for (const store::prefix& p : lapsed) writer_.touch(p);
    // Nothing lapsed: the next look is an interval from now, not from the old commit.
    if (lapsed.empty())
        last_expiry_sweep_ms_ = now_ms + std::int64_t{options_.expire_every_s} * 1000 - 1000;
}

void ingest_pipeline::commit_if_due(bool force) {
    flush_attempts();
    const std::int64_t now = wall_ms();
    counters_.history_restarts = engine_.history_restarts();
    counters_.address_book_evictions = writer_.book().evicted();
    counters_.histories_forgotten = engine_.histories_forgotten();
    if (force || commit_due()) {
        write_associations_out();
        writer_.commit([&] {
            engine_files_->wait_durable();
            book_files_->wait_durable();
        });
        engine_files_->committed();
        book_files_->committed();
        since_commit_ = 0;
        last_commit_ms_ = now;
        if (options_.on_commit) options_.on_commit(counters_);
    }
}

namespace {

// Every capture checkpoint is also kept under the file's inode ("pcap-ino:DEV:INO"), with
// a fingerprint of the file's head, as logs' are (inode_key): a capture given by another
// name (a hard link, in the same run or a later one; renamed since) is the source read
// before, not read again (its attempts counted twice). A copy is another file.
std::string capture_inode_key(const struct ::stat& st) {
    return "pcap-ino:" + std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
           std::to_string(static_cast<unsigned long long>(st.st_ino));
}

// The position of an inode value `v` for the capture at `path` (`st`), when it is further
// than `pos` and the file still holds the bytes it was taken after (its head, and the
// bytes before its offset: an inode reused by another file does not).
std::optional<source_position> capture_inode_position(const std::string& v, const std::string& path,
                                                      const struct ::stat& st,
                                                      const source_position& pos) {
    if (v.empty() || parse_position(v).idx <= pos.idx) return std::nullopt;
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    struct stat now {};
    std::optional<source_position> cp;
    if (::fstat(fd, &now) == 0 && now.st_ino == st.st_ino) cp = inode_position_in(v, fd, now);
    ::close(fd);
    return cp;
}

}  // namespace

void ingest_pipeline::ingest_capture(const std::string& given) {
    const std::string path = source_path(given);
    const std::string key = "pcap:" + path;
    int reports = 0;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        report(given, std::string("cannot open: ") + std::strerror(errno),
               bad_input_reason::unreadable_capture, reports);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        report(given,
               "not a regular file (captures are read by offset: give a file, or --interface)",
               bad_input_reason::unreadable_capture, reports);
        return;
    }
    source_position pos = parse_position(checkpoint_of(key, "pcap:" + absolute_path(given)));
    const auto size = static_cast<unsigned long long>(st.st_size);
    // The bytes before the checkpoint as they are now: the same file under a new inode, or
    // the file rewritten in place, is told by them.
    const auto now_tail =
        size < pos.at ? std::nullopt : tail_fingerprint(path, pos.at, pos.tail_width);
    if (pos.ino != st.st_ino &&
        !replaced_by_same_start(pos, size, now_tail, given, options_.diagnostics))
        pos = source_position{};
    pos.ino = st.st_ino;
    if (rewritten_since(pos, now_tail, given, options_.diagnostics)) {
        pos = source_position{};
        pos.ino = st.st_ino;
    }
    // The same file read further under another name (a hard link, a rename since).
    const std::string ino_key = capture_inode_key(st);
    const auto known = inode_positions_.find(ino_key);
    if (const auto further = capture_inode_position(known != inode_positions_.end()
                                                        ? known->second
                                                        : store_.checkpoint(ino_key).value_or(""),
                                                    path, st, pos)) {
        if (options_.diagnostics)
            std::fprintf(options_.diagnostics,
                         "v6bl ingest: %s was read before under another name (the same inode: a "
                         "hard link, or renamed since), to packet %llu: reading on from there\n",
                         given.c_str(), further->idx);
        pos = *further;
    }
    // Ingested completely before: nothing changes, unless the capture has grown since (it
    // was still being written); then the new packets are read.
    if (pos.done && (!pos.has_tail || size <= pos.at)) return;
    pos.done = 0;
    std::string err;
    auto reader = capture_reader::open_file(
        path, pos.off, err,
        options_.direct_capture_reads ? file_reading::direct : file_reading::buffered);
    if (!reader) {
        report(given, err, bad_input_reason::unreadable_capture, reports);
        return;
    }
    // The file opened is the one checked above (not one put in its place since).
    struct stat opened {};
    if (::fstat(reader->descriptor(), &opened) != 0 || opened.st_ino != st.st_ino ||
        opened.st_dev != st.st_dev) {
        report(given, "replaced while it was opened; read it in the next run",
               bad_input_reason::unreadable_capture, reports);
        return;
    }
    // The checkpoint under the inode, at `pos`.
    const auto inode_value = [&] {
        return with_head(format_position(pos), reader->descriptor(), pos.at);
    };
    const bool skip_by_index = reader->is_pcapng() && pos.idx > 0;
    const std::uint64_t skip_until = pos.idx;
    const std::uint64_t resumed_at = pos.at;  // where the last run stopped reading
    std::uint64_t index = pos.idx;
    if (skip_by_index) index = 0;
    capture_frame frame;
    // Frames are decoded and grouped a batch at a time ahead of the engine and the writer
    // (below). SYNs are grouped in capture order all the same, and a batch is done before
    // any commit, so checkpoints name frames fully processed.
    syn_batch_.resize(capture_batch);
    closed_by_.resize(capture_batch);
    syn_record* const batch = syn_batch_.data();
    std::size_t* const closed_by = closed_by_.data();
    bool ended_short = false;  // at a truncated or corrupt record
    // SYNs stamped later than this are refused (a live capture's run can last for months:
    // the bound moves with the clock, a batch at a time).
    std::int64_t latest_us = 0;
    // The capture's time so far (its latest SYN taken) and a SYN held ahead of it (above).
    std::int64_t clock_us = 0;
    struct held_syn {
        syn_record syn;
        std::uint64_t offset = 0, index = 0;
    };
    std::optional<held_syn> held;
    const auto take_held = [&](std::size_t& n) {
        batch[n++] = held->syn;
        clock_us = std::max(clock_us, held->syn.time_us);
        ++counters_.syns;
        if (held->syn.family == ip_family::v6) ++counters_.syns_v6;
        held.reset();
    };
    for (;;) {
        latest_us = latest_evidence_s() * 1'000'000;
        std::size_t n = 0;
        capture_status st2 = capture_status::frame;
        bool commit_now = false;
        // One slot stays free for a held SYN taken with the one after it.
        while (n + 1 < capture_batch) {
            st2 = reader->next(frame);
            if (st2 == capture_status::bad_block || st2 == capture_status::bad_interface) {
                // Reported again only if a resumed run had not read this far before (a block
                // before where reading stopped was reported then).
                if (!skip_by_index || reader->error_offset() >= resumed_at)
                    report(given + ":" + std::to_string(reader->error_offset()),
                           reader->last_error() + " (after packet " + std::to_string(index) + ")",
                           st2 == capture_status::bad_block ? bad_input_reason::malformed_packet
                                                            : bad_input_reason::unreadable_capture,
                           reports);
                continue;
            }
            if (st2 != capture_status::frame) break;
            ++index;
            if (skip_by_index && index <= skip_until) continue;
            ++counters_.packets;
            syn_record& syn = batch[n];
            const decode_status ds = decode_syn(frame.link, frame.data, frame.caplen, frame.time_us,
                                                options_.smtp_port, syn);
            if (ds == decode_status::syn && (syn.time_us < 1'000'000 || syn.time_us > latest_us)) {
                // As for log lines and remote associations: a time far ahead would date the
                // /64's evidence past any expiry (and hold the address book's clock there);
                // a time of 0 is no capture's (the store reads 0 as unset).
                report(given + ":" + std::to_string(reader->frame_offset()),
                       (syn.time_us < 1'000'000
                            ? std::string("SYN without a time stamp (time 0)")
                            : std::string("SYN time stamped more than a day in the future (the "
                                          "sensor's clock?)")) +
                           "; packet " + std::to_string(index) + " skipped",
                       bad_input_reason::malformed_packet, reports);
            } else if (ds == decode_status::syn) {
                if (held && syn.time_us + outlier_jump_us < held->syn.time_us) {
                    report(given + ":" + std::to_string(held->offset),
                           "SYN time stamped " +
                               std::to_string((held->syn.time_us - clock_us) / 1'000'000) +
                               " s ahead of the SYNs before and after it (a clock glitch?); "
                               "packet " +
                               std::to_string(held->index) + " skipped",
                           bad_input_reason::malformed_packet, reports);
                    held.reset();
                } else if (held) {
                    // The capture did jump: the held SYN goes first.
                    batch[n + 1] = syn;
                    take_held(n);
                }
                syn_record& taken = batch[n];
                if (clock_us != 0 && taken.time_us > clock_us + outlier_jump_us) {
                    held = held_syn{taken, reader->frame_offset(), index};
                } else {
                    clock_us = std::max(clock_us, taken.time_us);
                    ++counters_.syns;
                    if (taken.family == ip_family::v6) ++counters_.syns_v6;
                    ++n;
                }
            } else if (ds == decode_status::malformed) {
                report(given + ":" + std::to_string(reader->frame_offset()),
                       "malformed frame (a header length exceeds the captured bytes; packet " +
                           std::to_string(index) + ")",
                       bad_input_reason::malformed_packet, reports);
            }
            if (++since_commit_ >= options_.commit_every ||
                ((since_commit_ & 0xFFFF) == 0 &&
                 wall_ms() - last_commit_ms_ >= options_.commit_interval_ms)) {
                commit_now = true;
                break;
            }
        }
        // A held SYN is taken before a commit (the checkpoint names frames read) and at the
        // capture's end; otherwise it waits for the next batch's first SYN.
        if (held && (commit_now || st2 != capture_status::frame)) take_held(n);
        // The grouper takes the whole batch first, then the engine and the writer take
        // what each SYN closed, SYN by SYN: every stage sees the calls it saw when they
        // alternated per SYN, but the grouper runs long enough to work from its own state
        // in the caches (its open attempts, a few hundred KB, fit in L2; the engine and the
        // writer go through ~100 MB of tables in between). Prefetching the grouper's slots
        // ahead, as when it alternated, then costs more than it saves (bench/ingest: 3 %).
        for (std::size_t i = 0; i < n; ++i) {
            grouper_.add(batch[i], closed_);
            closed_by[i] = closed_.size();
        }
        for (std::size_t i = 0, from = 0; i < n; from = closed_by[i], ++i) {
            record_closed_attempts(from, closed_by[i]);
            engine_.advance(batch[i].time_us, found_);
            if (!found_.empty()) drain_associations();
        }
        closed_.clear();
        book_prefetched_ = 0;
        if (commit_now) {
            pos.off = reader->is_pcapng() ? 0 : reader->offset();
            pos.idx = index;
            fingerprint_capture(*reader, reader->offset(), pos);
            writer_.set_checkpoint(key, format_position(pos));
            writer_.set_checkpoint(ino_key, inode_positions_[ino_key] = inode_value());
            checkpoint_engine();
            commit_if_due(true);
            if (stopping()) return;
        }
        if (st2 == capture_status::frame) continue;
        if (st2 == capture_status::truncated || st2 == capture_status::error) {
            ended_short = true;
            report(given + ":" + std::to_string(reader->error_offset()),
                   (st2 == capture_status::truncated ? "truncated capture: " : "capture error: ") +
                       reader->last_error() + " (after packet " + std::to_string(index) + ")",
                   bad_input_reason::truncated_capture, reports);
        }
        break;
    }
    pos.off = reader->is_pcapng() ? 0 : reader->offset();
    pos.idx = index;
    pos.done = 1;
    // Read up to a cut or corrupt record, the capture counts as read up to the end it had:
    // a rerun skips it (and does not report it again) unless it has grown since; grown,
    // it is read on from the record where reading stopped.
    std::uint64_t read_to = reader->offset();
    struct stat now {};
    if (ended_short && ::fstat(reader->descriptor(), &now) == 0)
        read_to = static_cast<std::uint64_t>(now.st_size);
    fingerprint_capture(*reader, read_to, pos);
    // Committed by run() with the engine state after the next capture or the final flush:
    // the engine checkpoint (tens of MB at a busy sensor) is then written once, not twice,
    // and a crash before that commit resumes from the last one, as always.
    writer_.set_checkpoint(key, format_position(pos));
    writer_.set_checkpoint(ino_key, inode_positions_[ino_key] = inode_value());
}

void ingest_pipeline::handle_line(line_source& src, std::string_view line, std::uint64_t line_no) {
    flush_attempts();
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // A file system that lost the tail of a log in a crash gives it back as NUL bytes, which
    // then lead the next line the daemon writes: that line is still a line. So is one after
    // a line cut short by the crash and the NULs (the usual shape: the cut line's start was
    // written, its end was not): the cut start is reported, the line after the NULs read.
    // (A JSON line holding a raw NUL is invalid JSON, as RFC 8259 says.)
    while (!line.empty() && line.front() == '\0') line.remove_prefix(1);
    if (const auto nul = line.rfind('\0'); !src.json && nul != std::string_view::npos) {
        report(src.path + ":" + std::to_string(line_no),
               "a line cut short, then NUL bytes (a crash lost its end?); the text after them "
               "is read as a line",
               bad_input_reason::garbage_log_line, src.reports);
        line.remove_prefix(nul + 1);
    }
    if (line.empty()) return;  // a blank line, LF or CRLF
    if (src.json) {
        // Blank too: JSON's whitespace alone (was reported as invalid JSON).
        if (line.find_first_not_of(" \t") == std::string_view::npos) return;
        association_line al;
        std::string error;
        if (!parse_association_line(line, al, error)) {
            report(src.path + ":" + std::to_string(line_no), error,
                   error.starts_with("invalid JSON") ? bad_input_reason::invalid_json
                                                     : bad_input_reason::json_schema,
                   src.reports);
            return;
        }
        // A sensor's clock running ahead would date the /64's evidence in the future, and a
        // listing is kept until its last evidence is `expiry` old: it would never expire.
        if (al.assoc.time_us > latest_evidence_s() * 1'000'000) {
            report(src.path + ":" + std::to_string(line_no),
                   "time is more than a day in the future (the sensor's clock?)",
                   bad_input_reason::json_schema, src.reports);
            return;
        }
        // Evidence older than the store keeps is dropped by the store as it comes (a
        // central fed an old archive stored nothing and said it listed): skipped, counted,
        // and noted once a source. Not bad input: the line is well formed.
        if (al.assoc.time_us / 1'000'000 + store_.retain_seconds() < std::time(nullptr)) {
            ++counters_.stale_remote_associations;
            if (!src.stale_noted && options_.diagnostics)
                std::fprintf(options_.diagnostics,
                             "v6bl ingest: %s:%llu: time older than the store keeps evidence "
                             "(%u days): skipped, as are later such lines (counted in the "
                             "summary)\n",
                             src.path.c_str(), static_cast<unsigned long long>(line_no),
                             store_.retain_seconds() / 86400);
            src.stale_noted = true;
            return;
        }
        ++counters_.remote_associations;
        al.assoc.sensors = sensor_bit_of(al.sensor);
        writer_.add_association(al.assoc, al.ipv4_rejected, false);
        return;
    }
    ++counters_.log_lines;
    reject_event ev;
    switch (
        parse_reject_line(line, hint_, ev, options_.postscreen_threshold, options_.dnsbl_texts)) {
        case log_line_status::dnsbl_reject: {
            // As for remote association lines: a time far ahead would keep the IPv4
            // rejected (and its /64s listable) for as long as the store keeps it; one before
            // 1970 is no MTA's. Both are clamped into the store's 32-bit times otherwise.
            if (ev.unix_seconds <= 0 || ev.unix_seconds > latest_evidence_s()) {
                report(src.path + ":" + std::to_string(line_no),
                       ev.unix_seconds <= 0
                           ? "time at or before 1970-01-01T00:00:00Z (no MTA's)"
                           : "time is more than a day in the future (the MTA's clock, or --year?)",
                       bad_input_reason::garbage_log_line, src.reports);
                break;
            }
            writer_.add_rejection(ev);
            write_relisted();
            break;
        }
        case log_line_status::other_reject:
            ++counters_.other_rejects;
            break;
        case log_line_status::garbage: {
            std::string why = journal_line_problem(line);
            if (why.empty()) why = log_timestamp_problem(line, hint_);
            report(src.path + ":" + std::to_string(line_no),
                   why.empty() ? std::string("unrecognized log line")
                               : "unrecognized log line: " + why,
                   bad_input_reason::garbage_log_line, src.reports);
            break;
        }
        case log_line_status::ipv6_client:
            ++counters_.ipv6_client_rejects;
            break;
        case log_line_status::not_reject:
            break;
    }
}

std::string ingest_pipeline::line_checkpoint(line_source& src) {
    if (src.file && src.pos.off > 0)
        take_tail_fingerprint(::fileno(src.file), src.pos.off, src.pos);
    else
        src.pos.has_tail = false;
    return format_position(src.pos);
}

// Every log and JSON checkpoint is also kept under the file's inode ("log-ino:DEV:INO"),
// so that a file is the same source whatever name it has now: a rotated file given by its
// new name (`--rejects maillog.1` after runs of `maillog`), both names in one run, a file
// reopened after a rename while following. The furthest position of the inode wins.
std::string ingest_pipeline::inode_key(const line_source& src, unsigned long long dev,
                                       unsigned long long ino) {
    return std::string(src.json ? "json-ino:" : "log-ino:") + std::to_string(dev) + ":" +
           std::to_string(ino);
}

void ingest_pipeline::set_line_checkpoint(line_source& src) {
    std::string v = line_checkpoint(src);
    // The inode's: the furthest of this run's positions (another name may be further), as
    // long as the file still has the bytes that position was taken after (not truncated or
    // written over since).
    const std::string k = inode_key(src, src.dev, src.pos.ino);
    const std::string mine = with_head(v, ::fileno(src.file), src.pos.off);
    auto [it, fresh] = inode_positions_.try_emplace(k, mine);
    if (!fresh) {
        const source_position kept = parse_position(it->second);
        if (kept.off <= src.pos.off || !kept.has_tail ||
            tail_fingerprint(::fileno(src.file), kept.at, kept.tail_width) != kept.tail)
            it->second = mine;
    }
    writer_.set_checkpoint(k, it->second);
    // A path through a symlink: which file it named, for a run after the link is pointed
    // at another file (read_relinked_rest).
    if (src.legacy_key != src.key) writer_.set_checkpoint(link_key(src), src.key);
    writer_.set_checkpoint(src.key, std::move(v));
}

// The path as given (symlinks not resolved) → the source key of the file it named when
// last read.
std::string ingest_pipeline::link_key(const line_source& src) {
    return "link:" + src.legacy_key;
}

// The path is a symlink pointed at another file since the last run (`maillog` → a
// date-named file, moved on at midnight): the file it named then is read on from its
// checkpoint first, as a rename rotation's is (read_rotated_rest), so that the lines
// written to it after the last run are not lost. Only while that file is still there with
// the checkpoint's inode and no shorter than where reading stopped. True when, under
// --follow, that file stays open as `src`'s, followed until quiet as when the link moves
// while followed (its checkpoints under its own name until then).
bool ingest_pipeline::read_relinked_rest(line_source& src) {
    if (src.legacy_key == src.key) return false;
    const auto old_key = store_.checkpoint(link_key(src));
    const std::string prefix = src.json ? "json:" : "log:";
    if (!old_key || *old_key == src.key || !old_key->starts_with(prefix)) return false;
    const std::string old_path = old_key->substr(prefix.size());
    const source_position cp = parse_position(store_.checkpoint(*old_key));
    if (cp.ino == 0) return false;
    struct stat st {};
    if (::stat(old_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<unsigned long long>(st.st_ino) != cp.ino ||
        static_cast<unsigned long long>(st.st_size) < cp.off ||
        (cp.has_tail && cp.at > 0 && tail_fingerprint(old_path, cp.at, cp.tail_width) != cp.tail)) {
        if (options_.diagnostics)
            std::fprintf(options_.diagnostics,
                         "v6bl ingest: %s names another file since the last run, and the one it "
                         "named then (%s, read to line %llu) is gone or another file now: lines "
                         "written to it after the last run are not read\n",
                         src.path.c_str(), old_path.c_str(), cp.idx);
        return false;
    }
    if (options_.diagnostics)
        std::fprintf(options_.diagnostics,
                     "v6bl ingest: %s names another file since the last run: reading the rest "
                     "of %s first\n",
                     src.path.c_str(), old_path.c_str());
    line_source old;
    old.path = old_path;
    old.key = *old_key;
    old.legacy_key = *old_key;
    old.json = src.json;
    old.rest_of_another = true;
    poll_lines(old, true);
    if (old.file) set_line_checkpoint(old);
    if (!options_.follow || !old.file) return false;
    // The MTA may write to it until it reopens its log (helper-86: two lines 0.4 and 0.6 s
    // after a restart were lost): followed until quiet, then the new target (poll_lines
    // moves the key to it then).
    src.key = *old_key;
    follow_instead(src, old);
    return true;
}

// `src` follows the file `other` has open (a rotated or relinked file's rest, read for it)
// until that file is quiet (poll_lines), from where `other` read it to.
void ingest_pipeline::follow_instead(line_source& src, line_source& other) {
    src.file = std::exchange(other.file, nullptr);
    src.pos = other.pos;
    src.dev = other.dev;
    src.partial = std::move(other.partial);
    src.skipping_long_line = other.skipping_long_line;
    src.skipped = other.skipped;
    src.dirty = other.dirty;
    src.renamed_quiet_since_ms = 0;
}

// The furthest position known for the open file `fd` (`st`) under its inode, from this run
// or the store; empty when none names it with the bytes at its start and before its offset
// unchanged (an inode reused by another file).
std::string ingest_pipeline::inode_position(const line_source& src, int fd,
                                            const struct ::stat& st) {
    const std::string k = inode_key(src, static_cast<unsigned long long>(st.st_dev),
                                    static_cast<unsigned long long>(st.st_ino));
    std::string v;
    if (const auto it = inode_positions_.find(k); it != inode_positions_.end())
        v = it->second;
    else
        v = store_.checkpoint(k).value_or("");
    return inode_position_in(v, fd, st) ? v : std::string();
}

// The path names another file than at the checkpoint: rotated by rename since (logrotate
// between two runs, or while ingest was down). The file the checkpoint was taken in is
// looked for beside the path (maillog.1, maillog-20261201: same directory, same inode, the
// bytes before the checkpoint unchanged) and read on from the checkpoint first, so that
// the lines written to it after the last run are not lost. A compressed or moved one is
// not found: its rest is lost, and a note says so. True when, under --follow, the old file
// stays open as `src`'s, followed until quiet (the caller then opens no new file yet).
bool ingest_pipeline::read_rotated_rest(line_source& src, const struct ::stat& now) {
    // (A path with a link record has had its checkpoints under resolved keys since: an
    // older version's key for it names a target long gone.)
    const source_position cp =
        parse_position(store_.checkpoint(link_key(src)) ? store_.checkpoint(src.key)
                                                        : checkpoint_of(src.key, src.legacy_key));
    if (cp.ino == 0 || cp.ino == static_cast<unsigned long long>(now.st_ino)) return false;
    // Beside the file the path names (a symlinked path: beside its target).
    const std::filesystem::path dir = std::filesystem::path(source_path(src.path)).parent_path();
    // Not found: compressed at rotation (logrotate's `compress` without `delaycompress`),
    // moved elsewhere or deleted. What was written to it after the last run is lost to this
    // source; said so, unless the path names a copy of the same file (rsync: poll_lines
    // reads on from the checkpoint).
    auto not_found = [&] {
        if (!options_.diagnostics ||
            (cp.has_tail && cp.at > 0 && static_cast<unsigned long long>(now.st_size) >= cp.at &&
             tail_fingerprint(src.path, cp.at, cp.tail_width) == cp.tail))
            return;
        std::fprintf(options_.diagnostics,
                     "v6bl ingest: %s was rotated since the last run, and the file read then "
                     "(inode %llu, to line %llu) is not beside it any more (compressed, "
                     "moved or deleted): lines written to it after the last run are not read\n",
                     src.path.c_str(), cp.ino, cp.idx);
    };
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir.empty() ? "." : dir, ec)) {
        struct stat st {};
        if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
            st.st_dev != now.st_dev || static_cast<unsigned long long>(st.st_ino) != cp.ino)
            continue;
        if (static_cast<unsigned long long>(st.st_size) < cp.off ||
            (cp.has_tail && cp.at > 0 &&
             tail_fingerprint(entry.path().string(), cp.at, cp.tail_width) != cp.tail)) {
            not_found();  // the inode was reused: not the file of the checkpoint
            return false;
        }
        if (options_.diagnostics)
            std::fprintf(options_.diagnostics,
                         "v6bl ingest: %s was rotated since the last run: reading the rest of "
                         "%s first\n",
                         src.path.c_str(), entry.path().c_str());
        line_source rotated;
        rotated.path = entry.path().string();
        rotated.key = src.key;
        rotated.legacy_key = src.legacy_key;
        rotated.json = src.json;
        rotated.rest_of_another = true;
        poll_lines(rotated, true);
        // Also when it had nothing new: its inode's position is then in the store (a store
        // written before inode positions has none), for a later run given its new name.
        if (rotated.file) set_line_checkpoint(rotated);
        warn_skipped_rotations(src, dir, st, now, "since the last run");
        if (options_.follow && rotated.file) {
            // Followed on as a running follower follows a renamed log: the MTA may write to
            // it until it reopens its log, and the new file is read once this one has been
            // quiet for the grace period (poll_lines). Switched at once, the lines written
            // to it after a restart were never read.
            follow_instead(src, rotated);
            return true;
        }
        return false;
    }
    not_found();
    return false;
}

// Rotated more than once since the last run (maillog → .1 → .2, a new maillog.1 between):
// the files written between the checkpoint's and the current one are not this source's
// to read (given by their own names they would be read whole, so reading them here could
// count their lines twice). Named instead, so that no line is lost without a word: plain
// files beside the old one, named after the log with a rotation's suffix (`maillog.1`,
// `maillog-20261203`; not compressed), last written no earlier than it.
void ingest_pipeline::warn_skipped_rotations(const line_source& src,
                                             const std::filesystem::path& dir,
                                             const struct ::stat& old, const struct ::stat& now,
                                             const char* when) {
    if (!options_.diagnostics) return;
    const std::string base = std::filesystem::path(source_path(src.path)).filename().string();
    std::error_code ec;
    std::vector<std::pair<std::int64_t, std::string>> skipped;
    for (const auto& entry : std::filesystem::directory_iterator(dir.empty() ? "." : dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() <= base.size() + 1 || !name.starts_with(base) ||
            (name[base.size()] != '.' && name[base.size()] != '-'))
            continue;
        // A rotation's suffix is a number or a date (`.1`, `-20261203`, `-2026-12-03.1`):
        // `mail.info` beside `mail`, or anything compressed, is no file of this log's.
        bool rotation = true;
        for (char ch : std::string_view(name).substr(base.size() + 1))
            rotation = rotation && ((ch >= '0' && ch <= '9') || ch == '-' || ch == '.');
        struct stat st {};
        if (!rotation || ::lstat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
            st.st_dev != now.st_dev || st.st_ino == old.st_ino || st.st_ino == now.st_ino)
            continue;
        const std::int64_t mtime_ns =
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
        const std::int64_t old_ns =
            static_cast<std::int64_t>(old.st_mtim.tv_sec) * 1'000'000'000 + old.st_mtim.tv_nsec;
        if (mtime_ns >= old_ns) skipped.emplace_back(mtime_ns, entry.path().string());
    }
    std::sort(skipped.begin(), skipped.end());
    for (const auto& [t, path] : skipped)
        std::fprintf(options_.diagnostics,
                     "v6bl ingest: %s was rotated more than once %s: %s, written in between, "
                     "was not read (give it with --rejects to read it)\n",
                     src.path.c_str(), when, path.c_str());
}

bool ingest_pipeline::poll_lines(line_source& src, bool at_start) {
    struct stat st {};
    if (src.file && truncated_in_place(src)) {
        // copytruncate while following, the new content maybe already past where reading
        // was: read the file again from its start, not on from the old position.
        if (options_.diagnostics)
            std::fprintf(options_.diagnostics,
                         "v6bl ingest: %s was truncated in place (copytruncate): reading it from "
                         "the start (lines written just before the cut and not read yet are in "
                         "the copy, if one was made)\n",
                         src.path.c_str());
        std::fclose(src.file);
        src.file = nullptr;
    }
    if (!src.file) {
        if (::stat(src.path.c_str(), &st) != 0) {
            if (at_start) {
                int r = 0;
                report(src.path, std::string("cannot open: ") + std::strerror(errno),
                       bad_input_reason::unreadable_file, r);
                src.start_pending = options_.follow;
            }
            return false;
        }
        if (!S_ISREG(st.st_mode)) {
            if (at_start) {
                int r = 0;
                report(src.path, not_a_regular_file(st), bad_input_reason::unreadable_file, r);
                src.start_pending = options_.follow;
            }
            return false;
        }
        // (a restart between a rotation's rename and the new file: the rotated file's rest
        // is read first once the path names a file again, as at a start)
        at_start = at_start || std::exchange(src.start_pending, false);
        if (at_start) {
            if (!src.rest_of_another) {
                // --follow: the old file stays open, followed until quiet
                if (read_relinked_rest(src)) return true;
                if (read_rotated_rest(src, st)) return true;
            }
        }
        // Non-blocking: should the path name a FIFO by now, opening it must not wait for a
        // writer (a blocked open() outlives SIGTERM).
        const int fd = ::open(src.path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            cannot_open(src, errno);
            return false;
        }
        // The file opened, whatever the path names by now.
        // Blocking again once it is known to be a regular file (network or FUSE file systems
        // could otherwise answer a read with EAGAIN).
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
            !(src.file = ::fdopen(fd, "rb"))) {
            const int e = errno;
            ::close(fd);
            // (a path that names something else than a regular file by now: the next poll's
            // stat() says so)
            if (S_ISREG(st.st_mode)) cannot_open(src, e);
            return false;
        }
        src.open_errno = 0;
        source_position cp =
            at_start ? parse_position(checkpoint_of(src.key, src.legacy_key)) : src.left_at;
        src.left_at = {};
        const auto size = static_cast<unsigned long long>(st.st_size);
        const auto now_tail = tail_fingerprint(::fileno(src.file), cp.at, cp.tail_width);
        if (cp.ino != st.st_ino &&
            !replaced_by_same_start(cp, size, now_tail, src.path, options_.diagnostics))
            cp = {};
        if (cp.off > size) {
            // Cut shorter since (copytruncate between two runs): read from its start. What
            // was written to it after the last run and before the cut is in the copy.
            if (options_.diagnostics)
                std::fprintf(options_.diagnostics,
                             "v6bl ingest: %s is shorter (%llu bytes) than where it was read to "
                             "(%llu): truncated since (copytruncate?); reading it from the "
                             "start (lines written before the cut are in the copy, if one was "
                             "made)\n",
                             src.path.c_str(), size, cp.off);
            cp = {};
        }
        if (rewritten_since(cp, now_tail, src.path, options_.diagnostics)) cp = {};
        // Read further before, under another name or earlier in this run (see inode_key):
        // on from there.
        if (const std::string v = inode_position(src, ::fileno(src.file), st); !v.empty()) {
            const source_position by_inode = parse_position(v);
            if (by_inode.off > cp.off) {
                if (options_.diagnostics)
                    std::fprintf(options_.diagnostics,
                                 "v6bl ingest: %s was read further before (under another name, "
                                 "a rotation): reading on from line %llu\n",
                                 src.path.c_str(), by_inode.idx + 1);
                cp = by_inode;
            }
        }
        src.dev = static_cast<unsigned long long>(st.st_dev);
        cp.ino = st.st_ino;
        if (cp.off && fseeko(src.file, static_cast<off_t>(cp.off), SEEK_SET) != 0) {
            cp = {};
            cp.ino = st.st_ino;
        }
        src.pos = cp;
        // A path through a symlink that names another file than the link record says (or
        // has none yet): the record moves with the next commit, even if nothing is read.
        if (at_start && src.legacy_key != src.key && store_.checkpoint(link_key(src)) != src.key)
            src.dirty = true;
        src.partial.clear();
        src.skipping_long_line = false;
        src.skipped = 0;
    }
    bool any = false;
    if (options_.fallback_year == 0) hint_.now_unix = std::time(nullptr);
    // A followed log grows now: the captures' range reaches up to the clock.
    if (following_ && hint_.reference_unix != 0 && hint_.now_unix > hint_.reference_last_unix)
        hint_.reference_last_unix = hint_.now_unix;
    static constexpr std::size_t chunk = 1 << 20;
    std::string buf(chunk, '\0');
    // A signal is seen between reads: a file that never ends (a device, a runaway log) must
    // not keep a run from stopping.
    while (!stopping()) {
        errno = 0;
        const std::size_t n = std::fread(buf.data(), 1, chunk, src.file);
        // A signal that stops the run ends a read that would wait for good (v6bl ingest
        // installs its handlers without SA_RESTART): no read error. What came before the
        // signal is read; the loop stops at its test.
        const bool interrupted = n < chunk && std::ferror(src.file) && errno == EINTR;
        if (interrupted) std::clearerr(src.file);
        if (n == 0 && interrupted) continue;
        if (n == 0) break;
        any = true;
        std::size_t start = 0;
        for (;;) {
            // NUL bytes ahead of a line (a file system that lost a log's tail in a crash gives
            // it back as NULs, any number of them) are passed over, not taken as the start of
            // a line: the line after them stays a line, also behind more than 64 KiB of NULs.
            if (src.partial.empty() && !src.skipping_long_line) {
                const std::size_t from = start;
                while (start < n && buf[start] == '\0') ++start;
                src.pos.off += start - from;
                if (start == n) break;
            }
            const void* nl = std::memchr(buf.data() + start, '\n', n - start);
            if (!nl) {
                if (src.skipping_long_line) {
                    src.skipped += n - start;
                    break;
                }
                src.partial.append(buf.data() + start, n - start);
                // A line longer than 64 KiB is no log line: count it and drop it to its
                // newline (its tail is no line of its own). One byte more may be the CR of
                // a CRLF line at the limit: that is known at the newline.
                if (src.partial.size() > max_line + 1) {
                    src.skipped = src.partial.size();
                    src.partial.clear();
                    src.skipping_long_line = true;
                    report(src.path + ":" + std::to_string(src.pos.idx + 1), "line too long",
                           src.json ? bad_input_reason::invalid_json
                                    : bad_input_reason::garbage_log_line,
                           src.reports);
                }
                break;
            }
            const std::size_t end =
                static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data());
            std::string_view line;
            // The line's length without its newline; a final CR does not count against the
            // limit (a CRLF line may be as long as an LF one)
            const std::size_t len = src.partial.size() + (end - start);
            const bool cr = len > 0 && (end > start ? buf[end - 1] : src.partial.back()) == '\r';
            if (src.skipping_long_line) {
                ++src.pos.idx;
                src.pos.off += src.skipped + (end - start) + 1;
                src.skipped = 0;
                src.skipping_long_line = false;
            } else if (len - cr > max_line) {
                // the same limit whether or not the line crossed a read
                report(
                    src.path + ":" + std::to_string(src.pos.idx + 1), "line too long",
                    src.json ? bad_input_reason::invalid_json : bad_input_reason::garbage_log_line,
                    src.reports);
                ++src.pos.idx;
                src.pos.off += src.partial.size() + (end - start) + 1;
                src.partial.clear();
            } else if (src.partial.empty()) {
                line = std::string_view(buf.data() + start, end - start);
                handle_line(src, line, ++src.pos.idx);
                src.pos.off += end - start + 1;
            } else {
                src.partial.append(buf.data() + start, end - start);
                handle_line(src, src.partial, ++src.pos.idx);
                src.pos.off += src.partial.size() + 1;
                src.partial.clear();
            }
            start = end + 1;
            src.dirty = true;
            if (++since_commit_ >= options_.commit_every ||
                ((since_commit_ & 0xFFFF) == 0 &&
                 wall_ms() - last_commit_ms_ >= options_.commit_interval_ms)) {
                set_line_checkpoint(src);
                // With a live capture going, the commit holds its attempts.
                live_state_for_commit();
                commit_if_due(true);
            }
        }
    }
    if (std::ferror(src.file)) {  // fread's 0 is no end of the file then
        report(src.path + ":" + std::to_string(src.pos.idx + 1),
               std::string("read error: ") + std::strerror(errno),
               bad_input_reason::unreadable_file, src.reports);
        std::clearerr(src.file);
    }
    if (!options_.follow && !stopping() && (!src.partial.empty() || src.skipping_long_line)) {
        // The file ends inside a line: one still being written (an MTA's log, another
        // sensor's --associations-out between flushes). It is left for the next run, which
        // reads it whole once its newline is there; the checkpoint stays at its start. Read
        // now, its rest would come back as a line of its own.
        if (options_.diagnostics && !src.partial.empty())
            std::fprintf(options_.diagnostics,
                         "v6bl ingest: %s:%llu: the last line has no newline yet; it is read "
                         "once it has one\n",
                         src.path.c_str(), src.pos.idx + 1);
        src.partial.clear();
        src.skipping_long_line = false;
        src.skipped = 0;
    }
    if (src.dirty) {
        set_line_checkpoint(src);
        src.dirty = false;
    }
    if (options_.follow) {
        std::clearerr(src.file);
        // Rotation by rename: the path names a new file, while the MTA may still write to
        // the old one until it reopens its log (logrotate's postrotate HUP). The old file is
        // read until it has been quiet for a while, then the new one from its start (its
        // lines wait meanwhile). The checkpoint names the old file until then.
        if (::stat(src.path.c_str(), &st) == 0 &&
            static_cast<unsigned long long>(st.st_ino) != src.pos.ino) {
            const std::int64_t now = wall_ms();
            const std::int64_t grace = std::max<std::int64_t>(1000, 4 * options_.poll_interval_ms);
            if (any || src.renamed_quiet_since_ms == 0) {
                src.renamed_quiet_since_ms = now;
            } else if (now - src.renamed_quiet_since_ms >= grace) {
                // Renamed twice while this one was followed: the file in between (its lines
                // are not read) is named, as after two rotations between runs.
                struct stat old {};
                if (::fstat(::fileno(src.file), &old) == 0)
                    warn_skipped_rotations(
                        src, std::filesystem::path(source_path(src.path)).parent_path(), old, st,
                        "while it was followed");
                src.left_at = src.pos;
                if (src.pos.off > 0)
                    take_tail_fingerprint(::fileno(src.file), src.pos.off, src.left_at);
                else
                    src.left_at.has_tail = false;
                std::fclose(src.file);
                src.file = nullptr;
                src.partial.clear();
                src.skipping_long_line = false;
                src.skipped = 0;
                src.renamed_quiet_since_ms = 0;
                // A symlink pointed at another file: the source's checkpoint goes under the
                // new target's name from now on (the old one's stays under its own).
                if (src.legacy_key != src.key)
                    src.key = (src.json ? "json:" : "log:") + source_path(src.path);
                any = true;  // poll again at once: the new file has lines waiting
            }
        }
    }
    return any;
}

// The open file was truncated in place since it was read (copytruncate): it is shorter than
// what was read of it, or the bytes before the last checkpoint are no longer those.
bool ingest_pipeline::truncated_in_place(line_source& src) {
    if (!options_.follow) return false;
    struct stat st {};
    if (::fstat(::fileno(src.file), &st) != 0) return false;
    const unsigned long long read_to = src.pos.off + src.partial.size() + src.skipped;
    if (static_cast<unsigned long long>(st.st_size) < read_to) return true;
    return src.pos.has_tail && src.pos.at > 0 &&
           tail_fingerprint(::fileno(src.file), src.pos.at, src.pos.tail_width) != src.pos.tail;
}

int ingest_pipeline::run() {
    // Also for a run stopped by a signal: --strict says whether any input was bad.
    auto finish = [this] {
        if (associations_out_) std::fflush(associations_out_);
        return options_.strict && counters_.bad_inputs() > 0 ? 2 : 0;
    };
    if (!options_.associations_out.empty()) {
        // A FIFO would block the open until a reader comes, past SIGTERM: regular files only.
        const int fd = ::open(options_.associations_out.c_str(),
                              O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
        struct stat out_st {};
        if (fd < 0 && errno == ENXIO)  // a FIFO without a reader, or a socket
            throw std::runtime_error("cannot open " + options_.associations_out +
                                     ": is a FIFO or a socket (--associations-out needs a "
                                     "regular file)");
        if (fd < 0)
            throw std::runtime_error("cannot open " + options_.associations_out + ": " +
                                     std::strerror(errno));
        if (::fstat(fd, &out_st) != 0 || !S_ISREG(out_st.st_mode) ||
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
            ::close(fd);
            throw std::runtime_error("cannot open " + options_.associations_out + ": " +
                                     not_a_regular_file(out_st) +
                                     " (--associations-out needs a regular file)");
        }
        associations_out_ = ::fdopen(fd, "a");
        if (!associations_out_) {
            ::close(fd);
            throw std::runtime_error("cannot open " + options_.associations_out + ": " +
                                     std::strerror(errno));
        }
        // Lines past the committed length were written by a run that died before its
        // commit: that commit's data is read again, and its lines with it.
        aout_key_ = "aout:" + source_path(options_.associations_out);
        unsigned long long ino = 0, size = 0;
        struct stat st {};
        const auto cp = store_.checkpoint(aout_key_);
        if (cp && std::sscanf(cp->c_str(), "v1 ino=%llu size=%llu", &ino, &size) == 2 &&
            ::fstat(::fileno(associations_out_), &st) == 0 &&
            static_cast<unsigned long long>(st.st_ino) == ino &&
            static_cast<unsigned long long>(st.st_size) > size) {
            if (::ftruncate(::fileno(associations_out_), static_cast<off_t>(size)) != 0)
                throw std::runtime_error("cannot cut " + options_.associations_out +
                                         " back to its committed length: " + std::strerror(errno));
            if (options_.diagnostics)
                std::fprintf(options_.diagnostics,
                             "v6bl ingest: %s: %llu bytes past the last commit (a run that "
                             "stopped before it) cut off; they are written again\n",
                             options_.associations_out.c_str(),
                             static_cast<unsigned long long>(st.st_size) - size);
        }
        writer_.keep_relisted(true);
    }
    order_captures();
    last_commit_ms_ = wall_ms();
    // Rejections first: a capture's associations then join with every rejection given.
    // A file given twice (the same path, or through a symlink) is one source: read twice
    // in one run it would be counted twice (a capture's checkpoint is committed only after
    // the next one; two followers of one log would both read what is appended).
    // So is a file given by two names that no path resolves to the other: hard links, or
    // two mounts of one file system (followed, each name read every line appended).
    std::set<std::string> given;
    std::map<std::string, std::string> given_files;  // kind:dev:ino → the path given first
    auto first_time = [&](const std::string& key, const std::string& path) {
        if (!given.insert(key).second) {
            if (options_.diagnostics)
                std::fprintf(options_.diagnostics,
                             "v6bl ingest: %s: given more than once (%s); read once\n",
                             path.c_str(), key.c_str());
            return false;
        }
        struct stat st {};
        if (::stat(source_path(path).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return true;
        const std::string file = key.substr(0, key.find(':')) + ":" +
                                 std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
                                 std::to_string(static_cast<unsigned long long>(st.st_ino));
        const auto [it, fresh] = given_files.try_emplace(file, path);
        if (fresh) return true;
        if (options_.diagnostics)
            std::fprintf(options_.diagnostics,
                         "v6bl ingest: %s: the same file as %s (a hard link, or another mount of "
                         "it); read once\n",
                         path.c_str(), it->second.c_str());
        return false;
    };
    std::vector<std::unique_ptr<line_source>> lines;
    for (const auto& p : options_.rejects) {
        auto s = std::make_unique<line_source>();
        s->path = p;
        s->key = "log:" + source_path(p);
        s->legacy_key = "log:" + absolute_path(p);
        if (first_time(s->key, p)) lines.push_back(std::move(s));
    }
    for (const auto& p : options_.associations) {
        auto s = std::make_unique<line_source>();
        s->path = p;
        s->key = "json:" + source_path(p);
        s->legacy_key = "json:" + absolute_path(p);
        s->json = true;
        if (first_time(s->key, p)) lines.push_back(std::move(s));
    }
    for (auto& s : lines) {
        poll_lines(*s, true);
        if (!options_.follow && s->file) {
            std::fclose(s->file);
            s->file = nullptr;
        }
        commit_if_due(true);
        if (stopping()) return finish();
    }

    // The address book, checkpointed with every capture commit (whichever sensor's).
    {
        const auto book = state_checkpoint(address_book_key, *book_files_);
        if (!book || !writer_.restore_state(*book)) {
            if (book && options_.diagnostics)
                std::fprintf(options_.diagnostics,
                             "v6bl ingest: address book checkpoint unreadable; addresses are "
                             "looked up in the store\n");
            // A store with an engine state but no book was written by a v6bl that kept
            // every address as evidence.
            writer_.begin_without_state(book.has_value() ||
                                        store_.checkpoint(engine_key_).has_value());
        }
    }
    // Captures share one engine (one sensor); its state is checkpointed with each source.
    if (const auto blob = state_checkpoint(engine_key_, *engine_files_)) {
        state_reader r(*blob);
        const std::uint32_t version = r.get_u32();
        const bool ok = (version == 1 || version == 2) && grouper_.restore(r.get_bytes()) &&
                        engine_.restore(version == 1 ? r.get_bytes() : r.get_rest()) && r.ok();
        if (!ok) {
            grouper_ = attempt_grouper(options_.grouping);
            auto a = options_.association;
            a.sensor_bit = sensor_bit_;
            engine_ = association_engine(a);
            if (options_.diagnostics)
                std::fprintf(
                    options_.diagnostics,
                    "v6bl ingest: engine checkpoint unreadable; starting with empty state\n");
        }
    }
    // Data was committed after this state (a live capture stopped without its final
    // checkpoint): the state's open and unevaluated attempts are in that data already.
    if (store_.checkpoint(engine_key_ + ":behind") == "1") {
        state_behind_ = true;
        const std::size_t open = grouper_.open_attempts();
        grouper_ = attempt_grouper(options_.grouping);
        const std::size_t pending = engine_.drop_pending();
        writer_.book_behind_store();
        if (options_.diagnostics)
            std::fprintf(options_.diagnostics,
                         "v6bl ingest: the engine state is older than the data committed after "
                         "it (a live capture stopped without its last checkpoint): %zu open and "
                         "%zu unevaluated attempts dropped\n",
                         open, pending);
    }
    // The interface is tried before any capture file is read: a typo in its name found
    // after hours of reading them threw that work away (nothing of it committed).
    std::unique_ptr<capture_reader> live;
    auto open_live = [&] {
        std::string err;
        live = capture_reader::open_live(options_.interface, options_.smtp_port,
                                         options_.capture_buffer_mb, err);
        if (!live) throw std::runtime_error(err);
    };
    if (!options_.interface.empty() && !captures_.empty()) {
        open_live();
        live.reset();
    }
    for (const auto& c : captures_) {
        if (!first_time("pcap:" + source_path(c), c)) continue;
        ingest_capture(c);
        if (stopping()) return finish();
    }

    if (!options_.interface.empty()) {
        open_live();
        if (options_.diagnostics) {
            std::fprintf(options_.diagnostics, "v6bl ingest: capturing on %s (%s)\n",
                         options_.interface.c_str(),
                         sensor_bpf_filter(options_.smtp_port, live->link()).c_str());
            std::fflush(options_.diagnostics);
        }
    }
    if (!live) {
        // End of input: close every attempt and evaluate everything pending (retry-round
        // histories stay in the checkpoint for the next run).
        // Without a packet this run and nothing open from the last, the state is the one
        // restored: not saved again (its tables need not serialize in the same order, and
        // a run that read nothing new must not commit).
        const bool state_unchanged =
            counters_.packets == 0 && grouper_.open_attempts() == 0 && engine_.pending() == 0;
        grouper_.flush(closed_);
        record_closed_attempts();
        engine_.flush(found_);
        drain_associations();
        if (!state_unchanged || state_behind_) checkpoint_engine();
        commit_if_due(true);
    }

    if (options_.follow || live) {
        following_ = true;
        live_capture_ = live != nullptr;
        syn_record syn;
        capture_frame frame;
        int live_reports = 0;
        std::string live_failed;  // the capture's error, when it ended (the interface went)
        std::int64_t reports_reset_ms = wall_ms() + options_.report_window_ms;
        while (!stopping() && live_failed.empty()) {
            bool any = false;
            if (wall_ms() >= reports_reset_ms) {
                // The cap lasted the whole run: a follow of months reported its first 20 bad
                // lines and no later one.
                auto reset = [&](const std::string& where, int& reports) {
                    if (reports > options_.max_reports_per_source && options_.diagnostics)
                        std::fprintf(options_.diagnostics,
                                     "v6bl ingest: %s: %d more bad input(s) not reported "
                                     "(counted); reporting again\n",
                                     where.c_str(), reports - options_.max_reports_per_source);
                    reports = 0;
                };
                for (auto& s : lines) reset(s->path, s->reports);
                reset(options_.interface, live_reports);
                reports_reset_ms = wall_ms() + options_.report_window_ms;
            }
            // Beside a live capture without --follow, the logs were read once, at the start
            // (as the flag says); reopened here, each was taken for a rotation's new file.
            if (options_.follow)
                for (auto& s : lines) any |= poll_lines(*s, false);
            if (live) {
                capture_status st = capture_status::frame;
                for (int n = 0; n < 100000; ++n) {
                    st = live->next(frame);
                    if (st != capture_status::frame) break;
                    any = true;
                    ++counters_.packets;
                    const auto ds = decode_syn(frame.link, frame.data, frame.caplen, frame.time_us,
                                               options_.smtp_port, syn);
                    if (ds == decode_status::syn) {
                        ++counters_.syns;
                        if (syn.family == ip_family::v6) ++counters_.syns_v6;
                        grouper_.add(syn, closed_);
                        on_syn_batch(syn.time_us);
                    } else if (ds == decode_status::malformed) {
                        report(options_.interface + ": packet " + std::to_string(counters_.packets),
                               "malformed frame (a header length exceeds the captured bytes)",
                               bad_input_reason::malformed_packet, live_reports);
                    }
                }
                counters_.capture_drops = live->kernel_drops();
                if (st == capture_status::error) {
                    // A handle that failed (its interface deleted) gives nothing again, even
                    // once an interface of that name is back: the run ends, with the error,
                    // for its supervisor to start it again.
                    live_failed = live->last_error();
                    report(options_.interface, live_failed + "; capture stopped",
                           bad_input_reason::unreadable_capture, live_reports);
                } else if (st != capture_status::frame) {
                    // Quiet links still close attempts: advance by the wall clock, once the
                    // kernel's queue is read out (frames still queued are older than the
                    // clock: their attempts would be closed before their later SYNs).
                    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count();
                    grouper_.advance(now_us, closed_);
                    on_syn_batch(now_us);
                }
            }
            sweep_expired();
            if (commit_due()) {
                live_state_for_commit();
                commit_if_due(true);
            }
            if (!any)
                std::this_thread::sleep_for(std::chrono::milliseconds(options_.poll_interval_ms));
        }
        for (auto& s : lines)
            if (s->file) set_line_checkpoint(*s);
        if (live) checkpoint_engine();
        commit_if_due(true);
        if (!live_failed.empty()) {
            finish();
            if (options_.diagnostics)
                std::fprintf(options_.diagnostics,
                             "v6bl ingest: capture on %s ended (%s); what was read until then "
                             "is committed\n",
                             options_.interface.c_str(), live_failed.c_str());
            return 1;
        }
    }
    return finish();
}

}  // namespace v6bl::ingest
