/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

/*
 * Room for n bytes and a quarter more (so that a window a little larger
 * than the last does not move it again), in whole RING_MIN blocks; 0 when
 * that does not fit in a size_t.
 */
static size_t ring_size(size_t n)
{
	size_t want = n + n / 4;

	if (want < n || want > SIZE_MAX - RING_MIN)
		return 0;
	return want <= RING_MIN ? RING_MIN : (want + RING_MIN - 1) / RING_MIN * RING_MIN;
}

/* r's bytes moved to a new block of cap bytes, from its start. */
static int ring_move(struct ring *r, size_t cap)
{
	char *p = malloc(cap);
	size_t first = r->cap - r->start < r->len ? r->cap - r->start : r->len;

	if (!p)
		return -ENOMEM;
	if (r->len) {
		memcpy(p, r->p + r->start, first);
		memcpy(p + first, r->p, r->len - first);
	}
	free(r->p);
	r->p = p;
	r->cap = cap;
	r->start = 0;
	return 0;
}

int ring_append(struct ring *r, const void *src, size_t n)
{
	size_t at, first;

	if (!n)
		return 0;
	if (n > SIZE_MAX - r->len)
		return -ENOMEM;
	if (r->len + n > r->cap) {
		size_t cap = ring_size(r->len + n);

		if (!cap || ring_move(r, cap) < 0)
			return -ENOMEM;
	}
	at = (r->start + r->len) % r->cap;
	first = r->cap - at < n ? r->cap - at : n;
	memcpy(r->p + at, src, first);
	memcpy(r->p, (const char *)src + first, n - first);
	r->len += n;
	if (r->len > r->peak)
		r->peak = r->len;
	return 0;
}

void ring_drop_to(struct ring *r, uint64_t off)
{
	size_t n;

	if (off <= r->base)
		return;
	n = off - r->base < r->len ? (size_t)(off - r->base) : r->len;
	r->base += n;
	r->len -= n;
	r->start = r->len ? (r->start + n) % r->cap : 0;
}

void ring_copy(const struct ring *r, uint64_t off, size_t n, struct buf *b)
{
	size_t at, first;

	if (off < r->base || off - r->base > r->len || n > r->len - (size_t)(off - r->base))
		return;		/* not all held: nothing */
	if (!n)
		return;
	at = (r->start + (size_t)(off - r->base)) % r->cap;
	first = r->cap - at < n ? r->cap - at : n;
	buf_append(b, r->p + at, first);
	buf_append(b, r->p, n - first);
}

uint64_t ring_find(const struct ring *r, uint64_t off, char c)
{
	size_t rel, at, first;
	const char *hit;

	if (off < r->base)
		off = r->base;
	if (off >= ring_end(r))
		return ring_end(r);
	rel = (size_t)(off - r->base);
	at = (r->start + rel) % r->cap;
	first = r->cap - at < r->len - rel ? r->cap - at : r->len - rel;
	if ((hit = memchr(r->p + at, c, first)))
		return off + (uint64_t)(hit - (r->p + at));
	if ((hit = memchr(r->p, c, r->len - rel - first)))
		return off + first + (uint64_t)(hit - r->p);
	return ring_end(r);
}

void ring_trim(struct ring *r)
{
	size_t most = r->peak > r->len ? r->peak : r->len;

	r->peak = r->len;
	if (!r->cap)
		return;
	if (!most) {
		free(r->p);
		r->p = NULL;
		r->cap = r->start = 0;
		return;
	}
	if (most <= r->cap / 2 && ring_size(most) < r->cap)
		(void)ring_move(r, ring_size(most));	/* else it keeps what it has */
}

void ring_free(struct ring *r)
{
	free(r->p);
	r->base += r->len;
	r->p = NULL;
	r->cap = r->start = r->len = r->peak = 0;
}
