/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_TOP_MODEL_H
#define SNITCH_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "record.h"

/*
 * What snitch top shows, built from the flow records of the live feed:
 * per executable (its path; the name when the path is unknown), the
 * connections, the bytes since top started and in the last second, the
 * listening ports its connections used; and one row per flow, newest
 * first. Every string is stored as lib/termsafe.h makes it: whatever a
 * process calls itself, only inert text reaches the screen.
 */

#define TOP_EVENTS_MAX 512
#define TOP_EXES_MAX 4096
#define TOP_LISTEN_MAX 6

struct top_exe {
	char exe[256];
	char name[64];
	uint64_t conns;			/* flows opened since top started (phase "new") */
	uint64_t send, recv;		/* since top started */
	uint64_t tick_send, tick_recv;	/* in the second under way */
	uint64_t rate_send, rate_recv;	/* in the last whole second */
	uint16_t listen[TOP_LISTEN_MAX];
	int nlisten;
};

struct top_event {
	uint64_t cookie, pid;
	uint64_t first_ns, last_ns;
	char name[48], parent[48], gparent[48];
	char proto[8];
	uint16_t lport;
	char remote[160];		/* the domain, else the address, and the port */
	char country[8];
	char cmdline[512];
	/* what became of it when that is news: refused, timeout, reset, ... ("" for connected, accepted, none) */
	char outcome[16];
	uint64_t send, recv;
	bool ended;
};

enum top_sort { SORT_SEND, SORT_RECV, SORT_TOTAL, SORT_NAME, SORT_COUNT };

struct top_model {
	struct top_exe *exe;
	size_t nexe, cap;
	struct top_event ev[TOP_EVENTS_MAX];	/* a ring, ev_next the next slot */
	size_t ev_next, nev;
	uint64_t records, flows, missed;	/* missed: what the feed could not send us */
	uint64_t send, recv, rate_send, rate_recv, tick_send, tick_recv;
	uint8_t listen_tcp[65536 / 8], listen_udp[65536 / 8];
	/*
	 * The country of a remote address when the record has no "country"
	 * member: two uppercase letters into out and returns out, else NULL
	 * (set by the caller: lib/geoip.c with the country database).
	 */
	const char *(*country_of)(void *ctx, const char *addr, char out[3]);
	void *country_ctx;
	struct record rec;
	struct buf tmp;
};

void model_init(struct top_model *m);
void model_release(struct top_model *m);

/* One record line of the feed (no newline); records other than flow and lost are ignored. */
void model_add_line(struct top_model *m, const char *line, size_t len);

/* A second has passed: the rates become what the second brought. */
void model_tick(struct top_model *m);

/* The listening ports, read by the caller from /proc/net (proto "tcp" or "udp"). */
void model_set_listening(struct top_model *m, const char *proto, uint16_t port, bool on);

/*
 * The executables to show, sorted, matching the filter (a substring of the
 * path or the name; NULL or "" for all): indexes into m->exe in out (room
 * for m->nexe). Returns how many.
 */
size_t model_exes(const struct top_model *m, enum top_sort sort, const char *filter, size_t *out);

/* The flows, newest first, matching the filter (any text of the row): pointers in out. */
size_t model_events(const struct top_model *m, const char *filter, const struct top_event **out,
		    size_t max);

/* A flow's cells as snitch top and snitch tui show them. */
struct top_cells {
	char time[16];		/* the local time of its first record, HH:MM:SS */
	char lport[8];		/* "-" for none */
	char sent[24], recv[24];	/* in the view's units (lib/units.h) */
	/* the remote, " (" country ")" and " [" outcome "]" */
	char remote[sizeof(((struct top_event *)0)->remote) + sizeof(((struct top_event *)0)->country) +
		    sizeof(((struct top_event *)0)->outcome) + 6];
};

void model_cells(const struct top_event *e, int units, struct top_cells *c);

#endif
