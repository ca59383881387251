/* SPDX-License-Identifier: MIT */
#include <errno.h>

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
	if (o->b.oom && !o->err)
		o->err = -ENOMEM;
	if (!o->err && o->b.len)
		o->err = write_all(o->fd, o->b.p, o->b.len);
	o->b.len = 0;
	return o->err;
}
