// The serve subcommand: flags and config file into server_config, then run the DNS server.
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.h"
#include "common_flags.h"
#include "config_file.h"
#include "v6bl/monitoring/metrics_endpoint.h"
#include "v6bl/server/dns_server.h"
#include "v6bl/server/run_as_user.h"
#include "v6bl/store/store.h"
#include "v6bl/zones/nibble_name.h"
#include "v6bl/zones/notify_sender.h"
#include "v6bl/zones/notify_service.h"
#include "v6bl/zones/transfer_acl.h"
#include "v6bl/zones/transfer_responder.h"

namespace v6bl::tools {
namespace {

struct serve_args {
    server::server_config config;
    std::vector<std::string> listen;
    std::string config_file;
    std::string log_level = "info";
};

// Every flag of `serve`; also used to re-read the configuration on SIGHUP.
void add_serve_flags(CLI::App& cmd, serve_args& a) {
    auto& c = a.config;
    auto& z = c.zone;
    // Required, but checked in run_serve: `serve --config FILE` may name it in the file,
    // which CLI11 reads only in the standalone parse (parse_serve_arguments).
    cmd.add_option("--db", c.db_path, "the v6bl database directory (required)");
    cmd.add_option("--listen", a.listen,
                   "ADDR:PORT or [ADDR]:PORT, UDP and TCP (repeatable; default 127.0.0.1:5353 "
                   "and [::1]:5353)")
        ->allow_extra_args(false);
    cmd.add_option("--threads", c.threads, "event loops, each with its own sockets")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    cmd.add_option("--metrics", c.metrics_listen, "ADDR:PORT for the Prometheus /metrics endpoint");
    cmd.add_option("--scratch-dir", c.scratch_dir,
                   "directory for the RocksDB secondary's own files (default: a temp dir)");
    cmd.add_option("--log-level", a.log_level, "trace, debug, info, warn, error, critical, off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
        ->capture_default_str();
    add_zone_flags(&cmd, z);  // the same flags as `export`: both describe one zone
    cmd.add_option("--edns-udp-size", z.edns_udp_size, "EDNS UDP payload size we advertise")
        ->check(CLI::Range(512, 65535))
        ->capture_default_str();
    cmd.add_option("--transfer-allow", z.transfer_allow,
                   "prefixes allowed to AXFR/IXFR (repeatable)");
    cmd.add_option("--transfer-tsig", z.transfer_tsig,
                   "[ALGORITHM:]NAME:BASE64SECRET (repeatable)");
    cmd.add_flag("--transfer-require-tsig", z.transfer_require_tsig, "transfers need a valid TSIG");
    cmd.add_option(
        "--notify", z.notify_targets,
        "secondary to NOTIFY on every serial change: ADDR:PORT or [ADDR]:PORT (repeatable)");
    cmd.add_option("--notify-tsig", z.notify_tsig, "[ALGORITHM:]NAME:BASE64SECRET for NOTIFY");
    add_policy_flags(&cmd, c.policy);
    // Server tuning.
    // 0 would make the refresh timer fire once: the store never followed again.
    cmd.add_option("--refresh-ms", c.refresh_ms, "how often the store is caught up")
        ->check(CLI::Range(1, 3600000))
        ->capture_default_str();
    cmd.add_option("--full-rebuild", c.full_rebuild_s,
                   "seconds between full view rebuilds (0: never)")
        ->capture_default_str();
    cmd.add_option("--overlay-limit", c.overlay_limit, "changed /48 regions before a full rebuild")
        ->capture_default_str();
    // No TCP limit has an "off" at 0: 0 closed at once (idle, read timeout), stalled
    // (in flight) or meant 1 (connections).
    cmd.add_option("--tcp-idle-ms", c.tcp_idle_ms, "idle TCP connections are closed after this")
        ->check(CLI::Range(1, 3600000))
        ->capture_default_str();
    cmd.add_option("--tcp-max-connections", c.tcp_max_connections,
                   "open TCP connections at most, split evenly across the --threads loops")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    cmd.add_option("--tcp-max-inflight", c.tcp_max_inflight, "queued answers per TCP connection")
        ->check(CLI::Range(1, 65535))
        ->capture_default_str();
    cmd.add_option("--tcp-read-timeout-ms", c.tcp_read_timeout_ms,
                   "a TCP message begun must be complete within this long")
        ->check(CLI::Range(1, 3600000))
        ->capture_default_str();
    cmd.add_option("--udp-coalesce-us", c.udp_coalesce_us,
                   "under load, pause this long between UDP reads so batches grow (0: off)")
        ->check(CLI::Range(0, 100000))
        ->capture_default_str();
    // Abuse resistance (docs/security.md).
    cmd.add_option("--rrl-rate", c.rrl_rate,
                   "UDP answers per second per source /24 or /56 (0: no rate limit)")
        ->capture_default_str();
    cmd.add_option("--rrl-slip", c.rrl_slip,
                   "every Nth rate-limited answer is sent truncated (TC=1); 0: drop all")
        ->capture_default_str();
    cmd.add_option("--rrl-window", c.rrl_window_s,
                   "seconds of answers a flooding source's debt may reach")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    cmd.add_option("--allow-query", c.allow_query,
                   "source prefix allowed to query, IPv4 or IPv6 CIDR (repeatable; none: all)");
    cmd.add_option("--user", c.user, "drop root to this user after binding the sockets");
    cmd.set_config("--config", "", "TOML file with any of these flags (flags win)");
    cmd.config_formatter(toml_config_reader());
    cmd.allow_config_extras(CLI::config_extras_mode::error);  // a misspelt key is an error
}

std::string lower_zone(std::string z) {
    while (!z.empty() && z.back() == '.') z.pop_back();
    for (char& ch : z) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return z;
}

void finish_args(serve_args& a) {
    if (!a.listen.empty()) a.config.listen = a.listen;
    a.config.zone.zone = lower_zone(a.config.zone.zone);
}

// This process's command line, from /proc (argv[0] first).
std::vector<std::string> process_arguments() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> args;
    std::size_t start = 0;
    while (start < all.size()) {
        const std::size_t end = all.find('\0', start);
        args.push_back(all.substr(start, end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return args;
}

// This process's own arguments after "serve": SIGHUP re-parses them so a flag given on the
// command line keeps winning over the file, as at start.
std::vector<std::string> serve_arguments() {
    std::vector<std::string> out;
    bool after = false;
    for (const auto& s : process_arguments()) {
        if (after) out.push_back(s);
        if (s == "serve") after = true;
    }
    return out;
}

// Parses this process's serve arguments as a standalone command. CLI11 2.1 reads a
// subcommand's own --config file only then (a parent processes its own config file alone),
// so `serve --config FILE` at start and SIGHUP both come through here.
std::optional<serve_args> parse_serve_arguments(const char* context) {
    auto a = std::make_unique<serve_args>();
    CLI::App app{"serve"};
    add_serve_flags(app, *a);
    auto args = serve_arguments();
    const auto configs = config_paths(args);
    for (const auto& c : configs) {
        if (const auto problem = config_file_problem(c); !problem.empty()) {
            spdlog::error("{}: {}", context, problem);
            return std::nullopt;
        }
        if (const auto problem = config_kind_problem(c, app, false); !problem.empty()) {
            spdlog::error("{}: {}", context, problem);
            return std::nullopt;
        }
    }
    std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
    try {
        app.parse(args);
    } catch (const CLI::ConfigError& e) {
        for (const auto& c : configs) {
            if (const auto what = describe_unknown_key(c, e.what(), false); !what.empty()) {
                spdlog::error("{}: {}", context, what);
                return std::nullopt;
            }
        }
        spdlog::error("{}: {}: {} (serve takes the flags as keys without a section)", context,
                      app.get_config_ptr()->as<std::string>(), e.what());
        return std::nullopt;
    } catch (const CLI::ParseError& e) {
        for (const auto& c : configs) {
            if (const auto at = locate_config_error(c, e.what(), args); !at.empty()) {
                spdlog::error("{}: {}", context, at);
                return std::nullopt;
            }
        }
        spdlog::error("{}: {}", context, e.what());
        return std::nullopt;
    }
    return *a;
}

// The config file given before "serve" (`v6bl --config FILE serve`, its [serve] section),
// if any: serve_arguments() does not reach it.
std::optional<std::string> top_level_config_path() {
    const std::vector<std::string> args = process_arguments();
    for (std::size_t i = 1; i < args.size() && args[i] != "serve"; ++i) {
        if (args[i] == "--config") return i + 1 < args.size() ? args[i + 1] : std::string();
        if (args[i].starts_with("--config=")) return args[i].substr(9);
    }
    return std::nullopt;
}

bool top_level_config() {
    return top_level_config_path().has_value();
}

// Whether that file has a [serve] section (checked as a config file before this is asked).
bool top_level_config_has_serve() {
    const auto path = top_level_config_path();
    return path && config_has_section(*path, "serve");
}

void check_usage(const serve_args& a);

// SIGHUP: the same arguments and config files again, checked as at start. What fails keeps
// the running configuration (logged with the reason).
std::optional<server::server_config> reload_config() {
    if (top_level_config()) {
        // Re-reading only serve's own arguments would drop the file's [serve] settings, and
        // serve on the defaults (helper-51).
        spdlog::error(
            "SIGHUP: serve was started as `v6bl --config FILE serve`, whose file a reload "
            "cannot re-read; not reloaded (give the file as `v6bl serve --config FILE`, its "
            "keys without a section, to reload it)");
        return std::nullopt;
    }
    auto a = parse_serve_arguments("SIGHUP");
    if (!a) return std::nullopt;
    finish_args(*a);
    try {
        check_usage(*a);
    } catch (const std::exception& e) {
        spdlog::error("SIGHUP: {}", e.what());
        return std::nullopt;
    }
    return a->config;
}

// What serve cannot start with because of its configuration (exit 64), found before anything
// is opened: the zones stage's transfer ACL and NOTIFY targets are checked here, also when
// the flag that would use them is missing (--transfer-require-tsig without a key).
void check_usage(const serve_args& a) {
    if (a.config.db_path.empty()) throw std::invalid_argument("--db is required");
    if (const std::string problem = zones::zone_config_problem(a.config.zone); !problem.empty())
        throw std::invalid_argument(problem);
    if (const std::string problem = server::config_problem(a.config); !problem.empty())
        throw std::invalid_argument(problem);
    if (!a.config.metrics_listen.empty())
        if (const std::string problem = monitoring::metrics_listen_problem(a.config.metrics_listen);
            !problem.empty())
            throw std::invalid_argument(problem);
    try {
        const zones::transfer_acl acl(a.config.zone);
        const zones::notify_sender notify(a.config.zone);
    } catch (const std::runtime_error& e) {
        throw std::invalid_argument(e.what());
    }
}

int run_serve(serve_args& a) {
    finish_args(a);
    check_usage(a);
    if (auto level = spdlog::level::from_str(a.log_level);
        level != spdlog::level::off || a.log_level == "off")
        spdlog::set_level(level);
    server::server_hooks hooks;
    hooks.reload_config = &reload_config;
    hooks.start_metrics = monitoring::server_metrics_hook();

    // Zone transfers only when someone may transfer: a second secondary reader of its own,
    // whose scratch directory goes when serve ends, also when start-up fails after making it
    // (declared first, so it is removed after the reader is closed).
    struct scratch_dir {
        std::string path;
        ~scratch_dir() {
            std::error_code ec;
            if (!path.empty()) std::filesystem::remove_all(path, ec);
        }
    } scratch;
    std::unique_ptr<store::reputation_store> transfer_store;
    std::unique_ptr<zones::transfer_responder> responder;
    std::string& transfer_scratch = scratch.path;
    if (!a.config.zone.transfer_allow.empty() || !a.config.zone.transfer_tsig.empty()) {
        transfer_scratch =
            (std::filesystem::temp_directory_path() / ("v6bl-xfr-" + std::to_string(::getpid())))
                .string();
        std::filesystem::create_directories(transfer_scratch);
        store::store_options opts;
        opts.path = a.config.db_path;
        opts.create_if_missing = false;
        transfer_store = store::reputation_store::open_reader(opts, transfer_scratch);
        // The transfer reader's own files must stay writable after serve drops root.
        if (!a.config.user.empty())
            server::hand_over_directory(transfer_scratch, server::lookup_user(a.config.user));
        // Its SOA and glue are built now: a zone setting they cannot take (an --ns-address
        // that is none) is a usage error, as it is for the server's own answers.
        try {
            responder = std::make_unique<zones::transfer_responder>(a.config.zone, a.config.policy,
                                                                    *transfer_store, true);
        } catch (const std::runtime_error& e) {
            throw std::invalid_argument(e.what());
        }
        hooks.transfer = responder->as_hook();
    }
    // NOTIFY (RFC 1996) to the secondaries on every serial change, off the loops.
    std::unique_ptr<zones::notify_service> notifier;
    if (!a.config.zone.notify_targets.empty()) {
        notifier = std::make_unique<zones::notify_service>(
            a.config.zone, [](std::uint32_t serial, const zones::notify_result& r) {
                if (r.acknowledged)
                    spdlog::info("NOTIFY serial {} to {}: acknowledged", serial, r.target);
                else
                    spdlog::warn("NOTIFY serial {} to {}: {}", serial, r.target, r.error);
            });
        hooks.serial_changed = [n = notifier.get()](std::uint32_t serial) {
            n->serial_changed(serial);
        };
    }
    const int rc = server::run_server(a.config, hooks);
    notifier.reset();
    responder.reset();
    transfer_store.reset();
    return rc;
}

}  // namespace

void add_server_commands(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<serve_args>();
    CLI::App* serve = app.add_subcommand("serve", "answer DNSBL queries over UDP and TCP");
    add_serve_flags(*serve, *args);
    serve->callback([args, serve, &exit_code] {
        try {
            if (serve->get_config_ptr() != nullptr && serve->get_config_ptr()->count() > 0) {
                // serve's own file replaces what the top-level file's [serve] section set:
                // that section was dropped without a word.
                if (top_level_config_has_serve()) {
                    std::fprintf(stderr,
                                 "v6bl serve: settings in two config files (the [serve] "
                                 "section of `v6bl --config FILE` and `serve --config FILE`): "
                                 "give them in one\n");
                    exit_code = 64;
                    return;
                }
                auto standalone = parse_serve_arguments("v6bl serve");
                if (!standalone) {
                    exit_code = 64;  // EX_USAGE, as for every config file that cannot be used
                    return;
                }
                *args = std::move(*standalone);
            }
            exit_code = run_serve(*args);
        } catch (const std::invalid_argument& e) {
            std::fprintf(stderr, "v6bl serve: %s\n", e.what());
            exit_code = 64;  // EX_USAGE: a value it cannot use
        } catch (const std::exception& e) {
            std::fprintf(stderr, "v6bl serve: %s\n", e.what());
            exit_code = 1;
        }
    });
}

}  // namespace v6bl::tools
