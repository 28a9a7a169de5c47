// Bounds-checked big-endian cursors over DNS messages: a reader for queries, a writer for answers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace v6bl::server {

// Reads never go past the end; a failed read sets `failed` and returns 0.
class wire_reader {
  public:
    explicit wire_reader(std::span<const std::uint8_t> data) : data_(data) {}

    std::uint8_t u8() {
        if (pos_ + 1 > data_.size()) return fail();
        return data_[pos_++];
    }
    std::uint16_t u16() {
        if (pos_ + 2 > data_.size()) return fail();
        const std::uint16_t v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    std::uint32_t u32() {
        const std::uint32_t hi = u16();
        const std::uint32_t lo = u16();
        return (hi << 16) | lo;
    }
    bool skip(std::size_t n) {
        if (n > data_.size() - pos_) {
            failed_ = true;
            pos_ = data_.size();
            return false;
        }
        pos_ += n;
        return true;
    }
    std::size_t pos() const { return pos_; }
    std::size_t remaining() const { return data_.size() - pos_; }
    bool failed() const { return failed_; }
    std::span<const std::uint8_t> data() const { return data_; }

  private:
    std::uint8_t fail() {
        failed_ = true;
        pos_ = data_.size();
        return 0;
    }
    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

// Writes stop at `limit`; an overflowing write sets `overflow` (the caller then truncates).
class wire_writer {
  public:
    wire_writer(std::span<std::uint8_t> out, std::size_t limit)
        : out_(out), limit_(limit < out.size() ? limit : out.size()) {}

    void u8(std::uint8_t v) {
        if (!room(1)) return;
        out_[pos_++] = v;
    }
    void u16(std::uint16_t v) {
        if (!room(2)) return;
        out_[pos_] = static_cast<std::uint8_t>(v >> 8);
        out_[pos_ + 1] = static_cast<std::uint8_t>(v);
        pos_ += 2;
    }
    void u32(std::uint32_t v) {
        if (!room(4)) return;
        out_[pos_] = static_cast<std::uint8_t>(v >> 24);
        out_[pos_ + 1] = static_cast<std::uint8_t>(v >> 16);
        out_[pos_ + 2] = static_cast<std::uint8_t>(v >> 8);
        out_[pos_ + 3] = static_cast<std::uint8_t>(v);
        pos_ += 4;
    }
    void bytes(const std::uint8_t* p, std::size_t n) {
        if (!room(n)) return;
        if (n != 0) std::memcpy(out_.data() + pos_, p, n);
        pos_ += n;
    }
    // Patches a 16-bit value written earlier (an RDLENGTH or a count).
    void patch_u16(std::size_t at, std::uint16_t v) {
        if (at + 2 > pos_) return;
        out_[at] = static_cast<std::uint8_t>(v >> 8);
        out_[at + 1] = static_cast<std::uint8_t>(v);
    }
    std::size_t pos() const { return pos_; }
    std::size_t left() const { return overflow_ ? 0 : limit_ - pos_; }
    bool overflow() const { return overflow_; }
    void rewind(std::size_t to) {
        pos_ = to < pos_ ? to : pos_;
        overflow_ = false;
    }

  private:
    bool room(std::size_t n) {
        if (overflow_ || n > limit_ - pos_) {
            overflow_ = true;
            return false;
        }
        return true;
    }
    std::span<std::uint8_t> out_;
    std::size_t limit_;
    std::size_t pos_ = 0;
    bool overflow_ = false;
};

}  // namespace v6bl::server
