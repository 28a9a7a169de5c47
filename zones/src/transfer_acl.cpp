// Who may transfer the zone: source prefixes and TSIG keys (RFC 8945).
#include "v6bl/zones/transfer_acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace v6bl::zones {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string absolute(std::string s) {
    if (s.empty() || s.back() != '.') s.push_back('.');
    return s;
}

// The secret is only decoded when a message is signed or checked: a bad one must be refused
// at start-up, not fail every transfer.
bool is_base64(std::string_view s) {
    static constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string_view body = s;
    for (int pad = 0; pad < 2 && body.ends_with('='); ++pad) body.remove_suffix(1);
    return !s.empty() && s.size() % 4 == 0 && body.find_first_not_of(alphabet) == body.npos;
}

}  // namespace

std::optional<tsig_key> parse_tsig_key(std::string_view spec) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const auto colon = spec.find(':', start);
        parts.emplace_back(
            spec.substr(start, colon == std::string_view::npos ? colon : colon - start));
        if (colon == std::string_view::npos) break;
        start = colon + 1;
    }
    tsig_key key;
    if (parts.size() == 2) {
        key.algorithm = "hmac-sha256.";
        key.name = parts[0];
        key.secret = parts[1];
    } else if (parts.size() == 3) {
        key.algorithm = absolute(lower(parts[0]));
        key.name = parts[1];
        key.secret = parts[2];
    } else {
        return std::nullopt;
    }
    static const char* const known[] = {"hmac-md5.sig-alg.reg.int.",
                                        "hmac-sha1.",
                                        "hmac-sha224.",
                                        "hmac-sha256.",
                                        "hmac-sha384.",
                                        "hmac-sha512."};
    if (key.algorithm == "hmac-md5.") key.algorithm = "hmac-md5.sig-alg.reg.int.";
    if (std::find_if(std::begin(known), std::end(known),
                     [&](const char* k) { return key.algorithm == k; }) == std::end(known)) {
        return std::nullopt;
    }
    key.name = absolute(lower(key.name));
    if (key.name == "." || !is_base64(key.secret)) return std::nullopt;
    return key;
}

std::optional<store::prefix> peer_prefix(const sockaddr_storage& peer) {
    store::ipv6_bytes bytes{};
    if (peer.ss_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&peer);
        std::memcpy(bytes.data(), &sin6->sin6_addr, 16);
    } else if (peer.ss_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(&peer);
        bytes[10] = 0xff;
        bytes[11] = 0xff;
        std::memcpy(bytes.data() + 12, &sin->sin_addr, 4);
    } else {
        return std::nullopt;
    }
    return store::make_prefix(bytes, 128);
}

std::optional<store::prefix> parse_acl_prefix(std::string_view text) {
    const auto slash = text.find('/');
    const std::string address(text.substr(0, slash));
    int length = -1;
    if (slash != std::string_view::npos) {
        const std::string len_text(text.substr(slash + 1));
        if (len_text.empty() || len_text.size() > 3 ||
            !std::all_of(len_text.begin(), len_text.end(),
                         [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
            return std::nullopt;
        }
        length = std::stoi(len_text);
    }
    store::ipv6_bytes bytes{};
    in_addr v4{};
    in6_addr v6{};
    if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) {
        if (length > 32) return std::nullopt;
        bytes[10] = 0xff;
        bytes[11] = 0xff;
        std::memcpy(bytes.data() + 12, &v4, 4);
        length = length < 0 ? 128 : 96 + length;
    } else if (::inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
        if (length > 128) return std::nullopt;
        std::memcpy(bytes.data(), &v6, 16);
        if (length < 0) length = 128;
    } else {
        return std::nullopt;
    }
    return store::make_prefix(bytes, static_cast<std::uint8_t>(length));
}

transfer_acl::transfer_acl(const zone_config& config)
    : require_tsig_(config.transfer_require_tsig) {
    for (const std::string& text : config.transfer_allow) {
        const auto p = parse_acl_prefix(text);
        if (!p) throw std::runtime_error("transfer ACL: bad source prefix '" + text + "'");
        sources_.push_back(*p);
    }
    for (const std::string& text : config.transfer_tsig) {
        auto key = parse_tsig_key(text);
        if (!key) {
            throw std::runtime_error(
                "transfer ACL: bad TSIG key (want [ALGORITHM:]NAME:BASE64SECRET): '" + text + "'");
        }
        keys_.push_back(std::move(*key));
    }
    if (require_tsig_ && keys_.empty()) {
        throw std::runtime_error("transfer ACL: TSIG required but no key configured");
    }
}

bool transfer_acl::source_allowed(const sockaddr_storage& peer) const {
    const auto p = peer_prefix(peer);
    if (!p) return false;
    return std::any_of(sources_.begin(), sources_.end(),
                       [&](const store::prefix& s) { return s.covers(*p); });
}

const tsig_key* transfer_acl::find_key(std::string_view name) const {
    const std::string wanted = absolute(lower(name));
    for (const tsig_key& k : keys_) {
        if (k.name == wanted) return &k;
    }
    return nullptr;
}

}  // namespace v6bl::zones
