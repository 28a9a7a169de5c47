// `v6bl serve` as a library: event loops, listeners, view refresh, signals. Blocks until stopped.
#include "v6bl/server/dns_server.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <uv.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "event_loop_worker.h"
#include "query_acl.h"
#include "response_rate_limiter.h"
#include "serving_state.h"
#include "v6bl/server/run_as_user.h"
#include "view_refresher.h"

namespace v6bl::server {
namespace {

std::uint32_t wall_now() {
    return static_cast<std::uint32_t>(std::time(nullptr));
}

bool same_policy(const store::listing_policy& a, const store::listing_policy& b) {
    return a.min_strength_milli == b.min_strength_milli && a.expiry_seconds == b.expiry_seconds &&
           a.manual_expiry_seconds == b.manual_expiry_seconds &&
           a.escalate_56_after == b.escalate_56_after && a.escalate_48_after == b.escalate_48_after;
}

// The main loop's state: refresh timer, signals and the background full rebuild.
struct server_control {
    server_control(const server_config& c, server_hooks& h, serving_slot& s, view_refresher& r)
        : config(c), hooks(h), slot(s), refresher(r) {}
    const server_config& config;
    server_hooks& hooks;
    serving_slot& slot;
    view_refresher& refresher;
    uv_loop_t loop{};
    uv_timer_t timer{};
    uv_signal_t sighup{}, sigterm{}, sigint{};
    std::shared_ptr<const store::listing_view> view;
    std::shared_ptr<const answer_zone> zone;
    store::listing_policy policy;
    bool rebuilding = false;
    bool stopping = false;
    std::uint32_t last_full = 0;
    std::atomic<std::uint64_t> swaps{0};

    struct rebuild_work {
        uv_work_t req{};
        server_control* control = nullptr;
        store::listing_policy policy;
        std::uint32_t now = 0;
        std::shared_ptr<const store::listing_view> result;
        std::string error;
    };

    // `new_view`: a view from a catch-up or a full rebuild (v6bl_view_swaps_total); the
    // first view at start and a SIGHUP's new zone settings are not swaps (helper-89: each
    // SIGHUP counted one).
    void publish(bool new_view) {
        slot.publish(std::make_shared<const serving_state>(serving_state{view, zone}));
        if (new_view) ++swaps;
        const bool first = !published;
        published = true;
        if (view && view->serial() != announced_serial) {
            announced_serial = view->serial();
            if (hooks.serial_changed && !first) hooks.serial_changed(announced_serial);
        }
    }
    bool published = false;
    std::uint32_t announced_serial = 0;

    void start_full_rebuild() {
        if (rebuilding) return;
        rebuilding = true;
        auto* w = new rebuild_work;
        w->req.data = w;
        w->control = this;
        w->policy = policy;
        w->now = wall_now();
        uv_queue_work(&loop, &w->req, &on_rebuild, &on_rebuilt);
    }

    static void on_rebuild(uv_work_t* req) {
        auto* w = static_cast<rebuild_work*>(req->data);
        try {
            w->result = w->control->refresher.build_full(w->policy, w->now);
        } catch (const std::exception& e) {
            w->error = e.what();
        }
    }

    static void on_rebuilt(uv_work_t* req, int) {
        std::unique_ptr<rebuild_work> w(static_cast<rebuild_work*>(req->data));
        server_control& c = *w->control;
        c.rebuilding = false;
        c.last_full = w->now;
        if (!w->result) {
            spdlog::error("full view rebuild failed: {}", w->error);
            return;
        }
        c.view = std::move(w->result);
        c.publish(true);
        spdlog::info("view rebuilt: serial {}, {} listings", c.view->serial(), c.view->size());
    }

    static void on_timer(uv_timer_t* t) {
        auto& c = *static_cast<server_control*>(t->data);
        try {
            if (c.rebuilding || c.stopping) return;
            const std::uint32_t now = wall_now();
            if (c.config.full_rebuild_s > 0 && now - c.last_full >= c.config.full_rebuild_s) {
                c.start_full_rebuild();
                return;
            }
            std::shared_ptr<const store::listing_view> next;
            switch (c.refresher.refresh(*c.view, c.policy, now, next)) {
                case view_refresher::step::unchanged:
                    break;
                case view_refresher::step::updated:
                    c.view = std::move(next);
                    c.publish(true);
                    spdlog::debug("view serial {} ({} overlay regions)", c.view->serial(),
                                  c.view->overlay_regions());
                    break;
                case view_refresher::step::needs_full:
                    c.start_full_rebuild();
                    break;
            }
        } catch (const std::exception& e) {
            spdlog::error("view refresh: {}", e.what());
        }
    }

    static void on_signal(uv_signal_t* s, int signum) {
        auto& c = *static_cast<server_control*>(s->data);
        try {
            if (c.stopping) {
                spdlog::info("signal {}: already stopping", signum);
                return;
            }
            if (signum == SIGHUP) {
                c.reload();
                return;
            }
            spdlog::info("signal {}: stopping", signum);
            c.stopping = true;
            uv_timer_stop(&c.timer);
            uv_close(reinterpret_cast<uv_handle_t*>(&c.timer), nullptr);
            // The signal handles stay installed until the shutdown is over, no longer
            // keeping the loop alive: closing one gives its signal back its default action,
            // and a second SIGINT or SIGTERM (a supervisor's relay to the process and its
            // group, as `timeout` does) then ended the process before its last lines.
            for (auto* h : {&c.sighup, &c.sigterm, &c.sigint})
                uv_unref(reinterpret_cast<uv_handle_t*>(h));
        } catch (const std::exception& e) {
            spdlog::error("signal {}: {}", signum, e.what());
        }
    }

    void reload() {
        if (!hooks.reload_config) {
            spdlog::warn("SIGHUP: no configuration file to reload");
            return;
        }
        auto next = hooks.reload_config();
        if (!next) {
            spdlog::error("SIGHUP: configuration not reloaded (see above)");
            return;
        }
        if (next->listen != config.listen || next->threads != config.threads ||
            next->db_path != config.db_path || next->user != config.user ||
            next->allow_query != config.allow_query || next->rrl_rate != config.rrl_rate ||
            next->rrl_slip != config.rrl_slip || next->rrl_window_s != config.rrl_window_s)
            spdlog::warn(
                "SIGHUP: listen addresses, threads, the database, --user, --allow-query and "
                "the rate limit need a restart; kept");
        zone = std::make_shared<const answer_zone>(next->zone);
        publish(false);
        if (!same_policy(next->policy, policy)) {
            policy = next->policy;
            start_full_rebuild();
        }
        spdlog::info("SIGHUP: configuration reloaded (zone {})", zone->config().zone);
    }
};

std::string make_scratch_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "v6bl-serve-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
        throw std::runtime_error("cannot create a scratch directory");
    return tmpl;
}

}  // namespace

namespace {

std::vector<listen_address> parse_listen_addresses(const server_config& config) {
    std::vector<listen_address> addresses;
    for (const auto& l : config.listen) {
        auto a = parse_listen_address(l);
        if (!a)
            throw std::invalid_argument("bad listen address '" + l +
                                        "' (ADDR:PORT or [ADDR]:PORT)");
        // Each worker binds every address with SO_REUSEPORT, UDP and TCP apart: port 0
        // would give each socket a port of its own.
        if (ntohs(a->addr.ss_family == AF_INET
                      ? reinterpret_cast<const sockaddr_in*>(&a->addr)->sin_port
                      : reinterpret_cast<const sockaddr_in6*>(&a->addr)->sin6_port) == 0)
            throw std::invalid_argument("listen address '" + l + "': port 0 is not supported");
        for (const auto& b : addresses)
            if (format_sockaddr(b.addr) == format_sockaddr(a->addr))
                throw std::invalid_argument("listen address " + format_sockaddr(a->addr) +
                                            " is given twice");
        addresses.push_back(*a);
    }
    if (addresses.empty()) throw std::invalid_argument("no listen address");
    return addresses;
}

}  // namespace

std::string config_problem(const server_config& config) {
    try {
        parse_listen_addresses(config);
        const query_acl acl(config.allow_query);
        const answer_zone zone(config.zone);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

int run_server(const server_config& config, server_hooks hooks) {
    const std::vector<listen_address> addresses = parse_listen_addresses(config);
    // Our own sockets share each address through SO_REUSEPORT; nobody else's may.
    for (const auto& a : addresses) check_address_free(a);
    // A peer that resets a TCP connection while we write to it must cost that connection
    // (EPIPE), not the process: the default action of SIGPIPE is to terminate.
    std::signal(SIGPIPE, SIG_IGN);
    const unsigned threads = config.threads == 0 ? 1 : config.threads;
    const query_acl acl(config.allow_query);
    response_rate_limiter rrl(rrl_settings{config.rrl_rate, config.rrl_slip, config.rrl_window_s});
    std::optional<user_identity> run_as;
    if (!config.user.empty()) run_as = lookup_user(config.user);

    const bool own_scratch = config.scratch_dir.empty();
    const std::string scratch = own_scratch ? make_scratch_dir() : config.scratch_dir;
    struct scratch_cleanup {
        std::string dir;
        bool own;
        ~scratch_cleanup() {
            std::error_code ec;
            if (own) std::filesystem::remove_all(dir, ec);
        }
    } cleanup{scratch, own_scratch};

    store::store_options opts;
    opts.path = config.db_path;
    opts.create_if_missing = false;
    auto store = store::reputation_store::open_reader(opts, scratch);
    view_refresher refresher(*store, config.overlay_limit);
    serving_slot slot;

    server_control control(config, hooks, slot, refresher);
    control.policy = config.policy;
    control.zone = std::make_shared<const answer_zone>(config.zone);
    control.last_full = wall_now();
    control.view = refresher.build_full(control.policy, control.last_full);
    control.publish(false);

    std::vector<std::unique_ptr<event_loop_worker>> workers;
    const std::size_t tcp_cap = std::max<std::size_t>(1, config.tcp_max_connections / threads);
    const transfer_hook* transfer = hooks.transfer ? &hooks.transfer : nullptr;
    for (unsigned i = 0; i < threads; ++i) {
        workers.push_back(
            std::make_unique<event_loop_worker>(config, slot, transfer, tcp_cap, acl, rrl));
        workers.back()->listen(addresses);
    }

    uv_loop_init(&control.loop);
    uv_timer_init(&control.loop, &control.timer);
    control.timer.data = &control;
    uv_timer_start(&control.timer, &server_control::on_timer, config.refresh_ms, config.refresh_ms);
    for (auto* s : {&control.sighup, &control.sigterm, &control.sigint}) {
        uv_signal_init(&control.loop, s);
        s->data = &control;
    }
    uv_signal_start(&control.sighup, &server_control::on_signal, SIGHUP);
    uv_signal_start(&control.sigterm, &server_control::on_signal, SIGTERM);
    uv_signal_start(&control.sigint, &server_control::on_signal, SIGINT);

    // The metrics endpoint may outlive this function (it belongs to the hook): after the
    // loops are gone the collector answers with the last totals instead of touching them.
    struct collector_guard {
        std::mutex mutex;
        bool stopped = false;
        server_counters last;
    };
    auto guard = std::make_shared<collector_guard>();
    stats_collector collect = [guard, &workers, &slot, &control]() {
        std::lock_guard<std::mutex> lock(guard->mutex);
        if (guard->stopped) return guard->last;
        server_counters sum;
        for (const auto& w : workers) sum += w->stats().snapshot();
        if (auto s = slot.load()) {
            sum.view_serial = s->view ? s->view->serial() : 0;
            sum.view_listings = s->view ? s->view->size() : 0;
        }
        sum.view_swaps = control.swaps;
        return sum;
    };
    std::string metrics_url;
    if (!config.metrics_listen.empty()) {
        if (hooks.start_metrics)
            metrics_url = hooks.start_metrics(config.metrics_listen, collect);
        else
            spdlog::warn("--metrics {}: no metrics exporter in this build; ignored",
                         config.metrics_listen);
    }

    // Every socket is bound (and the metrics endpoint listening): root is no longer needed.
    if (run_as) {
        if (own_scratch) hand_over_directory(scratch, *run_as);
        drop_privileges(*run_as);
        check_store_access(config.db_path, scratch);
        spdlog::info("running as user {} (uid {}, gid {})", run_as->name, run_as->uid, run_as->gid);
    }
    for (auto& w : workers) w->start();
    if (rrl.enabled())
        spdlog::info("response rate limit: {} answers/s per /24 and /56, slip {}, window {} s",
                     config.rrl_rate, config.rrl_slip, config.rrl_window_s);

    std::printf("v6bl serve: zone %s, serial %u, %zu listings, %u thread(s)\n",
                control.zone->config().zone.c_str(), control.view->serial(), control.view->size(),
                threads);
    for (const auto& a : addresses) std::printf("listening on %s (udp, tcp)\n", a.text.c_str());
    if (!metrics_url.empty()) std::printf("metrics on %s\n", metrics_url.c_str());
    std::printf("ready\n");
    std::fflush(stdout);

    uv_run(&control.loop, UV_RUN_DEFAULT);

    for (auto& w : workers) w->stop();
    for (auto& w : workers) w->join();
    const server_counters total = collect();
    {
        std::lock_guard<std::mutex> lock(guard->mutex);
        guard->last = total;
        guard->stopped = true;
    }
    workers.clear();
    for (auto* h : {&control.sighup, &control.sigterm, &control.sigint})
        if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(h)))
            uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
    uv_run(&control.loop, UV_RUN_DEFAULT);  // the close callbacks
    uv_loop_close(&control.loop);
    // Received, not answered: dropped ones (unreadable, rate limited) are counted apart.
    std::printf(
        "v6bl serve: received %llu udp and %llu tcp queries; %llu dropped unanswered, "
        "%llu rate limited (%llu of them slipped as TC=1)\n",
        static_cast<unsigned long long>(total.queries_udp),
        static_cast<unsigned long long>(total.queries_tcp),
        static_cast<unsigned long long>(total.dropped),
        static_cast<unsigned long long>(total.rrl_dropped + total.rrl_slipped),
        static_cast<unsigned long long>(total.rrl_slipped));
    std::printf("v6bl serve: stopped\n");
    std::fflush(stdout);
    return 0;
}

}  // namespace v6bl::server
