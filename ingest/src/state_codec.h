// Little binary writer/reader for checkpointed engine state (trivially copyable records).
#pragma once

#include <cassert>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

namespace v6bl::ingest {

// Appends through a small buffer: a checkpoint is millions of small fields, and a
// std::string::append per field cost more than building the data. Anything else that
// writes to `out` must come after flush() (or after this writer is gone).
class state_writer {
  public:
    explicit state_writer(std::string& out) : out_(&out) {}
    // Hands the bytes to `sink` a buffer at a time instead (a checkpoint streamed to its
    // file: no copy of the whole state in memory).
    explicit state_writer(std::function<void(std::string_view)> sink) : sink_(std::move(sink)) {}
    // A sink can throw (a file's write failed), and a destructor must not: with a sink the
    // owner calls flush() at the end, and what is left when an exception unwinds is dropped.
    ~state_writer() {
        if (out_) flush();
        // A sink's owner that forgot flush() would cut the end off the state.
        assert(out_ || n_ == 0 || std::uncaught_exceptions() > 0);
    }
    state_writer(const state_writer&) = delete;
    state_writer& operator=(const state_writer&) = delete;

    template <typename T>
    void put_pod(const T& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        static_assert(sizeof(T) <= sizeof(buf_));
        if (n_ + sizeof(T) > sizeof(buf_)) flush();
        std::memcpy(buf_ + n_, &v, sizeof(T));
        n_ += sizeof(T);
    }
    void put_u32(std::uint32_t v) { put_pod(v); }
    void put_u64(std::uint64_t v) { put_pod(v); }
    void put_bytes(std::string_view s) {
        put_u64(s.size());
        flush();
        emit(s);
    }
    // LEB128: small numbers (times relative to a nearby one, counts) in one or two bytes.
    void put_varint(std::uint64_t v) {
        if (n_ + 10 > sizeof(buf_)) flush();
        while (v >= 0x80) {
            buf_[n_++] = static_cast<char>((v & 0x7F) | 0x80);
            v >>= 7;
        }
        buf_[n_++] = static_cast<char>(v);
    }
    void flush() {
        const std::size_t n = n_;
        n_ = 0;  // a sink that throws does not get the same bytes again
        if (n != 0) emit({buf_, n});
    }

  private:
    void emit(std::string_view s) {
        if (out_)
            out_->append(s);
        else
            sink_(s);
    }
    std::string* out_ = nullptr;
    std::function<void(std::string_view)> sink_;
    char buf_[8192];
    std::size_t n_ = 0;
};

// Every read is bounds-checked; after a short read ok() is false and values are zero.
class state_reader {
  public:
    explicit state_reader(std::string_view in) : in_(in) {}
    template <typename T>
    T get_pod() {
        static_assert(std::is_trivially_copyable_v<T>);
        T v{};
        if (in_.size() - pos_ < sizeof(T) || pos_ > in_.size()) {
            ok_ = false;
            return v;
        }
        std::memcpy(&v, in_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    std::uint32_t get_u32() { return get_pod<std::uint32_t>(); }
    std::uint64_t get_u64() { return get_pod<std::uint64_t>(); }
    std::string_view get_bytes() {
        const std::uint64_t n = get_u64();
        if (!ok_ || n > in_.size() - pos_) {
            ok_ = false;
            return {};
        }
        auto s = in_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    // Everything not read yet.
    std::string_view get_rest() {
        const std::string_view s = pos_ < in_.size() ? in_.substr(pos_) : std::string_view{};
        pos_ = in_.size();
        return s;
    }
    std::uint64_t get_varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos_ >= in_.size()) break;
            const auto b = static_cast<std::uint8_t>(in_[pos_++]);
            v |= std::uint64_t{b & 0x7Fu} << shift;
            if (!(b & 0x80)) return v;
        }
        ok_ = false;  // truncated, or longer than 10 bytes
        return 0;
    }
    // True when `count` records of `size` bytes can still be read (guards huge counts).
    bool fits(std::uint64_t count, std::size_t size) const {
        return ok_ && size != 0 && count <= (in_.size() - pos_) / size;
    }
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == in_.size(); }

  private:
    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace v6bl::ingest
