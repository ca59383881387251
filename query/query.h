/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_QUERY_H
#define SNITCH_QUERY_H

/*
 * The query core: what snitch-query, snitch-web and the terminal browser
 * ask of the log (docs/schema.md). It only reads: the database is opened
 * read-only, as a WAL reader that never blocks snitch-store, with a busy
 * timeout for the moments a checkpoint holds a lock.
 *
 * Every answer is the same as a GROUP BY over the raw connections table
 * would give; the core takes it from the coarsest rollup that answers
 * exactly (rollup_day, rollup_hour, rollup_minute; rollup_dim_* when the
 * query has no filter) and from the raw table only for the edges of a
 * range that no rollup covers, or for the field the rollups do not keep
 * (lport; docs/schema.md).
 *
 * A row "belongs" to a range when its window_start_ns is in [from, until).
 * Strings in results are owned by the result and freed with it. Functions
 * return 0 or a negative errno: -EINVAL for a bad spec or value (err says
 * which), -ENOENT for a missing database, -EACCES, -E2BIG when a query
 * would scan more raw rows than spec->max_raw_rows, -ETIMEDOUT when it ran
 * longer than spec->max_ms (the statement is interrupted), -EIO for an SQLite
 * error (err has its message), -ENOMEM.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The fields, by the names used everywhere (CLI, JSON, web API). */
enum q_field {
	QF_NONE = -1,
	QF_EXE = 0,		/* "exe": the executable's path */
	QF_NAME,		/* "name": comm */
	QF_CMDLINE,		/* "cmdline": the JSON array text as stored */
	QF_SHA256,		/* "sha256" */
	QF_PARENT_EXE,		/* "parent_exe", ... the same four of the parent */
	QF_PARENT_NAME,
	QF_PARENT_CMDLINE,
	QF_PARENT_SHA256,
	QF_GPARENT_EXE,		/* "gparent_exe", ... and of the grandparent */
	QF_GPARENT_NAME,
	QF_GPARENT_CMDLINE,
	QF_GPARENT_SHA256,
	QF_USER,		/* "user": the uid, in decimal */
	QF_LPORT,		/* "lport" (raw table only: ephemeral ports) */
	QF_RPORT,		/* "rport" */
	QF_LADDR,		/* "laddr" */
	QF_RADDR,		/* "raddr" */
	QF_COUNTRY,		/* "country": of raddr (addresses.country) */
	QF_DOMAIN,		/* "domain" */
	QF_NETNS,		/* "netns": inode, decimal */
	QF_CONTAINER,		/* "container": "runtime:id" */
	QF_PROTO,		/* "proto": tcp, udp, ... */
	QF_APP,			/* "app": the Flatpak app id or snap name (version 9) */
	QF_SCRIPT,		/* "script": the script an interpreter runs (version 9) */
	QF_CONTAINER_NAME,	/* "container_name", "image", "pod_namespace", */
	QF_IMAGE,		/* "pod_name": of the container (version 4) */
	QF_POD_NAMESPACE,
	QF_POD_NAME,
	QF_OUTCOME,		/* "outcome": connected, refused, ... (version 10) */
	QF_COUNT
};

/* "exe", ... for a field; NULL for QF_NONE or out of range. */
const char *q_field_name(enum q_field f);
/* The field of a name; QF_NONE when there is none of that name. */
enum q_field q_field_parse(const char *name);
/*
 * "F=V", split at the first '=': the field, and the value (a pointer into
 * expr; NULL for "F=", the field being NULL). 0; -EINVAL without '=';
 * -ENOENT for a field of no known name.
 */
int q_field_value(const char *expr, enum q_field *f, const char **value);
/* Whether a field's values are numbers (user, ports, netns). */
bool q_field_numeric(enum q_field f);
/* The schema version whose database has the field (country: 3; the containers'
 * names: 4; app, script: 9; outcome: 10, whose rollups keep it). */
int q_field_version(enum q_field f);

/* ---- the database ---- */

struct q_db;

/*
 * Open the log read-only (SQLITE_OPEN_READONLY, WAL reader, busy timeout
 * busy_ms; 0: 2000 ms). A database of schema version 2 (no rollups) is
 * read from the raw table only; one newer than this core knows, or not a
 * snitch log, is refused (-EPROTO, err says why).
 */
int q_open(struct q_db **db, const char *path, int busy_ms, char *err, size_t errsize);
/* Close; NULL is fine. */
void q_close(struct q_db *db);

/*
 * After a q_open() of path that returned r: when r is -EACCES, what would
 * let this user read the log added to its message err ("...: reading the
 * log takes the group 'snitch' (sudo usermod -aG snitch $USER, then log in
 * again)"), the group named from the file or the nearest directory of it
 * this user may see. Reads the group database: not for a process under a
 * seccomp filter that refuses that (snitch-web says it its own way).
 */
void q_access_hint(const char *path, int r, char *err, size_t errsize);

/* What the database holds (for a UI's header and for "all"). */
struct q_meta {
	int schema_version;
	bool rollups;			/* version >= 3: rollup tables present */
	int64_t first_ns, last_ns;	/* oldest and newest window_start_ns; 0 when empty */
	uint64_t rows;			/* connections rows (max(rowid), an estimate) */
	uint64_t executables;		/* rows of the executables table */
};
int q_meta(struct q_db *db, struct q_meta *m, char *err, size_t errsize);

/* ---- describing a query ---- */

#define Q_MAX_FILTERS 16

/* field = value, or field != value when exclude. value NULL: SQL NULL. */
struct q_filter {
	enum q_field field;
	bool exclude;
	const char *value;	/* not owned: the caller keeps it alive */
};

struct q_spec {
	int64_t from_ns, until_ns;	/* [from, until); q_spec_init: all time */
	enum q_field group_by;		/* QF_NONE: no grouping */
	struct q_filter filters[Q_MAX_FILTERS];	/* AND of all */
	size_t nfilters;
	size_t top;			/* 0: every group; else N rows + "other" */
	int64_t bucket_ns;		/* series bucket; 0: q_series picks one */
	uint64_t max_raw_rows;		/* 0: no limit; else -E2BIG beyond it */
	uint32_t max_ms;		/* 0: no limit; else -ETIMEDOUT once the call ran this long */
	bool raw_only;			/* the raw table only (tests, bench/query.sh) */
	bool sql_sums;			/* groups summed by SQLite's GROUP BY, not in C (tests) */
};

/*
 * The raw rows a view may read before an interactive tool (snitch-web,
 * snitch-tui) refuses it: the local port over 30 days of bench/query.sh's
 * log is 820,000 rows, a quarter of a second summed in C; a year of it,
 * ten million, is refused at once.
 */
#define Q_VIEW_MAX_RAW_ROWS UINT64_C(2000000)

/* All time, no grouping, no filter, no limit. */
void q_spec_init(struct q_spec *s);

/*
 * Add "F=V" (exclude false) or "F=V" to exclude: the text is split at the
 * first '='; "F=" means the field is NULL. expr must outlive the spec (the
 * value points into it). -EINVAL with err naming the field or value.
 */
int q_spec_add_filter(struct q_spec *s, char *expr, bool exclude, char *err, size_t errsize);

/*
 * Times. A duration: N followed by s, m, h, d, w or y ("15m", "1y");
 * q_parse_since also takes "all" (from 0). A time: seconds since the epoch
 * (digits, optionally with a fraction), or ISO 8601 "YYYY-MM-DD",
 * "YYYY-MM-DDTHH:MM[:SS]" with "Z", "+HH:MM" or nothing (UTC).
 * 0 or -EINVAL.
 */
int q_parse_duration(const char *s, int64_t *ns);
int q_parse_since(const char *s, int64_t now_ns, int64_t *from_ns);
int q_parse_time(const char *s, int64_t *ns);

/*
 * Check a spec before running it (ranges, fields, a value that cannot be
 * a number for a numeric field): 0 or -EINVAL with err naming the fault.
 * Every q_* query below checks it too.
 */
int q_spec_check(const struct q_spec *s, char *err, size_t errsize);

/* ---- results ---- */

struct q_totals {
	uint64_t sent, received;	/* bytes */
	uint64_t connections;		/* connections rows (identity x window) */
	uint64_t events;		/* records merged into them */
	uint64_t executables;		/* distinct exe paths in the range (filters applied) */
	uint64_t new_executables;	/* of those, whose first row ever (any filter) is in the range */
	int64_t first_ns, last_ns;	/* first and last seen (records' times); 0 when none */
};

/*
 * The VirusTotal verdict of a sha256 (schema version 5, the verdicts
 * table): status as snitch-vt gave it ("known", "not_found", ...),
 * flagged = malicious + suspicious and engines (-1: unknown, as for
 * "not_found"), link (NULL when none).
 */
struct q_vt {
	char *status;
	char *link;
	int64_t flagged, engines;
};

/*
 * One group (or one distinct value, or a drill-down entry). key is the
 * value's text, NULL for SQL NULL; other marks the rest summed when top
 * cut the list (key NULL then). extra: the country of an address in a
 * drill-down, else NULL.
 */
struct q_row {
	char *key;
	char *extra;
	bool other;
	uint64_t sent, received, connections, events;
	int64_t first_ns, last_ns;
	/*
	 * Rows of a sha256 field (sha256, parent_sha256, gparent_sha256) of a
	 * database of version >= 5: vt_known, and vt the verdict of key or
	 * NULL when it has none. Otherwise both unset.
	 */
	bool vt_known;
	struct q_vt *vt;
};

/* Rows ordered by sent + received, descending (ties: key). */
struct q_rows {
	enum q_field field;
	struct q_row *v;
	size_t n;
};

/* One point of a series: a bucket's sums for one group (key as above). */
struct q_point {
	int64_t bucket_ns;	/* bucket start */
	char *key;
	bool other;
	uint64_t sent, received, connections;
};

/* Ordered by bucket, then as the top groups rank; buckets with nothing are absent. */
struct q_series {
	enum q_field field;	/* the spec's group_by; QF_NONE: one key, NULL */
	int64_t bucket_ns;
	struct q_point *v;
	size_t n;
};

/* The drill-down of one group: where its traffic went and who made it. */
struct q_drill {
	enum q_field field;
	char *value;
	struct q_totals totals;
	struct q_rows domains, addresses /* extra: country */, ports /* rport */,
		      parents /* parent_exe */, users, sha256;
	/* what ran inside its executables (version 9; none before) */
	struct q_rows scripts, apps;
	/* what became of its connections (version 10; none before) */
	struct q_rows outcomes;
};

/* One executable path with the sha256 values it had, over time. */
struct q_hash {
	char *sha256;		/* NULL: not hashed */
	int64_t first_ns, last_ns;
	bool vt_known;		/* as in struct q_row */
	struct q_vt *vt;
};

struct q_exe {
	char *path;
	char *name;		/* the name seen last */
	int64_t first_ns, last_ns;
	uint64_t sent, received, connections;
	struct q_hash *hashes;	/* by first_ns; more than one: it was modified */
	size_t nhashes;
};

struct q_exes {
	struct q_exe *v;	/* by first_ns, newest first */
	size_t n;
};

/* ---- the queries ---- */

/* Totals of the range, filters applied (group_by and top ignored). */
int q_totals(struct q_db *db, const struct q_spec *s, struct q_totals *out,
	     char *err, size_t errsize);

/* Rows of s->group_by (must be set), top N and "other" when s->top. */
int q_group(struct q_db *db, const struct q_spec *s, struct q_rows *out,
	    char *err, size_t errsize);

/*
 * A time series: per bucket of s->bucket_ns (0: picked so that the range
 * has about 60 buckets, rounded to 1m, 5m, 15m, 1h, 6h, 1d, 7d), the sums
 * of each of the top s->top groups of s->group_by (ranked over the whole
 * range) and of the rest as "other"; no group_by: one series.
 */
int q_series(struct q_db *db, const struct q_spec *s, struct q_series *out,
	     char *err, size_t errsize);

/* The distinct values of field in the range (filters applied), at most limit (0: all), as rows. */
int q_distinct(struct q_db *db, const struct q_spec *s, enum q_field field,
	       size_t limit, struct q_rows *out, char *err, size_t errsize);

/* Drill into field = value within the spec's range and filters; each list at most s->top (0: all). */
int q_drill(struct q_db *db, const struct q_spec *s, enum q_field field,
	    const char *value, struct q_drill *out, char *err, size_t errsize);

/* Every executable seen in the range (filters applied). */
int q_executables(struct q_db *db, const struct q_spec *s, struct q_exes *out,
		  char *err, size_t errsize);

void q_rows_free(struct q_rows *r);
void q_series_free(struct q_series *s);
void q_drill_free(struct q_drill *d);
void q_exes_free(struct q_exes *e);

/* ---- JSON (docs/schema.md, "snitch-query output") ---- */

/*
 * Each writes one JSON object (no newline) to b: snitch-query --json puts
 * one per line, snitch-web puts them in arrays. Times are ns integers
 * ("first_ns", "last_ns", "bucket_ns"); bytes are integers.
 */
void q_json_totals(struct buf *b, const struct q_totals *t);
/* {"<field>": key, "sent":..., "received":..., "connections":..., "events":...,
 *  "first_ns":..., "last_ns":...} plus "other": true for the rest, "country" for extra,
 *  and "vt": {"status":..., "flagged":..., "engines":..., "link":...} or null when vt_known. */
void q_json_row(struct buf *b, enum q_field field, const struct q_row *r);
/* {"bucket_ns":..., "<field>": key, "sent":..., "received":..., "connections":...} */
void q_json_point(struct buf *b, enum q_field field, const struct q_point *p);
/* {"field":..., "value":..., "totals":{...}, "domains":[rows], "addresses":[...], ...} */
void q_json_drill(struct buf *b, const struct q_drill *d);
/* {"exe":..., "name":..., "first_ns":..., "last_ns":..., "sent":..., ...,
 *  "sha256":[{"sha256":..., "first_ns":..., "last_ns":..., "vt": as in a row}]} */
void q_json_exe(struct buf *b, const struct q_exe *e);

#endif
