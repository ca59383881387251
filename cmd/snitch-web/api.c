// SPDX-License-Identifier: MIT
/*
 * The JSON API (docs/web.md): the query string checked by params.c, the
 * answer from the query core, one read-only database connection opened
 * when first needed and opened again after an error, so that a database
 * that appears, is replaced or is repaired later is read without a
 * restart.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "json.h"
#include "params.h"
#include "query/query.h"
#include "web.h"

#define DEFAULT_TOP_SERIES 5
#define DEFAULT_TOP_GROUP 25
#define DEFAULT_TOP_DRILL 10
#define DEFAULT_LIMIT 100
#define MAX_BUCKETS 2000	/* points of one series a browser is asked to draw */

struct web_api {
	char *path;
	struct q_db *db;
	dev_t dev;		/* the file db has open: one moved aside and */
	ino_t ino;		/* replaced (snitch-store does) is opened anew */
	uint64_t max_raw_rows;
	uint32_t max_query_ms;
};

struct web_api *web_api_new(const char *db_path, uint64_t max_raw_rows, uint32_t max_query_ms)
{
	struct web_api *a = calloc(1, sizeof(*a));

	if (!a || !(a->path = strdup(db_path))) {
		free(a);
		return NULL;
	}
	a->max_raw_rows = max_raw_rows;
	a->max_query_ms = max_query_ms;
	return a;
}

void web_api_free(struct web_api *a)
{
	if (!a)
		return;
	q_close(a->db);
	free(a->path);
	free(a);
}

void web_reply_error(struct web_reply *r, unsigned status, const char *param,
		     const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->status = status;
	buf_reset(&r->body);
	buf_puts(&r->body, "{\"error\":");
	json_put_cstr(&r->body, msg);
	if (param) {
		buf_puts(&r->body, ",\"parameter\":");
		json_put_cstr(&r->body, param);
	}
	buf_putc(&r->body, '}');
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A query core error as the reply: which status, and what a person reads. */
static void reply_q_error(struct web_api *a, struct web_reply *r, int err, const char *msg)
{
	struct stat st;

	switch (err) {
	case -EINVAL:
		web_reply_error(r, 400, NULL, "%s", msg);
		return;
	case -E2BIG:
		web_reply_error(r, 400, "range",
				"this query would read more than %llu rows of the raw table "
				"(a field the rollups do not keep, or a range they do not cover): "
				"choose a shorter range or another field",
				(unsigned long long)a->max_raw_rows);
		return;
	case -ETIMEDOUT:
		web_reply_error(r, 400, "range",
				"this query ran longer than %u ms (it reads too many rollup rows: a "
				"filter over a long range), so it was stopped: choose a shorter range",
				(unsigned)a->max_query_ms);
		return;
	case -ENOENT:
		if (stat(a->path, &st) == 0)	/* there, but SQLite could not open it */
			web_reply_error(r, 503, NULL, "cannot open the database '%s' (%s): the user "
					"running snitch-web needs read access to it, to its -wal and "
					"-shm files, and to its directory (docs/web.md)", a->path, msg);
		else
			web_reply_error(r, 503, NULL, "the database '%s' does not exist (yet): "
					"snitch-store creates it once snitch runs", a->path);
		break;
	case -EACCES:
		web_reply_error(r, 503, NULL, "cannot open the database '%s': permission denied: "
				"the user running snitch-web needs read access to it, to its -wal "
				"and -shm files, and to its directory (docs/web.md)", a->path);
		break;
	case -EPROTO:
		web_reply_error(r, 503, NULL, "the database '%s' cannot be read: %s", a->path, msg);
		break;
	case -ENOMEM:
		web_reply_error(r, 500, NULL, "out of memory");
		break;
	default:
		web_reply_error(r, 503, NULL, "reading the database '%s' failed: %s", a->path,
				msg && *msg ? msg : strerror(-err));
		break;
	}
	/* whatever it was, the next request opens the file afresh */
	q_close(a->db);
	a->db = NULL;
}

static int ensure_open(struct web_api *a, struct web_reply *r)
{
	char err[512] = "";
	int ret;

	struct stat st;

	if (a->db) {
		if (stat(a->path, &st) == 0 && st.st_dev == a->dev && st.st_ino == a->ino)
			return 0;
		q_close(a->db);
		a->db = NULL;
	}
	if (stat(a->path, &st) == 0) {
		a->dev = st.st_dev;
		a->ino = st.st_ino;
	}
	ret = q_open(&a->db, a->path, 1000, err, sizeof(err));
	if (ret < 0) {
		a->db = NULL;
		reply_q_error(a, r, ret, err);
	}
	return ret;
}

/* The parameters into a spec: range, filters. 0 or -EINVAL with the reply written. */
static int make_spec(struct web_api *a, const struct web_params *p, struct q_spec *s,
		     struct web_reply *r)
{
	int64_t now = now_ns();
	unsigned i;

	q_spec_init(s);
	s->max_raw_rows = a->max_raw_rows;
	s->max_ms = a->max_query_ms;
	if (p->has_from || p->has_until) {
		s->from_ns = p->has_from ? p->from_s * 1000000000LL : 0;
		s->until_ns = p->has_until ? p->until_s * 1000000000LL : now + 1;
	} else if (!p->range_all) {
		uint64_t back = p->has_range ? p->range_s : 3600;

		s->from_ns = now - (int64_t)back * 1000000000LL;
		s->until_ns = now + 1;
	}
	for (i = 0; i < p->nfilters; i++) {
		const struct web_filter *f = &p->filters[i];
		enum q_field qf = q_field_parse(f->field);

		if (qf == QF_NONE) {
			web_reply_error(r, 400, f->exclude ? "x" : "f",
					"no field '%s' (docs/web.md lists them)", f->field);
			return -EINVAL;
		}
		s->filters[s->nfilters].field = qf;
		s->filters[s->nfilters].exclude = f->exclude;
		s->filters[s->nfilters].value = *f->value ? f->value : NULL;
		s->nfilters++;
	}
	return 0;
}

static int field_param(const char *name, const char *value, bool required,
		       enum q_field *out, struct web_reply *r)
{
	if (!value) {
		if (!required) {
			*out = QF_NONE;
			return 0;
		}
		web_reply_error(r, 400, name, "missing: give %s=FIELD", name);
		return -EINVAL;
	}
	*out = q_field_parse(value);
	if (*out == QF_NONE) {
		web_reply_error(r, 400, name, "no field '%s' (docs/web.md lists them)", value);
		return -EINVAL;
	}
	return 0;
}

/* Only the parameters an endpoint uses: another one is a mistake to report. */
static int only(const struct web_params *p, unsigned allowed, struct web_reply *r)
{
	static const char *const names[] = { "group", "field", "value", "top", "limit", "bucket" };
	unsigned given = (p->group ? 1 : 0) | (p->field ? 2 : 0) | (p->value ? 4 : 0) |
			 (p->top ? 8 : 0) | (p->limit ? 16 : 0) | (p->bucket_s ? 32 : 0);
	unsigned extra = given & ~allowed, i;

	for (i = 0; i < 6; i++)
		if (extra & (1u << i)) {
			web_reply_error(r, 400, names[i], "not a parameter of this API");
			return -EINVAL;
		}
	return 0;
}

enum { A_GROUP = 1, A_FIELD = 2, A_VALUE = 4, A_TOP = 8, A_LIMIT = 16, A_BUCKET = 32 };

static void put_range(struct buf *b, const struct q_spec *s)
{
	buf_puts(b, "\"from_ns\":");
	buf_put_i64(b, s->from_ns);
	buf_puts(b, ",\"until_ns\":");
	buf_put_i64(b, s->until_ns);
}

static void put_rows(struct buf *b, const char *key, const struct q_rows *rows)
{
	size_t i;

	buf_printf(b, "\"%s\":[", key);
	for (i = 0; i < rows->n; i++) {
		if (i)
			buf_putc(b, ',');
		q_json_row(b, rows->field, &rows->v[i]);
	}
	buf_putc(b, ']');
}

static void api_meta(struct web_api *a, struct web_reply *r)
{
	struct q_meta m;
	char err[512] = "";
	int ret, f;
	struct buf *b = &r->body;

	if ((ret = q_meta(a->db, &m, err, sizeof(err))) < 0) {
		reply_q_error(a, r, ret, err);
		return;
	}
	buf_puts(b, "{\"version\":");
	json_put_cstr(b, SNITCH_VERSION);
	buf_puts(b, ",\"db\":");
	json_put_cstr(b, a->path);
	buf_printf(b, ",\"schema_version\":%d,\"rollups\":%s,\"first_ns\":", m.schema_version,
		   m.rollups ? "true" : "false");
	buf_put_i64(b, m.first_ns);
	buf_puts(b, ",\"last_ns\":");
	buf_put_i64(b, m.last_ns);
	buf_puts(b, ",\"rows\":");
	buf_put_u64(b, m.rows);
	buf_puts(b, ",\"executables\":");
	buf_put_u64(b, m.executables);
	buf_puts(b, ",\"now_ns\":");
	buf_put_i64(b, now_ns());
	buf_puts(b, ",\"max_raw_rows\":");
	buf_put_u64(b, a->max_raw_rows);
	buf_puts(b, ",\"max_query_ms\":");
	buf_put_u64(b, a->max_query_ms);
	/* those this database has: an older one lacks app and script */
	buf_puts(b, ",\"fields\":[");
	for (f = 0; f < QF_COUNT; f++) {
		if (q_field_version((enum q_field)f) > m.schema_version)
			continue;
		if (b->len && b->p[b->len - 1] != '[')
			buf_putc(b, ',');
		json_put_cstr(b, q_field_name((enum q_field)f));
	}
	buf_puts(b, "]}");
}

static void api_summary(struct web_api *a, const struct q_spec *s, struct web_reply *r)
{
	struct q_totals t;
	char err[512] = "";
	int ret;

	if ((ret = q_totals(a->db, s, &t, err, sizeof(err))) < 0) {
		reply_q_error(a, r, ret, err);
		return;
	}
	buf_putc(&r->body, '{');
	put_range(&r->body, s);
	buf_puts(&r->body, ",\"totals\":");
	q_json_totals(&r->body, &t);
	buf_putc(&r->body, '}');
}

static void api_series(struct web_api *a, struct q_spec *s, const struct web_params *p,
		       struct web_reply *r)
{
	struct q_series se = { 0 };
	char err[512] = "";
	int ret;
	size_t i;

	if (field_param("group", p->group, false, &s->group_by, r) < 0)
		return;
	if (p->range_all) {
		/*
		 * All time is the data's time, so that buckets are picked from
		 * its length: from the first record (less an hour, for the
		 * window that holds it; a window is seconds long).
		 */
		struct q_totals t;

		if ((ret = q_totals(a->db, s, &t, err, sizeof(err))) < 0) {
			reply_q_error(a, r, ret, err);
			return;
		}
		s->from_ns = t.first_ns - 3600 * 1000000000LL;
		s->until_ns = now_ns() + 1;
		if (s->from_ns <= 0 || s->from_ns >= s->until_ns)
			s->from_ns = s->until_ns - 3600 * 1000000000LL;
	}
	s->top = p->top ? p->top : DEFAULT_TOP_SERIES;
	s->bucket_ns = (int64_t)p->bucket_s * 1000000000LL;
	if (s->bucket_ns && s->until_ns > s->from_ns &&
	    (uint64_t)((s->until_ns - s->from_ns) / s->bucket_ns) > MAX_BUCKETS) {
		web_reply_error(r, 400, "bucket", "more than %d buckets in this range: "
				"choose a longer bucket or a shorter range", MAX_BUCKETS);
		return;
	}
	if ((ret = q_series(a->db, s, &se, err, sizeof(err))) < 0) {
		reply_q_error(a, r, ret, err);
		return;
	}
	buf_putc(&r->body, '{');
	put_range(&r->body, s);
	buf_puts(&r->body, ",\"field\":");
	if (se.field == QF_NONE)
		buf_puts(&r->body, "null");
	else
		json_put_cstr(&r->body, q_field_name(se.field));
	buf_puts(&r->body, ",\"bucket_ns\":");
	buf_put_i64(&r->body, se.bucket_ns);
	buf_puts(&r->body, ",\"points\":[");
	for (i = 0; i < se.n; i++) {
		if (i)
			buf_putc(&r->body, ',');
		q_json_point(&r->body, se.field, &se.v[i]);
	}
	buf_puts(&r->body, "]}");
	q_series_free(&se);
}

static void api_group(struct web_api *a, struct q_spec *s, const struct web_params *p,
		      struct web_reply *r)
{
	struct q_rows rows = { 0 };
	char err[512] = "";
	int ret;

	if (field_param("group", p->group, true, &s->group_by, r) < 0)
		return;
	s->top = p->top ? p->top : DEFAULT_TOP_GROUP;
	if ((ret = q_group(a->db, s, &rows, err, sizeof(err))) < 0) {
		reply_q_error(a, r, ret, err);
		return;
	}
	buf_putc(&r->body, '{');
	put_range(&r->body, s);
	buf_puts(&r->body, ",\"field\":");
	json_put_cstr(&r->body, q_field_name(s->group_by));
	buf_putc(&r->body, ',');
	put_rows(&r->body, "rows", &rows);
	buf_putc(&r->body, '}');
	q_rows_free(&rows);
}

static void api_values(struct web_api *a, struct q_spec *s, const struct web_params *p,
		       struct web_reply *r)
{
	struct q_rows rows = { 0 };
	enum q_field f;
	char err[512] = "";
	int ret;

	if (field_param("field", p->field, true, &f, r) < 0)
		return;
	if ((ret = q_distinct(a->db, s, f, p->limit ? p->limit : DEFAULT_LIMIT, &rows,
			      err, sizeof(err))) < 0) {
		reply_q_error(a, r, ret, err);
		return;
	}
	buf_putc(&r->body, '{');
	put_range(&r->body, s);
	buf_puts(&r->body, ",\"field\":");
	json_put_cstr(&r->body, q_field_name(f));
	buf_putc(&r->body, ',');
	put_rows(&r->body, "values", &rows);
	buf_putc(&r->body, '}');
	q_rows_free(&rows);
}

static void api_drill(struct web_api *a, struct q_spec *s, const struct web_params *p,
		      struct web_reply *r)
{
	struct q_drill d = { 0 };
	enum q_field f;
	char err[512] = "";
	int ret;

	if (field_param("field", p->field, true, &f, r) < 0)
		return;
	if (!p->value) {
		web_reply_error(r, 400, "value", "missing: give value=V (empty for none)");
		return;
	}
	s->top = p->top ? p->top : DEFAULT_TOP_DRILL;
	if ((ret = q_drill(a->db, s, f, *p->value ? p->value : NULL, &d, err, sizeof(err))) < 0) {
		reply_q_error(a, r, ret, err);
		return;
	}
	buf_putc(&r->body, '{');
	put_range(&r->body, s);
	buf_puts(&r->body, ",\"drill\":");
	q_json_drill(&r->body, &d);
	buf_putc(&r->body, '}');
	q_drill_free(&d);
}

static void api_executables(struct web_api *a, struct q_spec *s, struct web_reply *r)
{
	struct q_exes e = { 0 };
	char err[512] = "";
	int ret;
	size_t i;

	if ((ret = q_executables(a->db, s, &e, err, sizeof(err))) < 0) {
		reply_q_error(a, r, ret, err);
		return;
	}
	buf_putc(&r->body, '{');
	put_range(&r->body, s);
	buf_puts(&r->body, ",\"executables\":[");
	for (i = 0; i < e.n; i++) {
		if (i)
			buf_putc(&r->body, ',');
		q_json_exe(&r->body, &e.v[i]);
	}
	buf_puts(&r->body, "]}");
	q_exes_free(&e);
}

int web_api_handle(struct web_api *a, const char *name, const char *qs, size_t qslen,
		   struct web_reply *r)
{
	static const struct {
		const char *name;
		unsigned allowed;
	} apis[] = {
		{ "meta", 0 }, { "summary", 0 }, { "series", A_GROUP | A_TOP | A_BUCKET },
		{ "group", A_GROUP | A_TOP }, { "values", A_FIELD | A_LIMIT },
		{ "drill", A_FIELD | A_VALUE | A_TOP }, { "executables", 0 },
	};
	struct web_params p;
	struct q_spec s;
	char bad[64], err[256], qerr[512] = "";
	size_t i;
	int which = -1;

	for (i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
		if (!strcmp(name, apis[i].name))
			which = (int)i;
	if (which < 0)
		return -ENOENT;
	r->status = 200;
	if (web_params_parse(qs, qslen, &p, bad, sizeof(bad), err, sizeof(err)) < 0) {
		web_reply_error(r, 400, bad, "parameter '%s': %s", bad, err);
		goto out;
	}
	if (only(&p, apis[which].allowed, r) < 0 || make_spec(a, &p, &s, r) < 0)
		goto out;
	if (q_spec_check(&s, qerr, sizeof(qerr)) < 0) {
		/* the filters are the only thing the core can fault here */
		web_reply_error(r, 400, p.nfilters ? "f" : NULL, "%s", qerr);
		goto out;
	}
	if (ensure_open(a, r) < 0)
		goto out;
	switch (which) {
	case 0: api_meta(a, r); break;
	case 1: api_summary(a, &s, r); break;
	case 2: api_series(a, &s, &p, r); break;
	case 3: api_group(a, &s, &p, r); break;
	case 4: api_values(a, &s, &p, r); break;
	case 5: api_drill(a, &s, &p, r); break;
	case 6: api_executables(a, &s, r); break;
	}
out:
	web_params_release(&p);
	return 0;
}
