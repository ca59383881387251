/* SPDX-License-Identifier: MIT */
/*
 * What snitch tui asks of the query core, and what it does with the
 * answers: the spec of the time range and the breadcrumb's filters, the
 * rows of the selected grouping, their order and the search. Every key
 * becomes inert text here (tui_show_value) before the screen sees it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "termsafe.h"
#include "tui.h"

#define NS 1000000000LL
#define MIN (60 * NS)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
/* groups beyond this many are summed as "other" */
#define TOP_ROWS 2000

const struct grouping tui_groupings[] = {
	{ "Process executable", "Process exe", QF_EXE },
	{ "Process name", "Process name", QF_NAME },
	{ "Process command line", "Process cmdline", QF_CMDLINE },
	{ "Process sha256", "Process sha256", QF_SHA256 },
	{ "Parent executable", "Parent exe", QF_PARENT_EXE },
	{ "Parent name", "Parent name", QF_PARENT_NAME },
	{ "Parent command line", "Parent cmdline", QF_PARENT_CMDLINE },
	{ "Parent sha256", "Parent sha256", QF_PARENT_SHA256 },
	{ "Grandparent executable", "Gparent exe", QF_GPARENT_EXE },
	{ "Grandparent name", "Gparent name", QF_GPARENT_NAME },
	{ "Grandparent command line", "Gparent cmdline", QF_GPARENT_CMDLINE },
	{ "Grandparent sha256", "Gparent sha256", QF_GPARENT_SHA256 },
	{ "User", "User", QF_USER },
	{ "Local port", "Local port", QF_LPORT },
	{ "Local address", "Local address", QF_LADDR },
	{ "Remote port", "Remote port", QF_RPORT },
	{ "Remote address", "Remote address", QF_RADDR },
	{ "Domain", "Domain", QF_DOMAIN },
	{ "Country", "Country", QF_COUNTRY },
	{ "Container", "Container", QF_CONTAINER },
	{ "Container name", "Container name", QF_CONTAINER_NAME },
	{ "Container image", "Image", QF_IMAGE },
	{ "Pod namespace", "Pod namespace", QF_POD_NAMESPACE },
	{ "Pod name", "Pod name", QF_POD_NAME },
	{ "App (Flatpak, Snap, AppImage)", "App", QF_APP },
	{ "Script of an interpreter", "Script", QF_SCRIPT },
	{ "Protocol", "Protocol", QF_PROTO },
	{ "Outcome (connected, refused, ...)", "Outcome", QF_OUTCOME },
	{ "Time", "Time", QF_NONE },
};
const size_t tui_ngroupings = sizeof(tui_groupings) / sizeof(tui_groupings[0]);

const struct range tui_ranges[] = {
	{ "1m", MIN }, { "5m", 5 * MIN }, { "15m", 15 * MIN }, { "1h", HOUR },
	{ "6h", 6 * HOUR }, { "1d", DAY }, { "7d", 7 * DAY }, { "30d", 30 * DAY },
	{ "1y", 365 * DAY }, { "all", 0 },
};
const size_t tui_nranges = sizeof(tui_ranges) / sizeof(tui_ranges[0]);

void tui_range_bounds(const struct tui *t, int64_t *from, int64_t *until)
{
	int64_t span = tui_ranges[t->range].ns;

	if (!span) {
		*from = 0;
		*until = INT64_MAX;
	} else {
		*until = t->anchor_ns - (int64_t)t->back * span;
		*from = *until - span;
	}
	for (size_t i = 0; i < t->nfilters; i++) {
		const struct filt *f = &t->filters[i];

		if (tui_groupings[f->grouping].field != QF_NONE)
			continue;
		if (f->from_ns > *from)
			*from = f->from_ns;
		if (f->until_ns < *until)
			*until = f->until_ns;
	}
	if (*until < *from)
		*until = *from;
}

void tui_free_rows(struct tui *t)
{
	for (size_t i = 0; i < t->nrows; i++) {
		free(t->rows[i].key);
		free(t->rows[i].shown);
	}
	free(t->rows);
	free(t->vis);
	t->rows = NULL;
	t->vis = NULL;
	t->nrows = t->nvis = 0;
}

static struct tui *sorting;

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? 1 : a > b ? -1 : 0;	/* descending */
}

static int cmp_rows(const void *pa, const void *pb)
{
	const struct trow *a = &sorting->rows[*(const size_t *)pa];
	const struct trow *b = &sorting->rows[*(const size_t *)pb];
	int c = 0;

	if (a->other != b->other)
		return a->other ? 1 : -1;
	switch (sorting->sort) {
	case TS_TOTAL:
		c = cmp_u64(a->sent + a->received, b->sent + b->received);
		break;
	case TS_SENT:
		c = cmp_u64(a->sent, b->sent);
		break;
	case TS_RECEIVED:
		c = cmp_u64(a->received, b->received);
		break;
	case TS_CONNS:
		c = cmp_u64(a->connections, b->connections);
		break;
	case TS_KEY:
		if (tui_groupings[sorting->grouping].field == QF_NONE)
			c = a->bucket_ns < b->bucket_ns ? -1 : a->bucket_ns > b->bucket_ns;
		else if (q_field_numeric(tui_groupings[sorting->grouping].field) && a->key && b->key)
			c = cmp_u64(strtoull(b->key, NULL, 10), strtoull(a->key, NULL, 10)); /* ascending */
		else
			c = strcmp(a->shown, b->shown);
		break;
	}
	if (!c)
		c = strcmp(a->shown, b->shown);
	return c ? c : (pa < pb ? -1 : pa > pb);
}

/* The rows shown: those whose text holds the search (any case), sorted. */
void tui_resort(struct tui *t)
{
	t->nvis = 0;
	for (size_t i = 0; i < t->nrows; i++)
		if (!t->search[0] || strcasestr(t->rows[i].shown, t->search))
			t->vis[t->nvis++] = i;
	if (t->nvis) {
		sorting = t;
		qsort(t->vis, t->nvis, sizeof(*t->vis), cmp_rows);
		sorting = NULL;
	}
	if (t->sel >= t->nvis)
		t->sel = t->nvis ? t->nvis - 1 : 0;
}

static int add_row(struct tui *t, size_t *cap, enum q_field f, const char *key, bool other,
		   int64_t bucket, uint64_t sent, uint64_t received, uint64_t conns)
{
	struct trow *r;
	char tm[64];

	if (t->nrows == *cap) {
		size_t n = *cap ? *cap * 2 : 64;
		struct trow *v = realloc(t->rows, n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->rows = v;
		*cap = n;
	}
	r = &t->rows[t->nrows];
	memset(r, 0, sizeof(*r));
	r->other = other;
	r->bucket_ns = bucket;
	r->sent = sent;
	r->received = received;
	r->connections = conns;
	if (key && !(r->key = strdup(key)))
		return -ENOMEM;
	if (other) {
		r->shown = strdup("(all the others)");
	} else if (f == QF_NONE) {
		tui_time(bucket, t->bucket_ns, tm, sizeof(tm));
		r->shown = strdup(tm);
	} else {
		r->shown = tui_show_value(f, key);
	}
	if (!r->shown) {
		free(r->key);
		return -ENOMEM;
	}
	t->nrows++;
	t->sent += sent;
	t->received += received;
	t->connections += conns;
	return 0;
}

/*
 * The VirusTotal verdict of a sha256 row before its value (a hash fills
 * an 80-column table: after it, the verdict would be cut), as the web UI
 * shows it: "VT 3/70" (engines that flag it, of all), "VT: not found".
 */
static int add_vt(struct trow *r, const struct q_vt *vt)
{
	char tail[64], *n;
	size_t len, tl;

	if (!vt)
		return 0;
	if (vt->status && !strcmp(vt->status, "known") && vt->flagged >= 0 && vt->engines >= 0)
		snprintf(tail, sizeof(tail), "VT %lld/%lld  ", (long long)vt->flagged, (long long)vt->engines);
	else if (vt->status && !strcmp(vt->status, "not_found"))
		snprintf(tail, sizeof(tail), "VT: not found  ");
	else
		snprintf(tail, sizeof(tail), "VT: error  ");
	len = strlen(r->shown);
	tl = strlen(tail);
	if (!(n = malloc(tl + len + 1)))
		return -ENOMEM;
	memcpy(n, tail, tl);
	memcpy(n + tl, r->shown, len + 1);
	free(r->shown);
	r->shown = n;
	return 0;
}

/* Run the query of the current state; the table's rows. On error, t->msg says what. */
int tui_query(struct tui *t)
{
	enum q_field f = tui_groupings[t->grouping].field;
	struct q_spec s;
	char err[400];
	size_t cap = 0;
	uint64_t start = clock_mono_ns();
	int r = 0;

	tui_free_rows(t);
	t->sent = t->received = t->connections = 0;
	t->bucket_ns = 0;
	q_spec_init(&s);
	tui_range_bounds(t, &s.from_ns, &s.until_ns);
	t->from_ns = s.from_ns;
	t->until_ns = s.until_ns;
	for (size_t i = 0; i < t->nfilters; i++) {
		const struct filt *fl = &t->filters[i];

		if (tui_groupings[fl->grouping].field == QF_NONE)
			continue;
		s.filters[s.nfilters].field = tui_groupings[fl->grouping].field;
		s.filters[s.nfilters].exclude = fl->exclude;
		s.filters[s.nfilters++].value = fl->value;
	}
	s.group_by = f;
	s.max_raw_rows = t->max_raw_rows;
	err[0] = '\0';
	if (f == QF_NONE) {
		struct q_series se = { 0 };

		r = q_series(t->db, &s, &se, err, sizeof(err));
		if (r == 0) {
			t->bucket_ns = se.bucket_ns;
			for (size_t i = 0; i < se.n && r == 0; i++)
				r = add_row(t, &cap, f, NULL, false, se.v[i].bucket_ns, se.v[i].sent,
					    se.v[i].received, se.v[i].connections);
			q_series_free(&se);
		}
	} else {
		struct q_rows rows = { 0 };

		s.top = TOP_ROWS;
		r = q_group(t->db, &s, &rows, err, sizeof(err));
		if (r == 0) {
			for (size_t i = 0; i < rows.n && r == 0; i++)
			{
				r = add_row(t, &cap, f, rows.v[i].key, rows.v[i].other, 0,
					    rows.v[i].sent, rows.v[i].received, rows.v[i].connections);
				if (r == 0)
					r = add_vt(&t->rows[t->nrows - 1], rows.v[i].vt);
			}
			q_rows_free(&rows);
		}
	}
	t->query_ms = (double)(clock_mono_ns() - start) / 1e6;
	if (r == 0 && t->nrows && !(t->vis = malloc(t->nrows * sizeof(*t->vis))))
		r = -ENOMEM;
	if (r < 0) {
		char safe[420];

		termsafe_str(safe, sizeof(safe), err[0] ? err : strerror(-r),
			     strlen(err[0] ? err : strerror(-r)));
		/* -E2BIG: a range too long for the raw rows; err says so */
		snprintf(t->qerr, sizeof(t->qerr), "%s%s", r == -E2BIG ? "" : "cannot read the log: ", safe);
		tui_free_rows(t);
		return r;
	}
	t->qerr[0] = '\0';
	tui_resort(t);
	return 0;
}

/* Filter on (or exclude) the selected row: a new crumb. */
int tui_push_filter(struct tui *t, bool exclude)
{
	const struct trow *r;
	struct filt *f;
	enum q_field field = tui_groupings[t->grouping].field;

	if (!t->nvis) {
		snprintf(t->msg, sizeof(t->msg), "no row to filter on");
		return -ENOENT;
	}
	r = &t->rows[t->vis[t->sel]];
	if (r->other) {
		snprintf(t->msg, sizeof(t->msg),
			 "\"(all the others)\" is not one value: search (/) or narrow the range to see them");
		return -EINVAL;
	}
	if (t->nfilters == Q_MAX_FILTERS) {
		snprintf(t->msg, sizeof(t->msg), "at most %d filters: remove one with Backspace", Q_MAX_FILTERS);
		return -E2BIG;
	}
	if (field == QF_NONE && exclude) {
		snprintf(t->msg, sizeof(t->msg), "a time cannot be excluded: h and H step through history");
		return -EINVAL;
	}
	f = &t->filters[t->nfilters];
	memset(f, 0, sizeof(*f));
	f->grouping = t->grouping;
	f->exclude = exclude;
	if (field == QF_NONE) {
		f->from_ns = r->bucket_ns;
		f->until_ns = r->bucket_ns + t->bucket_ns;
	} else if (r->key && !(f->value = strdup(r->key))) {
		return -ENOMEM;
	}
	t->nfilters++;
	return 0;
}

bool tui_pop_filter(struct tui *t)
{
	if (!t->nfilters)
		return false;
	t->nfilters--;
	free(t->filters[t->nfilters].value);
	t->filters[t->nfilters].value = NULL;
	return true;
}
