/* SPDX-License-Identifier: MIT */
#include <malloc.h>

#include "heap.h"

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_ASAN 1
#endif
#endif

#ifdef HEAP_ASAN
/* the sanitizer allocator's own figures (compiler-rt's allocator_interface.h,
 * which gcc does not install) */
size_t __sanitizer_get_heap_size(void);
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

bool heap_sanitized(void)
{
#ifdef HEAP_ASAN
	return true;
#else
	return false;
#endif
}

void heap_trim(void)
{
#ifndef HEAP_ASAN
	(void)malloc_trim(0);
#endif
}

struct heap_use heap_use(void)
{
#ifdef HEAP_ASAN
	return (struct heap_use){ .held = __sanitizer_get_heap_size(),
				  .used = __sanitizer_get_current_allocated_bytes() };
#else
	struct mallinfo2 mi = mallinfo2();

	return (struct heap_use){ .held = mi.arena, .used = mi.uordblks, .mapped = mi.hblkhd };
#endif
}
