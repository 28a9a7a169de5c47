// glibc malloc settings for ingest processes (see malloc_tuning.h).
#include "v6bl/ingest/malloc_tuning.h"

#include <malloc.h>

namespace v6bl::ingest {

void tune_malloc_for_ingest() {
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
#endif
}

}  // namespace v6bl::ingest
