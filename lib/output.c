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

int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w >= 0) {
			c += w;
			n -= (size_t)w;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };

			(void)poll(&pf, 1, -1);
			continue;
		}
		return -errno;
	}
	return 0;
}

int output_flush(struct output *o)
{
	if (o->b.oom && !o->err)
		o->err = -ENOMEM;
	if (!o->err && o->b.len)
		o->err = write_all(o->fd, o->b.p, o->b.len);
	o->b.len = 0;
	return o->err;
}
