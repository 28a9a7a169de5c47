// The testbed simulator: host behaviours of Table 4.3 and the NANOG slides on one timeline.
#include "v6bl/ingest/testbed_simulator.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <queue>
#include <stdexcept>
#include <unordered_set>
#include <vector>

#include "v6bl/ingest/embedded_ipv4.h"
#include "v6bl/ingest/pcap_file_writer.h"
#include "v6bl/ingest/reputation_writer.h"
#include "v6bl/store/prefix.h"

namespace v6bl::ingest {
namespace {

// splitmix64: a fixed, portable generator (std:: distributions differ between libraries).
// The seed is mixed into the starting state: a state of seed·γ + 1 made seed n's stream seed
// 0's shifted by n draws, so neighbouring seeds shared most of their hosts.
class sim_random {
  public:
    explicit sim_random(std::uint64_t seed) : s_(mix(seed ^ 0x6A09E667F3BCC908ull)) {}
    std::uint64_t next() { return mix(s_ += 0x9E3779B97F4A7C15ull); }
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double range(double lo, double hi) { return lo + (hi - lo) * unit(); }
    std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
    bool chance(double p) { return unit() < p; }

  private:
    static std::uint64_t mix(std::uint64_t z) {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    std::uint64_t s_;
};

enum class behaviour : std::uint8_t {
    sendmail,
    postfix,
    exchange_native,
    exchange_6to4,
    windows_malware,
    linux_malware,
    v6_only_malware,
    v4_only_spam,
    legit_postfix,
    legit_exchange,
    nat_member,
    hammering
};

const char* behaviour_name(behaviour b) {
    switch (b) {
        case behaviour::sendmail:
            return "sendmail";
        case behaviour::postfix:
            return "postfix";
        case behaviour::exchange_native:
            return "exchange-native";
        case behaviour::exchange_6to4:
            return "exchange-6to4";
        case behaviour::windows_malware:
            return "windows-malware";
        case behaviour::linux_malware:
            return "linux-malware";
        case behaviour::v6_only_malware:
            return "ipv6-only-malware";
        case behaviour::v4_only_spam:
            return "ipv4-only-spam";
        case behaviour::legit_postfix:
            return "legitimate-postfix";
        case behaviour::legit_exchange:
            return "legitimate-exchange";
        case behaviour::nat_member:
            return "nat-member";
        case behaviour::hammering:
            return "hammering-provider";
    }
    return "?";
}

const char* class_of(behaviour b) {
    switch (b) {
        case behaviour::sendmail:
        case behaviour::postfix:
        case behaviour::exchange_native:
        case behaviour::exchange_6to4:
        case behaviour::windows_malware:
        case behaviour::linux_malware:
            return "spammer_both";
        case behaviour::v6_only_malware:
            return "spammer_ipv6_only";
        case behaviour::v4_only_spam:
            return "spammer_ipv4_only";
        case behaviour::legit_postfix:
        case behaviour::legit_exchange:
            return "legitimate";
        case behaviour::nat_member:
            return "nat";
        case behaviour::hammering:
            return "hammering";
    }
    return "?";
}

struct sim_host {
    behaviour kind = behaviour::sendmail;
    os_class os = os_class::linux_like;
    address_bytes v6{};
    std::uint32_t v4 = 0;
    bool has_v6 = true, has_v4 = true, rejected = false;
    std::uint8_t hops = 10;
    std::uint16_t port4 = 40000, port6 = 50000;  // next ephemeral ports (Windows: one pool)
    std::int64_t start_us = 0, end_us = 0;
    std::uint32_t rounds = 0, both_rounds = 0;
    std::uint32_t max_rounds = 0;
    int nat_group = -1;
};

struct pending_packet {
    std::int64_t time_us;
    std::uint64_t order;  // ties keep generation order: deterministic output
    address_bytes src;
    ip_family fam;
    std::uint16_t port;
    std::uint8_t ttl;
    std::uint16_t window;
    os_class os;
    bool operator>(const pending_packet& o) const {
        return time_us != o.time_us ? time_us > o.time_us : order > o.order;
    }
};

struct pending_line {
    std::int64_t time_us;
    std::uint64_t order;
    std::string text;
    bool operator>(const pending_line& o) const {
        return time_us != o.time_us ? time_us > o.time_us : order > o.order;
    }
};

struct host_event {
    std::int64_t time_us;
    std::uint32_t host;  // hosts.size() = background
    bool operator>(const host_event& o) const {
        return time_us != o.time_us ? time_us > o.time_us : host > o.host;
    }
};

// The sensor answers a SYN from its own kernel: its reset follows within tens of µs.
constexpr std::int64_t reset_delay_us = 50;

// The background spam bots' IPv4s: background_v4_count addresses from background_v4_base.
constexpr std::uint32_t background_v4_base = 0x50000000u;  // 80.0.0.0
constexpr std::uint32_t background_v4_count = 2000000;

std::uint32_t random_global_ipv4(sim_random& r, std::unordered_set<std::uint32_t>& used) {
    for (;;) {
        const auto v = static_cast<std::uint32_t>(r.next());
        // Not in the background bots' range (background_v4_base): a modelled host there
        // would be rejected in the log as a bot, and its listing counted against v6bl.
        const bool background =
            v >= background_v4_base && v - background_v4_base < background_v4_count;
        if (is_global_ipv4(v) && (v >> 24) != 198 && !background && used.insert(v).second) return v;
    }
}

address_bytes v6_in(std::uint16_t a, std::uint16_t b, std::uint32_t net, std::uint64_t iid) {
    address_bytes x{};
    x[0] = static_cast<std::uint8_t>(a >> 8);
    x[1] = static_cast<std::uint8_t>(a);
    x[2] = static_cast<std::uint8_t>(b >> 8);
    x[3] = static_cast<std::uint8_t>(b);
    for (int i = 0; i < 4; ++i) x[4 + i] = static_cast<std::uint8_t>(net >> (24 - 8 * i));
    for (int i = 0; i < 8; ++i) x[8 + i] = static_cast<std::uint8_t>(iid >> (56 - 8 * i));
    return x;
}

std::string v6_text(const address_bytes& a) {
    store::ipv6_bytes b{};
    std::copy(a.begin(), a.end(), b.begin());
    return store::format_address(b);
}

std::string p64_text(const address_bytes& a) {
    store::ipv6_bytes b{};
    std::copy(a.begin(), a.end(), b.begin());
    return store::format_prefix(store::make_prefix(b, 64));
}

std::string syslog_time(std::int64_t unix_s, bool local) {
    const auto t = static_cast<std::time_t>(unix_s);
    std::tm tm{};
    if (!(local ? ::localtime_r(&t, &tm) : ::gmtime_r(&t, &tm)))
        throw std::runtime_error("simulate: time out of range");
    char buf[32];
    std::strftime(buf, sizeof buf, "%b %e %H:%M:%S", &tm);  // "Nov  4 09:05:00" (C locale)
    return buf;
}

}  // namespace

void check_simulator_options(const simulator_options& opt) {
    // Written so that NaN fails every test.
    if (!(opt.hosts <= 10'000'000)) throw std::runtime_error("hosts must be at most 10000000");
    if (!(opt.hours > 0 && opt.hours <= 8784))
        throw std::runtime_error("hours must be > 0 and at most 8784 (a year)");
    if (!(opt.rate >= 0 && opt.rate * opt.hours * 3600 <= 1e9))
        throw std::runtime_error("rate must be >= 0 and rate * hours * 3600 at most 10^9 attempts");
    if (!(opt.nat_size >= 2 && opt.nat_size <= 100'000))
        throw std::runtime_error("NAT size (--nat-size) must be from 2 to 100000");
}

simulator_result simulate_testbed(const simulator_options& opt) {
    check_simulator_options(opt);
    if (opt.start_unix < 0 ||
        opt.start_unix + static_cast<std::int64_t>(opt.hours * 3600) > 0xFFFFFFFFll)
        throw std::runtime_error("the capture must lie between 1970 and 2106 (pcap seconds)");
    std::filesystem::create_directories(opt.out_dir);
    const std::string dir = opt.out_dir;
    sim_random rnd(opt.seed);
    std::unordered_set<std::uint32_t> used_v4;
    const std::int64_t t0 = opt.start_unix * 1'000'000;
    const std::int64_t t_end = t0 + static_cast<std::int64_t>(opt.hours * 3600e6);
    const address_bytes sensor6 = v6_in(0x2001, 0x0db8, 0x00250000, 0x25);
    const address_bytes sensor4 = address_from_ipv4(0xC6336419);  // 198.51.100.25

    // ---- population -------------------------------------------------------------
    std::vector<sim_host> hosts;
    const std::uint32_t n = std::max<std::uint32_t>(opt.hosts, 20);
    const std::uint32_t n_nat = n * 15 / 100;
    std::vector<std::uint32_t> nat_v4;
    for (std::uint32_t i = 0; i < n; ++i) {
        sim_host h;
        const double u = rnd.unit();
        if (i < n_nat) {
            h.kind = behaviour::nat_member;
            // Groups of nat_size; a last group of one (a lone host behind its own IPv4 is no
            // NAT) joins the group before it.
            const std::uint32_t size = opt.nat_size;
            h.nat_group = static_cast<int>(i / size);
            if (i == n_nat - 1 && n_nat % size == 1 && i >= size) --h.nat_group;
        } else if (u < 0.40) {
            static constexpr behaviour both[] = {
                behaviour::sendmail,      behaviour::postfix,         behaviour::exchange_native,
                behaviour::exchange_6to4, behaviour::windows_malware, behaviour::linux_malware};
            h.kind = both[rnd.below(6)];
        } else if (u < 0.46) {
            h.kind = behaviour::v6_only_malware;
        } else if (u < 0.70) {
            h.kind = behaviour::v4_only_spam;
        } else {
            h.kind = rnd.chance(0.6) ? behaviour::legit_postfix : behaviour::legit_exchange;
        }
        const bool windows =
            h.kind == behaviour::exchange_native || h.kind == behaviour::exchange_6to4 ||
            h.kind == behaviour::windows_malware || h.kind == behaviour::legit_exchange ||
            (h.kind == behaviour::nat_member && rnd.chance(0.5));
        h.os = windows ? os_class::windows
                       : (rnd.chance(0.1) ? os_class::macos : os_class::linux_like);
        if (h.kind == behaviour::sendmail || h.kind == behaviour::postfix ||
            h.kind == behaviour::legit_postfix)
            h.os = os_class::linux_like;
        h.hops = static_cast<std::uint8_t>(4 + rnd.below(20));
        if (h.kind == behaviour::nat_member) {
            while (nat_v4.size() <= static_cast<std::size_t>(h.nat_group))
                nat_v4.push_back(random_global_ipv4(rnd, used_v4));
            h.v4 = nat_v4[static_cast<std::size_t>(h.nat_group)];
        } else {
            h.v4 = random_global_ipv4(rnd, used_v4);
        }
        // Each host its own /64, in a block per class so truth is easy to read.
        const std::uint32_t net = static_cast<std::uint32_t>(i) * 7919u + 1;
        std::uint64_t iid = rnd.next();
        if (rnd.chance(0.2)) iid = (iid & 0xFFFFFFFF00000000ull) | 0x1ull;   // ::1-style servers
        if (h.kind != behaviour::nat_member && rnd.chance(0.1)) iid = h.v4;  // ::a.b.c.d style
        h.v6 =
            v6_in(0x2a02, static_cast<std::uint16_t>(0x1000 + static_cast<int>(h.kind)), net, iid);
        if (h.kind == behaviour::exchange_6to4) {
            h.v6 = v6_in(0x2002, static_cast<std::uint16_t>(h.v4 >> 16),
                         (h.v4 & 0xFFFFu) << 16 | 1u, 1);
        }
        h.has_v4 = h.kind != behaviour::v6_only_malware;
        h.has_v6 = h.kind != behaviour::v4_only_spam;
        h.rejected = std::string(class_of(h.kind)).rfind("spammer", 0) == 0 ||
                     h.kind == behaviour::nat_member;
        h.port4 = static_cast<std::uint16_t>(32768 + rnd.below(28000));
        h.port6 = windows ? static_cast<std::uint16_t>(h.port4 + 1)
                          : static_cast<std::uint16_t>(32768 + rnd.below(28000));
        if (windows) h.port4 = h.port6 = static_cast<std::uint16_t>(49152 + rnd.below(15000));
        const double span_h = opt.hours;
        if (h.kind == behaviour::nat_member) {
            h.start_us = t0 + static_cast<std::int64_t>(rnd.range(0, 600) * 1e6);
            h.end_us = t_end;
        } else {
            const double start_h = rnd.range(0, std::max(0.05, span_h - 1.0));
            h.start_us = t0 + static_cast<std::int64_t>(start_h * 3600e6);
            h.end_us = std::min(
                t_end, h.start_us + static_cast<std::int64_t>(rnd.range(1.0, 4.0) * 3600e6));
        }
        const bool malware = h.kind == behaviour::windows_malware ||
                             h.kind == behaviour::linux_malware ||
                             h.kind == behaviour::v6_only_malware;
        h.max_rounds = malware ? static_cast<std::uint32_t>(4 + rnd.below(6)) : 1000000;
        if (h.kind == behaviour::legit_postfix || h.kind == behaviour::legit_exchange)
            h.max_rounds = static_cast<std::uint32_t>(2 + rnd.below(8));  // primary back up
        hosts.push_back(h);
    }
    // Two provider /64s hammering the sensor (NANOG: 2a01:111:f400:fe00::/64 style), 4
    // addresses each, one connect every 5 s per /64, and two provider IPv4s that rarely try.
    for (int p = 0; p < 2; ++p) {
        for (int a = 0; a < 4; ++a) {
            sim_host h;
            h.kind = behaviour::hammering;
            h.os = os_class::windows;
            h.hops = 12;
            h.v6 = v6_in(0x2a01, 0x0111, 0xf400fe00u + static_cast<std::uint32_t>(p) * 4, 0x10 + a);
            h.v4 = random_global_ipv4(rnd, used_v4);
            h.has_v4 = a == 0;  // one IPv4 per provider, trying rarely
            h.port4 = h.port6 = static_cast<std::uint16_t>(49152 + rnd.below(15000));
            h.start_us = t0 + static_cast<std::int64_t>((5 * a + p) * 1e6 / 4);
            h.end_us = t_end;
            h.max_rounds = 100000000;
            hosts.push_back(h);
        }
    }

    // ---- timeline -----------------------------------------------------------------
    std::priority_queue<host_event, std::vector<host_event>, std::greater<>> events;
    for (std::uint32_t i = 0; i < hosts.size(); ++i) events.push({hosts[i].start_us, i});
    const auto bg = static_cast<std::uint32_t>(hosts.size());
    // Modelled hosts give ~1 attempt per 8 minutes each while active (about half the run),
    // plus 0.4/s of hammering: the background makes up the rest of --rate.
    const double modelled = static_cast<double>(n) * 0.5 * 1.5 / 480.0 + 0.4;
    const double bg_rate = std::max(0.0, opt.rate - modelled);
    if (bg_rate > 0) events.push({t0, bg});

    std::priority_queue<pending_packet, std::vector<pending_packet>, std::greater<>> packets;
    std::priority_queue<pending_line, std::vector<pending_line>, std::greater<>> lines;
    pcap_file_writer pcap(dir + "/sensor.pcap");
    std::FILE* log = std::fopen((dir + "/maillog").c_str(), "wb");
    if (!log) throw std::runtime_error("cannot create " + dir + "/maillog");
    simulator_result res;
    std::uint64_t order = 0;
    std::uint32_t smtpd_pid = 4100;

    // The sensor's resets, reset_delay_us after their SYNs: in SYN order, so a FIFO.
    struct pending_reset {
        std::int64_t time_us, syn_time_us;
        address_bytes client;
        ip_family fam;
        std::uint16_t port;
    };
    std::deque<pending_reset> resets;
    auto write_resets_before = [&](std::int64_t t) {
        while (!resets.empty() && resets.front().time_us <= t) {
            const pending_reset& r = resets.front();
            pcap.write_reset(r.time_us, r.syn_time_us, r.fam == ip_family::v4 ? sensor4 : sensor6,
                             r.client, r.fam, r.port);
            resets.pop_front();
        }
    };
    auto write_syn = [&](const pending_packet& p) {
        write_resets_before(p.time_us);
        pcap.write_syn(p.time_us, p.src, p.fam == ip_family::v4 ? sensor4 : sensor6, p.fam, p.port,
                       p.ttl, p.window, p.os);
        ++res.syns;
        if (opt.resets)
            resets.push_back({p.time_us + reset_delay_us, p.time_us, p.src, p.fam, p.port});
    };
    auto emit_attempt = [&](std::int64_t t, const address_bytes& src, ip_family fam,
                            std::uint16_t port, const sim_host& h, int syns) {
        const std::uint8_t ttl0 = h.os == os_class::windows ? 128 : 64;
        const auto ttl = static_cast<std::uint8_t>(ttl0 - h.hops);
        const std::uint16_t window =
            h.os == os_class::windows ? 8192 : (fam == ip_family::v4 ? 64240 : 64800);
        // Windows retries a reset connect() twice, about half a second apart.
        for (int s = 0; s < syns; ++s)
            packets.push({t + s * 500'000 + static_cast<std::int64_t>(s ? rnd.below(40'000) : 0),
                          order++, src, fam, port, ttl, window, h.os});
        ++res.attempts;
    };
    auto reject_line = [&](std::int64_t t, std::uint32_t v4) {
        const std::string ip = format_ipv4(v4);
        char buf[512];
        std::snprintf(buf, sizeof buf,
                      "%s mx1 postfix/smtpd[%u]: NOQUEUE: reject: RCPT from unknown[%s]: 554 5.7.1 "
                      "Service unavailable; Client host [%s] blocked using zen.spamhaus.org; "
                      "from=<x@example.net> to=<user@example.com> proto=ESMTP helo=<pc>",
                      syslog_time(t / 1'000'000, opt.local_log_times).c_str(),
                      smtpd_pid++ % 30000 + 1000, ip.c_str(), ip.c_str());
        lines.push({t, order++, buf});
    };
    auto other_line = [&](std::int64_t t, std::uint32_t v4, bool user_unknown) {
        const std::string ip = format_ipv4(v4);
        char buf[512];
        if (user_unknown)
            std::snprintf(
                buf, sizeof buf,
                "%s mx1 postfix/smtpd[%u]: NOQUEUE: reject: RCPT from mail.example.org[%s]: "
                "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown "
                "in local recipient table; from=<a@example.org> to=<nobody@example.com> "
                "proto=ESMTP helo=<mail.example.org>",
                syslog_time(t / 1'000'000, opt.local_log_times).c_str(), smtpd_pid++ % 30000 + 1000,
                ip.c_str());
        else
            std::snprintf(buf, sizeof buf,
                          "%s mx1 postfix/smtpd[%u]: connect from mail.example.org[%s]",
                          syslog_time(t / 1'000'000, opt.local_log_times).c_str(),
                          smtpd_pid++ % 30000 + 1000, ip.c_str());
        lines.push({t, order++, buf});
    };

    while (!events.empty()) {
        const host_event ev = events.top();
        events.pop();
        if (ev.time_us >= t_end) continue;
        while (!packets.empty() && packets.top().time_us <= ev.time_us) {
            write_syn(packets.top());
            packets.pop();
        }
        while (!lines.empty() && lines.top().time_us <= ev.time_us - 60'000'000) {
            std::fprintf(log, "%s\n", lines.top().text.c_str());
            ++res.log_lines;
            lines.pop();
        }
        const std::int64_t t = ev.time_us;
        if (ev.host == bg) {
            // One-shot background: legitimate MTAs over IPv6 or IPv4, and IPv4 spam bots
            // that the primary MX rejected a moment earlier.
            sim_host h;
            h.hops = static_cast<std::uint8_t>(5 + rnd.below(15));
            const double u = rnd.unit();
            h.os = rnd.chance(0.5) ? os_class::windows : os_class::linux_like;
            const auto port = static_cast<std::uint16_t>(32768 + rnd.below(32000));
            const int syns = h.os == os_class::windows ? 3 : 1;
            if (u < 0.4) {
                const auto v6 = v6_in(0x2a0b, 0xb000, static_cast<std::uint32_t>(rnd.below(200000)),
                                      rnd.next());
                emit_attempt(t, v6, ip_family::v6, port, h, syns);
            } else {
                const auto v4 =
                    background_v4_base + static_cast<std::uint32_t>(rnd.below(background_v4_count));
                emit_attempt(t, address_from_ipv4(v4), ip_family::v4, port, h, syns);
                if (u < 0.7)
                    reject_line(t - static_cast<std::int64_t>(rnd.range(1, 20) * 1e6), v4);
                else if (rnd.chance(0.1))
                    other_line(t - 3'000'000, v4, rnd.chance(0.5));
            }
            events.push(
                {t + static_cast<std::int64_t>(-std::log(1.0 - rnd.unit()) / bg_rate * 1e6), bg});
            continue;
        }
        sim_host& h = hosts[ev.host];
        if (h.rounds >= h.max_rounds || t >= h.end_us) continue;
        ++h.rounds;
        const bool win = h.os == os_class::windows;
        const int syn4 = win ? 3 : 1;
        int syn6 = syn4;
        if (h.kind == behaviour::exchange_6to4) syn6 = 3 + static_cast<int>(rnd.below(4));
        // Ports: Windows shares one pool across families; Linux/macOS keep one per family,
        // each climbing by a few per attempt as other connections take ports in between.
        std::uint16_t p4, p6;
        if (win) {
            h.port4 = static_cast<std::uint16_t>(h.port4 + 5 + rnd.below(40));
            if (h.port4 < 49152) h.port4 = static_cast<std::uint16_t>(h.port4 + 49152);
            p4 = h.port4;
            p6 = static_cast<std::uint16_t>(p4 + 1);
        } else {
            h.port4 = static_cast<std::uint16_t>(h.port4 + 3 + rnd.below(5));
            h.port6 = static_cast<std::uint16_t>(h.port6 + 3 + rnd.below(5));
            p4 = h.port4;
            p6 = h.port6;
        }
        // Order and gap (Table 4.3): Sendmail IPv6 first; Postfix IPv4 first 62 %, 0.5 s;
        // Exchange IPv4 first, next port, < 0.5 s; malware follows RFC 6724.
        bool v4_first = false;
        double gap_s = rnd.range(0.05, 0.45);
        switch (h.kind) {
            case behaviour::postfix:
            case behaviour::legit_postfix:
                v4_first = rnd.chance(0.62);
                gap_s = rnd.range(0.45, 0.55);
                break;
            case behaviour::exchange_native:
            case behaviour::exchange_6to4:
            case behaviour::legit_exchange:
                v4_first = true;
                break;
            case behaviour::windows_malware:
            case behaviour::linux_malware:
            case behaviour::nat_member:
                v4_first = is_6to4(h.v6);
                gap_s = rnd.range(0.01, 0.3);
                break;
            default:
                break;
        }
        if (h.kind == behaviour::windows_malware || (h.kind == behaviour::nat_member && win)) {
            // getaddrinfo order; the IPv6 socket takes the first port of the pool.
            p6 = p4;
            p4 = static_cast<std::uint16_t>(p6 + 1);
        }
        const auto gap = static_cast<std::int64_t>(gap_s * 1e6);
        bool both = h.has_v4 && h.has_v6;
        if (h.kind == behaviour::hammering) {
            emit_attempt(t, h.v6, ip_family::v6, static_cast<std::uint16_t>(p6 + rnd.below(3)), h,
                         1);
            if (h.has_v4 && h.rounds % 30 == 0)  // about every 10 minutes
                emit_attempt(t + static_cast<std::int64_t>(rnd.range(30, 200) * 1e6),
                             address_from_ipv4(h.v4), ip_family::v4, p4, h, 1);
            // The /64's 4 addresses take turns: each connects every 20 s.
            events.push({t + 20'000'000 + static_cast<std::int64_t>(rnd.below(200'000)), ev.host});
            continue;
        }
        // Spammers hit the (IPv4-only) primary MX first and are rejected by its DNSBL.
        if (h.rejected && h.has_v4 && (h.kind != behaviour::nat_member || rnd.chance(0.3)))
            reject_line(t - static_cast<std::int64_t>(rnd.range(2, 40) * 1e6), h.v4);
        if (!h.rejected && h.has_v4 && rnd.chance(0.05)) other_line(t - 5'000'000, h.v4, false);
        // NAT rewrites the IPv4 source port.
        if (h.kind == behaviour::nat_member)
            p4 = static_cast<std::uint16_t>(1024 + rnd.below(60000));
        if (both) {
            if (v4_first) {
                emit_attempt(t, address_from_ipv4(h.v4), ip_family::v4, p4, h, syn4);
                emit_attempt(t + gap, h.v6, ip_family::v6, p6, h, syn6);
            } else {
                emit_attempt(t, h.v6, ip_family::v6, p6, h, syn6);
                emit_attempt(t + gap, address_from_ipv4(h.v4), ip_family::v4, p4, h, syn4);
            }
            ++h.both_rounds;
        } else if (h.has_v6) {
            emit_attempt(t, h.v6, ip_family::v6, p6, h, syn6);
        } else {
            emit_attempt(t, address_from_ipv4(h.v4), ip_family::v4, p4, h, syn4);
        }
        // Retry schedules (design §2) with queue-runner jitter.
        double next_s = 600;
        const std::uint32_t r = h.rounds;
        switch (h.kind) {
            case behaviour::sendmail:
                next_s = r == 1 ? 229 : 595;
                break;
            case behaviour::postfix:
            case behaviour::legit_postfix:
                next_s = r == 1 ? 470 : r == 2 ? 600 : r == 3 ? 1200 : r == 4 ? 2400 : 600;
                break;
            case behaviour::exchange_native:
            case behaviour::exchange_6to4:
            case behaviour::legit_exchange:
                next_s = r == 1 ? 840 : 600;
                break;
            case behaviour::windows_malware:
            case behaviour::linux_malware:
            case behaviour::v6_only_malware:
                next_s = rnd.range(60, 300);
                break;
            case behaviour::nat_member:
                next_s = rnd.range(300, 900);
                break;
            default:
                break;
        }
        next_s += rnd.range(-20, 20);
        events.push({t + static_cast<std::int64_t>(next_s * 1e6), ev.host});
    }
    while (!packets.empty()) {
        const pending_packet& p = packets.top();
        if (p.time_us < t_end + 60'000'000) write_syn(p);
        packets.pop();
    }
    write_resets_before(std::numeric_limits<std::int64_t>::max());
    while (!lines.empty()) {
        std::fprintf(log, "%s\n", lines.top().text.c_str());
        ++res.log_lines;
        lines.pop();
    }
    const bool log_failed = std::ferror(log) != 0;
    errno = 0;
    if (std::fclose(log) != 0 || log_failed)
        throw std::runtime_error("cannot write " + dir +
                                 "/maillog: " + std::strerror(errno ? errno : EIO));
    res.packets = pcap.frames();
    pcap.close();

    // ---- truth ---------------------------------------------------------------------
    nlohmann::json truth;
    truth["version"] = 1;
    truth["seed"] = opt.seed;
    truth["start"] = opt.start_unix;
    truth["end"] = t_end / 1'000'000;
    truth["rate"] = opt.rate;
    truth["sensor"] = {{"ipv4", format_ipv4(ipv4_of(sensor4))}, {"ipv6", v6_text(sensor6)}};
    truth["background_ipv6"] = "2a0b:b000::/32";
    auto arr = nlohmann::json::array();
    auto must_list = nlohmann::json::array();
    auto must_not = nlohmann::json::array();
    for (const auto& h : hosts) {
        if (h.rounds == 0) continue;
        nlohmann::json j;
        j["class"] = class_of(h.kind);
        j["behaviour"] = behaviour_name(h.kind);
        j["os"] = os_class_name(h.os);
        if (h.has_v6) {
            j["ipv6"] = v6_text(h.v6);
            j["prefix64"] = p64_text(h.v6);
        }
        if (h.has_v4) j["ipv4"] = format_ipv4(h.v4);
        j["rejected"] = h.rejected && h.has_v4;
        j["rounds"] = h.rounds;
        j["both_family_rounds"] = h.both_rounds;
        if (h.nat_group >= 0) j["nat_group"] = h.nat_group;
        arr.push_back(j);
        const std::string cls = class_of(h.kind);
        if (cls == "spammer_both" && h.both_rounds > 0) {
            must_list.push_back(p64_text(h.v6));
            ++res.spammers_both;
        } else if (h.has_v6 && (cls == "legitimate" || cls == "hammering" || cls == "nat")) {
            must_not.push_back(p64_text(h.v6));
        }
    }
    truth["hosts"] = arr;
    // The /64s of spammers seen over both families (recall is measured on these), and
    // the /64s no correct method may list (legitimate, hammering, NAT members).
    truth["spammer_both_64s"] = must_list;
    truth["never_list_64s"] = must_not;
    truth["packets"] = res.packets;
    truth["syns"] = res.syns;
    truth["attempts"] = res.attempts;
    std::ofstream out(dir + "/truth.json");
    out << truth.dump(1) << "\n";
    out.close();
    if (!out) throw std::runtime_error("cannot write " + dir + "/truth.json");
    return res;
}

}  // namespace v6bl::ingest
