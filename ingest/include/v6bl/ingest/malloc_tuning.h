// Heap settings for an ingest process: freed memory is kept for reuse instead of given back.
#pragma once

namespace v6bl::ingest {

// Ingest grows tables by doubling and builds tens of MB of checkpoints per commit, which
// RocksDB copies again. With glibc's defaults a freed block above the (dynamic) mmap
// threshold is unmapped, and free memory at the top of the heap is trimmed, so the next
// large allocation gets fresh pages that the kernel zeroes once more: 8 % of ingest's CPU
// on bench/ingest, half of it after this. Sets M_MMAP_THRESHOLD to glibc's maximum (32 MiB:
// only larger blocks are mapped) and M_TRIM_THRESHOLD to 1 GiB (a freed top of the heap is
// kept). Process-wide: call it from main of a process that ingests (v6bl ingest, the
// benchmark), not from a long-running server that should give memory back.
void tune_malloc_for_ingest();

}  // namespace v6bl::ingest
