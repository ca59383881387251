/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_RING_H
#define SNITCH_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * A byte ring addressed by stream offset: the input a stage was given,
 * kept until it confirms it (super.c), appended at the end and dropped
 * from the front. The bytes stay where they were written for as long as
 * they are kept, so a steady window (snitch-store confirms every 10 s)
 * goes round the same pages: a buffer that moved its bytes back and gave
 * its memory back at each confirmation made the supervisor's RSS a
 * sawtooth (docs/reliability.md, the soak). Its memory follows the most
 * it kept in the last period (ring_trim()), not each confirmation.
 */
struct ring {
	char *p;
	size_t cap;		/* 0, or whole RING_MIN blocks */
	size_t start;		/* where in p the first byte kept is */
	size_t len;		/* bytes kept */
	uint64_t base;		/* the stream offset of the first byte kept */
	size_t peak;		/* the most kept since the last ring_trim() */
};

#define RING_MIN (64u << 10)	/* its memory is whole blocks of this */

static inline uint64_t ring_end(const struct ring *r)
{
	return r->base + r->len;
}

/* n bytes at the end. Returns 0, or -ENOMEM with what it had kept. */
int ring_append(struct ring *r, const void *p, size_t n);

/* Everything below stream offset off goes (nothing past the end). */
void ring_drop_to(struct ring *r, uint64_t off);

/* The bytes at offsets [off, off + n), which r holds, appended to b. */
void ring_copy(const struct ring *r, uint64_t off, size_t n, struct buf *b);

/* The offset of the first c at or after off, or ring_end(r) for none. */
uint64_t ring_find(const struct ring *r, uint64_t off, char c);

/*
 * Once a period: a ring whose most kept in the period fills no more than
 * half of it goes down to that and a quarter more (at least RING_MIN;
 * empty and nothing kept in the period: no memory at all).
 */
void ring_trim(struct ring *r);

/* Its memory freed; the stream goes on at ring_end(). */
void ring_free(struct ring *r);

#endif
