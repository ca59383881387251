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
	ssize_t n;

	if (lr->eof)
		return 0;
	if (lr->start > 0 && (lr->cap - lr->end < READ_CHUNK ||
			      lr->start == lr->end)) {
		memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
		lr->end -= lr->start;
		lr->start = 0;
	}
	if (lr->end == lr->cap)
		return -ENOBUFS;	/* whole lines are waiting to be taken */
	n = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
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
