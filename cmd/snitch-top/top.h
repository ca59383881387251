/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_TOP_H
#define SNITCH_TOP_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "feedclient.h"
#include "model.h"
#include "units.h"

enum top_state { TOP_NO_SNITCH, TOP_CONNECTED, TOP_DENIED };

struct top {
	struct feed_client feed;	/* its sock, fd, and the refusal in denied */
	bool feed_ended;
	enum top_state state;
	uint64_t connected_ns, started_real_ns;
	struct top_model live, frozen;
	bool paused, help, editing, color, utf8;
	enum top_sort sort;
	int units;
	char filter[128], edit[128];
	pid_t child;			/* --start: the snitch it runs */
	bool child_died;
	uint64_t child_started_ns;
	char start_log[512];
	struct geoip *geo;		/* NULL: no country database */
};

/* The screen (view.c). */
int view_init(struct top *t);
void view_draw(struct top *t);
void view_end(struct top *t);

#endif
