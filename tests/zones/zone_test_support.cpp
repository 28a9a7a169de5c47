// Test support for zones (see zone_test_support.h).
#include "zone_test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>  // before ldns: its common.h defines bool/true/false otherwise
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "free_port.h"
#include "v6bl/zones/nibble_name.h"

namespace v6bl::zones::testing {

temp_dir::temp_dir() {
    char pattern[] = "/tmp/v6bl-zones-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
    // daemons that drop root (rbldnsd, knotd) must read and write in it
    ::chmod(path_.c_str(), 0777);
}

temp_dir::~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

child_process::child_process(const std::vector<std::string>& argv, const std::string& log_file) {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        std::vector<char*> args;
        for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
}

child_process::~child_process() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
}

bool child_process::running() {
    return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0;
}

int free_port() {
    return v6bl::test::free_port();
}

bool tool_exists(const std::string& name) {
    return run_command("command -v " + name + " >/dev/null 2>&1") == 0;
}

int run_command(const std::string& command, std::string* output) {
    std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return -1;
    std::string text;
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) text.append(buffer, n);
    const int status = ::pclose(pipe);
    if (output) *output = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

dns_reply dns_query(int port, const std::string& name, const std::string& type, int timeout_ms) {
    dns_reply reply;
    ldns_rdf* qname = ldns_dname_new_frm_str(name.c_str());
    if (!qname) return reply;
    ldns_pkt* query =
        ldns_pkt_query_new(qname, ldns_get_rr_type_by_name(type.c_str()), LDNS_RR_CLASS_IN, 0);
    const auto id = static_cast<std::uint16_t>(std::rand());
    ldns_pkt_set_id(query, id);
    std::uint8_t* wire = nullptr;
    std::size_t size = 0;
    ldns_pkt2wire(&wire, query, &size);
    ldns_pkt_free(query);
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<std::uint16_t>(port));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::sendto(fd, wire, size, 0, reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
    LDNS_FREE(wire);
    pollfd p{fd, POLLIN, 0};
    std::uint8_t buffer[65536];
    ssize_t n = -1;
    if (::poll(&p, 1, timeout_ms) > 0) n = ::recv(fd, buffer, sizeof(buffer), 0);
    ::close(fd);
    if (n <= 0) return reply;
    ldns_pkt* answer = nullptr;
    if (ldns_wire2pkt(&answer, buffer, static_cast<std::size_t>(n)) != LDNS_STATUS_OK) {
        return reply;
    }
    reply.ok = ldns_pkt_id(answer) == id;
    reply.rcode = ldns_pkt_get_rcode(answer);
    reply.aa = ldns_pkt_aa(answer);
    const ldns_rr_list* an = ldns_pkt_answer(answer);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(an); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(an, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A) {
            char* s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
            reply.a.emplace_back(s);
            LDNS_FREE(s);
        } else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT) {
            const ldns_rdf* rdf = ldns_rr_rdf(rr, 0);
            const std::uint8_t* d = ldns_rdf_data(rdf);
            reply.txt.emplace_back(reinterpret_cast<const char*>(d + 1), d[0]);
        } else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
            reply.soa_serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
        }
    }
    const ldns_rr_list* ns = ldns_pkt_authority(answer);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(ns); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(ns, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
            reply.soa_in_authority = true;
            reply.soa_serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
        }
    }
    ldns_pkt_free(answer);
    return reply;
}

bool wait_for_zone(int port, const std::string& zone, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        const dns_reply r = dns_query(port, zone + ".", "SOA", 200);
        if (r.ok && r.rcode == 0 && r.soa_serial != 0) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

std::string query_name(const store::prefix& p, int nibbles, const std::string& zone) {
    std::string name;
    append_nibble_labels(name, p.truncated(static_cast<std::uint8_t>(nibbles * 4)));
    return name + zone + ".";
}

expected_answer reference_answer(const std::vector<store::listing_entry>& entries,
                                 const std::vector<store::prefix>& holes,
                                 const store::prefix& name) {
    expected_answer out;
    for (const auto& e : entries) {
        if (name.covers(e.where)) {  // name is the node of e or an ancestor
            if (e.where == name && e.where.length == 128) {
                out.what = expected_answer::kind::listed;
                out.code = static_cast<int>(e.code);
                return out;
            }
            out.what = expected_answer::kind::nodata;
        }
    }
    for (const auto& h : holes) {
        if (name.covers(h)) {
            out.what = expected_answer::kind::nodata;
            if (h == name) out.hole_node = true;
        }
    }
    if (out.what == expected_answer::kind::nodata) return out;
    for (const auto& h : holes) {
        if (h.covers(name)) return out;  // nxdomain
    }
    const store::listing_entry* best = nullptr;
    for (const auto& e : entries) {
        if (e.where.length < name.length && e.where.covers(name) &&
            (!best || e.where.length > best->where.length)) {
            best = &e;
        }
    }
    if (best) {
        out.what = expected_answer::kind::listed;
        out.code = static_cast<int>(best->code);
    }
    return out;
}

void zone_simulation::add(const zone_record& r) {
    if (r.what == zone_record::kind::ipv4_test_point) return;
    const int code = r.entry ? static_cast<int>(r.entry->code) : 0;
    if (r.wildcard) {
        wildcard_[r.node] = code;
    } else {
        exact_[r.node] = code;
    }
    for (int len = 0; len <= r.node.length; len += 4) {
        exists_[r.node.truncated(static_cast<std::uint8_t>(len))] = true;
    }
}

expected_answer zone_simulation::answer(const store::prefix& name) const {
    expected_answer out;
    if (exists_.count(name)) {
        const auto exact = exact_.find(name);
        if (exact != exact_.end() && exact->second != 0) {
            out.what = expected_answer::kind::listed;
            out.code = exact->second;
        } else {
            out.what = expected_answer::kind::nodata;
            out.hole_node = exact != exact_.end();
        }
        return out;
    }
    // closest encloser, then its wildcard (RFC 4592 3.3.1)
    for (int len = name.length - 4; len >= 0; len -= 4) {
        const store::prefix encloser = name.truncated(static_cast<std::uint8_t>(len));
        if (!exists_.count(encloser)) continue;
        const auto w = wildcard_.find(encloser);
        if (w != wildcard_.end()) {
            out.what = expected_answer::kind::listed;
            out.code = w->second;
        }
        return out;
    }
    return out;
}

}  // namespace v6bl::zones::testing

#include "v6bl/store/store.h"

namespace v6bl::zones::testing {

sample_store make_sample_store(const std::string& db_dir) {
    sample_store s;
    s.db = db_dir;
    // The store's retention runs on the wall clock (merge operators, compaction
    // filter), so the sample's times are relative to it, not fixed.
    s.now = static_cast<std::uint32_t>(std::time(nullptr));
    store::store_options options;
    options.path = db_dir;
    options.sync_commits = false;
    {
        auto db = store::reputation_store::open_writer(options);
        auto p = [](const char* text) { return *store::parse_prefix(text, false); };
        store::change_set cs;
        cs.list_manually(p("2001:db8:1::/48"), store::reason_code::manual, "by hand", s.now);
        cs.list_manually(p("2001:db8:1:2::/64"), store::reason_code::structural, "", s.now);
        cs.list_manually(p("2001:db8:1:2:5::/80"), store::reason_code::associated, "", s.now);
        cs.list_manually(p("2001:db8:3::/50"), store::reason_code::manual, "a /50", s.now);
        cs.list_manually(p("2001:db8:4::1/128"), store::reason_code::manual, "host", s.now);
        cs.list_manually(p("2001:db9::/32"), store::reason_code::manual, "wide", s.now);
        cs.list_manually(p("2001:db8:6::/62"), store::reason_code::manual, "a /62 $$", s.now);
        for (int i = 0; i < 9; ++i) {
            store::reputation_record r;
            r.reason_bits = store::bit_associated;
            r.strength_milli = 900;
            r.first_seen = s.now - 3600;
            r.last_seen = s.now - 60;
            r.attempts = 5;
            r.rejected_ipv4s = 1;
            store::ipv6_bytes a = p("2001:db8:2::/48").address;
            a[7] = static_cast<std::uint8_t>(i);  // 2001:db8:2:i::/64
            cs.merge_record(store::make_prefix(a, 64), r);
        }
        store::reputation_record old;
        old.reason_bits = store::bit_associated;
        old.strength_milli = 900;
        old.first_seen = old.last_seen = s.now - 10 * 24 * 3600;  // past expiry, kept
        cs.merge_record(p("2001:db8:7:1::/64"), old);
        db->commit(std::move(cs), s.now);
        store::change_set allow;
        allow.allow(p("2001:db8:1:7::/64"), "customer", s.now);
        allow.allow(p("2001:db8:2:5::/64"), "customer", s.now);
        allow.allow(p("2001:db8:9::/48"), "partner", s.now);
        allow.allow(p("2001:db8:1:8::/62"), "odd size", s.now);
        db->commit(std::move(allow), s.now);
    }
    options.create_if_missing = false;
    auto db = store::reputation_store::open_read_only(options);
    db->for_each_published(s.policy, s.now,
                           [&](const store::listing_entry& e) { s.entries.push_back(e); });
    s.holes = db->published_holes();
    s.serial = db->serial();
    return s;
}

std::vector<store::prefix> sample_names(const sample_store& s, bool full_only) {
    std::vector<store::prefix> out;
    auto around = [&](const store::prefix& p) {
        for (int len = full_only ? 128 : 4; len <= 128; len += 4) {
            for (std::uint8_t tweak : {0x00, 0x31, 0x7e}) {
                store::prefix q = p;
                q.length = 128;
                for (int n = p.length / 4; n < 32 && tweak != 0; ++n) {  // nibbles past p
                    const auto x = static_cast<std::uint8_t>((tweak + n) & 0x0f);
                    q.address[static_cast<std::size_t>(n / 2)] ^=
                        static_cast<std::uint8_t>(n % 2 ? x : x << 4);
                }
                out.push_back(q.truncated(static_cast<std::uint8_t>(len)));
            }
        }
        if (p.length >= 4) {  // a neighbour: the last nibble of p changed
            store::prefix n = p;
            const int b = p.length - 4;
            n.address[static_cast<std::size_t>(b / 8)] ^= (b % 8) ? 0x01 : 0x10;
            n.length = 128;
            out.push_back(n);
        }
    };
    for (const auto& e : s.entries) around(e.where);
    for (const auto& h : s.holes) around(h);
    out.push_back(*store::parse_prefix("::ffff:127.0.0.1", false));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace v6bl::zones::testing

namespace v6bl::zones::testing {
namespace {

bool read_full(int fd, std::uint8_t* data, std::size_t size, int timeout_ms) {
    std::size_t got = 0;
    while (got < size) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0) return false;
        const ssize_t n = ::recv(fd, data + got, size - got, 0);
        if (n <= 0) return false;
        got += static_cast<std::size_t>(n);
    }
    return true;
}

bool write_full(int fd, const std::uint8_t* data, std::size_t size) {
    std::size_t sent = 0;
    while (sent < size) {
        const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
        if (n <= 0) return false;
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

int bound_socket(int type, int port) {
    const int fd = ::socket(AF_INET, type, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<std::uint16_t>(port));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot bind 127.0.0.1:" + std::to_string(port));
    }
    return fd;
}

}  // namespace

transfer_test_server::transfer_test_server(transfer_responder& responder, int port)
    : responder_(responder) {
    tcp_fd_ = bound_socket(SOCK_STREAM, port);
    ::listen(tcp_fd_, 16);
    udp_fd_ = bound_socket(SOCK_DGRAM, port);
    tcp_thread_ = std::thread([this] { serve_tcp(); });
    udp_thread_ = std::thread([this] { serve_udp(); });
}

transfer_test_server::~transfer_test_server() {
    stop_ = true;
    tcp_thread_.join();
    udp_thread_.join();
    ::close(tcp_fd_);
    ::close(udp_fd_);
}

std::vector<transfer_outcome> transfer_test_server::outcomes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return outcomes_;
}

void transfer_test_server::serve_tcp() {
    while (!stop_) {
        pollfd p{tcp_fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof(peer);
        const int fd = ::accept(tcp_fd_, reinterpret_cast<sockaddr*>(&peer), &peer_len);
        if (fd < 0) continue;
        while (!stop_) {
            std::uint8_t length[2];
            if (!read_full(fd, length, 2, 3000)) break;
            std::vector<std::uint8_t> query(static_cast<std::size_t>(length[0] << 8 | length[1]));
            if (!read_full(fd, query.data(), query.size(), 3000)) break;
            bool failed = false;
            const transfer_result r = responder_.respond(
                query, peer, static_cast<std::uint32_t>(std::time(nullptr)),
                [&](std::vector<std::uint8_t> message) {
                    const std::uint8_t prefix[2] = {static_cast<std::uint8_t>(message.size() >> 8),
                                                    static_cast<std::uint8_t>(message.size())};
                    if (!write_full(fd, prefix, 2) ||
                        !write_full(fd, message.data(), message.size())) {
                        failed = true;
                        throw std::runtime_error("connection closed");
                    }
                });
            ++transfers_;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                outcomes_.push_back(r.outcome);
            }
            if (failed) break;
        }
        ::close(fd);
    }
}

void transfer_test_server::serve_udp() {
    while (!stop_) {
        pollfd p{udp_fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        std::uint8_t buffer[4096];
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof(peer);
        const ssize_t n = ::recvfrom(udp_fd_, buffer, sizeof(buffer), 0,
                                     reinterpret_cast<sockaddr*>(&peer), &peer_len);
        if (n <= 0) continue;
        transfer_result r;
        const auto reply =
            responder_.respond_udp({buffer, static_cast<std::size_t>(n)}, peer,
                                   static_cast<std::uint32_t>(std::time(nullptr)), &r);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            outcomes_.push_back(r.outcome);
        }
        if (reply && reply->size() <= 512) {
            ::sendto(udp_fd_, reply->data(), reply->size(), 0, reinterpret_cast<sockaddr*>(&peer),
                     peer_len);
        }
    }
}

transfer_reply tcp_transfer(int port, const std::vector<std::uint8_t>& query, int timeout_ms,
                            const std::string& source) {
    transfer_reply out;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from));  // a loopback source
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<std::uint16_t>(port));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
        ::close(fd);
        return out;
    }
    const std::uint8_t prefix[2] = {static_cast<std::uint8_t>(query.size() >> 8),
                                    static_cast<std::uint8_t>(query.size())};
    write_full(fd, prefix, 2);
    write_full(fd, query.data(), query.size());
    int soa_seen = 0;
    std::vector<std::uint8_t> message;
    while (true) {
        std::uint8_t length[2];
        if (!read_full(fd, length, 2, timeout_ms)) break;
        message.resize(static_cast<std::size_t>(length[0] << 8 | length[1]));
        if (!read_full(fd, message.data(), message.size(), timeout_ms)) break;
        ldns_pkt* pkt = nullptr;
        if (ldns_wire2pkt(&pkt, message.data(), message.size()) != LDNS_STATUS_OK) break;
        ++out.messages;
        out.rcode = ldns_pkt_get_rcode(pkt);
        const ldns_rr_list* an = ldns_pkt_answer(pkt);
        for (std::size_t i = 0; i < ldns_rr_list_rr_count(an); ++i) {
            const ldns_rr* rr = ldns_rr_list_rr(an, i);
            char* s = ldns_rr2str(rr);
            out.rrs.emplace_back(s);
            LDNS_FREE(s);
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) ++soa_seen;
        }
        const bool done =
            out.rcode != 0 || soa_seen >= 2 ||
            (soa_seen == 1 && out.rrs.size() == 1 && ldns_pkt_get_rcode(pkt) == 0 &&
             ldns_pkt_ancount(pkt) == 1 && ldns_rr_list_rr_count(ldns_pkt_question(pkt)) == 1 &&
             ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(pkt), 0)) == LDNS_RR_TYPE_IXFR);
        ldns_pkt_free(pkt);
        if (done) {
            out.ok = true;
            break;
        }
    }
    ::close(fd);
    return out;
}

}  // namespace v6bl::zones::testing
