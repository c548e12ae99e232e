// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) with Go's crc32.Update convention:
// the value passed in and returned is the finished CRC (inverted), so calls chain.
//
// Three paths, all giving the same results:
// - x86-64 with SSE4.2 (crc32q), chosen by cpuid at run time;
// - aarch64 with the ARMv8 CRC extension (crc32cx), chosen by HWCAP_CRC32 at run time
//   (always present on Apple silicon);
// - a portable slicing-by-8 table implementation.
//
// The hardware paths run three independent CRC streams over adjacent blocks so the CPU can
// overlap the instructions' three-cycle latency, then combine the streams by "shifting" a CRC
// over a run of zero bytes with precomputed tables (Mark Adler's method). Measured on the
// project machine: 14.6 GB/s versus 6.8 GB/s for a single stream (swift-style.md B.2).
//
// The functions carry __attribute__((target(...))) so the package needs no unsafeFlags; they
// are only called after the run-time check.

#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>
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
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

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

static void build_tables(void) {
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
#elif defined(CCRC32C_ARM) && defined(__APPLE__)
    hardware_available = 1;
#elif defined(CCRC32C_ARM) && defined(__linux__)
    hardware_available = (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
#else
    hardware_available = 0;
#endif
}

static inline void ensure_tables(void) {
    pthread_once(&tables_once, build_tables);
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
HW_TARGET
static uint32_t hardware(uint32_t crc, const unsigned char *next, size_t length) {
    hw_reg reg0 = (uint32_t)~crc;
    HW_ROUNDS(LONG_BLOCK, zeros_long)
    HW_ROUNDS(MID_BLOCK, zeros_mid)
    HW_ROUNDS(SHORT_BLOCK, zeros_short)
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
#endif

// MARK: - Entry points

uint32_t ccrc32c_update_portable(uint32_t crc, const void *bytes, size_t length) {
    ensure_tables();
    return portable(crc, bytes, length);
}

uint32_t ccrc32c_update_hardware(uint32_t crc, const void *bytes, size_t length) {
    ensure_tables();
#if defined(HW_TARGET)
    if (hardware_available) return hardware(crc, bytes, length);
#endif
    return portable(crc, bytes, length);
}

uint32_t ccrc32c_update(uint32_t crc, const void *bytes, size_t length) {
    return ccrc32c_update_hardware(crc, bytes, length);
}

int ccrc32c_hardware_available(void) {
    ensure_tables();
    return hardware_available;
}
