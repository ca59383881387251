/* SPDX-License-Identifier: MIT */
/*
 * The remote log: an off-system copy in PostgreSQL or MariaDB/MySQL.
 *
 * Rows go first to a spool file, in order; a thread sends them from there
 * and records how far it got in SPOOL.offset only after the server
 * committed them. A server that is down or slow therefore delays nothing
 * but itself, and nothing is lost. Every connections row carries a unique
 * row_uid and every reference row a content-hash id, and all inserts are
 * "do nothing if present" -- which needs only the INSERT privilege -- so a
 * batch sent twice (a crash between commit and offset) is stored once.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "clock.h"
#include "emit.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "store.h"

#define SEND_LINES 500		/* spool lines per transaction */
#define SEEN_REFS 16384

enum kind { PG, MARIA };

struct remote {
	enum kind kind;
	char *url;
	char table[64];
	char host[256];
	uint64_t run_id;
	uint64_t counter;
	uint64_t retry_max_s;
	const struct file_perms *perms;
	/* the spool */
	char *spool, *offpath;
	int fd;				/* appended by the writer thread */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t size;			/* bytes appended */
	uint64_t offset;		/* bytes sent and committed */
	int64_t seen[SEEN_REFS];	/* refs already spooled this run */
	bool stop;
	bool down;			/* an outage is being reported */
	bool noted_create;
	pthread_t thread;
	/* connections */
	PGconn *pg;
	MYSQL *my;
};

/* ---- spooling (the writer thread) ---- */

static void line_str(struct buf *b, const char *key, const char *s, size_t n)
{
	emit_key(b, key);
	if (s)
		json_put_str(b, s, n);
	else
		buf_puts(b, "null");
}

static void line_int(struct buf *b, const char *key, int64_t v)
{
	emit_key(b, key);
	if (v == INT_NULL)
		buf_puts(b, "null");
	else
		buf_put_i64(b, v);
}

static bool spooled_already(struct remote *r, int64_t id)
{
	size_t slot = (uint64_t)id % SEEN_REFS;

	if (r->seen[slot] == id)
		return true;
	r->seen[slot] = id;
	return false;
}

int remote_spool(struct remote *r, const struct batch *bt)
{
	struct buf b = BUF_INIT;
	size_t off = 0;
	int ret = 0;

	for (const struct exe_ref *e = bt->exes; e; e = e->hh.next) {
		if (spooled_already(r, e->id))
			continue;
		buf_puts(&b, "{\"k\":\"e\"");
		line_int(&b, "id", e->id);
		line_str(&b, "path", e->path, e->path_len);
		line_str(&b, "name", e->name, e->name_len);
		line_str(&b, "cmdline", e->cmdline, e->cmdline_len);
		line_str(&b, "sha256", e->sha256, e->sha256 ? 64 : 0);
		buf_puts(&b, "}\n");
	}
	for (const struct str_ref *s = bt->strs; s; s = s->hh.next) {
		if (s->kind == 'f' || s->kind == 'p' || spooled_already(r, s->id))
			continue;
		buf_printf(&b, "{\"k\":\"%c\"", s->kind);
		line_int(&b, "id", s->id);
		line_str(&b, "s", s->s, s->len);
		buf_puts(&b, "}\n");
	}
	for (const struct conn_row *c = bt->rows; c; c = c->hh.next) {
		char uid[320];
		int n = snprintf(uid, sizeof(uid), "%s:%llu:%llu", r->host,
				 (unsigned long long)r->run_id,
				 (unsigned long long)++r->counter);

		buf_puts(&b, "{\"k\":\"r\"");
		line_str(&b, "uid", uid, (size_t)n);
		line_int(&b, "ws", (int64_t)c->window_start_ns);
		line_int(&b, "we", (int64_t)c->window_end_ns);
		line_int(&b, "fs", (int64_t)c->first_ns);
		line_int(&b, "ls", (int64_t)c->last_ns);
		line_int(&b, "sb", (int64_t)c->send_bytes);
		line_int(&b, "rb", (int64_t)c->recv_bytes);
		line_int(&b, "ev", (int64_t)c->events);
		for (int l = 0; l < NLEVELS; l++) {
			char k[4] = { 'x', (char)('0' + l), 0 };
			line_int(&b, k, c->exe[l] ? c->exe[l]->id : INT_NULL);
		}
		line_int(&b, "uid_", c->uid);
		line_str(&b, "fam", c->family, c->family ? strlen(c->family) : 0);
		line_str(&b, "pro", c->proto, c->proto ? strlen(c->proto) : 0);
		line_int(&b, "lp", c->lport);
		line_int(&b, "rp", c->rport);
		line_int(&b, "la", c->laddr ? c->laddr->id : INT_NULL);
		line_int(&b, "ra", c->raddr ? c->raddr->id : INT_NULL);
		line_int(&b, "do", c->domain ? c->domain->id : INT_NULL);
		line_int(&b, "ns", c->netns);
		line_int(&b, "co", c->container ? c->container->id : INT_NULL);
		buf_puts(&b, "}\n");
	}
	if (b.oom) {
		buf_release(&b);
		return -ENOMEM;
	}
	pthread_mutex_lock(&r->mu);
	while (off < b.len) {
		ssize_t n = write(r->fd, b.p + off, b.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (ret == 0 && fdatasync(r->fd) < 0)
		ret = -errno;
	r->size += off;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	buf_release(&b);
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

/* ---- SQL for one batch of spool lines ---- */

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

struct sqlbuf {
	struct buf exe, str[3], conn;
	size_t nexe, nstr[3], nconn;
};

static void sql_literal(struct remote *r, struct buf *out, const struct record *rec,
			const char *key, struct buf *tmp)
{
	const struct record_member *m = record_find(rec, key);
	struct buf clean = BUF_INIT;

	buf_reset(tmp);
	if (!m || m->type == JSON_NULL) {
		buf_puts(out, "NULL");
		return;
	}
	if (m->type == JSON_NUMBER) {
		buf_append(out, record_val(rec, m), m->val_len);
		return;
	}
	(void)record_member_str(rec, m, tmp);
	put_utf8(&clean, tmp->p ? tmp->p : "", tmp->len);
	buf_putc(&clean, '\0');
	if (clean.oom) {
		buf_puts(out, "NULL");
	} else if (r->kind == PG) {
		char *q = PQescapeLiteral(r->pg, clean.p, clean.len - 1);
		buf_puts(out, q ? q : "NULL");
		PQfreemem(q);
	} else {
		char *q = malloc(clean.len * 2 + 1);
		if (q) {
			mysql_real_escape_string(r->my, q, clean.p, (unsigned long)(clean.len - 1));
			buf_putc(out, '\'');
			buf_puts(out, q);
			buf_putc(out, '\'');
			free(q);
		} else {
			buf_puts(out, "NULL");
		}
	}
	buf_release(&clean);
}

static void add_value(struct remote *r, struct buf *out, size_t *n,
		      const struct record *rec, const char *const *keys,
		      int nkeys, struct buf *tmp, const char *prefix)
{
	buf_puts(out, *n ? ",(" : "(");
	if (prefix) {
		buf_puts(out, prefix);
		buf_putc(out, ',');
	}
	for (int i = 0; i < nkeys; i++) {
		if (i)
			buf_putc(out, ',');
		sql_literal(r, out, rec, keys[i], tmp);
	}
	buf_putc(out, ')');
	(*n)++;
}

static const char *const exe_keys[] = { "id", "path", "name", "cmdline", "sha256" };
static const char *const str_keys[] = { "id", "s" };
static const char *const row_keys[] = {
	"uid", "ws", "we", "fs", "ls", "sb", "rb", "ev", "x0", "x1", "x2",
	"uid_", "fam", "pro", "lp", "rp", "la", "ra", "do", "ns", "co",
};
static const char *const str_tab[3] = { "addresses (id, addr)", "domains (id, name)",
					"containers (id, name)" };

/* The statements for lines [p, p + n): references first, then rows. */
static void build_sql(struct remote *r, const char *p, size_t n, struct buf *sql,
		      size_t *lines)
{
	struct sqlbuf s;
	struct record rec;
	struct buf tmp = BUF_INIT, hostq = BUF_INIT;
	const char *end = p + n;
	const char *ins = r->kind == PG ? "INSERT INTO " : "INSERT IGNORE INTO ";
	const char *tail = r->kind == PG ? " ON CONFLICT DO NOTHING;\n" : ";\n";

	memset(&s, 0, sizeof(s));
	record_init(&rec);
	*lines = 0;
	/* the host, as a literal, for every row */
	{
		struct record h;
		char js[600];
		struct buf hb = BUF_INIT;

		json_put_cstr(&hb, r->host);
		buf_putc(&hb, '\0');
		snprintf(js, sizeof(js), "{\"h\":%s}", hb.p ? hb.p : "\"\"");
		record_init(&h);
		if (record_parse(&h, js, strlen(js), NULL) == 0)
			sql_literal(r, &hostq, &h, "h", &tmp);
		record_release(&h);
		buf_release(&hb);
		buf_putc(&hostq, '\0');
	}
	while (p < end && *lines < SEND_LINES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const struct record_member *k;

		if (!nl)
			break;		/* a line being written: next time */
		if (record_parse(&rec, p, (size_t)(nl - p), NULL) == 0 &&
		    (k = record_find(&rec, "k")) && k->type == JSON_STRING) {
			char c = record_val(&rec, k)[1];

			if (c == 'e')
				add_value(r, &s.exe, &s.nexe, &rec, exe_keys, 5, &tmp, NULL);
			else if (c == 'a' || c == 'd' || c == 'c') {
				int t = c == 'a' ? 0 : c == 'd' ? 1 : 2;
				add_value(r, &s.str[t], &s.nstr[t], &rec, str_keys, 2, &tmp, NULL);
			} else if (c == 'r')
				add_value(r, &s.conn, &s.nconn, &rec, row_keys, 21, &tmp, hostq.p);
		}
		p = nl + 1;
		(*lines)++;
	}
	buf_reset(sql);
	if (s.nexe)
		buf_printf(sql, "%sexecutables (id, path, name, cmdline, sha256) VALUES %.*s%s",
			   ins, (int)s.exe.len, s.exe.p, tail);
	for (int t = 0; t < 3; t++)
		if (s.nstr[t])
			buf_printf(sql, "%s%s VALUES %.*s%s", ins, str_tab[t],
				   (int)s.str[t].len, s.str[t].p, tail);
	if (s.nconn)
		buf_printf(sql,
			   "%s%s (host, row_uid, window_start_ns, window_end_ns, first_ns, last_ns,"
			   " send_bytes, recv_bytes, events, exe_id, parent_exe_id, gparent_exe_id,"
			   " uid, family, proto, lport, rport, laddr_id, raddr_id, domain_id, netns,"
			   " container_id) VALUES %.*s%s",
			   ins, r->table, (int)s.conn.len, s.conn.p, tail);
	buf_release(&s.exe);
	for (int t = 0; t < 3; t++)
		buf_release(&s.str[t]);
	buf_release(&s.conn);
	buf_release(&tmp);
	buf_release(&hostq);
	record_release(&rec);
}

/* ---- the servers ---- */

static void disconnect(struct remote *r)
{
	if (r->pg)
		PQfinish(r->pg);
	if (r->my)
		mysql_close(r->my);
	r->pg = NULL;
	r->my = NULL;
}

/* Run statements separated by ";\n"; err gets the server's message. */
static int run_sql(struct remote *r, const char *sql, char *err, size_t errsize)
{
	if (r->kind == PG) {
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
		if (colon)
			port = (unsigned)atoi(colon + 1);
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
	char q[256];
	bool yes = false;

	if (r->kind == PG) {
		PGresult *res;

		snprintf(q, sizeof(q), "SELECT to_regclass('%s') IS NOT NULL", r->table);
		res = PQexec(r->pg, q);
		yes = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		      !strcmp(PQgetvalue(res, 0, 0), "t");
		PQclear(res);
		return yes;
	}
	snprintf(q, sizeof(q),
		 "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '%s'",
		 r->table);
	if (mysql_query(r->my, q) == 0) {
		MYSQL_RES *res = mysql_store_result(r->my);
		MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;

		yes = row && row[0] && strcmp(row[0], "0") != 0;
		mysql_free_result(res);
	}
	return yes;
}

static int connect_remote(struct remote *r, char *err, size_t errsize)
{
	char cerr[512];
	const char *schema;

	if (r->pg || r->my)
		return 0;
	if (r->kind == PG) {
		r->pg = PQconnectdb(r->url);
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
	 * role uses what an administrator made with --remote-schema */
	if (table_exists(r))
		return 0;
	schema = schema_sql(r->kind == PG ? "postgresql" : "mariadb", r->table);
	if (run_sql(r, schema, cerr, sizeof(cerr)) < 0 && !r->noted_create) {
		r->noted_create = true;
		note_error("remote_schema",
			   "remote log: cannot create its tables (%s); using the tables an administrator made",
			   strtok(cerr, "\n"));
	}
	return 0;
}

/* Send one transaction's worth of the spool. 1: sent; 0: nothing to send. */
static int send_some(struct remote *r, struct buf *chunk, struct buf *sql,
		     char *err, size_t errsize)
{
	uint64_t off, size;
	size_t lines = 0;
	ssize_t n;
	int fd;

	pthread_mutex_lock(&r->mu);
	off = r->offset;
	size = r->size;
	pthread_mutex_unlock(&r->mu);
	if (off >= size)
		return 0;
	fd = open(r->spool, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errsize, "cannot read the spool '%s': %s", r->spool, strerror(errno));
		return -1;
	}
	buf_reset(chunk);
	if (buf_reserve(chunk, 4 << 20) < 0) {
		close(fd);
		return -1;
	}
	n = pread(fd, chunk->p, 4 << 20, (off_t)off);
	close(fd);
	if (n <= 0)
		return 0;
	chunk->len = (size_t)n;
	if (connect_remote(r, err, errsize) < 0)
		return -1;
	build_sql(r, chunk->p, chunk->len, sql, &lines);
	if (!lines)
		return 0;
	{
		/* the bytes of those lines */
		const char *p = chunk->p;
		for (size_t i = 0; i < lines; i++)
			p = memchr(p, '\n', chunk->len - (size_t)(p - chunk->p)) + 1;
		n = p - chunk->p;
	}
	buf_putc(sql, '\0');
	if (run_sql(r, "BEGIN", err, errsize) < 0 ||
	    run_sql(r, sql->p, err, errsize) < 0 ||
	    run_sql(r, "COMMIT", err, errsize) < 0) {
		char ignore[64];
		(void)run_sql(r, "ROLLBACK", ignore, sizeof(ignore));
		disconnect(r);
		return -1;
	}
	pthread_mutex_lock(&r->mu);
	r->offset = off + (uint64_t)n;
	if (r->offset == r->size) {
		/* all sent: start the spool afresh, so it never grows for ever */
		if (ftruncate(r->fd, 0) == 0) {
			r->offset = r->size = 0;
			(void)lseek(r->fd, 0, SEEK_SET);
		}
	}
	off = r->offset;
	pthread_mutex_unlock(&r->mu);
	(void)write_offset(r, off);
	return 1;
}

static void *sender(void *arg)
{
	struct remote *r = arg;
	struct buf chunk = BUF_INIT, sql = BUF_INIT;
	uint64_t backoff = 1;
	char err[1024];

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

		s = send_some(r, &chunk, &sql, err, sizeof(err));
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
			note_error("remote_unavailable",
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
	buf_release(&sql);
	return NULL;
}

struct remote *remote_new(const struct store_opts *o, const struct file_perms *perms,
			  char *err, size_t errsize)
{
	struct remote *r = calloc(1, sizeof(*r));
	struct stat st;
	bool fresh;

	if (!r) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	if (!strncmp(o->remote, "postgresql://", 13) || !strncmp(o->remote, "postgres://", 11))
		r->kind = PG;
	else if (!strncmp(o->remote, "mysql://", 8) || !strncmp(o->remote, "mariadb://", 10))
		r->kind = MARIA;
	else {
		snprintf(err, errsize, "'%s' is not a postgresql:// or mysql:// URL", o->remote);
		free(r);
		return NULL;
	}
	for (const char *c = o->remote_table; *c; c++) {
		if (!(isalnum((unsigned char)*c) || *c == '_') || c - o->remote_table > 60 ||
		    isdigit((unsigned char)o->remote_table[0])) {
			snprintf(err, errsize, "'%s' is not a table name (letters, digits, _)", o->remote_table);
			free(r);
			return NULL;
		}
	}
	snprintf(r->table, sizeof(r->table), "%s", o->remote_table);
	if (o->host_name)
		snprintf(r->host, sizeof(r->host), "%s", o->host_name);
	else if (gethostname(r->host, sizeof(r->host) - 1) < 0)
		strcpy(r->host, "localhost");
	r->url = strdup(o->remote);
	r->spool = strdup(o->spool);
	r->perms = perms;
	r->retry_max_s = o->remote_retry_s;
	r->run_id = clock_real_ns();
	if (!r->url || !r->spool || asprintf(&r->offpath, "%s.offset", o->spool) < 0) {
		snprintf(err, errsize, "out of memory");
		goto fail;
	}
	fresh = stat(r->spool, &st) < 0;
	r->fd = open(r->spool, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (r->fd < 0) {
		snprintf(err, errsize, "cannot open the spool '%s': %s", r->spool, strerror(errno));
		goto fail;
	}
	if (fresh)
		perms_apply(perms, r->spool, false);
	/* rows a previous run spooled and did not send go first */
	r->size = fstat(r->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
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
	free(r->url);
	free(r->spool);
	free(r->offpath);
	free(r);
	return NULL;
}

void remote_free(struct remote *r, int wait_ms)
{
	uint64_t until = clock_mono_ns() + (uint64_t)wait_ms * 1000000ULL;

	if (!r)
		return;
	/* give the sender a moment to drain what is spooled */
	for (;;) {
		bool done;

		pthread_mutex_lock(&r->mu);
		done = r->offset >= r->size || r->down;
		pthread_mutex_unlock(&r->mu);
		if (done || clock_mono_ns() >= until)
			break;
		usleep(20000);
	}
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	close(r->fd);
	free(r->url);
	free(r->spool);
	free(r->offpath);
	free(r);
}
