// The TCP listener and its connections (RFC 7766): 2-byte framing, pipelining, idle and read
// timeouts, a connection cap per loop and a cap on answers queued per connection.
#include "tcp_listener.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

#include "event_loop_worker.h"
#include "query_acl.h"
#include "query_parser.h"
#include "v6bl/zones/transfer_responder.h"

namespace v6bl::server {
namespace {

struct write_request {
    uv_write_t req{};
    std::vector<std::uint8_t> data;
    tcp_connection* conn = nullptr;
};

struct transfer_work {
    uv_work_t req{};
    event_loop_worker* worker = nullptr;
    std::uint64_t connection = 0;
    std::vector<std::uint8_t> query;
    sockaddr_storage peer{};
    std::shared_ptr<std::atomic<bool>> alive;
    const transfer_hook* hook = nullptr;
};

struct connection_gone : std::runtime_error {
    connection_gone() : std::runtime_error("connection closed") {}
};

void process_frames(tcp_connection& c);
void start_reading(tcp_connection& c);
void on_timer(uv_timer_t* t);

// After the peer's end of stream the connection stays open until every query it sent is
// answered, transfers included: a client may half-close after its last query and still
// wait for the answers (an AXFR client doing so got nothing).
void close_when_answered(tcp_connection& c) {
    if (c.peer_done && c.queued_writes == 0 && c.transfers_running == 0) tcp_connection_close(c);
}

// One timer per connection, for one of two deadlines:
//  - read: a message has begun (its first byte arrived) and must be complete within
//    --tcp-read-timeout-ms; trickling bytes does not move this deadline, only finishing a
//    message does (a slow-read client cannot hold the connection);
//  - idle: no message in progress; closed after --tcp-idle-ms without one (RFC 7766 6.2.3),
//    or when answers are queued and the peer has not taken any of them for that long.
bool message_begun(const tcp_connection& c) {
    if (!c.reading || c.in.empty()) return false;
    if (c.in.size() < 2) return true;
    const std::size_t len = (static_cast<std::size_t>(c.in[0]) << 8) | c.in[1];
    return c.in.size() - 2 < len;
}

void arm_timer(tcp_connection& c) {
    if (c.closing) return;
    const auto& cfg = c.worker->config();
    if (message_begun(c)) {
        if (c.read_deadline && c.frames_at_arm == c.frames_done) return;  // keep the deadline
        c.read_deadline = true;
        c.frames_at_arm = c.frames_done;
        uv_timer_start(&c.idle, &on_timer, cfg.tcp_read_timeout_ms, 0);
        return;
    }
    c.read_deadline = false;
    c.writes_at_arm = c.writes_done;
    c.idle_since_ms = uv_now(c.worker->loop());
    uv_timer_start(&c.idle, &on_timer, cfg.tcp_idle_ms, 0);
}

}  // namespace

bool tcp_connection_idle(const tcp_connection& c) {
    return !c.closing && !c.peer_done && c.in.empty() && c.queued_writes == 0 &&
           c.transfers_running == 0;
}

namespace {

void on_handle_closed(uv_handle_t* h) {
    auto* c = static_cast<tcp_connection*>(h->data);
    if (--c->open_handles == 0) {
        c->worker->remove_connection(c->id);
        c->worker->stats().sub(&server_counters::tcp_open);
        delete c;
    }
}

void on_written(uv_write_t* req, int status) {
    auto* w = static_cast<write_request*>(req->data);
    tcp_connection* c = w->conn;
    delete w;
    try {
        --c->queued_writes;
        ++c->writes_done;
        // The last answer taken: idle from now (for the order connections are closed in at
        // the cap), not from when the query came.
        if (c->queued_writes == 0) c->idle_since_ms = uv_now(c->worker->loop());
        if (status != 0) {
            c->worker->stats().add(&server_counters::send_errors);
            tcp_connection_close(*c);
            return;
        }
        if (!c->closing && !c->reading && !c->peer_done && c->transfers_running == 0 &&
            c->queued_writes < c->worker->config().tcp_max_inflight) {
            process_frames(*c);
            if (!c->closing && c->transfers_running == 0 &&
                c->queued_writes < c->worker->config().tcp_max_inflight) {
                start_reading(*c);
                arm_timer(*c);
            }
        }
        close_when_answered(*c);
    } catch (const std::exception& e) {
        spdlog::error("tcp write: {}", e.what());
    }
}

void on_timer(uv_timer_t* t) {
    auto* c = static_cast<tcp_connection*>(t->data);
    try {
        if (c->read_deadline && message_begun(*c)) {
            c->worker->stats().add(&server_counters::tcp_read_timeouts);
            tcp_connection_close(*c);
            return;
        }
        c->read_deadline = false;
        // Still building a transfer with nothing queued yet, or the peer takes answers:
        // wait on. Answers queued and none taken for a whole period is a stall; while a
        // transfer runs, for two periods (it stops at its next message once the connection
        // is gone).
        if ((c->transfers_running > 0 && c->queued_writes == 0) ||
            (c->queued_writes > 0 && c->writes_done != c->writes_at_arm)) {
            c->transfer_stall_warned = false;
            arm_timer(*c);
            return;
        }
        if (c->transfers_running > 0 && !c->transfer_stall_warned) {
            c->transfer_stall_warned = true;
            arm_timer(*c);
            return;
        }
        c->worker->stats().add(c->queued_writes > 0 ? &server_counters::tcp_write_stalls
                                                    : &server_counters::tcp_idle_closed);
        tcp_connection_close(*c);
    } catch (const std::exception& e) {
        spdlog::error("tcp idle timer: {}", e.what());
    }
}

void on_transfer_work(uv_work_t* req) {
    auto* w = static_cast<transfer_work*>(req->data);
    try {
        event_loop_worker* worker = w->worker;
        const std::uint64_t id = w->connection;
        auto alive = w->alive;
        (*w->hook)(w->query, w->peer, [worker, id, alive](std::vector<std::uint8_t> msg) {
            if (!alive->load()) throw connection_gone();
            worker->post_transfer_message(id, std::move(msg));
        });
    } catch (const connection_gone&) {
        // The peer left (or was cut): routine, and a flood of them must not flood the log.
        spdlog::debug("zone transfer ended early: connection closed");
    } catch (const std::exception& e) {
        spdlog::info("zone transfer ended early: {}", e.what());
    }
}

void on_transfer_done(uv_work_t* req, int) {
    auto* w = static_cast<transfer_work*>(req->data);
    try {
        if (tcp_connection* c = w->worker->find_connection(w->connection)) {
            --c->transfers_running;
            // The transfer's last messages may still wait in the outbox: queue them first.
            w->worker->drain_outbox();
            // None came (the responder failed before its first): no response to count.
            c->transfer_reply_uncounted = false;
            // Queries pipelined behind the transfer waited for it (one at a time per
            // connection): answer them now, and read on if the queue has room.
            if (!c->closing) process_frames(*c);
            if (!c->closing && !c->reading && !c->peer_done && c->transfers_running == 0 &&
                c->queued_writes < c->worker->config().tcp_max_inflight) {
                start_reading(*c);
                arm_timer(*c);
            }
            close_when_answered(*c);
        }
    } catch (...) {
    }
    delete w;
}

bool well_formed(std::span<const std::uint8_t> query) {
    parsed_query q;
    const parse_status s = parse_query(query, q);
    return s == parse_status::ok || s == parse_status::signed_query;
}

void start_transfer(tcp_connection& c, std::span<const std::uint8_t> query) {
    auto* w = new transfer_work;
    w->req.data = w;
    w->worker = c.worker;
    w->connection = c.id;
    w->query.assign(query.begin(), query.end());
    w->peer = c.peer;
    w->alive = c.alive;
    w->hook = c.worker->transfer();
    ++c.transfers_running;
    c.transfer_reply_uncounted = true;
    if (uv_queue_work(c.worker->loop(), &w->req, &on_transfer_work, &on_transfer_done) != 0) {
        --c.transfers_running;
        delete w;
    }
}

// Answers every complete frame in the buffer, up to the per-connection queue cap.
void process_frames(tcp_connection& c) {
    event_loop_worker& worker = *c.worker;
    worker.refresh_state();
    std::size_t off = 0;
    // A transfer holds the connection until it ends: the queries behind it wait in `in`
    // (and reading stops), so a client pipelining transfer queries (or refused ones) runs
    // one job at a time, not one per query with no bound on what they queue.
    while (!c.closing && c.transfers_running == 0 && c.in.size() - off >= 2 &&
           c.queued_writes < worker.config().tcp_max_inflight) {
        const std::size_t len = (static_cast<std::size_t>(c.in[off]) << 8) | c.in[off + 1];
        if (len == 0) {  // no DNS message is empty: the stream is out of step
            tcp_connection_close(c);
            return;
        }
        if (c.in.size() - off - 2 < len) break;
        const std::span<const std::uint8_t> query(c.in.data() + off + 2, len);
        // Transfers go to the transfer responder, which checks the transfer ACL and TSIG
        // itself (not --allow-query), once the strict parser has read them as well formed:
        // two OPTs, an answer record or trailing bytes got the zone (helper-52); they are
        // answered below (FORMERR).
        if (const std::uint16_t xfr = zones::transfer_responder::transfer_type(query);
            worker.transfer() != nullptr && xfr != 0 && well_formed(query)) {
            // Counted as answer_query counts the transfers it hands over.
            answer_result counted;
            counted.outcome = answer_outcome::transfer;
            counted.qtype = xfr;
            worker.stats().count_query(transport_kind::tcp, counted);
            start_transfer(c, query);
            off += 2 + len;
            ++c.frames_done;
            continue;
        }
        auto& out = worker.tcp_answer_buffer();
        answer_context ctx = worker.context(transport_kind::tcp);
        ctx.source_refused = c.refused;
        const auto t0 = std::chrono::steady_clock::now();
        const answer_result r = answer_query(query, out, ctx);
        const auto t1 = std::chrono::steady_clock::now();
        worker.stats().count_query(transport_kind::tcp, r);
        if (ctx.source_refused && r.outcome == answer_outcome::refused)
            worker.stats().add(&server_counters::acl_refused);
        worker.stats().count_latency(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
        if (r.outcome == answer_outcome::transfer) {
            start_transfer(c, query);
        } else if (r.size > 0) {
            tcp_connection_send(c, {out.data(), r.size});
        }
        off += 2 + len;
        ++c.frames_done;
    }
    if (off > 0 && !c.closing)
        c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(off));
}

void on_read_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
    auto* c = static_cast<tcp_connection*>(h->data);
    auto& scratch = c->worker->tcp_scratch();
    buf->base = reinterpret_cast<char*>(scratch.data());
    buf->len = scratch.size();
}

void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    auto* c = static_cast<tcp_connection*>(s->data);
    try {
        if (nread == UV_EOF) {
            // Half-closed: a partial message left will never complete; answered ones still go.
            uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
            c->reading = false;
            c->peer_done = true;
            close_when_answered(*c);
            return;
        }
        if (nread < 0) {
            tcp_connection_close(*c);
            return;
        }
        if (nread == 0) return;
        // A frame is at most 2 + 65535 bytes; more than one frame's worth waiting while we
        // are not answering means the peer ignores our pace.
        if (c->in.size() + static_cast<std::size_t>(nread) > 4 * 65537) {
            tcp_connection_close(*c);
            return;
        }
        c->in.insert(c->in.end(), buf->base, buf->base + nread);
        process_frames(*c);
        if (!c->closing && c->reading &&
            (c->queued_writes >= c->worker->config().tcp_max_inflight ||
             c->transfers_running > 0)) {
            uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
            c->reading = false;
        }
        arm_timer(*c);
    } catch (const std::exception& e) {
        spdlog::error("tcp read: {}", e.what());
        tcp_connection_close(*c);
    }
}

void start_reading(tcp_connection& c) {
    if (c.reading || c.closing) return;
    if (uv_read_start(reinterpret_cast<uv_stream_t*>(&c.tcp), &on_read_alloc, &on_read) == 0)
        c.reading = true;
}

}  // namespace

void tcp_connection_send(tcp_connection& c, std::span<const std::uint8_t> message) {
    if (c.closing || message.size() > 65535) return;
    auto* w = new write_request;
    w->req.data = w;
    w->conn = &c;
    w->data.resize(2 + message.size());
    w->data[0] = static_cast<std::uint8_t>(message.size() >> 8);
    w->data[1] = static_cast<std::uint8_t>(message.size());
    std::memcpy(w->data.data() + 2, message.data(), message.size());
    uv_buf_t b =
        uv_buf_init(reinterpret_cast<char*>(w->data.data()), static_cast<unsigned>(w->data.size()));
    if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c.tcp), &b, 1, &on_written) != 0) {
        delete w;
        tcp_connection_close(c);
        return;
    }
    ++c.queued_writes;
}

void tcp_connection_close(tcp_connection& c) {
    if (c.closing) return;
    c.closing = true;
    c.alive->store(false);
    uv_close(reinterpret_cast<uv_handle_t*>(&c.tcp), &on_handle_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&c.idle), &on_handle_closed);
}

tcp_listener::tcp_listener(event_loop_worker& worker, const listen_address& address)
    : worker_(worker), address_(address) {
    const int fd = bind_reuseport_socket(address, SOCK_STREAM);
    if (uv_tcp_init(worker_.loop(), &handle_) != 0 || uv_tcp_open(&handle_, fd) != 0) {
        ::close(fd);
        throw std::runtime_error("libuv cannot open the TCP socket of " + address.text);
    }
    handle_.data = this;
    if (const int rc =
            uv_listen(reinterpret_cast<uv_stream_t*>(&handle_), 1024, &tcp_listener::on_connection);
        rc != 0)
        throw std::runtime_error("cannot listen on " + address.text + ": " + uv_strerror(rc));
}

void tcp_listener::close() {
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&handle_)))
        uv_close(reinterpret_cast<uv_handle_t*>(&handle_), nullptr);
}

void tcp_listener::on_connection(uv_stream_t* server, int status) {
    auto* self = static_cast<tcp_listener*>(server->data);
    try {
        if (status != 0) return;
        event_loop_worker& w = self->worker_;
        auto* c = new tcp_connection;
        c->worker = &w;
        uv_tcp_init(w.loop(), &c->tcp);
        uv_timer_init(w.loop(), &c->idle);
        c->tcp.data = c;
        c->idle.data = c;
        c->open_handles = 2;
        c->id = w.add_connection(c);
        w.stats().add(&server_counters::tcp_open);
        if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
            tcp_connection_close(*c);
            return;
        }
        int len = sizeof c->peer;
        uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&c->peer), &len);
        c->refused = !w.acl().allows(reinterpret_cast<const sockaddr*>(&c->peer));
        if (w.connections() > w.tcp_cap()) {
            // At the cap, the connection idle the longest makes room (RFC 7766 6.2.3: a
            // server under pressure may close idle connections), so that clients holding
            // connections open without using them cannot lock others out; idle ones from
            // outside --allow-query go first. Refused when every other connection is busy,
            // and always a newcomer from outside --allow-query (it may not close an allowed
            // client's connection for an answer that can only be REFUSED).
            tcp_connection* oldest = c->refused ? nullptr : w.oldest_idle_connection(c->id);
            if (!oldest) {
                w.stats().add(&server_counters::tcp_refused);
                tcp_connection_close(*c);
                return;
            }
            w.stats().add(&server_counters::tcp_evicted);
            tcp_connection_close(*oldest);
        }
        w.stats().add(&server_counters::tcp_accepted);
        uv_tcp_nodelay(&c->tcp, 1);
        start_reading(*c);
        arm_timer(*c);
    } catch (const std::exception& e) {
        spdlog::error("tcp accept on {}: {}", self->address_.text, e.what());
    }
}

}  // namespace v6bl::server
