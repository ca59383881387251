/* SPDX-License-Identifier: MIT */
/* The live feed's client, for snitch top and snitch tui: feedclient.h. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "clock.h"
#include "feed.h"
#include "feedclient.h"
#include "geoip.h"
#include "record.h"

void feed_client_close(struct feed_client *c)
{
	if (c->fd >= 0) {
		linereader_release(&c->lr);
		close(c->fd);
	}
	c->fd = -1;
}

int feed_client_connect(struct feed_client *c)
{
	int fd = feed_connect(c->sock);

	if (fd < 0)
		return fd;
	if (linereader_init(&c->lr, fd, RECORD_LINE_MAX) < 0) {
		close(fd);
		return -ENOMEM;
	}
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	c->fd = fd;
	c->first_line = true;
	return 0;
}

enum feed_read feed_client_read(struct feed_client *c, struct top_model *m, uint64_t budget_ns)
{
	uint64_t until = clock_mono_ns() + budget_ns;

	while (c->fd >= 0 && clock_mono_ns() < until) {
		const char *line;
		size_t len;
		enum line_status st = linereader_next(&c->lr, &line, &len);
		ssize_t n;

		if (st == LINE_OK) {
			if (c->first_line && feed_is_denial(line, len, c->denied, sizeof(c->denied))) {
				feed_client_close(c);
				return FEED_READ_DENIED;
			}
			c->first_line = false;
			model_add_line(m, line, len);
			continue;
		}
		if (st == LINE_TOO_LONG)
			continue;
		if (st == LINE_EOF) {
			feed_client_close(c);
			return FEED_READ_ENDED;
		}
		n = linereader_fill(&c->lr);
		if (n == -EAGAIN)
			return FEED_READ_MORE;
		if (n < 0 && n != -EINTR) {
			feed_client_close(c);
			return FEED_READ_ENDED;
		}
	}
	return FEED_READ_MORE;
}

static const char *country_of(void *ctx, const char *addr, char out[3])
{
	return geoip_country(ctx, addr, out);
}

void feed_client_countries(struct top_model *m, struct geoip **geo)
{
	*geo = NULL;
	if (geoip_open(geo, NULL) == 0) {
		m->country_of = country_of;
		m->country_ctx = *geo;
	}
}
