/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for snitch-remote's spool reader: any bytes as the
 * spool file, read as the sender reads it (cmd/snitch-remote/remote.c,
 * send_some: lines, each a row record or skipped) and made into the
 * statements that store each line (spool.c), without a server.
 * Invariants: no crash or undefined behaviour; each statement gets the
 * number of parameters it takes, every one SQL NULL or NUL-terminated
 * valid UTF-8 without a NUL inside (what PostgreSQL's TEXT can hold); a
 * line's row comes last, once, with its host and row_uid, also when the
 * line is read again (a transaction sent again).
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "record.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

struct seen_stmts {
	int rows;
	int refs;
};

static int check_stmt(void *arg, enum stmt s, struct param *p)
{
	struct seen_stmts *c = arg;

	if (s >= NSTMTS || c->rows)
		abort();	/* a statement after the line's row */
	for (int k = 0; k < stmt_nparams[s]; k++) {
		const struct buf *t = &p[k].text;

		if (p[k].null)
			continue;
		if (!t->len || t->p[t->len - 1] != '\0' || strlen(t->p) != t->len - 1)
			abort();
		for (size_t i = 0, n; i < t->len - 1; i += n)
			if (!(n = utf8_seq_len((const unsigned char *)t->p + i, t->len - 1 - i)))
				abort();
	}
	if (s == S_CONN) {
		if (p[0].null || p[1].null)
			abort();	/* spool_line_ok let in a row without them */
		c->rows++;
	} else {
		if (p[0].null)
			abort();	/* a reference without its id */
		c->refs++;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct param p[CONN_COLS];
	static struct record rec;
	static int64_t slots[64];
	struct id_cache seen = { slots, 64 };
	const char *q = (const char *)data, *end = q + size;

	id_cache_clear(&seen);
	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		struct seen_stmts c = { 0, 0 };

		if (!nl)
			break;	/* a line cut by a crash: not sent */
		if (record_parse(&rec, q, (size_t)(nl - q), NULL) == 0 && spool_line_ok(&rec)) {
			if (spool_line_stmts(&rec, &seen, p, check_stmt, &c) != 0 || c.rows != 1)
				abort();
			/* the same line again, as after a rolled-back transaction */
			c.rows = c.refs = 0;
			if (spool_line_stmts(&rec, &seen, p, check_stmt, &c) != 0 || c.rows != 1)
				abort();
		}
		q = nl + 1;
	}
	return 0;
}
