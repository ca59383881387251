/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "fdio.h"

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

ssize_t read_full(int fd, void *p, size_t size)
{
	char *c = p;
	size_t off = 0;

	while (off < size) {
		ssize_t n = read(fd, c + off, size - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		/* what came before the error, if anything did */
		return off ? (ssize_t)off : -errno;
	}
	return (ssize_t)off;
}

int read_to_buf(int fd, struct buf *b)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n > 0) {
			buf_append(b, chunk, (size_t)n);
			continue;
		}
		if (n == 0)
			return b->oom ? -ENOMEM : 0;
		if (errno != EINTR)
			return -errno;
	}
}
