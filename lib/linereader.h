/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_LINEREADER_H
#define SNITCH_LINEREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Newline-delimited input from a file descriptor, without stdio: one
 * read(2) fills the buffer, then whole lines are handed out in place.
 * A line longer than the limit is not buffered: it is skipped up to its
 * newline and reported once, with its length.
 */

enum line_status {
	LINE_OK,	/* *line, *len: one line, without its newline */
	LINE_TOO_LONG,	/* a line over the limit was skipped; *len its length */
	LINE_AGAIN,	/* no whole line buffered: call linereader_fill() */
	LINE_EOF,	/* end of input, everything handed out */
};

struct linereader {
	int fd;
	char *buf;
	size_t start, end, cap;
	size_t max;		/* longest line accepted, without newline */
	uint64_t lineno;	/* number of the line last handed out (1-based) */
	uint64_t skipped;	/* bytes of the over-long line seen so far */
	bool skipping;
	bool eof;
};

int linereader_init(struct linereader *lr, int fd, size_t max);
void linereader_release(struct linereader *lr);

/*
 * Read once from the descriptor. Returns the byte count (0 at end of
 * input), or a negative errno (-EAGAIN for a non-blocking descriptor with
 * nothing to read, -EINTR when a signal came first).
 */
ssize_t linereader_fill(struct linereader *lr);

enum line_status linereader_next(struct linereader *lr, const char **line,
				 size_t *len);

/* Bytes buffered that do not yet form a whole line. */
static inline size_t linereader_pending(const struct linereader *lr)
{
	return lr->end - lr->start;
}

#endif
