/* SPDX-License-Identifier: MIT */
/* The local log: SQLite, in WAL mode, with a versioned schema (docs/schema.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "atomicfile.h"
#include "clock.h"
#include "geoip.h"
#include "heap.h"
#include "idcache.h"
#include "rollup.h"
#include "store.h"

#define SCHEMA_VERSION 11
#define SEEN_IDS 65536		/* reference ids known to be in the database */


struct db {
	sqlite3 *h;
	char *path;
	sqlite3_stmt *ins_exe, *ins_str[3], *ins_conn, *ins_event, *ins_verdict;
	sqlite3_stmt *ins_rollup[ROLLUP_LEVELS], *ins_dim[ROLLUP_LEVELS], *ins_coarse[ROLLUP_COARSE];
	int64_t level_from[ROLLUP_LEVELS];	/* a level is complete from here on */
	int64_t coarse_from[ROLLUP_COARSE];	/* the same of the coarse dimension levels */
	/*
	 * Rows are appended in time order, so retention deletes a prefix of
	 * rowids and the query core finds a time by rowid; but a wall clock
	 * stepped back puts rows after later ones. latest: the latest window
	 * written; disorder_rowid: the last row written of an earlier UTC day
	 * than one before it, or more than ROLLUP_RAW_SLACK_NS older (0:
	 * none), kept in rollup_state as 'disorder' until retention is past
	 * it.
	 */
	int64_t latest, disorder_rowid;
	int64_t disorder_cut;		/* the cutoff its rows were last deleted by */
	int64_t seen_ids[SEEN_IDS];
	struct id_cache seen;		/* reference ids inserted */
	struct geoip *geoip;		/* NULL: no country database (ranges are still labelled) */
	char *run_id;			/* SNITCH_RUN_ID: marks written with each window */
};

/*
 * Version 5: snitch-vt's verdicts. The verdicts table holds the latest
 * verdict of each sha256; the executables rows of that hash carry it in
 * their vt_ columns, set by two triggers: when a verdict comes (every row
 * of its hash), and when a row is inserted whose hash has one. So no other
 * step and no code of snitch-store's needs to know about the columns: it
 * inserts verdicts, SQLite does the rest, in the same transaction.
 * Self-contained: it reads and writes nothing another step makes beyond
 * the executables table of version 1.
 */
static const char migrate_5_verdicts[] =
	"ALTER TABLE executables ADD COLUMN vt_status TEXT;"
	"ALTER TABLE executables ADD COLUMN vt_malicious INTEGER;"
	"ALTER TABLE executables ADD COLUMN vt_suspicious INTEGER;"
	"ALTER TABLE executables ADD COLUMN vt_undetected INTEGER;"
	"ALTER TABLE executables ADD COLUMN vt_harmless INTEGER;"
	"ALTER TABLE executables ADD COLUMN vt_engines INTEGER;"
	"ALTER TABLE executables ADD COLUMN vt_analysis_ns INTEGER;"
	"ALTER TABLE executables ADD COLUMN vt_link TEXT;"
	"ALTER TABLE executables ADD COLUMN vt_checked_ns INTEGER;"
	"CREATE INDEX executables_sha256 ON executables (sha256);"
	"CREATE TABLE verdicts ("
	" sha256 TEXT PRIMARY KEY, status TEXT NOT NULL,"
	" malicious INTEGER, suspicious INTEGER, undetected INTEGER, harmless INTEGER,"
	" engines INTEGER, analysis_ns INTEGER, link TEXT, reason TEXT,"
	" checked_ns INTEGER NOT NULL);"
	"CREATE TRIGGER verdicts_to_executables AFTER INSERT ON verdicts BEGIN"
	" UPDATE executables SET vt_status = NEW.status, vt_malicious = NEW.malicious,"
	"  vt_suspicious = NEW.suspicious, vt_undetected = NEW.undetected,"
	"  vt_harmless = NEW.harmless, vt_engines = NEW.engines,"
	"  vt_analysis_ns = NEW.analysis_ns, vt_link = NEW.link, vt_checked_ns = NEW.checked_ns"
	"  WHERE sha256 = NEW.sha256;"
	" END;"
	"CREATE TRIGGER executables_from_verdicts AFTER INSERT ON executables"
	" WHEN NEW.sha256 IS NOT NULL AND EXISTS (SELECT 1 FROM verdicts WHERE sha256 = NEW.sha256) BEGIN"
	" UPDATE executables SET (vt_status, vt_malicious, vt_suspicious, vt_undetected,"
	"  vt_harmless, vt_engines, vt_analysis_ns, vt_link, vt_checked_ns) ="
	"  (SELECT status, malicious, suspicious, undetected, harmless, engines, analysis_ns,"
	"   link, checked_ns FROM verdicts WHERE sha256 = NEW.sha256)"
	"  WHERE id = NEW.id;"
	" END;";

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
	/*
	 * version 3: rollups (rollup.h) and the country of each address. The
	 * rollups of the rows already logged are built here; rollup_minute
	 * and rollup_hour only for the time they are kept (the retention pass
	 * keeps them so), their start in rollup_state.
	 */
	"ALTER TABLE addresses ADD COLUMN country TEXT;"
	"CREATE TABLE rollup_state (level TEXT PRIMARY KEY, from_ns INTEGER NOT NULL);"
	ROLLUP_V10_TABLE("rollup_minute") ROLLUP_V10_TABLE("rollup_hour") ROLLUP_V10_TABLE("rollup_day")
	ROLLUP_DIM_TABLE("rollup_dim_hour") ROLLUP_DIM_TABLE("rollup_dim_day")
	ROLLUP_V10_DAY_INDEXES
	"INSERT INTO rollup_state VALUES ('minute',"
	" (CAST(strftime('%s', 'now') AS INTEGER) - " ROLLUP_MINUTE_KEEP_S_STR ") / 60 * 60 * 1000000000);"
	"INSERT INTO rollup_state VALUES ('hour',"
	" (CAST(strftime('%s', 'now') AS INTEGER) - " ROLLUP_HOUR_KEEP_S_STR ") / 3600 * 3600 * 1000000000);"
	ROLLUP_V10_BUILD_OF("rollup_minute", "60000000000", ROLLUP_FROM_STATE("minute"), "0")
	ROLLUP_V10_BUILD_OF("rollup_hour", "3600000000000", ROLLUP_FROM_STATE("hour"), "0")
	ROLLUP_V10_BUILD_OF("rollup_day", "86400000000000", "", "0")
	ROLLUP_DIM_BUILD("rollup_dim_hour", "rollup_hour")
	ROLLUP_DIM_BUILD("rollup_dim_day", "rollup_day"),
	/* version 4: migrate_4_container_names() */
	"",
	/* version 5 */
	migrate_5_verdicts,
	/* version 6: migrate_6_outcome() */
	"",
	/* version 7: migrate_7_replay_marks() */
	"",
	/*
	 * version 8: the dimension rollups per week and per four weeks
	 * (rollup.h), built from the days' (exact: the days kept are whole, so
	 * are the weeks made of them)
	 */
	ROLLUP_DIM_TABLE("rollup_dim_week") ROLLUP_DIM_TABLE("rollup_dim_4week")
	ROLLUP_DIM_COARSE_BUILD("rollup_dim_week", ROLLUP_WEEK_NS_STR)
	ROLLUP_DIM_COARSE_BUILD("rollup_dim_4week", ROLLUP_4WEEK_NS_STR)
	"INSERT INTO rollup_state VALUES ('week', 0), ('4week', 0);",
	/*
	 * version 9: what runs inside an executable - the sandboxed app
	 * (Flatpak, Snap) of the process, the script an interpreter runs -
	 * part of the row's identity, so a python running two scripts is two
	 * rows (docs/schema.md). Rows without them keep their ids.
	 */
	"ALTER TABLE executables ADD COLUMN app_kind TEXT;"
	"ALTER TABLE executables ADD COLUMN app TEXT;"
	"ALTER TABLE executables ADD COLUMN script_path TEXT;"
	"ALTER TABLE executables ADD COLUMN script_sha256 TEXT;",
	/*
	 * version 10: the outcome in the rollups' key and a dimension of its
	 * own (rollup.h), so that the views group and filter by it (failed
	 * attempts over months) without the raw rows. The full rollups are
	 * made again from the rows (the minutes and hours for the time
	 * rollup_state says they cover), the outcome's dimension rows from
	 * them (a fresh database's version 3 step made some: of no outcome).
	 */
	"DROP TABLE rollup_minute; DROP TABLE rollup_hour; DROP TABLE rollup_day;"
	ROLLUP_V10_TABLE("rollup_minute") ROLLUP_V10_TABLE("rollup_hour") ROLLUP_V10_TABLE("rollup_day")
	ROLLUP_V10_DAY_INDEXES
	ROLLUP_V10_BUILD("rollup_minute", "60000000000", ROLLUP_FROM_STATE("minute"))
	ROLLUP_V10_BUILD("rollup_hour", "3600000000000", ROLLUP_FROM_STATE("hour"))
	ROLLUP_V10_BUILD("rollup_day", "86400000000000", "")
	"DELETE FROM rollup_dim_hour WHERE dim = 11; DELETE FROM rollup_dim_day WHERE dim = 11;"
	"DELETE FROM rollup_dim_week WHERE dim = 11; DELETE FROM rollup_dim_4week WHERE dim = 11;"
	ROLLUP_DIM_BUILD1("rollup_dim_hour", "rollup_hour", 11, "outcome")
	ROLLUP_DIM_BUILD1("rollup_dim_day", "rollup_day", 11, "outcome")
	ROLLUP_DIM_COARSE_BUILD_OF("rollup_dim_week", ROLLUP_WEEK_NS_STR, "week", 11)
	ROLLUP_DIM_COARSE_BUILD_OF("rollup_dim_4week", ROLLUP_4WEEK_NS_STR, "4week", 11),
	/*
	 * version 11: the full rollups keyed by bucket, executable and combo
	 * (rollup.h), so that rollup_day's index by domain carries three
	 * integers of the key, not thirteen columns, and its index by
	 * executable is not needed (an executable's rows of a day are
	 * together in the table). The tables of version 10 are set aside here,
	 * their rows moved by migrate_11_combo(), which finds each row's
	 * combo as the writer does.
	 */
	"DROP INDEX IF EXISTS rollup_day_exe; DROP INDEX IF EXISTS rollup_day_domain;"
	"ALTER TABLE rollup_minute RENAME TO rollup_minute_v10;"
	"ALTER TABLE rollup_hour RENAME TO rollup_hour_v10;"
	"ALTER TABLE rollup_day RENAME TO rollup_day_v10;"
	ROLLUP_TABLE("rollup_minute") ROLLUP_TABLE("rollup_hour") ROLLUP_TABLE("rollup_day"),
};
_Static_assert(sizeof(sqlite_schema) / sizeof(sqlite_schema[0]) == SCHEMA_VERSION,
	       "one entry of sqlite_schema per version");

static int exec_sql(sqlite3 *h, const char *sql, char *err, size_t errsize);

/*
 * Version 4: a container's name, image and pod, as snitch-resolve reads
 * them (docs/records.md, "Container and domain"). Self-contained: it
 * needs only version 1's containers table, so it can take any number.
 */
static int migrate_4_container_names(sqlite3 *h, char *err, size_t errsize)
{
	return exec_sql(h,
		"ALTER TABLE containers ADD COLUMN container_name TEXT;"
		"ALTER TABLE containers ADD COLUMN image TEXT;"
		"ALTER TABLE containers ADD COLUMN pod_namespace TEXT;"
		"ALTER TABLE containers ADD COLUMN pod_name TEXT;"
		"ALTER TABLE containers ADD COLUMN pod_uid TEXT;", err, errsize);
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

/*
 * Version 7: how far into the stream of a `snitch run` the rows are
 * committed (docs/reliability.md, "Nothing accepted is lost"): written in
 * the transaction of each window, read by the next snitch-store of the
 * same run, which skips the input it replays up to there. One row, of
 * the latest run. Self-contained: a new table, nothing else.
 */
static int migrate_7_replay_marks(sqlite3 *h, char *err, size_t errsize)
{
	return exec_sql(h,
		"CREATE TABLE replay_marks (run_id TEXT PRIMARY KEY,"
		" input_offset INTEGER NOT NULL, ts_ns INTEGER NOT NULL);", err, errsize);
}

static int migrate_11_combo(sqlite3 *h, char *err, size_t errsize);

/* Steps written as code, by the version they make; run after its statements. */
static int (*const migrate_steps[SCHEMA_VERSION + 1])(sqlite3 *, char *, size_t) = {
	[4] = migrate_4_container_names,
	[6] = migrate_6_outcome,
	[7] = migrate_7_replay_marks,
	[11] = migrate_11_combo,
};

static const char *const ins_rollup_sql[ROLLUP_LEVELS] = {
	ROLLUP_UPSERT("rollup_minute"), ROLLUP_UPSERT("rollup_hour"), ROLLUP_UPSERT("rollup_day"),
};
/* none per minute */
static const char *const ins_dim_sql[ROLLUP_LEVELS] = {
	NULL, ROLLUP_DIM_UPSERT("rollup_dim_hour"), ROLLUP_DIM_UPSERT("rollup_dim_day"),
};
static const char *const level_name[ROLLUP_LEVELS] = { "minute", "hour", "day" };
static const char *const ins_coarse_sql[ROLLUP_COARSE] = {
	ROLLUP_DIM_UPSERT("rollup_dim_week"), ROLLUP_DIM_UPSERT("rollup_dim_4week"),
};
static const int64_t level_keep_s[ROLLUP_LEVELS] = { ROLLUP_MINUTE_KEEP_S, ROLLUP_HOUR_KEEP_S, 0 };

static int fill_countries(struct db *d);

/*
 * The inserts, whole: no statement text is made from values. A container
 * takes the names it is given later where it had none (snitch-resolve
 * looks again for a container whose files were not there yet).
 */
static const char *const ins_str_sql[3] = {
	"INSERT OR IGNORE INTO addresses (id, addr, country) VALUES (?,?,?)",
	"INSERT OR IGNORE INTO domains (id, name) VALUES (?,?)",
	"INSERT INTO containers (id, name, container_name, image, pod_namespace, pod_name, pod_uid)"
	" VALUES (?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET"
	" container_name = coalesce(container_name, excluded.container_name),"
	" image = coalesce(image, excluded.image),"
	" pod_namespace = coalesce(pod_namespace, excluded.pod_namespace),"
	" pod_name = coalesce(pod_name, excluded.pod_name),"
	" pod_uid = coalesce(pod_uid, excluded.pod_uid)"
	" WHERE excluded.container_name IS NOT NULL OR excluded.image IS NOT NULL"
	" OR excluded.pod_name IS NOT NULL",
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
		if ((r = exec_sql(h, sqlite_schema[v], err, errsize)) != SQLITE_OK ||
		    (migrate_steps[v + 1] &&
		     (r = migrate_steps[v + 1](h, err, errsize)) != SQLITE_OK) ||
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

static int load_level_from(struct db *d)
{
	sqlite3_stmt *st;
	int r = SQLITE_OK;

	/* then the coarse dimension levels' */
	for (int l = 0; r == SQLITE_OK && l < ROLLUP_LEVELS + ROLLUP_COARSE; l++) {
		int64_t *from = l < ROLLUP_LEVELS ? &d->level_from[l] : &d->coarse_from[l - ROLLUP_LEVELS];

		*from = 0;
		r = sqlite3_prepare_v2(d->h, "SELECT from_ns FROM rollup_state WHERE level = ?",
				       -1, &st, NULL);
		if (r != SQLITE_OK)
			return r;
		sqlite3_bind_text(st, 1, l < ROLLUP_LEVELS ? level_name[l] : rollup_coarse_name[l - ROLLUP_LEVELS],
				  -1, SQLITE_STATIC);
		r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*from = sqlite3_column_int64(st, 0);
		r = r == SQLITE_ROW || r == SQLITE_DONE ? SQLITE_OK : r;
		sqlite3_finalize(st);
	}
	return r;
}

static int exec_i64(struct db *d, const char *sql, int64_t v);

/*
 * rollup_state's 'disorder'; at open (all) also the latest day of the
 * rows written last (the last 10,000: no index on time, and no scan of
 * the whole table).
 */
static int load_disorder(struct db *d, bool all)
{
	static const char *const sql[2] = {
		"SELECT from_ns FROM rollup_state WHERE level = 'disorder'",
		"SELECT coalesce(max(window_start_ns), 0) FROM"
		" (SELECT window_start_ns FROM connections ORDER BY rowid DESC LIMIT 10000)",
	};
	int64_t v[2] = { 0, 0 };
	int r = SQLITE_OK;

	for (int i = 0; r == SQLITE_OK && i < (all ? 2 : 1); i++) {
		sqlite3_stmt *st;

		r = sqlite3_prepare_v2(d->h, sql[i], -1, &st, NULL);
		if (r != SQLITE_OK)
			return r;
		r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			v[i] = sqlite3_column_int64(st, 0);
		r = r == SQLITE_ROW || r == SQLITE_DONE ? SQLITE_OK : r;
		sqlite3_finalize(st);
	}
	d->disorder_rowid = v[0];
	if (all)
		d->latest = v[1];
	return r;
}

static int prepare(struct db *d, char *err, size_t errsize)
{
	static const char conn[] =
		"INSERT INTO connections VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
	int r = sqlite3_prepare_v2(d->h,
		"INSERT OR IGNORE INTO executables (id, path, name, cmdline, sha256,"
		" app_kind, app, script_path, script_sha256) VALUES (?,?,?,?,?,?,?,?,?)",
		-1, &d->ins_exe, NULL);

	for (int i = 0; r == SQLITE_OK && i < 3; i++)
		r = sqlite3_prepare_v2(d->h, ins_str_sql[i], -1, &d->ins_str[i], NULL);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(d->h, conn, -1, &d->ins_conn, NULL);
	for (int i = 0; r == SQLITE_OK && i < ROLLUP_LEVELS; i++) {
		r = sqlite3_prepare_v2(d->h, ins_rollup_sql[i], -1, &d->ins_rollup[i], NULL);
		if (r == SQLITE_OK && ins_dim_sql[i])
			r = sqlite3_prepare_v2(d->h, ins_dim_sql[i], -1, &d->ins_dim[i], NULL);
	}
	for (int c = 0; r == SQLITE_OK && c < ROLLUP_COARSE; c++)
		r = sqlite3_prepare_v2(d->h, ins_coarse_sql[c], -1, &d->ins_coarse[c], NULL);
	if (r == SQLITE_OK)
		r = load_level_from(d);
	if (r == SQLITE_OK)
		r = load_disorder(d, true);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(d->h,
			"INSERT INTO events (ts_ns, type, stage, code, count, message, record)"
			" VALUES (?,?,?,?,?,?,?)", -1, &d->ins_event, NULL);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(d->h,
			"INSERT OR REPLACE INTO verdicts (sha256, status, malicious, suspicious, undetected,"
			" harmless, engines, analysis_ns, link, reason, checked_ns)"
			" VALUES (?,?,?,?,?,?,?,?,?,?,?)", -1, &d->ins_verdict, NULL);
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
	sqlite3_finalize(d->ins_verdict);
	for (int i = 0; i < ROLLUP_LEVELS; i++) {
		sqlite3_finalize(d->ins_rollup[i]);
		sqlite3_finalize(d->ins_dim[i]);
		d->ins_rollup[i] = d->ins_dim[i] = NULL;
	}
	for (int c = 0; c < ROLLUP_COARSE; c++) {
		sqlite3_finalize(d->ins_coarse[c]);
		d->ins_coarse[c] = NULL;
	}
	d->ins_exe = d->ins_conn = d->ins_event = d->ins_verdict = NULL;
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
	/* no country database: addresses get their range's label or NULL */
	if (geoip_open(&d->geoip, NULL) < 0)
		d->geoip = NULL;
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
	if (r == SQLITE_OK && (r = fill_countries(d)) != SQLITE_OK)
		snprintf(err, errsize, "%s", sqlite3_errmsg(d->h));
	if (r != SQLITE_OK) {
		close_handles(d);
		geoip_close(d->geoip);
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
	geoip_close(d->geoip);
	free(d->path);
	free(d->run_id);
	free(d);
}

int db_set_run(struct db *d, const char *run_id, uint64_t *mark)
{
	sqlite3_stmt *st;
	int r;

	*mark = 0;
	free(d->run_id);
	if (!(d->run_id = strdup(run_id)))
		return SQLITE_NOMEM;
	/* another run's mark means nothing to this one */
	r = sqlite3_prepare_v2(d->h, "DELETE FROM replay_marks WHERE run_id <> ?", -1, &st, NULL);
	if (r != SQLITE_OK)
		return r;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return r;
	r = sqlite3_prepare_v2(d->h, "SELECT input_offset FROM replay_marks WHERE run_id = ?", -1,
			       &st, NULL);
	if (r != SQLITE_OK)
		return r;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*mark = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? SQLITE_OK : r;
}

/* In the window's transaction: its input is committed up to b->in_off. */
static int write_mark(struct db *d, const struct batch *b)
{
	sqlite3_stmt *st;
	int r;

	if (!d->run_id || !b->has_off)
		return SQLITE_DONE;
	r = sqlite3_prepare_v2(d->h,
			       "INSERT INTO replay_marks (run_id, input_offset, ts_ns) VALUES (?,?,?)"
			       " ON CONFLICT (run_id) DO UPDATE SET input_offset = excluded.input_offset,"
			       " ts_ns = excluded.ts_ns", -1, &st, NULL);
	if (r != SQLITE_OK)
		return r;
	sqlite3_bind_text(st, 1, d->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)b->in_off);
	sqlite3_bind_int64(st, 3, (int64_t)clock_real_ns());
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r;
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

/*
 * The country (or range label: "private", ...) of an address, for
 * addresses.country; NULL when unknown.
 */
static const char *addr_country(const struct db *d, const char *addr, char out[GEOIP_CODE_SIZE])
{
	return geoip_country(d->geoip, addr, out);
}

/*
 * Addresses stored before there were countries (a migrated database), or
 * while there was no country database: their country, once per start.
 */
static int fill_countries(struct db *d)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	int r;

	if ((r = sqlite3_exec(d->h, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
		return r;
	r = sqlite3_prepare_v2(d->h, "SELECT id, addr FROM addresses WHERE country IS NULL", -1, &sel, NULL);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(d->h, "UPDATE addresses SET country = ? WHERE id = ?", -1, &upd, NULL);
	while (r == SQLITE_OK && (r = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(sel, 1), *c;
		char cc[GEOIP_CODE_SIZE];

		r = SQLITE_OK;
		if (!a || !(c = addr_country(d, a, cc)))
			continue;
		sqlite3_bind_text(upd, 1, c, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(upd, 2, sqlite3_column_int64(sel, 0));
		r = sqlite3_step(upd) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(d->h);
		sqlite3_reset(upd);
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	if (r != SQLITE_DONE && r != SQLITE_OK) {
		(void)sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	return sqlite3_exec(d->h, "COMMIT", NULL, NULL, NULL);
}

static int write_refs(struct db *d, const struct batch *b)
{
	int r = SQLITE_DONE;

	for (const struct exe_ref *e = b->exes; e && r == SQLITE_DONE; e = e->hh.next) {
		sqlite3_stmt *st = d->ins_exe;

		sqlite3_bind_int64(st, 1, e->id);
		for (int i = 0; i < EXE_FIELDS; i++)
			bind_text(st, 2 + i, e->f[i], e->len[i]);
		r = step_once(d, st, e->id);
	}
	for (const struct str_ref *s = b->strs; s && r == SQLITE_DONE; s = s->hh.next) {
		int t = s->kind == 'a' ? 0 : s->kind == 'd' ? 1 : s->kind == 'c' ? 2 : -1;
		/* bound without a copy: it must live until the step below */
		char cc[GEOIP_CODE_SIZE];

		if (t < 0)
			continue;	/* family, proto: columns, not tables */
		sqlite3_bind_int64(d->ins_str[t], 1, s->id);
		bind_text(d->ins_str[t], 2, s->s, s->len);
		if (t == 0) {
			const char *c = id_cache_has(&d->seen, s->id) ? NULL :
					addr_country(d, s->s, cc);

			bind_text(d->ins_str[t], 3, c, c ? strlen(c) : 0);
		}
		if (t == 2) {
			/* a container: its names, which may come after its id */
			for (int i = 0; i < CONTAINER_FACTS; i++)
				bind_text(d->ins_str[t], 3 + i, s->facts ? s->facts->v[i] : NULL,
					  s->facts ? s->facts->len[i] : 0);
			if (!s->facts || !s->facts->v[0]) {
				r = step_once(d, d->ins_str[t], s->id);
				continue;
			}
			r = sqlite3_step(d->ins_str[t]);
			sqlite3_reset(d->ins_str[t]);
			if (r == SQLITE_DONE)
				id_cache_put(&d->seen, s->id);
			continue;
		}
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

/* ---- rollups (lib/rollup.h): a window's rows summed per bucket, then added ---- */

/*
 * A rollup key: all 8 bytes wide, compared as bytes (proto and outcome
 * are interned in the batch).
 */
struct ru_row {
	int64_t bucket, exe[NLEVELS], uid, rport, laddr, raddr, domain, netns, container;
	const char *proto, *outcome;
	/* not the key */
	uint64_t send, recv, conns, events, first, last;
	UT_hash_handle hh;
};

#define RU_KEY_LEN (offsetof(struct ru_row, outcome) + sizeof(const char *))

static const int64_t rollup_ns[ROLLUP_LEVELS] = {
	ROLLUP_MINUTE_NS, ROLLUP_HOUR_NS, ROLLUP_DAY_NS,
};

static int64_t ref_id(const struct str_ref *r)
{
	return r ? r->id : 0;
}

static int64_t num_or_none(int64_t v)
{
	return v == INT_NULL ? ROLLUP_NONE : v;
}

static void ru_free(struct ru_row **t)
{
	struct ru_row *e, *tmp;

	HASH_ITER(hh, *t, e, tmp) {
		HASH_DEL(*t, e);
		free(e);
	}
}

/* A dimension rollup's key (rollup.h): all 8 bytes wide, compared as bytes. */
struct dim_row {
	int64_t bucket, dim, ival;
	const char *sval;	/* the proto or outcome, interned in the batch; else NULL */
	/* not the key */
	uint64_t send, recv, conns, events, first, last;
	UT_hash_handle hh;
};

#define DIM_KEY_LEN (offsetof(struct dim_row, sval) + sizeof(const char *))

/* Add the sums of one row (key: its key, k the sums) to the table *dt. */
static int dim_add(struct dim_row **dt, const struct dim_row *key, const struct dim_row *k)
{
	struct dim_row *e;

	HASH_FIND(hh, *dt, key, DIM_KEY_LEN, e);
	if (!e) {
		if (!(e = malloc(sizeof(*e))))
			return SQLITE_NOMEM;
		*e = *key;
		e->send = e->recv = e->conns = e->events = 0;
		e->first = k->first;
		e->last = k->last;
		HASH_ADD(hh, *dt, bucket, DIM_KEY_LEN, e);
		if (!table_added(e, hh)) {
			free(e);
			return SQLITE_NOMEM;
		}
	}
	e->send += k->send;
	e->recv += k->recv;
	e->conns += k->conns;
	e->events += k->events;
	if (k->first < e->first)
		e->first = k->first;
	if (k->last > e->last)
		e->last = k->last;
	return SQLITE_DONE;
}

static void dim_free(struct dim_row **dt)
{
	struct dim_row *e, *tmp;

	HASH_ITER(hh, *dt, e, tmp) {
		HASH_DEL(*dt, e);
		free(e);
	}
}

static const char *const outcome_name[] = { ROLLUP_OUTCOMES(ROLLUP_OUTCOME_NAME1) };

/* An outcome's number in the rollups (rollup.h): 0 for none, -1 for a text kept as itself. */
static int64_t outcome_num(const char *outcome)
{
	if (!outcome)
		return 0;
	for (size_t n = 1; n < sizeof(outcome_name) / sizeof(outcome_name[0]); n++)
		if (!strcmp(outcome, outcome_name[n]))
			return (int64_t)n;
	return -1;
}

static void bind_outcome(sqlite3_stmt *st, int i, const char *outcome)
{
	int64_t n = outcome_num(outcome);

	if (n >= 0)
		sqlite3_bind_int64(st, i, n);
	else
		bind_text(st, i, outcome, strlen(outcome));
}

int rollup_put_at(sqlite3 *h, sqlite3_stmt *st, uint64_t combo)
{
	/* each miss is another combination's row of the bucket: it ends */
	for (;; combo++) {
		int r;

		sqlite3_bind_int64(st, 2, (int64_t)combo);
		r = sqlite3_step(st);
		sqlite3_reset(st);
		if (r != SQLITE_DONE || sqlite3_changes(h) > 0)
			return r;
	}
}

/*
 * Add a full rollup row whose bucket (parameter 1) and sums (15 to 20)
 * are bound: its key's columns (3 to 14) as k has them, at its combo.
 * The writer and version 11's step both come here, so the two agree.
 */
static int rollup_put(sqlite3 *h, sqlite3_stmt *st, const struct rollup_key *k)
{
	int i = 3;

	for (int n = 0; n < ROLLUP_COMBO_NUMS; n++) {
		/* the proto stands after uid (num[3]) in the table */
		if (n == 4)
			bind_text(st, i++, k->proto, k->proto_len);
		sqlite3_bind_int64(st, i++, k->num[n]);
	}
	if (k->outcome_text)
		bind_text(st, i, k->outcome_text, k->outcome_len);
	else
		sqlite3_bind_int64(st, i, k->outcome_num);
	return rollup_put_at(h, st, rollup_combo(k));
}

static int dim_insert(sqlite3_stmt *st, const struct dim_row *dt)
{
	int r = SQLITE_DONE;

	for (const struct dim_row *e = dt; e && r == SQLITE_DONE; e = e->hh.next) {
		sqlite3_bind_int64(st, 1, e->dim);
		sqlite3_bind_int64(st, 2, e->bucket);
		if (e->dim == ROLLUP_DIM_OUTCOME)
			bind_outcome(st, 3, e->sval);
		else if (e->sval)
			bind_text(st, 3, e->sval, strlen(e->sval));
		else
			sqlite3_bind_int64(st, 3, e->ival);
		sqlite3_bind_int64(st, 4, (int64_t)e->send);
		sqlite3_bind_int64(st, 5, (int64_t)e->recv);
		sqlite3_bind_int64(st, 6, (int64_t)e->conns);
		sqlite3_bind_int64(st, 7, (int64_t)e->events);
		sqlite3_bind_int64(st, 8, (int64_t)e->first);
		sqlite3_bind_int64(st, 9, (int64_t)e->last);
		r = sqlite3_step(st);
		sqlite3_reset(st);
	}
	return r;
}

/*
 * The dimension rows of a level's rows t; of the day's, also those of the
 * coarser dimension levels (rollup.h), summed from the day's dimension
 * rows, but for buckets before a level's start.
 */
static int write_dims(struct db *d, const struct ru_row *t, int level)
{
	struct dim_row *dt = NULL, *ct, key;
	int r = SQLITE_DONE;

	for (const struct ru_row *x = t; x && r == SQLITE_DONE; x = x->hh.next) {
		const int64_t vals[ROLLUP_DIMS] = {
			[ROLLUP_DIM_EXE] = x->exe[0], [ROLLUP_DIM_PARENT] = x->exe[1],
			[ROLLUP_DIM_GPARENT] = x->exe[2], [ROLLUP_DIM_UID] = x->uid,
			[ROLLUP_DIM_RPORT] = x->rport, [ROLLUP_DIM_LADDR] = x->laddr,
			[ROLLUP_DIM_RADDR] = x->raddr, [ROLLUP_DIM_DOMAIN] = x->domain,
			[ROLLUP_DIM_NETNS] = x->netns, [ROLLUP_DIM_CONTAINER] = x->container,
		};
		const struct dim_row sums = {
			.send = x->send, .recv = x->recv, .conns = x->conns, .events = x->events,
			.first = x->first, .last = x->last,
		};

		for (int dim = 0; dim < ROLLUP_DIMS && r == SQLITE_DONE; dim++) {
			memset(&key, 0, sizeof(key));
			key.bucket = x->bucket;
			key.dim = dim;
			if (dim == ROLLUP_DIM_PROTO)
				key.sval = x->proto ? x->proto : "";
			else if (dim == ROLLUP_DIM_OUTCOME)
				key.sval = x->outcome;
			else
				key.ival = vals[dim];
			r = dim_add(&dt, &key, &sums);
		}
	}
	if (r == SQLITE_DONE)
		r = dim_insert(d->ins_dim[level], dt);
	for (int c = 0; c < ROLLUP_COARSE && r == SQLITE_DONE && rollup_ns[level] == ROLLUP_DAY_NS; c++) {
		ct = NULL;
		for (const struct dim_row *e = dt; e && r == SQLITE_DONE; e = e->hh.next) {
			key = *e;
			key.bucket = e->bucket - e->bucket % rollup_coarse_ns[c];
			if (key.bucket >= d->coarse_from[c])
				r = dim_add(&ct, &key, e);
		}
		if (r == SQLITE_DONE)
			r = dim_insert(d->ins_coarse[c], ct);
		dim_free(&ct);
	}
	dim_free(&dt);
	return r;
}

/* A window's rows summed per bucket of a level and rollup key, into *t. */
static int ru_sum(const struct db *d, const struct batch *b, int level, struct ru_row **t)
{
	int64_t ns = rollup_ns[level];
	struct ru_row key, *e;

	for (const struct conn_row *c = b->rows; c; c = c->hh.next) {
		memset(&key, 0, sizeof(key));
		key.bucket = (int64_t)c->window_start_ns - (int64_t)(c->window_start_ns % (uint64_t)ns);
		/* older than the buckets kept: the next retention pass would drop it */
		if (key.bucket < d->level_from[level])
			continue;
		for (int l = 0; l < NLEVELS; l++)
			key.exe[l] = c->exe[l] ? c->exe[l]->id : 0;
		key.uid = num_or_none(c->uid);
		key.rport = num_or_none(c->rport);
		key.laddr = ref_id(c->laddr);
		key.raddr = ref_id(c->raddr);
		key.domain = ref_id(c->domain);
		key.netns = num_or_none(c->netns);
		key.container = ref_id(c->container);
		key.proto = c->proto;
		key.outcome = c->outcome;
		HASH_FIND(hh, *t, &key, RU_KEY_LEN, e);
		if (!e) {
			if (!(e = malloc(sizeof(*e))))
				return SQLITE_NOMEM;
			*e = key;
			e->first = c->first_ns;
			e->last = c->last_ns;
			HASH_ADD(hh, *t, bucket, RU_KEY_LEN, e);
			if (!table_added(e, hh)) {
				free(e);
				return SQLITE_NOMEM;
			}
		}
		e->send += c->send_bytes;
		e->recv += c->recv_bytes;
		e->conns++;
		e->events += c->events;
		if (c->first_ns < e->first)
			e->first = c->first_ns;
		if (c->last_ns > e->last)
			e->last = c->last_ns;
	}
	return SQLITE_DONE;
}

static int write_rollup(struct db *d, const struct batch *b, int level)
{
	struct ru_row *t = NULL, *e;
	sqlite3_stmt *st = d->ins_rollup[level];
	int r = ru_sum(d, b, level, &t);

	for (e = t; e && r == SQLITE_DONE; e = e->hh.next) {
		/* the key as the table stores it (rollup.h) */
		struct rollup_key k = {
			.num = { e->exe[0], e->exe[1], e->exe[2], e->uid, e->rport, e->laddr, e->raddr,
				 e->domain, e->netns, e->container },
			.proto = e->proto ? e->proto : "", .proto_len = e->proto ? strlen(e->proto) : 0,
			.outcome_num = outcome_num(e->outcome),
		};
		int i = 15;

		_Static_assert(NLEVELS == 3, "the three executables of rollup_key");
		if (k.outcome_num < 0) {
			k.outcome_text = e->outcome;
			k.outcome_len = strlen(e->outcome);
		}
		sqlite3_bind_int64(st, 1, e->bucket);
		sqlite3_bind_int64(st, i++, (int64_t)e->send);
		sqlite3_bind_int64(st, i++, (int64_t)e->recv);
		sqlite3_bind_int64(st, i++, (int64_t)e->conns);
		sqlite3_bind_int64(st, i++, (int64_t)e->events);
		sqlite3_bind_int64(st, i++, (int64_t)e->first);
		sqlite3_bind_int64(st, i++, (int64_t)e->last);
		r = rollup_put(d->h, st, &k);
	}
	if (r == SQLITE_DONE && d->ins_dim[level])
		r = write_dims(d, t, level);
	ru_free(&t);
	return r;
}

/*
 * Version 11's step: each row of a version-10 full rollup (set aside as
 * <table>_v10) into the new table, at the combo the writer gives its
 * combination, then the old tables dropped and rollup_day's indexes made
 * (once, after the rows: cheaper than row by row).
 */
static int migrate_11_level(sqlite3 *h, int level, char *err, size_t errsize)
{
	char sql[384];
	sqlite3_stmt *sel = NULL, *ins = NULL;
	int r;

	snprintf(sql, sizeof(sql), "SELECT bucket_ns, " ROLLUP_COMBO_COLS ", " ROLLUP_SUM_COLS
		 " FROM rollup_%s_v10", level_name[level]);
	r = sqlite3_prepare_v2(h, sql, -1, &sel, NULL);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(h, ins_rollup_sql[level], -1, &ins, NULL);
	while (r == SQLITE_OK && (r = sqlite3_step(sel)) == SQLITE_ROW) {
		/* the numbers' columns in ROLLUP_COMBO_COLS, counted from bucket_ns */
		static const int num_col[ROLLUP_COMBO_NUMS] = { 1, 2, 3, 4, 6, 7, 8, 9, 10, 11 };
		struct rollup_key k = {
			.proto = (const char *)sqlite3_column_text(sel, 5),
			.proto_len = (size_t)sqlite3_column_bytes(sel, 5),
		};

		for (int i = 0; i < ROLLUP_COMBO_NUMS; i++)
			k.num[i] = sqlite3_column_int64(sel, num_col[i]);
		if (sqlite3_column_type(sel, 12) == SQLITE_TEXT) {
			k.outcome_text = (const char *)sqlite3_column_text(sel, 12);
			k.outcome_len = (size_t)sqlite3_column_bytes(sel, 12);
		} else {
			k.outcome_num = sqlite3_column_int64(sel, 12);
		}
		/* the bucket, the sums (the select's last six columns) */
		sqlite3_bind_value(ins, 1, sqlite3_column_value(sel, 0));
		for (int c = 13; c < 19; c++)
			sqlite3_bind_value(ins, c + 2, sqlite3_column_value(sel, c));
		r = rollup_put(h, ins, &k);
		r = r == SQLITE_DONE ? SQLITE_OK : r;
	}
	if (r == SQLITE_DONE)
		r = SQLITE_OK;
	if (r != SQLITE_OK)
		snprintf(err, errsize, "rollup_%s: %s", level_name[level], sqlite3_errmsg(h));
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	return r;
}

static int migrate_11_combo(sqlite3 *h, char *err, size_t errsize)
{
	int r = SQLITE_OK;

	for (int l = 0; l < ROLLUP_LEVELS && r == SQLITE_OK; l++)
		r = migrate_11_level(h, l, err, errsize);
	if (r == SQLITE_OK)
		r = exec_sql(h, "DROP TABLE rollup_minute_v10; DROP TABLE rollup_hour_v10;"
			     " DROP TABLE rollup_day_v10;" ROLLUP_DAY_INDEXES, err, errsize);
	return r;
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

static int write_verdicts(struct db *d, const struct batch *b)
{
	sqlite3_stmt *st = d->ins_verdict;
	int r = SQLITE_DONE;

	for (const struct verdict *v = b->verdicts; v && r == SQLITE_DONE; v = v->next) {
		int i = 1;

		bind_text(st, i++, v->sha256, 64);
		bind_text(st, i++, v->status, strlen(v->status));
		for (int k = 0; k < VERDICT_COUNTS; k++)
			bind_int(st, i++, v->counts[k]);
		bind_text(st, i++, v->link, v->link ? strlen(v->link) : 0);
		bind_text(st, i++, v->reason, v->reason ? strlen(v->reason) : 0);
		sqlite3_bind_int64(st, i++, v->ts_ns);
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
 * (docs/performance.md, memory footprint). heap_trim (malloc_trim) hands
 * the freed pages, scattered in the writer thread's arena, back to the
 * system.
 */
static void release_cache(struct db *d)
{
	(void)sqlite3_db_release_memory(d->h);
	heap_trim();
}

int db_write(struct db *d, const struct batch *b, char *err, size_t errsize)
{
	const struct conn_row *c = b->rows;
	int64_t latest = d->latest, disorder = 0;
	int r;

	if (!c && !b->events && !b->verdicts)
		return SQLITE_OK;
	r = exec_sql(d->h, "BEGIN IMMEDIATE", err, errsize);
	if (r != SQLITE_OK)
		return r;
	r = write_refs(d, b);
	if (r == SQLITE_DONE)
		r = write_events(d, b);
	/* in either order: a trigger gives executables rows inserted later their verdict */
	if (r == SQLITE_DONE)
		r = write_verdicts(d, b);
	/* one prepared single-row insert per row: faster in SQLite than
	 * multi-row VALUES, which it runs as a co-routine (measured) */
	for (; c && r == SQLITE_DONE; c = c->hh.next) {
		int64_t ws = (int64_t)c->window_start_ns;

		bind_row(d->ins_conn, 1, c);
		r = sqlite3_step(d->ins_conn);
		sqlite3_reset(d->ins_conn);
		if (ws / ROLLUP_DAY_NS < latest / ROLLUP_DAY_NS || ws < latest - ROLLUP_RAW_SLACK_NS)
			disorder = sqlite3_last_insert_rowid(d->h);
		if (ws > latest)
			latest = ws;
	}
	if (disorder && r == SQLITE_DONE) {
		r = exec_i64(d, "INSERT OR REPLACE INTO rollup_state VALUES ('disorder', ?1)", disorder);
		r = r == SQLITE_OK ? SQLITE_DONE : r;
	}
	/* in the same transaction: the rollups never disagree with the rows */
	for (int l = 0; l < ROLLUP_LEVELS && r == SQLITE_DONE; l++)
		r = write_rollup(d, b, l);
	/* with them: how far the input is committed */
	if (r == SQLITE_DONE)
		r = write_mark(d, b);
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
	} else {
		d->latest = latest;
		if (disorder)
			d->disorder_rowid = disorder;
	}
	release_cache(d);
	return r;
}

/* One statement with one number bound: 0 or an SQLite error. */
/* A statement of n integer parameters that returns no rows, run once. */
static int exec_i64s(struct db *d, const char *sql, const int64_t *v, int n)
{
	sqlite3_stmt *st;
	int r = sqlite3_prepare_v2(d->h, sql, -1, &st, NULL);

	if (r != SQLITE_OK)
		return r;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	r = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(d->h);
	sqlite3_finalize(st);
	return r;
}

static int exec_i64(struct db *d, const char *sql, int64_t v)
{
	return exec_i64s(d, sql, &v, 1);
}

/*
 * The rollups' retention: days as the rows, hours and minutes as long as
 * level_keep_s says; rollup_state says from when each is complete, and
 * the writer adds nothing before that (write_rollup). cut[]: the new
 * starts, ns.
 */
/* rollup_state's start of a level. */
static int set_level_from(struct db *d, const char *level, int64_t from_ns)
{
	sqlite3_stmt *st;
	int r = sqlite3_prepare_v2(d->h, "INSERT OR REPLACE INTO rollup_state VALUES (?1, ?2)",
				   -1, &st, NULL);

	if (r != SQLITE_OK)
		return r;
	sqlite3_bind_text(st, 1, level, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, from_ns);
	r = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(d->h);
	sqlite3_finalize(st);
	return r;
}

static int retain_rollups(struct db *d, int64_t cutoff_ns, const int64_t *cut, const int64_t *coarse_cut)
{
	static const char *const del[ROLLUP_LEVELS] = {
		"DELETE FROM rollup_minute WHERE bucket_ns < ?1",
		"DELETE FROM rollup_hour WHERE bucket_ns < ?1",
		"DELETE FROM rollup_day WHERE bucket_ns < ?1",
	};
	static const char *const del_dim[ROLLUP_LEVELS] = {
		NULL,
		"DELETE FROM rollup_dim_hour WHERE bucket_ns < ?1",
		"DELETE FROM rollup_dim_day WHERE bucket_ns < ?1",
	};
	int r = SQLITE_OK;

	for (int l = 0; l < ROLLUP_LEVELS && r == SQLITE_OK; l++) {
		int64_t c = level_keep_s[l] ? cut[l] : cutoff_ns;

		r = exec_i64(d, del[l], c);
		if (r == SQLITE_OK && del_dim[l])
			r = exec_i64(d, del_dim[l], c);
		if (r == SQLITE_OK && level_keep_s[l])
			r = set_level_from(d, level_name[l], c);
	}
	/* a week the cutoff falls in goes whole: the level starts at the next */
	for (int c = 0; c < ROLLUP_COARSE && r == SQLITE_OK; c++) {
		static const char *const del_coarse[ROLLUP_COARSE] = {
			"DELETE FROM rollup_dim_week WHERE bucket_ns < ?1",
			"DELETE FROM rollup_dim_4week WHERE bucket_ns < ?1",
		};

		r = exec_i64(d, del_coarse[c], cutoff_ns);
		if (r == SQLITE_OK)
			r = set_level_from(d, rollup_coarse_name[c], coarse_cut[c]);
	}
	return r;
}

/*
 * Where each rollup level is cut: cut[] the minute and hour levels (by
 * their own retention), coarse_cut[] the first week and four weeks wholly
 * after the cutoff. A level only ever gets shorter: what was skipped stays
 * missing.
 */
static void retain_cuts(const struct db *d, int64_t cutoff_ns, int64_t *cut, int64_t *coarse_cut)
{
	int64_t now_s = (int64_t)time(NULL);

	for (int c = 0; c < ROLLUP_COARSE; c++) {
		int64_t ns = rollup_coarse_ns[c];

		coarse_cut[c] = cutoff_ns - cutoff_ns % ns;
		if (coarse_cut[c] < cutoff_ns)
			coarse_cut[c] += ns;
		if (coarse_cut[c] < d->coarse_from[c])
			coarse_cut[c] = d->coarse_from[c];
	}
	for (int l = 0; l < ROLLUP_LEVELS; l++) {
		int64_t ns = l == 0 ? 60 : 3600;

		cut[l] = (now_s - level_keep_s[l]) / ns * ns * 1000000000;
		if (cut[l] < d->level_from[l])
			cut[l] = d->level_from[l];
	}
}

/*
 * The connections before the cutoff. Rows are appended in time order, so
 * the expired ones come first in rowid order: the scan stops at the first
 * row to keep, and reads no more than it deletes. (No index on time alone:
 * it would cost every insert; the time-range indexes lead with executable
 * and domain.)
 *
 * Rows written after later ones (the wall clock stepped back): the expired
 * ones up to the last such row, a scan of the rows kept up to there, once
 * a day (whole days expire). Once retention is past it, the log is in
 * order again.
 */
static int delete_expired(struct db *d, int64_t cutoff_ns, uint64_t *deleted)
{
	int64_t v[2] = { d->disorder_rowid, cutoff_ns }, first = 0;
	sqlite3_stmt *st;
	int r;

	r = exec_i64(d, "DELETE FROM connections WHERE rowid < coalesce("
		     " (SELECT rowid FROM connections WHERE window_start_ns >= ?1 ORDER BY rowid LIMIT 1),"
		     " (SELECT max(rowid) + 1 FROM connections))", cutoff_ns);
	if (r != SQLITE_OK)
		return r;
	*deleted = (uint64_t)sqlite3_changes64(d->h);
	if (!d->disorder_rowid || cutoff_ns <= d->disorder_cut)
		return SQLITE_OK;
	r = exec_i64s(d, "DELETE FROM connections WHERE rowid <= ?1 AND window_start_ns < ?2", v, 2);
	if (r != SQLITE_OK)
		return r;
	*deleted += (uint64_t)sqlite3_changes64(d->h);
	r = sqlite3_prepare_v2(d->h, "SELECT coalesce(min(rowid), 0) FROM connections", -1, &st, NULL);
	if (r != SQLITE_OK)
		return r;
	if (sqlite3_step(st) == SQLITE_ROW)
		first = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	/* every row up to it is of a day kept: in order from here on */
	if (first == 0 || first > d->disorder_rowid)
		r = exec_i64(d, "DELETE FROM rollup_state WHERE level = 'disorder' AND from_ns = ?1",
			     d->disorder_rowid);
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
	int64_t cut[ROLLUP_LEVELS], coarse_cut[ROLLUP_COARSE];
	int r;

	/*
	 * Whole days go, so that the rollups of the days kept sum exactly the
	 * rows kept (a day's rollup row cannot be cut in two).
	 */
	cutoff_ns -= cutoff_ns % (uint64_t)ROLLUP_DAY_NS;
	retain_cuts(d, (int64_t)cutoff_ns, cut, coarse_cut);
	*deleted = 0;
	r = exec_sql(d->h, "BEGIN IMMEDIATE", err, errsize);
	if (r != SQLITE_OK)
		return r;
	r = retain_rollups(d, (int64_t)cutoff_ns, cut, coarse_cut);
	if (r == SQLITE_OK)
		r = delete_expired(d, (int64_t)cutoff_ns, deleted);
	if (r == SQLITE_OK && *deleted)
		r = exec_sql(d->h, orphans, err, errsize);
	if (r == SQLITE_OK)
		r = exec_i64(d, "DELETE FROM events WHERE ts_ns < ?1", (int64_t)cutoff_ns);
	if (r != SQLITE_OK) {
		snprintf(err, errsize, "%s", sqlite3_errmsg(d->h));
		(void)sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	r = exec_sql(d->h, "COMMIT", err, errsize);
	for (int l = 0; r == SQLITE_OK && l < ROLLUP_LEVELS; l++)
		if (level_keep_s[l])
			d->level_from[l] = cut[l];
	for (int c = 0; r == SQLITE_OK && c < ROLLUP_COARSE; c++)
		d->coarse_from[c] = coarse_cut[c];
	if (r == SQLITE_OK) {
		if (d->disorder_rowid)
			d->disorder_cut = (int64_t)cutoff_ns;
		r = load_disorder(d, false);
	}
	/* ids in the cache may have been deleted as orphans */
	id_cache_clear(&d->seen);
	release_cache(d);
	return r;
}
