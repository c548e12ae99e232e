#ifndef CXXHASH_H
#define CXXHASH_H
#include <stddef.h>
#include <stdint.h>

/// XXH32 (the checksum of the LZ4 frame format), streaming state. Treat as opaque.
typedef struct {
    uint64_t total;
    uint32_t lanes[4];
    uint32_t seed;
    uint32_t pending_count;
    unsigned char pending[16];
} cxxh32_state;

/// Starts a hash with `seed` (the LZ4 frame format uses 0).
void cxxh32_reset(cxxh32_state *state, uint32_t seed);
/// Hashes `length` more bytes.
void cxxh32_update(cxxh32_state *state, const void *bytes, size_t length);
/// The hash of everything so far; the state can keep going.
uint32_t cxxh32_digest(const cxxh32_state *state);
/// The hash of one buffer.
uint32_t cxxh32(const void *bytes, size_t length, uint32_t seed);
#endif
