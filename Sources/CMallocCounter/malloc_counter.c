// Allocation counting for the AllocationProbe executable.
//
// Plain glibc builds: this file defines malloc, calloc, realloc, free, posix_memalign,
// aligned_alloc and memalign. Definitions in the executable take precedence over libc's for
// every library in the process (ELF symbol interposition), so the Swift runtime's allocations
// land here too. Each counts the request and forwards to glibc's own allocator
// (__libc_malloc, ...), so every pointer is glibc's and free, malloc_usable_size and the rest
// keep working. The hooks never allocate, lock or call anything but those functions and C11
// atomics.
//
// Sanitizer builds (`make sanitize`): the sanitizer owns malloc, so nothing is interposed; its
// malloc hook (called with every requested size) counts instead.
//
// Other systems: nothing is counted (counter_supported() returns 0).
#include "CMallocCounter.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define COUNTER_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNTER_SANITIZED 1
#endif

static atomic_int counting;
static atomic_uint_least64_t largest;
static atomic_uint_least64_t total;
static atomic_uint_least64_t count;

static inline void counter_record(size_t size) {
    if (!atomic_load_explicit(&counting, memory_order_relaxed)) return;
    atomic_fetch_add_explicit(&total, size, memory_order_relaxed);
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    uint_least64_t seen = atomic_load_explicit(&largest, memory_order_relaxed);
    while (size > seen &&
           !atomic_compare_exchange_weak_explicit(&largest, &seen, size, memory_order_relaxed, memory_order_relaxed)) {
    }
}

void counter_reset(void) {
    atomic_store(&counting, 0);
    atomic_store(&largest, 0);
    atomic_store(&total, 0);
    atomic_store(&count, 0);
    atomic_store(&counting, 1);
}

counter_counts counter_read(void) {
    atomic_store(&counting, 0);
    counter_counts counts = {atomic_load(&largest), atomic_load(&total), atomic_load(&count)};
    return counts;
}

#if defined(COUNTER_SANITIZED)

// sanitizer/allocator_interface.h, declared here so no sanitizer header is needed.
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

static void counter_malloc_hook(const volatile void *pointer, size_t size) {
    (void)pointer;
    counter_record(size);
}

static void counter_free_hook(const volatile void *pointer) { (void)pointer; }

__attribute__((constructor)) static void counter_install_hooks(void) {
    __sanitizer_install_malloc_and_free_hooks(counter_malloc_hook, counter_free_hook);
}

int counter_supported(void) { return 1; }

#elif defined(__linux__) && defined(__GLIBC__)

#include <errno.h>
#include <stdint.h>

// glibc's own allocator entry points (exported since glibc 2.2.5).
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);

void *malloc(size_t size) {
    counter_record(size);
    return __libc_malloc(size);
}

void *calloc(size_t number, size_t size) {
    size_t bytes;
    counter_record(__builtin_mul_overflow(number, size, &bytes) ? SIZE_MAX : bytes);
    return __libc_calloc(number, size);
}

void *realloc(void *pointer, size_t size) {
    counter_record(size);
    return __libc_realloc(pointer, size);
}

void free(void *pointer) { __libc_free(pointer); }

void *memalign(size_t alignment, size_t size) {
    counter_record(size);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    counter_record(size);
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment == 0 || alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    counter_record(size);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}

int counter_supported(void) { return 1; }

#else

int counter_supported(void) { return 0; }

#endif
