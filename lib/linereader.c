/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "linereader.h"

/* A read size that keeps syscalls rare without bloating small stages. */
#define READ_CHUNK (64 * 1024)

int linereader_init(struct linereader *lr, int fd, size_t max)
{
	memset(lr, 0, sizeof(*lr));
	lr->fd = fd;
	lr->max = max;
	/* room for one whole line plus its newline, plus a chunk to read into */
	lr->cap = max + 1 + READ_CHUNK;
	lr->buf = malloc(lr->cap);
	return lr->buf ? 0 : -ENOMEM;
}

void linereader_release(struct linereader *lr)
{
	if (!lr)
		return;
	free(lr->buf);
	lr->buf = NULL;
}

ssize_t linereader_fill(struct linereader *lr)
{
	size_t room;
	ssize_t n;

	if (lr->eof)
		return 0;
	/* what is left of a line goes to the front, so that reads stay in
	 * the buffer's first pages (a part of one line: cheap to move) */
	if (lr->start > 0) {
		memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
		lr->end -= lr->start;
		lr->start = 0;
	}
	if (lr->end == lr->cap)
		return -ENOBUFS;	/* whole lines are waiting to be taken */
	/*
	 * A chunk at a time, not all the room there is: one read of a
	 * backlog (a megabyte waiting in the pipe) would touch every page of
	 * the buffer, and they would stay resident for good (bench/soak.sh
	 * saw a stage's RSS step up by 1 MB at a backlog and stay). The
	 * buffer's end is reached only by a line that long.
	 */
	room = lr->cap - lr->end;
	if (room > READ_CHUNK)
		room = READ_CHUNK;
	n = read(lr->fd, lr->buf + lr->end, room);
	if (n < 0)
		return -errno;
	if (n == 0)
		lr->eof = true;
	lr->end += (size_t)n;
	return n;
}

enum line_status linereader_next(struct linereader *lr, const char **line,
				 size_t *len)
{
	for (;;) {
		char *p = lr->buf + lr->start;
		size_t avail = lr->end - lr->start;
		char *nl = memchr(p, '\n', avail);

		if (lr->skipping) {
			if (!nl) {
				lr->skipped += avail;
				lr->start = lr->end = 0;
				if (!lr->eof)
					return LINE_AGAIN;
				*len = lr->skipped;	/* cut short by the end of input */
			} else {
				*len = lr->skipped + (size_t)(nl - p);
				lr->start += (size_t)(nl - p) + 1;
			}
			lr->skipping = false;
			lr->skipped = 0;
			lr->lineno++;
			return LINE_TOO_LONG;
		}
		if (nl) {
			*line = p;
			*len = (size_t)(nl - p);
			lr->start += *len + 1;
			lr->lineno++;
			return *len <= lr->max ? LINE_OK : LINE_TOO_LONG;
		}
		if (avail > lr->max) {
			/* Do not buffer it: count it and skip to its newline. */
			lr->skipping = true;
			lr->skipped = avail;
			lr->start = lr->end = 0;
			continue;
		}
		if (!lr->eof)
			return LINE_AGAIN;
		if (avail == 0)
			return LINE_EOF;
		/* A last line without a newline is still a line. */
		*line = p;
		*len = avail;
		lr->start = lr->end;
		lr->lineno++;
		return LINE_OK;
	}
}
