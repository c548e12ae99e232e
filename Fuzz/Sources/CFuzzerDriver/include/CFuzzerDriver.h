// libFuzzer's driver entry point (compiler-rt, LLVM 11+), so a Swift `main` can start the
// fuzzer: SwiftPM links every executable target with its own `main`, which keeps libFuzzer's
// `main` out of the link.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
