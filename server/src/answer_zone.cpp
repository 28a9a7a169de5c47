// The zone's fixed wire data (name, SOA, NS, test point TXT), derived once from zone_config.
#include <arpa/inet.h>

#include <stdexcept>
#include <string>

#include "v6bl/server/answer.h"

namespace v6bl::server {
namespace {

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return s;
}

std::string without_dot(std::string s) {
    while (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

// Appends the labels of a dotted name (no escapes: configuration names are host names).
void append_labels(std::vector<std::uint8_t>& out, const std::string& dotted) {
    if (dotted.empty()) return;
    std::size_t start = 0;
    while (start <= dotted.size()) {
        const std::size_t dot = dotted.find('.', start);
        const std::size_t end = dot == std::string::npos ? dotted.size() : dot;
        const std::size_t len = end - start;
        if (len == 0 || len > 63) throw std::invalid_argument("bad domain name: " + dotted);
        out.push_back(static_cast<std::uint8_t>(len));
        out.insert(out.end(), dotted.begin() + static_cast<std::ptrdiff_t>(start),
                   dotted.begin() + static_cast<std::ptrdiff_t>(end));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
}

answer_zone::name_wire make_name(const std::string& name, const std::string& zone) {
    const std::string n = without_dot(name);
    const std::string ln = lower(n);
    answer_zone::name_wire w;
    if (ln == zone) {
        w.under_zone = true;
    } else if (ln.size() > zone.size() &&
               ln.compare(ln.size() - zone.size(), zone.size(), zone) == 0 &&
               ln[ln.size() - zone.size() - 1] == '.') {
        w.under_zone = true;
        append_labels(w.labels, n.substr(0, n.size() - zone.size() - 1));
    } else {
        append_labels(w.labels, n);
    }
    if (w.labels.size() + 1 > dns::max_name_size)
        throw std::invalid_argument("name too long: " + name);
    return w;
}

}  // namespace

answer_zone::answer_zone(const zones::zone_config& config) : config_(config) {
    config_.zone = lower(without_dot(config_.zone));
    if (config_.zone.empty()) throw std::invalid_argument("the zone name is empty");
    for (const std::string& spec : config_.transfer_tsig) {
        auto key = zones::parse_tsig_key(spec);
        if (!key) throw std::invalid_argument("bad TSIG key '" + spec + "'");
        tsig_keys_.push_back(std::move(*key));
    }
    std::vector<std::uint8_t> wire;
    append_labels(wire, config_.zone);
    wire.push_back(0);
    if (wire.size() > dns::max_name_size) throw std::invalid_argument("zone name too long");
    std::copy(wire.begin(), wire.end(), zone_wire_.begin());
    zone_wire_len_ = wire.size();
    for (std::size_t i = 0; wire[i] != 0; i += wire[i] + 1u) ++zone_labels_;
    mname_ =
        make_name(config_.ns_names.empty() ? config_.zone : config_.ns_names.front(), config_.zone);
    // "hostmaster@zone" is accepted, as the exporter does: the local part is one label, dots
    // and all (RFC 1035 8), as in the zone file and transfers.
    const std::string& rname = config_.soa_rname;
    if (const auto at = rname.find('@'); at != std::string::npos) {
        const std::string local = rname.substr(0, at);
        if (local.empty() || local.size() > 63)
            throw std::invalid_argument("bad SOA mailbox: " + rname);
        rname_ = make_name(rname.substr(at + 1), config_.zone);
        rname_.labels.insert(rname_.labels.begin(), local.begin(), local.end());
        rname_.labels.insert(rname_.labels.begin(), static_cast<std::uint8_t>(local.size()));
        if (rname_.labels.size() + 1 > dns::max_name_size)
            throw std::invalid_argument("name too long: " + rname);
    } else {
        rname_ = make_name(rname, config_.zone);
    }
    for (const auto& ns : config_.ns_names) ns_.push_back(make_name(ns, config_.zone));
    if (ns_.empty()) throw std::invalid_argument("the zone needs at least one NS name");
    for (const auto& spec : config_.ns_addresses) {
        const auto eq = spec.find('=');
        if (eq == std::string::npos)
            throw std::invalid_argument("NS address '" + spec + "': want NAME=ADDRESS");
        const std::string name = lower(without_dot(spec.substr(0, eq)));
        const std::string address = spec.substr(eq + 1);
        glue_record g;
        g.owner = make_name(name, config_.zone);
        if (!g.owner.under_zone) continue;
        append_labels(g.name, name);
        g.name.push_back(0);
        if (address.find(':') != std::string::npos) {
            g.type = 28;
            g.rdlen = 16;
            if (inet_pton(AF_INET6, address.c_str(), g.rdata.data()) != 1)
                throw std::invalid_argument("NS address '" + spec + "': bad address");
        } else {
            g.type = 1;
            g.rdlen = 4;
            if (inet_pton(AF_INET, address.c_str(), g.rdata.data()) != 1)
                throw std::invalid_argument("NS address '" + spec + "': bad address");
        }
        glue_.push_back(std::move(g));
    }
    test_entry_ = store::rfc5782_test_entry();
    test_txt_ = store::listing_txt(test_entry_, config_.url_template);
}

}  // namespace v6bl::server
