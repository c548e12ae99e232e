#ifndef CCRC32C_H
#define CCRC32C_H
#include <stddef.h>
#include <stdint.h>

// The update functions are declared pure: their only effect besides the result is filling
// internal lookup tables on first use, which no caller can observe. Swift then knows a call
// cannot release the array whose bytes it reads, and skips a retain/release pair around it
// (measured: 30 ns per call on the WAL's write path).

/// Continues a CRC32C (Castagnoli) over `length` bytes; pass 0 to start and the previous result
/// to continue (Go's crc32.Update). Uses the CPU's CRC instructions when present.
uint32_t ccrc32c_update(uint32_t crc, const void *bytes, size_t length) __attribute__((pure));

/// The CRC32C of `wordLength` (at most 16) bytes held in two little-endian words (`low` first)
/// followed by `length` bytes, from zero: ccrc32c_update(0, words || bytes). The words are a
/// record header built in registers, so it is not read back from memory just written (a
/// stalled store-to-load forward). Independent of any running CRC, so consecutive records'
/// CRCs can overlap in the CPU; join them with ccrc32c_combine.
uint32_t ccrc32c_words(uint64_t low, uint64_t high, size_t wordLength, const void *bytes, size_t length)
    __attribute__((pure));

/// The CRC of A followed by B from `crc` = CRC(A), `next` = CRC(B) and `length` = |B| (zlib's
/// crc32_combine): one carry-less multiply when the CPU has it and `length` is record-sized.
uint32_t ccrc32c_combine(uint32_t crc, uint32_t next, size_t length) __attribute__((pure));

/// The portable slicing-by-8 path, whatever the CPU offers (for tests and benchmarks).
uint32_t ccrc32c_update_portable(uint32_t crc, const void *bytes, size_t length);

/// The hardware path (SSE4.2 on x86-64, the ARMv8 CRC extension on aarch64). Falls back to the
/// portable path when the CPU has no CRC instructions; see ccrc32c_hardware_available.
uint32_t ccrc32c_update_hardware(uint32_t crc, const void *bytes, size_t length);

/// The CRC instructions alone (three interleaved streams), without the AVX-512 carry-less folds
/// ccrc32c_update uses for long inputs when the CPU has them; portable without CRC instructions.
/// For tests and benchmarks: it is the path of CPUs without AVX-512.
uint32_t ccrc32c_update_crc_instructions(uint32_t crc, const void *bytes, size_t length);

/// 1 when ccrc32c_update folds long inputs with AVX-512 carry-less multiplies on this CPU, else 0.
int ccrc32c_vector_folding_available(void);

/// 1 when this CPU has CRC32C instructions that ccrc32c_update uses, else 0.
int ccrc32c_hardware_available(void);

#endif
