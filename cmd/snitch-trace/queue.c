/* SPDX-License-Identifier: MIT */
/*
 * snitch-trace's output queue: records wait here, in order, until the
 * reader takes them, so that a slow reader never stops the draining of the
 * kernel's ring buffer. Writes never block on a pipe or a socket; the
 * queue is bounded, and what does not fit is dropped whole and counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "stage.h"
#include "trace.h"

/* Written bytes are moved out of the buffer once they are this many. */
#define COMPACT_MIN (1U << 20)
/*
 * An empty queue gives back a buffer larger than this (after a stall):
 * the soak saw snitch-trace keep 3.3 MB after a backlog when this was 4 MiB.
 */
#define KEEP_MAX STAGE_OUT_KEEP

void outq_init(struct outq *q, struct output *out, uint64_t limit)
{
	memset(q, 0, sizeof(*q));
	q->out = out;
	q->limit = limit;
	q->saved_fl = -1;
}

int outq_nonblock(struct outq *q)
{
	struct stat st;
	int fl;

	/* a terminal or a file is left as it is: its file description may
	 * be the shell's, and a file does not make a writer wait for long */
	if (fstat(q->out->fd, &st) < 0)
		return -errno;
	if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
		return 0;
	fl = fcntl(q->out->fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (fl & O_NONBLOCK)
		return 1;
	if (fcntl(q->out->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	q->saved_fl = fl;
	return 1;
}

void outq_restore(struct outq *q)
{
	if (q->saved_fl >= 0)
		(void)fcntl(q->out->fd, F_SETFL, q->saved_fl);
	q->saved_fl = -1;
}

size_t outq_len(const struct outq *q)
{
	return q->out->b.len - q->head;
}

bool outq_full(const struct outq *q)
{
	return outq_len(q) >= q->limit;
}

uint64_t outq_trim(struct outq *q, size_t at)
{
	struct buf *b = &q->out->b;
	size_t keep = at, end = q->head + q->limit;
	uint64_t n = 0;
	const char *p;

	if (outq_len(q) <= q->limit) {
		if (outq_len(q) > q->peak)
			q->peak = outq_len(q);
		return 0;
	}
	/* the whole records from 'at' that fit, and no part of one more */
	while (keep < b->len && (p = memchr(b->p + keep, '\n', b->len - keep))) {
		size_t next = (size_t)(p - b->p) + 1;

		if (next > end)
			break;
		keep = next;
	}
	for (size_t i = keep; i < b->len && (p = memchr(b->p + i, '\n', b->len - i));
	     i = (size_t)(p - b->p) + 1)
		n++;
	b->len = keep;
	q->dropped += n;
	if (outq_len(q) > q->peak)
		q->peak = outq_len(q);
	return n;
}

int outq_write(struct outq *q)
{
	struct output *o = q->out;
	struct buf *b = &o->b;

	if (b->oom && !o->err)
		o->err = -ENOMEM;
	while (!o->err && q->head < b->len) {
		ssize_t w = write(o->fd, b->p + q->head, b->len - q->head);

		if (w > 0) {
			q->head += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		o->err = w < 0 ? -errno : -EIO;
	}
	if (o->err || q->head == b->len) {
		/* all written, or never will be */
		b->len = 0;
		q->head = 0;
		if (b->cap > KEEP_MAX && !b->oom)
			buf_release(b);
	} else if (q->head >= COMPACT_MIN && q->head >= b->len - q->head) {
		/* at most as many bytes moved as were written: linear overall */
		memmove(b->p, b->p + q->head, b->len - q->head);
		b->len -= q->head;
		q->head = 0;
	}
	return o->err;
}

int outq_flush(struct outq *q, uint64_t deadline_mono)
{
	while (outq_write(q) == 0 && outq_len(q)) {
		uint64_t now = clock_mono_ns();
		struct pollfd p = { .fd = q->out->fd, .events = POLLOUT };
		int ms;

		if (now >= deadline_mono)
			return -ETIMEDOUT;
		ms = (int)((deadline_mono - now + 999999) / 1000000);
		if (poll(&p, 1, ms) < 0 && errno != EINTR)
			return -errno;
	}
	return q->out->err;
}

int outq_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case 'k': case 'K': mul = 1ULL << 10; p++; break;
	case 'm': case 'M': mul = 1ULL << 20; p++; break;
	case 'g': case 'G': mul = 1ULL << 30; p++; break;
	default: break;
	}
	/* 64M, 64MiB and 64MB all mean 64 MiB */
	if (mul > 1 && *p == 'i')
		p++;
	if (mul > 1 && (*p == 'B' || *p == 'b'))
		p++;
	else if (mul == 1 && *p == 'B')
		p++;
	if (*p)
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}
