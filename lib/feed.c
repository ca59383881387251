/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "feed.h"
#include "record.h"

void feed_sock_path(char *out, size_t size, const char *run_dir, const char *sock)
{
	if (sock && *sock)
		snprintf(out, size, "%s", sock);
	else
		snprintf(out, size, "%s/events.sock", run_dir);
}

int feed_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

bool feed_is_denial(const char *line, size_t len, char *msg, size_t size)
{
	struct record r;
	struct buf b = BUF_INIT;
	bool denied = false;
	char type[16];

	if (record_peek_type(line, len, type, sizeof(type)) < 0 || strcmp(type, "error"))
		return false;
	record_init(&r);
	if (record_parse(&r, line, len, NULL) == 0 && record_get_str(&r, "code", &b) == 0 &&
	    b.len == strlen(FEED_DENIED_CODE) && !memcmp(b.p, FEED_DENIED_CODE, b.len)) {
		denied = true;
		buf_reset(&b);
		if (record_get_str(&r, "message", &b) == 0 && !b.oom)
			snprintf(msg, size, "%.*s", (int)b.len, b.p);
		else
			snprintf(msg, size, "refused");
	}
	record_release(&r);
	buf_release(&b);
	return denied;
}
