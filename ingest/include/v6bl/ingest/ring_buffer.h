// A FIFO in one contiguous power-of-two array, with random access: ingest's time-ordered queues.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace v6bl::ingest {

// std::deque keeps its elements in 512-byte blocks: for 64-byte attempts that is a
// separate allocation every 8 elements, which the hardware prefetcher cannot stream
// through, and the engine reads its queues some 150 s (of capture) after writing them,
// long after they left the caches. Elements must be trivially copyable.
template <typename T>
class ring_buffer {
  public:
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    T& operator[](std::size_t i) { return data_[(head_ + i) & mask_]; }
    const T& operator[](std::size_t i) const { return data_[(head_ + i) & mask_]; }
    T& front() { return data_[head_]; }
    const T& front() const { return data_[head_]; }
    T& back() { return (*this)[size_ - 1]; }

    void push_back(const T& v) {
        if (size_ == data_.size()) grow();
        data_[(head_ + size_) & mask_] = v;
        ++size_;
    }
    void pop_front() {
        head_ = (head_ + 1) & mask_;
        --size_;
    }
    void pop_back() { --size_; }
    // Inserts before position `pos` (0..size()), moving the later elements back by one.
    void insert(std::size_t pos, const T& v) {
        push_back(v);
        for (std::size_t i = size_ - 1; i > pos; --i) (*this)[i] = (*this)[i - 1];
        (*this)[pos] = v;
    }
    void clear() {
        head_ = 0;
        size_ = 0;
    }

    // First position whose element is not before `key` (elements sorted by `less`).
    template <typename Key, typename Less>
    std::size_t lower_bound(const Key& key, Less&& less) const {
        std::size_t lo = 0, hi = size_;
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (less((*this)[mid], key))
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }

  private:
    void grow() {
        std::vector<T> bigger(data_.empty() ? 64 : data_.size() * 2);
        for (std::size_t i = 0; i < size_; ++i) bigger[i] = (*this)[i];
        data_ = std::move(bigger);
        head_ = 0;
        mask_ = data_.size() - 1;
    }

    std::vector<T> data_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
    std::size_t mask_ = 0;
};

}  // namespace v6bl::ingest
