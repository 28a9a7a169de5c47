// Recognizes DNSBL rejections in Postfix smtpd/postscreen, Exim and Sendmail log lines.
#include "v6bl/ingest/reject_log_parser.h"

#include <arpa/inet.h>

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <optional>

namespace v6bl::ingest {
namespace {

bool contains(std::string_view s, std::string_view what) {
    return s.find(what) != std::string_view::npos;
}

// Spamhaus answers a query it refuses (a public or over-quota resolver) with 127.255.255.25x
// and a TXT "Error: open resolver; https://www.spamhaus.org/returnc/pub/<resolver>": MTAs
// without a reply filter reject on it, but the client is not listed.
bool dnsbl_refused_query(std::string_view text) {
    return contains(text, "/returnc/") || contains(text, "Error: open resolver");
}

bool address_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_' || c == '@' || c == '.';
}

// `word` standing on its own ("refused by DNSBL bl.spamcop.net", "(RBL)", "in DNSBLs."), not
// inside a host name or address ("x@dnsbl-spam.example", "<rbl-reports@...>").
bool contains_word(std::string_view s, std::string_view word) {
    for (std::size_t at = s.find(word); at != std::string_view::npos; at = s.find(word, at + 1)) {
        std::size_t end = at + word.size();
        if (end < s.size() && s[end] == 's') ++end;  // "DNSBLs"
        if (at > 0 && address_char(s[at - 1])) continue;
        if (end < s.size() && address_char(s[end]) &&
            !(s[end] == '.' && (end + 1 == s.size() || !address_char(s[end + 1]))))
            continue;
        return true;
    }
    return false;
}

// A client address that is an IPv4: "1.2.3.4", or mapped into IPv6 by a daemon listening on
// an IPv6 socket ("::ffff:1.2.3.4", Sendmail's "IPv6:::ffff:1.2.3.4"; RFC 4291 2.5.5.2).
bool parse_client_ipv4(std::string_view text, std::uint32_t& out) {
    if (text.size() > 5 && text.substr(0, 5) == "IPv6:") text.remove_prefix(5);
    if (text.size() > 7 && text[0] == ':' && text[1] == ':' && text[6] == ':') {
        const std::string_view ffff = text.substr(2, 4);
        bool mapped = true;
        for (const char c : ffff) mapped = mapped && (c == 'f' || c == 'F');
        if (mapped) text.remove_prefix(7);
    }
    return parse_ipv4(text, out);
}

// The IPv4 inside the first "[...]" at or after `from` (skips "[IPv6:...]" and names).
log_line_status bracketed_ipv4(std::string_view s, std::size_t from, std::uint32_t& out) {
    bool saw_v6 = false;
    while (from < s.size()) {
        const std::size_t open = s.find('[', from);
        if (open == std::string_view::npos) break;
        const std::size_t close = s.find(']', open + 1);
        if (close == std::string_view::npos) break;
        const std::string_view inside = s.substr(open + 1, close - open - 1);
        if (parse_client_ipv4(inside, out)) return log_line_status::dnsbl_reject;
        if (inside.substr(0, 5) == "IPv6:" || contains(inside, ":")) saw_v6 = true;
        from = close + 1;
    }
    return saw_v6 ? log_line_status::ipv6_client : log_line_status::garbage;
}

// The syslog program of a line: the token before the first ": " without its "[pid]"
// (" mx1 postfix/smtpd[123]: NOQUEUE: ..." gives "postfix/smtpd"); `body` is what follows.
std::string_view syslog_program(std::string_view msg, std::string_view& body) {
    const std::size_t colon = msg.find(": ");
    if (colon == std::string_view::npos || colon == 0) {
        body = {};
        return {};
    }
    const std::size_t space = msg.rfind(' ', colon - 1);
    const std::size_t start = space == std::string_view::npos ? 0 : space + 1;
    std::string_view prog = msg.substr(start, colon - start);
    const std::size_t pid = prog.find('[');
    if (pid != std::string_view::npos) prog = prog.substr(0, pid);
    body = msg.substr(colon + 2);
    return prog;
}

bool dotted_digits(std::string_view s) {
    for (const char c : s)
        if (c != '.' && (c < '0' || c > '9')) return false;
    return !s.empty();
}

// A reply without its "554 " and "5.7.1 " (the reply code and the enhanced status code).
std::string_view without_reply_codes(std::string_view reply) {
    for (int field = 0; field < 2; ++field) {
        const std::size_t sp = reply.find(' ');
        if (sp == std::string_view::npos || !dotted_digits(reply.substr(0, sp))) break;
        reply.remove_prefix(sp + 1);
    }
    return reply;
}

// What a client's address text says: an IPv4 (stored in `out`; also mapped into IPv6), an
// IPv6 ("2001:db8::1", Sendmail's "IPv6:2001:db8::1"), or neither (a broken address).
log_line_status client_address(std::string_view text, std::uint32_t& out) {
    if (parse_client_ipv4(text, out)) return log_line_status::dnsbl_reject;
    return contains(text, ":") ? log_line_status::ipv6_client : log_line_status::garbage;
}

// A Postfix reject line's own header at the start of the body: "<queue id>: reject: " (or
// "milter-reject: "). Only there: the client's own words, quoted by a warning ("non-SMTP
// command from ...: GET reject: RCPT from [8.8.8.8]: ..."), can hold "reject: " too.
bool postfix_reject_header(std::string_view body, std::string_view& rest) {
    const std::size_t colon = body.find(": ");
    if (colon == std::string_view::npos || colon == 0) return false;
    for (const char c : body.substr(0, colon))
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false;
    rest = body.substr(colon + 2);
    for (const std::string_view header :
         {std::string_view("reject: "), std::string_view("milter-reject: ")}) {
        if (rest.starts_with(header)) {
            rest.remove_prefix(header.size());
            return true;
        }
    }
    return false;
}

// The client and the reply of a reject after its header: "RCPT from name[1.2.3.4]: 554 5.7.1
// text; from=<a> to=<b> proto=ESMTP helo=<h>" (postscreen: "RCPT from [1.2.3.4]:51234: 550
// ..."). The reply loses its codes and ends where Postfix's details start: "; from=<", or,
// with no sender yet (VRFY, ETRN, EHLO), "; to=<", "; proto=" or "; helo=<". The details
// are the client's words and are never searched.
bool postfix_reject_parts(std::string_view rest, std::string_view& client,
                          std::string_view& reply) {
    const std::size_t space = rest.find(' ');
    if (space == std::string_view::npos || rest.substr(space, 6) != " from ") return false;
    const std::size_t open = rest.find('[', space + 6);
    const std::size_t close = open == std::string_view::npos ? open : rest.find(']', open);
    if (close == std::string_view::npos) return false;
    if (rest.substr(space + 6, open - space - 6).find(' ') != std::string_view::npos) return false;
    client = rest.substr(open + 1, close - open - 1);
    std::size_t at = close + 1;
    if (at + 1 < rest.size() && rest[at] == ':' && rest[at + 1] >= '0' && rest[at + 1] <= '9') {
        ++at;
        while (at < rest.size() && rest[at] >= '0' && rest[at] <= '9') ++at;
    }
    if (rest.substr(at, 2) != ": ") return false;
    reply = rest.substr(at + 2);
    std::size_t end = reply.size();
    for (const std::string_view details :
         {std::string_view("; from=<"), std::string_view("; to=<"), std::string_view("; proto="),
          std::string_view("; helo=<")})
        end = std::min(end, reply.find(details));
    reply = reply.substr(0, end);
    reply = without_reply_codes(reply);
    return true;
}

// "<name>: Helo command rejected: ...": the form of access maps and every restriction other
// than the rbl ones, which echoes what it refused (the client's own words).
bool postfix_echo_reply(std::string_view reply) {
    return reply.starts_with('<') && contains(reply, " rejected: ");
}

std::string_view zone_word(std::string_view s);
bool host_name(std::string_view w, int min_dots);

// Whether what follows "blocked using" in a Postfix smtpd rbl reply can name a DNS list:
// $rbl_domain (a zone; any host name with a dot, a local "bl.example.local" too), or the
// list's name in an rbl_reply_maps template, which can be anything ("ZEN", "spamhaus",
// "SBL+XBL", "a DNSBL"). Not one: an access map's own text made to look like the reply,
// naming the table it came from ("local access table", "CIDR access map",
// "hash:/etc/postfix/access").
bool rbl_names_list(std::string_view after) {
    const std::string_view word = zone_word(after);
    if (word.empty()) return false;
    if (host_name(word, 1)) return true;
    if (word.front() == '/' || contains(word, ":/")) return false;
    std::string phrase(after.substr(0, after.find(';')));
    for (char& c : phrase)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    for (const std::string_view table : {"access table", "access map", "access list"})
        if (phrase.find(table) != std::string::npos) return false;
    return true;
}

// Postfix's rbl reply is "$rbl_class [$rbl_what] blocked using $rbl_domain". Only
// reject_rbl_client names the client's address: "Client host [1.2.3.4]" (smtpd) or
// "client [1.2.3.4]" (postscreen), and it is the client's. "Helo command [name]", "Sender
// address [a@domain]", "Recipient address [...]", "Unverified Client host [name]" and "Client
// host [name]" come from reject_rhsbl_* and are about a domain: not evidence against the
// client's IPv4.
// Spamhaus's DQS templates for Postfix (rbl_reply_maps) drop the brackets: "$rbl_class
// $rbl_what blocked using ZEN - see ...", with the same class and subject.
// `judged`: the reply is in the rbl form (bracketed, or bracketless with one of Postfix's
// $rbl_class values) and names a list, so that what it says about the client is settled
// here. `postscreen`: the line is postscreen's.
log_line_status postfix_rbl_client(std::string_view reply, std::string_view client, bool postscreen,
                                   std::uint32_t& out, bool& judged) {
    judged = false;
    if (postfix_echo_reply(reply)) return log_line_status::other_reject;
    std::size_t blocked = reply.find("] blocked using ");
    std::size_t open = std::string_view::npos;
    if (blocked != std::string_view::npos) {
        open = reply.rfind('[', blocked);
        judged = true;
    } else if ((blocked = reply.find(" blocked using ")) != std::string_view::npos && blocked > 0) {
        const std::size_t space = reply.rfind(' ', blocked - 1);
        if (space != std::string_view::npos) {
            open = space;  // the subject's one word follows
            const std::string_view cls = reply.substr(0, space + 1);
            for (const std::string_view c :
                 {"Client host ", "Helo command ", "Sender address ", "Recipient address ",
                  "Reverse Client host ", "client "})
                judged = judged || cls.ends_with(c);
        }
    }
    if (open == std::string_view::npos) return log_line_status::other_reject;
    const std::string_view cls = reply.substr(0, reply[open] == '[' ? open : open + 1);
    const bool is_client =
        (cls.ends_with("Client host ") && !cls.ends_with("Unverified Client host ")) ||
        cls.ends_with(" client ") || cls == "client ";
    if (!is_client) return log_line_status::other_reject;
    const std::string_view what = reply.substr(open + 1, blocked - open - 1);
    if (dnsbl_refused_query(reply.substr(blocked))) return log_line_status::other_reject;
    // (postscreen's reply comes from its DNSBL test only, whatever postscreen_dnsbl_reply_map
    // makes of the zone's name)
    const bool names_list =
        postscreen || rbl_names_list(reply.substr(reply.find("blocked using ", blocked) + 14));
    // Not a list's: an operator's --dnsbl-text may still say it is one.
    if (!names_list) judged = false;
    if (parse_client_ipv4(what, out)) {
        if (!names_list) return log_line_status::other_reject;
        return what == client ? log_line_status::dnsbl_reject : log_line_status::other_reject;
    }
    if (contains(what, ":"))
        return names_list ? log_line_status::ipv6_client : log_line_status::other_reject;
    // "[1.2.3.400]" is a broken address; "[mail.example.com]" is reject_rhsbl_client's name.
    return dotted_digits(what) ? log_line_status::garbage : log_line_status::other_reject;
}

std::string_view first_token(std::string_view s) {
    return s.substr(0, s.find(' '));
}

// Whether a word names a domain ("spam.example", "x@spam.example"), not an address
// ("1.2.3.4", "2001:db8::1") or a plain word ("host"): the subject of an RHSBL lookup.
bool names_domain(std::string_view word) {
    std::uint32_t ignored = 0;
    return (contains(word, ".") || contains(word, "@")) && !parse_ipv4(word, ignored) &&
           !contains(word, ":");
}

// The zone a wording names: the first word of `s`, without trailing punctuation.
std::string_view zone_word(std::string_view s) {
    s = s.substr(0, s.find(' '));
    while (!s.empty() && (s.back() == ',' || s.back() == ';' || s.back() == '.' ||
                          s.back() == ')' || s.back() == ':'))
        s.remove_suffix(1);
    return s;
}

// Whether a word is a DNSBL zone's name: a host name of three labels or more (letters,
// digits, hyphens), as zen.spamhaus.org, b.barracudacentral.org and bl.spamcop.net are; not
// a file ("/etc/exim/blacklist.txt", "local_host_blacklist.conf"), a local list's name
// ("local.blacklist") or a filter's ("SpamAssassin").
bool zone_like(std::string_view w) {
    return host_name(w, 2);
}

// A host name of letters, digits and hyphens with `min_dots` dots or more.
bool host_name(std::string_view w, int min_dots) {
    if (w.empty() || w.front() == '.' || w.front() == '-') return false;
    int dots = 0;
    char prev = '.';
    for (const char c : w) {
        if (c == '.') {
            if (prev == '.') return false;
            ++dots;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     c == '-')) {
            return false;
        }
        prev = c;
    }
    return dots >= min_dots && prev != '.';
}

// Exim's DNSBL messages: the default configuration's "rejected because 1.2.3.4 is in a black
// list at zen.spamhaus.org", Debian's "1.2.3.4 is listed at zen.spamhaus.org (...)", and ones
// naming dnslists, a DNSBL or "blocked using". "<domain> is listed at" is a dnslists lookup of
// a domain (sender, HELO: an RHSBL such as dbl.spamhaus.org), not of the client's address.
// `listed`: the address the message names as listed, when it names one ("host" names none).
// Also the spec's "is blacklisted at", configurations' "is listed in $dnslist_domain" (and
// "is listed in RBL ...") and DirectAdmin's "Email blocked by $dnslist_domain".
bool exim_dnsbl_reason(std::string_view reason, std::string_view& listed_address) {
    // cPanel's ACL: "h ([helo]) [192.0.2.4]:41784 is in an RBL, see http://...".
    for (const std::string_view marker :
         {std::string_view(" is in a black list at "), std::string_view(" is listed at "),
          std::string_view(" is in an RBL"), std::string_view(" is blacklisted at "),
          std::string_view(" is listed in ")}) {
        const std::size_t at = reason.find(marker);
        if (at == std::string_view::npos) continue;
        if (marker == " is listed in " || marker == " is blacklisted at ") {
            // a DNS zone, or "RBL <zone>": not "is listed in our local blacklist" or a file
            std::string_view zone = reason.substr(at + marker.size());
            if (zone.starts_with("RBL ") || zone.starts_with("DNSBL "))
                zone = zone.substr(zone.find(' ') + 1);
            if (!zone_like(zone_word(zone))) continue;
        }
        const std::size_t space = at == 0 ? std::string_view::npos : reason.rfind(' ', at - 1);
        const std::size_t start = space == std::string_view::npos ? 0 : space + 1;
        std::string_view listed = reason.substr(start, at - start);
        // "[192.0.2.4]:41784": the address and the client's port
        if (listed.starts_with('[')) {
            const std::size_t close = listed.find(']');
            if (close != std::string_view::npos && close + 1 < listed.size() &&
                listed[close + 1] == ':')
                listed = listed.substr(0, close + 1);
        }
        // "[192.0.2.4] is listed at", "Your IP (192.0.2.4) is listed at": the same address
        if (listed.size() >= 2 && ((listed.front() == '[' && listed.back() == ']') ||
                                   (listed.front() == '(' && listed.back() == ')')))
            listed = listed.substr(1, listed.size() - 2);
        // Only a real address names another host ("IP:192.0.2.4" is the client in other words).
        std::uint32_t ignored = 0;
        in6_addr v6{};
        if (parse_ipv4(listed, ignored) ||
            (listed.size() < INET6_ADDRSTRLEN &&
             ::inet_pton(AF_INET6, std::string(listed).c_str(), &v6) == 1))
            listed_address = listed;
        return !names_domain(listed);
    }
    // DirectAdmin: "Email blocked by $dnslist_domain" (a zone; not "by SpamAssassin", "by
    // ClamAV: ...", a file of its own)
    return contains(reason, "dnslist") || contains(reason, "DNSBL") ||
           contains(reason, "blocked using") ||
           (reason.starts_with("Email blocked by ") && zone_like(zone_word(reason.substr(17))));
}

// Whether a rejection names a domain blocklist (an RHSBL) as the list it used: generic
// DNSBL wordings ("DNSBL listed at $dnslist_domain", "Rejected: $x listed at ZONE", an
// operator's text) serve both kinds of list, and a domain's listing is no evidence against
// the client's IPv4. Only the zone after the wording is looked at, never the rest of the
// text (a HELO, a host name or a sender there is the client's to choose): a label "dbl" or
// "zrd" (Spamhaus DBL and ZRD, also as KEY.dbl.dq.spamhaus.net; the DQS templates' bare
// "DBL"/"ZRD"), "rhsbl", "uribl" or "surbl" (rhsbl.sorbs.net, uribl.spameatingmonkey.net),
// or a zone under surbl.org or uribl.com (multi.surbl.org, black.uribl.com).
bool names_domain_list(std::string_view text) {
    auto lower = [](std::string_view w) {
        std::string l(w);
        for (char& c : l)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        return l;
    };
    auto domain_zone = [&](std::string_view word) {
        const std::string z = lower(word);
        if (z.ends_with(".surbl.org") || z.ends_with(".uribl.com")) return true;
        for (std::size_t from = 0; from <= z.size();) {
            std::size_t dot = z.find('.', from);
            if (dot == std::string::npos) dot = z.size();
            const std::string_view label = std::string_view(z).substr(from, dot - from);
            if (label == "dbl" || label == "zrd" || label == "rhsbl" || label == "uribl" ||
                label == "surbl")
                return true;
            from = dot + 1;
        }
        return false;
    };
    for (const std::string_view wording :
         {std::string_view("listed at "), std::string_view("blocked using "),
          std::string_view("listed in "), std::string_view("listed on "),
          std::string_view("blocked by "), std::string_view("black list at "),
          std::string_view("blacklisted at "), std::string_view("blackhole site ")}) {
        for (std::size_t at = text.find(wording); at != std::string_view::npos;
             at = text.find(wording, at + 1)) {
            std::string_view zone = text.substr(at + wording.size());
            if (zone.starts_with("RBL ") || zone.starts_with("DNSBL "))
                zone = zone.substr(zone.find(' ') + 1);
            // Exim writes a message's newline as "\n": "dbl.spamhaus.org\nhttps://..."
            std::string_view word = zone_word(zone);
            word = word.substr(0, word.find('\\'));
            if (domain_zone(zone_word(word))) return true;
        }
    }
    return false;
}

// An Exim log line's text after its own prefix: "[pid] " and a message id ("1abcde-000123-Xy",
// 4.97's "1abcde-000000-000123-Xy"). Empty when the line is a delivery or an arrival
// (<= => -> *> ** ==: a remote server's words about our mail, or a sender's) or a piece of a
// line syslog split ("[2\3] ..."): none is a rejection of a client of ours.
std::string_view exim_text(std::string_view e) {
    while (e.starts_with(' ')) e.remove_prefix(1);
    const std::string_view first = first_token(e);
    if (first.size() > 2 && first.front() == '[' && first.back() == ']') {
        const std::string_view inside = first.substr(1, first.size() - 2);
        if (inside.find_first_not_of("0123456789") == std::string_view::npos) {
            e.remove_prefix(std::min(e.size(), first.size() + 1));  // [pid]
        } else if (inside.find_first_not_of("0123456789\\/") == std::string_view::npos) {
            return {};  // [n\m]: one piece of a long line
        }
    }
    const std::string_view id = first_token(e);
    if (id.size() >= 16 && id.find('-') != std::string_view::npos &&
        id.find_first_not_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") ==
            std::string_view::npos)
        e.remove_prefix(std::min(e.size(), id.size() + 1));
    const std::string_view flag = first_token(e);
    if (flag == "<=" || flag == "=>" || flag == "->" || flag == "*>" || flag == "**" ||
        flag == "==")
        return {};
    return e;
}

// The client of Exim's "H=name (helo) [1.2.3.4]:port" at the start of `e` (host_and_ident():
// the name from DNS, the HELO in parentheses, an address-literal HELO as "([10.0.0.1])").
// The HELO is the client's word: one with a space or parenthesis of its own (allowed only by
// helo_accept_junk_hosts) makes the line ambiguous. `rest` is what follows the client.
std::optional<std::string_view> exim_host(std::string_view e, std::string_view& rest) {
    if (e.starts_with("DSH=") || e.starts_with("DS H="))  // +dnssec: the host's DNS was signed
        e.remove_prefix(e[2] == ' ' ? 3 : 2);
    if (!e.starts_with("H=")) return std::nullopt;
    // One HELO in parentheses at the most: a HELO holding ") [9.9.9.9] (" of its own would
    // otherwise put an address of its choosing where the client's stands.
    const std::string_view head = e.substr(0, e.find(" rejected "));
    if (std::count(head.begin(), head.end(), '(') > 1 ||
        std::count(head.begin(), head.end(), ')') > 1)
        return std::nullopt;
    e.remove_prefix(2);
    if (!e.starts_with('(') && !e.starts_with('[')) {  // the name from DNS
        const std::size_t sp = e.find(' ');
        if (sp == std::string_view::npos) return std::nullopt;
        e.remove_prefix(sp + 1);
    }
    if (e.starts_with('(')) {  // the HELO
        const std::size_t close = e.find(") ");
        if (close == std::string_view::npos ||
            e.substr(1, close - 1).find_first_of(" ()") != std::string_view::npos)
            return std::nullopt;
        e.remove_prefix(close + 2);
    }
    if (!e.starts_with('[')) return std::nullopt;
    const std::size_t close = e.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view address = e.substr(1, close - 1);
    std::size_t at = close + 1;
    if (at < e.size() && e[at] == ':') {
        ++at;
        while (at < e.size() && e[at] >= '0' && e[at] <= '9') ++at;
    }
    rest = e.substr(at);  // fields and the rejection, read by exim_reason()
    if (!rest.empty() && rest[0] != ' ') return std::nullopt;
    return address;
}

// The reason of "... rejected <what>: <reason>" (smtp_in.c, acl.c: RCPT <a>, MAIL <a>, after
// DATA, DATA, connection [in "connect" ACL], EHLO or HELO <name>, VRFY, EXPN, ETRN, AUTH).
// The fields before it (I=, P=, F=<sender>, U=, TLS's) and the addresses are partly the
// client's words: anything else there (a quoted local part, a callout's "verify defer for
// <a>: response to ...") makes the line ambiguous. nullopt: no such reason.
std::optional<std::string_view> exim_reason(std::string_view rest) {
    // The fields, one by one: " NAME=value" with no space in the value (I=, P=, X=, CV=,
    // F=<a@b>, U=, spf=), or TLS's quoted SNI="name" and DN="subject" (a subject without
    // quotes of its own), up to " [temporarily ]rejected ".
    std::string_view what;
    for (;;) {
        if (!rest.starts_with(' ')) return std::nullopt;
        rest.remove_prefix(1);
        if (rest.starts_with("temporarily ")) rest.remove_prefix(12);
        if (rest.starts_with("rejected ")) {
            what = rest.substr(9);
            break;
        }
        const std::size_t eq = rest.find('=');
        if (eq == 0 || eq == std::string_view::npos ||
            rest.substr(0, eq).find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_") != std::string_view::npos)
            return std::nullopt;
        const std::string_view name = rest.substr(0, eq);
        rest.remove_prefix(eq + 1);
        if ((name == "SNI" || name == "DN") && rest.starts_with('"')) {
            const std::size_t close = rest.find('"', 1);
            if (close == std::string_view::npos) return std::nullopt;
            if (name == "SNI" &&
                rest.substr(1, close - 1)
                        .find_first_not_of(
                            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                            "vwxyz.-") != std::string_view::npos)
                return std::nullopt;
            rest.remove_prefix(close + 1);
            continue;
        }
        const std::size_t end = std::min(rest.find(' '), rest.size());
        if (rest.substr(0, end).find('"') != std::string_view::npos) return std::nullopt;
        rest.remove_prefix(end);
    }
    std::size_t colon;
    if (what.starts_with("RCPT ") || what.starts_with("MAIL ")) {
        // The command's argument as the client sent it, its ESMTP parameters taken off:
        // "<c@d>", or a bare "c@d" (Exim takes one); recent Exims log at most 100
        // characters of it, so a longer "<...>" has lost its ">". No blank and no quote in
        // it (a quoted local part could hold ": ").
        constexpr std::size_t logged_max = 100;
        const std::string_view arg = what.substr(5);
        const std::size_t close = arg.starts_with('<') ? arg.find('>') : std::string_view::npos;
        std::size_t end;
        if (close != std::string_view::npos && arg.substr(close + 1, 2) == ": ")
            end = close + 1;
        else if (arg.starts_with('<') && arg.size() > logged_max &&
                 arg.substr(0, logged_max).find('>') == std::string_view::npos &&
                 arg.substr(logged_max, 2) == ": ")
            end = logged_max;
        else if (!arg.starts_with('<'))
            end = arg.find(": ");
        else
            return std::nullopt;
        if (end == 0 || end == std::string_view::npos ||
            arg.substr(0, end).find_first_of(" \t\"") != std::string_view::npos ||
            (!arg.starts_with('<') &&
             arg.substr(0, end).find_first_of("<>") != std::string_view::npos))
            return std::nullopt;
        colon = 5 + end;
    } else {
        bool known = false;
        for (const std::string_view w :
             {"after ", "DATA", "connection", "EHLO or HELO ", "VRFY", "EXPN", "ETRN", "AUTH"})
            known = known || what.starts_with(w);
        colon = what.find(": ");
        if (!known || colon == std::string_view::npos) return std::nullopt;
    }
    const std::string_view reason = what.substr(colon + 2);
    // a callout's answer: a remote server's words about a verification
    if (reason.starts_with("response to \"")) return std::nullopt;
    return reason;
}

// Whether `s` holds one of the operator's texts, other than right after a domain name: with
// one template for DNSBLs and RHSBLs (Postfix rbl_reply_maps' "$rbl_what is listed on ..."),
// "spam.example is listed on dbl.example.net" is about a domain the client named, as the
// built-in forms' "<domain> is listed at" is. An address before the text ("1.2.3.4", "[1.2.3.4]",
// "(1.2.3.4)"), a word, or nothing is the client's case.
bool any_text(std::string_view s, std::span<const std::string> texts) {
    for (const std::string& t : texts) {
        if (t.empty()) continue;
        for (std::size_t at = s.find(t); at != std::string_view::npos; at = s.find(t, at + 1)) {
            std::size_t end = at;
            while (end > 0 && s[end - 1] == ' ') --end;
            const std::size_t space = end == 0 ? std::string_view::npos : s.rfind(' ', end - 1);
            std::string_view before =
                s.substr(space == std::string_view::npos ? 0 : space + 1,
                         end - (space == std::string_view::npos ? 0 : space + 1));
            while (!before.empty() &&
                   (before.back() == ':' || before.back() == ',' || before.back() == ';' ||
                    before.back() == '.' || before.back() == ']' || before.back() == ')' ||
                    before.back() == '>'))
                before.remove_suffix(1);
            while (!before.empty() &&
                   (before.front() == '[' || before.front() == '(' || before.front() == '<'))
                before.remove_prefix(1);
            if (!names_domain(before)) return true;
        }
    }
    return false;
}

// A Postfix reject whose reply carries one of the operator's DNSBL texts (rbl_reply_maps):
// evidence against the client, unless the reply echoes what it refused (an access map's).
log_line_status postfix_custom_text(std::string_view reply, std::string_view client,
                                    std::span<const std::string> texts, std::uint32_t& out) {
    if (postfix_echo_reply(reply) || dnsbl_refused_query(reply) || names_domain_list(reply) ||
        !any_text(reply, texts))
        return log_line_status::other_reject;
    return client_address(client, out);
}

bool all_digits(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// An RFC 5424 line's STRUCTURED-DATA ("-", or "[id name=\"value\"]..." with \" \\ and \]
// escaped in values) and its MSG: the MSG, or nullopt when the data does not end.
std::optional<std::string_view> rfc5424_msg(std::string_view sd) {
    if (sd.starts_with('-')) {
        sd.remove_prefix(1);
    } else {
        if (!sd.starts_with('[')) return std::nullopt;
        while (sd.starts_with('[')) {
            bool quoted = false;
            std::size_t i = 1;
            for (; i < sd.size(); ++i) {
                if (quoted && sd[i] == '\\') {
                    ++i;
                } else if (sd[i] == '"') {
                    quoted = !quoted;
                } else if (!quoted && sd[i] == ']') {
                    break;
                }
            }
            if (i >= sd.size()) return std::nullopt;
            sd.remove_prefix(i + 1);
        }
    }
    if (sd.empty()) return sd;
    if (sd[0] != ' ') return std::nullopt;
    sd.remove_prefix(1);
    if (sd.starts_with("\xEF\xBB\xBF")) sd.remove_prefix(3);  // MSG's UTF-8 byte order mark
    return sd;
}

// The line in the shape the MTA parsers read ("TIME HOST PROGRAM[PID]: TEXT"), from the
// shapes syslog daemons give it: a leading priority ("<22>"), RFC 5424 ("<22>1 TIME HOST APP
// PROCID MSGID SD MSG": rsyslog's RSYSLOG_SyslogProtocol23Format, syslog-ng's), rsyslog's
// "message repeated N times: [ TEXT]" (the first of them was logged as it was) and Solaris'
// "[ID 197553 mail.info] " before the text. `line` itself when it has none of them; else a
// view of `buf`.
std::string_view syslog_normalized(std::string_view line, std::string& buf) {
    std::string_view l = line;
    bool changed = false;
    if (l.starts_with('<')) {
        const std::size_t close = l.find('>');
        if (close != std::string_view::npos && close >= 2 && close <= 4 &&
            all_digits(l.substr(1, close - 1))) {
            l.remove_prefix(close + 1);
            changed = true;
        }
    }
    const std::string_view after_priority = l;
    const bool versioned = l.starts_with("1 ") && l.size() > 2 && l[2] >= '0' && l[2] <= '9';
    if (versioned) l.remove_prefix(2);
    // TIME HOST APP PROCID MSGID SD: six fields, the time RFC 3339's ("2026-12-05T10:00:00")
    std::string_view f[5];
    std::string_view rest = l;
    bool shaped = l.size() > 19 && l[4] == '-' && l[10] == 'T';
    for (int i = 0; i < 5 && shaped; ++i) {
        const std::size_t sp = rest.find(' ');
        if (sp == std::string_view::npos || sp == 0) {
            shaped = false;
            break;
        }
        f[i] = rest.substr(0, sp);
        rest.remove_prefix(sp + 1);
    }
    // Without the version, only a line that cannot be the classic "TIME HOST PROGRAM[PID]:
    // TEXT" is taken as RFC 5424: its APP ends in no colon and an SD follows its MSGID.
    if (shaped && !versioned)
        shaped = !f[2].ends_with(':') && !f[3].ends_with(':') && !f[4].ends_with(':') &&
                 (rest.starts_with("- ") || rest == "-" || rest.starts_with('['));
    std::optional<std::string_view> msg;
    if (shaped) msg = rfc5424_msg(rest);
    if (msg) {
        buf.assign(f[0]).append(" ").append(f[1]).append(" ").append(f[2]);
        if (f[3] != "-") buf.append("[").append(f[3]).append("]");
        buf.append(": ").append(*msg);
        l = buf;
        changed = true;
    } else if (versioned) {
        l = after_priority;  // no RFC 5424 line after all
    }
    // "PROGRAM[PID]: message repeated 3 times: [ TEXT]", "PROGRAM[PID]: [ID 1 mail.info] TEXT"
    const std::size_t colon = l.find(": ");
    if (colon != std::string_view::npos) {
        std::string_view text = l.substr(colon + 2);
        bool inner = false;
        if (text.starts_with("message repeated ") && text.ends_with(']')) {
            std::string_view n = text.substr(17);
            const std::size_t sp = n.find(' ');
            if (sp != std::string_view::npos && all_digits(n.substr(0, sp)) &&
                n.substr(sp).starts_with(" times: [")) {
                text = n.substr(sp + 9);
                text.remove_suffix(1);
                if (text.starts_with(' ')) text.remove_prefix(1);
                inner = true;
            }
        }
        if (text.starts_with("[ID ")) {
            const std::size_t close = text.find("] ");
            const std::string_view id =
                text.substr(4, close == std::string_view::npos ? 0 : close - 4);
            const std::size_t sp = id.find(' ');
            if (sp != std::string_view::npos && all_digits(id.substr(0, sp)) &&
                id.substr(sp + 1).find('.') != std::string_view::npos) {
                text = text.substr(close + 2);
                inner = true;
            }
        }
        if (inner) {
            std::string out(l.substr(0, colon + 2));
            out.append(text);
            buf = std::move(out);
            return buf;
        }
    }
    return changed ? l : line;
}

}  // namespace

const char* mta_kind_name(mta_kind k) {
    switch (k) {
        case mta_kind::postfix_smtpd:
            return "postfix-smtpd";
        case mta_kind::postfix_postscreen:
            return "postfix-postscreen";
        case mta_kind::exim:
            return "exim";
        case mta_kind::sendmail:
            return "sendmail";
        case mta_kind::count:
            break;
    }
    return "unknown";
}

bool parse_ipv4(std::string_view t, std::uint32_t& out) {
    std::uint32_t v = 0;
    int parts = 0;
    std::size_t i = 0;
    while (parts < 4) {
        if (i >= t.size() || t[i] < '0' || t[i] > '9') return false;
        std::uint32_t octet = 0;
        int len = 0;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
            octet = octet * 10 + static_cast<std::uint32_t>(t[i] - '0');
            if (++len > 3) return false;
            ++i;
        }
        // "010": octal to inet_aton, refused by inet_pton; no MTA writes it.
        if (octet > 255 || (len > 1 && t[i - len] == '0')) return false;
        v = (v << 8) | octet;
        ++parts;
        if (parts < 4) {
            if (i >= t.size() || t[i] != '.') return false;
            ++i;
        }
    }
    if (i != t.size()) return false;
    out = v;
    return true;
}

// The Postfix service a line of a program named "postfix" alone comes from, by what it says
// (see parse_reject_line): "postscreen", "smtpd", or "" for another.
std::string_view postfix_service_of(std::string_view body) {
    if (body.starts_with("DNSBL rank ")) return "postscreen";
    std::string_view rest;
    if (!postfix_reject_header(body, rest)) return {};
    const std::size_t space = rest.find(' ');
    if (space == std::string_view::npos || rest.substr(space, 6) != " from ") return {};
    const std::string_view who = rest.substr(space + 6);
    if (who.starts_with('[')) {
        // postscreen: "[1.2.3.4]:51234: 550 ..."
        const std::size_t close = who.find(']');
        return close != std::string_view::npos && who.substr(close + 1, 1) == ":" &&
                       close + 2 < who.size() && who[close + 2] >= '0' && who[close + 2] <= '9'
                   ? std::string_view("postscreen")
                   : std::string_view();
    }
    return "smtpd";
}

namespace {

// A journal entry as `journalctl -o json` writes it (one JSON object a line) made into the
// syslog line it stands for: "SECONDS.MICROS HOST IDENT[PID]: MESSAGE", the time in the
// short-unix form parse_log_timestamp reads; `message` is where MESSAGE starts in it.
// Fields (journalctl(1), "json"): __REALTIME_TIMESTAMP (microseconds since the epoch, a
// decimal string), MESSAGE (a string; an array of byte values where the text is not
// printable UTF-8; null when it was 4 KiB or more), SYSLOG_IDENTIFIER (else _COMM),
// SYSLOG_PID (else _PID) and _HOSTNAME. A field the entry has more than once is an array of
// its values: the first is taken.
enum class journal_result : std::uint8_t { line, nothing, bad };

bool mta_identifier(std::string_view ident) {
    return ident.starts_with("postfix") || ident.find('/') != std::string_view::npos ||
           ident.starts_with("exim") || ident == "sendmail" || ident == "sm-mta";
}

journal_result journal_line(std::string_view line, std::string& out, std::size_t& message,
                            std::string& why) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
        why =
            "a line starting with '{' that is not valid JSON (journalctl -o json writes one "
            "object a line)";
        return journal_result::bad;
    }
    auto first = [&](const char* key) -> const nlohmann::json* {
        const auto it = j.find(key);
        if (it == j.end()) return nullptr;
        if (it->is_array() && !it->empty() && !it->front().is_number()) return &it->front();
        return &*it;
    };
    auto text = [&](const char* key) -> std::string {
        const nlohmann::json* v = first(key);
        return v && v->is_string() ? v->get<std::string>() : std::string();
    };
    std::string us = text("__REALTIME_TIMESTAMP");
    if (!j.is_object() || us.empty() || us.size() > 16 ||
        us.find_first_not_of("0123456789") != std::string::npos) {
        why =
            "a JSON line that is not a journal entry (journalctl -o json: an object with "
            "__REALTIME_TIMESTAMP, microseconds since the epoch as a string of digits)";
        return journal_result::bad;
    }
    us.insert(0, 16 - us.size(), '0');
    std::string ident = text("SYSLOG_IDENTIFIER");
    if (ident.empty()) ident = text("_COMM");
    std::string text_of_message;
    const nlohmann::json* m = first("MESSAGE");
    if (m && m->is_string()) {
        text_of_message = m->get<std::string>();
    } else if (m && m->is_array()) {
        for (const auto& b : *m) {
            if (!b.is_number_unsigned() || b.get<std::uint64_t>() > 255) {
                text_of_message.clear();
                break;
            }
            text_of_message.push_back(static_cast<char>(b.get<std::uint64_t>()));
        }
    }
    // One line: the text up to a line break (a multi-line message's first line).
    text_of_message.resize(std::min(text_of_message.size(), text_of_message.find_first_of("\r\n")));
    if (text_of_message.empty()) {
        // Any unit's blank line has an empty MESSAGE; one left out (null) or of another
        // form is only worth a word where an MTA wrote it.
        if (m && !(m->is_string() && mta_identifier(ident))) {
            if (!mta_identifier(ident)) return journal_result::nothing;
            why = m->is_null() ? "a journal entry of " + ident +
                                     " whose MESSAGE journalctl left out as null (4 KiB or "
                                     "more; journalctl --all writes it)"
                               : "a journal entry of " + ident +
                                     " whose MESSAGE is neither text nor byte values";
            return journal_result::bad;
        }
        if (!m && mta_identifier(ident)) {
            why = "a journal entry of " + ident + " without a MESSAGE";
            return journal_result::bad;
        }
        return journal_result::nothing;
    }
    std::string pid = text("SYSLOG_PID");
    if (pid.empty()) pid = text("_PID");
    std::string host = text("_HOSTNAME");
    // Words of the syslog line: no blank may split them, no colon end the program early.
    auto word = [](std::string& w, const char* none) {
        std::replace_if(
            w.begin(), w.end(), [](char c) { return c == ' ' || c == '\t' || c == ':'; }, '_');
        if (w.empty()) w = none;
    };
    word(host, "-");
    word(ident, "-");
    out.assign(us, 0, 10).append(".").append(us, 10, 6).append(" ").append(host).append(" ");
    out.append(ident);
    if (!pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos)
        out.append("[").append(pid).append("]");
    out.append(": ");
    message = out.size();
    out.append(text_of_message);
    return journal_result::line;
}

// journal_line(), with anything the JSON library throws taken as a line that is not an
// entry (it is not expected to: every access is checked first).
journal_result journal_line_checked(std::string_view line, std::string& out, std::size_t& message,
                                    std::string& why) {
    try {
        return journal_line(line, out, message, why);
    } catch (const std::exception& e) {
        why = std::string("a journal JSON line that could not be read (") + e.what() + ")";
        return journal_result::bad;
    }
}

// journalctl -o json-seq puts a record separator (RS) before each object.
std::string_view without_record_separator(std::string_view line) {
    if (line.starts_with('\x1e')) line.remove_prefix(1);
    return line;
}

log_line_status parse_syslog_line(std::string_view line, const year_hint& hint, reject_event& out,
                                  int postscreen_threshold,
                                  std::span<const std::string> dnsbl_texts);

}  // namespace

std::string journal_line_problem(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    line = without_record_separator(line);
    if (!line.starts_with('{')) return {};
    std::string out, why;
    std::size_t message = 0;
    return journal_line_checked(line, out, message, why) == journal_result::bad ? why
                                                                                : std::string();
}

std::optional<std::string> journal_syslog_line(std::string_view line) {
    std::string out, why;
    std::size_t message = 0;
    if (journal_line_checked(without_record_separator(line), out, message, why) !=
        journal_result::line)
        return std::nullopt;
    return out;
}

log_line_status parse_reject_line(std::string_view line, const year_hint& hint, reject_event& out,
                                  int postscreen_threshold,
                                  std::span<const std::string> dnsbl_texts) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (const std::string_view entry = without_record_separator(line); entry.starts_with('{')) {
        std::string journal, why;
        std::size_t message = 0;
        switch (journal_line_checked(entry, journal, message, why)) {
            case journal_result::bad:
                return log_line_status::garbage;
            case journal_result::nothing:
                return log_line_status::not_reject;
            case journal_result::line:
                break;
        }
        const log_line_status st =
            parse_syslog_line(journal, hint, out, postscreen_threshold, dnsbl_texts);
        // Postfix logging to stdout (maillog_file = /dev/stdout in a container, postlogd):
        // the entry's text is itself a whole syslog line, with its own time and program.
        const std::string_view text = std::string_view(journal).substr(message);
        if ((st == log_line_status::not_reject || st == log_line_status::garbage) &&
            !text.starts_with('{') && parse_log_timestamp(text, hint)) {
            reject_event inner;
            const log_line_status st2 =
                parse_syslog_line(text, hint, inner, postscreen_threshold, dnsbl_texts);
            if (st2 != log_line_status::not_reject && st2 != log_line_status::garbage) {
                // The entry's own time, not the inner line's: a BSD syslog time there has
                // no year and no zone (a container's clock is often UTC when the host's is
                // not); the journal's is exact.
                if (const auto t = parse_log_timestamp(journal, hint))
                    inner.unix_seconds = t->unix_seconds;
                out = inner;
                return st2;
            }
        }
        return st;
    }
    return parse_syslog_line(line, hint, out, postscreen_threshold, dnsbl_texts);
}

namespace {

log_line_status parse_syslog_line(std::string_view line, const year_hint& hint, reject_event& out,
                                  int postscreen_threshold,
                                  std::span<const std::string> dnsbl_texts) {
    std::string reshaped;
    line = syslog_normalized(line, reshaped);
    const auto ts = parse_log_timestamp(line, hint);
    if (!ts) return log_line_status::garbage;
    const std::string_view msg = line.substr(ts->length);
    out.unix_seconds = ts->unix_seconds;

    std::string_view body;
    const std::string_view prog = syslog_program(msg, body);
    // "postfix/smtpd", "postfix/submission/smtpd", postmulti's "postfix-in/postscreen", a
    // syslog_name of the operator's own ("mta-in/smtpd"); other Postfix programs under the
    // default names ("postfix/cleanup").
    const std::size_t slash = prog.rfind('/');
    std::string_view service =
        slash == std::string_view::npos ? std::string_view() : prog.substr(slash + 1);
    // rsyslog cuts its program name at the first '/' unless told otherwise
    // (parser.permitSlashInProgramName), and its RFC 5424 output names the APP-NAME so:
    // "postfix" alone, the service lost. It is told by the line then: postscreen's
    // "DNSBL rank" and "RCPT from [1.2.3.4]:port:", smtpd's "RCPT from name[1.2.3.4]:"; any
    // other is another Postfix program's.
    // (postmulti's instances are "postfix-NAME")
    const bool bare_postfix =
        slash == std::string_view::npos && (prog == "postfix" || prog.starts_with("postfix-"));
    if (bare_postfix) service = postfix_service_of(body);
    if ((slash != std::string_view::npos || bare_postfix) &&
        (prog.starts_with("postfix") || service == "smtpd" || service == "postscreen")) {
        const bool postscreen = service == "postscreen";
        std::string_view rest;
        const bool is_reject = postfix_reject_header(body, rest);
        if (!postscreen && service != "smtpd")  // cleanup header/body checks, ...
            return is_reject ? log_line_status::other_reject : log_line_status::not_reject;
        // postscreen: "DNSBL rank 3 for [1.2.3.4]:51234" (logged at threshold and above).
        if (postscreen && body.starts_with("DNSBL rank ")) {
            std::size_t i = 11;
            int n = 0, len = 0;
            while (i < body.size() && body[i] >= '0' && body[i] <= '9' && len < 6) {
                n = n * 10 + (body[i] - '0');
                ++i;
                ++len;
            }
            if (len == 0) return log_line_status::garbage;
            if (n < postscreen_threshold) return log_line_status::not_reject;
            out.mta = mta_kind::postfix_postscreen;
            return bracketed_ipv4(body, i, out.ipv4);
        }
        if (!is_reject) return log_line_status::not_reject;  // PASS NEW, CONNECT, reject_warning
        out.mta = postscreen ? mta_kind::postfix_postscreen : mta_kind::postfix_smtpd;
        std::string_view client, reply;
        if (!postfix_reject_parts(rest, client, reply)) return log_line_status::other_reject;
        bool judged = false;
        const log_line_status st = postfix_rbl_client(reply, client, postscreen, out.ipv4, judged);
        // A reply in the rbl form was judged above: an RHSBL class or a refused query stays
        // no evidence whatever else it says.
        if (st != log_line_status::other_reject || dnsbl_texts.empty() || judged) return st;
        return postfix_custom_text(reply, client, dnsbl_texts, out.ipv4);
    }
    if (prog == "sendmail" || prog == "sm-mta") {
        const std::size_t rej = body.find("reject=");
        if (rej == std::string_view::npos) return log_line_status::not_reject;
        // A quoted address (arg1=, a milter's to=) is the client's words with room for
        // fields of its own: no evidence.
        if (body.substr(0, rej).find('"') != std::string_view::npos)
            return log_line_status::other_reject;
        // "arg1=<a@b>, relay=name [1.2.3.4], reject=550 ...": the address in arg1, and its
        // echo in the reject text, are the client's words. One holding "relay=", "reject="
        // or "arg2=" of its own could name another client: such a line is no evidence.
        for (const std::string_view field :
             {std::string_view("reject="), std::string_view("relay="), std::string_view("arg2=")}) {
            const std::size_t first = body.find(field);
            if (first != std::string_view::npos &&
                body.find(field, first + field.size()) != std::string_view::npos)
                return log_line_status::other_reject;
        }
        std::string_view why = body.substr(rej + 7);
        // "550 5.7.1 <a@b>... Relaying denied": codes, then the echoed address
        why = without_reply_codes(why);
        if (why.starts_with('<')) {
            const std::size_t echo = why.find(">... ");
            if (echo != std::string_view::npos) why.remove_prefix(echo + 5);
        }
        // FEATURE(dnsbl)'s older message, "Mail from 1.2.3.4 refused by blackhole site
        // ZONE", names the client's address; the domain-list hacks' "Mail from spam.example
        // refused by blackhole site ZONE" a domain.
        bool blackhole = false;
        if (const std::size_t at = why.find(" refused by blackhole site ");
            at != std::string_view::npos && at > 0) {
            const std::size_t space = why.rfind(' ', at - 1);
            const std::string_view subject =
                why.substr(space == std::string_view::npos ? 0 : space + 1,
                           at - (space == std::string_view::npos ? 0 : space + 1));
            blackhole = !names_domain(subject);
        }
        if (!(contains(why, "listed at") || contains(why, "blocked using") ||
              contains_word(why, "DNSBL") || contains_word(why, "dnsbl") ||
              contains_word(why, "RBL") || blackhole || any_text(why, dnsbl_texts)) ||
            names_domain_list(why))
            return log_line_status::other_reject;
        out.mta = mta_kind::sendmail;
        // The client: the relay= field's own "[address]", else check_relay's arg2=.
        const std::size_t relay = body.find("relay=");
        if (relay != std::string_view::npos && relay < rej) {
            std::string_view value = body.substr(relay + 6, rej - relay - 6);
            const std::size_t open = value.find('[');
            const std::size_t close = open == std::string_view::npos ? open : value.find(']', open);
            if (close == std::string_view::npos) return log_line_status::garbage;
            return client_address(value.substr(open + 1, close - open - 1), out.ipv4);
        }
        const std::size_t arg2 = body.find("arg2=");
        if (arg2 != std::string_view::npos && arg2 < rej) {
            const std::size_t end = body.find(',', arg2 + 5);
            return client_address(
                body.substr(arg2 + 5, end == std::string_view::npos ? std::string_view::npos
                                                                    : end - arg2 - 5),
                out.ipv4);
        }
        return log_line_status::other_reject;  // a milter's reject names no client
    }
    // Exim: its own log ("2026-11-24 10:00:00 [+0100] [pid] [id] H=... rejected ...") or
    // syslog through program exim/exim4 (with or without Exim's own time stamp). Any other
    // program's line is none of ours.
    std::string_view e;
    if (prog == "exim" || prog == "exim4") {
        e = body;
        if (const auto own = parse_log_timestamp(e, hint)) e.remove_prefix(own->length);
    } else if (line.size() > 19 && line[4] == '-' && line[10] == ' ') {
        e = msg;
    } else {
        return log_line_status::not_reject;
    }
    e = exim_text(e);
    if (!e.starts_with("rejected ") && !e.starts_with("temporarily rejected ") &&
        !contains(e, " rejected "))
        return log_line_status::not_reject;
    // "H=name (helo) [1.2.3.4]:1234 I=[...]:25 F=<a@b> rejected RCPT <c@d>: reason"
    std::string_view rest;
    const auto client = exim_host(e, rest);
    if (!client) return log_line_status::other_reject;
    const auto reason = exim_reason(rest);
    std::string_view listed;
    if (!reason || (!exim_dnsbl_reason(*reason, listed) && !any_text(*reason, dnsbl_texts)) ||
        dnsbl_refused_query(*reason) || names_domain_list(*reason))
        return log_line_status::other_reject;
    out.mta = mta_kind::exim;
    const log_line_status st = client_address(*client, out.ipv4);
    // An ACL's dnslists over other addresses ($dnslist_matched: a Received header's, a
    // relay's) names the one it found listed: not evidence against the client.
    if (st == log_line_status::dnsbl_reject && !listed.empty()) {
        std::uint32_t named = 0;
        // (as the client may be: "::ffff:1.2.3.4", Exim's $sender_host_address on an IPv6
        // socket)
        if (!parse_client_ipv4(listed, named) || named != out.ipv4)
            return log_line_status::other_reject;
    }
    return st;
}

}  // namespace

}  // namespace v6bl::ingest
