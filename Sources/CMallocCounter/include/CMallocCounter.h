// Counts the heap allocations of the process that links it: the largest single request and the
// total bytes requested between counter_reset() and counter_read(). Linked into the
// AllocationProbe executable only (see malloc_counter.c for how it hooks the allocator).
#ifndef CMALLOC_COUNTER_H
#define CMALLOC_COUNTER_H

#include <stdint.h>

/// The counts since counter_reset().
typedef struct {
    /// The largest single request (malloc, calloc, realloc, posix_memalign, aligned_alloc,
    /// memalign), in bytes.
    uint64_t largest;
    /// The bytes of every request added up (frees are not subtracted).
    uint64_t total;
    /// How many requests there were.
    uint64_t count;
} counter_counts;

/// 1 when allocations are counted in this build (glibc, or a sanitizer's malloc hooks), else 0.
int counter_supported(void);

/// Zeroes the counts and starts counting.
void counter_reset(void);

/// Stops counting and returns the counts since counter_reset().
counter_counts counter_read(void);

#endif
