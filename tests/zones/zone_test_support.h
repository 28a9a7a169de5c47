// Test support for zones: temp dirs, child daemons, DNS probes, and the reference semantics
// of the zone tree (what any name must answer) plus a simulation of a standard server.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "v6bl/store/listing.h"
#include "v6bl/store/policy.h"
#include "v6bl/store/prefix.h"
#include "v6bl/zones/transfer_responder.h"
#include "v6bl/zones/zone_tree.h"

namespace v6bl::zones::testing {

class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

// A daemon run in the foreground as a child; killed and reaped on destruction.
class child_process {
  public:
    child_process(const std::vector<std::string>& argv, const std::string& log_file);
    ~child_process();
    bool running();
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
};

// A loopback port free for both UDP and TCP at the time of the call.
int free_port();
bool tool_exists(const std::string& name);
// Runs a shell command, returns its exit status and fills `output` with stdout+stderr.
int run_command(const std::string& command, std::string* output = nullptr);
void write_text(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);

struct dns_reply {
    bool ok = false;  // a reply arrived and parsed
    int rcode = -1;
    bool aa = false;
    std::vector<std::string> a;    // A rdata in the answer ("127.0.0.2")
    std::vector<std::string> txt;  // TXT rdata (first string, raw)
    bool soa_in_authority = false;
    std::uint32_t soa_serial = 0;  // from answer or authority
};

dns_reply dns_query(int port, const std::string& name, const std::string& type,
                    int timeout_ms = 1000);
// Waits until a SOA query of `zone` answers NOERROR (a daemon came up).
bool wait_for_zone(int port, const std::string& zone, int timeout_ms);

// "<k nibbles>.zone" for the first k nibbles of `p`.
std::string query_name(const store::prefix& p, int nibbles, const std::string& zone);

// What a name made of nibble labels must answer (docs/zones.md "The zone tree").
struct expected_answer {
    enum class kind { nxdomain, nodata, listed } what = kind::nxdomain;
    int code = 0;  // A code when listed
    bool hole_node = false;
};

// The specification, computed the slow, obvious way from entries and holes.
expected_answer reference_answer(const std::vector<store::listing_entry>& entries,
                                 const std::vector<store::prefix>& holes,
                                 const store::prefix& name);

// A standard authoritative server's answer (RFC 1034 4.3.2 and RFC 4592 wildcards) computed
// from the records the zone tree emitted.
class zone_simulation {
  public:
    void add(const zone_record& r);
    expected_answer answer(const store::prefix& name) const;

  private:
    std::map<store::prefix, int> exact_;     // owner node -> A code (0: TXT only)
    std::map<store::prefix, int> wildcard_;  // "*.<node>" -> A code
    std::map<store::prefix, bool> exists_;   // every existing node (ancestors included): true
};

// A store with a bit of everything: a manual /48 with nested /64 and /80 listings, an
// allowlisted /64 inside it, inferred /64s that escalate to a /56 and a /48, a hole inside
// the escalated /48, a /50 and a /62 (nibble expansion), a /128, a wide /32, an expired
// listing and a hole outside any listing. `entries`/`holes` are what the store publishes.
struct sample_store {
    std::string db;
    std::uint32_t now = 0;
    store::listing_policy policy;
    std::vector<store::listing_entry> entries;
    std::vector<store::prefix> holes;
    std::uint32_t serial = 0;
};
sample_store make_sample_store(const std::string& db_dir);

// Names to probe: for every entry and hole, names at every depth inside it and one nibble
// beside it, plus the RFC 5782 test points. `full_only` keeps 32-nibble names only.
std::vector<store::prefix> sample_names(const sample_store& s, bool full_only);

// A stand-alone transfer server on loopback for tests and benchmarks: TCP answers AXFR,
// IXFR and SOA through the responder, UDP answers SOA queries (a secondary's refresh).
// Threads stop on destruction.
class transfer_test_server {
  public:
    transfer_test_server(transfer_responder& responder, int port);
    ~transfer_test_server();
    transfer_test_server(const transfer_test_server&) = delete;
    transfer_test_server& operator=(const transfer_test_server&) = delete;
    std::uint64_t transfers() const { return transfers_.load(); }
    std::vector<transfer_outcome> outcomes() const;

  private:
    void serve_tcp();
    void serve_udp();
    transfer_responder& responder_;
    int tcp_fd_ = -1;
    int udp_fd_ = -1;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> transfers_{0};
    mutable std::mutex mutex_;
    std::vector<transfer_outcome> outcomes_;
    std::thread tcp_thread_;
    std::thread udp_thread_;
};

// Reads one whole AXFR/IXFR answer over TCP: every message's RRs in order.
struct transfer_reply {
    bool ok = false;
    int rcode = -1;
    std::vector<std::string> rrs;  // ldns_rr2str of every answer RR, in order
    std::size_t messages = 0;
};
transfer_reply tcp_transfer(int port, const std::vector<std::uint8_t>& query, int timeout_ms,
                            const std::string& source = "127.0.0.1");

}  // namespace v6bl::zones::testing
