/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_OUTPUT_H
#define SNITCH_OUTPUT_H

#include <stdint.h>

#include "buf.h"

/*
 * Buffered record output to a file descriptor. Records are appended to
 * 'b'; output_commit() writes when the buffer is large, and
 * output_due_ns() tells the event loop when buffered output becomes too
 * old (design.md: flushed at least every 200 ms while records flow).
 */

#define OUTPUT_FLUSH_BYTES (64 * 1024)
#define OUTPUT_MAX_AGE_NS (200ULL * 1000 * 1000)

struct output {
	int fd;
	struct buf b;
	uint64_t since_ns;	/* monotonic time of the oldest unwritten byte */
	int err;		/* sticky: first write error, negative errno */
};

void output_init(struct output *o, int fd);
void output_release(struct output *o);

/* Write everything buffered. Returns 0 or the sticky negative errno. */
int output_flush(struct output *o);

/* Call after appending records: writes when the buffer is large. */
int output_commit(struct output *o);

/* Flush when the oldest buffered byte is older than OUTPUT_MAX_AGE_NS. */
int output_tick(struct output *o, uint64_t mono_now);

/* Milliseconds until output_tick() has work, or -1 when nothing waits. */
int output_timeout_ms(const struct output *o, uint64_t mono_now);

#endif
