// TSIG signing of outgoing transfer messages (RFC 8945 4.3.3 and 5.3.1) over raw wire.
#include "tsig_signer.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cctype>
#include <memory>
#include <stdexcept>
#include <string>

namespace v6bl::zones {
namespace {

void put16(std::vector<std::uint8_t>& out, std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

void put48(std::vector<std::uint8_t>& out, std::uint64_t v) {
    for (int shift = 40; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>(v >> shift));
    }
}

std::vector<std::uint8_t> decode_base64(const std::string& text) {
    std::vector<std::uint8_t> out(text.size() / 4 * 3 + 3);
    const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0 || text.size() % 4 != 0) throw std::runtime_error("TSIG secret is not base64");
    std::size_t size = static_cast<std::size_t>(n);
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) --size;
    out.resize(size);
    return out;
}

struct mac_ctx_deleter {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
struct mac_deleter {
    void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};

}  // namespace

std::vector<std::uint8_t> canonical_name_wire(const std::string& name) {
    std::vector<std::uint8_t> out;
    std::size_t start = 0;
    while (start < name.size()) {
        auto dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        if (dot == start) break;
        if (dot - start > 63) throw std::runtime_error("label too long in '" + name + "'");
        out.push_back(static_cast<std::uint8_t>(dot - start));
        for (std::size_t i = start; i < dot; ++i) {
            out.push_back(
                static_cast<std::uint8_t>(std::tolower(static_cast<unsigned char>(name[i]))));
        }
        start = dot + 1;
    }
    out.push_back(0);
    return out;
}

namespace {

// OpenSSL's digest name for a TSIG algorithm (tsig_key::algorithm form).
const char* digest_for(const std::string& algorithm) {
    if (algorithm == "hmac-sha256.") return "SHA256";
    if (algorithm == "hmac-sha384.") return "SHA384";
    if (algorithm == "hmac-sha512.") return "SHA512";
    if (algorithm == "hmac-sha224.") return "SHA224";
    if (algorithm == "hmac-sha1.") return "SHA1";
    if (algorithm == "hmac-md5.sig-alg.reg.int.") return "MD5";
    throw std::runtime_error("unsupported TSIG algorithm " + algorithm);
}

std::vector<std::uint8_t> hmac(const char* digest, const std::vector<std::uint8_t>& secret,
                               std::initializer_list<std::span<const std::uint8_t>> parts) {
    std::unique_ptr<EVP_MAC, mac_deleter> mac_alg(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    std::unique_ptr<EVP_MAC_CTX, mac_ctx_deleter> ctx(EVP_MAC_CTX_new(mac_alg.get()));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_end()};
    if (!ctx || !EVP_MAC_init(ctx.get(), secret.data(), secret.size(), params))
        throw std::runtime_error("TSIG: cannot initialise HMAC");
    for (const auto& part : parts) EVP_MAC_update(ctx.get(), part.data(), part.size());
    unsigned char out[EVP_MAX_MD_SIZE];
    std::size_t size = 0;
    if (!EVP_MAC_final(ctx.get(), out, &size, sizeof(out)))
        throw std::runtime_error("TSIG: HMAC failed");
    return {out, out + size};
}

}  // namespace

std::vector<std::uint8_t> tsig_hmac(const tsig_key& key,
                                    std::initializer_list<std::span<const std::uint8_t>> parts) {
    return hmac(digest_for(key.algorithm), decode_base64(key.secret), parts);
}

tsig_signer::tsig_signer(const tsig_key& key)
    : secret_(decode_base64(key.secret)),
      key_name_wire_(canonical_name_wire(key.name)),
      algorithm_wire_(canonical_name_wire(key.algorithm)),
      digest_(digest_for(key.algorithm)) {}

void tsig_signer::sign(std::span<const std::uint8_t> message, bool first, std::uint64_t time_signed,
                       std::vector<std::uint8_t>& out, std::uint16_t error,
                       std::span<const std::uint8_t> other) {
    if (!first) {
        error = 0;
        other = {};
    }
    constexpr std::uint16_t fudge = 300;
    std::vector<std::uint8_t> head;
    if (!mac_.empty()) {  // the request's MAC, or the previous message's
        put16(head, static_cast<std::uint32_t>(mac_.size()));
        head.insert(head.end(), mac_.begin(), mac_.end());
    }
    std::vector<std::uint8_t> variables;
    if (first) {
        variables.insert(variables.end(), key_name_wire_.begin(), key_name_wire_.end());
        put16(variables, 255);                            // class ANY
        variables.insert(variables.end(), {0, 0, 0, 0});  // TTL
        variables.insert(variables.end(), algorithm_wire_.begin(), algorithm_wire_.end());
    }
    put48(variables, time_signed);
    put16(variables, fudge);
    if (first) {
        put16(variables, error);
        put16(variables, static_cast<std::uint32_t>(other.size()));
        variables.insert(variables.end(), other.begin(), other.end());
    }
    mac_ = hmac(digest_, secret_, {head, message, variables});
    const std::size_t digest_size = mac_.size();

    // the TSIG RR
    out.insert(out.end(), key_name_wire_.begin(), key_name_wire_.end());
    put16(out, 250);  // TSIG
    put16(out, 255);  // ANY
    out.insert(out.end(), {0, 0, 0, 0});
    const std::size_t rdlength =
        algorithm_wire_.size() + 6 + 2 + 2 + digest_size + 2 + 2 + 2 + other.size();
    put16(out, static_cast<std::uint32_t>(rdlength));
    out.insert(out.end(), algorithm_wire_.begin(), algorithm_wire_.end());
    put48(out, time_signed);
    put16(out, fudge);
    put16(out, static_cast<std::uint32_t>(digest_size));
    out.insert(out.end(), mac_.begin(), mac_.end());
    out.push_back(message[0]);  // original ID
    out.push_back(message[1]);
    put16(out, error);
    put16(out, static_cast<std::uint32_t>(other.size()));
    out.insert(out.end(), other.begin(), other.end());
}

void append_unsigned_tsig(const tsig_request& request, std::uint16_t error, std::uint16_t id,
                          std::vector<std::uint8_t>& out) {
    out.insert(out.end(), request.key_name_wire.begin(), request.key_name_wire.end());
    put16(out, 250);  // TSIG
    put16(out, 255);  // ANY
    out.insert(out.end(), {0, 0, 0, 0});
    put16(out, static_cast<std::uint32_t>(request.algorithm_wire.size() + 6 + 2 + 2 + 2 + 2 + 2));
    out.insert(out.end(), request.algorithm_wire.begin(), request.algorithm_wire.end());
    put48(out, request.time_signed);
    put16(out, request.fudge);
    put16(out, 0);  // MAC size: unsigned
    put16(out, id);
    put16(out, error);
    put16(out, 0);  // other len
}

}  // namespace v6bl::zones
