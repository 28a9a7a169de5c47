// The zones subcommands: export (zone file, rbldnsd data, JSON lines) and notify.
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "commands.h"
#include "common_flags.h"
#include "v6bl/store/store.h"
#include "v6bl/zones/atomic_file.h"
#include "v6bl/zones/nibble_name.h"
#include "v6bl/zones/notify_sender.h"
#include "v6bl/zones/zone_export.h"

namespace v6bl::tools {
namespace {

struct export_args {
    std::string db;
    std::string format = "zone";
    std::string out;
    std::string text_mode = "direct";
    zones::zone_config zone;
    store::listing_policy policy;
    long long now = 0;
};

std::string lower_zone(std::string z) {
    while (!z.empty() && z.back() == '.') z.pop_back();
    for (char& c : z) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return z;
}

int run_export(export_args& args) {
    const auto format = zones::parse_export_format(args.format);
    if (!format) {
        std::fprintf(stderr, "v6bl export: unknown format '%s' (zone, rbldnsd, json)\n",
                     args.format.c_str());
        return 64;  // EX_USAGE
    }
    args.zone.zone = lower_zone(args.zone.zone);
    if (const std::string problem = zones::zone_config_problem(args.zone); !problem.empty()) {
        std::fprintf(stderr, "v6bl export: %s\n", problem.c_str());
        return 64;  // EX_USAGE
    }
    if (const std::string problem = inside_store_problem(args.db, args.out, "--out");
        !problem.empty()) {
        std::fprintf(stderr, "v6bl export: %s\n", problem.c_str());
        return 64;  // EX_USAGE
    }
    const auto mode = args.text_mode == "ldns-records" ? zones::zone_text_mode::ldns_records
                                                       : zones::zone_text_mode::direct;
    const std::uint32_t now = clock_or(args.now);
    store::store_options options;
    options.path = args.db;
    options.create_if_missing = false;
    const auto db = store::reputation_store::open_read_only(options);
    const undecodable_warning warning("export", *db);
    zones::export_result result;
    if (args.out.empty() || args.out == "-") {
        std::setvbuf(stdout, nullptr, _IOFBF, 1 << 20);
        result = zones::export_published(*db, args.zone, args.policy, now, *format, stdout, mode);
        if (std::fflush(stdout) != 0) {
            std::perror("v6bl export: stdout");
            return 1;
        }
    } else {
        zones::atomic_file file(args.out);
        result =
            zones::export_published(*db, args.zone, args.policy, now, *format, file.stream(), mode);
        file.commit();
    }
    std::fprintf(stderr,
                 "v6bl export: %s serial %u: %llu listings, %llu holes, %llu covering "
                 "wildcards\n",
                 args.out.empty() ? "stdout" : args.out.c_str(), result.serial,
                 static_cast<unsigned long long>(result.tree.entries),
                 static_cast<unsigned long long>(result.tree.holes),
                 static_cast<unsigned long long>(result.tree.covering));
    return 0;
}

struct notify_args {
    std::string db;
    zones::zone_config zone;
    std::uint32_t serial = 0;
    int timeout_ms = 2000;
    int attempts = 3;
};

int run_notify(notify_args& args) {
    args.zone.zone = lower_zone(args.zone.zone);
    if (const std::string problem = zones::zone_name_problem(args.zone.zone); !problem.empty()) {
        std::fprintf(stderr, "v6bl notify: --zone '%s': %s\n", args.zone.zone.c_str(),
                     problem.c_str());
        return 64;  // EX_USAGE
    }
    if (args.db.empty() && args.serial == 0) {
        std::fprintf(stderr,
                     "v6bl notify: give --db DIR (its serial is announced) or --serial S\n");
        return 64;
    }
    std::uint32_t serial = args.serial;
    if (!args.db.empty()) {
        store::store_options options;
        options.path = args.db;
        options.create_if_missing = false;
        serial = store::reputation_store::open_read_only(options)->serial();
    }
    std::optional<zones::notify_sender> made;
    try {
        made.emplace(args.zone);
    } catch (const std::runtime_error& e) {  // a target or key it cannot use
        std::fprintf(stderr, "v6bl %s\n", e.what());
        return 64;  // EX_USAGE
    }
    zones::notify_sender& sender = *made;
    int failures = 0;
    for (const zones::notify_result& r : sender.send_all(serial, args.timeout_ms, args.attempts)) {
        std::fprintf(stderr, "v6bl notify: %s serial %u: %s\n", r.target.c_str(), serial,
                     r.acknowledged ? "acknowledged" : r.error.c_str());
        if (!r.acknowledged) ++failures;
    }
    return failures == 0 ? 0 : 1;
}

}  // namespace

void add_zones_commands(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<export_args>();
    CLI::App* exp = app.add_subcommand(
        "export", "write the published listings as a zone file, rbldnsd data or JSON lines");
    exp->add_option("--db", args->db, "database directory")->required();
    exp->add_option("--format", args->format, "zone | rbldnsd | json")->capture_default_str();
    exp->add_option("--out", args->out, "output file, written atomically (default stdout)");
    add_clock_flag(exp, args->now);
    exp->add_option("--text-mode", args->text_mode,
                    "zone record rendering: direct (fast) or ldns-records")
        ->check(CLI::IsMember({"direct", "ldns-records"}));
    add_zone_flags(exp, args->zone);
    add_policy_flags(exp, args->policy);
    exp->callback([args, &exit_code] { exit_code = run_export(*args); });

    auto nargs = std::make_shared<notify_args>();
    CLI::App* notify = app.add_subcommand(
        "notify", "send a DNS NOTIFY (RFC 1996) for the zone to the configured secondaries");
    CLI::Option* notify_db =
        notify->add_option("--db", nargs->db, "database directory (its serial is announced)");
    // Both at once used to announce the store's serial and drop --serial without a word.
    notify->add_option("--serial", nargs->serial, "serial to announce (instead of --db)")
        ->excludes(notify_db);
    notify->add_option("--zone", nargs->zone.zone, "zone name")->capture_default_str();
    notify
        ->add_option("--notify", nargs->zone.notify_targets,
                     "secondary as ADDRESS[:PORT] or [IPV6]:PORT (repeatable)")
        ->allow_extra_args(false)
        ->required();
    notify->add_option("--tsig", nargs->zone.notify_tsig,
                       "sign with [ALGORITHM:]NAME:BASE64SECRET (ALGORITHM e.g. hmac-sha256)");
    notify->add_option("--timeout-ms", nargs->timeout_ms, "wait per attempt")
        ->check(CLI::Range(1, 600000))
        ->capture_default_str();
    notify->add_option("--attempts", nargs->attempts, "attempts per secondary")
        ->check(CLI::Range(1, 100))
        ->capture_default_str();
    notify->callback([nargs, &exit_code] { exit_code = run_notify(*nargs); });
}

}  // namespace v6bl::tools
