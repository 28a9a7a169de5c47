// The ingest's counters (and its store's serial) as Prometheus metric families (pure).
#include "v6bl/monitoring/ingest_families.h"

#include <array>
#include <string>

#include "family_builder.h"
#include "v6bl/ingest/association.h"

namespace v6bl::monitoring {
namespace {

using prometheus::MetricType;

double as_double(std::uint64_t v) {
    return static_cast<double>(v);
}

// Label values, in bad_input_reason order (ingest's own names are sentences for its summary).
constexpr std::array<const char*, 7> bad_input_labels = {
    "malformed_packet", "truncated_capture", "unreadable_capture", "garbage_log_line",
    "invalid_json",     "json_schema",       "unreadable_file"};
static_assert(bad_input_labels.size() == static_cast<std::size_t>(ingest::bad_input_reason::count));
static_assert(static_cast<std::size_t>(ingest::bad_input_reason::json_schema) == 5);

}  // namespace

std::vector<prometheus::MetricFamily> ingest_families(const ingest_sample& s) {
    const auto& c = s.counters;
    std::vector<prometheus::MetricFamily> out;

    out.push_back(counter_of("v6bl_ingest_packets_total", "Packets read from captures.",
                             as_double(c.packets)));
    out.push_back(counter_of("v6bl_ingest_capture_drops_total",
                             "Live capture: packets the kernel (or the interface) dropped before "
                             "ingest read them (pcap_stats).",
                             as_double(c.capture_drops)));
    out.push_back(family_builder("v6bl_ingest_syns_total", "TCP SYNs to the sensor, by family.",
                                 MetricType::Counter)
                      .sample(as_double(c.syns_v6), {{"family", "ipv6"}})
                      .sample(as_double(c.syns - c.syns_v6), {{"family", "ipv4"}})
                      .take());
    out.push_back(family_builder("v6bl_ingest_connect_attempts_total",
                                 "connect() attempts (SYNs grouped per source address and port in "
                                 "a 25 s window), by family.",
                                 MetricType::Counter)
                      .sample(as_double(c.attempts_v6), {{"family", "ipv6"}})
                      .sample(as_double(c.attempts - c.attempts_v6), {{"family", "ipv4"}})
                      .take());
    out.push_back(counter_of("v6bl_ingest_associations_total",
                             "IPv6-IPv4 associations inferred by this sensor.",
                             as_double(c.associations)));
    out.push_back(counter_of("v6bl_ingest_associations_listable_total",
                             "Associations strong enough to list, with a rejected IPv4.",
                             as_double(c.associations_listable)));

    family_builder signals("v6bl_ingest_association_signals_total",
                           "Associations carrying each signal (one association counts once per "
                           "signal it carries).",
                           MetricType::Counter);
    const auto& names = ingest::signal_names();
    for (std::size_t i = 0; i < names.size() && i < c.associations_by_signal.size(); ++i)
        signals.sample(as_double(c.associations_by_signal[i]), {{"signal", names[i]}});
    out.push_back(signals.take());

    out.push_back(counter_of("v6bl_ingest_remote_associations_total",
                             "Association lines read from remote sensors.",
                             as_double(c.remote_associations)));
    out.push_back(
        counter_of("v6bl_ingest_log_lines_total", "MTA log lines read.", as_double(c.log_lines)));

    family_builder rejections("v6bl_ingest_rejections_total",
                              "DNSBL rejections parsed from production MTA logs, by MTA kind.",
                              MetricType::Counter);
    for (std::size_t i = 0; i < c.rejections_by_mta.size(); ++i)
        rejections.sample(as_double(c.rejections_by_mta[i]),
                          {{"mta", ingest::mta_kind_name(static_cast<ingest::mta_kind>(i))}});
    out.push_back(rejections.take());
    out.push_back(counter_of("v6bl_ingest_other_rejects_total",
                             "Rejections for other reasons than a DNSBL (ignored).",
                             as_double(c.other_rejects)));
    out.push_back(
        counter_of("v6bl_ingest_ipv6_client_rejects_total",
                   "DNSBL rejections of IPv6 clients (ignored: the method joins on IPv4).",
                   as_double(c.ipv6_client_rejects)));

    family_builder bad("v6bl_ingest_bad_input_total", "Input that could not be used, by reason.",
                       MetricType::Counter);
    for (std::size_t i = 0; i < c.bad_input.size(); ++i)
        bad.sample(as_double(c.bad_input[i]), {{"reason", bad_input_labels[i]}});
    out.push_back(bad.take());

    out.push_back(counter_of("v6bl_ingest_commits_total", "Change sets committed to the store.",
                             as_double(c.commits)));
    out.push_back(counter_of("v6bl_ingest_commit_operations_total",
                             "Store operations in the committed change sets.",
                             as_double(c.commit_ops)));
    out.push_back(family_builder("v6bl_ingest_commit_duration_seconds",
                                 "Time to commit one change set to the store, in seconds.",
                                 MetricType::Summary)
                      .summary(c.commits, as_double(c.commit_us_total) / 1e6)
                      .take());
    out.push_back(gauge_of("v6bl_ingest_commit_duration_max_seconds",
                           "Longest commit since the ingest started, in seconds.",
                           as_double(c.commit_us_max) / 1e6));
    out.push_back(counter_of("v6bl_ingest_listed_64s_total",
                             "/64s whose record crossed the listing threshold in this run.",
                             as_double(c.listed_64s)));
    out.push_back(counter_of("v6bl_ingest_history_restarts_total",
                             "Round histories started over because the association engine's "
                             "pool of rings was full; their earlier rounds no longer count.",
                             as_double(c.history_restarts)));
    out.push_back(counter_of("v6bl_ingest_address_book_evictions_total",
                             "/64s the address book forgot before their horizon to stay within "
                             "its bound of /64s; seen again, their addresses count anew.",
                             as_double(c.address_book_evictions)));
    out.push_back(counter_of("v6bl_ingest_histories_forgotten_total",
                             "Addresses seen on one round that the association engine forgot "
                             "before their horizon to stay within its bound of them.",
                             as_double(c.histories_forgotten)));

    if (s.store_serial)
        out.push_back(gauge_of("v6bl_store_serial", "The store's serial (the writer's).",
                               as_double(*s.store_serial)));
    if (s.corrupt_records)
        out.push_back(counter_of("v6bl_store_corrupt_records_total",
                                 "Store records that failed to decode (skipped, kept on disk).",
                                 as_double(*s.corrupt_records)));
    return out;
}

}  // namespace v6bl::monitoring
