#include "crc32c.h"
uint32_t ccrc32c_update(uint32_t crc, const void *bytes, size_t length) { (void)bytes; (void)length; return crc; }
