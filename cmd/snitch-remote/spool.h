/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_REMOTE_SPOOL_H
#define SNITCH_REMOTE_SPOOL_H

#include <stdbool.h>

#include "buf.h"
#include "idcache.h"

/*
 * A spool line (docs/schema.md, "The spool") as the statements that store
 * it: what the sender does with a line, without a server (spool.c), so
 * that it can be tested and fuzzed alone.
 */

/* The statements, in the order a line runs them. */
enum stmt { S_EXE, S_ADDR, S_DOMAIN, S_CONTAINER, S_CONN, NSTMTS };

#define CONN_COLS 22
/*
 * executables: id, path, name, cmdline, sha256, app_kind, app, script_path,
 * script_sha256; containers: id, name, container_name, image,
 * pod_namespace, pod_name, pod_uid. A server whose tables predate the
 * last four and five columns (schema.c) is given the first five and two.
 */
#define EXE_PARAMS 9
#define EXE_PARAMS_OLD 5
#define CONTAINER_PARAMS 7
#define CONTAINER_PARAMS_OLD 2
/* The connections columns: each is also the spool member of that name. */
extern const char *const conn_cols[CONN_COLS];
/* How many parameters each statement takes. */
extern const int stmt_nparams[NSTMTS];

/* One bound value: text (NUL-terminated, valid UTF-8, no NUL inside), or SQL NULL. */
struct param {
	struct buf text, tmp;
	bool null;
};

struct record;

/* A line the sender can send: a row with what NOT NULL columns need. */
bool spool_line_ok(const struct record *rec);

/*
 * The statements of one line: its references the connection has not
 * inserted yet (seen, which this marks), then its row. run(ctx, stmt, p)
 * is called for each with p[0 .. stmt_nparams[stmt]) set; the first
 * negative return stops it and is returned; else 0.
 */
int spool_line_stmts(const struct record *rec, struct id_cache *seen, struct param *p,
		     int (*run)(void *ctx, enum stmt s, struct param *p), void *ctx);

#endif
