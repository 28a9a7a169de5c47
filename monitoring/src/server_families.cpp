// The server's summed counters as Prometheus metric families (pure: no clock, no sockets).
#include "v6bl/monitoring/server_families.h"

#include <array>
#include <string>

#include "family_builder.h"

namespace v6bl::monitoring {
namespace {

using prometheus::MetricType;

// Slot names, in the order server_counters keeps them (server_stats.h).
constexpr std::array<const char*, 8> qtype_names = {"A",   "AAAA", "TXT",       "ANY",
                                                    "SOA", "NS",   "AXFR_IXFR", "other"};
// by_rcode slots 0..7; slot 8 is "dropped" (no response) and is v6bl_dns_dropped_total.
constexpr std::array<const char*, 8> rcode_names = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                    "NOTIMP",  "REFUSED", "BADVERS",  "NOTAUTH"};
constexpr std::array<const char*, 4> tsig_names = {"verified", "badkey", "badsig", "badtime"};
constexpr std::array<const char*, 5> code_names = {"2", "3", "4", "10", "other"};

static_assert(std::tuple_size_v<decltype(server::server_counters::by_qtype)> == qtype_names.size());
static_assert(std::tuple_size_v<decltype(server::server_counters::by_rcode)> ==
              rcode_names.size() + 1);
static_assert(std::tuple_size_v<decltype(server::server_counters::tsig)> == tsig_names.size());
static_assert(std::tuple_size_v<decltype(server::server_counters::listed_by_code)> ==
              code_names.size());

double as_double(std::uint64_t v) {
    return static_cast<double>(v);
}

prometheus::MetricFamily latency_family(const server::server_counters& c) {
    std::vector<double> bounds;
    std::vector<std::uint64_t> counts(c.latency.begin(), c.latency.end());
    double sum = 0;
    double lower = 0;
    for (std::size_t i = 0; i < server::latency_bounds_ns.size(); ++i) {
        const double upper = as_double(server::latency_bounds_ns[i]) / 1e9;
        bounds.push_back(upper);
        // The server counts buckets only: the sum is estimated from bucket midpoints.
        sum += as_double(c.latency[i]) * (lower + upper) / 2;
        lower = upper;
    }
    sum += as_double(c.latency.back()) * lower;  // over the last bound: counted at the bound
    return family_builder("v6bl_dns_query_duration_seconds",
                          "Time from a query's arrival to its answer being ready, in seconds "
                          "(the _sum is estimated from bucket midpoints).",
                          MetricType::Histogram)
        .histogram(bounds, counts, sum)
        .take();
}

}  // namespace

std::vector<prometheus::MetricFamily> server_families(const server::server_counters& c,
                                                      const server_scrape_facts& facts) {
    std::vector<prometheus::MetricFamily> out;

    out.push_back(family_builder("v6bl_dns_queries_total", "DNS queries received, by transport.",
                                 MetricType::Counter)
                      .sample(as_double(c.queries_udp), {{"transport", "udp"}})
                      .sample(as_double(c.queries_tcp), {{"transport", "tcp"}})
                      .take());

    family_builder qtypes("v6bl_dns_query_types_total",
                          "DNS queries received, by query type (malformed queries: other).",
                          MetricType::Counter);
    for (std::size_t i = 0; i < qtype_names.size(); ++i)
        qtypes.sample(as_double(c.by_qtype[i]), {{"qtype", qtype_names[i]}});
    out.push_back(qtypes.take());

    family_builder rcodes("v6bl_dns_responses_total", "DNS responses sent, by response code.",
                          MetricType::Counter);
    for (std::size_t i = 0; i < rcode_names.size(); ++i)
        rcodes.sample(as_double(c.by_rcode[i]), {{"rcode", rcode_names[i]}});
    out.push_back(rcodes.take());

    family_builder tsig("v6bl_dns_tsig_queries_total",
                        "TSIG-signed queries other than transfers: verified (the answer is "
                        "signed) or refused NOTAUTH (unknown key, bad MAC, outside the time "
                        "window).",
                        MetricType::Counter);
    for (std::size_t i = 0; i < tsig_names.size(); ++i)
        tsig.sample(as_double(c.tsig[i]), {{"result", tsig_names[i]}});
    out.push_back(tsig.take());

    family_builder answers("v6bl_dns_answers_total",
                           "Answers for names under the zone: listed (by reason code), unlisted "
                           "(NXDOMAIN) or nodata.",
                           MetricType::Counter);
    for (std::size_t i = 0; i < code_names.size(); ++i)
        answers.sample(as_double(c.listed_by_code[i]),
                       {{"result", "listed"}, {"code", code_names[i]}});
    answers.sample(as_double(c.unlisted), {{"result", "unlisted"}, {"code", "none"}});
    answers.sample(as_double(c.nodata), {{"result", "nodata"}, {"code", "none"}});
    out.push_back(answers.take());

    out.push_back(latency_family(c));

    out.push_back(counter_of("v6bl_dns_refused_total",
                             "Queries refused (outside the zone, or transfers not allowed).",
                             as_double(c.refused)));
    out.push_back(counter_of("v6bl_dns_malformed_total",
                             "Malformed queries (answered FORMERR or dropped).",
                             as_double(c.malformed)));
    out.push_back(counter_of("v6bl_dns_dropped_total",
                             "Queries dropped without a response (unreadable header, QR=1).",
                             as_double(c.dropped)));
    out.push_back(counter_of("v6bl_dns_truncated_total",
                             "UDP answers sent with TC=1 (larger than the client's UDP size).",
                             as_double(c.truncated)));
    out.push_back(counter_of("v6bl_dns_send_errors_total", "Answers that could not be sent.",
                             as_double(c.send_errors)));
    out.push_back(counter_of("v6bl_dns_send_queued_total",
                             "UDP answers that went through the send queue (socket was busy).",
                             as_double(c.send_queued)));
    out.push_back(counter_of("v6bl_dns_udp_batches_total",
                             "recvmmsg calls that returned datagrams; UDP queries per batch is "
                             "v6bl_dns_queries_total{transport=\"udp\"} over this.",
                             as_double(c.udp_batches)));

    out.push_back(
        gauge_of("v6bl_tcp_connections_open", "TCP connections open now.", as_double(c.tcp_open)));
    out.push_back(family_builder("v6bl_tcp_connections_total",
                                 "TCP connection events: accepted, refused over the cap, closed "
                                 "after the idle timeout, closed idle to admit one at the cap.",
                                 MetricType::Counter)
                      .sample(as_double(c.tcp_accepted), {{"result", "accepted"}})
                      .sample(as_double(c.tcp_refused), {{"result", "refused"}})
                      .sample(as_double(c.tcp_idle_closed), {{"result", "idle_closed"}})
                      .sample(as_double(c.tcp_evicted), {{"result", "evicted"}})
                      .take());
    out.push_back(family_builder("v6bl_tcp_connections_cut_total",
                                 "TCP connections closed for abuse: a message not finished "
                                 "within the read timeout, or answers not read by the peer.",
                                 MetricType::Counter)
                      .sample(as_double(c.tcp_read_timeouts), {{"reason", "read_timeout"}})
                      .sample(as_double(c.tcp_write_stalls), {{"reason", "write_stall"}})
                      .take());
    out.push_back(counter_of("v6bl_dns_acl_refused_total",
                             "Queries REFUSED because the source is outside --allow-query.",
                             as_double(c.acl_refused)));
    out.push_back(family_builder("v6bl_dns_rate_limited_total",
                                 "UDP answers over the response rate limit (--rrl-rate): "
                                 "dropped, or slipped (sent as a bare TC=1 answer).",
                                 MetricType::Counter)
                      .sample(as_double(c.rrl_dropped), {{"action", "dropped"}})
                      .sample(as_double(c.rrl_slipped), {{"action", "slipped"}})
                      .take());
    out.push_back(counter_of("v6bl_zone_transfers_total",
                             "AXFR/IXFR requests handed to the "
                             "transfer responder.",
                             as_double(c.transfers)));

    out.push_back(gauge_of("v6bl_view_serial", "Store serial of the listing view being served.",
                           as_double(c.view_serial)));
    out.push_back(gauge_of("v6bl_view_listings", "Listings in the view being served.",
                           as_double(c.view_listings)));
    out.push_back(counter_of("v6bl_view_swaps_total",
                             "Times a new listing view was swapped in (catch-up or rebuild).",
                             as_double(c.view_swaps)));
    out.push_back(gauge_of("v6bl_view_age_seconds",
                           "Seconds since the served view's serial last changed (scrape "
                           "resolution).",
                           facts.view_age_seconds));
    return out;
}

}  // namespace v6bl::monitoring
