/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_STORE_H
#define SNITCH_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ancestry.h"
#include "buf.h"
#include "perms.h"
#include "table.h"

#define STAGE "snitch-store"
#define INT_NULL INT64_MIN	/* a number the record did not give */

struct store_opts {
	const char *db;
	uint64_t write_limit_s;
	uint64_t retention_days;
	uint64_t retention_every_s;
	const char *csv;
	bool tee;
	bool log_exec;
	bool no_addresses, no_cmdlines, no_ports;
	const char *ignore_ports, *ignore_domains, *ignore_ips, *ignore_sha256;
	bool emit_rows;
	const char *owner, *group;
	const char *mode;
};

/* File ownership and mode for everything snitch-store creates. */

/* ---- rows (rows.c) ---- */

/*
 * An interned executable: a referenced row. Its four fields point into
 * key, which holds each one's length (SIZE_MAX: SQL NULL) and bytes and a
 * NUL: the table's key, and the one allocation of their bytes.
 */
/*
 * The fields of an executables row, in its key's order: the four that name
 * the program, then what runs inside it (version 9): the sandboxed app it
 * belongs to and the script an interpreter runs. A row with none of the
 * last four has the id it had before they existed.
 */
enum {
	EXE_PATH, EXE_NAME, EXE_CMDLINE, EXE_SHA256,
	EXE_APP_KIND, EXE_APP, EXE_SCRIPT, EXE_SCRIPT_SHA256, EXE_FIELDS
};
#define EXE_FIELDS_V1 4		/* those the id was made of before version 9 */

struct exe_ref {
	int64_t id;		/* content hash; 0: none */
	char *f[EXE_FIELDS];	/* NULL: SQL NULL */
	size_t len[EXE_FIELDS];
	char *key;
	UT_hash_handle hh;
};

/*
 * What snitch-resolve named a container: its name, image and pod (the
 * containers table's columns beside its id). NULL: SQL NULL.
 */
#define CONTAINER_FACTS 5	/* container_name, image, pod_namespace, pod_name, pod_uid */
struct container_facts {
	char *v[CONTAINER_FACTS];
	size_t len[CONTAINER_FACTS];
};

/* An interned string: a domain, an address, a container, a family or a proto. */
struct str_ref {
	int64_t id;		/* 0: none */
	char kind;		/* 'a'ddress, 'd'omain, 'c'ontainer, 'f'amily, 'p'roto */
	char *s;		/* key + 1: the key is kind, then s, then a NUL */
	size_t len;
	struct container_facts *facts;	/* a container's, as its first record said */
	UT_hash_handle hh;
};

/*
 * One connections row: records merged on their whole identity, the key,
 * which is the members from window_start_ns to container (all 8 bytes
 * wide, so no padding among them), compared as bytes.
 */
struct conn_row {
	uint64_t window_start_ns;
	struct exe_ref *exe[NLEVELS];
	int64_t uid;
	const char *family, *proto;	/* interned in the batch */
	int64_t lport, rport;
	struct str_ref *laddr, *raddr, *domain;
	int64_t netns;
	struct str_ref *container;
	const char *outcome;		/* interned in the batch; NULL: none */
	/* not the key */
	uint64_t window_end_ns;
	uint64_t first_ns, last_ns;
	uint64_t send_bytes, recv_bytes, events;
	UT_hash_handle hh;
};

#define CONN_KEY_LEN (offsetof(struct conn_row, outcome) + sizeof(const char *))

/*
 * A window's rows and what they reference; owned by one thread at a time.
 * Each table lists its entries in the order they were made (hh.next).
 */
struct batch {
	struct conn_row *rows;
	struct exe_ref *exes;
	struct str_ref *strs;
	uint64_t lost_rows;		/* rows that could not be made (no memory) */
	struct batch *qnext;
	/* error and lost records of the window, for the events table */
	struct event *events, **events_tail;
	size_t nevents;
	/* snitch-vt's verdicts, for the verdicts table */
	struct verdict *verdicts, **verdicts_tail;
	/* under snitch run: its input ends at this offset (replay_marks) */
	uint64_t in_off;
	bool has_off;
};

static inline size_t batch_rows(const struct batch *b)
{
	return HASH_COUNT(b->rows);
}

struct batch *batch_new(void);
void batch_free(struct batch *b);

struct filters;
struct filters *filters_new(const struct store_opts *o, char *err, size_t errsize);
void filters_free(struct filters *f);

struct record;
/*
 * Merge one record into the batch: a flow, or an exec when --log-exec.
 * Returns 1 when merged, 0 when not a record to log or filtered out.
 */
int batch_add(struct batch *b, const struct store_opts *o,
	      const struct filters *f, struct record *r, uint64_t window_ns);

/* ---- CSV (rows.c) ---- */
int csv_write_batch(int fd, const struct batch *b);

/*
 * The batch's rows as "row" records (docs/records.md), appended to out:
 * for snitch-remote, after the window is committed (--emit-rows).
 */
void batch_emit_rows(const struct batch *b, uint64_t ts_ns, struct buf *out);

/* ---- error and lost records, for the events table (events.c) ---- */

/* One error or lost record. NULL strings are SQL NULLs. */
struct event {
	int64_t ts_ns;
	const char *type;		/* "error" or "lost" */
	char *stage, *code, *message;	/* code: an error's code, a lost reason */
	int64_t count;			/* lost records; INT_NULL for errors */
	char *json;			/* the whole record */
	size_t json_len;
	struct event *next;
};

/*
 * Take an error or lost record into the batch's events. Returns 1 when
 * taken, 0 when the record is of another type, -ENOMEM.
 */
int events_add_record(struct batch *b, const struct record *r, const char *line, size_t len);
/*
 * Take one of snitch-store's own error or lost records (json, len bytes,
 * without its newline), from what it knows without parsing it. count is
 * INT_NULL for an error. Returns 1, or -ENOMEM.
 */
int events_add(struct batch *b, uint64_t ts_ns, const char *type, const char *stage,
	       const char *code, int64_t count, const char *msg, const char *json, size_t len);
/* Move every event of from to the end of to's. */
void events_move(struct batch *to, struct batch *from);
void events_free(struct batch *b);

/* ---- snitch-vt's verdict records (verdicts.c) ---- */

/* The numbers of a verdict, in the order of the verdicts table's columns. */
#define VERDICT_COUNTS 6	/* malicious ... engines, analysis_ns */

struct verdict {
	char sha256[65];
	int64_t ts_ns;			/* when it came: checked_ns */
	char *status, *link, *reason;	/* NULL: SQL NULL */
	int64_t counts[VERDICT_COUNTS];	/* INT_NULL: SQL NULL */
	struct verdict *next;
};

/*
 * Take a verdict record into the batch. Returns 1 when taken, 0 when the
 * record is of another type (or has no sha256 and status), -ENOMEM.
 */
int verdicts_add_record(struct batch *b, const struct record *r);
void verdicts_free(struct batch *b);

/* ---- the local database (sqlite.c) ---- */

struct db;

/*
 * Open (creating, or migrating) the database. A file that is not a
 * database, or is corrupt, is moved aside to PATH.corrupt-<time>: *moved
 * gets that name. Returns NULL with errmsg set when it cannot be opened.
 */
struct db *db_open(const char *path, const struct file_perms *perms,
		   char *moved, size_t movedsize, char *errmsg, size_t errsize);
void db_close(struct db *d);
/*
 * Under snitch run: the run's id, written with each window's input
 * offset; *mark gets the offset its rows are committed up to (0: none).
 * Another run's mark is deleted. 0 or an SQLite error code.
 */
int db_set_run(struct db *d, const char *run_id, uint64_t *mark);
/*
 * Write a batch (its rows and events) in one transaction: 0, or an SQLite
 * error code (errmsg set).
 */
int db_write(struct db *d, const struct batch *b, char *errmsg, size_t errsize);
/*
 * Add a full rollup row to its table (lib/rollup.h): st is that table's
 * ROLLUP_UPSERT with every parameter but the combo (2) bound; combo the
 * rollup_combo() of its key. The row goes to the first combo on from
 * there that is free or its combination's own (at most as many steps as
 * the bucket has rows). SQLITE_DONE, or the error of the step.
 */
struct sqlite3;
struct sqlite3_stmt;
int rollup_put_at(struct sqlite3 *h, struct sqlite3_stmt *st, uint64_t combo);
/* Delete rows and events older than the cut-off, and references nothing uses. */
int db_retain(struct db *d, uint64_t cutoff_ns, uint64_t *deleted,
	      char *errmsg, size_t errsize);
/* Messages from the threads to the output: error records, in order. */
void note_error(const char *code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void note_lost(const char *reason, uint64_t count, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
