// Golden query files run through the pure answer core (see golden/README.txt for the format).
#include "golden_runner.h"

#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "dns_text.h"
#include "v6bl/server/answer.h"
#include "v6bl/store/listing_view.h"

namespace v6bl::server::test {
namespace {

std::vector<std::string> split(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r");
    const auto e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::uint32_t num(const std::string& s) {
    return static_cast<std::uint32_t>(std::stoul(s));
}

struct golden_case {
    std::string header;  // the "query ..." or "raw ..." line
    std::vector<std::string> expected;
};

}  // namespace

golden_report run_golden_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open golden file " + path);
    zones::zone_config cfg;
    std::vector<store::listing_entry> entries;
    std::vector<store::prefix> holes;
    std::uint32_t now = 1790000000;
    std::uint32_t serial = 7;
    std::vector<std::string> preamble;
    std::vector<golden_case> cases;

    std::string line;
    golden_case* open = nullptr;
    while (std::getline(in, line)) {
        const std::string t = trim(line);
        if (open) {
            if (t.empty()) {
                open = nullptr;
            } else {
                open->expected.push_back(t);
            }
            continue;
        }
        if (t.empty() || t[0] == '#') {
            if (cases.empty()) preamble.push_back(line);
            continue;
        }
        const auto w = split(t);
        if (w[0] == "query" || w[0] == "raw") {
            cases.push_back({t, {}});
            open = &cases.back();
            continue;
        }
        if (!cases.empty()) throw std::runtime_error("setup line after the first case: " + t);
        preamble.push_back(line);
        if (w[0] == "now" && w.size() == 2) {
            now = num(w[1]);
        } else if (w[0] == "serial" && w.size() == 2) {
            serial = num(w[1]);
        } else if (w[0] == "zone" && w.size() == 2) {
            cfg.zone = w[1];
            cfg.ns_names = {"ns1." + w[1]};
            cfg.soa_rname = "hostmaster." + w[1];
        } else if (w[0] == "ns" && w.size() >= 2) {
            cfg.ns_names.assign(w.begin() + 1, w.end());
        } else if (w[0] == "nsaddr" && w.size() >= 2) {
            cfg.ns_addresses.assign(w.begin() + 1, w.end());
        } else if (w[0] == "hole" && w.size() == 2) {
            auto p = store::parse_prefix(w[1], false);
            if (!p) throw std::runtime_error("bad hole: " + t);
            holes.push_back(*p);
        } else if (w[0] == "listing" && w.size() >= 3) {
            auto p = store::parse_prefix(w[1], false);
            if (!p) throw std::runtime_error("bad listing: " + t);
            store::listing_entry e;
            e.where = *p;
            e.source_length = p->length;
            e.code = static_cast<store::reason_code>(num(w[2]));
            for (std::size_t i = 3; i < w.size(); ++i) {
                const auto eq = w[i].find('=');
                const std::string k = w[i].substr(0, eq), v = w[i].substr(eq + 1);
                if (k == "ipv4s")
                    e.rejected_ipv4s = static_cast<std::uint16_t>(num(v));
                else if (k == "attempts")
                    e.attempts = num(v);
                else if (k == "first")
                    e.first_seen = num(v);
                else if (k == "last")
                    e.last_seen = num(v);
                else if (k == "expires")
                    e.expires = num(v);
                else if (k == "text")
                    e.text = v;
                else
                    throw std::runtime_error("bad listing field: " + w[i]);
            }
            entries.push_back(e);
        } else {
            throw std::runtime_error("unknown golden line: " + t);
        }
    }
    entries.push_back(store::rfc5782_test_entry());
    auto view = store::listing_view::build(entries, holes, serial);
    const answer_zone zone(cfg);

    golden_report report;
    for (const auto& l : preamble) report.actual += l + "\n";
    std::vector<std::uint8_t> out(dns::max_message_size);
    for (const auto& c : cases) {
        const auto w = split(c.header);
        answer_context ctx{view.get(), &zone, now, transport_kind::udp};
        std::vector<std::uint8_t> packet;
        if (w[0] == "raw") {
            packet = from_hex(c.header.substr(3));
        } else {
            if (w.size() < 3)
                throw std::runtime_error("query needs a name and a type: " + c.header);
            query_options o;
            for (std::size_t i = 3; i < w.size(); ++i) {
                const std::string& f = w[i];
                if (f == "+edns")
                    o.edns = true;
                else if (f == "+do")
                    o.edns = o.dnssec_ok = true;
                else if (f == "+rd")
                    o.rd = true;
                else if (f == "+cd")
                    o.cd = true;
                else if (f == "+tcp")
                    ctx.transport = transport_kind::tcp;
                else if (f.rfind("+bufsize=", 0) == 0)
                    o.edns = true, o.bufsize = static_cast<std::uint16_t>(num(f.substr(9)));
                else if (f.rfind("+version=", 0) == 0)
                    o.edns = true, o.edns_version = static_cast<std::uint8_t>(num(f.substr(9)));
                else if (f.rfind("+class=", 0) == 0)
                    o.qclass = static_cast<std::uint16_t>(num(f.substr(7)));
                else
                    throw std::runtime_error("unknown query flag " + f);
            }
            packet = make_query(expand_name(w[1], zone.config().zone), w[2], o);
        }
        const answer_result r = answer_query(packet, out, ctx);
        const std::string got = describe_response({out.data(), r.size});
        std::string want;
        for (const auto& e : c.expected) want += (want.empty() ? "" : "\n") + e;
        ++report.cases;
        if (got != want) {
            ++report.failures;
            report.details +=
                "case: " + c.header + "\n--- expected\n" + want + "\n--- actual\n" + got + "\n\n";
        }
        report.actual += "\n" + c.header + "\n" + got + "\n";
    }
    return report;
}

}  // namespace v6bl::server::test
