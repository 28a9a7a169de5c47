// The store subcommands: import, lookup, allow, unallow, delist, expire, compact, list.
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "common_flags.h"
#include "config_file.h"
#include "v6bl/ingest/association.h"
#include "v6bl/ingest/reputation_writer.h"
#include "v6bl/store/store.h"

namespace v6bl::tools {

namespace {

using namespace v6bl::store;

struct store_args {
    std::string db;
    listing_policy policy;
    long long now = 0;
    bool json = false;
    // lookup: the TXT as serve and export give it (same flag, same default)
    std::string url_template = zones::zone_config{}.url_template;
};

std::string iso_time(std::uint32_t t) {
    if (t == 0) return "-";
    std::time_t tt = t;
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// Whether the next word of `s` is a dotted quad (four decimal parts).
bool looks_like_ipv4(std::string_view s) {
    int parts = 1, digits = 0;
    for (char ch : s) {
        if (ch == ' ' || ch == '\t') break;
        if (ch == '.') {
            if (digits == 0) return false;
            ++parts;
            digits = 0;
        } else if (ch >= '0' && ch <= '9') {
            if (++digits > 3) return false;
        } else {
            return false;
        }
    }
    return parts == 4 && digits > 0;
}

// A C0 control byte or DEL: never an operator's text, and not for a terminal.
bool is_control_byte(unsigned char b) {
    return b < 0x20 || b == 0x7f;
}

// `s` for a terminal: control bytes (an escape sequence, a CR, a NUL that would end a %s)
// as \xNN. Stored texts and comments, and input quoted in errors, are shown through it
// (helper-53: `list` sent a stored ESC sequence to the terminal).
std::string shown(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        const auto b = static_cast<unsigned char>(c);
        if (is_control_byte(b)) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[b >> 4];
            out += hex[b & 15];
        } else {
            out += c;
        }
    }
    return out;
}

// One import line: PREFIX [CODE] [TEXT]. Returns an error message or empty.
// A prefix as an operator types it. A bare address is its /64, and an address with a length
// of /48 or more is its network (interface notation: 2001:db8:1:2::25/64). A wider prefix
// with bits set past its length is refused: "2001:db8::/16" is most likely a typo for a
// /32 or /48, and taking it as 2001::/16 would list a registry's whole space. Returns an
// error, or "" with `where` set.
std::string parse_operator_prefix(std::string_view text, prefix& where) {
    const auto parsed = parse_prefix(text, true);
    if (!parsed) return "'" + std::string(text) + "' is not an IPv6 prefix or address";
    const bool bare = text.find('/') == std::string_view::npos;
    if (!bare && parsed->length < 48 &&
        *parse_address(text.substr(0, text.find('/'))) != parsed->address)
        return "'" + std::string(text) + "' has bits set past /" + std::to_string(parsed->length) +
               " (that network is " + format_prefix(*parsed) + "): write the prefix you mean";
    where = *parsed;
    return "";
}

std::string parse_import_line(std::string_view line, prefix& where, reason_code& code,
                              std::string& text) {
    auto skip_space = [&] {
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            line.remove_prefix(1);
    };
    auto word = [&] {
        skip_space();
        std::size_t n = 0;
        while (n < line.size() && line[n] != ' ' && line[n] != '\t') ++n;
        auto w = line.substr(0, n);
        line.remove_prefix(n);
        return w;
    };
    const auto p = word();
    if (std::string error = parse_operator_prefix(p, where); !error.empty()) return error;
    if (covers_rfc5782_unlisted_point(where))
        return "'" + std::string(p) + "' (" + format_prefix(where) +
               ") covers ::ffff:127.0.0.1, which RFC 5782 says is never listed";
    // Its code is RFC 5782's (127.0.0.2), as the IPv4 point's is: not the operator's to set.
    if (is_rfc5782_test_point(where))
        return "'" + std::string(p) +
               "' is the RFC 5782 test point, which v6bl lists itself (127.0.0.2)";
    code = reason_code::manual;
    skip_space();
    if (line.starts_with("127.0.0.")) {
        const auto c = word();
        unsigned v = 0;
        const auto digits = c.substr(8);
        if (digits.empty() || digits.size() > 3) return "bad reason code '" + std::string(c) + "'";
        for (char ch : digits) {
            if (ch < '0' || ch > '9') return "bad reason code '" + std::string(c) + "'";
            v = v * 10 + static_cast<unsigned>(ch - '0');
        }
        if (v < 2 || v > 255) return "reason code must be 127.0.0.2 .. 127.0.0.255";
        code = static_cast<reason_code>(v);
    } else if (looks_like_ipv4(line)) {
        // where the code goes, but no code: most likely a mistyped one
        const auto c = word();
        return "'" + std::string(c) +
               "' is no reason code (127.0.0.2 .. 127.0.0.255); to start the text with an "
               "address, give the code first";
    }
    skip_space();
    text = std::string(line);
    // The same whitespace that separates the fields (a tab too), and a CR.
    while (!text.empty() && (text.back() == '\r' || text.back() == ' ' || text.back() == '\t'))
        text.pop_back();
    // A NUL or another control byte in the TXT is no operator's text: a UTF-16 file, or
    // binary data (UTF-8 passes; a tab is kept as typed).
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (is_control_byte(b) && b != '\t') {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02x", b);
            return "the text holds a control byte (" + std::string(hex) + ", text byte " +
                   std::to_string(i + 1) + ")";
        }
    }
    return {};
}

// `create`: only import makes a store; delist, allow, unallow and compact of a path that
// holds none (a typo) are an error, not a new empty store that lists nothing.
std::unique_ptr<reputation_store> open_writer(const std::string& db, bool create = false) {
    store_options o;
    o.path = db;
    o.create_if_missing = create;
    return reputation_store::open_writer(o);
}

// The secondary instance's scratch directory, removed at exit (after the command closed its
// store): each lookup beside a writer left one in /tmp (helper-53).
struct scratch_at_exit {
    std::string path;
    ~scratch_at_exit() {
        std::error_code ec;
        if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
};

std::unique_ptr<reputation_store> open_reading(const std::string& db) {
    store_options o;
    o.path = db;
    o.create_if_missing = false;
    try {
        return reputation_store::open_read_only(o);
    } catch (const store_error&) {
        // a writer may hold it; a secondary instance reads beside the writer (one that
        // refuses the store's table files refuses it too: refuse_damaged in store.cpp)
        static scratch_at_exit scratch;
        scratch.path =
            (std::filesystem::temp_directory_path() / ("v6bl-lookup-" + std::to_string(getpid())))
                .string();
        auto s = reputation_store::open_reader(o, scratch.path);
        s->catch_up();
        return s;
    }
}

// An import line is a prefix, a code and a TXT of at most 255 bytes: anything longer than
// this is not one, and is not held in memory whole (a file without newlines would be).
constexpr std::size_t max_import_line = 64 * 1024;

// std::getline with a bound: a longer line is read to its end but only `limit` bytes of it
// kept, and `too_long` set. False at the end of the input, or on a read error (badbit; the
// file buffer throws on one, as getline would have caught).
bool read_bounded_line(std::istream& in, std::string& line, std::size_t limit, bool& too_long) {
    line.clear();
    too_long = false;
    std::streambuf* buf = in.rdbuf();
    for (;;) {
        int c = 0;
        try {
            c = buf->sbumpc();
        } catch (const std::exception&) {
            in.setstate(std::ios::badbit);
            return false;
        }
        if (c == std::char_traits<char>::eof()) {
            in.setstate(std::ios::eofbit);
            return !line.empty() || too_long;
        }
        if (c == '\n') return true;
        if (line.size() < limit)
            line.push_back(static_cast<char>(c));
        else
            too_long = true;
    }
}

int run_import(const store_args& a, const std::vector<std::string>& files) {
    auto store = open_writer(a.db, true);
    const std::uint32_t now = clock_or(a.now);
    std::size_t good = 0, bad = 0, cut = 0;
    // listing_txt() keeps this much of an operator's text, so that the URL still fits the
    // TXT's 255 bytes.
    constexpr std::size_t answer_text_limit = 100;
    for (const auto& file : files) {
        // A directory opens as a stream that reads nothing: it would import nothing silently.
        std::error_code ec;
        if (std::filesystem::is_directory(file, ec)) {
            std::fprintf(stderr, "v6bl import: %s: is a directory\n", file.c_str());
            ++bad;
            continue;
        }
        std::ifstream in(file == "-" ? "/dev/stdin" : file);
        if (!in) {
            std::fprintf(stderr, "v6bl import: %s: cannot open: %s\n", file.c_str(),
                         std::strerror(errno));
            ++bad;
            continue;
        }
        change_set cs;
        std::string line;
        std::size_t lineno = 0;
        bool too_long = false;
        while (read_bounded_line(in, line, max_import_line, too_long)) {
            ++lineno;
            if (too_long) {
                std::fprintf(stderr, "v6bl import: %s:%zu: line too long (over %zu bytes)\n",
                             file.c_str(), lineno, max_import_line);
                ++bad;
                continue;
            }
            // Files from Windows editors: CRLF line ends and a UTF-8 byte order mark.
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (lineno == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
            std::string_view v(line);
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
            if (v.empty() || v.front() == '#') continue;
            prefix where;
            reason_code code;
            std::string text;
            const std::string err = parse_import_line(v, where, code, text);
            if (!err.empty()) {
                std::fprintf(stderr, "v6bl import: %s:%zu: %s\n", file.c_str(), lineno,
                             shown(err).c_str());
                ++bad;
                continue;
            }
            if (text.size() > answer_text_limit) ++cut;
            cs.list_manually(where, code, text, now);
            ++good;
            if (cs.size() >= 100000) store->commit(std::move(cs), now);
        }
        // Reading stops before the end on a read error: that is no end of the file.
        if (!in.eof() || in.bad()) {
            std::fprintf(stderr, "v6bl import: %s:%zu: cannot read further\n", file.c_str(),
                         lineno + 1);
            ++bad;
        }
        if (!cs.empty()) store->commit(std::move(cs), now);
    }
    std::printf("imported %zu listing(s), %zu bad line(s); serial %u\n", good, bad,
                store->serial());
    if (cut > 0)
        std::printf(
            "note: %zu text(s) longer than %zu characters: answers carry the first %zu "
            "(the store keeps 200; `v6bl list` shows them)\n",
            cut, answer_text_limit, answer_text_limit);
    return bad == 0 ? 0 : 2;
}

nlohmann::json record_json(const reputation_record& r) {
    return {{"reason_bits", r.reason_bits},
            {"manual_code", r.manual_code},
            {"first_seen", iso_time(r.first_seen)},
            {"last_seen", iso_time(r.last_seen)},
            {"attempts", r.attempts},
            {"addresses", r.addresses},
            {"rejected_ipv4s", r.rejected_ipv4s},
            {"strength_milli", r.strength_milli},
            {"sensors", r.sensors},
            {"text", r.text}};
}

std::string format_ipv4_item(std::string_view item) {
    if (item.size() != 4) return "?";
    char buf[20];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", static_cast<unsigned char>(item[0]),
                  static_cast<unsigned char>(item[1]), static_cast<unsigned char>(item[2]),
                  static_cast<unsigned char>(item[3]));
    return buf;
}

// An evidence item's signal bits by name (docs/ingest.md, "Signals").
nlohmann::json signal_list(std::uint16_t bits) {
    nlohmann::json out = nlohmann::json::array();
    const auto& names = v6bl::ingest::signal_names();
    for (std::size_t i = 0; i < names.size(); ++i)
        if (bits & (1u << i)) out.push_back(names[i]);
    return out;
}

int run_lookup(const store_args& a, const std::string& address) {
    auto addr = parse_address(address);
    if (!addr) {
        std::fprintf(stderr, "v6bl lookup: '%s' is not an IPv6 address\n", address.c_str());
        return 2;
    }
    // Exit 1 means "not listed": a store that cannot be read is 2, like a bad address (the
    // command's callback catches what the open and the reads throw).
    const std::unique_ptr<reputation_store> store = open_reading(a.db);
    const undecodable_warning warning("lookup", *store);
    const std::uint32_t now = clock_or(a.now);
    const auto r = store->lookup(*addr, a.policy, now);
    nlohmann::json evidence = nlohmann::json::array();
    if (r.stored_prefix && r.stored_prefix->length <= 64) {
        store->for_each_evidence(
            r.stored_prefix->truncated(64),
            [&](evidence_kind k, std::string_view item, const evidence_item& e) {
                nlohmann::json j = {{"count", e.count},
                                    {"strength_milli", e.strength_milli},
                                    {"signals", e.signals},
                                    {"signal_names", signal_list(e.signals)},
                                    {"first_seen", iso_time(e.first_seen)},
                                    {"last_seen", iso_time(e.last_seen)}};
                if (k == evidence_kind::rejected_ipv4) {
                    // The kind holds every associated IPv4 (docs/ingest.md, "Store records
                    // written"); whether this one was rejected is its signal bit.
                    j["kind"] = "rejected_ipv4";
                    j["ipv4"] = format_ipv4_item(item);
                    j["rejected"] = (e.signals & v6bl::ingest::sig_ipv4_rejected) != 0;
                } else {
                    j["kind"] = "ipv6_address";
                    ipv6_bytes b{};
                    std::memcpy(b.data(), r.stored_prefix->address.data(), 8);
                    std::memcpy(b.data() + 8, item.data(), std::min<std::size_t>(item.size(), 8));
                    j["ipv6"] = format_address(b);
                }
                evidence.push_back(std::move(j));
                return evidence.size() < 64;
            });
    }
    if (a.json) {
        nlohmann::json j = {
            {"address", format_address(*addr)}, {"listed", r.listed}, {"why", r.why}};
        if (r.entry) {
            j["prefix"] = format_prefix(r.entry->where);
            j["code"] = "127.0.0." + std::to_string(static_cast<int>(r.entry->code));
            j["txt"] = listing_txt(*r.entry, a.url_template);
        }
        if (r.stored_prefix) j["stored_prefix"] = format_prefix(*r.stored_prefix);
        if (r.record) j["record"] = record_json(*r.record);
        if (r.allowed_by) j["allowed_by"] = format_prefix(*r.allowed_by);
        j["evidence"] = evidence;
        j["serial"] = store->serial();
        // Stored texts and comments are bytes as imported, not necessarily UTF-8.
        std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
        std::printf("%s: %s\n", format_address(*addr).c_str(), r.why.c_str());
        if (r.entry) {
            std::printf("  answer: A 127.0.0.%d from %s\n", static_cast<int>(r.entry->code),
                        format_prefix(r.entry->where).c_str());
            std::printf("  TXT: %s\n", shown(listing_txt(*r.entry, a.url_template)).c_str());
        }
        if (r.record) {
            const auto& rec = *r.record;
            std::printf(
                "  record %s: strength %u, %u attempts, %u address(es), %u rejected IPv4(s), first "
                "%s, last %s%s%s\n",
                format_prefix(*r.stored_prefix).c_str(), rec.strength_milli, rec.attempts,
                rec.addresses, rec.rejected_ipv4s, iso_time(rec.first_seen).c_str(),
                iso_time(rec.last_seen).c_str(),
                rec.text.empty() ? "" : ", text: ", rec.text.c_str());
        }
        for (const auto& e : evidence) {
            const bool v4 = e.contains("ipv4");
            std::printf("  evidence: %s %s seen %u time(s), strength %u, %s .. %s\n",
                        !v4                          ? "ipv6_address"
                        : e.value("rejected", false) ? "IPv4 (rejected)"
                                                     : "IPv4 (associated, not rejected)",
                        e[v4 ? "ipv4" : "ipv6"].get<std::string>().c_str(),
                        e["count"].get<unsigned>(), e["strength_milli"].get<unsigned>(),
                        e["first_seen"].get<std::string>().c_str(),
                        e["last_seen"].get<std::string>().c_str());
        }
    }
    return r.listed ? 0 : 1;
}

// `nothing` says, before anything is committed, why the change would change nothing
// ("" when it would): then nothing is committed (no new serial, no NOTIFY, no view rebuilt).
int run_change(const store_args& a, const std::string& text, const std::string& comment,
               void (*apply)(change_set&, const prefix&, const std::string&, std::uint32_t),
               std::string (*nothing)(const reputation_store&, const prefix&,
                                      const std::string&) = nullptr) {
    prefix p;
    if (const std::string error = parse_operator_prefix(text, p); !error.empty()) {
        std::fprintf(stderr, "v6bl: %s\n", error.c_str());
        return 64;  // EX_USAGE
    }
    auto store = open_writer(a.db);
    if (nothing) {
        if (const std::string why = nothing(*store, p, comment); !why.empty()) {
            std::printf("%s: %s; nothing committed, serial %u\n", format_prefix(p).c_str(),
                        why.c_str(), store->serial());
            return 0;
        }
    }
    change_set cs;
    const std::uint32_t now = clock_or(a.now);
    apply(cs, p, comment, now);
    const auto serial = store->commit(std::move(cs), now);
    std::printf("%s: done, serial %u\n", format_prefix(p).c_str(), serial);
    return 0;
}

// delist: the records at or under the prefix and their evidence, and the associations of
// its /64s that ingest remembers until their IPv4 is rejected (a delisted /64 came back from
// one of them at that IPv4's next rejection, with no new evidence).
int run_delist(const store_args& a, const std::string& text) {
    prefix p;
    if (const std::string error = parse_operator_prefix(text, p); !error.empty()) {
        std::fprintf(stderr, "v6bl: %s\n", error.c_str());
        return 64;  // EX_USAGE
    }
    auto store = open_writer(a.db);
    std::size_t records = 0;
    store->for_each_record_in(p, [&](const prefix&, const reputation_record&) {
        ++records;
        return true;
    });
    change_set cs;
    std::size_t remembered = 0;
    store->for_each_checkpoint(
        ingest::remembered_checkpoint_prefix, [&](std::string_view source, std::string_view value) {
            if (source == ingest::remembered_marker) return true;
            std::size_t dropped = 0;
            const std::string rest = ingest::remembered_without(value, p, dropped);
            if (dropped == 0) return true;
            remembered += dropped;
            if (rest.empty())
                cs.erase_checkpoint(source);
            else
                cs.set_checkpoint(source, rest);
            return true;
        });
    if (records == 0 && remembered == 0) {
        std::printf("%s: no record stored at or under it; nothing committed, serial %u\n",
                    format_prefix(p).c_str(), store->serial());
        return 0;
    }
    std::printf(
        "%s: removing %zu stored record(s) and their evidence, and %zu association(s) "
        "waiting for their IPv4's rejection\n",
        format_prefix(p).c_str(), records, remembered);
    const std::uint32_t now = clock_or(a.now);
    cs.remove(p);
    const auto serial = store->commit(std::move(cs), now);
    std::printf("%s: done, serial %u\n", format_prefix(p).c_str(), serial);
    return 0;
}

// A listing that expires between two commits leaves serve and export at once, but under the
// serial its zone had: secondaries are told they are up to date and keep it. A commit
// naming the listings that lapsed since the current serial's moves the serial (serve
// publishes the new one and sends NOTIFY); nothing else is written.
int run_expire(const store_args& a) {
    auto store = open_writer(a.db);
    const std::uint32_t now = clock_or(a.now);
    const auto since = store->serial_time();
    if (!since) {
        std::printf("no commit to compare with: serial %u unchanged\n", store->serial());
        return 0;
    }
    const auto lapsed = lapsed_listings(*store, a.policy, *since, now);
    if (lapsed.empty()) {
        std::printf("no listing lapsed since %s: serial %u unchanged\n", iso_time(*since).c_str(),
                    store->serial());
        return 0;
    }
    change_set cs;
    for (const auto& p : lapsed) cs.touch(p);
    const auto serial = store->commit(std::move(cs), now);
    std::printf("%zu listing(s) lapsed since %s: serial %u\n", lapsed.size(),
                iso_time(*since).c_str(), serial);
    return 0;
}

int run_compact(const store_args& a) {
    auto store = open_writer(a.db);
    std::printf("before: %s\n", store->describe_levels().c_str());
    store->compact();
    std::printf("after:  %s\n", store->describe_levels().c_str());
    return 0;
}

int run_list(const store_args& a, bool published) {
    auto store = open_reading(a.db);
    const undecodable_warning warning("list", *store);
    const std::uint32_t now = clock_or(a.now);
    if (published) {
        store->for_each_published(a.policy, now, [&](const listing_entry& e) {
            if (a.json) {
                std::cout << nlohmann::json{{"prefix", format_prefix(e.where)},
                                            {"code", static_cast<int>(e.code)},
                                            {"txt", listing_txt(e, {})}}
                                 .dump()
                          << "\n";
            } else {
                std::printf("%s 127.0.0.%d %s\n", format_prefix(e.where).c_str(),
                            static_cast<int>(e.code), shown(listing_txt(e, {})).c_str());
            }
        });
        for (const auto& h : store->published_holes()) {
            if (a.json)
                std::cout << nlohmann::json{{"allowlisted", format_prefix(h)}}.dump() << "\n";
            else
                std::printf("!%s allowlisted\n", format_prefix(h).c_str());
        }
        return 0;
    }
    // Stored texts and comments are bytes as imported, not necessarily UTF-8.
    auto json_line = [](const nlohmann::json& j) {
        std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    };
    // A record inside an allowlisted prefix is never listed (lookup, serve and --published
    // agree): its verdict says so, not the code its record alone would have. (One that only
    // contains an allowlisted prefix is listed around that hole: its code stands.)
    std::vector<prefix> allowed;
    store->for_each_allow([&](const prefix& p, const allow_entry&) {
        allowed.push_back(p);
        return true;
    });
    auto allowed_by = [&](const prefix& p) -> const prefix* {
        for (const prefix& al : allowed)
            if (al.covers(p)) return &al;
        return nullptr;
    };
    store->for_each_record([&](const prefix& p, const reputation_record& r) {
        const prefix* allow = allowed_by(p);
        const auto code = allow ? std::nullopt : listed_code(r, a.policy, now);
        if (a.json) {
            nlohmann::json j = {{"prefix", format_prefix(p)}, {"record", record_json(r)}};
            // as --published gives it: the last octet of 127.0.0.X, or null when not listed
            j["code"] = code ? nlohmann::json(static_cast<int>(*code)) : nlohmann::json(nullptr);
            if (allow) j["allowed_by"] = format_prefix(*allow);
            json_line(j);
            return true;
        }
        const std::string verdict = code    ? "127.0.0." + std::to_string(static_cast<int>(*code))
                                    : allow ? "allowlisted allowed_by=" + format_prefix(*allow)
                                            : "unlisted";
        std::printf("%s %s strength=%u attempts=%u ipv4s=%u last=%s%s%s\n",
                    format_prefix(p).c_str(), verdict.c_str(), r.strength_milli, r.attempts,
                    r.rejected_ipv4s, iso_time(r.last_seen).c_str(), r.text.empty() ? "" : " ",
                    shown(r.text).c_str());
        return true;
    });
    store->for_each_allow([&](const prefix& p, const allow_entry& e) {
        if (a.json) {
            json_line({{"allowlisted", format_prefix(p)},
                       {"added", iso_time(e.added)},
                       {"comment", e.comment}});
            return true;
        }
        std::printf("!%s allowlisted %s%s\n", format_prefix(p).c_str(), iso_time(e.added).c_str(),
                    e.comment.empty() ? "" : (" " + shown(e.comment)).c_str());
        return true;
    });
    return 0;
}

}  // namespace

void add_store_commands(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<store_args>();
    app.set_config("--config", "", "TOML config file; every flag may be set there");
    app.config_formatter(toml_config_reader());
    // A misspelt key or a line of junk is an error, not a setting silently left at its
    // default; subcommands added after this inherit it.
    app.allow_config_extras(CLI::config_extras_mode::error);

    auto* imp = app.add_subcommand("import",
                                   "import manual listings: PREFIX [127.0.0.CODE] [TEXT] per line");
    auto files = std::make_shared<std::vector<std::string>>();
    imp->add_option("--db", args->db, "database directory")->required();
    imp->add_option("files", *files, "files to import ('-' for stdin)")->required();
    add_clock_flag(imp, args->now);
    imp->callback([&exit_code, args, files] { exit_code = run_import(*args, *files); });

    auto* look =
        app.add_subcommand("lookup", "explain whether an address is listed, why, and the evidence");
    auto address = std::make_shared<std::string>();
    look->add_option("--db", args->db, "database directory")->required();
    look->add_option("address", *address, "IPv6 address")->required();
    look->add_flag("--json", args->json, "print JSON");
    look->add_option("--url-template", args->url_template,
                     "lookup URL in the TXT, as serve gives it; {prefix} is the listed prefix")
        ->capture_default_str();
    add_policy_flags(look, args->policy);
    add_clock_flag(look, args->now);
    look->callback([&exit_code, args, address] {
        // A store that cannot be opened or read (a checksum mismatch in a table file, found
        // past the open) is 2: 1 is "not listed" (helper-53: it exited 1).
        try {
            exit_code = run_lookup(*args, *address);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "v6bl lookup: %s\n", e.what());
            exit_code = 2;
        }
    });

    auto target = std::make_shared<std::string>();
    auto comment = std::make_shared<std::string>();
    auto* allow = app.add_subcommand("allow", "allowlist a prefix: never listed");
    allow->add_option("--db", args->db, "database directory")->required();
    allow->add_option("prefix", *target, "IPv6 prefix")->required();
    allow->add_option("--comment", *comment, "why");
    add_clock_flag(allow, args->now);
    allow->callback([&exit_code, args, target, comment] {
        // Allowlisted already with the same comment: no commit (a new serial would send
        // every secondary a NOTIFY and a transfer for nothing), as unallow and delist.
        exit_code = run_change(
            *args, *target, *comment,
            [](change_set& cs, const prefix& p, const std::string& c, std::uint32_t now) {
                cs.allow(p, c, now);
            },
            [](const reputation_store& store, const prefix& p, const std::string& c) {
                const auto e = store.get_allow(p);
                return e && e->comment == c ? std::string("already on the allowlist")
                                            : std::string();
            });
    });

    auto* unallow = app.add_subcommand("unallow", "remove a prefix from the allowlist");
    unallow->add_option("--db", args->db, "database directory")->required();
    unallow->add_option("prefix", *target, "IPv6 prefix")->required();
    unallow->callback([&exit_code, args, target, comment] {
        exit_code = run_change(
            *args, *target, *comment,
            [](change_set& cs, const prefix& p, const std::string&, std::uint32_t) {
                cs.unallow(p);
            },
            [](const reputation_store& store, const prefix& p, const std::string&) {
                return store.get_allow(p) ? std::string() : std::string("not on the allowlist");
            });
    });

    auto* delist = app.add_subcommand("delist", "remove every stored listing at or under a prefix");
    delist->add_option("--db", args->db, "database directory")->required();
    delist->add_option("prefix", *target, "IPv6 prefix")->required();
    delist->callback([&exit_code, args, target] { exit_code = run_delist(*args, *target); });

    auto* expire = app.add_subcommand(
        "expire",
        "move the serial when listings expired since the last commit (run from cron with "
        "serve's policy flags, so that secondaries drop them)");
    expire->add_option("--db", args->db, "database directory")->required();
    add_policy_flags(expire, args->policy);
    add_clock_flag(expire, args->now);
    expire->callback([&exit_code, args] { exit_code = run_expire(*args); });

    auto* compact = app.add_subcommand(
        "compact", "compact the store (after a bulk load; prints the table files per level)");
    compact->add_option("--db", args->db, "database directory")->required();
    compact->callback([&exit_code, args] { exit_code = run_compact(*args); });

    auto* list = app.add_subcommand("list", "list stored records (or --published listings)");
    auto published = std::make_shared<bool>(false);
    list->add_option("--db", args->db, "database directory")->required();
    list->add_flag("--published", *published,
                   "list what is published (policy, escalation, holes applied)");
    list->add_flag("--json", args->json,
                   "JSON lines: one per record (or published listing) and allowlisted prefix");
    add_policy_flags(list, args->policy);
    add_clock_flag(list, args->now);
    list->callback([&exit_code, args, published] { exit_code = run_list(*args, *published); });
}

}  // namespace v6bl::tools
