/* SPDX-License-Identifier: MIT */
/*
 * From records to connections rows: each flow record (and exec record,
 * with --log-exec) is merged into the row of its window and its whole
 * identity. Executables, domains, addresses and containers are interned,
 * identified by a hash of their content, so that the same content has the
 * same id in every database and a remote one needs no SELECT.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* SHA256_* rather than EVP: the same result with 1.8 MB less of libcrypto
 * touched (see cmd/snitch-hash/sha256.c) */
#define OPENSSL_API_COMPAT 0x10100000L
#include <openssl/sha.h>

#include "emit.h"
#include "output.h"
#include "record.h"
#include "store.h"

/* ---- batches ---- */

static void container_facts_free(struct container_facts *f)
{
	if (!f)
		return;
	for (int i = 0; i < CONTAINER_FACTS; i++)
		free(f->v[i]);
	free(f);
}

/*
 * A container's names, from the first of its records in the window that
 * has any: snitch-resolve may name it later than it first saw it.
 */
static void container_facts_take(struct str_ref *c, const struct record *r,
				 const struct record_member *const m[CONTAINER_FACTS])
{
	struct container_facts *f;
	struct buf b = BUF_INIT;
	bool any = false;

	if (c->facts)
		return;
	for (int i = 0; i < CONTAINER_FACTS; i++)
		any |= m[i] && m[i]->type == JSON_STRING;
	if (!any || !(f = calloc(1, sizeof(*f))))
		return;
	for (int i = 0; i < CONTAINER_FACTS; i++) {
		buf_reset(&b);
		if (!m[i] || m[i]->type != JSON_STRING || record_member_str(r, m[i], &b) < 0 ||
		    b.oom || !(f->v[i] = malloc(b.len + 1)))
			continue;
		if (b.len)
			memcpy(f->v[i], b.p, b.len);
		f->v[i][b.len] = '\0';
		f->len[i] = b.len;
	}
	buf_release(&b);
	c->facts = f;
}

struct batch *batch_new(void)
{
	return calloc(1, sizeof(struct batch));
}

void batch_free(struct batch *b)
{
	struct conn_row *r, *rn;
	struct exe_ref *e, *en;
	struct str_ref *s, *sn;

	if (!b)
		return;
	HASH_ITER(hh, b->rows, r, rn) {
		HASH_DEL(b->rows, r);
		free(r);
	}
	HASH_ITER(hh, b->exes, e, en) {
		HASH_DEL(b->exes, e);
		free(e->key);
		free(e);
	}
	HASH_ITER(hh, b->strs, s, sn) {
		HASH_DEL(b->strs, s);
		container_facts_free(s->facts);
		free(s->s - 1);
		free(s);
	}
	free(b);
}

/* 63 bits of SHA-256 over length-prefixed fields: equal content, equal id;
 * a chosen collision with an existing id would need a second preimage. */
static int64_t content_id(char kind, const char *const *f, const size_t *len,
			  int n)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	uint64_t id = 0;
	SHA256_CTX c;

	SHA256_Init(&c);
	SHA256_Update(&c, &kind, 1);
	for (int i = 0; i < n; i++) {
		uint64_t l = f[i] ? len[i] : UINT64_MAX;	/* NULL differs from "" */
		SHA256_Update(&c, &l, sizeof(l));
		if (f[i])
			SHA256_Update(&c, f[i], len[i]);
	}
	SHA256_Final(d, &c);
	memcpy(&id, d, sizeof(id));
	id &= INT64_MAX;
	return id ? (int64_t)id : 1;	/* 0 means "none" */
}

/* The key of an interned string: its kind, its bytes, a NUL. */
static int str_key(struct buf *k, char kind, const char *s, size_t len)
{
	buf_reset(k);
	buf_putc(k, kind);
	buf_append(k, s, len);
	buf_putc(k, '\0');
	return k->oom ? -ENOMEM : 0;
}

static struct str_ref *intern_str(struct batch *b, char kind, const char *s,
				  size_t len)
{
	static struct buf k;	/* rows are made by the main thread only */
	struct str_ref *r;

	if (!s || str_key(&k, kind, s, len) < 0)
		return NULL;
	HASH_FIND(hh, b->strs, k.p, len + 1, r);
	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->s = malloc(k.len))) {
		free(r);
		return NULL;
	}
	memcpy(r->s, k.p, k.len);
	r->s++;
	r->len = len;
	r->kind = kind;
	r->id = content_id(kind, &s, &len, 1);
	HASH_ADD_KEYPTR(hh, b->strs, r->s - 1, len + 1, r);
	if (!table_added(r, hh)) {
		free(r->s - 1);
		free(r);
		return NULL;
	}
	return r;
}

/* The key of an interned executable: each field's length and bytes, a NUL. */
static int exe_key(struct buf *k, char *const f[EXE_FIELDS], const size_t len[EXE_FIELDS])
{
	buf_reset(k);
	for (int i = 0; i < EXE_FIELDS; i++) {
		size_t n = f[i] ? len[i] : SIZE_MAX;	/* NULL differs from "" */

		buf_append(k, &n, sizeof(n));
		if (f[i])
			buf_append(k, f[i], len[i]);
		buf_putc(k, '\0');
	}
	return k->oom ? -ENOMEM : 0;
}

static struct exe_ref *intern_exe(struct batch *b, char *const f[EXE_FIELDS],
				  const size_t len[EXE_FIELDS])
{
	static struct buf k;	/* rows are made by the main thread only */
	struct exe_ref *e;
	size_t off = 0;
	int nid = EXE_FIELDS_V1;

	if ((!f[EXE_PATH] && !f[EXE_NAME] && !f[EXE_CMDLINE] && !f[EXE_SHA256]) ||
	    exe_key(&k, f, len) < 0)
		return NULL;
	HASH_FIND(hh, b->exes, k.p, k.len, e);
	if (e)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = malloc(k.len))) {
		free(e);
		return NULL;
	}
	memcpy(e->key, k.p, k.len);
	for (int i = 0; i < EXE_FIELDS; i++) {
		off += sizeof(size_t);
		e->f[i] = f[i] ? e->key + off : NULL;
		e->len[i] = f[i] ? len[i] : 0;
		off += e->len[i] + 1;
		if (i >= EXE_FIELDS_V1 && f[i])
			nid = EXE_FIELDS;
	}
	/* the same id as before version 9 for a row of no app and no script */
	e->id = content_id('e', (const char *const *)f, len, nid);
	HASH_ADD_KEYPTR(hh, b->exes, e->key, k.len, e);
	if (!table_added(e, hh)) {
		free(e->key);
		free(e);
		return NULL;
	}
	return e;
}

/* ---- filters ---- */

struct cidr {
	int family;
	unsigned char addr[16];
	unsigned bits;
};

struct filters {
	unsigned char ports[65536 / 8];
	char **domains;
	size_t ndomains;
	struct cidr *cidrs;
	size_t ncidrs;
	char (*sha)[65];
	size_t nsha;
};

/* Split a space-separated list; calls fn for each word. */
static int each_word(const char *list, int (*fn)(struct filters *, const char *, char *, size_t),
		     struct filters *f, char *err, size_t errsize)
{
	char word[512];

	while (list && *list) {
		size_t n;

		while (*list == ' ' || *list == '\t' || *list == ',')
			list++;
		n = strcspn(list, " \t,");
		if (!n)
			break;
		if (n >= sizeof(word)) {
			snprintf(err, errsize, "'%.40s...' is too long", list);
			return -1;
		}
		memcpy(word, list, n);
		word[n] = '\0';
		if (fn(f, word, err, errsize) < 0)
			return -1;
		list += n;
	}
	return 0;
}

static int add_port(struct filters *f, const char *w, char *err, size_t errsize)
{
	char *end;
	long p = strtol(w, &end, 10);

	if (*end || p < 0 || p > 65535 || !isdigit((unsigned char)*w)) {
		snprintf(err, errsize, "'%s' is not a port (0-65535)", w);
		return -1;
	}
	f->ports[p / 8] |= (unsigned char)(1 << (p % 8));
	return 0;
}

static int add_domain(struct filters *f, const char *w, char *err, size_t errsize)
{
	char **d = realloc(f->domains, (f->ndomains + 1) * sizeof(*d));

	(void)err;
	(void)errsize;
	if (!d)
		return -1;
	f->domains = d;
	while (*w == '.')
		w++;
	d[f->ndomains] = strdup(w);
	for (char *c = d[f->ndomains]; c && *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return d[f->ndomains++] ? 0 : -1;
}

static int add_cidr(struct filters *f, const char *w, char *err, size_t errsize)
{
	struct cidr c = { 0 };
	char a[64];
	const char *slash = strchr(w, '/');
	size_t n = slash ? (size_t)(slash - w) : strlen(w);
	struct cidr *p;

	if (n >= sizeof(a))
		goto bad;
	memcpy(a, w, n);
	a[n] = '\0';
	c.family = strchr(a, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(c.family, a, c.addr) != 1)
		goto bad;
	c.bits = c.family == AF_INET ? 32 : 128;
	if (slash) {
		char *end;
		long b = strtol(slash + 1, &end, 10);
		if (*end || b < 0 || b > (long)c.bits || !isdigit((unsigned char)slash[1]))
			goto bad;
		c.bits = (unsigned)b;
	}
	p = realloc(f->cidrs, (f->ncidrs + 1) * sizeof(*p));
	if (!p)
		return -1;
	f->cidrs = p;
	p[f->ncidrs++] = c;
	return 0;
bad:
	snprintf(err, errsize, "'%s' is not an IP address or CIDR range", w);
	return -1;
}

static int add_sha(struct filters *f, const char *w, char *err, size_t errsize)
{
	char (*p)[65];
	size_t n = strlen(w);

	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)w[i]))
			n = 0;
	if (n != 64) {
		snprintf(err, errsize, "'%s' is not a sha256 (64 hex digits)", w);
		return -1;
	}
	p = realloc(f->sha, (f->nsha + 1) * sizeof(*p));
	if (!p)
		return -1;
	f->sha = p;
	for (size_t i = 0; i < 64; i++)
		p[f->nsha][i] = (char)tolower((unsigned char)w[i]);
	p[f->nsha++][64] = '\0';
	return 0;
}

struct filters *filters_new(const struct store_opts *o, char *err, size_t errsize)
{
	struct filters *f = calloc(1, sizeof(*f));

	if (!f) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	if (each_word(o->ignore_ports, add_port, f, err, errsize) < 0 ||
	    each_word(o->ignore_domains, add_domain, f, err, errsize) < 0 ||
	    each_word(o->ignore_ips, add_cidr, f, err, errsize) < 0 ||
	    each_word(o->ignore_sha256, add_sha, f, err, errsize) < 0) {
		filters_free(f);
		return NULL;
	}
	return f;
}

void filters_free(struct filters *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->ndomains; i++)
		free(f->domains[i]);
	free(f->domains);
	free(f->cidrs);
	free(f->sha);
	free(f);
}

static bool port_ignored(const struct filters *f, int64_t p)
{
	return p >= 0 && p <= 65535 && (f->ports[p / 8] >> (p % 8) & 1);
}

/* domain is "d" or ends with ".d", case-insensitively */
static bool domain_ignored(const struct filters *f, const char *s, size_t n)
{
	for (size_t i = 0; i < f->ndomains; i++) {
		size_t dl = strlen(f->domains[i]);

		if (n < dl || strncasecmp(s + n - dl, f->domains[i], dl))
			continue;
		if (n == dl || s[n - dl - 1] == '.')
			return true;
	}
	return false;
}

static bool ip_ignored(const struct filters *f, const char *s)
{
	unsigned char a[16];
	int fam;

	if (!f->ncidrs || !s)
		return false;
	fam = strchr(s, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fam, s, a) != 1)
		return false;
	for (size_t i = 0; i < f->ncidrs; i++) {
		const struct cidr *c = &f->cidrs[i];
		unsigned full = c->bits / 8, rest = c->bits % 8;

		if (c->family != fam || memcmp(a, c->addr, full))
			continue;
		if (rest && ((a[full] ^ c->addr[full]) & (0xff00 >> rest) & 0xff))
			continue;
		return true;
	}
	return false;
}

static bool sha_ignored(const struct filters *f, const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < f->nsha; i++)
		if (!strncasecmp(f->sha[i], s, 64))
			return true;
	return false;
}

/* ---- records into rows ---- */

enum {
	K_PATH, K_NAME, K_CMD, K_SHA, K_SCRIPT, K_SCRIPT_SHA, KEYS_PER_LEVEL,
};
enum {
	K_TYPE = NLEVELS * KEYS_PER_LEVEL, K_TS, K_FROM, K_TO, K_UID, K_FAMILY,
	K_PROTO, K_LPORT, K_RPORT, K_LADDR, K_RADDR, K_DOMAIN, K_NETNS,
	K_CRUNTIME, K_CID, K_SEND, K_RECV, K_CNAME, K_CIMAGE, K_PODNS, K_PODNAME,
	K_PODUID, K_OUTCOME, K_APP_KIND, K_APP, NKEYS,
};

/* The members of one level, then those of the record (order of the enums). */
static const char *const level_keys[KEYS_PER_LEVEL] = {
	"exe_path", "name", "cmdline", "exe_sha256", "script_path", "script_sha256",
};
static const char *const record_keys[NKEYS - K_TYPE] = {
	"type", "ts_ns", "from_ns", "to_ns", "uid", "family", "proto", "lport",
	"rport", "laddr", "raddr", "domain", "netns", "container_runtime",
	"container_id", "send_bytes", "recv_bytes", "container_name",
	"container_image", "pod_namespace", "pod_name", "pod_uid", "outcome",
	"app_kind", "app",
};
static const char *keys[NKEYS];
static char key_text[K_TYPE][ANCESTRY_KEY_MAX];
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

/* The members of one level in a row record (batch_emit_rows). */
#define ROW_LEVEL_KEYS 9
static const char *const row_level_keys[ROW_LEVEL_KEYS] = {
	"exe_id", "exe_path", "name", "cmdline", "exe_sha256",
	"app_kind", "app", "script_path", "script_sha256",
};
/* A container's facts in a row record: the containers table's columns. */
static const char *const row_container_keys[CONTAINER_FACTS] = {
	"container_name", "container_image", "pod_namespace", "pod_name", "pod_uid",
};
static const char *row_keys[NLEVELS * ROW_LEVEL_KEYS];
static char row_key_text[NLEVELS * ROW_LEVEL_KEYS][ANCESTRY_KEY_MAX];

static void keys_init(void)
{
	ancestry_keys(keys, key_text, level_keys, KEYS_PER_LEVEL);
	memcpy(keys + K_TYPE, record_keys, sizeof(record_keys));
	ancestry_keys(row_keys, row_key_text, row_level_keys, ROW_LEVEL_KEYS);
}

/* A string member, decoded into one of the scratch buffers; NULL if null. */
static char *str_of(const struct record *r, const struct record_member *m,
		    struct buf *scratch, size_t *len)
{
	buf_reset(scratch);
	if (!m || record_member_str(r, m, scratch) < 0 || scratch->oom)
		return NULL;
	buf_putc(scratch, '\0');	/* terminates, not counted */
	*len = scratch->len - 1;
	return scratch->p;
}

static int64_t int_of(const struct record *r, const struct record_member *m)
{
	int64_t v;

	return record_member_i64(r, m, &v) == 0 ? v : INT_NULL;
}

/* family and proto: interned, so rows compare them by pointer */
static const char *interned(struct batch *b, char kind, const char *s, size_t n)
{
	struct str_ref *r = s ? intern_str(b, kind, s, n) : NULL;

	return r ? r->s : NULL;
}

/* the decoded strings of the record batch_add is reading */
static struct buf scratch[8];

/* One level of the process tree into key->exe[l]: false to leave the
 * record out (an ignored sha256). */
static bool key_level(struct batch *b, const struct store_opts *o, const struct filters *f,
		      const struct record *r, const struct record_member **m, int l,
		      struct conn_row *key)
{
	const struct record_member **lm = m + l * KEYS_PER_LEVEL;
	char *fld[EXE_FIELDS] = { NULL };
	size_t len[EXE_FIELDS] = { 0 };
	struct buf *s = scratch;

	fld[EXE_PATH] = str_of(r, lm[K_PATH], &s[0], &len[EXE_PATH]);
	fld[EXE_NAME] = str_of(r, lm[K_NAME], &s[1], &len[EXE_NAME]);
	if (!o->no_cmdlines && lm[K_CMD] && lm[K_CMD]->type == JSON_ARRAY) {
		/* the JSON array text: exact, non-UTF-8 bytes escaped */
		fld[EXE_CMDLINE] = (char *)record_val(r, lm[K_CMD]);
		len[EXE_CMDLINE] = lm[K_CMD]->val_len;
	}
	fld[EXE_SHA256] = str_of(r, lm[K_SHA], &s[2], &len[EXE_SHA256]);
	if (fld[EXE_SHA256] && len[EXE_SHA256] != 64)
		fld[EXE_SHA256] = NULL;
	if (l == 0 && fld[EXE_SHA256] && f->nsha &&
	    sha_ignored(f, fld[EXE_SHA256], len[EXE_SHA256]))
		return false;
	/* what runs inside it: "" (none) is stored as NULL */
	if (l == 0) {
		fld[EXE_APP_KIND] = str_of(r, m[K_APP_KIND], &s[3], &len[EXE_APP_KIND]);
		fld[EXE_APP] = str_of(r, m[K_APP], &s[4], &len[EXE_APP]);
		if (!fld[EXE_APP] || !len[EXE_APP])
			fld[EXE_APP] = fld[EXE_APP_KIND] = NULL;
	}
	fld[EXE_SCRIPT] = str_of(r, lm[K_SCRIPT], &s[5], &len[EXE_SCRIPT]);
	if (fld[EXE_SCRIPT] && !len[EXE_SCRIPT])
		fld[EXE_SCRIPT] = NULL;
	fld[EXE_SCRIPT_SHA256] = str_of(r, lm[K_SCRIPT_SHA], &s[6], &len[EXE_SCRIPT_SHA256]);
	if (!fld[EXE_SCRIPT] || (fld[EXE_SCRIPT_SHA256] && len[EXE_SCRIPT_SHA256] != 64))
		fld[EXE_SCRIPT_SHA256] = NULL;
	key->exe[l] = intern_exe(b, fld, len);
	return true;
}

/* Ports, addresses and domain into the key: false to leave the record out
 * (an ignored port, address or domain). */
static bool key_peer(struct batch *b, const struct store_opts *o, const struct filters *f,
		     const struct record *r, const struct record_member **m, bool exec,
		     struct conn_row *key)
{
	struct buf *s = scratch;
	size_t n;
	char *v;

	if (exec) {
		key->lport = key->rport = -1;	/* an exec: a "connection" of no port */
	} else if (o->no_ports) {
		key->lport = key->rport = INT_NULL;
	} else {
		key->lport = int_of(r, m[K_LPORT]);
		key->rport = int_of(r, m[K_RPORT]);
	}
	if (port_ignored(f, key->lport) || port_ignored(f, key->rport))
		return false;
	v = str_of(r, m[K_RADDR], &s[4], &n);
	if (v && ip_ignored(f, v))
		return false;
	if (!o->no_addresses && v && n)
		key->raddr = intern_str(b, 'a', v, n);
	v = str_of(r, m[K_LADDR], &s[4], &n);
	if (!o->no_addresses && v && n)
		key->laddr = intern_str(b, 'a', v, n);
	v = str_of(r, m[K_DOMAIN], &s[5], &n);
	if (v && f->ndomains && domain_ignored(f, v, n))
		return false;
	if (v)
		key->domain = intern_str(b, 'd', v, n);
	return true;
}

/* The container as "runtime:id" (the id alone does not say where to look),
 * with its facts. */
static void key_container(struct batch *b, const struct record *r,
			  const struct record_member **m, struct conn_row *key)
{
	struct buf *s = scratch;
	size_t n, rn;
	char *v = str_of(r, m[K_CID], &s[6], &n), *rt;

	if (!v || !n)
		return;
	rt = str_of(r, m[K_CRUNTIME], &s[7], &rn);
	buf_reset(&s[3]);
	if (rt && rn) {
		buf_append(&s[3], rt, rn);
		buf_putc(&s[3], ':');
	}
	buf_append(&s[3], v, n);
	key->container = intern_str(b, 'c', s[3].p, s[3].len);
	if (key->container)
		container_facts_take(key->container, r, m + K_CNAME);
}

/* The key's row of the window, made if new: NULL (counted lost) without memory. */
static struct conn_row *row_of(struct batch *b, const struct conn_row *key,
			       uint64_t from, uint64_t to)
{
	struct conn_row *row;

	HASH_FIND(hh, b->rows, key, CONN_KEY_LEN, row);
	if (row)
		return row;
	row = malloc(sizeof(*row));
	if (!row) {
		b->lost_rows++;
		return NULL;
	}
	memcpy(row, key, sizeof(*row));
	row->first_ns = from;
	row->last_ns = to;
	HASH_ADD(hh, b->rows, window_start_ns, CONN_KEY_LEN, row);
	if (!table_added(row, hh)) {
		free(row);
		b->lost_rows++;
		return NULL;
	}
	return row;
}

int batch_add(struct batch *b, const struct store_opts *o,
	      const struct filters *f, struct record *r, uint64_t window_ns)
{
	const struct record_member *m[NKEYS];
	struct conn_row key, *row;
	bool exec;
	uint64_t t, from, to, x;
	size_t n;
	char *v;

	(void)pthread_once(&keys_once, keys_init);
	memset(&key, 0, sizeof(key));	/* its key is compared as bytes */
	record_find_many(r, keys, NKEYS, m);
	exec = record_member_is(r, m[K_TYPE], "exec");
	if (!record_member_is(r, m[K_TYPE], "flow") && !(exec && o->log_exec))
		return 0;

	/* the row's window is the record's time, so windows are exact */
	if (record_member_u64(r, m[K_TO], &to) < 0 && record_member_u64(r, m[K_TS], &to) < 0)
		to = (uint64_t)time(NULL) * 1000000000ULL;
	if (record_member_u64(r, m[K_FROM], &from) < 0 || from > to)
		from = to;
	t = to;
	key.window_start_ns = t - t % window_ns;
	key.window_end_ns = key.window_start_ns + window_ns;

	for (int l = 0; l < NLEVELS; l++)
		if (!key_level(b, o, f, r, m, l, &key))
			return 0;
	key.uid = int_of(r, m[K_UID]);
	v = str_of(r, m[K_FAMILY], &scratch[3], &n);
	key.family = interned(b, 'f', v, n);
	v = str_of(r, m[K_PROTO], &scratch[3], &n);
	key.proto = interned(b, 'p', v, n);
	if (!key_peer(b, o, f, r, m, exec, &key))
		return 0;
	key.netns = int_of(r, m[K_NETNS]);
	v = str_of(r, m[K_OUTCOME], &scratch[3], &n);
	key.outcome = interned(b, 'o', v, n);
	key_container(b, r, m, &key);

	if (!(row = row_of(b, &key, from, to)))
		return 0;
	if (from < row->first_ns)
		row->first_ns = from;
	if (to > row->last_ns)
		row->last_ns = to;
	if (record_member_u64(r, m[K_SEND], &x) == 0)
		row->send_bytes += x;
	if (record_member_u64(r, m[K_RECV], &x) == 0)
		row->recv_bytes += x;
	row->events++;
	return 1;
}

/* ---- CSV ---- */

/*
 * A field as RFC 4180 writes it: in double quotes, each inner '"' doubled,
 * when it holds a comma, a quote or a line end (a CSV reader takes the
 * bytes back exactly, line ends too); as it is otherwise. NUL bytes (a
 * JSON "\u0000"; no path, name or argument can hold one) are left out.
 */
static void csv_put(struct buf *b, const char *s, size_t n)
{
	bool quote = false;

	for (size_t i = 0; s && i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (quote)
		buf_putc(b, '"');
	for (size_t i = 0; s && i < n; i++) {
		if (s[i] == '\0')
			continue;
		if (s[i] == '"')
			buf_putc(b, '"');
		buf_putc(b, s[i]);
	}
	if (quote)
		buf_putc(b, '"');
	buf_putc(b, ',');
}

static void csv_int(struct buf *b, int64_t v)
{
	if (v != INT_NULL)
		buf_put_i64(b, v);
	buf_putc(b, ',');
}

/* A cmdline's JSON array as its arguments joined by spaces. */
static void csv_cmdline(struct buf *b, const char *json, size_t n)
{
	struct buf tmp = BUF_INIT;
	size_t args = 0;

	for (size_t pos = 0, start, end; json && json_array_next(json, n, &pos, &start, &end);) {
		if (json[start] != '"' || buf_reserve(&tmp, end - start + 1) < 0)
			continue;
		/* every argument after the first after a space, an empty one too */
		if (args++)
			buf_putc(&tmp, ' ');
		tmp.len += json_unescape(json + start + 1, end - start - 2, tmp.p + tmp.len);
	}
	csv_put(b, tmp.p, tmp.len);
	buf_release(&tmp);
}

int csv_write_batch(int fd, const struct batch *bt)
{
	struct buf b = BUF_INIT;
	int ret = 0;

	for (const struct conn_row *r = bt->rows; r; r = r->hh.next) {
		char when[32];
		time_t sec = (time_t)(r->window_start_ns / 1000000000ULL);
		struct tm tm;

		gmtime_r(&sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		buf_puts(&b, when);
		buf_putc(&b, ',');
		buf_put_u64(&b, r->send_bytes);
		buf_putc(&b, ',');
		buf_put_u64(&b, r->recv_bytes);
		buf_putc(&b, ',');
		buf_put_u64(&b, r->events);
		buf_putc(&b, ',');
		for (int l = 0; l < NLEVELS; l++) {
			const struct exe_ref *e = r->exe[l];

			csv_put(&b, e ? e->f[EXE_PATH] : NULL, e ? e->len[EXE_PATH] : 0);
			csv_put(&b, e ? e->f[EXE_NAME] : NULL, e ? e->len[EXE_NAME] : 0);
			csv_cmdline(&b, e ? e->f[EXE_CMDLINE] : NULL, e ? e->len[EXE_CMDLINE] : 0);
			csv_put(&b, e ? e->f[EXE_SHA256] : NULL, e ? e->len[EXE_SHA256] : 0);
		}
		csv_int(&b, r->uid);
		csv_put(&b, r->family, r->family ? strlen(r->family) : 0);
		csv_put(&b, r->proto, r->proto ? strlen(r->proto) : 0);
		csv_int(&b, r->lport);
		csv_int(&b, r->rport);
		csv_put(&b, r->laddr ? r->laddr->s : NULL, r->laddr ? r->laddr->len : 0);
		csv_put(&b, r->raddr ? r->raddr->s : NULL, r->raddr ? r->raddr->len : 0);
		csv_put(&b, r->domain ? r->domain->s : NULL, r->domain ? r->domain->len : 0);
		if (r->netns != INT_NULL)
			buf_put_i64(&b, r->netns);
		buf_putc(&b, '\n');
	}
	if (b.oom)
		ret = -ENOMEM;
	if (!ret)
		ret = write_all(fd, b.p, b.len);
	buf_release(&b);
	return ret;
}

/* ---- rows as records, for snitch-remote (--emit-rows) ---- */

static void row_int(struct buf *b, const char *key, int64_t v)
{
	if (v == INT_NULL)
		emit_null(b, key);
	else
		emit_i64(b, key, v);
}

static void row_str(struct buf *b, const char *key, const char *s, size_t n)
{
	if (s)
		emit_str(b, key, s, n);
	else
		emit_null(b, key);
}

/* A reference: its content-hash id and its text, or two nulls. */
static void row_ref(struct buf *b, const char *id_key, const char *key,
		    const struct str_ref *r)
{
	row_int(b, id_key, r ? r->id : INT_NULL);
	row_str(b, key, r ? r->s : NULL, r ? r->len : 0);
}

void batch_emit_rows(const struct batch *bt, uint64_t ts_ns, struct buf *b)
{
	(void)pthread_once(&keys_once, keys_init);

	for (const struct conn_row *c = bt->rows; c; c = c->hh.next) {
		emit_begin(b, "row", ts_ns);
		emit_u64(b, "window_start_ns", c->window_start_ns);
		emit_u64(b, "window_end_ns", c->window_end_ns);
		emit_u64(b, "first_ns", c->first_ns);
		emit_u64(b, "last_ns", c->last_ns);
		emit_u64(b, "send_bytes", c->send_bytes);
		emit_u64(b, "recv_bytes", c->recv_bytes);
		emit_u64(b, "events", c->events);
		for (int l = 0; l < NLEVELS; l++) {
			const struct exe_ref *e = c->exe[l];
#define LEVEL_KEY(i) row_keys[l * ROW_LEVEL_KEYS + (i)]
			row_int(b, LEVEL_KEY(0), e ? e->id : INT_NULL);
			row_str(b, LEVEL_KEY(1), e ? e->f[EXE_PATH] : NULL, e ? e->len[EXE_PATH] : 0);
			row_str(b, LEVEL_KEY(2), e ? e->f[EXE_NAME] : NULL, e ? e->len[EXE_NAME] : 0);
			/* the JSON array text it was stored as, as is */
			emit_key(b, LEVEL_KEY(3));
			if (e && e->f[EXE_CMDLINE])
				buf_append(b, e->f[EXE_CMDLINE], e->len[EXE_CMDLINE]);
			else
				buf_puts(b, "null");
			row_str(b, LEVEL_KEY(4), e ? e->f[EXE_SHA256] : NULL, e ? e->len[EXE_SHA256] : 0);
			for (int k = EXE_APP_KIND; k < EXE_FIELDS; k++)
				row_str(b, LEVEL_KEY(5 + k - EXE_APP_KIND), e ? e->f[k] : NULL,
					e ? e->len[k] : 0);
#undef LEVEL_KEY
		}
		row_int(b, "uid", c->uid);
		row_str(b, "family", c->family, c->family ? strlen(c->family) : 0);
		row_str(b, "proto", c->proto, c->proto ? strlen(c->proto) : 0);
		row_ref(b, "laddr_id", "laddr", c->laddr);
		row_int(b, "lport", c->lport);
		row_ref(b, "raddr_id", "raddr", c->raddr);
		row_int(b, "rport", c->rport);
		row_ref(b, "domain_id", "domain", c->domain);
		row_int(b, "netns", c->netns);
		row_ref(b, "container_id", "container", c->container);
		for (int k = 0; k < CONTAINER_FACTS; k++) {
			const struct container_facts *f = c->container ? c->container->facts : NULL;

			row_str(b, row_container_keys[k], f ? f->v[k] : NULL, f ? f->len[k] : 0);
		}
		row_str(b, "outcome", c->outcome, c->outcome ? strlen(c->outcome) : 0);
		emit_end(b);
	}
}
