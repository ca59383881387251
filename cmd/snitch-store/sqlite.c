/* SPDX-License-Identifier: MIT */
/* The local log: SQLite, in WAL mode, with a versioned schema (docs/schema.md). */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "atomicfile.h"
#include "idcache.h"
#include "store.h"

#define SCHEMA_VERSION 6
#define SEEN_IDS 65536		/* reference ids known to be in the database */


struct db {
	sqlite3 *h;
	char *path;
	sqlite3_stmt *ins_exe, *ins_str[3], *ins_conn, *ins_event;
	int64_t seen_ids[SEEN_IDS];
	struct id_cache seen;		/* reference ids inserted */
};

/*
 * One statement per table; the same in every database but for types
 * (snitch-remote --schema). Ids are content hashes (rows.c), so a reference row
 * is inserted with "or ignore" and never looked up.
 */
static const char *const sqlite_schema[] = {
	/* version 1 */
	"CREATE TABLE executables (id INTEGER PRIMARY KEY, path TEXT, name TEXT, cmdline TEXT, sha256 TEXT);"
	"CREATE TABLE domains (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
	"CREATE TABLE addresses (id INTEGER PRIMARY KEY, addr TEXT NOT NULL);"
	"CREATE TABLE containers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
	"CREATE TABLE connections ("
	" window_start_ns INTEGER NOT NULL, window_end_ns INTEGER NOT NULL,"
	" first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL,"
	" send_bytes INTEGER NOT NULL, recv_bytes INTEGER NOT NULL, events INTEGER NOT NULL,"
	" exe_id INTEGER, parent_exe_id INTEGER, gparent_exe_id INTEGER,"
	" uid INTEGER, family TEXT, proto TEXT, lport INTEGER, rport INTEGER,"
	" laddr_id INTEGER, raddr_id INTEGER, domain_id INTEGER, netns INTEGER,"
	" container_id INTEGER);"
	"CREATE INDEX connections_exe ON connections (exe_id, window_start_ns);"
	"CREATE INDEX connections_parent ON connections (parent_exe_id, window_start_ns);"
	"CREATE INDEX connections_domain ON connections (domain_id, window_start_ns);",
	/* version 2: the error and lost records of every stage */
	"CREATE TABLE events ("
	" ts_ns INTEGER NOT NULL, type TEXT NOT NULL, stage TEXT, code TEXT,"
	" count INTEGER, message TEXT, record TEXT NOT NULL);"
	"CREATE INDEX events_time ON events (ts_ns);",
	/* version 3 goes here, as the statements that migrate 2 to 3 */
};

/* The inserts, whole: no statement text is made from values. */
static const char *const ins_str_sql[3] = {
	"INSERT OR IGNORE INTO addresses (id, addr) VALUES (?,?)",
	"INSERT OR IGNORE INTO domains (id, name) VALUES (?,?)",
	"INSERT OR IGNORE INTO containers (id, name) VALUES (?,?)",
};

static int exec_sql(sqlite3 *h, const char *sql, char *err, size_t errsize)
{
	char *msg = NULL;
	int r = sqlite3_exec(h, sql, NULL, NULL, &msg);

	if (r != SQLITE_OK)
		snprintf(err, errsize, "%s", msg ? msg : sqlite3_errstr(r));
	sqlite3_free(msg);
	return r;
}

/*
 * Version 6: the outcome of a connection attempt (docs/records.md,
 * `outcome`): "connected", "refused", "timeout", ... NULL in the rows
 * written before it, and for records without one. Self-contained: it
 * needs no other step than version 1's table.
 */
static int migrate_6_outcome(sqlite3 *h, char *err, size_t errsize)
{
	return exec_sql(h, "ALTER TABLE connections ADD COLUMN outcome TEXT;", err, errsize);
}

/* The statements of step v (from v to v + 1); NULL: none in this build. */
static int migrate_step(sqlite3 *h, int v, char *err, size_t errsize)
{
	if (v + 1 == 6)
		return migrate_6_outcome(h, err, errsize);
	if ((size_t)v < sizeof(sqlite_schema) / sizeof(sqlite_schema[0]))
		return exec_sql(h, sqlite_schema[v], err, errsize);
	return SQLITE_OK;
}

static int user_version(sqlite3 *h, int *v)
{
	sqlite3_stmt *st;
	int r = sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL);

	if (r != SQLITE_OK)
		return r;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*v = sqlite3_column_int(st, 0);
		r = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return r;
}

/* Bring the schema to SCHEMA_VERSION, one step per version, each atomic. */
static int migrate(sqlite3 *h, char *err, size_t errsize)
{
	int v = 0, r;

	r = user_version(h, &v);
	if (r != SQLITE_OK) {
		snprintf(err, errsize, "%s", sqlite3_errmsg(h));
		return r;
	}
	if (v > SCHEMA_VERSION) {
		snprintf(err, errsize, "its schema is version %d, newer than this snitch-store's %d",
			 v, SCHEMA_VERSION);
		return SQLITE_MISMATCH;
	}
	for (; v < SCHEMA_VERSION; v++) {
		char sql[64];

		if ((r = exec_sql(h, "BEGIN EXCLUSIVE", err, errsize)) != SQLITE_OK)
			return r;
		/* a PRAGMA takes no parameter: the number is this program's own */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((r = migrate_step(h, v, err, errsize)) != SQLITE_OK ||
		    (r = exec_sql(h, sql, err, errsize)) != SQLITE_OK) {
			(void)sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
		if ((r = exec_sql(h, "COMMIT", err, errsize)) != SQLITE_OK)
			return r;
	}
	return SQLITE_OK;
}

static int move_aside(const char *path, char *moved, size_t movedsize)
{
	char side[4096];
	int r = file_move_aside(path, NULL, moved, movedsize);

	if (r < 0)
		return r;
	/* the journal of a corrupt file is of no use to a fresh one */
	snprintf(side, sizeof(side), "%s-wal", path);
	(void)unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	(void)unlink(side);
	return 0;
}

static int prepare(struct db *d, char *err, size_t errsize)
{
	static const char conn[] =
		"INSERT INTO connections VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
	int r = sqlite3_prepare_v2(d->h,
		"INSERT OR IGNORE INTO executables (id, path, name, cmdline, sha256) VALUES (?,?,?,?,?)",
		-1, &d->ins_exe, NULL);

	for (int i = 0; r == SQLITE_OK && i < 3; i++)
		r = sqlite3_prepare_v2(d->h, ins_str_sql[i], -1, &d->ins_str[i], NULL);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(d->h, conn, -1, &d->ins_conn, NULL);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(d->h,
			"INSERT INTO events (ts_ns, type, stage, code, count, message, record)"
			" VALUES (?,?,?,?,?,?,?)", -1, &d->ins_event, NULL);
	if (r != SQLITE_OK)
		snprintf(err, errsize, "%s", sqlite3_errmsg(d->h));
	return r;
}

static int try_open(struct db *d, const struct file_perms *perms, char *err,
		    size_t errsize)
{
	struct stat st;
	bool existed = stat(d->path, &st) == 0;
	int r = sqlite3_open_v2(d->path, &d->h,
				SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);

	if (r != SQLITE_OK) {
		snprintf(err, errsize, "%s", d->h ? sqlite3_errmsg(d->h) : sqlite3_errstr(r));
		return r;
	}
	sqlite3_busy_timeout(d->h, 5000);
	/* WAL: readers (sqlite3, a UI) never block the writer. NORMAL: a
	 * crash loses at most the last transaction, never the database. */
	/* 32 MiB of page cache: index pages of a busy log stay in memory */
	if ((r = exec_sql(d->h, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			  " PRAGMA cache_size = -32768;", err, errsize)) != SQLITE_OK ||
	    (r = exec_sql(d->h, "SELECT count(*) FROM sqlite_master", err, errsize)) != SQLITE_OK ||
	    (r = migrate(d->h, err, errsize)) != SQLITE_OK ||
	    (r = prepare(d, err, errsize)) != SQLITE_OK)
		return r;
	if (!existed && perms) {
		char side[4096];

		perms_apply(perms, d->path, false);
		snprintf(side, sizeof(side), "%s-wal", d->path);
		perms_apply(perms, side, false);
		snprintf(side, sizeof(side), "%s-shm", d->path);
		perms_apply(perms, side, false);
	}
	return SQLITE_OK;
}

static void close_handles(struct db *d)
{
	sqlite3_finalize(d->ins_exe);
	for (int i = 0; i < 3; i++)
		sqlite3_finalize(d->ins_str[i]);
	sqlite3_finalize(d->ins_conn);
	sqlite3_finalize(d->ins_event);
	d->ins_exe = d->ins_conn = d->ins_event = NULL;
	memset(d->ins_str, 0, sizeof(d->ins_str));
	if (d->h)
		sqlite3_close(d->h);
	d->h = NULL;
}

struct db *db_open(const char *path, const struct file_perms *perms,
		   char *moved, size_t movedsize, char *err, size_t errsize)
{
	struct db *d = calloc(1, sizeof(*d));
	int r;

	if (d)
		d->seen = (struct id_cache){ d->seen_ids, SEEN_IDS };

	/* no global allocation statistics: they take a mutex per malloc */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

	moved[0] = '\0';
	if (!d || !(d->path = strdup(path))) {
		free(d);
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	r = try_open(d, perms, err, errsize);
	if ((r & 0xff) == SQLITE_NOTADB || (r & 0xff) == SQLITE_CORRUPT) {
		/* keep the evidence, start afresh */
		int m;

		close_handles(d);
		if ((m = move_aside(path, moved, movedsize)) < 0) {
			size_t used = strlen(err);

			snprintf(err + used, errsize - used, "; it cannot be moved aside: %s",
				 strerror(-m));
		} else {
			r = try_open(d, perms, err, errsize);
		}
	}
	if (r != SQLITE_OK) {
		close_handles(d);
		free(d->path);
		free(d);
		return NULL;
	}
	return d;
}

void db_close(struct db *d)
{
	if (!d)
		return;
	close_handles(d);
	free(d->path);
	free(d);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s, size_t n)
{
	if (s)
		sqlite3_bind_text(st, i, s, (int)n, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_int(sqlite3_stmt *st, int i, int64_t v)
{
	if (v == INT_NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

static void bind_ref(sqlite3_stmt *st, int i, int64_t id)
{
	if (id)
		sqlite3_bind_int64(st, i, id);
	else
		sqlite3_bind_null(st, i);
}

/* Insert a reference row unless this connection already did. */
static int step_once(struct db *d, sqlite3_stmt *st, int64_t id)
{
	int r;

	if (id_cache_has(&d->seen, id))
		return SQLITE_DONE;
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r == SQLITE_DONE)
		id_cache_put(&d->seen, id);
	return r;
}

static int write_refs(struct db *d, const struct batch *b)
{
	int r = SQLITE_DONE;

	for (const struct exe_ref *e = b->exes; e && r == SQLITE_DONE; e = e->hh.next) {
		sqlite3_stmt *st = d->ins_exe;

		sqlite3_bind_int64(st, 1, e->id);
		bind_text(st, 2, e->path, e->path_len);
		bind_text(st, 3, e->name, e->name_len);
		bind_text(st, 4, e->cmdline, e->cmdline_len);
		bind_text(st, 5, e->sha256, e->sha256 ? 64 : 0);
		r = step_once(d, st, e->id);
	}
	for (const struct str_ref *s = b->strs; s && r == SQLITE_DONE; s = s->hh.next) {
		int t = s->kind == 'a' ? 0 : s->kind == 'd' ? 1 : s->kind == 'c' ? 2 : -1;

		if (t < 0)
			continue;	/* family, proto: columns, not tables */
		sqlite3_bind_int64(d->ins_str[t], 1, s->id);
		bind_text(d->ins_str[t], 2, s->s, s->len);
		r = step_once(d, d->ins_str[t], s->id);
	}
	return r;
}

/* Bind one row's columns from parameter i on; returns the next one. */
static int bind_row(sqlite3_stmt *st, int i, const struct conn_row *c)
{
	sqlite3_bind_int64(st, i++, (int64_t)c->window_start_ns);
	sqlite3_bind_int64(st, i++, (int64_t)c->window_end_ns);
	sqlite3_bind_int64(st, i++, (int64_t)c->first_ns);
	sqlite3_bind_int64(st, i++, (int64_t)c->last_ns);
	sqlite3_bind_int64(st, i++, (int64_t)c->send_bytes);
	sqlite3_bind_int64(st, i++, (int64_t)c->recv_bytes);
	sqlite3_bind_int64(st, i++, (int64_t)c->events);
	for (int l = 0; l < NLEVELS; l++)
		bind_ref(st, i++, c->exe[l] ? c->exe[l]->id : 0);
	bind_int(st, i++, c->uid);
	bind_text(st, i++, c->family, c->family ? strlen(c->family) : 0);
	bind_text(st, i++, c->proto, c->proto ? strlen(c->proto) : 0);
	bind_int(st, i++, c->lport);
	bind_int(st, i++, c->rport);
	bind_ref(st, i++, c->laddr ? c->laddr->id : 0);
	bind_ref(st, i++, c->raddr ? c->raddr->id : 0);
	bind_ref(st, i++, c->domain ? c->domain->id : 0);
	bind_int(st, i++, c->netns);
	bind_ref(st, i++, c->container ? c->container->id : 0);
	bind_text(st, i++, c->outcome, c->outcome ? strlen(c->outcome) : 0);
	return i;
}

static int write_events(struct db *d, const struct batch *b)
{
	sqlite3_stmt *st = d->ins_event;
	int r = SQLITE_DONE;

	for (const struct event *e = b->events; e && r == SQLITE_DONE; e = e->next) {
		sqlite3_bind_int64(st, 1, e->ts_ns);
		bind_text(st, 2, e->type, strlen(e->type));
		bind_text(st, 3, e->stage, e->stage ? strlen(e->stage) : 0);
		bind_text(st, 4, e->code, e->code ? strlen(e->code) : 0);
		bind_int(st, 5, e->count);
		bind_text(st, 6, e->message, e->message ? strlen(e->message) : 0);
		bind_text(st, 7, e->json, e->json_len);
		r = sqlite3_step(st);
		sqlite3_reset(st);
	}
	return r;
}

/*
 * After a commit, give the page cache back. The next window reads the
 * pages it needs again from the kernel's page cache (bench/store.sh: no
 * loss beyond its noise); kept, they stay held up to cache_size for good:
 * a retention pass on a 44 MB database (100,000 of 200,000 rows expired)
 * left snitch-store at 39.4 MB of PSS, 5.4 MB with this
 * (docs/performance.md, memory footprint). malloc_trim hands the freed
 * pages, scattered in the writer thread's arena, back to the system.
 */
static void release_cache(struct db *d)
{
	(void)sqlite3_db_release_memory(d->h);
	(void)malloc_trim(0);
}

int db_write(struct db *d, const struct batch *b, char *err, size_t errsize)
{
	const struct conn_row *c = b->rows;
	int r;

	if (!c && !b->events)
		return SQLITE_OK;
	r = exec_sql(d->h, "BEGIN IMMEDIATE", err, errsize);
	if (r != SQLITE_OK)
		return r;
	r = write_refs(d, b);
	if (r == SQLITE_DONE)
		r = write_events(d, b);
	/* one prepared single-row insert per row: faster in SQLite than
	 * multi-row VALUES, which it runs as a co-routine (measured) */
	for (; c && r == SQLITE_DONE; c = c->hh.next) {
		bind_row(d->ins_conn, 1, c);
		r = sqlite3_step(d->ins_conn);
		sqlite3_reset(d->ins_conn);
	}
	if (r != SQLITE_DONE) {
		snprintf(err, errsize, "%s", sqlite3_errmsg(d->h));
		(void)sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
		/* what this transaction inserted is gone again */
		id_cache_clear(&d->seen);
		return r;
	}
	r = exec_sql(d->h, "COMMIT", err, errsize);
	if (r != SQLITE_OK) {
		(void)sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
		id_cache_clear(&d->seen);
	}
	release_cache(d);
	return r;
}

int db_retain(struct db *d, uint64_t cutoff_ns, uint64_t *deleted, char *err,
	      size_t errsize)
{
	static const char orphans[] =
		"DELETE FROM executables WHERE id NOT IN ("
		" SELECT exe_id FROM connections WHERE exe_id IS NOT NULL"
		" UNION SELECT parent_exe_id FROM connections WHERE parent_exe_id IS NOT NULL"
		" UNION SELECT gparent_exe_id FROM connections WHERE gparent_exe_id IS NOT NULL);"
		"DELETE FROM domains WHERE id NOT IN ("
		" SELECT domain_id FROM connections WHERE domain_id IS NOT NULL);"
		"DELETE FROM addresses WHERE id NOT IN ("
		" SELECT laddr_id FROM connections WHERE laddr_id IS NOT NULL"
		" UNION SELECT raddr_id FROM connections WHERE raddr_id IS NOT NULL);"
		"DELETE FROM containers WHERE id NOT IN ("
		" SELECT container_id FROM connections WHERE container_id IS NOT NULL);";
	sqlite3_stmt *st;
	int r;

	*deleted = 0;
	r = exec_sql(d->h, "BEGIN IMMEDIATE", err, errsize);
	if (r != SQLITE_OK)
		return r;
	/*
	 * Rows are appended in time order, so the expired ones come first in
	 * rowid order: the scan stops at the first row to keep, and reads no
	 * more than it deletes. (No index on time alone: it would cost every
	 * insert; the time-range indexes lead with executable and domain.)
	 */
	r = sqlite3_prepare_v2(d->h,
		"DELETE FROM connections WHERE rowid < coalesce("
		" (SELECT rowid FROM connections WHERE window_start_ns >= ?1 ORDER BY rowid LIMIT 1),"
		" (SELECT max(rowid) + 1 FROM connections))",
		-1, &st, NULL);
	if (r == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (int64_t)cutoff_ns);
		r = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(d->h);
		sqlite3_finalize(st);
		*deleted = (uint64_t)sqlite3_changes64(d->h);
	}
	if (r == SQLITE_OK && *deleted)
		r = exec_sql(d->h, orphans, err, errsize);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(d->h, "DELETE FROM events WHERE ts_ns < ?1", -1, &st, NULL);
	if (r == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (int64_t)cutoff_ns);
		r = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(d->h);
		sqlite3_finalize(st);
	}
	if (r != SQLITE_OK) {
		snprintf(err, errsize, "%s", sqlite3_errmsg(d->h));
		(void)sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	r = exec_sql(d->h, "COMMIT", err, errsize);
	/* ids in the cache may have been deleted as orphans */
	id_cache_clear(&d->seen);
	release_cache(d);
	return r;
}
