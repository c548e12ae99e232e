// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) with Go's crc32.Update convention:
// the value passed in and returned is the finished CRC (inverted), so calls chain.
//
// Four paths, all giving the same results:
// - x86-64 with AVX-512 and VPCLMULQDQ: inputs of 384 bytes and more are folded 256 bytes at a
//   time with 512-bit carry-less multiplies (the Intel white paper's folding), the rest as below;
// - x86-64 with SSE4.2 (crc32q), chosen by cpuid at run time;
// - aarch64 with the ARMv8 CRC extension (crc32cx), chosen by HWCAP_CRC32 at run time
//   (always present on Apple silicon);
// - a portable slicing-by-8 table implementation.
//
// The hardware paths run three independent CRC streams over adjacent blocks so the CPU can
// overlap the instructions' three-cycle latency, then combine the streams by "shifting" a CRC
// over a run of zero bytes with precomputed tables (Mark Adler's method). Measured on the
// project machine: 14.6 GB/s versus 6.8 GB/s for a single stream (`WALBenchmark crc
// --instructions-only` measures this path; Docs/Performance.md has its runs).
//
// The functions carry __attribute__((target(...))) so the package needs no unsafeFlags; they
// are only called after the run-time check.

#include "crc32c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>
#include <immintrin.h>
#include <wmmintrin.h>
#define CCRC32C_X86 1
#elif defined(__aarch64__)
#define CCRC32C_ARM 1
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif
#endif

#define POLY 0x82f63b78u

// Block sizes of the interleaved streams. LONG for bulk data; MID and SHORT keep three streams
// busy on record-sized inputs (a 4 KiB record is one MID round plus a SHORT round).
#define LONG_BLOCK 8192
#define MID_BLOCK 1024
#define SHORT_BLOCK 256

static uint32_t slicing_table[8][256];
static uint32_t zeros_long[4][256];
static uint32_t zeros_mid[4][256];
static uint32_t zeros_short[4][256];
static int hardware_available;
static int carryless_available;
static int vector_folding_available;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

// x^(2^k) mod P for k < 32, and x^(8n-33) mod P for record lengths n up to SHIFT_MAX, filled
// on first use (0 means not yet: no power of x is 0 mod P).
#define SHIFT_MAX 8192
static uint32_t x2n_table[32];
static _Atomic uint32_t shift_constants[SHIFT_MAX + 1];

// MARK: - Tables

static uint32_t gf2_matrix_times(const uint32_t *matrix, uint32_t vector) {
    uint32_t sum = 0;
    while (vector) {
        if (vector & 1) sum ^= *matrix;
        vector >>= 1;
        matrix++;
    }
    return sum;
}

static void gf2_matrix_square(uint32_t *square, const uint32_t *matrix) {
    for (int n = 0; n < 32; n++) square[n] = gf2_matrix_times(matrix, matrix[n]);
}

// The operator that appends `length` zero bytes (a power of two) to a CRC register.
static void zeros_operator(uint32_t *even, size_t length) {
    uint32_t odd[32];
    odd[0] = POLY;
    uint32_t row = 1;
    for (int n = 1; n < 32; n++) {
        odd[n] = row;
        row <<= 1;
    }
    gf2_matrix_square(even, odd);  // two zero bits
    gf2_matrix_square(odd, even);  // four zero bits
    // Each square doubles the count; the first one below gives one zero byte.
    do {
        gf2_matrix_square(even, odd);
        length >>= 1;
        if (length == 0) return;
        gf2_matrix_square(odd, even);
        length >>= 1;
    } while (length);
    memcpy(even, odd, sizeof(odd));
}

static void build_zeros_table(uint32_t table[4][256], size_t length) {
    uint32_t op[32];
    zeros_operator(op, length);
    for (uint32_t n = 0; n < 256; n++) {
        table[0][n] = gf2_matrix_times(op, n);
        table[1][n] = gf2_matrix_times(op, n << 8);
        table[2][n] = gf2_matrix_times(op, n << 16);
        table[3][n] = gf2_matrix_times(op, n << 24);
    }
}

// MARK: - Shifting a CRC past n bytes with a carry-less multiply
//
// crc(A || B) = shift(crc(A), |B|) ^ crc(B), where shift multiplies by x^(8|B|) mod P (zlib's
// crc32_combine). Computing crc(B) from zero breaks the chain of dependent CRC instructions
// between consecutive records: a WAL's records each continue the running CRC, so on the
// write path every record's CRC waited for the previous one (45 cycles for a 118-byte record).
// With the shift, only a multiply and one CRC instruction wait; the rest overlaps (measured:
// 1M chained 118-byte records in 5.5 ms against 14 ms).

// a * b mod P, bit-reflected (zlib's multmodp).
static uint32_t multmodp(uint32_t a, uint32_t b) {
    uint32_t m = (uint32_t)1 << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0) break;
        }
        m >>= 1;
        b = b & 1 ? (b >> 1) ^ POLY : b >> 1;
    }
    return p;
}

// x^n mod P, bit-reflected.
static uint32_t x_power(uint64_t n) {
    uint32_t p = (uint32_t)1 << 31;  // x^0
    for (unsigned k = 0; n; n >>= 1, k++) {
        if (n & 1) p = multmodp(x2n_table[k & 31], p);
    }
    return p;
}

// MARK: - Folding 256 bytes at a time with 512-bit carry-less multiplies
//
// The Intel white paper's folding ("Fast CRC Computation for Generic Polynomials Using PCLMULQDQ"):
// four 512-bit accumulators hold the last 256 bytes read; each round multiplies every 128-bit
// lane by x^(8 * 256) mod P and adds the next 256 bytes, so no instruction waits on a CRC chain.
// At the end the lanes are folded into one 128-bit value with the same remainder, which the CRC
// instruction finishes. Measured on the project machine (Zen 5), 4 KiB records: see
// Docs/Performance.md; the three CRC-instruction streams below top out at 8 bytes a cycle.
#if defined(CCRC32C_X86)
#define FOLD_BLOCK 256

// The constants that move a 128-bit lane `distance` bytes further into the message, for its
// first 8 bytes (worth x^(8d + 64)) and its last 8 (worth x^(8d)). As in shift_crc, a reflected
// carry-less product carries one extra factor x and a 32-bit constant in a 64-bit half another
// x^32, hence the exponents. Each pair is one lane: [first half, second half].
static uint64_t fold_by_256[2], fold_by_192[2], fold_by_128[2], fold_by_64[2];
static uint64_t fold_lanes[8];  // lanes 0-2 of a 512-bit value by 48, 32 and 16 bytes; lane 3 stays

static void fold_constants(uint64_t pair[2], uint64_t distance) {
    pair[0] = x_power(8 * distance + 31);
    pair[1] = x_power(8 * distance - 33);
}

static void build_fold_constants(void) {
    fold_constants(fold_by_256, 256);
    fold_constants(fold_by_192, 192);
    fold_constants(fold_by_128, 128);
    fold_constants(fold_by_64, 64);
    fold_constants(fold_lanes, 48);
    fold_constants(fold_lanes + 2, 32);
    fold_constants(fold_lanes + 4, 16);
}

// AVX-512F and VPCLMULQDQ in the CPU, and the 512-bit register state saved by the OS (XCR0's
// SSE, AVX, opmask and both upper-ZMM bits).
static int vector_folding_supported(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || (ecx & bit_OSXSAVE) == 0) return 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    if ((ebx & bit_AVX512F) == 0 || (ecx & bit_VPCLMULQDQ) == 0) return 0;
    uint32_t xcr0, xcr0_high;
    __asm__("xgetbv" : "=a"(xcr0), "=d"(xcr0_high) : "c"(0));
    return (xcr0 & 0xE6) == 0xE6;
}

#define VECTOR_TARGET __attribute__((target("avx512f,vpclmulqdq,sse4.2")))

// Every lane of `x` moved by the lanes of `k`: the product of each lane's halves with its
// constants, summed.
VECTOR_TARGET
static inline __m512i fold_lanes_by(__m512i x, __m512i k) {
    return _mm512_xor_si512(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11));
}

VECTOR_TARGET
static inline __m512i fold_into(__m512i x, __m512i k, const unsigned char *data) {
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11),
                                     _mm512_loadu_si512(data), 0x96);
}

VECTOR_TARGET
static inline __m512i lane_constants(const uint64_t pair[2]) {
    return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)pair));
}

// Continues the raw register `reg` over the whole 256-byte blocks at *next (at least one) and
// advances *next and *length past them.
VECTOR_TARGET
static uint32_t fold_vectors(uint32_t reg, const unsigned char **next, size_t *length) {
    const unsigned char *p = *next;
    const unsigned char *last = p + (*length / FOLD_BLOCK - 1) * FOLD_BLOCK;
    // The register is the CRC of what came before: adding it to the first 4 bytes is the same.
    __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)reg)));
    __m512i x1 = _mm512_loadu_si512(p + 64);
    __m512i x2 = _mm512_loadu_si512(p + 128);
    __m512i x3 = _mm512_loadu_si512(p + 192);
    const __m512i k = lane_constants(fold_by_256);
    while (p < last) {
        p += FOLD_BLOCK;
        // Four blocks ahead: the folds outrun the hardware prefetcher on data from memory
        // (measured on 256 MiB: 17 GB/s without, 28 with, the machine's read bandwidth).
        // Prefetches past the end of the buffer do not fault.
        for (int line = 0; line < FOLD_BLOCK; line += 64) _mm_prefetch((const char *)p + 4 * FOLD_BLOCK + line, _MM_HINT_T0);
        x0 = fold_into(x0, k, p);
        x1 = fold_into(x1, k, p + 64);
        x2 = fold_into(x2, k, p + 128);
        x3 = fold_into(x3, k, p + 192);
    }
    x3 = _mm512_ternarylogic_epi64(x3, fold_lanes_by(x0, lane_constants(fold_by_192)),
                                   fold_lanes_by(x1, lane_constants(fold_by_128)), 0x96);
    x3 = _mm512_xor_si512(x3, fold_lanes_by(x2, lane_constants(fold_by_64)));
    __m512i lanes = fold_lanes_by(x3, _mm512_loadu_si512(fold_lanes));
    __m128i folded = _mm_xor_si128(_mm_xor_si128(_mm512_extracti32x4_epi32(lanes, 0), _mm512_extracti32x4_epi32(lanes, 1)),
                                   _mm_xor_si128(_mm512_extracti32x4_epi32(lanes, 2), _mm512_extracti32x4_epi32(x3, 3)));
    uint64_t crc = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(folded));
    crc = _mm_crc32_u64(crc, (uint64_t)_mm_extract_epi64(folded, 1));
    *length -= (size_t)(p + FOLD_BLOCK - *next);
    *next = p + FOLD_BLOCK;
    return (uint32_t)crc;
}
#endif

static void build_tables(void) {
    x2n_table[0] = (uint32_t)1 << 30;  // x^1
    for (int k = 1; k < 32; k++) x2n_table[k] = multmodp(x2n_table[k - 1], x2n_table[k - 1]);
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ POLY : crc >> 1;
        slicing_table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = slicing_table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = slicing_table[0][crc & 0xff] ^ (crc >> 8);
            slicing_table[k][n] = crc;
        }
    }
    build_zeros_table(zeros_long, LONG_BLOCK);
    build_zeros_table(zeros_mid, MID_BLOCK);
    build_zeros_table(zeros_short, SHORT_BLOCK);
#if defined(CCRC32C_X86)
    unsigned int eax, ebx, ecx, edx;
    hardware_available = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_SSE4_2) != 0;
    carryless_available = hardware_available && (ecx & bit_PCLMUL) != 0;
    vector_folding_available = carryless_available && vector_folding_supported();
    if (vector_folding_available) build_fold_constants();
#elif defined(CCRC32C_ARM) && defined(__APPLE__)
    hardware_available = 1;
#elif defined(CCRC32C_ARM) && defined(__linux__)
    hardware_available = (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
#else
    hardware_available = 0;
#endif
}

static atomic_int tables_ready;

static void build_tables_once(void) {
    build_tables();
    atomic_store_explicit(&tables_ready, 1, memory_order_release);
}

// An inline check first: pthread_once is a call into libc on every CRC.
static inline void ensure_tables(void) {
    if (__builtin_expect(atomic_load_explicit(&tables_ready, memory_order_acquire), 1)) return;
    pthread_once(&tables_once, build_tables_once);
}

static inline uint32_t shift(uint32_t table[4][256], uint32_t crc) {
    return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^ table[3][crc >> 24];
}

// MARK: - Portable: slicing-by-8

static inline uint32_t load_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t portable(uint32_t crc, const unsigned char *next, size_t length) {
    uint32_t reg = ~crc;
    while (length && ((uintptr_t)next & 7) != 0) {
        reg = slicing_table[0][(reg ^ *next++) & 0xff] ^ (reg >> 8);
        length--;
    }
    while (length >= 8) {
        uint32_t low = reg ^ load_le32(next);
        uint32_t high = load_le32(next + 4);
        reg = slicing_table[7][low & 0xff] ^ slicing_table[6][(low >> 8) & 0xff]
            ^ slicing_table[5][(low >> 16) & 0xff] ^ slicing_table[4][low >> 24]
            ^ slicing_table[3][high & 0xff] ^ slicing_table[2][(high >> 8) & 0xff]
            ^ slicing_table[1][(high >> 16) & 0xff] ^ slicing_table[0][high >> 24];
        next += 8;
        length -= 8;
    }
    while (length--) reg = slicing_table[0][(reg ^ *next++) & 0xff] ^ (reg >> 8);
    return ~reg;
}

// MARK: - Hardware

#if defined(CCRC32C_X86)
#define HW_TARGET __attribute__((target("sse4.2")))
typedef uint64_t hw_reg;
#define HW_STEP64(reg, word) ((reg) = _mm_crc32_u64((reg), (word)))
#define HW_STEP32(reg, word) ((reg) = _mm_crc32_u32((uint32_t)(reg), (word)))
#define HW_STEP8(reg, byte) ((reg) = _mm_crc32_u8((uint32_t)(reg), (byte)))
#elif defined(CCRC32C_ARM)
#define HW_TARGET __attribute__((target("crc")))
typedef uint32_t hw_reg;
#define HW_STEP64(reg, word) ((reg) = __builtin_arm_crc32cd((reg), (word)))
#define HW_STEP32(reg, word) ((reg) = __builtin_arm_crc32cw((reg), (word)))
#define HW_STEP8(reg, byte) ((reg) = __builtin_arm_crc32cb((reg), (byte)))
#endif

#if defined(HW_TARGET)
static inline uint64_t load64(const unsigned char *p) {
    uint64_t word;
    memcpy(&word, p, sizeof(word));
    return word;  // both targets are little-endian, as the CRC instructions expect
}

// Three streams over blocks of `block` bytes: stream 0 continues `reg`, streams 1 and 2 start
// from zero and are folded in by shifting over the following block's length of zeros.
#define HW_ROUNDS(block, table)                                                  \
    while (length >= 3 * (block)) {                                              \
        hw_reg reg1 = 0, reg2 = 0;                                               \
        const unsigned char *end = next + (block);                               \
        do {                                                                     \
            HW_STEP64(reg0, load64(next));                                       \
            HW_STEP64(reg1, load64(next + (block)));                             \
            HW_STEP64(reg2, load64(next + 2 * (block)));                         \
            next += 8;                                                           \
        } while (next < end);                                                    \
        reg0 = shift(table, (uint32_t)reg0) ^ (uint32_t)reg1;                    \
        reg0 = shift(table, (uint32_t)reg0) ^ (uint32_t)reg2;                    \
        next += 2 * (block);                                                     \
        length -= 3 * (block);                                                   \
    }

// No alignment prologue: unaligned 8-byte loads cost nothing extra on either target, while
// byte steps before the first aligned word would add up to seven dependent instructions, a
// fifth of the work for a ~120-byte WAL record (the write path's most common call).
#if defined(CCRC32C_X86)
static uint32_t tail_three_streams(uint32_t reg, const unsigned char **next, size_t *length);
#endif

// `fold` picks the vector folds when the CPU has them; 0 keeps to the CRC instructions (the
// path of CPUs without them, kept testable on machines with them).
HW_TARGET
static inline uint32_t hardware_folding(uint32_t crc, const unsigned char *next, size_t length, int fold) {
    hw_reg reg0 = (uint32_t)~crc;
#if defined(CCRC32C_X86)
    if (fold && length >= FOLD_BLOCK) reg0 = fold_vectors((uint32_t)reg0, &next, &length);
#else
    (void)fold;
#endif
    HW_ROUNDS(LONG_BLOCK, zeros_long)
    HW_ROUNDS(MID_BLOCK, zeros_mid)
    HW_ROUNDS(SHORT_BLOCK, zeros_short)
#if defined(CCRC32C_X86)
    // What the fixed-size rounds leave (up to 767 bytes: a quarter of a 4 KiB record's work)
    // in three streams too, joined by carry-less multiplies.
    if (carryless_available && length >= 96) reg0 = tail_three_streams((uint32_t)reg0, &next, &length);
#endif
    while (length >= 8) {
        HW_STEP64(reg0, load64(next));
        next += 8;
        length -= 8;
    }
    if (length >= 4) {
        uint32_t word;
        memcpy(&word, next, sizeof(word));
        HW_STEP32(reg0, word);
        next += 4;
        length -= 4;
    }
    while (length--) HW_STEP8(reg0, *next++);
    return ~(uint32_t)reg0;
}

HW_TARGET
static uint32_t hardware(uint32_t crc, const unsigned char *next, size_t length) {
#if defined(CCRC32C_X86)
    return hardware_folding(crc, next, length, vector_folding_available);
#else
    return hardware_folding(crc, next, length, 0);
#endif
}
#endif

#if defined(CCRC32C_X86)
// shift(crc, length) ^ crc(bytes): the multiply gives crc * K * x (a carry-less product of two
// reflected 32-bit values is one bit short of the 64-bit reflected layout), and the CRC
// instruction over that 64-bit value multiplies by x^32 and reduces mod P: with
// K = x^(8n - 33), crc * x^(8n) mod P.
__attribute__((target("sse4.2,pclmul")))
static inline uint32_t shift_crc(uint32_t crc, size_t length) {
    uint32_t constant = atomic_load_explicit(&shift_constants[length], memory_order_relaxed);
    if (constant == 0) {
        constant = x_power(8 * (uint64_t)length - 33);
        atomic_store_explicit(&shift_constants[length], constant, memory_order_relaxed);
    }
    __m128i product = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)crc), _mm_cvtsi32_si128((int)constant), 0);
    return (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(product));
}


// A record's worth of bytes in one stream, without the interleaved rounds' checks: most WAL
// records are short, and this is the write path's per-entry CRC.
HW_TARGET
static inline hw_reg hardware_short(hw_reg reg, const unsigned char *next, size_t length) {
    while (length >= 16) {
        HW_STEP64(reg, load64(next));
        HW_STEP64(reg, load64(next + 8));
        next += 16;
        length -= 16;
    }
    if (length >= 8) {
        HW_STEP64(reg, load64(next));
        next += 8;
        length -= 8;
    }
    if (length >= 4) {
        uint32_t word;
        memcpy(&word, next, sizeof(word));
        HW_STEP32(reg, word);
        next += 4;
        length -= 4;
    }
    while (length--) HW_STEP8(reg, *next++);
    return reg;
}

__attribute__((target("sse4.2,pclmul")))
static uint32_t hardware_extend(uint32_t crc, const unsigned char *bytes, size_t length) {
    // One stream is faster below 512 bytes than three, and below 384 than the vector folds
    // (measured on the project machine).
    size_t single_stream_limit = vector_folding_available ? 384 : 512;
    uint32_t own = length < single_stream_limit ? ~(uint32_t)hardware_short((uint32_t)~0u, bytes, length) : hardware(0, bytes, length);
    return shift_crc(crc, length) ^ own;
}

// Three streams over three equal blocks (a multiple of 8 bytes each) of what is left, the
// second and third started from zero and joined by shifting over a block of zeros; advances
// `next` and `length` past the blocks. Works on the raw register: appending n zero bytes is the
// same multiplication by x^(8n) as shift_crc's.
__attribute__((target("sse4.2,pclmul")))
static uint32_t tail_three_streams(uint32_t reg, const unsigned char **next, size_t *length) {
    size_t block = (*length / 3) & ~(size_t)7;
    const unsigned char *p = *next;
    uint64_t reg0 = reg, reg1 = 0, reg2 = 0;
    for (size_t offset = 0; offset < block; offset += 8) {
        reg0 = _mm_crc32_u64(reg0, load64(p + offset));
        reg1 = _mm_crc32_u64(reg1, load64(p + block + offset));
        reg2 = _mm_crc32_u64(reg2, load64(p + 2 * block + offset));
    }
    uint32_t joined = shift_crc((uint32_t)reg0, block) ^ (uint32_t)reg1;
    joined = shift_crc(joined, block) ^ (uint32_t)reg2;
    *next = p + 3 * block;
    *length -= 3 * block;
    return joined;
}
#endif

#if defined(HW_TARGET)
// The CRC of `length` (at most 16) bytes held in two little-endian words, continuing `reg`.
HW_TARGET
static inline hw_reg hardware_words(hw_reg reg, uint64_t low, uint64_t high, size_t length) {
    if (length >= 8) {
        HW_STEP64(reg, low);
        low = high;
        length -= 8;
    }
    if (length >= 4) {
        HW_STEP32(reg, (uint32_t)low);
        low >>= 32;
        length -= 4;
    }
    while (length--) {
        HW_STEP8(reg, (uint8_t)low);
        low >>= 8;
    }
    return reg;
}
#endif

#if defined(CCRC32C_X86)
// crc(words || bytes) from zero, in one stream: the write path's per-entry CRC.
HW_TARGET
static uint32_t hardware_words_from_zero(uint64_t low, uint64_t high, size_t wordLength, const void *bytes, size_t length) {
    hw_reg reg = hardware_words((uint32_t)~0u, low, high, wordLength);
    if (length < 512) return ~(uint32_t)hardware_short(reg, bytes, length);
    return hardware(~(uint32_t)reg, bytes, length);
}
#endif

uint32_t ccrc32c_words(uint64_t low, uint64_t high, size_t wordLength, const void *bytes, size_t length) {
    ensure_tables();
#if defined(CCRC32C_X86)
    if (hardware_available) return hardware_words_from_zero(low, high, wordLength, bytes, length);
#endif
    unsigned char prefix[16];
    memcpy(prefix, &low, 8);
    memcpy(prefix + 8, &high, 8);
    return ccrc32c_update(ccrc32c_update(0, prefix, wordLength), bytes, length);
}

uint32_t ccrc32c_combine(uint32_t crc, uint32_t next, size_t length) {
    ensure_tables();
#if defined(CCRC32C_X86)
    if (carryless_available && length >= 5 && length <= SHIFT_MAX) return shift_crc(crc, length) ^ next;
#endif
    return multmodp(x_power(8 * (uint64_t)length), crc) ^ next;
}

// MARK: - Entry points

uint32_t ccrc32c_update_portable(uint32_t crc, const void *bytes, size_t length) {
    ensure_tables();
    return portable(crc, bytes, length);
}

uint32_t ccrc32c_update_hardware(uint32_t crc, const void *bytes, size_t length) {
    ensure_tables();
#if defined(CCRC32C_X86)
    if (carryless_available && length >= 5 && length <= SHIFT_MAX) return hardware_extend(crc, bytes, length);
#endif
#if defined(HW_TARGET)
    if (hardware_available) return hardware(crc, bytes, length);
#endif
    return portable(crc, bytes, length);
}

uint32_t ccrc32c_update_crc_instructions(uint32_t crc, const void *bytes, size_t length) {
    ensure_tables();
#if defined(HW_TARGET)
    if (hardware_available) return hardware_folding(crc, bytes, length, 0);
#endif
    return portable(crc, bytes, length);
}

int ccrc32c_vector_folding_available(void) {
    ensure_tables();
#if defined(CCRC32C_X86)
    return vector_folding_available;
#else
    return 0;
#endif
}

uint32_t ccrc32c_update(uint32_t crc, const void *bytes, size_t length) {
    return ccrc32c_update_hardware(crc, bytes, length);
}

int ccrc32c_hardware_available(void) {
    ensure_tables();
    return hardware_available;
}
