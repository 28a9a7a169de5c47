// The latest ingest sample, published by the ingest thread after a commit, read by scrapes.
#pragma once

#include <mutex>

#include "v6bl/monitoring/ingest_families.h"

namespace v6bl::monitoring {

// ingest_counters are single-writer plain integers: the ingest thread copies them here between
// commits (with the store's serial, which is only safe to read on that thread), and the
// exposer's thread reads the copy. A scrape never touches the live counters.
class ingest_sample_box {
  public:
    void publish(const ingest_sample& s) {
        std::lock_guard<std::mutex> lock(mutex_);
        sample_ = s;
    }
    ingest_sample read() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return sample_;
    }

  private:
    mutable std::mutex mutex_;
    ingest_sample sample_;
};

}  // namespace v6bl::monitoring
