/* SPDX-License-Identifier: MIT */
/*
 * Records into counters (docs/metrics.md). Every value a label takes
 * comes from a record and may have been chosen by a stranger (a program's
 * name, a path, a DNS answer's type): registry.c escapes it and bounds
 * its length, and the number of series per family is bounded.
 *
 * dns records name no process, only the socket (sock_cookie) and its
 * owner's pid: the exporter remembers which process each socket that
 * talks to port 53, and each pid of the exec records, belongs to, and a dns record that
 * comes before its socket's first flow record (the flow's "new" record
 * is written within 100 ms, the answer at once) waits for it up to
 * DNS_WAIT_NS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "json.h"
#include "metrics.h"
#include "table.h"

#define DNS_WAIT_NS (5000 * 1000000ULL)	/* a loaded pipeline delays flow records by seconds */
#define DNS_PENDING_MAX 4096
#define PROCS_MAX 16384			/* remembered sockets, and pids */
#define EXES_MAX 65536			/* executables seen, for new_executables */
#define STATUS_MAX (256u << 10)
#define NPROC 7				/* the labels of a process: L_EXE .. L_POD_NAME */
/* bytes of a value remembered: enough for label_escape() to cut it as it would */
#define PROC_VALUE_MAX (LABEL_VALUE_MAX + 4)

const char *const label_names[L_NLABELS] = {
	"exe", "name", "container_runtime", "container_name", "container_image",
	"pod_namespace", "pod_name", "remote_subnet", "proto",
};
/* the record member each label comes from */
static const char *const label_members[L_NLABELS] = {
	"exe_path", "name", "container_runtime", "container_name", "container_image",
	"pod_namespace", "pod_name", "raddr", "proto",
};

/* A process's label values, packed: remembered per socket and per pid. */
struct proc {
	UT_hash_handle hh;
	struct lru_node lru;
	uint64_t id;
	uint16_t len[NPROC];
	char data[];
};

struct procs {
	struct proc *table;
	struct lru order;
	size_t n;
};

struct dns_wait {
	uint64_t cookie, pid, at;
	bool sent;
	char qtype[16];
};

struct exe_seen {
	UT_hash_handle hh;
	struct lru_node lru;
	size_t len;
	char key[];
};

struct exporter {
	struct exporter_opts o;
	struct registry reg;
	struct family *sent, *recv, *packets, *conns, *dns, *syscalls, *new_exes;
	struct family *records, *lost, *errors, *restarts, *stats, *levels;
	struct procs by_cookie, by_pid;
	struct dns_wait *wait;
	size_t wait_head, wait_n;
	struct exe_seen *exes;
	struct lru exe_order;
	size_t nexes;
	/* label values of the record in hand */
	struct buf vals;
	size_t off[L_NLABELS], len[L_NLABELS];
	struct buf tmp;
	struct record sub;
	/* the scrapes, for the exporter's own metrics */
	uint64_t scrapes, last_scrape_ns;
	char *status_buf;
};

int labels_parse(const char *s, uint32_t *mask, char *bad, size_t bad_size)
{
	*mask = 0;
	while (*s) {
		size_t n = strcspn(s, ", \t");
		int i;

		if (n) {
			for (i = 0; i < L_NLABELS; i++)
				if (strlen(label_names[i]) == n && !strncmp(s, label_names[i], n))
					break;
			if (i == L_NLABELS) {
				snprintf(bad, bad_size, "%.*s", (int)n, s);
				return -EINVAL;
			}
			*mask |= 1u << i;
		}
		s += n;
		s += strspn(s, ", \t");
	}
	return 0;
}

void subnet_of(const char *addr, unsigned v4, unsigned v6, char *out, size_t size)
{
	unsigned char a[16];
	char txt[INET6_ADDRSTRLEN];
	int af = strchr(addr, ':') ? AF_INET6 : AF_INET;
	unsigned bits = af == AF_INET ? v4 : v6, nbytes = af == AF_INET ? 4 : 16;

	if (inet_pton(af, addr, a) != 1) {
		snprintf(out, size, "%s", "");
		return;
	}
	for (unsigned i = 0; i < nbytes; i++) {
		unsigned keep = bits > i * 8 ? bits - i * 8 : 0;

		if (keep < 8)
			a[i] &= (unsigned char)(0xff00u >> keep);
	}
	inet_ntop(af, a, txt, sizeof(txt));
	snprintf(out, size, "%s/%u", txt, bits);
}

/* ---- label values from a record ---- */

static void vals_begin(struct exporter *e)
{
	buf_reset(&e->vals);
	memset(e->off, 0, sizeof(e->off));
	memset(e->len, 0, sizeof(e->len));
}

/* Read the labels in mask from rec (absent and null are ""). */
static void vals_read(struct exporter *e, const struct record *rec, uint32_t mask)
{
	const struct record_member *m[L_NLABELS];

	record_find_many(rec, label_members, L_NLABELS, m);
	for (int i = 0; i < L_NLABELS; i++) {
		if (!(mask & (1u << i)) || !m[i] || m[i]->type != JSON_STRING)
			continue;
		e->off[i] = e->vals.len;
		if (i == L_REMOTE_SUBNET) {
			char addr[64], net[80];

			buf_reset(&e->tmp);
			(void)record_member_str(rec, m[i], &e->tmp);
			if (e->tmp.len >= sizeof(addr))
				continue;
			memcpy(addr, e->tmp.p, e->tmp.len);
			addr[e->tmp.len] = '\0';
			subnet_of(addr, e->o.subnet_v4, e->o.subnet_v6, net, sizeof(net));
			buf_puts(&e->vals, net);
		} else {
			(void)record_member_str(rec, m[i], &e->vals);
		}
		e->len[i] = e->vals.len - e->off[i];
	}
}

/* The configured labels among first..last, in order, into the key being built. */
static void put_vals(struct exporter *e, const struct family *f, int first, int last)
{
	for (int i = first; i <= last; i++)
		if (e->o.labels & (1u << i))
			label_add(&e->reg, f, e->vals.p + e->off[i], e->len[i]);
}

/* ---- processes, for dns records ---- */

static size_t plen(const struct exporter *e, int i)
{
	return e->len[i] < PROC_VALUE_MAX ? e->len[i] : PROC_VALUE_MAX;
}

/* Does x hold the process labels of the record in hand? */
static bool proc_same(const struct proc *x, const struct exporter *e)
{
	size_t pos = 0;

	for (int i = 0; i < NPROC; i++) {
		if (x->len[i] != plen(e, i) ||
		    (x->len[i] && memcmp(x->data + pos, e->vals.p + e->off[i], x->len[i])))
			return false;
		pos += x->len[i];
	}
	return true;
}

static void procs_put(struct procs *p, uint64_t id, const struct exporter *e)
{
	struct proc *x;
	size_t total = 0;

	for (int i = 0; i < NPROC; i++)
		total += plen(e, i);
	HASH_FIND(hh, p->table, &id, sizeof(id), x);
	if (x && proc_same(x, e)) {
		lru_touch(&p->order, &x->lru);
		return;
	}
	if (x) {
		HASH_DEL(p->table, x);
		lru_remove(&x->lru);
		free(x);
		p->n--;
	}
	if (p->n >= PROCS_MAX) {
		struct proc *old = lru_entry(lru_oldest(&p->order), struct proc, lru);

		HASH_DEL(p->table, old);
		lru_remove(&old->lru);
		free(old);
		p->n--;
	}
	x = malloc(sizeof(*x) + total);
	if (!x)
		return;
	x->id = id;
	total = 0;
	for (int i = 0; i < NPROC; i++) {
		x->len[i] = (uint16_t)plen(e, i);
		memcpy(x->data + total, e->vals.p + e->off[i], x->len[i]);
		total += x->len[i];
	}
	HASH_ADD(hh, p->table, id, sizeof(x->id), x);
	if (!table_added(x, hh)) {
		free(x);
		return;
	}
	lru_push(&p->order, &x->lru);
	p->n++;
}

static struct proc *procs_get(struct procs *p, uint64_t id)
{
	struct proc *x;

	if (!id)
		return NULL;
	HASH_FIND(hh, p->table, &id, sizeof(id), x);
	return x;
}

static void procs_clear(struct procs *p)
{
	struct proc *x, *tmp;

	HASH_ITER(hh, p->table, x, tmp) {
		HASH_DEL(p->table, x);
		free(x);
	}
}

/* The values of a remembered process (or none: all "") as the record's. */
static void vals_from_proc(struct exporter *e, const struct proc *x)
{
	size_t pos = 0;

	vals_begin(e);
	if (!x)
		return;
	for (int i = 0; i < NPROC; i++) {
		e->off[i] = e->vals.len;
		buf_append(&e->vals, x->data + pos, x->len[i]);
		e->len[i] = x->len[i];
		pos += x->len[i];
	}
}

/* ---- the records ---- */

static bool member_str(struct exporter *e, const struct record *rec, const char *key)
{
	buf_reset(&e->tmp);
	return record_get_str(rec, key, &e->tmp) == 0;
}

static uint64_t member_u64(const struct record *rec, const char *key)
{
	uint64_t v = 0;

	(void)record_get_u64(rec, key, &v);
	return v;
}

static void count_new_exe(struct exporter *e, const struct record *rec, uint64_t now)
{
	struct exe_seen *x;
	uint64_t dev = 0, ino = 0;

	/*
	 * An executable is its file, (device, inode), as snitch-hash and
	 * snitch-notify see it: a file replaced by an upgrade is a new one.
	 * Without them (another program's records), its path.
	 */
	buf_reset(&e->tmp);
	if (record_get_u64(rec, "exe_ino", &ino) == 0) {
		(void)record_get_u64(rec, "exe_dev", &dev);
		buf_put_u64(&e->tmp, dev);
		buf_putc(&e->tmp, ':');
		buf_put_u64(&e->tmp, ino);
	} else if (record_get_str(rec, "exe_path", &e->tmp) != 0) {
		return;
	}
	if (e->tmp.oom || !e->tmp.len)
		return;
	HASH_FIND(hh, e->exes, e->tmp.p, e->tmp.len, x);
	if (x) {
		lru_touch(&e->exe_order, &x->lru);
		return;
	}
	if (e->nexes >= EXES_MAX) {
		struct exe_seen *old = lru_entry(lru_oldest(&e->exe_order), struct exe_seen, lru);

		HASH_DEL(e->exes, old);
		lru_remove(&old->lru);
		free(old);
		e->nexes--;
	}
	x = malloc(sizeof(*x) + e->tmp.len);
	if (!x)
		return;
	x->len = e->tmp.len;
	memcpy(x->key, e->tmp.p, x->len);
	HASH_ADD_KEYPTR(hh, e->exes, x->key, x->len, x);
	if (!table_added(x, hh)) {
		free(x);
		return;
	}
	lru_push(&e->exe_order, &x->lru);
	e->nexes++;
	label_begin(&e->reg);
	series_add(&e->reg, e->new_exes, 1, now);
}

static void on_flow(struct exporter *e, const struct record *rec, uint64_t now)
{
	const struct record_member *calls;
	uint64_t sent, rcvd, cookie = member_u64(rec, "sock_cookie"), pid = member_u64(rec, "pid");
	struct registry *r = &e->reg;
	size_t key_len;

	vals_begin(e);
	vals_read(e, rec, ~0u);
	/* dns records are of sockets that talk to port 53: only theirs are needed */
	if (member_u64(rec, "rport") == 53) {
		if (cookie)
			procs_put(&e->by_cookie, cookie, e);
		if (pid)
			procs_put(&e->by_pid, pid, e);
	}
	/* sent, received and connections share their labels: one key for the three */
	label_begin(r);
	put_vals(e, e->sent, 0, L_NLABELS - 1);
	if (record_member_is(rec, record_find(rec, "phase"), "new"))
		series_add(r, e->conns, 1, now);
	series_add(r, e->sent, member_u64(rec, "send_bytes"), now);
	series_add(r, e->recv, member_u64(rec, "recv_bytes"), now);
	/* datagrams and frames; TCP's are not counted (null) */
	calls = record_find(rec, "send_calls");
	if (record_member_u64(rec, calls, &sent) == 0 &&
	    record_get_u64(rec, "recv_calls", &rcvd) == 0 && !r->key.oom) {
		key_len = r->key.len;
		label_add_cstr(r, e->packets, "sent");
		series_add(r, e->packets, sent, now);
		r->key.len = key_len;
		r->key_labels--;
		label_add_cstr(r, e->packets, "received");
		series_add(r, e->packets, rcvd, now);
	}
	count_new_exe(e, rec, now);
}

static void on_exec(struct exporter *e, const struct record *rec)
{
	uint64_t pid = member_u64(rec, "pid");

	if (!pid)
		return;
	vals_begin(e);
	vals_read(e, rec, ~0u);
	procs_put(&e->by_pid, pid, e);
}

static void dns_count(struct exporter *e, const struct dns_wait *w, bool last_try, uint64_t now)
{
	struct proc *x = procs_get(&e->by_cookie, w->cookie);

	if (!x)
		x = procs_get(&e->by_pid, w->pid);
	if (!x && !last_try)
		return;
	vals_from_proc(e, x);
	label_begin(&e->reg);
	put_vals(e, e->dns, 0, NPROC - 1);
	label_add_cstr(&e->reg, e->dns, w->qtype);
	label_add_cstr(&e->reg, e->dns, w->sent ? "sent" : "received");
	series_add(&e->reg, e->dns, 1, now);
}

static bool dns_known(struct exporter *e, const struct dns_wait *w)
{
	return procs_get(&e->by_cookie, w->cookie) || procs_get(&e->by_pid, w->pid);
}

static void on_dns(struct exporter *e, const struct record *rec, uint64_t now)
{
	struct dns_wait w = { .at = now };

	w.cookie = member_u64(rec, "sock_cookie");
	w.pid = member_u64(rec, "pid");
	/* a query the tracer saw leave (direction "sent"), else an answer */
	w.sent = record_member_is(rec, record_find(rec, "direction"), "sent");
	buf_reset(&e->tmp);
	if (record_get_str(rec, "qtype", &e->tmp) == 0 && e->tmp.len) {
		size_t n = e->tmp.len < sizeof(w.qtype) ? e->tmp.len : sizeof(w.qtype) - 1;

		memcpy(w.qtype, e->tmp.p, n);
		w.qtype[n] = '\0';
	}
	if (dns_known(e, &w) || e->wait_n >= DNS_PENDING_MAX) {
		dns_count(e, &w, true, now);
		return;
	}
	e->wait[(e->wait_head + e->wait_n) % DNS_PENDING_MAX] = w;
	e->wait_n++;
}

static void on_syscalls(struct exporter *e, const struct record *rec, uint64_t now)
{
	const struct record_member *m = record_find(rec, "syscalls");
	struct record *sub = &e->sub;

	if (!m || m->type != JSON_OBJECT)
		return;
	if (record_parse(sub, record_val(rec, m), m->val_len, NULL) < 0)
		return;
	vals_begin(e);
	vals_read(e, rec, ~0u);
	for (size_t i = 0; i < sub->n; i++) {
		const struct record_member *c = &sub->m[i];
		char *name;
		size_t len;
		uint64_t n;

		if (record_member_u64(sub, c, &n) < 0)
			continue;
		/* the key's text, unescaped */
		buf_reset(&e->tmp);
		if (buf_reserve(&e->tmp, c->key_len + 1) < 0)
			continue;
		name = e->tmp.p;
		len = c->key_escaped ? json_unescape(sub->line + c->key_off, c->key_len, name)
				     : c->key_len;
		if (!c->key_escaped)
			memcpy(name, sub->line + c->key_off, len);
		label_begin(&e->reg);
		put_vals(e, e->syscalls, 0, NPROC - 1);
		label_add(&e->reg, e->syscalls, name, len);
		series_add(&e->reg, e->syscalls, n, now);
	}
}

/* A label from a string member of rec ("" when it is not one). */
static void label_member(struct exporter *e, const struct family *f,
			 const struct record *rec, const char *key)
{
	if (!member_str(e, rec, key))
		buf_reset(&e->tmp);
	label_add(&e->reg, f, e->tmp.p ? e->tmp.p : "", e->tmp.len);
}

static void on_lost(struct exporter *e, const struct record *rec, uint64_t now)
{
	label_begin(&e->reg);
	label_member(e, e->lost, rec, "stage");
	label_member(e, e->lost, rec, "reason");
	series_add(&e->reg, e->lost, member_u64(rec, "count"), now);
}

static void on_error(struct exporter *e, const struct record *rec, uint64_t now)
{
	label_begin(&e->reg);
	label_member(e, e->errors, rec, "stage");
	label_member(e, e->errors, rec, "code");
	series_add(&e->reg, e->errors, 1, now);
	/* the supervisor's word that a stage died and restarts */
	if (record_member_is(rec, record_find(rec, "stage"), "snitch") &&
	    record_member_is(rec, record_find(rec, "code"), "stage_died")) {
		label_begin(&e->reg);
		label_member(e, e->restarts, rec, "process");
		series_add(&e->reg, e->restarts, 1, now);
	}
}

/*
 * A member of a stats record that is a level, not a count of the interval:
 * its name ends in "_bytes", "_size" or "_entries" (snitch-trace's
 * queue_bytes, queue_peak_bytes, queue_size, ringbuf_*, flow_table_*). Its
 * last value is kept, not summed.
 */
static bool stats_level(const char *k, size_t len)
{
	return (len > 6 && !memcmp(k + len - 6, "_bytes", 6)) ||
	       (len > 5 && !memcmp(k + len - 5, "_size", 5)) ||
	       (len > 8 && !memcmp(k + len - 8, "_entries", 8));
}

static void on_stats(struct exporter *e, const struct record *rec, uint64_t now)
{
	struct buf stage = BUF_INIT;

	if (record_get_str(rec, "stage", &stage) != 0)
		goto out;
	for (size_t i = 0; i < rec->n; i++) {
		const struct record_member *c = &rec->m[i];
		const char *k = rec->line + c->key_off;
		uint64_t n;

		if (c->key_escaped || record_member_u64(rec, c, &n) < 0)
			continue;
		if ((c->key_len == 1 && k[0] == 'v') ||
		    (c->key_len == 5 && !memcmp(k, "ts_ns", 5)) ||
		    (c->key_len == 10 && !memcmp(k, "interval_s", 10)))
			continue;
		label_begin(&e->reg);
		if (stats_level(k, c->key_len)) {
			label_add(&e->reg, e->levels, stage.p, stage.len);
			label_add(&e->reg, e->levels, k, c->key_len);
			series_set(&e->reg, e->levels, (double)n, now);
			continue;
		}
		label_add(&e->reg, e->stats, stage.p, stage.len);
		label_add(&e->reg, e->stats, k, c->key_len);
		series_add(&e->reg, e->stats, n, now);
	}
out:
	buf_release(&stage);
}

void exporter_record(struct exporter *e, const struct record *rec, uint64_t now)
{
	const struct record_member *t = record_find(rec, "type");

	pthread_mutex_lock(&e->reg.mu);
	label_begin(&e->reg);
	if (t && t->type == JSON_STRING) {
		buf_reset(&e->tmp);
		(void)record_member_str(rec, t, &e->tmp);
		label_add(&e->reg, e->records, e->tmp.p ? e->tmp.p : "", e->tmp.len);
	}
	series_add(&e->reg, e->records, 1, now);
	if (record_member_is(rec, t, "flow"))
		on_flow(e, rec, now);
	else if (record_member_is(rec, t, "dns"))
		on_dns(e, rec, now);
	else if (record_member_is(rec, t, "syscalls"))
		on_syscalls(e, rec, now);
	else if (record_member_is(rec, t, "exec"))
		on_exec(e, rec);
	else if (record_member_is(rec, t, "lost"))
		on_lost(e, rec, now);
	else if (record_member_is(rec, t, "error"))
		on_error(e, rec, now);
	else if (record_member_is(rec, t, "stats"))
		on_stats(e, rec, now);
	pthread_mutex_unlock(&e->reg.mu);
}

static void dns_drain(struct exporter *e, uint64_t now, bool all)
{
	while (e->wait_n) {
		struct dns_wait *w = &e->wait[e->wait_head];
		bool due = all || now - w->at >= DNS_WAIT_NS;

		if (!due && !dns_known(e, w))
			break;	/* the oldest still waits: so do the later ones */
		dns_count(e, w, true, now);
		e->wait_head = (e->wait_head + 1) % DNS_PENDING_MAX;
		e->wait_n--;
	}
}

void exporter_tick(struct exporter *e, uint64_t now)
{
	pthread_mutex_lock(&e->reg.mu);
	dns_drain(e, now, false);
	(void)registry_expire(&e->reg, now);
	pthread_mutex_unlock(&e->reg.mu);
}

void exporter_flush(struct exporter *e, uint64_t now)
{
	pthread_mutex_lock(&e->reg.mu);
	dns_drain(e, now, true);
	pthread_mutex_unlock(&e->reg.mu);
}

/* ---- the exporter's own metrics and the supervisor's status ---- */

static void put_header(struct buf *b, const char *name, const char *help, bool counter,
		       bool openmetrics)
{
	buf_printf(b, "# HELP %s%s %s\n# TYPE %s%s %s\n", name,
		   counter && !openmetrics ? "_total" : "", help, name,
		   counter && !openmetrics ? "_total" : "", counter ? "counter" : "gauge");
}

static void render_own(struct exporter *e, struct buf *b, bool om)
{
	static const struct { const char *name, *help; int what; bool counter; } own[] = {
		{ "snitch_metrics_series", "series of each metric, its other series included", 0, false },
		{ "snitch_metrics_series_dropped", "label sets counted in their metric's other series because it had --max-series series", 1, true },
		{ "snitch_metrics_series_expired", "series removed after --series-ttl without an update", 2, true },
	};

	for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++) {
		put_header(b, own[k].name, own[k].help, own[k].counter, om);
		for (size_t i = 0; i < e->reg.nfam; i++) {
			const struct family *f = e->reg.fam[i];
			uint64_t v = own[k].what == 0 ? family_series(f) :
				     own[k].what == 1 ? f->dropped : f->expired;

			buf_printf(b, "%s%s{metric=\"%s%s\"} %llu\n", own[k].name,
				   own[k].counter ? "_total" : "", f->name,
				   f->type == FAMILY_COUNTER ? "_total" : "", (unsigned long long)v);
		}
	}
}

/* The supervisor's status.json: per stage, up, records, their rate, queue. */
static void render_status(struct exporter *e, struct buf *b, bool om)
{
	static const struct { const char *name, *help, *key; bool counter; } st[] = {
		{ "snitch_stage_up", "1 when the stage runs (the supervisor's status.json)", "alive", false },
		{ "snitch_stage_records", "records the stage wrote (snitch-notify: was given)", "records", true },
		{ "snitch_stage_records_per_second", "records the stage wrote per second, over the last 10 s", "records_per_s", false },
		{ "snitch_stage_queued_bytes", "bytes waiting in the supervisor for the stage's input", "queued_bytes", false },
	};
	struct record r, el;
	const struct record_member *stages;
	ssize_t n;
	int fd;

	if (!e->o.status_file)
		return;
	fd = open(e->o.status_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, e->status_buf, STATUS_MAX);
	close(fd);
	if (n <= 0 || n >= (ssize_t)STATUS_MAX)
		return;
	while (n && (e->status_buf[n - 1] == '\n'))
		n--;
	record_init(&r);
	record_init(&el);
	if (record_parse(&r, e->status_buf, (size_t)n, NULL) < 0)
		goto out;
	stages = record_find(&r, "stages");
	if (!stages || stages->type != JSON_ARRAY)
		goto out;
	for (size_t k = 0; k < sizeof(st) / sizeof(st[0]); k++) {
		const char *s = record_val(&r, stages);
		size_t pos = 0, start, end;

		put_header(b, st[k].name, st[k].help, st[k].counter, om);
		while (json_array_next(s, stages->val_len, &pos, &start, &end)) {
			const struct record_member *v;
			struct buf name = BUF_INIT;
			uint64_t u = 0;

			if (s[start] != '{' || record_parse(&el, s + start, end - start, NULL) < 0)
				continue;
			v = record_find(&el, st[k].key);
			if (v && v->type == JSON_TRUE)
				u = 1;
			else if (record_member_u64(&el, v, &u) < 0)
				u = 0;
			if (record_get_str(&el, "name", &name) == 0) {
				buf_printf(b, "%s%s{stage=\"", st[k].name, st[k].counter ? "_total" : "");
				label_escape(b, name.p, name.len);
				buf_printf(b, "\"} %llu\n", (unsigned long long)u);
			}
			buf_release(&name);
		}
	}
out:
	record_release(&el);
	record_release(&r);
}

static uint64_t rss_bytes(void)
{
	char line[128];
	unsigned long long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f) || sscanf(line, "%llu %llu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

void exporter_render(struct exporter *e, struct buf *out, bool om)
{
	uint64_t t0 = clock_mono_ns(), last;

	pthread_mutex_lock(&e->reg.mu);
	registry_render(&e->reg, out, om);
	render_own(e, out, om);
	last = e->last_scrape_ns;
	e->scrapes++;
	put_header(out, "snitch_metrics_scrapes", "scrapes answered, this one included", true, om);
	buf_printf(out, "snitch_metrics_scrapes_total %llu\n", (unsigned long long)e->scrapes);
	render_status(e, out, om);	/* status_buf is the lock's too */
	pthread_mutex_unlock(&e->reg.mu);
	put_header(out, "snitch_metrics_scrape_duration_seconds",
		   "time the previous scrape took to make its answer", false, om);
	buf_printf(out, "snitch_metrics_scrape_duration_seconds %.9f\n", (double)last / 1e9);
	put_header(out, "process_resident_memory_bytes", "resident memory of snitch-metrics", false, om);
	buf_printf(out, "process_resident_memory_bytes %llu\n", (unsigned long long)rss_bytes());
	if (om)
		buf_puts(out, "# EOF\n");
	pthread_mutex_lock(&e->reg.mu);
	e->last_scrape_ns = clock_mono_ns() - t0;
	pthread_mutex_unlock(&e->reg.mu);
}

/* ---- set-up ---- */

/* The configured labels among first..last, then the extra ones. */
static struct family *family(struct exporter *e, const char *name, const char *help,
			     enum family_type type, int first, int last,
			     const char *extra1, const char *extra2, uint32_t bounded_extra)
{
	const char *labels[FAMILY_LABELS_MAX];
	unsigned n = 0, base;

	for (int i = first; i <= last && first >= 0; i++)
		if (e->o.labels & (1u << i))
			labels[n++] = label_names[i];
	base = n;
	if (extra1)
		labels[n++] = extra1;
	if (extra2)
		labels[n++] = extra2;
	return registry_family(&e->reg, name, help, type, labels, n, bounded_extra << base);
}

struct exporter *exporter_new(const struct exporter_opts *o)
{
	struct exporter *e = calloc(1, sizeof(*e));
	const int P = NPROC - 1, F = L_NLABELS - 1;

	if (!e)
		return NULL;
	e->o = *o;
	if (registry_init(&e->reg, o->max_series, o->ttl_ns) < 0) {
		free(e);
		return NULL;
	}
	lru_init(&e->by_cookie.order);
	lru_init(&e->by_pid.order);
	lru_init(&e->exe_order);
	record_init(&e->sub);
	e->wait = calloc(DNS_PENDING_MAX, sizeof(*e->wait));
	e->status_buf = malloc(STATUS_MAX);
	/* never a NULL buffer: label values are read at offsets into them */
	(void)buf_reserve(&e->vals, 256);
	(void)buf_reserve(&e->tmp, 256);
	e->sent = family(e, "snitch_network_sent_bytes",
			 "payload bytes processes sent (TCP: bytes written; UDP, ICMP, raw: datagram payload)",
			 FAMILY_COUNTER, 0, F, NULL, NULL, 0);
	e->recv = family(e, "snitch_network_received_bytes", "payload bytes processes received",
			 FAMILY_COUNTER, 0, F, NULL, NULL, 0);
	e->packets = family(e, "snitch_network_packets",
			    "datagrams and frames sent and received (UDP, ICMP, raw, packet sockets; TCP is not counted)",
			    FAMILY_COUNTER, 0, F, "direction", NULL, 1);
	e->conns = family(e, "snitch_connections",
			  "flows seen: TCP connections, UDP peers of a socket, ICMP, raw and packet sockets",
			  FAMILY_COUNTER, 0, F, NULL, NULL, 0);
	e->dns = family(e, "snitch_dns_queries",
			"DNS messages on UDP port 53: queries sent and answers received, by query type",
			FAMILY_COUNTER, 0, P, "qtype", "direction", 2);
	e->syscalls = family(e, "snitch_syscalls", "system calls made, by name (syscalls records)",
			     FAMILY_COUNTER, 0, P, "syscall", NULL, 0);
	e->new_exes = family(e, "snitch_new_executables",
			     "executables seen on the network for the first time since snitch-metrics started",
			     FAMILY_COUNTER, -1, -1, NULL, NULL, 0);
	e->records = family(e, "snitch_records", "records snitch-metrics read, by type",
			    FAMILY_COUNTER, -1, -1, "type", NULL, 0);
	e->lost = family(e, "snitch_lost_records", "events a stage could not record (lost records), by stage and reason",
			 FAMILY_COUNTER, -1, -1, "stage", "reason", 0);
	e->errors = family(e, "snitch_errors", "error records, by stage and code",
			   FAMILY_COUNTER, -1, -1, "stage", "code", 0);
	e->restarts = family(e, "snitch_stage_restarts",
			     "stages the supervisor restarted after they died (its stage_died error records)",
			     FAMILY_COUNTER, -1, -1, "stage", NULL, 0);
	e->stats = family(e, "snitch_stage_stats", "the counts of the stats records of each stage, summed",
			  FAMILY_COUNTER, -1, -1, "stage", "counter", 0);
	e->levels = family(e, "snitch_stage_stats_level",
			   "the levels of the stats records of each stage (members named *_bytes, *_size or *_entries), the last value",
			   FAMILY_GAUGE, -1, -1, "stage", "level", 0);
	if (!e->wait || !e->status_buf || e->vals.oom || e->tmp.oom || !e->sent || !e->recv || !e->packets || !e->conns ||
	    !e->dns || !e->syscalls || !e->new_exes || !e->records || !e->lost || !e->errors ||
	    !e->restarts || !e->stats || !e->levels) {
		exporter_free(e);
		return NULL;
	}
	return e;
}

void exporter_free(struct exporter *e)
{
	struct exe_seen *x, *tmp;

	if (!e)
		return;
	procs_clear(&e->by_cookie);
	procs_clear(&e->by_pid);
	HASH_ITER(hh, e->exes, x, tmp) {
		HASH_DEL(e->exes, x);
		free(x);
	}
	registry_release(&e->reg);
	record_release(&e->sub);
	buf_release(&e->vals);
	buf_release(&e->tmp);
	free(e->wait);
	free(e->status_buf);
	free(e);
}
