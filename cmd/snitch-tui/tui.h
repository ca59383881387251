/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_TUI_H
#define SNITCH_TUI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd/snitch-top/feedclient.h"
#include "cmd/snitch-top/model.h"
#include "query/query.h"
#include "units.h"

/* What the sidebar offers: a field of the query core, or time (buckets). */
struct grouping {
	const char *label, *narrow;	/* narrow: for terminals under 100 columns */
	enum q_field field;		/* QF_NONE: time */
};

extern const struct grouping tui_groupings[];
extern const size_t tui_ngroupings;

/* The time ranges t/T cycle through; 0 ns is all. */
struct range {
	const char *name;
	int64_t ns;
};

extern const struct range tui_ranges[];
extern const size_t tui_nranges;

enum { TS_TOTAL, TS_SENT, TS_RECEIVED, TS_CONNS, TS_KEY, TS_COUNT };
enum { LIVE_OFF, LIVE_NONE, LIVE_CONNECTED, LIVE_DENIED };

/* One filter of the breadcrumb: grouping = value (or !=), or a time span. */
struct filt {
	size_t grouping;
	bool exclude;
	char *value;		/* owned; NULL: SQL NULL */
	int64_t from_ns, until_ns;	/* a time grouping's bucket */
};

/* One row of the table. shown: the key as the screen shows it (inert). */
struct trow {
	char *key;		/* owned; NULL: SQL NULL (or a time bucket) */
	char *shown;
	bool other;
	int64_t bucket_ns;	/* time rows */
	uint64_t sent, received, connections;
};

struct tui {
	struct q_db *db;
	const char *db_path;
	uint64_t max_raw_rows;		/* a query reading more raw rows is refused (0: none) */
	size_t grouping, range;
	unsigned back;			/* h: how many ranges before the anchor */
	int64_t anchor_ns;		/* "now", set at start and by r */
	int64_t from_ns, until_ns;	/* of the last query */
	int64_t bucket_ns;
	int units, sort;
	struct filt filters[Q_MAX_FILTERS];
	size_t nfilters;
	struct trow *rows;
	size_t nrows;
	size_t *vis, nvis;		/* rows shown: searched, sorted */
	uint64_t sent, received, connections;	/* of every row */
	size_t sel, scroll, side_scroll;
	bool focus_side, help, editing, color, utf8;
	bool dirty;			/* a query to run before the next draw */
	bool busy;			/* drawn while that query runs */
	char search[128], edit[128];
	char msg[600];
	bool msg_error;
	char qerr[600];			/* the last query's failure, until one succeeds */
	double query_ms;
	/* the live tab */
	bool live;
	int live_state;
	struct feed_client feed;	/* its sock, fd, and the refusal in denied */
	uint64_t next_try_ns;
	struct top_model model;
	struct geoip *geo;		/* NULL: no country database */
};

/* data.c: the queries, filters, sorting and searching. */
int tui_query(struct tui *t);
void tui_resort(struct tui *t);
void tui_free_rows(struct tui *t);
int tui_push_filter(struct tui *t, bool exclude);
bool tui_pop_filter(struct tui *t);
void tui_range_bounds(const struct tui *t, int64_t *from, int64_t *until);
/* A value as the screen shows it: termsafe, a cmdline's arguments joined. */
char *tui_show_value(enum q_field f, const char *key);
void tui_time(int64_t ns, int64_t span_ns, char *out, size_t size);

/* view.c */
int view_init(struct tui *t);
void view_draw(struct tui *t);
void view_end(void);
int view_table_rows(void);

#endif
