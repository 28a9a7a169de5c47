// The NOTIFY sender (RFC 1996): tells configured secondaries that the serial changed.
#include "v6bl/zones/notify_sender.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <stdexcept>

#include "ldns_handles.h"
#include "record_rrs.h"

namespace v6bl::zones {

std::optional<notify_target> parse_notify_target(const std::string& text) {
    std::string host = text;
    std::string port = "53";
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':') return std::nullopt;
            port = text.substr(close + 2);
        }
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        const auto colon = text.find(':');
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
    }
    const int port_number = std::stoi(port);
    if (port_number <= 0 || port_number > 65535) return std::nullopt;
    notify_target target;
    target.text = text;
    auto* sin = reinterpret_cast<sockaddr_in*>(&target.address);
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&target.address);
    if (::inet_pton(AF_INET, host.c_str(), &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(static_cast<std::uint16_t>(port_number));
        target.address_size = sizeof(sockaddr_in);
    } else if (::inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(static_cast<std::uint16_t>(port_number));
        target.address_size = sizeof(sockaddr_in6);
    } else {
        return std::nullopt;
    }
    return target;
}

notify_sender::notify_sender(const zone_config& config) : config_(config) {
    for (const std::string& text : config.notify_targets) {
        auto target = parse_notify_target(text);
        if (!target) throw std::runtime_error("notify: bad target '" + text + "'");
        targets_.push_back(std::move(*target));
    }
    if (!config.notify_tsig.empty()) {
        key_ = parse_tsig_key(config.notify_tsig);
        if (!key_) throw std::runtime_error("notify: bad TSIG key '" + config.notify_tsig + "'");
    }
}

std::vector<std::uint8_t> notify_sender::make_notify(std::uint32_t serial, std::uint16_t id) const {
    ldns_pkt_ptr pkt(ldns_pkt_new());
    ldns_pkt_set_id(pkt.get(), id);
    ldns_pkt_set_opcode(pkt.get(), LDNS_PACKET_NOTIFY);
    ldns_pkt_set_aa(pkt.get(), true);
    ldns_rr* question = ldns_rr_new();
    ldns_rr_set_question(question, true);
    ldns_rr_set_owner(question, ldns_dname_new_frm_str(absolute_name(config_.zone).c_str()));
    ldns_rr_set_type(question, LDNS_RR_TYPE_SOA);
    ldns_rr_set_class(question, LDNS_RR_CLASS_IN);
    ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_QUESTION, question);
    // RFC 1996 3.7: the new SOA in the answer section, a hint the secondary may use.
    ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_ANSWER, make_soa_rr(config_, serial).release());
    if (key_) {
        const ldns_status status =
            ldns_pkt_tsig_sign(pkt.get(), key_->name.c_str(), key_->secret.c_str(), 300,
                               key_->algorithm.c_str(), nullptr);
        if (status != LDNS_STATUS_OK) {
            throw std::runtime_error(std::string("notify: TSIG signing failed: ") +
                                     ldns_get_errorstr_by_id(status));
        }
    }
    std::uint8_t* wire = nullptr;
    std::size_t size = 0;
    if (ldns_pkt2wire(&wire, pkt.get(), &size) != LDNS_STATUS_OK) {
        throw std::runtime_error("notify: cannot render the NOTIFY message");
    }
    std::vector<std::uint8_t> out(wire, wire + size);
    LDNS_FREE(wire);
    return out;
}

namespace {

// The RCODE of a reply to the NOTIFY with ID `id` (same ID, QR, opcode NOTIFY), else -1.
int reply_rcode(std::span<const std::uint8_t> reply, std::uint16_t id) {
    if (reply.size() < 12) return -1;
    const std::uint16_t reply_id = static_cast<std::uint16_t>((reply[0] << 8) | reply[1]);
    const bool qr = (reply[2] & 0x80) != 0;
    const int opcode = (reply[2] >> 3) & 0x0f;
    if (reply_id != id || !qr || opcode != LDNS_PACKET_NOTIFY) return -1;
    return reply[3] & 0x0f;
}

}  // namespace

bool notify_sender::is_acknowledgement(std::span<const std::uint8_t> reply, std::uint16_t id) {
    return reply_rcode(reply, id) == 0;
}

int notify_sender::refusal_rcode(std::span<const std::uint8_t> reply, std::uint16_t id) {
    const int rcode = reply_rcode(reply, id);
    return rcode > 0 ? rcode : -1;
}

std::vector<notify_result> notify_sender::send_all(std::uint32_t serial, int timeout_ms,
                                                   int attempts) const {
    std::vector<notify_result> results;
    std::random_device seed;
    std::mt19937 ids(seed());
    for (const notify_target& target : targets_) {
        notify_result r;
        r.target = target.text;
        const int fd = ::socket(target.address.ss_family, SOCK_DGRAM, 0);
        if (fd < 0) {
            r.error = std::string("socket: ") + std::strerror(errno);
            results.push_back(std::move(r));
            continue;
        }
        const auto id = static_cast<std::uint16_t>(ids());
        const std::vector<std::uint8_t> message = make_notify(serial, id);
        r.error = "no acknowledgement";
        bool refused = false;
        for (int attempt = 0; attempt < attempts && !r.acknowledged && !refused; ++attempt) {
            if (::sendto(fd, message.data(), message.size(), 0,
                         reinterpret_cast<const sockaddr*>(&target.address),
                         target.address_size) < 0) {
                r.error = std::string("sendto: ") + std::strerror(errno);
                continue;
            }
            const auto deadline =
                std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
            while (!r.acknowledged) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count();
                if (left <= 0) break;
                pollfd p{fd, POLLIN, 0};
                if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
                std::uint8_t buffer[4096];
                const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
                if (n <= 0) {
                    r.error = n < 0 ? std::string("recv: ") + std::strerror(errno) : r.error;
                    break;
                }
                if (is_acknowledgement({buffer, static_cast<std::size_t>(n)}, id)) {
                    r.acknowledged = true;
                    r.error.clear();
                } else if (const int rcode =
                               refusal_rcode({buffer, static_cast<std::size_t>(n)}, id);
                           rcode >= 0) {
                    // Said as what it is (it was "no acknowledgement" after every attempt's
                    // timeout: helper-53). FORMERR, NOTIMP, REFUSED and NOTAUTH are final;
                    // another (SERVFAIL: a secondary still loading) is tried again.
                    const bool final = rcode == 1 || rcode == 4 || rcode == 5 || rcode == 9;
                    const char* name = rcode == 1   ? "FORMERR"
                                       : rcode == 2 ? "SERVFAIL"
                                       : rcode == 4 ? "NOTIMP"
                                       : rcode == 5 ? "REFUSED"
                                       : rcode == 9 ? "NOTAUTH (not authoritative, or TSIG)"
                                                    : "an error";
                    r.error = std::string(final ? "refused by the secondary: "
                                                : "the secondary answered ") +
                              name + " (RCODE " + std::to_string(rcode) + ")";
                    refused = final;
                    if (final) break;
                }
            }
        }
        ::close(fd);
        results.push_back(std::move(r));
    }
    return results;
}

}  // namespace v6bl::zones
