// Production MTA reject logs → DNSBL rejections of IPv4 senders (Postfix, Exim, Sendmail).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "v6bl/ingest/log_timestamp.h"

namespace v6bl::ingest {

enum class mta_kind : std::uint8_t { postfix_smtpd, postfix_postscreen, exim, sendmail, count };
const char* mta_kind_name(mta_kind k);

struct reject_event {
    std::int64_t unix_seconds = 0;
    std::uint32_t ipv4 = 0;
    mta_kind mta = mta_kind::postfix_smtpd;
};

enum class log_line_status : std::uint8_t {
    dnsbl_reject,  // evidence: `out` is filled
    other_reject,  // a reject for another reason (User unknown, ...): not evidence
    not_reject,    // an ordinary log line
    ipv6_client,   // a DNSBL reject of an IPv6 client: not what the method joins on
    garbage,       // no timestamp, or a DNSBL reject line without a readable IPv4
};

// `postscreen_threshold`: a postscreen "DNSBL rank N" line is a rejection when N reaches it
// (postscreen_dnsbl_threshold, default 1). `dnsbl_texts`: the operator's own DNSBL reject
// texts (Postfix rbl_reply_maps, an Exim dnslists `message`, a Sendmail DNSBL message): a
// Postfix smtpd/postscreen reject whose reply, an Exim reject whose reason or a Sendmail
// reject= that contains one of them is a DNSBL rejection of the client, like the built-in
// forms.
log_line_status parse_reject_line(std::string_view line, const year_hint& hint, reject_event& out,
                                  int postscreen_threshold = 1,
                                  std::span<const std::string> dnsbl_texts = {});

// A line starting with '{' is read as a journal entry of `journalctl -o json`. What is
// wrong with such a line that parse_reject_line() took for garbage (empty for any other).
std::string journal_line_problem(std::string_view line);
// The syslog line a journal entry stands for ("SECONDS.MICROS HOST IDENT[PID]: MESSAGE"),
// or nullopt when the line is no entry or one with nothing to read.
std::optional<std::string> journal_syslog_line(std::string_view line);

// Strict dotted quad; nullopt for anything else.
bool parse_ipv4(std::string_view text, std::uint32_t& out);

}  // namespace v6bl::ingest
