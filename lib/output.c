/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "clock.h"
#include "output.h"

void output_init(struct output *o, int fd)
{
	o->fd = fd;
	o->b = (struct buf)BUF_INIT;
	o->since_ns = 0;
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
	o->since_ns = 0;
	return o->err;
}

int output_commit(struct output *o)
{
	if (o->b.len == 0)
		return o->err;
	if (!o->since_ns)
		o->since_ns = clock_mono_ns();
	if (o->b.len >= OUTPUT_FLUSH_BYTES || o->b.oom)
		return output_flush(o);
	return o->err;
}

int output_tick(struct output *o, uint64_t mono_now)
{
	if (o->b.len && o->since_ns &&
	    mono_now - o->since_ns >= OUTPUT_MAX_AGE_NS)
		return output_flush(o);
	return o->err;
}

int output_timeout_ms(const struct output *o, uint64_t mono_now)
{
	uint64_t age;

	if (!o->b.len || !o->since_ns)
		return -1;
	age = mono_now - o->since_ns;
	if (age >= OUTPUT_MAX_AGE_NS)
		return 0;
	return (int)((OUTPUT_MAX_AGE_NS - age + 999999) / 1000000);
}
