/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "output.h"

void output_init(struct output *o, int fd)
{
	o->fd = fd;
	o->b = (struct buf)BUF_INIT;
	o->err = 0;
}

void output_release(struct output *o)
{
	if (o)
		buf_release(&o->b);
}

int output_flush(struct output *o)
{
	size_t off = 0;

	if (o->b.oom && !o->err)
		o->err = -ENOMEM;
	while (!o->err && off < o->b.len) {
		ssize_t n = write(o->fd, o->b.p + off, o->b.len - off);

		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			struct pollfd p = { .fd = o->fd, .events = POLLOUT };
			(void)poll(&p, 1, -1);
			continue;
		}
		o->err = -errno;
	}
	o->b.len = 0;
	return o->err;
}

