// XXH32, written out from the xxHash specification (doc/xxhash_spec.md in Cyan4973/xxHash).
// liblz4 carries its own copy but does not export it, and checksummed LZ4 frames built through
// liblz4's frame API run at a third of the block speed on this project's machines (its bundled
// copy hashed at about 1.8 GB/s, this one at about 11 GB/s; see Docs/Performance.md), so the
// snapshot store frames its blocks itself and hashes with this.
#include "cxxhash.h"
#include <string.h>

#define PRIME1 0x9E3779B1U
#define PRIME2 0x85EBCA77U
#define PRIME3 0xC2B2AE3DU
#define PRIME4 0x27D4EB2FU
#define PRIME5 0x165667B1U

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static inline uint32_t read32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline uint32_t round32(uint32_t lane, uint32_t input) {
    return rotl32(lane + input * PRIME2, 13) * PRIME1;
}

void cxxh32_reset(cxxh32_state *state, uint32_t seed) {
    memset(state, 0, sizeof *state);
    state->seed = seed;
    state->lanes[0] = seed + PRIME1 + PRIME2;
    state->lanes[1] = seed + PRIME2;
    state->lanes[2] = seed;
    state->lanes[3] = seed - PRIME1;
}

/// Consumes whole 16-byte stripes; returns the bytes used.
static size_t stripes(uint32_t lanes[4], const unsigned char *p, size_t length) {
    uint32_t v1 = lanes[0], v2 = lanes[1], v3 = lanes[2], v4 = lanes[3];
    const unsigned char *start = p;
    const unsigned char *end = p + (length & ~(size_t)15);
    while (p < end) {
        v1 = round32(v1, read32(p));
        v2 = round32(v2, read32(p + 4));
        v3 = round32(v3, read32(p + 8));
        v4 = round32(v4, read32(p + 12));
        p += 16;
    }
    lanes[0] = v1; lanes[1] = v2; lanes[2] = v3; lanes[3] = v4;
    return (size_t)(p - start);
}

void cxxh32_update(cxxh32_state *state, const void *bytes, size_t length) {
    const unsigned char *p = bytes;
    if (length == 0) return;
    state->total += length;
    if (state->pending_count + length < 16) {
        memcpy(state->pending + state->pending_count, p, length);
        state->pending_count += (uint32_t)length;
        return;
    }
    if (state->pending_count > 0) {
        size_t fill = 16 - state->pending_count;
        memcpy(state->pending + state->pending_count, p, fill);
        stripes(state->lanes, state->pending, 16);
        p += fill;
        length -= fill;
        state->pending_count = 0;
    }
    size_t used = stripes(state->lanes, p, length);
    p += used;
    length -= used;
    memcpy(state->pending, p, length);
    state->pending_count = (uint32_t)length;
}

uint32_t cxxh32_digest(const cxxh32_state *state) {
    uint32_t h;
    if (state->total >= 16) {
        h = rotl32(state->lanes[0], 1) + rotl32(state->lanes[1], 7) + rotl32(state->lanes[2], 12) +
            rotl32(state->lanes[3], 18);
    } else {
        h = state->seed + PRIME5;
    }
    h += (uint32_t)state->total;
    const unsigned char *p = state->pending;
    const unsigned char *end = p + state->pending_count;
    while (p + 4 <= end) {
        h = rotl32(h + read32(p) * PRIME3, 17) * PRIME4;
        p += 4;
    }
    while (p < end) {
        h = rotl32(h + (*p) * PRIME5, 11) * PRIME1;
        p++;
    }
    h ^= h >> 15;
    h *= PRIME2;
    h ^= h >> 13;
    h *= PRIME3;
    h ^= h >> 16;
    return h;
}

uint32_t cxxh32(const void *bytes, size_t length, uint32_t seed) {
    cxxh32_state state;
    cxxh32_reset(&state, seed);
    cxxh32_update(&state, bytes, length);
    return cxxh32_digest(&state);
}
