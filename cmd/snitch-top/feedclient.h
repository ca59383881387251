/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_TOP_FEEDCLIENT_H
#define SNITCH_TOP_FEEDCLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "linereader.h"
#include "model.h"

/*
 * A reader of the live feed (lib/feed.h) into a top_model: shared by
 * snitch top and the live tab of snitch tui.
 */
struct feed_client {
	const char *sock;
	int fd;			/* -1: not connected */
	struct linereader lr;
	bool first_line;
	char denied[512];	/* the snitch's refusal, as it sent it */
};

enum feed_read { FEED_READ_MORE, FEED_READ_DENIED, FEED_READ_ENDED };

/*
 * Connect once, non-blocking. 0, or the negative errno: -EACCES/-EPERM
 * refused, -ENOMEM no memory (the callers keep their state and retry).
 */
int feed_client_connect(struct feed_client *c);
void feed_client_close(struct feed_client *c);
/*
 * Add what the feed holds now to m, for at most budget_ns. DENIED: the
 * first line was a refusal (in c->denied); ENDED: the feed closed. Either
 * way the client is closed.
 */
enum feed_read feed_client_read(struct feed_client *c, struct top_model *m, uint64_t budget_ns);

struct geoip;
/*
 * Countries for the remotes no stage gave one (lib/geoip.c): opens the
 * country database into *geo and has m ask it. No database: *geo NULL,
 * no countries.
 */
void feed_client_countries(struct top_model *m, struct geoip **geo);

#endif
