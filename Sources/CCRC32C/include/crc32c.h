#ifndef CCRC32C_H
#define CCRC32C_H
#include <stddef.h>
#include <stdint.h>
/// Continues a CRC32C (Castagnoli) over `length` bytes; pass 0 to start (Go's crc32.Update).
uint32_t ccrc32c_update(uint32_t crc, const void *bytes, size_t length);
#endif
