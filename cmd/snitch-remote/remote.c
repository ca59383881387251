/* SPDX-License-Identifier: MIT */
/*
 * The spool and the sender thread.
 *
 * Row records go first to a spool file, in order (docs/schema.md, "The
 * spool"); a thread sends them from there and records how far it got in
 * SPOOL.offset only after the server committed them. A server that is
 * down or slow therefore delays nothing but itself, and nothing is lost.
 * Every connections row carries a unique row_uid and every reference row
 * a content-hash id, and every insert is "do nothing if present" -- which
 * needs only the INSERT privilege -- so lines sent twice (a crash between
 * commit and offset) are stored once.
 *
 * Every statement is prepared once per connection and its values bound as
 * parameters (PQexecPrepared, mysql_stmt_execute): no SQL text is made
 * from values. The table name, an identifier, is checked at start.
 */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "clock.h"
#include "idcache.h"
#include "json.h"
#include "log.h"
#include "output.h"
#include "record.h"
#include "remote.h"
#include "spool.h"

#define SEND_LINES 500		/* spool lines per transaction */
#define CHUNK (4U << 20)	/* spool bytes read at once: more than a line */
#define SEEN_REFS 16384		/* reference ids this connection inserted */

/* ---- the statements ---- */

static const char *const pg_sql[NSTMTS - 1] = {
	"INSERT INTO executables (id, path, name, cmdline, sha256, app_kind, app, script_path, script_sha256)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
	"INSERT INTO addresses (id, addr) VALUES ($1, $2) ON CONFLICT DO NOTHING",
	"INSERT INTO domains (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
	"INSERT INTO containers (id, name, container_name, image, pod_namespace, pod_name, pod_uid)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
};
static const char *const my_sql[NSTMTS - 1] = {
	"INSERT IGNORE INTO executables (id, path, name, cmdline, sha256, app_kind, app, script_path, script_sha256)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	"INSERT IGNORE INTO addresses (id, addr) VALUES (?, ?)",
	"INSERT IGNORE INTO domains (id, name) VALUES (?, ?)",
	"INSERT IGNORE INTO containers (id, name, container_name, image, pod_namespace, pod_name, pod_uid)"
	" VALUES (?, ?, ?, ?, ?, ?, ?)",
};
/* For tables made before the apps, scripts and container names (schema.c). */
static const char *const pg_old[] = {
	[S_EXE] = "INSERT INTO executables (id, path, name, cmdline, sha256) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
	[S_CONTAINER] = "INSERT INTO containers (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
};
static const char *const my_old[] = {
	[S_EXE] = "INSERT IGNORE INTO executables (id, path, name, cmdline, sha256) VALUES (?, ?, ?, ?, ?)",
	[S_CONTAINER] = "INSERT IGNORE INTO containers (id, name) VALUES (?, ?)",
};
static const char conn_columns[] =
	" (host, row_uid, window_start_ns, window_end_ns, first_ns, last_ns,"
	" send_bytes, recv_bytes, events, exe_id, parent_exe_id, gparent_exe_id,"
	" uid, family, proto, lport, rport, laddr_id, raddr_id, domain_id, netns,"
	" container_id)";

struct remote {
	enum remote_kind kind;
	char *url;
	const char *table;
	uint64_t retry_max_s;
	const struct file_perms *perms;
	struct stage *st;
	/* the spool */
	char *spool, *offpath;
	int fd;				/* appended by the loop's thread */
	struct buf pending;		/* appended, not yet written */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t size;			/* bytes written and synced */
	uint64_t offset;		/* bytes sent and committed */
	bool stop;
	bool down;			/* an outage is being reported */
	bool noted_create;
	bool noted_old;
	uint64_t skip_at;		/* offset + 1 of a line the server refused */
	pthread_t thread;
	/* the connection (sender thread) */
	PGconn *pg;
	MYSQL *my;
	MYSQL_STMT *my_stmt[NSTMTS];
	bool old[NSTMTS];		/* its table lacks the newer columns: the older statement */
	int64_t seen_ids[SEEN_REFS];
	struct id_cache seen;		/* reference ids this connection inserted */
};

/* ---- spooling (the loop's thread) ---- */

void remote_append(struct remote *r, const char *lines, size_t len)
{
	buf_append(&r->pending, lines, len);
}

size_t remote_pending(const struct remote *r)
{
	return r->pending.len;
}

uint64_t remote_spool_bytes(struct remote *r)
{
	uint64_t n;

	pthread_mutex_lock(&r->mu);
	n = r->size > r->offset ? r->size - r->offset : 0;
	pthread_mutex_unlock(&r->mu);
	return n + r->pending.len;
}

uint64_t remote_drop_pending(struct remote *r)
{
	uint64_t n = 0;

	for (size_t i = 0; i < r->pending.len; i++)
		n += r->pending.p[i] == '\n';
	buf_reset(&r->pending);
	r->pending.oom = 0;	/* what failed to fit is gone with the rest */
	return n;
}

int remote_flush(struct remote *r)
{
	int ret = 0;

	if (r->pending.oom)
		return -ENOMEM;
	if (!r->pending.len)
		return 0;
	pthread_mutex_lock(&r->mu);
	/* a write that failed half-way left a partial line: the sender skips it */
	ret = write_all(r->fd, r->pending.p, r->pending.len);
	if (ret == 0 && fdatasync(r->fd) < 0)
		ret = -errno;
	if (ret == 0) {
		r->size += r->pending.len;
		pthread_cond_signal(&r->cv);
	} else {
		/* what did reach the file is unknown: cut back to what was synced */
		if (ftruncate(r->fd, (off_t)r->size) < 0) {
			/* the partial line stays; the sender skips it */
		}
	}
	pthread_mutex_unlock(&r->mu);
	if (ret == 0)
		buf_reset(&r->pending);
	return ret;
}

/* ---- the spool offset ---- */

static uint64_t read_offset(const char *path)
{
	char text[32] = "";
	FILE *f = fopen(path, "re");
	unsigned long long v = 0;

	if (f) {
		if (fgets(text, sizeof(text), f))
			v = strtoull(text, NULL, 10);
		fclose(f);
	}
	return v;
}

static int write_offset(struct remote *r, uint64_t off)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)off);

	return atomic_write_file(r->offpath, text, (size_t)n, 0600, r->perms, 0);
}

/* ---- the servers ---- */

static void disconnect(struct remote *r)
{
	for (int i = 0; i < NSTMTS; i++) {
		if (r->my_stmt[i])
			mysql_stmt_close(r->my_stmt[i]);
		r->my_stmt[i] = NULL;
	}
	if (r->pg)
		PQfinish(r->pg);
	if (r->my)
		mysql_close(r->my);
	r->pg = NULL;
	r->my = NULL;
	/* a new connection knows nothing of what was inserted */
	id_cache_clear(&r->seen);
}

/* Statements of this program's own, without values. */
static int run_sql(struct remote *r, const char *sql, char *err, size_t errsize)
{
	if (r->kind == REMOTE_PG) {
		PGresult *res = PQexec(r->pg, sql);
		int ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
			 PQresultStatus(res) == PGRES_TUPLES_OK;

		if (!ok)
			snprintf(err, errsize, "%s", PQerrorMessage(r->pg));
		PQclear(res);
		return ok ? 0 : -1;
	}
	for (const char *p = sql; *p;) {
		const char *e = strstr(p, ";\n");
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n && mysql_real_query(r->my, p, (unsigned long)n) != 0) {
			snprintf(err, errsize, "%s", mysql_error(r->my));
			return -1;
		}
		p += n + (e ? 2 : 0);
	}
	return 0;
}

/* mysql://user:password@host:port/database?socket=/path */
static int my_connect(struct remote *r, char *err, size_t errsize)
{
	char user[128] = "", pass[256] = "", host[256] = "", db[128] = "", sock[512] = "";
	unsigned port = 0;
	const char *p = strstr(r->url, "://") + 3, *at, *slash, *q;
	unsigned timeout = 5;

	at = strchr(p, '@');
	slash = strchr(p, '/');
	if (at && (!slash || at < slash)) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		snprintf(user, sizeof(user), "%.*s", (int)((colon ? colon : at) - p), p);
		if (colon)
			snprintf(pass, sizeof(pass), "%.*s", (int)(at - colon - 1), colon + 1);
		p = at + 1;
	}
	slash = strchr(p, '/');
	{
		const char *hend = slash ? slash : p + strlen(p);
		const char *colon = memchr(p, ':', (size_t)(hend - p));
		snprintf(host, sizeof(host), "%.*s", (int)((colon ? colon : hend) - p), p);
		if (colon) {
			unsigned long v = strtoul(colon + 1, NULL, 10);
			port = v <= 65535 ? (unsigned)v : 0;
		}
	}
	if (slash) {
		q = strchr(slash, '?');
		snprintf(db, sizeof(db), "%.*s", (int)((q ? q : slash + strlen(slash)) - slash - 1), slash + 1);
		if (q && !strncmp(q + 1, "socket=", 7))
			snprintf(sock, sizeof(sock), "%s", q + 8);
	}
	r->my = mysql_init(NULL);
	if (!r->my) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	mysql_options(r->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(r->my, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_options(r->my, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	if (!mysql_real_connect(r->my, host[0] ? host : NULL, user[0] ? user : NULL,
				pass[0] ? pass : NULL, db[0] ? db : NULL, port,
				sock[0] ? sock : NULL, 0)) {
		snprintf(err, errsize, "%s", mysql_error(r->my));
		return -1;
	}
	mysql_set_character_set(r->my, "utf8mb4");
	return 0;
}

/* Does the connections table exist? Readable without privileges on it. */
static bool table_exists(struct remote *r)
{
	static const char my_q[] =
		"SELECT COUNT(*) FROM information_schema.tables"
		" WHERE table_schema = DATABASE() AND table_name = ?";
	bool yes = false;

	if (r->kind == REMOTE_PG) {
		const char *v[1] = { r->table };
		PGresult *res = PQexecParams(r->pg, "SELECT to_regclass($1) IS NOT NULL",
					     1, NULL, v, NULL, NULL, 0);

		yes = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		      !strcmp(PQgetvalue(res, 0, 0), "t");
		PQclear(res);
		return yes;
	}
	{
		MYSQL_STMT *s = mysql_stmt_init(r->my);
		MYSQL_BIND in, out;
		unsigned long len = strlen(r->table);
		long long count = 0;

		if (!s)
			return false;
		memset(&in, 0, sizeof(in));
		memset(&out, 0, sizeof(out));
		in.buffer_type = MYSQL_TYPE_STRING;
		in.buffer = (void *)r->table;
		in.buffer_length = len;
		in.length = &len;
		out.buffer_type = MYSQL_TYPE_LONGLONG;
		out.buffer = &count;
		if (mysql_stmt_prepare(s, my_q, sizeof(my_q) - 1) == 0 &&
		    mysql_stmt_bind_param(s, &in) == 0 && mysql_stmt_execute(s) == 0 &&
		    mysql_stmt_bind_result(s, &out) == 0 && mysql_stmt_fetch(s) == 0)
			yes = count > 0;
		mysql_stmt_close(s);
	}
	return yes;
}

static const char *stmt_sql(const struct remote *r, enum stmt i, const char *conn)
{
	if (i == S_CONN)
		return conn;
	if (r->old[i])
		return r->kind == REMOTE_PG ? pg_old[i] : my_old[i];
	return r->kind == REMOTE_PG ? pg_sql[i] : my_sql[i];
}

static int stmt_params(const struct remote *r, enum stmt i)
{
	if (r->old[i] && i == S_EXE)
		return EXE_PARAMS_OLD;
	if (r->old[i] && i == S_CONTAINER)
		return CONTAINER_PARAMS_OLD;
	return stmt_nparams[i];
}

/* Prepare statement i. 0; -1 failed; -3 a column it names is not there. */
static int prepare_one(struct remote *r, enum stmt i, const char *conn, char *err, size_t errsize)
{
	const char *sql = stmt_sql(r, i, conn);

	if (r->kind == REMOTE_PG) {
		char name[16];
		PGresult *res;
		int ret = 0;

		snprintf(name, sizeof(name), "snitch%d", i);
		res = PQprepare(r->pg, name, sql, stmt_params(r, i), NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

			snprintf(err, errsize, "%s", PQerrorMessage(r->pg));
			ret = state && !strcmp(state, "42703") ? -3 : -1;	/* undefined_column */
		}
		PQclear(res);
		return ret;
	}
	if (r->my_stmt[i])
		mysql_stmt_close(r->my_stmt[i]);
	r->my_stmt[i] = mysql_stmt_init(r->my);
	if (!r->my_stmt[i]) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	if (mysql_stmt_prepare(r->my_stmt[i], sql, strlen(sql)) != 0) {
		snprintf(err, errsize, "%s", mysql_stmt_error(r->my_stmt[i]));
		return mysql_stmt_errno(r->my_stmt[i]) == 1054 ? -3 : -1;	/* ER_BAD_FIELD_ERROR */
	}
	return 0;
}

/*
 * The statements. Tables an older snitch-remote made lack the newer
 * columns: they are added if this role may, else rows go without them,
 * and an administrator is told how to add them.
 */
static int prepare(struct remote *r, char *err, size_t errsize)
{
	char conn[1024], uerr[512];
	bool upgraded = false;

	/* the table: an identifier checked at start (remote_table_valid) */
	if (r->kind == REMOTE_PG)
		snprintf(conn, sizeof(conn), "INSERT INTO %s%s VALUES ($1, $2, $3, $4, $5, $6, $7,"
			 " $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
			 " ON CONFLICT DO NOTHING", r->table, conn_columns);
	else
		snprintf(conn, sizeof(conn), "INSERT IGNORE INTO %s%s VALUES (?, ?, ?, ?, ?, ?, ?,"
			 " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", r->table, conn_columns);
	memset(r->old, 0, sizeof(r->old));
	for (int i = 0; i < NSTMTS; i++) {
		int e = prepare_one(r, i, conn, err, errsize);
		bool has_old = i == S_EXE || i == S_CONTAINER;

		if (e == -3 && has_old && !r->old[i] && !upgraded) {
			upgraded = true;
			if (run_sql(r, remote_upgrade(r->kind), uerr, sizeof(uerr)) == 0) {
				i--;	/* the columns are there now */
				continue;
			}
		}
		if (e == -3 && has_old && !r->old[i]) {
			r->old[i] = true;
			if (!r->noted_old) {
				r->noted_old = true;
				stage_post_error(r->st, "remote_schema_old",
						 "remote log: its executables and containers tables lack the columns of apps, scripts and container names, and this role cannot add them; rows go without them until an administrator runs the SQL of 'snitch-remote --schema' again");
			}
			i--;	/* again, the older way */
			continue;
		}
		if (e < 0)
			return -1;
	}
	return 0;
}

static int connect_remote(struct remote *r, char *err, size_t errsize)
{
	char cerr[512];

	if (r->pg || r->my)
		return 0;
	if (r->kind == REMOTE_PG) {
		/* a silent host must not hold up a stop: 5 s, as for MariaDB,
		 * unless the URL says otherwise */
		/* keys before the expanded URL are the defaults it overrides */
		static const char *const keys[] = { "connect_timeout", "dbname", NULL };
		const char *vals[] = { "5", r->url, NULL };

		r->pg = PQconnectdbParams(keys, vals, 1);
		if (PQstatus(r->pg) != CONNECTION_OK) {
			snprintf(err, errsize, "%s", PQerrorMessage(r->pg));
			disconnect(r);
			return -1;
		}
		PQsetClientEncoding(r->pg, "UTF8");
	} else if (my_connect(r, err, errsize) < 0) {
		disconnect(r);
		return -1;
	}
	/* tables: made here if missing and this role may; an INSERT-only
	 * role uses what an administrator made with --schema */
	if (!table_exists(r) &&
	    run_sql(r, remote_schema(r->kind, r->table), cerr, sizeof(cerr)) < 0 &&
	    !r->noted_create) {
		r->noted_create = true;
		stage_post_error(r->st, "remote_schema",
				 "remote log: cannot create its tables (%s); using the tables an administrator made",
				 strtok(cerr, "\n"));
	}
	if (prepare(r, err, errsize) < 0) {
		disconnect(r);
		return -1;
	}
	return 0;
}

/*
 * Does this SQLSTATE say the values were refused (class 22, a data
 * exception such as a number out of range; 23, a constraint), rather than
 * the server or the connection failing? Sending the same row again would
 * fail again, for ever.
 */
static bool sqlstate_refuses_row(const char *state)
{
	return state && (!strncmp(state, "22", 2) || !strncmp(state, "23", 2));
}

/*
 * INSERT IGNORE does nothing for a row already there (a warning, 1062),
 * but it also turns a value the column cannot hold into a warning and
 * stores it cut or clamped. Any other warning is a refusal: the caller
 * rolls back, so the copy never differs from the log. 0, -1, or -2.
 */
static int my_refused(struct remote *r, char *err, size_t errsize)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	int ret = 0;

	if (mysql_real_query(r->my, "SHOW WARNINGS", sizeof("SHOW WARNINGS") - 1) != 0 ||
	    !(res = mysql_store_result(r->my))) {
		snprintf(err, errsize, "%s", mysql_error(r->my));
		return -1;
	}
	/* Level, Code, Message */
	while (ret == 0 && (row = mysql_fetch_row(res))) {
		if (mysql_num_fields(res) >= 3 && row[1] && strcmp(row[1], "1062") != 0) {
			snprintf(err, errsize, "%s", row[2] ? row[2] : "a value was refused");
			ret = -2;
		}
	}
	mysql_free_result(res);
	return ret;
}

/* Run statement i with params p. -1: failed; -2: the server refused the values. */
static int exec_stmt(struct remote *r, enum stmt i, struct param *p, char *err, size_t errsize)
{
	int n = stmt_params(r, i);

	if (r->kind == REMOTE_PG) {
		const char *v[CONN_COLS];
		char name[16];
		PGresult *res;
		bool ok;

		for (int k = 0; k < n; k++)
			v[k] = p[k].null ? NULL : p[k].text.p;
		snprintf(name, sizeof(name), "snitch%d", i);
		res = PQexecPrepared(r->pg, name, n, v, NULL, NULL, 0);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok) {
			bool refused = sqlstate_refuses_row(PQresultErrorField(res, PG_DIAG_SQLSTATE));

			snprintf(err, errsize, "%s", PQerrorMessage(r->pg));
			PQclear(res);
			return refused ? -2 : -1;
		}
		PQclear(res);
		return 0;
	}
	{
		MYSQL_BIND b[CONN_COLS];
		unsigned long len[CONN_COLS];
		my_bool null[CONN_COLS];

		memset(b, 0, sizeof(b));
		for (int k = 0; k < n; k++) {
			null[k] = p[k].null;
			len[k] = p[k].null ? 0 : (unsigned long)(p[k].text.len - 1);
			b[k].buffer_type = MYSQL_TYPE_STRING;
			b[k].buffer = p[k].null ? NULL : p[k].text.p;
			b[k].buffer_length = len[k];
			b[k].length = &len[k];
			b[k].is_null = &null[k];
		}
		if (mysql_stmt_bind_param(r->my_stmt[i], b) != 0 ||
		    mysql_stmt_execute(r->my_stmt[i]) != 0) {
			snprintf(err, errsize, "%s", mysql_stmt_error(r->my_stmt[i]));
			return sqlstate_refuses_row(mysql_stmt_sqlstate(r->my_stmt[i])) ? -2 : -1;
		}
		return mysql_stmt_warning_count(r->my_stmt[i]) ? my_refused(r, err, errsize) : 0;
	}
}

/* Run one statement of a spool line (spool_line_stmts). */
struct run_ctx {
	struct remote *r;
	char *err;
	size_t errsize;
};

static int run_stmt(void *arg, enum stmt i, struct param *p)
{
	struct run_ctx *c = arg;

	return exec_stmt(c->r, i, p, c->err, c->errsize);
}

/*
 * The spool from the offset into chunk, at most CHUNK bytes: 1 read (*off
 * where it starts), 0 nothing to send, -1 an error.
 */
static int read_chunk(struct remote *r, struct buf *chunk, uint64_t *off,
		      char *err, size_t errsize)
{
	uint64_t size;
	struct stat sb;
	ssize_t n;
	int fd;

	pthread_mutex_lock(&r->mu);
	*off = r->offset;
	size = r->size;
	pthread_mutex_unlock(&r->mu);
	if (*off >= size)
		return 0;
	fd = open(r->spool, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errsize, "cannot read the spool '%s': %s", r->spool, strerror(errno));
		return -1;
	}
	buf_reset(chunk);
	if (buf_reserve(chunk, CHUNK) < 0) {
		close(fd);
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	n = pread(fd, chunk->p, size - *off < CHUNK ? (size_t)(size - *off) : CHUNK, (off_t)*off);
	if (n > 0) {
		close(fd);
		chunk->len = (size_t)n;
		return 1;
	}
	if (n < 0) {
		snprintf(err, errsize, "cannot read the spool '%s': %s", r->spool, strerror(errno));
		close(fd);
		return -1;
	}
	/* shorter than believed (cut from outside): believe the file, or the
	 * sender would try again at once, for ever */
	pthread_mutex_lock(&r->mu);
	if (fstat(fd, &sb) == 0 && (uint64_t)sb.st_size < r->size) {
		r->size = (uint64_t)sb.st_size;
		if (r->offset > r->size)
			r->offset = r->size;
	}
	pthread_mutex_unlock(&r->mu);
	close(fd);
	return 0;
}

/*
 * The statements of the chunk's whole lines, at most SEND_LINES, in the
 * open transaction. *end: where the lines sent end; *here: the offset of
 * the last line tried. 0, or exec_stmt's error (-2: the server refused
 * that line's values).
 */
static int send_lines(struct remote *r, const struct buf *chunk, uint64_t off,
		      struct param *p, struct run_ctx *ctx, const char **end, uint64_t *here)
{
	const char *q = chunk->p, *stop = chunk->p + chunk->len;
	struct record rec;
	size_t lines = 0;
	int ret = 0;

	record_init(&rec);
	while (q < stop && lines < SEND_LINES) {
		const char *nl = memchr(q, '\n', (size_t)(stop - q));

		if (!nl)
			break;
		*here = off + (uint64_t)(q - chunk->p);
		/* a line cut by a crash, or not a row: skipped; so is one the
		 * server refused last time */
		if (*here + 1 != r->skip_at &&
		    record_parse(&rec, q, (size_t)(nl - q), NULL) == 0 && spool_line_ok(&rec) &&
		    (ret = spool_line_stmts(&rec, &r->seen, p, run_stmt, ctx)) < 0)
			break;
		q = nl + 1;
		lines++;
	}
	record_release(&rec);
	if (ret == 0 && !lines)
		q = stop;	/* no line end in what is there: not a spool line, skipped */
	*end = q;
	return ret;
}

/*
 * The server refused a row's values: the transaction is sent again at once
 * without it, and the row is told as lost, rather than the spool waiting
 * on it for ever.
 */
static void refused_row(struct remote *r, uint64_t at, char *err)
{
	char *nl = strchr(err, '\n');

	if (nl)
		*nl = '\0';
	r->skip_at = at + 1;
	stage_post_error(r->st, "remote_refused_row",
			 "remote log: the server refused a row (%s); it is not sent", err);
	stage_post_lost(r->st, "remote_refused", 1,
			"1 row was not sent: the remote server refused its values");
}

/* Committed up to offset: kept on disk, and the spool emptied when all is sent. */
static void mark_sent(struct remote *r, uint64_t offset)
{
	uint64_t off;

	pthread_mutex_lock(&r->mu);
	r->offset = offset;
	if (r->offset == r->size) {
		/*
		 * All sent: start the spool afresh, so it never grows for ever.
		 * The offset goes to 0 first: a crash in between sends rows again
		 * (each insert is "do nothing if present"), never skips new ones.
		 */
		if (write_offset(r, 0) == 0 && ftruncate(r->fd, 0) == 0) {
			r->offset = r->size = r->skip_at = 0;
			(void)lseek(r->fd, 0, SEEK_SET);
		}
	}
	off = r->offset;
	pthread_mutex_unlock(&r->mu);
	(void)write_offset(r, off);
}

/* Send one transaction's worth of the spool. 1: sent; 0: nothing to send. */
static int send_some(struct remote *r, struct buf *chunk, struct param *p,
		     char *err, size_t errsize)
{
	struct run_ctx ctx = { r, err, errsize };
	uint64_t off, here = 0;
	const char *end;
	int ret;

	if ((ret = read_chunk(r, chunk, &off, err, errsize)) <= 0)
		return ret;
	if (connect_remote(r, err, errsize) < 0)
		return -1;
	if (run_sql(r, "BEGIN", err, errsize) < 0) {
		disconnect(r);
		return -1;
	}
	ret = send_lines(r, chunk, off, p, &ctx, &end, &here);
	if (ret < 0 || run_sql(r, "COMMIT", err, errsize) < 0) {
		char ignore[64];

		(void)run_sql(r, "ROLLBACK", ignore, sizeof(ignore));
		disconnect(r);
		if (ret == -2) {
			refused_row(r, here, err);
			return 1;
		}
		return -1;
	}
	mark_sent(r, off + (uint64_t)(end - chunk->p));
	return 1;
}

static void *sender(void *arg)
{
	struct remote *r = arg;
	struct buf chunk = BUF_INIT;
	struct param p[CONN_COLS];
	uint64_t backoff = 1;
	char err[1024];

	memset(p, 0, sizeof(p));
	for (;;) {
		int s;

		pthread_mutex_lock(&r->mu);
		while (!r->stop && r->offset >= r->size)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop && r->offset >= r->size) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		pthread_mutex_unlock(&r->mu);

		s = send_some(r, &chunk, p, err, sizeof(err));
		if (s == 0 && r->stop)
			break;
		if (s >= 0) {
			if (r->down) {
				r->down = false;
				log_msg("remote log: reachable again, sending the spooled rows");
			}
			backoff = 1;
			continue;
		}
		if (!r->down) {
			char *nl = strchr(err, '\n');
			if (nl)
				*nl = '\0';
			r->down = true;
			stage_post_error(r->st, "remote_unavailable",
					 "remote log: %s; rows wait in '%s' and are sent when it works again",
					 err, r->spool);
		}
		/* wait, but wake for stop */
		pthread_mutex_lock(&r->mu);
		if (!r->stop) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (time_t)backoff;
			pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		}
		if (r->stop) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		pthread_mutex_unlock(&r->mu);
		backoff = backoff * 2 > r->retry_max_s ? r->retry_max_s : backoff * 2;
	}
	disconnect(r);
	buf_release(&chunk);
	for (int k = 0; k < CONN_COLS; k++) {
		buf_release(&p[k].text);
		buf_release(&p[k].tmp);
	}
	return NULL;
}

struct remote *remote_new(const struct remote_opts *o, enum remote_kind kind,
			  const struct file_perms *perms, struct stage *st,
			  char *err, size_t errsize)
{
	struct remote *r = calloc(1, sizeof(*r));
	struct stat sb;
	bool fresh;

	if (r)
		r->seen = (struct id_cache){ r->seen_ids, SEEN_REFS };
	if (!r) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	r->kind = kind;
	r->table = o->table;
	r->st = st;
	r->fd = -1;
	r->url = strdup(o->url);
	r->spool = strdup(o->spool);
	r->perms = perms;
	r->retry_max_s = o->retry_s;
	r->pending = (struct buf)BUF_INIT;
	if (!r->url || !r->spool || asprintf(&r->offpath, "%s.offset", o->spool) < 0) {
		snprintf(err, errsize, "out of memory");
		goto fail;
	}
	fresh = stat(r->spool, &sb) < 0;
	r->fd = open(r->spool, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (r->fd < 0) {
		snprintf(err, errsize, "cannot open the spool '%s': %s", r->spool, strerror(errno));
		goto fail;
	}
	if (fresh)
		perms_apply(perms, r->spool, false);
	/* rows a previous run spooled and did not send go first */
	r->size = fstat(r->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	if (r->size) {
		/* a line cut by a crash is ended, so that it stays one line,
		 * skipped, and the next row starts a line of its own */
		char last = '\n';

		if (pread(r->fd, &last, 1, (off_t)(r->size - 1)) == 1 && last != '\n' &&
		    write(r->fd, "\n", 1) == 1)
			r->size++;
	}
	r->offset = read_offset(r->offpath);
	if (r->offset > r->size)
		r->offset = r->size;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&r->thread, NULL, sender, r) != 0) {
		snprintf(err, errsize, "cannot start the sender thread");
		goto fail;
	}
	return r;
fail:
	if (r->fd >= 0)
		close(r->fd);
	free(r->url);
	free(r->spool);
	free(r->offpath);
	free(r);
	return NULL;
}

void remote_drain(struct remote *r, int wait_ms)
{
	uint64_t until = clock_mono_ns() + (uint64_t)wait_ms * 1000000ULL;

	/* give the sender a moment to send what is spooled */
	for (;;) {
		bool done;

		pthread_mutex_lock(&r->mu);
		done = r->offset >= r->size || r->down;
		pthread_mutex_unlock(&r->mu);
		if (done || clock_mono_ns() >= until)
			break;
		usleep(20000);
	}
}

void remote_free(struct remote *r, int wait_ms)
{
	if (!r)
		return;
	remote_drain(r, wait_ms);
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	close(r->fd);
	buf_release(&r->pending);
	free(r->url);
	free(r->spool);
	free(r->offpath);
	free(r);
}
