// The ingest run: sources (captures, live interface, reject logs, remote association lines)
// → attempts → associations → store commits, each source checkpointed with its data.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "v6bl/ingest/association_engine.h"
#include "v6bl/ingest/attempt_grouper.h"
#include "v6bl/ingest/ingest_counters.h"
#include "v6bl/ingest/log_timestamp.h"
#include "v6bl/ingest/reputation_writer.h"
#include "v6bl/store/store.h"

namespace v6bl::ingest {

struct ingest_options {
    std::vector<std::string> captures;
    std::vector<std::string> rejects;
    std::vector<std::string> associations;
    std::string interface;
    // The kernel's buffer for a live capture, in MiB: SYNs that arrive while it is full are
    // dropped (and counted). libpcap's default is 2 MiB, ~8,000 SYNs on a link.
    unsigned capture_buffer_mb = 32;
    bool follow = false;  // keep tailing logs (and the interface) until `stop`
    int year = 0;         // --year for BSD syslog timestamps
    // BSD syslog lines without --year or a capture: 0 takes the year from the wall clock
    // as each batch of lines is read (never more than a day in the future; log_timestamp.h).
    int fallback_year = 0;
    // Log times without an offset (BSD syslog, Exim without log_timezone) are the process's
    // local time (set_process_time_zone, log_timestamp.h), as syslog on the MTA host wrote
    // them; false: UTC. `v6bl ingest --log-timezone` sets the zone and this.
    bool local_log_times = false;
    bool strict = false;     // bad input makes run() return non-zero
    unsigned sensor_id = 0;  // this sensor's bit is 1 << (sensor_id % 64)
    std::uint16_t smtp_port = 25;
    // Capture files are read with O_DIRECT ahead of the parser where the file system allows
    // (capture_reader.h): no copy through the page cache by the ingest's CPU. A disk slower
    // than the ingest is left for the page cache by itself; false reads through it always.
    bool direct_capture_reads = true;
    int postscreen_threshold = 1;
    // The operator's own DNSBL reject texts (reject_log_parser.h), e.g. from rbl_reply_maps.
    std::vector<std::string> dnsbl_texts;
    // Commit after this many packets or lines, or once commit_interval_ms of wall time
    // has passed. A crash redoes at most that much; each commit also writes the engine's
    // state and the address book, so very frequent commits cost throughput. The count is
    // about the interval's worth at 5M packets/s: at 20M, a fast ingest committed every
    // 4 s, and a 21.5M-packet capture took 0.2-0.3 s longer for its second commit
    // (bench/ingest, docs/benchmarks.md).
    std::uint64_t commit_every = 50'000'000;
    int commit_interval_ms = 10000;
    // While following (logs, live capture) commits come this often, so that the server
    // sees new listings within seconds.
    int follow_commit_interval_ms = 1000;
    // A live capture's engine state and address book (tens of MB at a busy sensor) are
    // written at most this often, and when ingest stops; the commits in between carry the
    // data only. A crash then resumes from a state up to this old: the attempts it still
    // held unevaluated are dropped (their successors were committed already), so nothing
    // is counted twice and at most this long plus the settle time of pairing is lost.
    int state_interval_ms = 60000;
    int poll_interval_ms = 200;
    // While following, this often (wall seconds; 0: never) the listings that expired under
    // `expiry_policy` since the store's last commit are named in a commit of their own, so
    // that the serial moves and secondaries drop them (what `v6bl expire` does from cron
    // for other stores: ingest holds the writer lock while it runs). The policy must be
    // serve's, or some lapses move the serial late or for nothing.
    int expire_every_s = 300;
    store::listing_policy expiry_policy;
    // Where bad input is reported ("file:line: reason"); at most this many per source.
    std::FILE* diagnostics = stderr;
    int max_reports_per_source = 20;
    // While following (--follow, --interface), the cap starts again this often (wall time),
    // after a note of how many went unreported: bad lines of a later day are seen too.
    std::int64_t report_window_ms = 3'600'000;
    // Optional: local associations are also written here as JSON lines (schema v1).
    std::string associations_out;
    const std::atomic<bool>* stop = nullptr;
    // Called on the ingest thread after every commit with a copy-able view of the counters
    // (the monitoring stage publishes it to scrapes; reading `counters()` from another
    // thread would race).
    std::function<void(const ingest_counters&)> on_commit;
    grouper_options grouping;
    association_options association;
    writer_options writer;
};

class state_file_set;

class ingest_pipeline {
  public:
    ingest_pipeline(store::reputation_store& store, ingest_options options);
    ~ingest_pipeline();
    ingest_pipeline(const ingest_pipeline&) = delete;
    ingest_pipeline& operator=(const ingest_pipeline&) = delete;

    // Runs every source to its end (or until `stop` when following). Returns the exit code:
    // 0, or 2 when `strict` and bad input was seen. Throws store_error on store failure and
    // std::runtime_error for unusable options (e.g. a live interface that cannot be opened).
    // After it threw, the pipeline is not run again: a new one resumes from the store.
    int run();

    const ingest_counters& counters() const { return counters_; }
    const association_engine& engine() const { return engine_; }

    struct line_source;  // a log or JSON file being read (and followed)

  private:
    bool stopping() const;
    void sweep_expired();
    std::optional<std::string> checkpoint_of(const std::string& key,
                                             const std::string& legacy_key) const;
    void queue_association_out(const association& a, bool rejected);
    void write_relisted();
    bool read_rotated_rest(line_source& src, const struct ::stat& now);
    bool read_relinked_rest(line_source& src);
    static void follow_instead(line_source& src, line_source& other);
    void warn_skipped_rotations(const line_source& src, const std::filesystem::path& dir,
                                const struct ::stat& old, const struct ::stat& now,
                                const char* when);
    bool truncated_in_place(line_source& src);
    void write_associations_out();
    void order_captures();
    std::vector<std::string> captures_;  // options_.captures by first packet
    void ingest_capture(const std::string& path);
    bool poll_lines(line_source& src, bool at_start);
    // The source's position as a checkpoint value, with the fingerprint of its tail.
    static std::string line_checkpoint(line_source& src);
    // Sets it under the source's key and its inode's (inode_key).
    void set_line_checkpoint(line_source& src);
    static std::string link_key(const line_source& src);
    static std::string inode_key(const line_source& src, unsigned long long dev,
                                 unsigned long long ino);
    std::string inode_position(const line_source& src, int fd, const struct ::stat& st);
    void handle_line(line_source& src, std::string_view line, std::uint64_t line_no);
    void record_closed_attempts();
    void record_closed_attempts(std::size_t from, std::size_t to);
    void flush_attempts();
    void write_queued_batch();
    void on_syn_batch(std::int64_t now_us);
    void drain_associations();
    void checkpoint_engine();
    void live_state_for_commit();
    std::optional<std::string> state_checkpoint(const std::string& key, state_file_set& files);
    bool commit_due() const;
    void commit_if_due(bool force);
    void report(const std::string& where, const std::string& what, bad_input_reason why,
                int& reports);
    void cannot_open(line_source& src, int error);

    store::reputation_store& store_;
    ingest_options options_;
    ingest_counters counters_;
    attempt_grouper grouper_;
    association_engine engine_;
    reputation_writer writer_;
    year_hint hint_;
    local_time_zone log_zone_;
    std::uint64_t sensor_bit_ = 1;
    std::string engine_key_;
    std::vector<syn_record> syn_batch_;   // a capture's frames, decoded (ingest_capture)
    std::vector<std::size_t> closed_by_;  // closed_.size() after each of them was grouped
    std::vector<connect_attempt> closed_;
    std::size_t book_prefetched_ = 0;  // closed_[< this] had their book slots asked for
    std::vector<association> found_;
    std::vector<connect_attempt> writer_queue_;  // IPv6 attempts not yet given to the writer
    std::FILE* associations_out_ = nullptr;
    std::string aout_pending_;  // --associations-out lines waiting for their commit
    std::string aout_key_;      // its checkpoint: the file's committed length
    std::uint64_t since_commit_ = 0;
    std::int64_t last_commit_ms_ = 0;
    std::int64_t last_expiry_sweep_ms_ = 0;  // wall ms of sweep_expired()'s last look
    bool following_ = false;
    bool live_capture_ = false;  // following a live interface (its attempts are in the writer)
    // The engine's and the address book's checkpoints: files beside the store (state_file.h).
    std::unique_ptr<state_file_set> engine_files_;
    std::unique_ptr<state_file_set> book_files_;
    std::string state_scratch_;  // one section of them at a time, reused
    // This run's furthest position of each log or JSON file by inode (inode_key → value),
    // and the position of each capture (capture_inode_key).
    std::unordered_map<std::string, std::string> inode_positions_;
    // The store holds data committed after the engine state (`engine:N:behind` is "1").
    bool state_behind_ = false;
    std::int64_t last_state_ms_ = 0;
    bool live_state_written_ = false;  // with the first live commit, whenever that is
};

}  // namespace v6bl::ingest
