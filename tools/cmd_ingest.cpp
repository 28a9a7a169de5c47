// The ingest subcommands: `ingest` (captures, logs, remote associations → store) and
// `simulate` (a synthetic sensor testbed).
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "common_flags.h"
#include "v6bl/ingest/ingest_pipeline.h"
#include "v6bl/ingest/log_timestamp.h"
#include "v6bl/ingest/testbed_simulator.h"
#include "v6bl/monitoring/ingest_sample_box.h"
#include "v6bl/monitoring/metrics_endpoint.h"
#include "v6bl/store/store.h"

namespace v6bl::tools {
namespace {

// SIGINT/SIGTERM/SIGHUP end a --follow run cleanly (final commit). A signal handler can only
// reach static storage; this flag is the one piece of it, local to this file.
std::atomic<bool>& stop_flag() {
    static std::atomic<bool> flag{false};
    return flag;
}

// The thread that reads the inputs: a signal the kernel hands to another thread (RocksDB's,
// the metrics server's) is passed on to it, so that a read it is blocked in returns.
pthread_t& ingest_thread() {
    static pthread_t thread = pthread_self();
    return thread;
}

extern "C" void ingest_on_signal(int sig) {
    stop_flag().store(true);
    if (!pthread_equal(pthread_self(), ingest_thread())) pthread_kill(ingest_thread(), sig);
}

// Without SA_RESTART (std::signal sets it): a read that blocks for good (a pseudo-file such
// as tracefs' trace_pipe given as a log) returns EINTR, and the run stops, committing what
// it read. With it, the read went on waiting and SIGTERM was never seen.
void stop_on(int sig) {
    struct sigaction sa {};
    sa.sa_handler = ingest_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(sig, &sa, nullptr);
}

struct ingest_args {
    std::string db;
    std::string log_timezone = "local";
    ingest::ingest_options options;
    bool quiet = false;
    std::string metrics_listen;
    int state_interval_s = 60;  // --state-interval (ingest_options::state_interval_ms)
};

// simulate writes sensor.pcap, maillog and truth.json into --out: files of those names that
// are not an earlier testbed's (`--out /var/log` names a real maillog) are not overwritten.
// A testbed is known by its truth.json, which simulate writes last.
std::string testbed_overwrite_problem(const std::string& dir) {
    std::error_code ec;
    bool any = false;
    for (const char* name : {"sensor.pcap", "maillog", "truth.json"})
        any = any || std::filesystem::symlink_status(dir + "/" + name, ec).type() !=
                         std::filesystem::file_type::not_found;
    if (!any) return {};
    bool testbed = false;
    if (std::ifstream in(dir + "/truth.json"); in) {
        const auto truth = nlohmann::json::parse(in, nullptr, false);
        testbed = truth.is_object() && truth.contains("spammer_both_64s") &&
                  truth.contains("seed") && truth.contains("never_list_64s");
    }
    if (testbed) return {};
    return dir +
           " holds sensor.pcap, maillog or truth.json but no testbed's truth.json: not "
           "overwritten (give an empty directory, or one simulate wrote)";
}

struct simulate_args {
    ingest::simulator_options options;
    long long start = 0;
    std::string log_timezone = "local";
    bool no_resets = false;
};

// --log-timezone of ingest and simulate: sets the process's zone and whether log times
// are local; false (reported) for a zone that does not exist.
bool apply_log_timezone(const char* command, const std::string& zone, bool& local_log_times) {
    std::string error;
    if (!ingest::set_process_time_zone(zone, error)) {
        std::fprintf(stderr, "v6bl %s: --log-timezone: %s\n", command, error.c_str());
        return false;
    }
    local_log_times = zone != "UTC";
    return true;
}

// An empty name (`--interface ''`, `--capture "$UNSET"`) is refused by its flag, not taken
// for "nothing to ingest" or reported as ": cannot open".
const CLI::Validator not_empty(
    [](std::string& v) -> std::string { return v.empty() ? "an empty value names nothing" : ""; },
    "NAME");

}  // namespace

void add_ingest_commands(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<ingest_args>();
    auto* cmd = app.add_subcommand(
        "ingest", "Ingest sensor captures, MTA reject logs and remote associations into the store");
    cmd->add_option("--db", args->db, "store directory")->required();
    // Repeatable options take one value each: `--rejects a b` would read b as a log.
    cmd->add_option("--capture", args->options.captures, "pcap/pcapng capture file (repeatable)")
        ->allow_extra_args(false)
        ->check(not_empty);
    cmd->add_option(
           "--rejects", args->options.rejects,
           "production MTA log with DNSBL rejections (Postfix, Exim, Sendmail; repeatable)")
        ->allow_extra_args(false)
        ->check(not_empty);
    cmd->add_option("--associations", args->options.associations,
                    "remote sensors' association lines, JSON schema v1 (repeatable)")
        ->allow_extra_args(false)
        ->check(not_empty);
    cmd->add_option("--interface", args->options.interface, "capture live on this interface")
        ->check(not_empty);
    cmd->add_option("--capture-buffer-mb", args->options.capture_buffer_mb,
                    "kernel buffer of the live capture, MiB (SYNs beyond it are dropped and "
                    "counted)")
        ->check(CLI::Range(1u, 2047u))
        ->capture_default_str();
    cmd->add_flag(
        "--follow", args->options.follow,
        "keep following the logs (across rotation) and the interface until SIGINT/SIGTERM/SIGHUP");
    cmd->add_option("--year", args->options.year,
                    "year of every BSD syslog timestamp (default: the year nearest the "
                    "capture's time that is not ahead of the clock, else from the clock; leave "
                    "it out for a log spanning New Year)")
        ->check(CLI::Range(1970, 2105));
    cmd->add_option("--log-timezone", args->log_timezone,
                    "zone of log times without an offset (BSD syslog, Exim without "
                    "log_timezone): local (TZ, else /etc/localtime), UTC, or an IANA name "
                    "such as Europe/Berlin")
        ->capture_default_str();
    cmd->add_option("--postscreen-threshold", args->options.postscreen_threshold,
                    "postscreen_dnsbl_threshold of the MTAs: a 'DNSBL rank N' line is a "
                    "rejection from this N")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    cmd->add_option("--dnsbl-text", args->options.dnsbl_texts,
                    "a reject text of your own DNSBL replies (Postfix rbl_reply_maps, Exim "
                    "dnslists message): rejects whose reply contains it count as DNSBL "
                    "rejections of the client (repeatable)")
        ->allow_extra_args(false);
    cmd->add_flag("--strict", args->options.strict, "exit 2 when any input was bad");
    cmd->add_option("--sensor-id", args->options.sensor_id, "this sensor's number (0..63)")
        ->check(CLI::Range(0, 63))
        ->capture_default_str();
    cmd->add_option("--smtp-port", args->options.smtp_port,
                    "the sensor's SMTP port (0: SYNs to any port)")
        ->capture_default_str();
    cmd->add_flag("!--buffered-reads", args->options.direct_capture_reads,
                  "read capture files through the page cache (default: O_DIRECT, read ahead "
                  "by a thread, where the file system allows it)");
    cmd->add_option("--commit-every", args->options.commit_every,
                    "commit after this many packets or lines")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40))
        ->capture_default_str();
    cmd->add_option("--max-book-64s", args->options.writer.max_book_64s,
                    "keep at most this many IPv6 /64s in memory (0: no bound); past it, the one "
                    "seen least recently is forgotten (counted) and its addresses count anew if "
                    "it comes back. Bounds memory under a flood of spoofed sources")
        ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 32))
        ->capture_default_str();
    cmd->add_option("--max-histories", args->options.association.max_one_round_histories,
                    "keep the round histories of about this many addresses seen on one round "
                    "only (0: no bound); past it, those seen least recently are forgotten "
                    "(counted), but none seen in the last minute, and they pair as new if they "
                    "come back. Bounds memory under a flood of spoofed sources")
        ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 32))
        ->capture_default_str();
    cmd->add_option("--state-interval", args->state_interval_s,
                    "with --interface: write the engine state at most every this many seconds "
                    "(commits come every second; a crash loses up to this much pairing)")
        ->check(CLI::Range(1, 86400))
        ->capture_default_str();
    cmd->add_option("--associations-out", args->options.associations_out,
                    "also append this sensor's associations as JSON lines (for a central list)");
    cmd->add_option("--min-emit", args->options.association.min_emit_milli,
                    "weakest association (0..1000) reported at all")
        ->check(CLI::Range(0, 1000))
        ->capture_default_str();
    cmd->add_option("--expire-every", args->options.expire_every_s,
                    "with --follow or --interface: every this many seconds, commit the listings "
                    "that expired (under the policy flags, serve's) so that the serial moves "
                    "(0: never)")
        ->check(CLI::Range(0, 86400))
        ->capture_default_str();
    add_policy_flags(cmd, args->options.expiry_policy);
    cmd->add_flag("--quiet", args->quiet, "no summary paragraph");
    cmd->add_option("--metrics", args->metrics_listen,
                    "serve Prometheus metrics on ADDR:PORT (path /metrics) while ingesting");
    cmd->callback([args, &exit_code] {
        auto& stop = stop_flag();
        ingest_thread() = pthread_self();
        stop_on(SIGINT);
        stop_on(SIGTERM);
        // A terminal's hangup killed the run without its final commit: it ends it cleanly
        // instead (ingest reads its flags once; there is nothing to reload).
        stop_on(SIGHUP);
        args->options.stop = &stop;
        args->options.state_interval_ms = args->state_interval_s * 1000;
        if (args->options.captures.empty() && args->options.rejects.empty() &&
            args->options.associations.empty() && args->options.interface.empty()) {
            std::fprintf(stderr,
                         "v6bl ingest: nothing to ingest (give --capture, --rejects, "
                         "--associations or --interface)\n");
            exit_code = 64;
            return;
        }
        if (const std::string problem = inside_store_problem(
                args->db, args->options.associations_out, "--associations-out");
            !problem.empty()) {
            std::fprintf(stderr, "v6bl ingest: %s\n", problem.c_str());
            exit_code = 64;
            return;
        }
        // Before the store's threads start: the zone is process state (TZ).
        if (!apply_log_timezone("ingest", args->log_timezone, args->options.local_log_times)) {
            exit_code = 64;
            return;
        }
        if (!args->metrics_listen.empty())
            if (const std::string problem =
                    monitoring::metrics_listen_problem(args->metrics_listen);
                !problem.empty()) {
                std::fprintf(stderr, "v6bl ingest: %s\n", problem.c_str());
                exit_code = 64;
                return;
            }
        try {
            store::store_options so;
            so.path = args->db;
            auto db = store::reputation_store::open_writer(so);
            // Scrapes read the counters the ingest thread published at its last commit.
            monitoring::ingest_sample_box box;
            std::unique_ptr<monitoring::metrics_endpoint> metrics;
            if (!args->metrics_listen.empty()) {
                box.publish({{}, db->serial(), db->corrupt_records()});
                args->options.on_commit = [&box, &db](const ingest::ingest_counters& c) {
                    box.publish({c, db->serial(), db->corrupt_records()});
                };
                metrics = monitoring::start_ingest_metrics(args->metrics_listen,
                                                           [&box] { return box.read(); });
                // On stderr, as ingest's other notes (stdout is the summary).
                if (!args->quiet)
                    std::fprintf(stderr, "v6bl ingest: metrics on %s\n", metrics->url().c_str());
            }
            ingest::ingest_pipeline pipeline(*db, args->options);
            exit_code = pipeline.run();
            metrics.reset();
            if (!args->quiet) std::printf("%s\n", pipeline.counters().summary().c_str());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "v6bl ingest: %s\n", e.what());
            exit_code = 1;
        }
    });

    auto sim = std::make_shared<simulate_args>();
    auto* scmd = app.add_subcommand(
        "simulate",
        "Write a synthetic sensor testbed: sensor.pcap, maillog (Postfix) and truth.json");
    scmd->add_option("--out", sim->options.out_dir, "output directory")->required();
    scmd->add_option("--seed", sim->options.seed, "random seed (0 to 2^64-1)")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                // digits only, at most 2^64-1: CLI11 would wrap -1 and saturate 2^64
                const bool digits = !v.empty() && v.size() <= 20 &&
                                    v.find_first_not_of("0123456789") == std::string::npos;
                if (digits && (v.size() < 20 || v <= "18446744073709551615")) return {};
                return "Value " + v + " is not a whole number from 0 to 18446744073709551615";
            },
            "UINT64"))
        ->capture_default_str();
    scmd->add_option("--hosts", sim->options.hosts,
                     "modelled hosts (at least 20 are modelled, whatever is asked)")
        ->capture_default_str();
    scmd->add_option("--hours", sim->options.hours, "capture length in hours")
        ->capture_default_str();
    scmd->add_option("--rate", sim->options.rate,
                     "connection attempts per second at the sensor (background fills up to it)")
        ->capture_default_str();
    scmd->add_option("--nat-size", sim->options.nat_size,
                     "hosts behind each shared NAT IPv4 (hundreds: a carrier-grade NAT)")
        ->capture_default_str();
    scmd->add_option("--start", sim->start,
                     "unix time of the first packet (default: the run ends at the start of this "
                     "UTC hour, so that listings are fresh; give it for byte-identical output)")
        ->check(CLI::Range(1LL, 4294967295LL));
    scmd->add_option("--log-timezone", sim->log_timezone,
                     "zone of the maillog's BSD syslog times, as `ingest --log-timezone` reads "
                     "them: local (TZ, else /etc/localtime), UTC, or an IANA name")
        ->capture_default_str();
    scmd->add_flag("--no-resets", sim->no_resets,
                   "write the SYNs only, as the live capture's BPF filter takes them (by default "
                   "the capture also holds the sensor's RST to each SYN, as one taken on the "
                   "sensor does)");
    scmd->callback([sim, &exit_code] {
        try {
            auto o = sim->options;
            try {
                ingest::check_simulator_options(o);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "v6bl simulate: %s\n", e.what());
                exit_code = 64;  // EX_USAGE: a value out of range
                return;
            }
            if (const std::string problem = testbed_overwrite_problem(o.out_dir);
                !problem.empty()) {
                std::fprintf(stderr, "v6bl simulate: %s\n", problem.c_str());
                exit_code = 64;
                return;
            }
            if (!apply_log_timezone("simulate", sim->log_timezone, o.local_log_times)) {
                exit_code = 64;
                return;
            }
            o.resets = !sim->no_resets;
            if (sim->start > 0) {
                o.start_unix = sim->start;
            } else {
                const std::int64_t now = std::time(nullptr);
                o.start_unix = now - now % 3600 - static_cast<std::int64_t>(o.hours * 3600);
            }
            const auto r = ingest::simulate_testbed(o);
            std::printf(
                "simulate: %llu packets (%llu SYNs), %llu connect() attempts, %llu log lines, %llu "
                "spammers over both families; wrote %s/{sensor.pcap,maillog,truth.json}\n",
                static_cast<unsigned long long>(r.packets), static_cast<unsigned long long>(r.syns),
                static_cast<unsigned long long>(r.attempts),
                static_cast<unsigned long long>(r.log_lines),
                static_cast<unsigned long long>(r.spammers_both), o.out_dir.c_str());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "v6bl simulate: %s\n", e.what());
            exit_code = 1;
        }
    });
}

}  // namespace v6bl::tools
