/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_FDIO_H
#define SNITCH_FDIO_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/*
 * Whole reads and writes on a file descriptor, again after a short one or
 * EINTR: the loops every tool needs, written once.
 */

/*
 * Write all n bytes: again after a short write or EINTR, waiting for a
 * non-blocking descriptor that is full. 0, or a negative errno.
 */
int write_all(int fd, const void *p, size_t n);

/* Read up to size bytes, stopping early only at end of file: how many, or a negative errno. */
ssize_t read_full(int fd, void *p, size_t size);

/* Append everything up to end of file to b: 0, a negative errno, or -ENOMEM. */
int read_to_buf(int fd, struct buf *b);

#endif
