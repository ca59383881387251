/* SPDX-License-Identifier: MIT */
/*
 * The query core (query.h): a query is planned as pieces of its range,
 * each answered by one source (a rollup level, or the raw table), summed
 * per key in SQL, the pieces put together with UNION ALL and summed again
 * per key; the keys are ids until the outer query names them (joins on
 * the reference tables), so a rollup scan never touches a string.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "query.h"
#include "rollup.h"
#include "table.h"

/*
 * the newest schema it reads: 4 to 7 add columns and tables it does not
 * use, 11 changes the full rollups' primary key, which it does not read
 */
#define SCHEMA_MAX 11
/* a raw edge reads the rowids of its range widened by this much, and
 * filters on the time itself (lib/rollup.h) */
#define RAW_SLACK_NS ROLLUP_RAW_SLACK_NS

struct sums;

struct q_db {
	sqlite3 *h;
	int version;
	bool rollups, country;
	int64_t minute_from, hour_from;
	/* the coarse dimension levels' (rollup.h): INT64_MAX none (schema < 8) */
	int64_t coarse_from[ROLLUP_COARSE];
	bool drill_rows;	/* queries read temp.q_drill (q_drill) */
	bool summed;	/* temp.q_sums holds the running query's sums */
	struct sums *sums;	/* what snitch_sum adds to (sum_pieces) */
	/* the time limit of the public call running (spec->max_ms): depth of
	 * calls, the deadline (CLOCK_MONOTONIC ns, 0: none) */
	int depth;
	int64_t deadline;
};

static int sum_register(struct q_db *db);

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* SQLite's progress handler: non-zero interrupts the statement. */
static int past_deadline(void *ctx)
{
	const struct q_db *db = ctx;

	return db->deadline && mono_ns() > db->deadline;
}

static void budget_enter(struct q_db *db, const struct q_spec *s)
{
	if (db->depth++ == 0)
		db->deadline = s->max_ms ? mono_ns() + (int64_t)s->max_ms * 1000000 : 0;
}

static void budget_leave(struct q_db *db)
{
	if (--db->depth == 0)
		db->deadline = 0;
}

/* ---- fields ---- */

struct fdef {
	const char *name;
	const char *col;	/* connections column */
	const char *rucol;	/* its rollup column; NULL: not in the rollups */
	const char *table;	/* reference table, NULL: the column is the value */
	const char *tcol;	/* the value's column in it */
	bool numeric;
	int dim;		/* its dimension rollup (ROLLUP_DIM_*); -1: none */
};

static const struct fdef fields[QF_COUNT] = {
	[QF_EXE] = { "exe", "exe_id", "exe_id", "executables", "path", false, 0 },
	[QF_NAME] = { "name", "exe_id", "exe_id", "executables", "name", false, 0 },
	[QF_CMDLINE] = { "cmdline", "exe_id", "exe_id", "executables", "cmdline", false, 0 },
	[QF_SHA256] = { "sha256", "exe_id", "exe_id", "executables", "sha256", false, 0 },
	[QF_PARENT_EXE] = { "parent_exe", "parent_exe_id", "parent_exe_id", "executables", "path", false, 1 },
	[QF_PARENT_NAME] = { "parent_name", "parent_exe_id", "parent_exe_id", "executables", "name", false, 1 },
	[QF_PARENT_CMDLINE] = { "parent_cmdline", "parent_exe_id", "parent_exe_id", "executables", "cmdline", false, 1 },
	[QF_PARENT_SHA256] = { "parent_sha256", "parent_exe_id", "parent_exe_id", "executables", "sha256", false, 1 },
	[QF_GPARENT_EXE] = { "gparent_exe", "gparent_exe_id", "gparent_exe_id", "executables", "path", false, 2 },
	[QF_GPARENT_NAME] = { "gparent_name", "gparent_exe_id", "gparent_exe_id", "executables", "name", false, 2 },
	[QF_GPARENT_CMDLINE] = { "gparent_cmdline", "gparent_exe_id", "gparent_exe_id", "executables", "cmdline", false, 2 },
	[QF_GPARENT_SHA256] = { "gparent_sha256", "gparent_exe_id", "gparent_exe_id", "executables", "sha256", false, 2 },
	[QF_USER] = { "user", "uid", "uid", NULL, NULL, true, 3 },
	[QF_LPORT] = { "lport", "lport", NULL, NULL, NULL, true, -1 },
	[QF_RPORT] = { "rport", "rport", "rport", NULL, NULL, true, 5 },
	[QF_LADDR] = { "laddr", "laddr_id", "laddr_id", "addresses", "addr", false, 6 },
	[QF_RADDR] = { "raddr", "raddr_id", "raddr_id", "addresses", "addr", false, 7 },
	[QF_COUNTRY] = { "country", "raddr_id", "raddr_id", "addresses", "country", false, 7 },
	[QF_DOMAIN] = { "domain", "domain_id", "domain_id", "domains", "name", false, 8 },
	[QF_NETNS] = { "netns", "netns", "netns", NULL, NULL, true, 9 },
	[QF_CONTAINER] = { "container", "container_id", "container_id", "containers", "name", false, 10 },
	[QF_PROTO] = { "proto", "proto", "proto", NULL, NULL, false, 4 },
	[QF_APP] = { "app", "exe_id", "exe_id", "executables", "app", false, 0 },
	[QF_SCRIPT] = { "script", "exe_id", "exe_id", "executables", "script_path", false, 0 },
	[QF_CONTAINER_NAME] = { "container_name", "container_id", "container_id", "containers", "container_name", false, 10 },
	[QF_IMAGE] = { "image", "container_id", "container_id", "containers", "image", false, 10 },
	[QF_POD_NAMESPACE] = { "pod_namespace", "container_id", "container_id", "containers", "pod_namespace", false, 10 },
	[QF_POD_NAME] = { "pod_name", "container_id", "container_id", "containers", "pod_name", false, 10 },
	[QF_OUTCOME] = { "outcome", "outcome", "outcome", NULL, NULL, false, ROLLUP_DIM_OUTCOME },
};

int q_field_version(enum q_field f)
{
	switch (f) {
	case QF_COUNTRY:
		return 3;
	case QF_CONTAINER_NAME:
	case QF_IMAGE:
	case QF_POD_NAMESPACE:
	case QF_POD_NAME:
		return 4;
	case QF_APP:
	case QF_SCRIPT:
		return 9;
	case QF_OUTCOME:
		return 10;
	default:
		return 1;
	}
}

const char *q_field_name(enum q_field f)
{
	return f >= 0 && f < QF_COUNT ? fields[f].name : NULL;
}

enum q_field q_field_parse(const char *name)
{
	for (int f = 0; name && f < QF_COUNT; f++)
		if (!strcmp(fields[f].name, name))
			return (enum q_field)f;
	return QF_NONE;
}

bool q_field_numeric(enum q_field f)
{
	return f >= 0 && f < QF_COUNT && fields[f].numeric;
}

/* ---- opening ---- */

static int sql_err(sqlite3 *h, int r, char *err, size_t errsize)
{
	if ((r & 0xff) == SQLITE_INTERRUPT) {
		snprintf(err, errsize, "the query ran past its time limit: narrow the time range");
		return -ETIMEDOUT;
	}
	snprintf(err, errsize, "%s", h ? sqlite3_errmsg(h) : sqlite3_errstr(r));
	if (r == SQLITE_NOMEM)
		return -ENOMEM;
	if ((r & 0xff) == SQLITE_CANTOPEN)
		return -ENOENT;
	if ((r & 0xff) == SQLITE_PERM || (r & 0xff) == SQLITE_AUTH)
		return -EACCES;
	return -EIO;
}

static int one_int(sqlite3 *h, const char *sql, int64_t *v)
{
	sqlite3_stmt *st;
	int r = sqlite3_prepare_v2(h, sql, -1, &st, NULL);

	if (r != SQLITE_OK)
		return r;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		r = SQLITE_OK;
	} else if (r == SQLITE_DONE) {
		*v = 0;
		r = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return r;
}

/* The database by URI, read-only, with a parameter (PARAM=1); its version in *v if v. */
static int open_uri(struct q_db *db, const char *path, const char *param, int64_t *v)
{
	struct buf uri = BUF_INIT;
	int r;

	buf_puts(&uri, "file:");
	for (const char *p = path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			buf_printf(&uri, "%%%02X", (unsigned char)*p);
		else
			buf_putc(&uri, *p);
	}
	buf_printf(&uri, "?%s=1", param);
	buf_putc(&uri, '\0');
	if (uri.oom)
		return SQLITE_NOMEM;
	r = sqlite3_open_v2(uri.p, &db->h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
			    NULL);
	buf_release(&uri);
	if (r == SQLITE_OK && v)
		r = one_int(db->h, "PRAGMA user_version", v);
	return r;
}

/* The log, read-only, whoever has it open; *v its schema version. */
static int open_handle(struct q_db *db, const char *path, int busy_ms, int64_t *v)
{
	struct buf shm = BUF_INIT;
	int r;

	/*
	 * A -shm there (snitch-store has the log open, or had): mapped
	 * read-only (readonly_shm), never opened for writing, which a
	 * reader's seccomp filter refuses (snitch-web's PRIVS_OPEN_READ).
	 */
	buf_printf(&shm, "%s-shm", path);
	buf_putc(&shm, '\0');
	r = !shm.oom && access(shm.p, R_OK) == 0 ?
		open_uri(db, path, "readonly_shm", NULL) :
		sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	buf_release(&shm);
	if (r == SQLITE_OK) {
		sqlite3_busy_timeout(db->h, busy_ms > 0 ? busy_ms : 2000);
		r = one_int(db->h, "PRAGMA user_version", v);
	}
	if ((r & 0xff) == SQLITE_READONLY || (r & 0xff) == SQLITE_CANTOPEN) {
		/*
		 * A WAL database without its -shm, in a directory this user may
		 * not write: no snitch-store has it open (it would have made
		 * the -shm), so it is read as a file nobody changes.
		 */
		sqlite3_close(db->h);
		db->h = NULL;
		r = open_uri(db, path, "immutable", v);
	}
	return r;
}

/* From when each rollup level is complete (rollup_state). */
static int read_rollup_state(struct q_db *db)
{
	int r = SQLITE_OK;

	for (int c = 0; c < ROLLUP_COARSE; c++)
		db->coarse_from[c] = INT64_MAX;
	if (!db->rollups)
		return SQLITE_OK;
	if ((r = one_int(db->h, "SELECT from_ns FROM rollup_state WHERE level = 'minute'",
			 &db->minute_from)) != SQLITE_OK ||
	    (r = one_int(db->h, "SELECT from_ns FROM rollup_state WHERE level = 'hour'",
			 &db->hour_from)) != SQLITE_OK)
		return r;
	for (int c = 0; c < ROLLUP_COARSE && r == SQLITE_OK; c++) {
		sqlite3_stmt *st;

		r = sqlite3_prepare_v2(db->h, "SELECT from_ns FROM rollup_state WHERE level = ?", -1, &st, NULL);
		if (r != SQLITE_OK)
			break;
		sqlite3_bind_text(st, 1, rollup_coarse_name[c], -1, SQLITE_STATIC);
		r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			db->coarse_from[c] = sqlite3_column_int64(st, 0);
		r = r == SQLITE_ROW || r == SQLITE_DONE ? SQLITE_OK : r;
		sqlite3_finalize(st);
	}
	return r;
}

void q_access_hint(const char *path, int r, char *err, size_t errsize)
{
	char dir[PATH_MAX];
	size_t n = strnlen(err, errsize);
	struct stat sb;
	struct group *gr = NULL;
	bool seen = false;
	char *slash;

	if (r != -EACCES || n + 1 >= errsize)
		return;
	snprintf(dir, sizeof(dir), "%s", path);
	for (;;) {
		if (stat(dir, &sb) == 0) {
			seen = true;
			break;
		}
		if (!(slash = strrchr(dir, '/')) || slash == dir)
			break;
		*slash = '\0';
	}
	if (seen && sb.st_gid != 0)
		gr = getgrgid(sb.st_gid);
	if (!gr)
		snprintf(err + n, errsize - n, ": reading the log takes root, or the group that "
			 "snitch-store gives it (SNITCH_GROUP; docs/operations.md)");
	else
		snprintf(err + n, errsize - n, ": reading the log takes the group '%s' (sudo usermod "
			 "-aG %s $USER, then log in again)", gr->gr_name, gr->gr_name);
}

int q_open(struct q_db **dbp, const char *path, int busy_ms, char *err, size_t errsize)
{
	struct q_db *db;
	struct stat sb;
	int64_t v = 0;
	int r, e;

	*dbp = NULL;
	/* SQLite would say "unable to open database file" for both */
	if (stat(path, &sb) < 0 || access(path, R_OK) < 0) {
		snprintf(err, errsize, "cannot open '%s': %s", path, strerror(errno));
		return -errno;
	}
	if (!(db = calloc(1, sizeof(*db)))) {
		snprintf(err, errsize, "out of memory");
		return -ENOMEM;
	}
	if ((r = open_handle(db, path, busy_ms, &v)) != SQLITE_OK) {
		char msg[256];

		e = sql_err(db->h, r, msg, sizeof(msg));
		snprintf(err, errsize, "'%s': %s", path, msg);
		goto fail;
	}
	/*
	 * Sorts that outgrow the page cache (a GROUP BY over a year) spill
	 * to memory, not to a temporary file: a reader under its seccomp
	 * filter (snitch-web's PRIVS_OPEN_READ) may not create one, and
	 * SQLite would report that as "unable to open database file".
	 */
	/* checked every few thousand steps of a statement: spec->max_ms */
	sqlite3_progress_handler(db->h, 4000, past_deadline, db);
	if ((r = sqlite3_exec(db->h, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL)) != SQLITE_OK ||
	    (r = sum_register(db)) != SQLITE_OK) {
		e = sql_err(db->h, r, err, errsize);
		goto fail;
	}
	db->version = (int)v;
	if (v > SCHEMA_MAX || v < 1) {
		if (v > SCHEMA_MAX)
			snprintf(err, errsize, "'%s': schema version %lld is newer than this reader's %d",
				 path, (long long)v, SCHEMA_MAX);
		else
			snprintf(err, errsize, "'%s' is not a snitch log (no schema version)", path);
		e = -EPROTO;
		goto fail;
	}
	db->rollups = db->country = v >= 3;
	if ((r = read_rollup_state(db)) != SQLITE_OK) {
		e = sql_err(db->h, r, err, errsize);
		goto fail;
	}
	*dbp = db;
	return 0;
fail:
	q_close(db);
	return e;
}

void q_close(struct q_db *db)
{
	if (!db)
		return;
	sqlite3_close(db->h);
	free(db);
}

int q_meta(struct q_db *db, struct q_meta *m, char *err, size_t errsize)
{
	int64_t v;
	int r;

	memset(m, 0, sizeof(*m));
	m->schema_version = db->version;
	m->rollups = db->rollups;
	if ((r = one_int(db->h, "SELECT max(rowid) - min(rowid) + 1 FROM connections", &v)) != SQLITE_OK)
		return sql_err(db->h, r, err, errsize);
	m->rows = v > 0 ? (uint64_t)v : 0;
	/* rows are in time order: the first and the last rowid */
	if ((r = one_int(db->h, "SELECT window_start_ns FROM connections ORDER BY rowid LIMIT 1",
			 &m->first_ns)) != SQLITE_OK ||
	    (r = one_int(db->h, "SELECT window_start_ns FROM connections ORDER BY rowid DESC LIMIT 1",
			 &m->last_ns)) != SQLITE_OK ||
	    (r = one_int(db->h, "SELECT count(*) FROM executables", &v)) != SQLITE_OK)
		return sql_err(db->h, r, err, errsize);
	m->executables = (uint64_t)v;
	return 0;
}

/* ---- specs ---- */

void q_spec_init(struct q_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->from_ns = 0;
	s->until_ns = INT64_MAX;
	s->group_by = QF_NONE;
}

int q_field_value(const char *expr, enum q_field *f, const char **value)
{
	const char *eq = strchr(expr, '=');
	char name[32] = "";

	if (!eq)
		return -EINVAL;
	/* longer than any field's name: none */
	if ((size_t)(eq - expr) < sizeof(name))
		memcpy(name, expr, (size_t)(eq - expr));
	if ((*f = q_field_parse(name)) == QF_NONE)
		return -ENOENT;
	*value = eq[1] ? eq + 1 : NULL;
	return 0;
}

int q_spec_add_filter(struct q_spec *s, char *expr, bool exclude, char *err, size_t errsize)
{
	const char *value;
	enum q_field f;
	int r = q_field_value(expr, &f, &value);

	if (r == -EINVAL) {
		snprintf(err, errsize, "'%s' is not FIELD=VALUE", expr);
		return r;
	}
	if (r < 0) {
		snprintf(err, errsize, "unknown field '%.*s'", (int)(strchr(expr, '=') - expr), expr);
		return -EINVAL;
	}
	if (s->nfilters >= Q_MAX_FILTERS) {
		snprintf(err, errsize, "more than %d filters", Q_MAX_FILTERS);
		return -EINVAL;
	}
	s->filters[s->nfilters++] = (struct q_filter){ f, exclude, value };
	return q_spec_check(s, err, errsize);
}

static int parse_i64(const char *v, int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end)
		return -EINVAL;
	*out = n;
	return 0;
}

int q_spec_check(const struct q_spec *s, char *err, size_t errsize)
{
	if (s->from_ns < 0 || s->until_ns <= s->from_ns) {
		snprintf(err, errsize, "the time range is empty (from %lld, until %lld)",
			 (long long)s->from_ns, (long long)s->until_ns);
		return -EINVAL;
	}
	if (s->group_by != QF_NONE && !q_field_name(s->group_by)) {
		snprintf(err, errsize, "unknown group-by field %d", (int)s->group_by);
		return -EINVAL;
	}
	if (s->bucket_ns < 0 || (s->bucket_ns && s->bucket_ns < 1000000000)) {
		snprintf(err, errsize, "the series bucket is shorter than a second");
		return -EINVAL;
	}
	for (size_t i = 0; i < s->nfilters; i++) {
		const struct q_filter *f = &s->filters[i];
		int64_t n;

		if (!q_field_name(f->field)) {
			snprintf(err, errsize, "unknown filter field %d", (int)f->field);
			return -EINVAL;
		}
		if (f->value && fields[f->field].numeric && parse_i64(f->value, &n) < 0) {
			snprintf(err, errsize, "the value '%s' of %s is not a number", f->value,
				 fields[f->field].name);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- the SQL ---- */

struct bind {
	bool is_int;
	int64_t i;
	const char *s;
};

struct sql {
	struct buf b;
	struct bind *binds;
	size_t nbinds, cap;
	int oom;
};

static void sql_bind(struct sql *q, bool is_int, int64_t i, const char *s)
{
	if (q->nbinds == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct bind *nb = realloc(q->binds, cap * sizeof(*nb));

		if (!nb) {
			q->oom = 1;
			return;
		}
		q->binds = nb;
		q->cap = cap;
	}
	q->binds[q->nbinds++] = (struct bind){ is_int, i, s };
}

static void sql_release(struct sql *q)
{
	buf_release(&q->b);
	free(q->binds);
}

/*
 * The levels, finest first, then the dimension rollups the views with no
 * filter read instead of the level of the same bucket. There are no full
 * rollups per week or four weeks (rollup.h's coarse levels): SRC_WEEK and
 * SRC_4WEEK are only ever read as their dimension rollups.
 */
enum src {
	SRC_RAW, SRC_MINUTE, SRC_HOUR, SRC_DAY, SRC_WEEK, SRC_4WEEK,
	SRC_DIM_HOUR, SRC_DIM_DAY, SRC_DIM_WEEK, SRC_DIM_4WEEK,
	SRC_DRILL,	/* a drill-down's rows, read once into temp.q_drill */
	SRC_SUMMED,	/* a query's pieces, summed in C into temp.q_sums */
	NSRC
};
#define SRC_TOP SRC_4WEEK
#define SRC_COARSE(c) (SRC_WEEK + (c))

static const char *const src_table[NSRC] = {
	"connections", "rollup_minute", "rollup_hour", "rollup_day", NULL, NULL,
	"rollup_dim_hour", "rollup_dim_day", "rollup_dim_week", "rollup_dim_4week", "temp.q_drill",
	"temp.q_sums",
};
static const int64_t src_ns[NSRC] = {
	0, ROLLUP_MINUTE_NS, ROLLUP_HOUR_NS, ROLLUP_DAY_NS, ROLLUP_WEEK_NS, ROLLUP_4WEEK_NS,
	ROLLUP_HOUR_NS, ROLLUP_DAY_NS, ROLLUP_WEEK_NS, ROLLUP_4WEEK_NS, 0, 0,
};

static bool src_dim(enum src s)
{
	return s >= SRC_DIM_HOUR && s <= SRC_DIM_4WEEK;
}

/*
 * The value of field f in a source, in the form both agree on: a
 * reference id (0 for none), or the number or text (NULL for none).
 */
static void put_col(struct buf *b, enum q_field f, enum src src)
{
	const struct fdef *d = &fields[f];
	const char *ru = src_dim(src) ? "val" : d->rucol;

	if (src == SRC_DRILL) {
		/* written in the form both agree on, under the rollup's name */
		buf_puts(b, ru);
		return;
	}
	if (d->table) {
		if (src == SRC_RAW)
			buf_printf(b, "coalesce(%s, 0)", d->col);
		else
			buf_puts(b, ru);
	} else if (src == SRC_RAW) {
		buf_puts(b, d->col);
	} else if (f == QF_OUTCOME) {
		buf_printf(b, ROLLUP_OUTCOME_DECODE("%1$s"), ru);
	} else if (d->numeric) {
		buf_printf(b, "nullif(%s, %s)", ru, ROLLUP_NONE_STR);
	} else {
		buf_printf(b, "nullif(%s, '')", ru);
	}
}

/* Whether a row of src passes f: an SQL condition, its value bound. */
static void put_cond(struct sql *q, const struct q_filter *f, enum src src)
{
	const struct fdef *d = &fields[f->field];
	struct buf *b = &q->b;

	if (d->table) {
		/* the ids whose value matches: a small set, looked up once */
		bool in = f->value ? !f->exclude : f->exclude;

		put_col(b, f->field, src);
		buf_printf(b, " %s (SELECT id FROM %s WHERE %s %s)", in ? "IN" : "NOT IN",
			   d->table, d->tcol, f->value ? "= ?" : "IS NOT NULL");
		if (f->value)
			sql_bind(q, false, 0, f->value);
		return;
	}
	put_col(b, f->field, src);
	if (!f->value) {
		buf_puts(b, f->exclude ? " IS NOT NULL" : " IS NULL");
		return;
	}
	buf_puts(b, f->exclude ? " IS NOT ?" : " = ?");
	if (d->numeric) {
		int64_t n = 0;

		(void)parse_i64(f->value, &n);	/* checked by q_spec_check */
		sql_bind(q, true, n, NULL);
	} else {
		sql_bind(q, false, 0, f->value);
	}
}

static void put_filter(struct sql *q, const struct q_filter *f, enum src src)
{
	buf_puts(&q->b, " AND ");
	put_cond(q, f, src);
}

/* One piece of the range, answered by one source. */
struct piece {
	enum src src;
	int64_t from, until;
	int64_t lo_rowid, hi_rowid;	/* raw: the rowids to read; 0, 0: all */
};

/* the top level's, and each edge's of every finer level */
#define MAX_PIECES (1 + 2 * SRC_TOP)

struct plan {
	struct piece p[MAX_PIECES];
	size_t n;
	uint64_t raw_rows;		/* estimate of the raw rows read */
	int dim;			/* the dimension rollups' dim it reads, if any */
};

/* What a query sums, besides its keys. */
struct shape {
	enum q_field key;		/* QF_NONE: no key */
	int64_t bucket_ns;		/* series: 0 none */
	int mode;			/* MODE_* */
	/* a series of the top groups: the keys it keeps (the rows not
	 * "other"); snitch_sum sums the rest as one "other" per bucket */
	const struct q_rows *keep;
};

/* MODE_ROWS: the rows themselves (drill_rows): never the dimension rollups */
enum { MODE_GROUP, MODE_EXES, MODE_ROWS };

static bool field_in_rollups(enum q_field f)
{
	return f == QF_NONE || fields[f].rucol;
}

static int64_t floor_to(int64_t v, int64_t ns)
{
	return v - v % ns;
}

static int64_t ceil_to(int64_t v, int64_t ns)
{
	int64_t f = floor_to(v, ns);

	return f == v || f > INT64_MAX - ns ? f : f + ns;
}

static void cover(struct plan *p, const struct q_db *db, int64_t a, int64_t b, int lvl,
		  const bool *usable, bool dims)
{
	int64_t start, lo, hi;

	if (a >= b)
		return;
	while (lvl > SRC_RAW && !usable[lvl])
		lvl--;
	if (lvl == SRC_RAW) {
		if (p->n < MAX_PIECES)
			p->p[p->n++] = (struct piece){ SRC_RAW, a, b, 0, 0 };
		return;
	}
	start = a;
	if (lvl == SRC_MINUTE && start < db->minute_from)
		start = db->minute_from;
	if (lvl == SRC_HOUR && start < db->hour_from)
		start = db->hour_from;
	for (int c = 0; c < ROLLUP_COARSE; c++)
		if (lvl == SRC_COARSE(c) && start < db->coarse_from[c])
			start = db->coarse_from[c];
	lo = ceil_to(start, src_ns[lvl]);
	hi = floor_to(b, src_ns[lvl]);
	if (lo >= hi) {
		cover(p, db, a, b, lvl - 1, usable, dims);
		return;
	}
	if (p->n < MAX_PIECES) {
		enum src s = (enum src)lvl;

		/* no filter: the dimension rollup of the key has the same sums */
		if (dims && lvl == SRC_HOUR)
			s = SRC_DIM_HOUR;
		else if (dims && lvl == SRC_DAY)
			s = SRC_DIM_DAY;
		else if (lvl == SRC_WEEK)
			s = SRC_DIM_WEEK;	/* usable only with dims */
		else if (lvl == SRC_4WEEK)
			s = SRC_DIM_4WEEK;
		p->p[p->n++] = (struct piece){ s, lo, hi, 0, 0 };
	}
	cover(p, db, a, lo, lvl - 1, usable, dims);
	cover(p, db, hi, b, lvl - 1, usable, dims);
}

/* The first rowid whose window starts at or after t (rows in time order). */
static int rowid_at(struct q_db *db, sqlite3_stmt *st, int64_t lo, int64_t hi, int64_t t,
		    int64_t *out)
{
	/* lower bound over [lo, hi): hi means "past the end" */
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2, rid, ws;
		int r;

		sqlite3_bind_int64(st, 1, mid);
		r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			rid = sqlite3_column_int64(st, 0);
			ws = sqlite3_column_int64(st, 1);
		}
		sqlite3_reset(st);
		if (r != SQLITE_ROW) {
			if (r != SQLITE_DONE)
				return r;
			hi = mid;
			continue;
		}
		if (ws >= t) {
			hi = mid;
		} else {
			lo = rid + 1;
		}
	}
	(void)db;
	*out = lo;
	return SQLITE_OK;
}

static int plan_raw_rows(struct q_db *db, struct plan *p)
{
	int64_t min = 0, max = 0, disorder = 0;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = one_int(db->h, "SELECT min(rowid) FROM connections", &min)) != SQLITE_OK ||
	    (r = one_int(db->h, "SELECT max(rowid) FROM connections", &max)) != SQLITE_OK)
		return r;
	/* rows up to this one may be out of order by any time (a wall clock
	 * stepped back): read them all */
	if (db->rollups && (r = one_int(db->h, "SELECT from_ns FROM rollup_state WHERE level = 'disorder'",
				       &disorder)) != SQLITE_OK)
		return r;
	for (size_t i = 0; i < p->n; i++) {
		struct piece *pc = &p->p[i];

		if (pc->src != SRC_RAW)
			continue;
		if (pc->from == 0 && pc->until == INT64_MAX) {
			p->raw_rows += (uint64_t)(max - min + 1);
			continue;
		}
		if (!st && (r = sqlite3_prepare_v2(db->h,
				"SELECT rowid, window_start_ns FROM connections WHERE rowid >= ?"
				" ORDER BY rowid LIMIT 1", -1, &st, NULL)) != SQLITE_OK)
			return r;
		/* the ordered rows: after the disordered ones */
		if ((r = rowid_at(db, st, disorder >= min ? disorder + 1 : min, max + 1,
				  pc->from > INT64_MIN + RAW_SLACK_NS ? pc->from - RAW_SLACK_NS : pc->from,
				  &pc->lo_rowid)) != SQLITE_OK ||
		    (r = rowid_at(db, st, pc->lo_rowid, max + 1,
				  pc->until < INT64_MAX - RAW_SLACK_NS ? pc->until + RAW_SLACK_NS : INT64_MAX,
				  &pc->hi_rowid)) != SQLITE_OK)
			break;
		if (pc->until >= INT64_MAX - RAW_SLACK_NS)
			pc->hi_rowid = max + 1;
		if (disorder >= min)
			pc->lo_rowid = min;
		p->raw_rows += (uint64_t)(pc->hi_rowid - pc->lo_rowid);
	}
	sqlite3_finalize(st);
	return r;
}

/* The columns a drill-down's lists and totals group by (rollup names). */
static const enum q_field drill_cols[] = {
	QF_EXE, QF_PARENT_EXE, QF_USER, QF_RPORT, QF_RADDR, QF_DOMAIN,
};

#define DRILL_COLS (sizeof(drill_cols) / sizeof(drill_cols[0]))
/* the column of the first sum: after drill_cols and the outcome */
#define DRILL_SUMS (DRILL_COLS + 1)

/* The list of temp.q_drill that a query grouped by key reads (QF_NONE: totals). */
static int drill_dim(enum q_field key)
{
	return key == QF_NONE ? fields[drill_cols[0]].dim : fields[key].dim;
}

static int make_plan(struct q_db *db, const struct q_spec *s, const struct shape *sh,
		     struct plan *p)
{
	bool usable[NSRC] = { true, true, true, true, true, true };
	/*
	 * The dimension rollups answer a query whose key and filters are all
	 * of one dimension: sums per value of one column, of some values of
	 * it (the rows of executable X grouped by executable, name or
	 * sha256; the totals of domain Y). -2: none chosen yet.
	 */
	int dim = sh->key == QF_NONE ? -2 : fields[sh->key].dim;
	bool dims = sh->mode != MODE_ROWS;

	for (size_t i = 0; i < s->nfilters && dims; i++) {
		int fd = fields[s->filters[i].field].dim;

		if (dim == -2)
			dim = fd;
		if (fd < 0 || fd != dim)
			dims = false;
	}
	if (dim == -2)
		dim = ROLLUP_DIM_EXE;
	dims = dims && dim >= 0;

	memset(p, 0, sizeof(*p));
	p->dim = dim;
	for (int l = SRC_MINUTE; l <= SRC_TOP; l++) {
		usable[l] = db->rollups && !s->raw_only && field_in_rollups(sh->key);
		for (size_t i = 0; i < s->nfilters; i++)
			if (!field_in_rollups(s->filters[i].field))
				usable[l] = false;
		/* a series bucket must be whole buckets of the level */
		if (sh->bucket_ns && sh->bucket_ns % src_ns[l])
			usable[l] = false;
	}
	if (db->drill_rows) {
		p->p[p->n++] = (struct piece){ SRC_DRILL, 0, 0, 0, 0 };
		p->dim = drill_dim(sh->key);
		return SQLITE_OK;
	}
	if (s->raw_only) {
		/* the baseline: GROUP BY over the raw table as a person writes it */
		p->p[p->n++] = (struct piece){ SRC_RAW, s->from_ns, s->until_ns, 0, 0 };
		p->raw_rows = 0;
		return one_int(db->h, "SELECT max(rowid) - min(rowid) + 1 FROM connections",
			       (int64_t *)&p->raw_rows);
	}
	/* weeks: of the dimension rollups only */
	for (int c = 0; c < ROLLUP_COARSE; c++)
		usable[SRC_COARSE(c)] = usable[SRC_COARSE(c)] && dims && db->coarse_from[c] != INT64_MAX;
	cover(p, db, s->from_ns, s->until_ns, SRC_TOP, usable, dims);
	return plan_raw_rows(db, p);
}

/* Whether a filter keeps only the executables rows of some value. */
static bool names_exe(const struct q_spec *s)
{
	for (size_t i = 0; i < s->nfilters; i++)
		if (s->filters[i].value && !s->filters[i].exclude &&
		    fields[s->filters[i].field].dim == ROLLUP_DIM_EXE)
			return true;
	return false;
}

/* The inner query of one piece: sums per key (and bucket). */
/*
 * The rows of a piece: its range, its dimension, its raw rowids, the
 * filters. For a drill-down's rows (of its range and filters already) the
 * list its key is of.
 */
static void put_where(struct sql *q, const struct q_spec *s, const struct piece *pc, int dim)
{
	const char *t = pc->src == SRC_RAW ? "window_start_ns" : "bucket_ns";

	if (pc->src == SRC_DRILL) {
		buf_printf(&q->b, " WHERE dim = %d", dim);	/* its list */
		return;
	}
	buf_printf(&q->b, " WHERE %s >= %lld AND %s < %lld", t, (long long)pc->from, t,
		   (long long)pc->until);
	if (src_dim(pc->src))
		buf_printf(&q->b, " AND dim = %d", dim);
	if (pc->src == SRC_RAW && (pc->lo_rowid || pc->hi_rowid))
		buf_printf(&q->b, " AND rowid >= %lld AND rowid < %lld", (long long)pc->lo_rowid,
			   (long long)pc->hi_rowid);
	for (size_t i = 0; i < s->nfilters; i++)
		put_filter(q, &s->filters[i], pc->src);
	/*
	 * The days' rows of the executables a filter names lie together
	 * under rollup_day's primary key (bucket_ns, exe_id, combo; schema
	 * 11, which has no index by exe_id): listing the days makes it a
	 * seek per day and executable instead of a scan of the range.
	 */
	if (pc->src == SRC_DAY && names_exe(s))
		buf_printf(&q->b, " AND bucket_ns IN (WITH RECURSIVE q_days(b) AS (SELECT %lld"
			   " UNION ALL SELECT b + %lld FROM q_days WHERE b + %lld < %lld) SELECT b FROM q_days)",
			   (long long)pc->from, (long long)ROLLUP_DAY_NS, (long long)ROLLUP_DAY_NS,
			   (long long)pc->until);
}

static void put_piece(struct sql *q, const struct q_spec *s, const struct shape *sh,
		      const struct piece *pc, int dim)
{
	struct buf *b = &q->b;
	const char *t = pc->src == SRC_RAW ? "window_start_ns" : "bucket_ns";

	if (pc->src == SRC_SUMMED) {
		/* summed already, with the columns' names of the pieces below */
		buf_printf(b, "SELECT %s%ss, r, c, e, f, l FROM temp.q_sums",
			   sh->key != QF_NONE ? "k, " : "", sh->bucket_ns ? "bk, " : "");
		return;
	}
	buf_puts(b, "SELECT ");
	if (sh->key != QF_NONE) {
		put_col(b, sh->key, pc->src);
		buf_puts(b, " AS k, ");
	}
	if (sh->bucket_ns)
		buf_printf(b, "%s - %s %% %lld AS bk, ", t, t, (long long)sh->bucket_ns);
	buf_printf(b, "sum(send_bytes) AS s, sum(recv_bytes) AS r, %s AS c, sum(events) AS e,"
		   " min(first_ns) AS f, max(last_ns) AS l FROM %s",
		   pc->src == SRC_RAW ? "count(*)" : "sum(conns)", src_table[pc->src]);
	put_where(q, s, pc, dim);
	if (sh->key != QF_NONE || sh->bucket_ns) {
		buf_puts(b, " GROUP BY ");
		if (sh->key != QF_NONE)
			buf_puts(b, sh->bucket_ns ? "k, bk" : "k");
		else
			buf_puts(b, "bk");
	}
}

/* Whether the plan reads sums that keep only sh->keep's keys (sum_pieces). */
static bool kept_sums(const struct shape *sh, const struct plan *p)
{
	return sh->keep && sh->key != QF_NONE && p->n == 1 && p->p[0].src == SRC_SUMMED;
}

/*
 * The whole query. Columns: key, extra, other (or NULL), bucket, s, r, c,
 * e, f, l (MODE_EXES: path, sha256, name, 0, s, r, c, e, f, l).
 */
static void build(struct q_db *db, struct sql *q, const struct q_spec *s, const struct shape *sh,
		  const struct plan *p)
{
	struct buf *b = &q->b;
	const struct fdef *d = sh->key != QF_NONE ? &fields[sh->key] : NULL;

	if (sh->mode == MODE_EXES)
		buf_puts(b, "SELECT t.path, t.sha256, max(t.name), 0,");
	else if (!d)
		buf_puts(b, "SELECT NULL, NULL, ");
	else if (d->table)
		buf_printf(b, "SELECT t.%s, %s, ", d->tcol,
			   sh->key == QF_RADDR && db->country ? "max(t.country)" : "NULL");
	else
		buf_puts(b, "SELECT u.k, NULL, ");
	/* the third column: whether the row sums the groups not kept (summed
	 * series of the top groups), else NULL; the name of an executable */
	if (sh->mode != MODE_EXES)
		buf_printf(b, "%s, %s,", kept_sums(sh, p) ? "typeof(u.k) = 'blob'" : "NULL",
			   sh->bucket_ns ? "u.bk" : "0");
	buf_puts(b, " sum(u.s) AS ts, sum(u.r) AS tr, sum(u.c), sum(u.e), min(u.f), max(u.l) FROM (");
	for (size_t i = 0; i < p->n; i++) {
		if (i)
			buf_puts(b, " UNION ALL ");
		put_piece(q, s, sh, &p->p[i], p->dim);
	}
	buf_puts(b, ") AS u");
	if (d && d->table)
		buf_printf(b, " LEFT JOIN %s AS t ON t.id = u.k", d->table);
	if (sh->mode == MODE_EXES) {
		buf_puts(b, " GROUP BY t.path, t.sha256 ORDER BY t.path, min(u.f)");
	} else if (d || sh->bucket_ns) {
		buf_puts(b, " GROUP BY ");
		if (d)
			buf_puts(b, d->table ? "1" : "u.k");
		if (d && kept_sums(sh, p))
			buf_puts(b, ", 3");
		if (sh->bucket_ns)
			buf_puts(b, d ? ", u.bk" : "u.bk");
		buf_puts(b, sh->bucket_ns ? " ORDER BY 4, ts + tr DESC, 1" : " ORDER BY ts + tr DESC, 1");
	}
}

/* A few texts (outcomes, protocols), each once: a key compares them as pointers. */
struct texts {
	char **v;
	size_t n;
};

static void texts_free(struct texts *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		free(ts->v[i]);
	free(ts->v);
	ts->v = NULL;
	ts->n = 0;
}

/* The copy of s in ts (made when new); NULL for NULL, and on ENOMEM (*oom). */
static const char *text_of(struct texts *ts, const char *s, bool *oom)
{
	char **nv;

	if (!s)
		return NULL;
	for (size_t i = 0; i < ts->n; i++)
		if (!strcmp(ts->v[i], s))
			return ts->v[i];
	if (!(nv = realloc(ts->v, (ts->n + 1) * sizeof(*nv))) || !(nv[ts->n] = strdup(s))) {
		if (nv)
			ts->v = nv;
		*oom = true;
		return NULL;
	}
	ts->v = nv;
	return ts->v[ts->n++];
}

/* Rows of a run, as the callback sees them. */
struct qrow {
	const char *key, *extra, *sha;
	bool other;		/* the sums of the groups a series does not keep */
	int64_t bucket;
	int64_t s, r, c, e, f, l;
};

typedef int (*row_fn)(void *ctx, const struct qrow *row);

/* The plan of a query, checked: its fields exist, it reads few enough raw rows. */
static int plan_checked(struct q_db *db, const struct q_spec *s, const struct shape *sh,
			struct plan *p, char *err, size_t errsize)
{
	int r;

	if ((r = q_spec_check(s, err, errsize)) < 0)
		return r;
	for (size_t i = 0; i <= s->nfilters; i++) {
		enum q_field f = i < s->nfilters ? s->filters[i].field : sh->key;

		if (f != QF_NONE && q_field_version(f) > db->version) {
			snprintf(err, errsize, "%s needs a database of schema version %d (this one is %d):"
				 " snitch-store migrates it", q_field_name(f), q_field_version(f),
				 db->version);
			return -EINVAL;
		}
	}
	r = make_plan(db, s, sh, p);
	if (r != SQLITE_OK)
		return sql_err(db->h, r, err, errsize);
	if (s->max_raw_rows && p->raw_rows > s->max_raw_rows) {
		snprintf(err, errsize, "the query would read about %llu raw rows, more than %llu:"
			 " narrow the time range%s", (unsigned long long)p->raw_rows,
			 (unsigned long long)s->max_raw_rows,
			 sh->key == QF_LPORT ? " (lport is not in the rollups)" : "");
		return -E2BIG;
	}
	return 0;
}

/* The statement of q, its parameters bound (q released either way). */
static int prepare_sql(struct q_db *db, struct sql *q, sqlite3_stmt **st, char *err, size_t errsize)
{
	int r;

	*st = NULL;
	if (q->b.oom || q->oom) {
		sql_release(q);
		snprintf(err, errsize, "out of memory");
		return -ENOMEM;
	}
	r = sqlite3_prepare_v2(db->h, q->b.p, (int)q->b.len, st, NULL);
	for (size_t i = 0; r == SQLITE_OK && i < q->nbinds; i++) {
		if (q->binds[i].is_int)
			sqlite3_bind_int64(*st, (int)i + 1, q->binds[i].i);
		else
			sqlite3_bind_text(*st, (int)i + 1, q->binds[i].s, -1, SQLITE_STATIC);
	}
	sql_release(q);
	if (r != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		return sql_err(db->h, r, err, errsize);
	}
	return 0;
}

/* ---- the pieces summed in C ---- */

/*
 * SQLite groups by sorting: every row a piece reads, then every row of the
 * union (lport over 30 days on bench/query.sh's log: 820,000 raw rows,
 * 0.39 s of sorting against 0.09 s of reading them, 60 MB; a filter on
 * the remote port, grouped by domain over a year: 5.5 million rows of
 * rollup_day, 10 s, 380 MB). So a query with a key or buckets has SQLite
 * hand each row of its pieces to an aggregate function of its own
 * (snitch_sum), which sums them per key and bucket in a hash; SQLite then
 * names and orders the sums, read back from temp.q_sums as one piece.
 * Past SUM_MAX sums (a series of thousands of ports) or SUM_TEXTS texts
 * as keys it gives up, and SQLite sums the pieces as before.
 */
#define SUM_MAX 50000
#define SUM_TEXTS 64

/* What a row adds to its key's sums. */
struct acc {
	int64_t s, r, c, e, f, l;
};

/* A sum of snitch_sum: its key (no padding: compared as bytes), then the sums. */
struct sum {
	int64_t bk, num;
	const char *text;	/* in sums' texts: compared as a pointer */
	int64_t type;		/* the key's SQLite type */
	struct acc a;
};

/*
 * Sums by key: the entries in the order they came (each `size` bytes: a
 * key of key_len bytes, compared as bytes, then its struct acc), an index
 * of them by hash (open addressing, linear probing, at most half full:
 * slot i holds 1 + the entry's position, its hash in hash[]), the texts
 * keys point to, why it stopped. snitch_sum and the drill-down's rows sum
 * into one. Not uthash: its chains cost a cache miss a link, 110 ms of the
 * 260 that the 820,000 rows of lport over 30 days took; an index of 4-byte
 * slots costs about one.
 */
struct sums {
	char *v;
	uint32_t *hash;
	size_t size, key_len;
	size_t max;		/* entries at most, then SUM_GAVE_UP */
	size_t n, cap;
	uint32_t *slot;
	size_t nslots;		/* a power of two, or 0 */
	struct texts ts;
	int stop;		/* 0, SUM_GAVE_UP or -ENOMEM */
};
#define SUM_GAVE_UP 1

/* Sums of entries of type T (its sums in the member a), at most MAX of them. */
#define SUMS_INIT(T, MAX) \
	{ .size = sizeof(T), .key_len = offsetof(T, a), .max = (MAX) }

static void *sum_at(const struct sums *sm, size_t x)
{
	return sm->v + x * sm->size;
}

static void sums_free(struct sums *sm)
{
	free(sm->v);
	free(sm->hash);
	free(sm->slot);
	texts_free(&sm->ts);
	sm->v = NULL;
	sm->hash = sm->slot = NULL;
	sm->n = sm->cap = sm->nslots = 0;
}

/* The free slot of hash h, or the one of the entry whose key is k. */
static size_t sum_slot(const struct sums *sm, uint32_t h, const void *k)
{
	size_t mask = sm->nslots - 1, i = h & mask;

	for (; sm->slot[i]; i = (i + 1) & mask) {
		uint32_t x = sm->slot[i] - 1;

		if (sm->hash[x] == h && k && !memcmp(sum_at(sm, x), k, sm->key_len))
			break;
	}
	return i;
}

/* Room for one more sum, the index at most half full: false on ENOMEM. */
static bool sums_grow(struct sums *sm)
{
	if (sm->n == sm->cap) {
		size_t cap = sm->cap ? sm->cap * 2 : 1024;
		char *v = reallocarray(sm->v, cap, sm->size);
		uint32_t *h = v ? reallocarray(sm->hash, cap, sizeof(*h)) : NULL;

		if (v)
			sm->v = v;
		if (!h)
			return false;
		sm->hash = h;
		sm->cap = cap;
	}
	if (2 * (sm->n + 1) > sm->nslots) {
		size_t ns = sm->nslots ? sm->nslots * 2 : 2048;
		uint32_t *old = sm->slot, *slot = calloc(ns, sizeof(*slot));

		if (!slot)
			return false;
		sm->slot = slot;
		sm->nslots = ns;
		for (size_t x = 0; x < sm->n; x++)
			sm->slot[sum_slot(sm, sm->hash[x], NULL)] = (uint32_t)x + 1;
		free(old);
	}
	return true;
}

/* The sums of key k (key_len bytes), made if new: NULL when it stops (sm->stop says why). */
static struct acc *sum_of(struct sums *sm, const void *k)
{
	uint32_t h = table_hash(k, sm->key_len);
	size_t i = sm->nslots ? sum_slot(sm, h, k) : 0;
	char *e;
	struct acc *a;

	if (sm->nslots && sm->slot[i])
		return (struct acc *)((char *)sum_at(sm, sm->slot[i] - 1) + sm->key_len);
	if (sm->n >= sm->max) {
		sm->stop = SUM_GAVE_UP;
		return NULL;
	}
	if (!sums_grow(sm)) {
		sm->stop = -ENOMEM;
		return NULL;
	}
	i = sum_slot(sm, h, k);		/* the index may have grown */
	e = sum_at(sm, sm->n);
	memcpy(e, k, sm->key_len);
	a = (struct acc *)(e + sm->key_len);
	*a = (struct acc){ .f = INT64_MAX, .l = INT64_MIN };
	sm->hash[sm->n] = h;
	sm->slot[i] = (uint32_t)++sm->n;
	return a;
}

/* Add a row's sums to a. */
static void acc_add(struct acc *a, int64_t s, int64_t r, int64_t c, int64_t e, int64_t f, int64_t l)
{
	a->s += s;
	a->r += r;
	a->c += c;
	a->e += e;
	if (f < a->f)
		a->f = f;
	if (l > a->l)
		a->l = l;
}

/*
 * snitch_sum(key, bucket, send_bytes, recv_bytes, connections, events,
 * first_ns, last_ns): one row of a piece into the sums. The key is a
 * number, a text, NULL, or the empty blob for the groups a series does
 * not keep; anything else, or too many sums or texts, and it gives up,
 * which ends the statement.
 */
static void sum_step(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
	struct q_db *db = sqlite3_user_data(ctx);
	struct sums *sm = db->sums;
	struct sum key;
	struct acc *a;
	bool oom = false;

	(void)argc;
	memset(&key, 0, sizeof(key));
	key.type = sqlite3_value_type(v[0]);
	if (key.type == SQLITE_INTEGER)
		key.num = sqlite3_value_int64(v[0]);
	else if (key.type == SQLITE_TEXT)
		key.text = text_of(&sm->ts, (const char *)sqlite3_value_text(v[0]), &oom);
	else if (key.type != SQLITE_NULL && key.type != SQLITE_BLOB)	/* a blob: "other" */
		sm->stop = SUM_GAVE_UP;
	if (oom)
		sm->stop = -ENOMEM;
	else if (sm->ts.n > SUM_TEXTS)
		sm->stop = SUM_GAVE_UP;
	key.bk = sqlite3_value_int64(v[1]);
	if (sm->stop || !(a = sum_of(sm, &key))) {
		sqlite3_result_error(ctx, "snitch_sum stopped", -1);
		return;
	}
	acc_add(a, sqlite3_value_int64(v[2]), sqlite3_value_int64(v[3]), sqlite3_value_int64(v[4]),
		sqlite3_value_int64(v[5]), sqlite3_value_int64(v[6]), sqlite3_value_int64(v[7]));
}

static void sum_final(sqlite3_context *ctx)
{
	sqlite3_result_null(ctx);
}

/* The function, on a new connection (q_open). */
static int sum_register(struct q_db *db)
{
	return sqlite3_create_function_v2(db->h, "snitch_sum", 8, SQLITE_UTF8 | SQLITE_DIRECTONLY,
					  db, NULL, sum_step, sum_final, NULL);
}

/* Write the sums to a new temp.q_sums: SQLITE_OK or an SQLite error. */
static int sums_write(struct q_db *db, const struct sums *sm)
{
	sqlite3_stmt *st = NULL;
	int r = sqlite3_exec(db->h, "DROP TABLE IF EXISTS temp.q_sums;"
			     " CREATE TEMP TABLE q_sums (k, bk, s, r, c, e, f, l)", NULL, NULL, NULL);

	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(db->h, "INSERT INTO temp.q_sums VALUES (?,?,?,?,?,?,?,?)", -1,
				       &st, NULL);
	for (size_t x = 0; r == SQLITE_OK && x < sm->n; x++) {
		const struct sum *e = sum_at(sm, x);
		const int64_t v[] = { e->bk, e->a.s, e->a.r, e->a.c, e->a.e, e->a.f, e->a.l };

		if (e->type == SQLITE_INTEGER)
			sqlite3_bind_int64(st, 1, e->num);
		else if (e->type == SQLITE_TEXT)
			sqlite3_bind_text(st, 1, e->text, -1, SQLITE_STATIC);
		else if (e->type == SQLITE_BLOB)
			sqlite3_bind_zeroblob(st, 1, 0);
		else
			sqlite3_bind_null(st, 1);
		for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
			sqlite3_bind_int64(st, (int)k + 2, v[k]);
		r = sqlite3_step(st);
		r = r == SQLITE_DONE ? sqlite3_reset(st) : r;
	}
	sqlite3_finalize(st);
	return r;
}

/* One piece into the sums: SQLITE_DONE, or why not. */
static int sum_piece(struct q_db *db, const struct q_spec *s, const struct shape *sh,
		     const struct plan *p, const struct piece *pc, char *err, size_t errsize)
{
	const char *t = pc->src == SRC_RAW ? "window_start_ns" : "bucket_ns";
	struct sql q = { 0 };
	sqlite3_stmt *st;
	int r;

	buf_puts(&q.b, "SELECT snitch_sum(");
	if (sh->key != QF_NONE && sh->keep) {
		/* a key kept as itself, any other as the empty blob, which no key is */
		size_t n = 0;

		buf_puts(&q.b, "CASE WHEN ");
		for (size_t i = 0; i < sh->keep->n; i++) {
			const struct q_filter f = { sh->key, false, sh->keep->v[i].key };

			if (sh->keep->v[i].other)
				continue;
			buf_puts(&q.b, n++ ? " OR (" : "(");
			put_cond(&q, &f, pc->src);
			buf_putc(&q.b, ')');
		}
		buf_puts(&q.b, n ? " THEN " : "0 THEN ");
		put_col(&q.b, sh->key, pc->src);
		buf_puts(&q.b, " ELSE x'' END");
	} else if (sh->key != QF_NONE) {
		put_col(&q.b, sh->key, pc->src);
	} else {
		buf_puts(&q.b, "NULL");
	}
	if (sh->bucket_ns)
		buf_printf(&q.b, ", %s - %s %% %lld", t, t, (long long)sh->bucket_ns);
	else
		buf_puts(&q.b, ", 0");
	buf_printf(&q.b, ", send_bytes, recv_bytes, %s, events, first_ns, last_ns) FROM %s",
		   pc->src == SRC_RAW ? "1" : "conns", src_table[pc->src]);
	put_where(&q, s, pc, p->dim);
	if ((r = prepare_sql(db, &q, &st, err, errsize)) < 0)
		return r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
	return r;
}

/*
 * Sum p's pieces into temp.q_sums and make the plan one piece that reads
 * it, for a query with a key or buckets (above). 0 also when it gave up
 * (the plan unchanged), or -errno with err.
 */
static int sum_pieces(struct q_db *db, const struct q_spec *s, const struct shape *sh,
		      struct plan *p, char *err, size_t errsize)
{
	struct sums sm = SUMS_INIT(struct sum, SUM_MAX);
	int r = SQLITE_DONE;

	if (s->raw_only || s->sql_sums || (sh->key == QF_NONE && !sh->bucket_ns) ||
	    sh->mode == MODE_ROWS)
		return 0;
	db->sums = &sm;
	for (size_t i = 0; i < p->n && r == SQLITE_DONE; i++)
		r = sum_piece(db, s, sh, p, &p->p[i], err, errsize);
	if (r < 0) {
		/* prepare_sql said why */
	} else if (sm.stop == SUM_GAVE_UP) {
		r = 0;		/* SQLite sums them */
	} else if (sm.stop) {
		snprintf(err, errsize, "out of memory");
		r = -ENOMEM;
	} else if (r != SQLITE_DONE || (r = sums_write(db, &sm)) != SQLITE_OK) {
		r = sql_err(db->h, r, err, errsize);
	} else {
		p->p[0] = (struct piece){ SRC_SUMMED, 0, 0, 0, 0 };
		p->n = 1;
		db->summed = true;
		r = 0;
	}
	db->sums = NULL;
	sums_free(&sm);
	return r;
}

static int run(struct q_db *db, const struct q_spec *s, const struct shape *sh,
	       row_fn fn, void *ctx, char *err, size_t errsize)
{
	struct sql q = { 0 };
	struct plan p;
	sqlite3_stmt *st = NULL;
	int r = SQLITE_OK, ret;

	if ((ret = plan_checked(db, s, sh, &p, err, errsize)) < 0 ||
	    (ret = sum_pieces(db, s, sh, &p, err, errsize)) < 0)
		return ret;
	build(db, &q, s, sh, &p);
	if ((ret = prepare_sql(db, &q, &st, err, errsize)) < 0)
		goto out;
	while (r == SQLITE_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
		struct qrow row = {
			.key = (const char *)sqlite3_column_text(st, 0),
			.extra = (const char *)sqlite3_column_text(st, 1),
			.bucket = sqlite3_column_int64(st, 3),
			.s = sqlite3_column_int64(st, 4), .r = sqlite3_column_int64(st, 5),
			.c = sqlite3_column_int64(st, 6), .e = sqlite3_column_int64(st, 7),
			.f = sqlite3_column_int64(st, 8), .l = sqlite3_column_int64(st, 9),
		};

		if (sh->mode == MODE_EXES) {
			row.sha = row.extra;
			row.extra = (const char *)sqlite3_column_text(st, 2);
		} else {
			row.other = sqlite3_column_int(st, 2) != 0;
		}
		r = SQLITE_OK;
		/* an aggregate over no row at all: no row */
		if (sqlite3_column_type(st, 4) == SQLITE_NULL)
			continue;
		if ((ret = fn(ctx, &row)) < 0) {
			snprintf(err, errsize, "out of memory");
			break;
		}
	}
	if (!ret && r != SQLITE_DONE)
		ret = sql_err(db->h, r, err, errsize);
	sqlite3_finalize(st);
out:
	if (db->summed) {
		db->summed = false;
		(void)sqlite3_exec(db->h, "DROP TABLE IF EXISTS temp.q_sums", NULL, NULL, NULL);
	}
	return ret;
}

/* ---- groups ---- */

/* The capacity q_rows has at n rows: 0, then 4, 8, 16... */
static size_t rows_cap(size_t n)
{
	size_t c = 4;

	while (c < n)
		c *= 2;
	return n ? c : 0;
}

static int add_row(void *ctx, const struct qrow *x)
{
	struct q_rows *rs = ctx;
	struct q_row *nv, *row;

	if (rs->n == rows_cap(rs->n)) {
		if (!(nv = realloc(rs->v, rows_cap(rs->n + 1) * sizeof(*nv))))
			return -ENOMEM;
		rs->v = nv;
	}
	row = &rs->v[rs->n];
	memset(row, 0, sizeof(*row));
	if ((x->key && !(row->key = strdup(x->key))) || (x->extra && !(row->extra = strdup(x->extra)))) {
		free(row->key);
		return -ENOMEM;
	}
	row->sent = (uint64_t)x->s;
	row->received = (uint64_t)x->r;
	row->connections = (uint64_t)x->c;
	row->events = (uint64_t)x->e;
	row->first_ns = x->f;
	row->last_ns = x->l;
	rs->n++;
	return 0;
}

static void fold_other(struct q_rows *rs, size_t top)
{
	struct q_row o = { .other = true, .first_ns = INT64_MAX };

	if (!top || rs->n <= top)
		return;
	for (size_t i = top; i < rs->n; i++) {
		struct q_row *x = &rs->v[i];

		o.sent += x->sent;
		o.received += x->received;
		o.connections += x->connections;
		o.events += x->events;
		if (x->first_ns < o.first_ns)
			o.first_ns = x->first_ns;
		if (x->last_ns > o.last_ns)
			o.last_ns = x->last_ns;
		free(x->key);
		free(x->extra);
	}
	rs->v[top] = o;
	rs->n = top + 1;
}

static int group(struct q_db *db, const struct q_spec *s, enum q_field f, size_t top,
		 struct q_rows *out, char *err, size_t errsize)
{
	struct shape sh = { f, 0, MODE_GROUP, NULL };
	int r;

	memset(out, 0, sizeof(*out));
	out->field = f;
	r = run(db, s, &sh, add_row, out, err, errsize);
	if (r < 0) {
		q_rows_free(out);
		return r;
	}
	fold_other(out, top);
	return 0;
}

/* ---- verdicts ---- */

static bool field_is_sha(enum q_field f)
{
	return f == QF_SHA256 || f == QF_PARENT_SHA256 || f == QF_GPARENT_SHA256;
}

static void vt_free(struct q_vt *v)
{
	if (!v)
		return;
	free(v->status);
	free(v->link);
	free(v);
}

/* The verdict of sha into *out (NULL: none); version >= 5 only. */
static int vt_lookup(struct q_db *db, sqlite3_stmt **st, const char *sha, struct q_vt **out,
		     char *err, size_t errsize)
{
	const unsigned char *t;
	struct q_vt *v;
	int r;

	*out = NULL;
	if (!sha)
		return 0;
	if (!*st) {
		r = sqlite3_prepare_v2(db->h,
				       "SELECT status, malicious + coalesce(suspicious, 0),"
				       " engines, link FROM verdicts WHERE sha256 = ?", -1, st, NULL);
		if (r != SQLITE_OK)
			return sql_err(db->h, r, err, errsize);
	}
	sqlite3_reset(*st);
	sqlite3_bind_text(*st, 1, sha, -1, SQLITE_TRANSIENT);
	r = sqlite3_step(*st);
	if (r == SQLITE_DONE)
		return 0;
	if (r != SQLITE_ROW)
		return sql_err(db->h, r, err, errsize);
	if (!(v = calloc(1, sizeof(*v))))
		goto oom;
	if ((t = sqlite3_column_text(*st, 0)) && !(v->status = strdup((const char *)t)))
		goto oom;
	if ((t = sqlite3_column_text(*st, 3)) && !(v->link = strdup((const char *)t)))
		goto oom;
	v->flagged = sqlite3_column_type(*st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(*st, 1);
	v->engines = sqlite3_column_type(*st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(*st, 2);
	*out = v;
	return 0;
oom:
	vt_free(v);
	snprintf(err, errsize, "out of memory");
	return -ENOMEM;
}

/* Fill vt of rows of a sha256 field. */
static int rows_vt(struct q_db *db, struct q_rows *rows, char *err, size_t errsize)
{
	sqlite3_stmt *st = NULL;
	int r = 0;

	if (db->version < 5 || !field_is_sha(rows->field))
		return 0;
	for (size_t i = 0; i < rows->n && r == 0; i++) {
		if (rows->v[i].other)
			continue;
		rows->v[i].vt_known = true;
		r = vt_lookup(db, &st, rows->v[i].key, &rows->v[i].vt, err, errsize);
	}
	sqlite3_finalize(st);
	return r;
}

static int do_group(struct q_db *db, const struct q_spec *s, struct q_rows *out, char *err, size_t errsize)
{
	int r;

	if (s->group_by == QF_NONE) {
		memset(out, 0, sizeof(*out));
		snprintf(err, errsize, "no group-by field");
		return -EINVAL;
	}
	if ((r = group(db, s, s->group_by, s->top, out, err, errsize)) < 0)
		return r;
	if ((r = rows_vt(db, out, err, errsize)) < 0)
		q_rows_free(out);
	return r;
}

static int cmp_key(const char *a, const char *b)
{
	if (!a || !b)
		return a ? 1 : b ? -1 : 0;
	return strcmp(a, b);
}

static int cmp_row_key(const void *a, const void *b)
{
	return cmp_key(((const struct q_row *)a)->key, ((const struct q_row *)b)->key);
}

static int do_distinct(struct q_db *db, const struct q_spec *s, enum q_field field, size_t limit,        struct q_rows *out, char *err, size_t errsize)
{
	int r = group(db, s, field, 0, out, err, errsize);

	if (r < 0)
		return r;
	/* the most used first, cut at limit, then by value */
	if (limit && out->n > limit) {
		for (size_t i = limit; i < out->n; i++) {
			free(out->v[i].key);
			free(out->v[i].extra);
		}
		out->n = limit;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_row_key);
	return 0;
}

/* ---- totals ---- */

static int add_totals(void *ctx, const struct qrow *x)
{
	struct q_totals *t = ctx;

	t->sent = (uint64_t)x->s;
	t->received = (uint64_t)x->r;
	t->connections = (uint64_t)x->c;
	t->events = (uint64_t)x->e;
	t->first_ns = x->f;
	t->last_ns = x->l;
	return 0;
}

static int do_totals(struct q_db *db, const struct q_spec *s, struct q_totals *out, char *err,      size_t errsize)
{
	struct shape sh = { QF_NONE, 0, MODE_GROUP, NULL };
	struct q_rows now = { 0 }, before = { 0 };
	sqlite3_stmt *st;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = run(db, s, &sh, add_totals, out, err, errsize)) < 0)
		return r;
	/*
	 * executables: paths seen in the range (filters applied); new: whose
	 * first row ever (any filter) is in it, from the index by executable
	 * (one lookup per executable, whatever the range)
	 */
	if ((r = group(db, s, QF_EXE, 0, &now, err, errsize)) < 0)
		return r;
	r = sqlite3_prepare_v2(db->h,
		"SELECT e.path FROM executables e GROUP BY e.path"
		" HAVING min((SELECT min(window_start_ns) FROM connections c WHERE c.exe_id = e.id)) >= ?1",
		-1, &st, NULL);
	if (r == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, s->from_ns);
		while ((r = sqlite3_step(st)) == SQLITE_ROW)
			if (add_row(&before, &(struct qrow){ .key = (const char *)sqlite3_column_text(st, 0) }) < 0) {
				r = SQLITE_NOMEM;
				break;
			}
		sqlite3_finalize(st);
	}
	if (r != SQLITE_DONE) {
		q_rows_free(&now);
		q_rows_free(&before);
		return sql_err(db->h, r, err, errsize);
	}
	if (before.n)
		qsort(before.v, before.n, sizeof(*before.v), cmp_row_key);
	for (size_t i = 0; i < now.n; i++) {
		if (!now.v[i].key)
			continue;
		out->executables++;
		if (before.n && bsearch(&now.v[i], before.v, before.n, sizeof(*before.v), cmp_row_key))
			out->new_executables++;
	}
	q_rows_free(&now);
	q_rows_free(&before);
	return 0;
}

/* ---- series ---- */

struct series_ctx {
	struct q_series *out;
	const struct q_rows *top;	/* ranked keys kept; others go to "other" */
	bool grouped;
	size_t cap;
};

static int add_point(void *ctx, const struct qrow *x)
{
	struct series_ctx *c = ctx;
	struct q_series *se = c->out;
	struct q_point *pt;
	bool kept = !x->other && (!c->grouped || !c->top);

	for (size_t i = 0; !kept && !x->other && i < c->top->n; i++)
		if (!c->top->v[i].other && !cmp_key(c->top->v[i].key, x->key))
			kept = true;
	if (se->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct q_point *nv = realloc(se->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		se->v = nv;
		c->cap = cap;
	}
	pt = &se->v[se->n];
	memset(pt, 0, sizeof(*pt));
	pt->bucket_ns = x->bucket;
	pt->other = !kept;
	if (kept && x->key && !(pt->key = strdup(x->key)))
		return -ENOMEM;
	pt->sent = (uint64_t)x->s;
	pt->received = (uint64_t)x->r;
	pt->connections = (uint64_t)x->c;
	se->n++;
	return 0;
}

/* Per bucket (the points come by bucket): the kept points, then one "other". */
static void fold_series_other(struct q_series *se)
{
	size_t w = 0, i = 0;

	while (i < se->n) {
		int64_t bk = se->v[i].bucket_ns;
		struct q_point o = { .bucket_ns = bk, .other = true };
		bool any = false;

		for (; i < se->n && se->v[i].bucket_ns == bk; i++) {
			if (se->v[i].other) {
				o.sent += se->v[i].sent;
				o.received += se->v[i].received;
				o.connections += se->v[i].connections;
				any = true;
			} else {
				se->v[w++] = se->v[i];
			}
		}
		if (any)
			se->v[w++] = o;
	}
	se->n = w;
}

static int64_t pick_bucket(const struct q_spec *s, struct q_db *db)
{
	static const int64_t steps[] = {
		ROLLUP_MINUTE_NS, 5 * ROLLUP_MINUTE_NS, 15 * ROLLUP_MINUTE_NS, ROLLUP_HOUR_NS,
		6 * ROLLUP_HOUR_NS, ROLLUP_DAY_NS, 7 * ROLLUP_DAY_NS,
	};
	int64_t from = s->from_ns, until = s->until_ns, span;
	struct q_meta m;
	char err[8];

	if ((from == 0 || until == INT64_MAX) && q_meta(db, &m, err, sizeof(err)) == 0) {
		if (from == 0)
			from = m.first_ns;
		if (until == INT64_MAX)
			until = m.last_ns + ROLLUP_MINUTE_NS;
	}
	span = until > from ? until - from : ROLLUP_HOUR_NS;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (span / steps[i] <= 60)
			return steps[i];
	return 7 * ROLLUP_DAY_NS;
}

static int do_series(struct q_db *db, const struct q_spec *s, struct q_series *out, char *err,      size_t errsize)
{
	struct q_rows top = { 0 };
	struct series_ctx c = { out, NULL, s->group_by != QF_NONE, 0 };
	struct shape sh = { s->group_by, s->bucket_ns, MODE_GROUP, NULL };
	int r;

	memset(out, 0, sizeof(*out));
	out->field = s->group_by;
	if (!sh.bucket_ns)
		sh.bucket_ns = pick_bucket(s, db);
	out->bucket_ns = sh.bucket_ns;
	if (c.grouped && s->top) {
		if ((r = group(db, s, s->group_by, s->top, &top, err, errsize)) < 0)
			return r;
		c.top = &top;
		sh.keep = &top;
	}
	r = run(db, s, &sh, add_point, &c, err, errsize);
	q_rows_free(&top);
	if (r < 0)
		q_series_free(out);
	else
		fold_series_other(out);
	return r;
}

/* ---- drill-down ---- */

/*
 * The sums of one value of one list of a drill-down: the list is column
 * col of its rows (drill_cols, then DRILL_COLS: the outcome); the value is
 * v (null: none), or the outcome's text (schema 10; one copy of each text
 * in the sums' texts, so the key compares it as a pointer).
 */
struct drill_row {
	int64_t col;
	int64_t v, null;
	const char *outcome;
	struct acc a;
};

/* The dimension (ROLLUP_DIM_*) that names list c in temp.q_drill. */
static int drill_col_dim(size_t c)
{
	return c == DRILL_COLS ? ROLLUP_DIM_OUTCOME : fields[drill_cols[c]].dim;
}

/*
 * Add the row st is at (columns: drill_cols, the outcome, then the six
 * sums) to each list's value in sm: a few thousand sums in all, where
 * one per combination of the columns was hundreds of thousands (the
 * year's rows of uid 1000), each row a cache miss.
 */
static int drill_add(struct sums *sm, sqlite3_stmt *st)
{
	int64_t v[6];		/* the sums, as struct acc has them */
	struct drill_row key;
	struct acc *a;
	bool oom = false;

	for (int k = 0; k < 6; k++)
		v[k] = sqlite3_column_int64(st, (int)DRILL_SUMS + k);
	for (size_t c = 0; c <= DRILL_COLS; c++) {
		memset(&key, 0, sizeof(key));
		key.col = (int64_t)c;
		if (c == DRILL_COLS) {
			key.outcome = text_of(&sm->ts, (const char *)sqlite3_column_text(st, (int)c), &oom);
			key.null = !key.outcome;
		} else {
			if (sqlite3_column_type(st, (int)c) == SQLITE_NULL)
				key.null = 1;
			else
				key.v = sqlite3_column_int64(st, (int)c);
		}
		if (oom || !(a = sum_of(sm, &key)))
			return -ENOMEM;
		acc_add(a, v[0], v[1], v[2], v[3], v[4], v[5]);
	}
	return 0;
}

/* Write the rows of sm to temp.q_drill: (dim, drill_cols, outcome, sums), one value set a row. */
static int drill_write(struct q_db *db, const struct sums *sm, char *err, size_t errsize)
{
	struct buf b = BUF_INIT;
	sqlite3_stmt *st = NULL;
	int r;

	buf_puts(&b, "CREATE TEMP TABLE q_drill (dim, ");
	for (size_t c = 0; c < DRILL_COLS; c++)
		buf_printf(&b, "%s, ", fields[drill_cols[c]].rucol);
	buf_puts(&b, "outcome, send_bytes, recv_bytes, conns, events, first_ns, last_ns)");
	buf_putc(&b, '\0');
	if (b.oom) {
		buf_release(&b);
		snprintf(err, errsize, "out of memory");
		return -ENOMEM;
	}
	r = sqlite3_exec(db->h, b.p, NULL, NULL, NULL);
	buf_release(&b);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(db->h, "INSERT INTO temp.q_drill VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
				       -1, &st, NULL);
	for (size_t x = 0; r == SQLITE_OK && x < sm->n; x++) {
		const struct drill_row *e = sum_at(sm, x);
		const int64_t sums[] = { e->a.s, e->a.r, e->a.c, e->a.e, e->a.f, e->a.l };

		sqlite3_clear_bindings(st);
		sqlite3_bind_int64(st, 1, drill_col_dim((size_t)e->col));
		if (e->outcome)
			sqlite3_bind_text(st, (int)e->col + 2, e->outcome, -1, SQLITE_STATIC);
		else if (!e->null)
			sqlite3_bind_int64(st, (int)e->col + 2, e->v);
		for (size_t k = 0; k < sizeof(sums) / sizeof(sums[0]); k++)
			sqlite3_bind_int64(st, (int)(DRILL_SUMS + k + 2), sums[k]);
		r = sqlite3_step(st);
		r = r == SQLITE_DONE ? sqlite3_reset(st) : r;
	}
	sqlite3_finalize(st);
	return r == SQLITE_OK ? 0 : sql_err(db->h, r, err, errsize);
}

/*
 * The rows of a drill-down's range and filters, read once (from the
 * rollups and raw edges the plan picks), summed per value of the columns
 * its lists group by (in C: a hash, not SQLite's sort), into
 * temp.q_drill: its queries then read that (SRC_DRILL), a few
 * thousand rows, instead of the range eight times. temp_store is memory
 * (q_open).
 */
static int drill_rows(struct q_db *db, const struct q_spec *s, char *err, size_t errsize)
{
	const struct shape sh = { QF_NONE, 0, MODE_ROWS, NULL };
	/* no limit but memory's: the values of its lists, a few thousand (addresses, domains) */
	struct sums sm = SUMS_INIT(struct drill_row, UINT32_MAX / 2);
	struct sql q = { 0 };
	struct plan p;
	sqlite3_stmt *st;
	int r;

	if ((r = plan_checked(db, s, &sh, &p, err, errsize)) < 0)
		return r;
	for (size_t i = 0; i < p.n; i++) {
		const struct piece *pc = &p.p[i];

		buf_puts(&q.b, i ? " UNION ALL SELECT " : "SELECT ");
		for (size_t c = 0; c < DRILL_COLS; c++) {
			put_col(&q.b, drill_cols[c], pc->src);
			buf_puts(&q.b, ", ");
		}
		/* the outcome: in the rollups from schema 10 on (the list is empty before) */
		if (q_field_version(QF_OUTCOME) <= db->version)
			put_col(&q.b, QF_OUTCOME, pc->src);
		else
			buf_puts(&q.b, "NULL");
		buf_printf(&q.b, ", send_bytes, recv_bytes, %s, events, first_ns, last_ns FROM %s",
			   pc->src == SRC_RAW ? "1" : "conns", src_table[pc->src]);
		put_where(&q, s, pc, p.dim);
	}
	if ((r = sqlite3_exec(db->h, "DROP TABLE IF EXISTS temp.q_drill", NULL, NULL, NULL)) != SQLITE_OK) {
		sql_release(&q);
		return sql_err(db->h, r, err, errsize);
	}
	if ((r = prepare_sql(db, &q, &st, err, errsize)) < 0)
		return r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if (drill_add(&sm, st) < 0) {
			sqlite3_finalize(st);
			sums_free(&sm);
			snprintf(err, errsize, "out of memory");
			return -ENOMEM;
		}
	sqlite3_finalize(st);
	r = r == SQLITE_DONE ? drill_write(db, &sm, err, errsize) : sql_err(db->h, r, err, errsize);
	sums_free(&sm);
	return r;
}

static int do_drill(struct q_db *db, const struct q_spec *s, enum q_field field, const char *value,     struct q_drill *out, char *err, size_t errsize)
{
	struct q_spec d = *s;
	struct { struct q_rows *rows; enum q_field f; } lists[] = {
		{ &out->domains, QF_DOMAIN }, { &out->addresses, QF_RADDR },
		{ &out->ports, QF_RPORT }, { &out->parents, QF_PARENT_EXE },
		{ &out->users, QF_USER }, { &out->sha256, QF_SHA256 },
		{ &out->scripts, QF_SCRIPT }, { &out->apps, QF_APP },
		{ &out->outcomes, QF_OUTCOME },
	};
	int r;

	memset(out, 0, sizeof(*out));
	out->field = field;
	if (!q_field_name(field)) {
		snprintf(err, errsize, "unknown drill-down field");
		return -EINVAL;
	}
	if (d.nfilters >= Q_MAX_FILTERS) {
		snprintf(err, errsize, "more than %d filters", Q_MAX_FILTERS);
		return -EINVAL;
	}
	d.filters[d.nfilters++] = (struct q_filter){ field, false, value };
	if (value && !(out->value = strdup(value))) {
		snprintf(err, errsize, "out of memory");
		return -ENOMEM;
	}
	/* the baseline (raw_only) reads the raw table for each list, as a person would */
	if (!d.raw_only) {
		if ((r = drill_rows(db, &d, err, errsize)) < 0)
			goto fail;
		db->drill_rows = true;
	}
	if ((r = do_totals(db, &d, &out->totals, err, errsize)) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (q_field_version(lists[i].f) > db->version)
			continue;	/* an older log: the list stays empty */
		else if ((r = group(db, &d, lists[i].f, s->top, lists[i].rows, err, errsize)) < 0 ||
		    (r = rows_vt(db, lists[i].rows, err, errsize)) < 0)
			goto fail;
	r = 0;
fail:
	if (r < 0)
		q_drill_free(out);
	if (db->drill_rows) {
		db->drill_rows = false;
		(void)sqlite3_exec(db->h, "DROP TABLE IF EXISTS temp.q_drill", NULL, NULL, NULL);
	}
	return r;
}

/* ---- executables ---- */

struct exes_ctx {
	struct q_exes *out;
	size_t cap;
};

static int add_exe(void *ctx, const struct qrow *x)
{
	struct exes_ctx *c = ctx;
	struct q_exes *es = c->out;
	struct q_exe *e = es->n ? &es->v[es->n - 1] : NULL;
	struct q_hash *h;

	if (!x->key)
		return 0;	/* rows of no executable (a NULL reference) */
	if (!e || strcmp(e->path, x->key)) {
		if (es->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 32;
			struct q_exe *nv = realloc(es->v, cap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			es->v = nv;
			c->cap = cap;
		}
		e = &es->v[es->n];
		memset(e, 0, sizeof(*e));
		if (!(e->path = strdup(x->key)))
			return -ENOMEM;
		e->first_ns = INT64_MAX;
		e->last_ns = INT64_MIN;
		es->n++;
	}
	if (!(h = realloc(e->hashes, (e->nhashes + 1) * sizeof(*h))))
		return -ENOMEM;
	e->hashes = h;
	h = &e->hashes[e->nhashes];
	memset(h, 0, sizeof(*h));
	if (x->sha && !(h->sha256 = strdup(x->sha)))
		return -ENOMEM;
	h->first_ns = x->f;
	h->last_ns = x->l;
	e->nhashes++;
	if (x->f < e->first_ns)
		e->first_ns = x->f;
	if (x->l > e->last_ns) {
		char *name;

		e->last_ns = x->l;
		/* the name of the version seen last */
		if (x->extra && (name = strdup(x->extra))) {
			free(e->name);
			e->name = name;
		}
	}
	if (!e->name && x->extra)
		e->name = strdup(x->extra);
	e->sent += (uint64_t)x->s;
	e->received += (uint64_t)x->r;
	e->connections += (uint64_t)x->c;
	return 0;
}

static int cmp_exe(const void *a, const void *b)
{
	const struct q_exe *x = a, *y = b;

	if (x->first_ns != y->first_ns)
		return x->first_ns > y->first_ns ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int do_executables(struct q_db *db, const struct q_spec *s, struct q_exes *out, char *err, 	  size_t errsize)
{
	struct shape sh = { QF_EXE, 0, MODE_EXES, NULL };
	struct exes_ctx c = { out, 0 };
	int r;

	memset(out, 0, sizeof(*out));
	r = run(db, s, &sh, add_exe, &c, err, errsize);
	if (r < 0) {
		q_exes_free(out);
		return r;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_exe);
	if (db->version >= 5) {
		sqlite3_stmt *st = NULL;

		for (size_t i = 0; i < out->n && r == 0; i++)
			for (size_t j = 0; j < out->v[i].nhashes && r == 0; j++) {
				struct q_hash *h = &out->v[i].hashes[j];

				h->vt_known = true;
				r = vt_lookup(db, &st, h->sha256, &h->vt, err, errsize);
			}
		sqlite3_finalize(st);
		if (r < 0)
			q_exes_free(out);
	}
	return r;
}

/* ---- freeing ---- */

void q_rows_free(struct q_rows *r)
{
	for (size_t i = 0; r && i < r->n; i++) {
		free(r->v[i].key);
		free(r->v[i].extra);
		vt_free(r->v[i].vt);
	}
	if (r) {
		free(r->v);
		r->v = NULL;
		r->n = 0;
	}
}

void q_series_free(struct q_series *s)
{
	for (size_t i = 0; s && i < s->n; i++)
		free(s->v[i].key);
	if (s) {
		free(s->v);
		s->v = NULL;
		s->n = 0;
	}
}

void q_drill_free(struct q_drill *d)
{
	if (!d)
		return;
	free(d->value);
	d->value = NULL;
	q_rows_free(&d->domains);
	q_rows_free(&d->addresses);
	q_rows_free(&d->ports);
	q_rows_free(&d->parents);
	q_rows_free(&d->users);
	q_rows_free(&d->sha256);
	q_rows_free(&d->scripts);
	q_rows_free(&d->apps);
	q_rows_free(&d->outcomes);
}

void q_exes_free(struct q_exes *e)
{
	for (size_t i = 0; e && i < e->n; i++) {
		free(e->v[i].path);
		free(e->v[i].name);
		for (size_t j = 0; j < e->v[i].nhashes; j++)
		{
			free(e->v[i].hashes[j].sha256);
			vt_free(e->v[i].hashes[j].vt);
		}
		free(e->v[i].hashes);
	}
	if (e) {
		free(e->v);
		e->v = NULL;
		e->n = 0;
	}
}

/* ---- the public calls, each within the time limit of its spec ---- */

int q_group(struct q_db *db, const struct q_spec *s, struct q_rows *out, char *err, size_t errsize)
{
	int r;

	budget_enter(db, s);
	r = do_group(db, s, out, err, errsize);
	budget_leave(db);
	return r;
}

int q_distinct(struct q_db *db, const struct q_spec *s, enum q_field field, size_t limit,
	       struct q_rows *out, char *err, size_t errsize)
{
	int r;

	budget_enter(db, s);
	r = do_distinct(db, s, field, limit, out, err, errsize);
	budget_leave(db);
	return r;
}

int q_totals(struct q_db *db, const struct q_spec *s, struct q_totals *out, char *err,
	     size_t errsize)
{
	int r;

	budget_enter(db, s);
	r = do_totals(db, s, out, err, errsize);
	budget_leave(db);
	return r;
}

int q_series(struct q_db *db, const struct q_spec *s, struct q_series *out, char *err,
	     size_t errsize)
{
	int r;

	budget_enter(db, s);
	r = do_series(db, s, out, err, errsize);
	budget_leave(db);
	return r;
}

int q_drill(struct q_db *db, const struct q_spec *s, enum q_field field, const char *value,
	    struct q_drill *out, char *err, size_t errsize)
{
	int r;

	budget_enter(db, s);
	r = do_drill(db, s, field, value, out, err, errsize);
	budget_leave(db);
	return r;
}

int q_executables(struct q_db *db, const struct q_spec *s, struct q_exes *out, char *err,
		  size_t errsize)
{
	int r;

	budget_enter(db, s);
	r = do_executables(db, s, out, err, errsize);
	budget_leave(db);
	return r;
}
