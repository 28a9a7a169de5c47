// Versioned binary encoding of records, evidence and allowlist entries, and their merge.
#include "v6bl/store/record.h"

#include <algorithm>

namespace v6bl::store {

namespace {

// Little-endian fixed-width fields after a version byte; see docs/store-format.md.
class byte_writer {
  public:
    explicit byte_writer(std::string& out) : out_(out) {}
    template <typename T>
    void put(T v) {
        for (std::size_t i = 0; i < sizeof(T); ++i)
            out_.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
    }
    void put_text(std::string_view s) {
        const auto n = static_cast<std::uint16_t>(std::min<std::size_t>(s.size(), 0xffff));
        put(n);
        out_.append(s.data(), n);
    }

  private:
    std::string& out_;
};

class byte_reader {
  public:
    explicit byte_reader(std::string_view in) : in_(in) {}
    template <typename T>
    bool get(T& v) {
        if (in_.size() - pos_ < sizeof(T)) return false;
        std::uint64_t acc = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i)
            acc |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(in_[pos_ + i])) << (8 * i);
        v = static_cast<T>(acc);
        pos_ += sizeof(T);
        return true;
    }
    bool get_text(std::string& s) {
        std::uint16_t n = 0;
        if (!get(n) || in_.size() - pos_ < n) return false;
        s.assign(in_.substr(pos_, n));
        pos_ += n;
        return true;
    }
    bool done() const { return pos_ == in_.size(); }

  private:
    std::string_view in_;
    std::size_t pos_ = 0;
};

std::uint32_t min_set(std::uint32_t a, std::uint32_t b) {
    if (a == 0) return b;
    if (b == 0) return a;
    return std::min(a, b);
}

std::uint32_t add_sat(std::uint32_t a, std::uint32_t b) {
    const std::uint64_t s = static_cast<std::uint64_t>(a) + b;
    return s > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(s);
}

constexpr std::uint8_t tag_record = 'R';
constexpr std::uint8_t tag_evidence = 'E';
constexpr std::uint8_t tag_allow = 'W';

bool check_header(byte_reader& r, std::uint8_t tag) {
    std::uint8_t version = 0, t = 0;
    return r.get(version) && version == record_format_version && r.get(t) && t == tag;
}

}  // namespace

std::string encode_record(const reputation_record& r) {
    std::string out;
    out.reserve(48 + r.text.size());
    append_record(out, r);
    return out;
}

void append_record(std::string& out, const reputation_record& r) {
    byte_writer w(out);
    w.put(record_format_version);
    w.put(tag_record);
    w.put(r.reason_bits);
    w.put(r.manual_code);
    w.put(r.first_seen);
    w.put(r.last_seen);
    w.put(r.attempts);
    w.put(r.addresses);
    w.put(r.rejected_ipv4s);
    w.put(r.strength_milli);
    w.put(r.sensors);
    w.put_text(r.text);
}

std::optional<reputation_record> decode_record(std::string_view bytes) {
    byte_reader in(bytes);
    reputation_record r;
    if (!check_header(in, tag_record)) return std::nullopt;
    if (!in.get(r.reason_bits) || !in.get(r.manual_code) || !in.get(r.first_seen) ||
        !in.get(r.last_seen) || !in.get(r.attempts) || !in.get(r.addresses) ||
        !in.get(r.rejected_ipv4s) || !in.get(r.strength_milli) || !in.get(r.sensors) ||
        !in.get_text(r.text) || !in.done())
        return std::nullopt;
    return r;
}

std::string encode_evidence(const evidence_item& e) {
    std::string out;
    append_evidence(out, e);
    return out;
}

void append_evidence(std::string& out, const evidence_item& e) {
    byte_writer w(out);
    w.put(record_format_version);
    w.put(tag_evidence);
    w.put(e.first_seen);
    w.put(e.last_seen);
    w.put(e.count);
    w.put(e.strength_milli);
    w.put(e.signals);
}

std::optional<evidence_item> decode_evidence(std::string_view bytes) {
    byte_reader in(bytes);
    evidence_item e;
    if (!check_header(in, tag_evidence)) return std::nullopt;
    if (!in.get(e.first_seen) || !in.get(e.last_seen) || !in.get(e.count) ||
        !in.get(e.strength_milli) || !in.get(e.signals) || !in.done())
        return std::nullopt;
    return e;
}

std::string encode_allow(const allow_entry& a) {
    std::string out;
    byte_writer w(out);
    w.put(record_format_version);
    w.put(tag_allow);
    w.put(a.added);
    w.put_text(a.comment);
    return out;
}

std::optional<allow_entry> decode_allow(std::string_view bytes) {
    byte_reader in(bytes);
    allow_entry a;
    if (!check_header(in, tag_allow)) return std::nullopt;
    if (!in.get(a.added) || !in.get_text(a.comment) || !in.done()) return std::nullopt;
    return a;
}

void merge_into(reputation_record& into, const reputation_record& delta) {
    into.reason_bits |= delta.reason_bits;
    if (delta.manual_code != 0) {
        into.manual_code = delta.manual_code;
        into.text = delta.text;
    } else if (!delta.text.empty()) {
        into.text = delta.text;
    }
    into.first_seen = min_set(into.first_seen, delta.first_seen);
    into.last_seen = std::max(into.last_seen, delta.last_seen);
    into.attempts = add_sat(into.attempts, delta.attempts);
    into.addresses = add_sat(into.addresses, delta.addresses);
    into.rejected_ipv4s = add_sat(into.rejected_ipv4s, delta.rejected_ipv4s);
    into.strength_milli = std::max(into.strength_milli, delta.strength_milli);
    into.sensors |= delta.sensors;
}

void merge_into(evidence_item& into, const evidence_item& delta) {
    into.first_seen = min_set(into.first_seen, delta.first_seen);
    into.last_seen = std::max(into.last_seen, delta.last_seen);
    into.count = add_sat(into.count, delta.count);
    into.strength_milli = std::max(into.strength_milli, delta.strength_milli);
    into.signals |= delta.signals;
}

}  // namespace v6bl::store
