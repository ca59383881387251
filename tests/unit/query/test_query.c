/* SPDX-License-Identifier: MIT */
/*
 * The query core against a fixture database whose rows this test makes
 * (so it knows their sums): every answer from the rollups must equal the
 * raw table's GROUP BY (raw_only), for every field, filters, exclusions,
 * series, at every rollup level and across unaligned range edges.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "query.h"
#include "rollup.h"
#include "test.h"

#define MIN ROLLUP_MINUTE_NS
#define HOUR ROLLUP_HOUR_NS
#define DAY ROLLUP_DAY_NS
#define WEEK ROLLUP_WEEK_NS
#define D0 (INT64_C(20000) * DAY)	/* 2024-10-04, a Friday: a day boundary, not a week's */
#define NROWS 4000
#define NROWS_ALL (NROWS + NROWS / 8)	/* every 8th a second connection of the same key */
#define NDAYS 24			/* about 20: four weeks, in part */

static uint64_t seed = 42;

static uint32_t rnd(uint32_t n)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(seed >> 33) % n;
}

static void exec(sqlite3 *h, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "fixture: %s: %s\n", sql, msg);
		exit(1);
	}
}

/* Known sums of the fixture, computed as it is made. */
static uint64_t all_sent, all_recv, day2_sent;

/*
 * Column c: unless rnd(n) is 0, the number v (evaluated only then, so the
 * fixture's random draws stay in their order), else NULL.
 */
#define BIND_MOSTLY(st, c, n, v) \
	(rnd(n) ? sqlite3_bind_int64(st, c, v) : sqlite3_bind_null(st, c))

/*
 * A row's identity, from column c (exe_id) on: executables, user,
 * protocol, ports, addresses, domain, namespace and container, some NULL.
 */
static void bind_identity(sqlite3_stmt *st, int c)
{
	static const int64_t rports[] = { 443, 53, 80, -1 };
	static const char *const protos[] = { "tcp", "udp", NULL };

	sqlite3_bind_int64(st, c++, 11 + rnd(6));
	BIND_MOSTLY(st, c++, 5, 11 + rnd(6));
	BIND_MOSTLY(st, c++, 3, 14 + rnd(2));
	BIND_MOSTLY(st, c++, 6, rnd(2) ? 1000 : 0);
	sqlite3_bind_text(st, c++, "inet", -1, SQLITE_STATIC);
	{
		const char *p = protos[rnd(3)];

		if (p)
			sqlite3_bind_text(st, c++, p, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, c++);
	}
	sqlite3_bind_int64(st, c++, 32768 + rnd(28000));
	{
		int64_t rp = rports[rnd(4)];

		if (rp >= 0)
			sqlite3_bind_int64(st, c++, rp);
		else
			sqlite3_bind_null(st, c++);
	}
	sqlite3_bind_int64(st, c++, 37 + rnd(2));
	BIND_MOSTLY(st, c++, 8, 31 + rnd(6));
	BIND_MOSTLY(st, c++, 6, 21 + rnd(5));
	sqlite3_bind_int64(st, c++, rnd(4) ? 4026531840LL : 4026532001LL);
	if (rnd(3))
		sqlite3_bind_null(st, c++);
	else
		sqlite3_bind_int64(st, c++, 41 + rnd(2));
}

/* The rows, in time order, their known sums added up as they are made. */
static void insert_rows(sqlite3 *h)
{
	sqlite3_stmt *st;
	int64_t t = D0;

	if (sqlite3_prepare_v2(h, "INSERT INTO connections VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		exit(1);
	for (int i = 0; i < NROWS; i++) {
		int64_t ws, snd = rnd(100000), rcv = rnd(1000000);
		int c = 1;

		/* time order, with gaps of up to ~3 h: every bucket kind has edges */
		t += (int64_t)rnd(170) * 10 * 1000000000LL / 2;
		if (t >= D0 + NDAYS * DAY)
			t = D0 + NDAYS * DAY - 10000000000LL;
		ws = t - t % 10000000000LL;
		sqlite3_bind_int64(st, c++, ws);
		sqlite3_bind_int64(st, c++, ws + 10000000000LL);
		sqlite3_bind_int64(st, c++, ws + rnd(5) * 1000000000LL);
		sqlite3_bind_int64(st, c++, ws + 5000000000LL + rnd(5) * 1000000000LL);
		sqlite3_bind_int64(st, c++, snd);
		sqlite3_bind_int64(st, c++, rcv);
		sqlite3_bind_int64(st, c++, 1 + rnd(4));
		bind_identity(st, c);
		for (int k = 0; k < (i % 8 ? 1 : 2); k++) {
			/* the second: another local port, one rollup row of both */
			if (k)
				sqlite3_bind_int64(st, 14, 61000 + i);
			if (sqlite3_step(st) != SQLITE_DONE)
				exit(1);
			sqlite3_reset(st);
			all_sent += (uint64_t)snd;
			all_recv += (uint64_t)rcv;
			if (ws >= D0 + 2 * DAY && ws < D0 + 3 * DAY)
				day2_sent += (uint64_t)snd;
		}
	}
	sqlite3_finalize(st);
}

/* The rollups, as snitch-store's version 3 step makes them: no outcome yet. */
static void build_rollups(sqlite3 *h)
{
	char sql[256];

	/* minutes from the middle of the third day on, hours from the second:
	 * every kind of edge; weeks from the second (the first from days, as
	 * after a retention pass) */
	snprintf(sql, sizeof(sql), "INSERT INTO rollup_state VALUES ('minute', %lld), ('hour', %lld),"
		 " ('week', %lld), ('4week', 0)", (long long)(D0 + 2 * DAY + 13 * HOUR + 7 * MIN),
		 (long long)(D0 + DAY + 5 * HOUR), (long long)(D0 + 6 * DAY));
	exec(h, sql);
	exec(h, ROLLUP_V10_BUILD_OF("rollup_minute", "60000000000", ROLLUP_FROM_STATE("minute"), "0")
		ROLLUP_V10_BUILD_OF("rollup_hour", "3600000000000", ROLLUP_FROM_STATE("hour"), "0")
		ROLLUP_V10_BUILD_OF("rollup_day", "86400000000000", "", "0")
		ROLLUP_DIM_BUILD("rollup_dim_hour", "rollup_hour")
		ROLLUP_DIM_BUILD("rollup_dim_day", "rollup_day")
		ROLLUP_DIM_COARSE_BUILD("rollup_dim_week", ROLLUP_WEEK_NS_STR)
		ROLLUP_DIM_COARSE_BUILD("rollup_dim_4week", ROLLUP_4WEEK_NS_STR)
		"DELETE FROM rollup_dim_week WHERE bucket_ns < (SELECT from_ns FROM rollup_state"
		" WHERE level = 'week');");
}

static void make_fixture(const char *path)
{
	static const char *const schema =
		"CREATE TABLE executables (id INTEGER PRIMARY KEY, path TEXT, name TEXT, cmdline TEXT, sha256 TEXT);"
		"CREATE TABLE domains (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
		"CREATE TABLE addresses (id INTEGER PRIMARY KEY, addr TEXT NOT NULL, country TEXT);"
		"CREATE TABLE containers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
		"CREATE TABLE connections ("
		" window_start_ns INTEGER NOT NULL, window_end_ns INTEGER NOT NULL,"
		" first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL,"
		" send_bytes INTEGER NOT NULL, recv_bytes INTEGER NOT NULL, events INTEGER NOT NULL,"
		" exe_id INTEGER, parent_exe_id INTEGER, gparent_exe_id INTEGER,"
		" uid INTEGER, family TEXT, proto TEXT, lport INTEGER, rport INTEGER,"
		" laddr_id INTEGER, raddr_id INTEGER, domain_id INTEGER, netns INTEGER,"
		" container_id INTEGER);"
		"CREATE TABLE events (ts_ns INTEGER NOT NULL, type TEXT NOT NULL, stage TEXT, code TEXT,"
		" count INTEGER, message TEXT, record TEXT NOT NULL);"
		"CREATE TABLE rollup_state (level TEXT PRIMARY KEY, from_ns INTEGER NOT NULL);"
		/* keyed as up to version 10: the query core reads the columns, never the key */
		ROLLUP_V10_TABLE("rollup_minute") ROLLUP_V10_TABLE("rollup_hour") ROLLUP_V10_TABLE("rollup_day")
		ROLLUP_DIM_TABLE("rollup_dim_hour") ROLLUP_DIM_TABLE("rollup_dim_day")
		ROLLUP_DIM_TABLE("rollup_dim_week") ROLLUP_DIM_TABLE("rollup_dim_4week")
		ROLLUP_V10_DAY_INDEXES
		"CREATE INDEX connections_exe ON connections (exe_id, window_start_ns);"
		"INSERT INTO executables VALUES (11, '/usr/bin/curl', 'curl', '[\"curl\",\"-s\"]', 'aa');"
		"INSERT INTO executables VALUES (12, '/usr/bin/curl', 'curl', '[\"curl\",\"-s\"]', 'bb');"
		"INSERT INTO executables VALUES (13, '/usr/bin/wget', 'wget', NULL, NULL);"
		"INSERT INTO executables VALUES (14, '/usr/bin/bash', 'bash', '[\"-bash\"]', 'cc');"
		"INSERT INTO executables VALUES (15, '/usr/sbin/sshd', 'sshd', '[\"sshd\"]', 'dd');"
		"INSERT INTO executables VALUES (16, '/opt/x/app', 'app', '[\"app\",\"caf\u00e9\"]', 'ee');"
		"INSERT INTO domains VALUES (21, 'example.org'), (22, 'example.com'), (23, 'a.example.net'),"
		" (24, 'b.example.net'), (25, 'c.test');"
		"INSERT INTO addresses VALUES (31, '198.51.100.7', 'documentation'), (32, '203.0.113.5', 'documentation'),"
		" (33, '8.8.8.8', 'US'), (34, '1.1.1.1', 'AU'), (35, '2001:db8::1', NULL), (36, '9.9.9.9', 'US'),"
		" (37, '192.168.1.2', 'private'), (38, '10.0.0.2', 'private');"
		"INSERT INTO containers VALUES (41, 'docker:abc'), (42, 'podman:def');";
	sqlite3 *h;

	unlink(path);
	if (sqlite3_open(path, &h) != SQLITE_OK)
		exit(1);
	exec(h, "PRAGMA journal_mode = WAL");
	exec(h, schema);
	exec(h, "BEGIN");
	insert_rows(h);
	build_rollups(h);
	/* 3: what else 8 adds to it is not read here */
	exec(h, "COMMIT; PRAGMA user_version = 3");
	sqlite3_close(h);
}

static int rows_equal(const struct q_rows *a, const struct q_rows *b, const char *what)
{
	if (a->n != b->n) {
		fprintf(stderr, "%s: %zu rows, raw %zu\n", what, a->n, b->n);
		return 0;
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct q_row *x = &a->v[i], *y = &b->v[i];

		if ((x->key == NULL) != (y->key == NULL) || (x->key && strcmp(x->key, y->key)) ||
		    (x->extra == NULL) != (y->extra == NULL) || (x->extra && strcmp(x->extra, y->extra)) ||
		    x->other != y->other || x->sent != y->sent || x->received != y->received ||
		    x->connections != y->connections || x->events != y->events ||
		    x->first_ns != y->first_ns || x->last_ns != y->last_ns) {
			fprintf(stderr, "%s: row %zu differs: %s %llu vs %s %llu\n", what, i,
				x->key ? x->key : "null", (unsigned long long)x->sent,
				y->key ? y->key : "null", (unsigned long long)y->sent);
			return 0;
		}
	}
	return 1;
}

static int series_equal(const struct q_series *a, const struct q_series *b)
{
	if (a->n != b->n || a->bucket_ns != b->bucket_ns)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct q_point *x = &a->v[i], *y = &b->v[i];

		if (x->bucket_ns != y->bucket_ns || x->other != y->other ||
		    (x->key == NULL) != (y->key == NULL) || (x->key && strcmp(x->key, y->key)) ||
		    x->sent != y->sent || x->received != y->received || x->connections != y->connections)
			return 0;
	}
	return 1;
}

static int totals_equal(const struct q_totals *a, const struct q_totals *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* The ranges: all, whole days, unaligned on both ends at each level, within minutes. */
static const int64_t ranges[][2] = {
	{ 0, INT64_MAX },
	{ D0 + DAY, D0 + 3 * DAY },
	{ D0 + DAY + 37 * MIN + 13000000000LL, D0 + 3 * DAY + 5 * HOUR + 7 * MIN + 3000000000LL },
	{ D0 + 2 * HOUR + 30000000000LL, D0 + 2 * HOUR + 50 * MIN },
	{ D0 + 2 * DAY + 14 * HOUR + 3 * MIN + 20000000000LL, D0 + 3 * DAY + 22 * HOUR + 1 * MIN },
	{ D0 + 3 * DAY + 10 * HOUR + 10 * MIN, D0 + 3 * DAY + 10 * HOUR + 40 * MIN + 10000000000LL },
	{ D0 - DAY, D0 + 5 * DAY },
	{ D0 + 3 * HOUR + 20 * MIN, D0 + 2 * DAY + 1 * HOUR + 10 * MIN + 20000000000LL },
	/* weeks: whole, and with every kind of edge on both ends */
	{ D0 + 6 * DAY, D0 + 20 * DAY },
	{ D0 + 2 * HOUR + 7 * MIN + 5000000000LL, D0 + 19 * DAY + 5 * HOUR + 3 * MIN + 7000000000LL },
	{ D0 + 5 * DAY + 23 * HOUR + 59 * MIN, D0 + 13 * DAY + 1 * MIN },
	/* four weeks: one whole (days 19992 to 20020), and cut at both ends */
	{ D0 - 8 * DAY, D0 + 20 * DAY },
	{ D0 - 9 * DAY, D0 + 20 * DAY + 1 * MIN },
};
#define NRANGES (sizeof(ranges) / sizeof(ranges[0]))

/* The fixture's schema version (3): fields of later versions are refused
 * (compare_groups checks it) and left out of the other comparisons; the
 * bats tests (70-query) compare them over a log snitch-store wrote. */
static int fixture_version;

static bool fixture_has(int f)
{
	return q_field_version((enum q_field)f) <= fixture_version;
}

/*
 * false, then true: the pieces of a grouped query or a series summed in C
 * (snitch_sum), then by SQLite's GROUP BY, as when the sums are too many.
 */
static bool sql_sums;

static void spec_init(struct q_spec *s)
{
	q_spec_init(s);
	s->sql_sums = sql_sums;
}

static void compare_groups(struct q_db *db)
{
	char err[256], what[128];
	struct q_meta m;

	CHECK(q_meta(db, &m, err, sizeof(err)) == 0);
	fixture_version = m.schema_version;
	for (size_t r = 0; r < NRANGES; r++) {
		for (int f = 0; f < QF_COUNT; f++) {
			struct q_spec s;
			struct q_rows a, b;

			spec_init(&s);
			s.from_ns = ranges[r][0];
			s.until_ns = ranges[r][1];
			s.group_by = (enum q_field)f;
			s.top = r % 2 ? 3 : 0;
			if (!fixture_has(f)) {
				/* a field this log's version lacks: said, not an SQL error */
				CHECK(q_group(db, &s, &a, err, sizeof(err)) == -EINVAL);
				CHECK(strstr(err, "needs a database of schema version") != NULL);
				continue;
			}
			CHECK(q_group(db, &s, &a, err, sizeof(err)) == 0);
			s.raw_only = true;
			CHECK(q_group(db, &s, &b, err, sizeof(err)) == 0);
			snprintf(what, sizeof(what), "range %zu group by %s", r, q_field_name(f));
			CHECK(rows_equal(&a, &b, what));
			CHECK(b.n > 0 || r == 3);
			q_rows_free(&a);
			q_rows_free(&b);
		}
	}
}

static void compare_filters(struct q_db *db)
{
	char err[256], what[160];

	/* for each field: = its top value, != it, = NULL, != NULL, grouped by domain and exe */
	for (int f = 0; f < QF_COUNT; f++) {
		struct q_spec s;
		struct q_rows vals;

		if (!fixture_has(f))
			continue;
		spec_init(&s);
		s.group_by = (enum q_field)f;
		CHECK(q_group(db, &s, &vals, err, sizeof(err)) == 0);
		CHECK(vals.n > 0);
		for (int k = 0; k < 4 && vals.n; k++) {
			for (size_t r = 1; r < 5; r++) {
				struct q_rows a, b;
				struct q_totals ta, tb;

				spec_init(&s);
				s.from_ns = ranges[r][0];
				s.until_ns = ranges[r][1];
				s.group_by = f == QF_DOMAIN ? QF_EXE : QF_DOMAIN;
				s.filters[0] = (struct q_filter){ (enum q_field)f, k & 1, k < 2 ? vals.v[0].key : NULL };
				/* and a second filter on the proto */
				s.filters[1] = (struct q_filter){ QF_PROTO, true, "udp" };
				s.nfilters = 2;
				CHECK(q_group(db, &s, &a, err, sizeof(err)) == 0);
				CHECK(q_totals(db, &s, &ta, err, sizeof(err)) == 0 || (fprintf(stderr, "%s\n", err), 0));
				s.raw_only = true;
				CHECK(q_group(db, &s, &b, err, sizeof(err)) == 0);
				CHECK(q_totals(db, &s, &tb, err, sizeof(err)) == 0);
				snprintf(what, sizeof(what), "range %zu %s %s %s", r, q_field_name(f),
					 k & 1 ? "!=" : "=", k < 2 && vals.v[0].key ? vals.v[0].key : "null");
				CHECK(rows_equal(&a, &b, what));
				CHECK(totals_equal(&ta, &tb));
				q_rows_free(&a);
				q_rows_free(&b);
			}
		}
		q_rows_free(&vals);
	}
}

/*
 * A filter and a key of one column (the rows of one executable grouped by
 * its names; the totals and series of one domain): the dimension rollups
 * answer, and equal the raw table.
 */
static void compare_same_dim(struct q_db *db)
{
	char err[256], what[160];

	for (int f = 0; f < QF_COUNT; f++) {
		struct q_spec s;
		struct q_rows vals;

		if (!fixture_has(f))
			continue;
		spec_init(&s);
		s.group_by = (enum q_field)f;
		CHECK(q_group(db, &s, &vals, err, sizeof(err)) == 0);
		for (int k = 0; k < 3 && vals.n; k++) {
			for (size_t r = 0; r < NRANGES; r++) {
				struct q_rows a, b;
				struct q_totals ta, tb;
				struct q_series sa, sb;

				spec_init(&s);
				s.from_ns = ranges[r][0];
				s.until_ns = ranges[r][1];
				/* = the top value; != it; = it and != the second */
				s.filters[0] = (struct q_filter){ (enum q_field)f, k == 1, vals.v[0].key };
				s.nfilters = 1;
				if (k == 2 && vals.n > 1) {
					s.filters[1] = (struct q_filter){ (enum q_field)f, true, vals.v[1].key };
					s.nfilters = 2;
				}
				/* a field of the same column: the executable's name */
				s.group_by = f == QF_EXE ? QF_NAME : (enum q_field)f;
				CHECK(q_group(db, &s, &a, err, sizeof(err)) == 0);
				CHECK(q_totals(db, &s, &ta, err, sizeof(err)) == 0);
				s.bucket_ns = DAY;
				s.top = 2;
				CHECK(q_series(db, &s, &sa, err, sizeof(err)) == 0);
				s.raw_only = true;
				CHECK(q_series(db, &s, &sb, err, sizeof(err)) == 0);
				s.bucket_ns = 0;
				s.top = 0;
				CHECK(q_group(db, &s, &b, err, sizeof(err)) == 0);
				CHECK(q_totals(db, &s, &tb, err, sizeof(err)) == 0);
				snprintf(what, sizeof(what), "range %zu %s %s %s", r, q_field_name(f),
					 k == 1 ? "!=" : "=", vals.v[0].key ? vals.v[0].key : "null");
				CHECK(rows_equal(&a, &b, what));
				CHECK(totals_equal(&ta, &tb) || (fprintf(stderr, "%s: totals\n", what), 0));
				CHECK(series_equal(&sa, &sb) || (fprintf(stderr, "%s: series\n", what), 0));
				q_rows_free(&a);
				q_rows_free(&b);
				q_series_free(&sa);
				q_series_free(&sb);
			}
		}
		q_rows_free(&vals);
	}
}

/* A drill-down from the rollups (read once, temp.q_drill) equals the raw one, list by list. */
static void compare_drills(struct q_db *db)
{
	static const struct { enum q_field f; const char *v; } drills[] = {
		{ QF_EXE, "/usr/bin/curl" }, { QF_DOMAIN, "example.org" }, { QF_USER, NULL },
		{ QF_RPORT, "443" }, { QF_SHA256, "aa" }, { QF_LPORT, "40000" },
	};
	char err[256], what[160];

	for (size_t r = 0; r < NRANGES; r++) {
		for (size_t k = 0; k < sizeof(drills) / sizeof(drills[0]); k++) {
			struct q_spec s;
			struct q_drill a, b;

			q_spec_init(&s);
			s.from_ns = ranges[r][0];
			s.until_ns = ranges[r][1];
			s.top = k % 2 ? 2 : 0;
			/* and a filter of the view it drills down from */
			if (k % 3 == 1) {
				s.filters[0] = (struct q_filter){ QF_PROTO, true, "udp" };
				s.nfilters = 1;
			}
			CHECK(q_drill(db, &s, drills[k].f, drills[k].v, &a, err, sizeof(err)) == 0 ||
			      (fprintf(stderr, "%s\n", err), 0));
			s.raw_only = true;
			CHECK(q_drill(db, &s, drills[k].f, drills[k].v, &b, err, sizeof(err)) == 0);
			snprintf(what, sizeof(what), "range %zu drill %s=%s", r, q_field_name(drills[k].f),
				 drills[k].v ? drills[k].v : "null");
			CHECK(totals_equal(&a.totals, &b.totals) || (fprintf(stderr, "%s: totals\n", what), 0));
			CHECK(rows_equal(&a.domains, &b.domains, what));
			CHECK(rows_equal(&a.addresses, &b.addresses, what));
			CHECK(rows_equal(&a.ports, &b.ports, what));
			CHECK(rows_equal(&a.parents, &b.parents, what));
			CHECK(rows_equal(&a.users, &b.users, what));
			CHECK(rows_equal(&a.sha256, &b.sha256, what));
			CHECK(r != 1 || k == 5 || a.totals.connections > 0);
			q_drill_free(&a);
			q_drill_free(&b);
		}
	}
}

/* The series of range r by field f (QF_NONE: none), its top two and "other", equals the raw one. */
static void series_vs_raw(struct q_db *db, size_t r, enum q_field f, int64_t bucket_ns)
{
	struct q_spec s;
	struct q_series a, b;
	char err[256];

	spec_init(&s);
	s.from_ns = ranges[r][0];
	s.until_ns = ranges[r][1];
	s.group_by = f;
	s.top = 2;
	s.bucket_ns = bucket_ns;
	CHECK(q_series(db, &s, &a, err, sizeof(err)) == 0);
	s.raw_only = true;
	CHECK(q_series(db, &s, &b, err, sizeof(err)) == 0);
	CHECK(series_equal(&a, &b) ||
	      (fprintf(stderr, "range %zu series of %s by %lld ns\n", r,
		       f == QF_NONE ? "all" : q_field_name(f), (long long)bucket_ns), 0));
	q_series_free(&a);
	q_series_free(&b);
}

static void compare_series(struct q_db *db)
{
	static const int64_t buckets[] = { MIN, 5 * MIN, HOUR, 6 * HOUR, DAY, 7 * 1000000000LL };

	for (size_t r = 0; r < NRANGES; r++) {
		for (size_t k = 0; k < sizeof(buckets) / sizeof(buckets[0]); k++)
			series_vs_raw(db, r, k % 2 ? QF_EXE : QF_NONE, buckets[k]);
		/* the top two groups of each field and the rest as "other", per hour */
		for (int f = 0; f < QF_COUNT; f++)
			if (fixture_has(f))
				series_vs_raw(db, r, (enum q_field)f, HOUR);
	}
}

static void known_sums(struct q_db *db)
{
	struct q_spec s;
	struct q_totals t;
	struct q_rows rows;
	struct buf b = BUF_INIT;
	char err[256];
	uint64_t sent = 0;

	q_spec_init(&s);
	CHECK(q_totals(db, &s, &t, err, sizeof(err)) == 0);
	CHECK_EQ_INT(t.sent, all_sent);
	CHECK_EQ_INT(t.received, all_recv);
	CHECK_EQ_INT(t.connections, NROWS_ALL);
	CHECK_EQ_INT(t.executables, 5);		/* paths; curl has two hashes */
	CHECK_EQ_INT(t.new_executables, 5);
	/* the third day's sum; nothing new that day */
	s.from_ns = D0 + 2 * DAY;
	s.until_ns = D0 + 3 * DAY;
	CHECK(q_totals(db, &s, &t, err, sizeof(err)) == 0);
	CHECK_EQ_INT(t.sent, day2_sent);
	CHECK_EQ_INT(t.new_executables, 0);
	/* top 2 and "other" add up to the whole */
	s.group_by = QF_RADDR;
	s.top = 2;
	CHECK(q_group(db, &s, &rows, err, sizeof(err)) == 0);
	CHECK_EQ_INT(rows.n, 3);
	CHECK(rows.n == 3 && rows.v[2].other && !rows.v[2].key && rows.v[0].extra);
	for (size_t i = 0; i < rows.n; i++)
		sent += rows.v[i].sent;
	CHECK_EQ_INT(sent, day2_sent);
	q_json_row(&b, rows.field, &rows.v[2]);
	CHECK(b.len > 0 && strstr(b.p, "\"raddr\":null,\"other\":true,"));
	q_rows_free(&rows);
	/* a series of the day by hour: aligned buckets that add up to the day */
	{
		struct q_series se;

		s.bucket_ns = HOUR;
		CHECK(q_series(db, &s, &se, err, sizeof(err)) == 0);
		sent = 0;
		for (size_t i = 0; i < se.n; i++) {
			sent += se.v[i].sent;
			CHECK(se.v[i].bucket_ns % HOUR == 0 && se.v[i].bucket_ns >= D0 + 2 * DAY &&
			      se.v[i].bucket_ns < D0 + 3 * DAY);
		}
		CHECK(se.n > 24);	/* several groups an hour */
		CHECK_EQ_INT(sent, day2_sent);
		q_series_free(&se);
	}
	buf_release(&b);
}

/* The executables list and a drill-down, of the whole fixture. */
static void known_lists(struct q_db *db)
{
	struct q_spec s;
	struct q_exes ex;
	struct q_drill d;
	struct buf b = BUF_INIT;
	char err[256];
	uint64_t sent = 0;

	/* executables: curl with its two hashes */
	q_spec_init(&s);
	CHECK(q_executables(db, &s, &ex, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ex.n, 5);
	for (size_t i = 0; i < ex.n; i++)
		if (!strcmp(ex.v[i].path, "/usr/bin/curl"))
			CHECK_EQ_INT(ex.v[i].nhashes, 2);
	q_exes_free(&ex);
	/* a drill-down's lists each sum to its totals */
	CHECK(q_drill(db, &s, QF_EXE, "/usr/bin/wget", &d, err, sizeof(err)) == 0);
	sent = 0;
	for (size_t i = 0; i < d.domains.n; i++)
		sent += d.domains.v[i].sent;
	CHECK(d.totals.sent > 0);
	CHECK_EQ_INT(sent, d.totals.sent);
	CHECK_EQ_INT(d.sha256.n, 1);	/* wget has none: one NULL */
	CHECK(d.sha256.n == 1 && d.sha256.v[0].key == NULL);
	b.len = 0;
	q_json_drill(&b, &d);
	CHECK(b.len > 0 && !b.oom);
	q_drill_free(&d);
	buf_release(&b);
}

/*
 * A range of whole days comes from rollup_day: without the raw rows of the
 * third day (deleted by hand: the fixture's last use), the answer is
 * unchanged.
 */
static void days_without_rows(struct q_db *db, const char *path)
{
	struct q_spec s;
	struct q_totals t;
	char err[256];
	uint64_t sent;
	sqlite3 *h;

	CHECK(sqlite3_open(path, &h) == SQLITE_OK);
	{
		char sql[160];

		snprintf(sql, sizeof(sql), "DELETE FROM connections WHERE window_start_ns >= %lld AND window_start_ns < %lld",
			 (long long)(D0 + 2 * DAY), (long long)(D0 + 3 * DAY));
		exec(h, sql);
	}
	sqlite3_close(h);
	q_spec_init(&s);
	s.from_ns = D0 + DAY;
	s.until_ns = D0 + 3 * DAY;
	CHECK(q_totals(db, &s, &t, err, sizeof(err)) == 0);
	sent = t.sent;
	s.from_ns = D0 + 2 * DAY;
	CHECK(q_totals(db, &s, &t, err, sizeof(err)) == 0);
	CHECK_EQ_INT(t.sent, day2_sent);
	s.raw_only = true;
	CHECK(q_totals(db, &s, &t, err, sizeof(err)) == 0);
	CHECK_EQ_INT(t.sent, 0);
	CHECK(sent > day2_sent);
}

/*
 * The weeks: a group-by over whole weeks comes from rollup_dim_week, and
 * the first week, before rollup_state's 'week', from the days. (After
 * known_sums: it counts on the raw rows of the third day being gone.)
 */
static void weeks(struct q_db *db, const char *path)
{
	struct q_spec s;
	struct q_rows rows;
	char err[256];
	uint64_t sent = 0;
	sqlite3 *h;

	/* without the days' rows of the second week, the answer is unchanged */
	q_spec_init(&s);
	s.from_ns = D0 + 6 * DAY;
	s.until_ns = D0 + 13 * DAY;
	s.group_by = QF_DOMAIN;
	CHECK(q_group(db, &s, &rows, err, sizeof(err)) == 0);
	sent = 0;
	for (size_t i = 0; i < rows.n; i++)
		sent += rows.v[i].sent;
	q_rows_free(&rows);
	CHECK(sent > 0);
	CHECK(sqlite3_open(path, &h) == SQLITE_OK);
	{
		char sql[256];

		snprintf(sql, sizeof(sql), "DELETE FROM rollup_dim_day WHERE bucket_ns >= %lld AND bucket_ns < %lld;"
			 "DELETE FROM connections WHERE window_start_ns >= %lld AND window_start_ns < %lld",
			 (long long)s.from_ns, (long long)s.until_ns, (long long)s.from_ns, (long long)s.until_ns);
		exec(h, sql);
	}
	sqlite3_close(h);
	CHECK(q_group(db, &s, &rows, err, sizeof(err)) == 0);
	for (size_t i = 0; i < rows.n; i++)
		sent -= rows.v[i].sent;
	CHECK_EQ_INT(sent, 0);
	q_rows_free(&rows);
	/* the first week, before rollup_state's 'week', comes from the days */
	s.from_ns = D0 - DAY;
	s.until_ns = D0 + 6 * DAY;
	s.group_by = QF_EXE;
	CHECK(q_group(db, &s, &rows, err, sizeof(err)) == 0);
	{
		struct q_rows raw;

		s.raw_only = true;
		CHECK(q_group(db, &s, &raw, err, sizeof(err)) == 0);
		/* the raw rows of the third day are gone, its days' rollups not */
		sent = 0;
		for (size_t i = 0; i < rows.n; i++)
			sent += rows.v[i].sent;
		for (size_t i = 0; i < raw.n; i++)
			sent -= raw.v[i].sent;
		CHECK_EQ_INT(sent, day2_sent);
		q_rows_free(&raw);
	}
	q_rows_free(&rows);
}

static void errors(struct q_db *db)
{
	struct q_spec s;
	struct q_rows rows;
	char err[256], e1[] = "nosuch=1", e2[] = "user=abc", e3[] = "rport", e4[] = "domain=";
	int64_t ns;

	q_spec_init(&s);
	CHECK(q_spec_add_filter(&s, e1, false, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "nosuch") != NULL);
	CHECK(q_spec_add_filter(&s, e2, false, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "abc") != NULL && strstr(err, "user") != NULL);
	q_spec_init(&s);
	CHECK(q_spec_add_filter(&s, e3, false, err, sizeof(err)) == -EINVAL);
	CHECK(q_spec_add_filter(&s, e4, true, err, sizeof(err)) == 0);
	CHECK(s.nfilters == 1 && s.filters[0].value == NULL && s.filters[0].exclude);
	s.from_ns = 10;
	s.until_ns = 10;
	s.group_by = QF_EXE;
	CHECK(q_group(db, &s, &rows, err, sizeof(err)) == -EINVAL);
	/* lport is not in the rollups: a year of it is refused past the limit */
	q_spec_init(&s);
	s.group_by = QF_LPORT;
	s.max_raw_rows = 100;
	CHECK(q_group(db, &s, &rows, err, sizeof(err)) == -E2BIG);
	CHECK(strstr(err, "lport") != NULL);
	s.group_by = QF_EXE;
	CHECK(q_group(db, &s, &rows, err, sizeof(err)) == 0);
	q_rows_free(&rows);

	CHECK(q_field_parse("gparent_sha256") == QF_GPARENT_SHA256);
	CHECK(q_field_parse("exe_id") == QF_NONE);
	CHECK(q_parse_duration("15m", &ns) == 0 && ns == 15 * MIN);
	CHECK(q_parse_duration("1y", &ns) == 0 && ns == 365 * DAY);
	CHECK(q_parse_duration("1x", &ns) == -EINVAL);
	CHECK(q_parse_duration("m", &ns) == -EINVAL);
	CHECK(q_parse_duration("0h", &ns) == -EINVAL);
	CHECK(q_parse_since("all", 5, &ns) == 0 && ns == 0);
	CHECK(q_parse_since("1h", 2 * HOUR, &ns) == 0 && ns == HOUR);
	CHECK(q_parse_time("1700000000", &ns) == 0 && ns == 1700000000LL * 1000000000LL);
	CHECK(q_parse_time("1700000000.5", &ns) == 0 && ns == 1700000000500000000LL);
	CHECK(q_parse_time("2023-11-14T22:13:20Z", &ns) == 0 && ns == 1700000000LL * 1000000000LL);
	CHECK(q_parse_time("2023-11-15T00:13:20+02:00", &ns) == 0 && ns == 1700000000LL * 1000000000LL);
	CHECK(q_parse_time("2023-11-14", &ns) == 0 && ns == 1699920000LL * 1000000000LL);
	CHECK(q_parse_time("2023-02-30", &ns) == -EINVAL);
	CHECK(q_parse_time("9999-01-01", &ns) == -EINVAL);	/* past int64 ns */
	CHECK(q_parse_time("99999999999", &ns) == -EINVAL);
	CHECK(q_parse_time("yesterday", &ns) == -EINVAL);
	CHECK(q_parse_time("12ab", &ns) == -EINVAL);
}

/* The text of b, NUL-terminated ("" when empty). */
static const char *bstr(struct buf *b)
{
	buf_putc(b, '\0');
	b->len--;
	return b->oom ? "" : b->p;
}

static const struct q_hash *exe_hash(const struct q_exes *ex, const char *path, const char *sha)
{
	for (size_t i = 0; i < ex->n; i++)
		for (size_t j = 0; strcmp(ex->v[i].path, path) == 0 && j < ex->v[i].nhashes; j++)
			if (ex->v[i].hashes[j].sha256 && !strcmp(ex->v[i].hashes[j].sha256, sha))
				return &ex->v[i].hashes[j];
	return NULL;
}

static const struct q_row *row_of(const struct q_rows *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].key && !strcmp(r->v[i].key, key))
			return &r->v[i];
	return NULL;
}

/*
 * VirusTotal verdicts (version 5): none at version 3; then the fixture
 * made version 5 with a verdict of curl's "aa" (3 of 70 flagged) and
 * "bb" not found: each sha256 of the executables, of a sha256 grouping
 * and of a drill-down carries its verdict, or none.
 */
static void verdicts(const char *path)
{
	struct q_db *db;
	struct q_spec s;
	struct q_rows rows;
	struct q_exes ex;
	struct q_drill d;
	struct buf b = BUF_INIT;
	const struct q_hash *hh;
	const struct q_row *r;
	char err[256];
	sqlite3 *h;

	q_spec_init(&s);
	s.group_by = QF_SHA256;
	CHECK(q_open(&db, path, 0, err, sizeof(err)) == 0);
	CHECK(q_group(db, &s, &rows, err, sizeof(err)) == 0);
	CHECK((r = row_of(&rows, "aa")) && !r->vt_known && !r->vt);
	q_json_row(&b, QF_SHA256, r);
	CHECK(bstr(&b) && !strstr(bstr(&b), "\"vt\""));
	q_rows_free(&rows);
	q_close(db);

	CHECK(sqlite3_open(path, &h) == SQLITE_OK);
	exec(h, "CREATE TABLE verdicts (sha256 TEXT PRIMARY KEY, status TEXT NOT NULL, malicious INTEGER,"
		" suspicious INTEGER, undetected INTEGER, harmless INTEGER, engines INTEGER,"
		" analysis_ns INTEGER, link TEXT, reason TEXT, checked_ns INTEGER NOT NULL);"
		"INSERT INTO verdicts VALUES ('aa', 'known', 2, 1, 60, 7, 70, NULL, 'https://vt.example/aa', NULL, 1);"
		"INSERT INTO verdicts VALUES ('bb', 'not_found', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'x', 1);"
		"PRAGMA user_version = 5");
	sqlite3_close(h);

	CHECK(q_open(&db, path, 0, err, sizeof(err)) == 0);
	CHECK(q_executables(db, &s, &ex, err, sizeof(err)) == 0);
	CHECK((hh = exe_hash(&ex, "/usr/bin/curl", "aa")) && hh->vt_known && hh->vt);
	if (hh && hh->vt) {
		CHECK(!strcmp(hh->vt->status, "known") && hh->vt->flagged == 3 && hh->vt->engines == 70);
		CHECK(hh->vt->link && !strcmp(hh->vt->link, "https://vt.example/aa"));
	}
	CHECK((hh = exe_hash(&ex, "/usr/bin/curl", "bb")) && hh->vt && !strcmp(hh->vt->status, "not_found") &&
	      hh->vt->engines == -1 && !hh->vt->link);
	CHECK((hh = exe_hash(&ex, "/usr/bin/bash", "cc")) && hh->vt_known && !hh->vt);
	buf_reset(&b);
	for (size_t i = 0; i < ex.n; i++)
		if (!strcmp(ex.v[i].path, "/usr/bin/curl"))
			q_json_exe(&b, &ex.v[i]);
	CHECK(bstr(&b) && strstr(bstr(&b), "\"vt\":{\"status\":\"known\",\"flagged\":3,\"engines\":70,"
				 "\"link\":\"https://vt.example/aa\"}"));
	CHECK(strstr(bstr(&b), "\"vt\":{\"status\":\"not_found\",\"flagged\":null,\"engines\":null,\"link\":null}"));
	q_exes_free(&ex);

	CHECK(q_group(db, &s, &rows, err, sizeof(err)) == 0);
	CHECK((r = row_of(&rows, "aa")) && r->vt && r->vt->flagged == 3);
	CHECK((r = row_of(&rows, "dd")) && r->vt_known && !r->vt);
	buf_reset(&b);
	q_json_row(&b, QF_SHA256, r);
	CHECK(strstr(bstr(&b), "\"vt\":null"));
	q_rows_free(&rows);
	/* a field that is not a sha256 has none */
	s.group_by = QF_EXE;
	CHECK(q_group(db, &s, &rows, err, sizeof(err)) == 0);
	CHECK((r = row_of(&rows, "/usr/bin/curl")) && !r->vt_known && !r->vt);
	q_rows_free(&rows);

	CHECK(q_drill(db, &s, QF_EXE, "/usr/bin/curl", &d, err, sizeof(err)) == 0);
	CHECK(d.sha256.n == 2);
	CHECK((r = row_of(&d.sha256, "aa")) && r->vt && r->vt->engines == 70);
	CHECK((r = row_of(&d.sha256, "bb")) && r->vt && !strcmp(r->vt->status, "not_found"));
	q_drill_free(&d);
	q_close(db);
	buf_release(&b);
}

/* Four whole weeks come from rollup_dim_4week alone (last: it deletes the days). */
static void four_weeks(const char *path)
{
	struct q_db *db;
	struct q_spec s;
	struct q_rows rows;
	char err[256];
	uint64_t sent = 0;
	sqlite3 *h;

	/* the writer first: the reader then maps its -shm (as snitch-query does) */
	CHECK(sqlite3_open(path, &h) == SQLITE_OK);
	exec(h, "SELECT count(*) FROM connections");
	CHECK(q_open(&db, path, 0, err, sizeof(err)) == 0);
	q_spec_init(&s);
	s.from_ns = D0 - 8 * DAY;
	s.until_ns = D0 + 20 * DAY;
	s.group_by = QF_RPORT;
	CHECK(q_group(db, &s, &rows, err, sizeof(err)) == 0);
	for (size_t i = 0; i < rows.n; i++)
		sent += rows.v[i].sent;
	q_rows_free(&rows);
	CHECK(sent > 0);
	exec(h, "DELETE FROM rollup_dim_week; DELETE FROM rollup_dim_day; DELETE FROM rollup_day");
	CHECK(q_group(db, &s, &rows, err, sizeof(err)) == 0);
	for (size_t i = 0; i < rows.n; i++)
		sent -= rows.v[i].sent;
	CHECK_EQ_INT(sent, 0);
	q_rows_free(&rows);
	q_close(db);
	sqlite3_close(h);
}

int main(void)
{
	char path[] = "/tmp/snitch-test-query-XXXXXX", db_path[64], err[256];
	struct q_db *db;
	struct q_meta m;

	if (!mkdtemp(path))
		return 1;
	snprintf(db_path, sizeof(db_path), "%s/fixture.db", path);
	make_fixture(db_path);
	CHECK(q_open(&db, "/nonexistent/x.db", 0, err, sizeof(err)) == -ENOENT);
	CHECK(q_open(&db, db_path, 0, err, sizeof(err)) == 0);
	CHECK(q_meta(db, &m, err, sizeof(err)) == 0);
	CHECK(m.rollups && m.schema_version == 3 && m.rows == NROWS_ALL && m.first_ns >= D0);
	compare_groups(db);
	compare_filters(db);
	compare_drills(db);
	compare_same_dim(db);
	compare_series(db);
	/* the same answers with the pieces summed by SQLite */
	sql_sums = true;
	compare_groups(db);
	compare_filters(db);
	compare_same_dim(db);
	compare_series(db);
	sql_sums = false;
	errors(db);
	known_sums(db);
	known_lists(db);
	days_without_rows(db, db_path);
	weeks(db, db_path);
	q_close(db);
	verdicts(db_path);
	four_weeks(db_path);
	unlink(db_path);
	{
		char side[80];

		snprintf(side, sizeof(side), "%s-wal", db_path);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", db_path);
		unlink(side);
	}
	rmdir(path);
	TEST_MAIN_END("query");
}
