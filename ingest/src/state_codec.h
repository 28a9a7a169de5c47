// Little binary writer/reader for checkpointed engine state (trivially copyable records).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace v6bl::ingest {

class state_writer {
  public:
    explicit state_writer(std::string& out) : out_(out) {}
    template <typename T>
    void put_pod(const T& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        out_.append(reinterpret_cast<const char*>(&v), sizeof(T));
    }
    void put_u32(std::uint32_t v) { put_pod(v); }
    void put_u64(std::uint64_t v) { put_pod(v); }
    void put_bytes(std::string_view s) {
        put_u64(s.size());
        out_.append(s);
    }

  private:
    std::string& out_;
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
