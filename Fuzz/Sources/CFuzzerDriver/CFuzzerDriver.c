// Intentionally empty: the module only declares libFuzzer's LLVMFuzzerRunDriver.
#include "CFuzzerDriver.h"
