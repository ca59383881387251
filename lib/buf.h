/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_BUF_H
#define SNITCH_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * A growable byte buffer with a sticky error: appends after a failed
 * allocation are no-ops and 'oom' stays set, so a caller builds a whole
 * record and checks once (the ferror() pattern) instead of after every call.
 */
struct buf {
	char *p;
	size_t len;
	size_t cap;
	int oom;
};

#define BUF_INIT { NULL, 0, 0, 0 }

void buf_release(struct buf *b);
int buf_reserve(struct buf *b, size_t extra);
/* Give back what lies past max(len, cap): a buffer a burst made large. */
void buf_shrink(struct buf *b, size_t cap);
void buf_append_slow(struct buf *b, const void *data, size_t n);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_put_u64(struct buf *b, uint64_t v);
void buf_put_i64(struct buf *b, int64_t v);

static inline void buf_append(struct buf *b, const void *data, size_t n)
{
	if (b->cap - b->len >= n) {
		if (n)
			memcpy(b->p + b->len, data, n);
		b->len += n;
		return;
	}
	buf_append_slow(b, data, n);
}

static inline void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

static inline void buf_putc(struct buf *b, char c)
{
	if (b->len < b->cap) {
		b->p[b->len++] = c;
		return;
	}
	buf_append_slow(b, &c, 1);
}

static inline void buf_reset(struct buf *b)
{
	b->len = 0;
}

#endif
