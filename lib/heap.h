/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_HEAP_H
#define SNITCH_HEAP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The heap, whichever allocator the build links. A normal build uses
 * glibc's; a sanitizer build (make SANITIZE=1) uses AddressSanitizer's,
 * and glibc's malloc_trim and mallinfo2 then walk a glibc arena that never
 * held a block: CI saw malloc_trim fault on its uninitialised bins.
 */

/* Whether this build runs under AddressSanitizer. */
bool heap_sanitized(void);

/* Give the heap's free pages back to the system (nothing under ASan). */
void heap_trim(void);

struct heap_use {
	size_t held;	/* bytes the allocator holds from the system */
	size_t used;	/* of them, in blocks in use */
	size_t mapped;	/* in blocks mapped on their own (glibc only) */
};

/* What the heap holds now. */
struct heap_use heap_use(void);

#endif
