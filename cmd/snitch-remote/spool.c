/* SPDX-License-Identifier: MIT */
/*
 * A spool line as the statements that store it (spool.h): the members
 * each statement takes, made valid UTF-8 for the server. Nothing here
 * talks to a server; remote.c runs what this makes.
 */
#include <string.h>

#include "json.h"
#include "record.h"
#include "spool.h"

const char *const conn_cols[CONN_COLS] = {
	"host", "row_uid", "window_start_ns", "window_end_ns", "first_ns", "last_ns",
	"send_bytes", "recv_bytes", "events", "exe_id", "parent_exe_id", "gparent_exe_id",
	"uid", "family", "proto", "lport", "rport", "laddr_id", "raddr_id", "domain_id",
	"netns", "container_id",
};

const int stmt_nparams[NSTMTS] = { EXE_PARAMS, 2, 2, CONTAINER_PARAMS, CONN_COLS };

/* The members of the spool line, in one table: the columns, then the references. */
enum {
	M_EXE = CONN_COLS,		/* 3 levels of EXE_PARAMS: the executables columns */
	M_LADDR = M_EXE + 3 * EXE_PARAMS, M_RADDR, M_DOMAIN, M_CONTAINER,
	M_CONTAINER_FACTS,		/* CONTAINER_PARAMS - 2 of them */
	NMEMBERS = M_CONTAINER_FACTS + CONTAINER_PARAMS - 2,
};
static const char *const member_names[NMEMBERS] = {
	"host", "row_uid", "window_start_ns", "window_end_ns", "first_ns", "last_ns",
	"send_bytes", "recv_bytes", "events", "exe_id", "parent_exe_id", "gparent_exe_id",
	"uid", "family", "proto", "lport", "rport", "laddr_id", "raddr_id", "domain_id",
	"netns", "container_id",
	"exe_id", "exe_path", "name", "cmdline", "exe_sha256",
	"app_kind", "app", "script_path", "script_sha256",
	"parent_exe_id", "parent_exe_path", "parent_name", "parent_cmdline", "parent_exe_sha256",
	"parent_app_kind", "parent_app", "parent_script_path", "parent_script_sha256",
	"gparent_exe_id", "gparent_exe_path", "gparent_name", "gparent_cmdline", "gparent_exe_sha256",
	"gparent_app_kind", "gparent_app", "gparent_script_path", "gparent_script_sha256",
	"laddr", "raddr", "domain", "container",
	"container_name", "container_image", "pod_namespace", "pod_name", "pod_uid",
};
enum { C_LADDR_ID = 17, C_RADDR_ID, C_DOMAIN_ID, C_CONTAINER_ID = 21 };

/* Make bytes valid UTF-8 for a server that insists: bad bytes -> U+FFFD. */
static void put_utf8(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq_len((const unsigned char *)s + i, n - i);

		if (k && s[i]) {
			buf_append(b, s + i, k);
			i += k;
		} else {
			if (s[i])
				buf_puts(b, "\xef\xbf\xbd");
			i++;	/* a NUL: dropped, TEXT cannot hold one */
		}
	}
}

/*
 * A member as the text of a parameter: a number as written, a string
 * decoded and made valid UTF-8, an array (a command line) as its JSON
 * text; absent or null: NULL.
 */
static void param_set(struct param *p, const struct record *rec, const struct record_member *m)
{
	buf_reset(&p->text);
	p->null = !m || m->type == JSON_NULL;
	if (p->null)
		return;
	if (m->type == JSON_STRING) {
		buf_reset(&p->tmp);
		(void)record_member_str(rec, m, &p->tmp);
		put_utf8(&p->text, p->tmp.p ? p->tmp.p : "", p->tmp.len);
	} else {
		put_utf8(&p->text, record_val(rec, m), m->val_len);
	}
	buf_putc(&p->text, '\0');	/* for libpq; not counted below */
	p->null = p->text.oom;
}

/* Is this reference (by id) new to the connection? Marks it seen. */
static bool ref_new(struct id_cache *seen, const struct record *rec,
		    const struct record_member *id)
{
	int64_t v;

	if (record_member_i64(rec, id, &v) < 0 || id_cache_has(seen, v))
		return false;
	id_cache_put(seen, v);
	return true;
}

int spool_line_stmts(const struct record *rec, struct id_cache *seen, struct param *p,
		     int (*run)(void *ctx, enum stmt s, struct param *p), void *ctx)
{
	const struct record_member *m[NMEMBERS];
	int ret;
	static const struct { enum stmt stmt; int id, text; } refs[] = {
		{ S_ADDR, C_LADDR_ID, M_LADDR }, { S_ADDR, C_RADDR_ID, M_RADDR },
		{ S_DOMAIN, C_DOMAIN_ID, M_DOMAIN }, { S_CONTAINER, C_CONTAINER_ID, M_CONTAINER },
	};

	record_find_many(rec, member_names, NMEMBERS, m);
	for (int l = 0; l < 3; l++) {
		const struct record_member **e = m + M_EXE + l * EXE_PARAMS;

		if (!e[0] || e[0]->type != JSON_NUMBER || !ref_new(seen, rec, e[0]))
			continue;
		for (int k = 0; k < EXE_PARAMS; k++)
			param_set(&p[k], rec, e[k]);
		if ((ret = run(ctx, S_EXE, p)) < 0)
			return ret;
	}
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		const struct record_member *id = m[refs[i].id], *text = m[refs[i].text];

		if (!id || id->type != JSON_NUMBER || !text || text->type != JSON_STRING ||
		    !ref_new(seen, rec, id))
			continue;
		param_set(&p[0], rec, id);
		param_set(&p[1], rec, text);
		/* a container's names, as the row that first named it had them */
		for (int k = 2; refs[i].stmt == S_CONTAINER && k < CONTAINER_PARAMS; k++)
			param_set(&p[k], rec, m[M_CONTAINER_FACTS + k - 2]);
		if ((ret = run(ctx, refs[i].stmt, p)) < 0)
			return ret;
	}
	for (int k = 0; k < CONN_COLS; k++)
		param_set(&p[k], rec, m[k]);
	return run(ctx, S_CONN, p);
}

bool spool_line_ok(const struct record *rec)
{
	for (int k = 0; k < 9; k++) {
		const struct record_member *m = record_find(rec, conn_cols[k]);

		if (!m || m->type != (k < 2 ? JSON_STRING : JSON_NUMBER))
			return false;
	}
	return true;
}
