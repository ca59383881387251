/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_OUTPUT_H
#define SNITCH_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fdio.h"

/*
 * Buffered record output to a file descriptor. Stages append records to
 * 'b' and call output_flush() before they wait for more input: output is
 * then never older than the time it takes to process what one read()
 * brought in, well within docs/records.md's 200 ms, and a busy stream still
 * writes in large blocks.
 */

struct output {
	int fd;
	struct buf b;
	int err;		/* sticky: first write error, negative errno */
};

void output_init(struct output *o, int fd);
void output_release(struct output *o);

/* Write everything buffered. Returns 0 or the sticky negative errno. */
int output_flush(struct output *o);


#endif
