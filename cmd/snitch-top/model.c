/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "termsafe.h"
#include "units.h"

void model_init(struct top_model *m)
{
	memset(m, 0, sizeof(*m));
	record_init(&m->rec);
}

void model_release(struct top_model *m)
{
	free(m->exe);
	record_release(&m->rec);
	buf_release(&m->tmp);
}

/* A string member, made safe to show, into out; "" when absent or null. */
static void get_str(struct top_model *m, const char *key, char *out, size_t size)
{
	buf_reset(&m->tmp);
	out[0] = '\0';
	if (record_get_str(&m->rec, key, &m->tmp) == 0 && !m->tmp.oom)
		termsafe_str(out, size, m->tmp.p ? m->tmp.p : "", m->tmp.len);
}

static uint64_t get_u64(struct top_model *m, const char *key)
{
	uint64_t v = 0;

	(void)record_get_u64(&m->rec, key, &v);
	return v;
}

/* The command line, its arguments joined by spaces, each made safe. */
static void get_cmdline(struct top_model *m, char *out, size_t size)
{
	const struct record_member *a = record_find(&m->rec, "cmdline");
	const char *s;
	size_t pos = 0, start, end, o = 0;

	out[0] = '\0';
	if (!a || a->type != JSON_ARRAY)
		return;
	s = record_val(&m->rec, a);
	while (o + 1 < size && json_array_next(s, a->val_len, &pos, &start, &end)) {
		char *arg;

		if (end - start < 2 || s[start] != '"')
			continue;
		buf_reset(&m->tmp);
		if (buf_reserve(&m->tmp, end - start) < 0)
			return;
		m->tmp.len = json_unescape(s + start + 1, end - start - 2, m->tmp.p);
		if (o && o + 2 < size)
			out[o++] = ' ';
		arg = out + o;
		termsafe_str(arg, size - o, m->tmp.p, m->tmp.len);
		o += strlen(arg);
	}
	out[o] = '\0';
}

static bool bit(const uint8_t *set, uint16_t port)
{
	return set[port / 8] & (1u << (port % 8));
}

void model_set_listening(struct top_model *m, const char *proto, uint16_t port, bool on)
{
	uint8_t *set = !strcmp(proto, "tcp") ? m->listen_tcp : m->listen_udp;

	if (on)
		set[port / 8] |= (uint8_t)(1u << (port % 8));
	else
		set[port / 8] &= (uint8_t)~(1u << (port % 8));
}

static struct top_exe *find_exe(struct top_model *m, const char *exe, const char *name)
{
	for (size_t i = 0; i < m->nexe; i++)
		if (!strcmp(m->exe[i].exe, exe) && (exe[0] || !strcmp(m->exe[i].name, name)))
			return &m->exe[i];
	if (m->nexe == TOP_EXES_MAX)
		return NULL;
	if (m->nexe == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct top_exe *e = realloc(m->exe, cap * sizeof(*e));

		if (!e)
			return NULL;
		m->exe = e;
		m->cap = cap;
	}
	memset(&m->exe[m->nexe], 0, sizeof(m->exe[0]));
	snprintf(m->exe[m->nexe].exe, sizeof(m->exe[0].exe), "%s", exe);
	snprintf(m->exe[m->nexe].name, sizeof(m->exe[0].name), "%s", name);
	return &m->exe[m->nexe++];
}

static struct top_event *find_event(struct top_model *m, uint64_t cookie, uint64_t pid, bool *fresh)
{
	struct top_event *e;

	for (size_t k = 0; k < m->nev; k++) {
		e = &m->ev[(m->ev_next + TOP_EVENTS_MAX - 1 - k) % TOP_EVENTS_MAX];
		if (e->cookie == cookie && e->pid == pid) {
			*fresh = false;
			return e;
		}
	}
	e = &m->ev[m->ev_next];
	m->ev_next = (m->ev_next + 1) % TOP_EVENTS_MAX;
	if (m->nev < TOP_EVENTS_MAX)
		m->nev++;
	memset(e, 0, sizeof(*e));
	*fresh = true;
	return e;
}

/* A flow record's bytes and connection in its executable's row. */
static void count_exe(struct top_model *m, struct top_exe *x, const char *phase, uint64_t send,
		      uint64_t recv, uint64_t lport)
{
	char proto[8];

	/* opened since top started: a socket seen before has no "new" */
	if (!strcmp(phase, "new"))
		x->conns++;
	x->send += send, x->recv += recv;
	x->tick_send += send, x->tick_recv += recv;
	get_str(m, "proto", proto, sizeof(proto));
	if (lport && lport < 65536 && x->nlisten < TOP_LISTEN_MAX &&
	    ((!strcmp(proto, "tcp") && bit(m->listen_tcp, (uint16_t)lport)) ||
	     (!strcmp(proto, "udp") && bit(m->listen_udp, (uint16_t)lport)))) {
		bool have = false;

		for (int i = 0; i < x->nlisten; i++)
			have |= x->listen[i] == lport;
		if (!have)
			x->listen[x->nlisten++] = (uint16_t)lport;
	}
}

/* A new connection's row: who, from the flow's first record. */
static void event_start(struct top_model *m, struct top_event *e, const char *name, uint64_t lport)
{
	e->cookie = get_u64(m, "sock_cookie");
	e->pid = get_u64(m, "pid");
	e->first_ns = get_u64(m, "ts_ns");
	snprintf(e->name, sizeof(e->name), "%s", name);
	get_str(m, "parent_name", e->parent, sizeof(e->parent));
	if (!e->parent[0])
		get_str(m, "parent_comm", e->parent, sizeof(e->parent));
	get_str(m, "gparent_name", e->gparent, sizeof(e->gparent));
	if (!e->gparent[0])
		get_str(m, "gparent_comm", e->gparent, sizeof(e->gparent));
	get_str(m, "proto", e->proto, sizeof(e->proto));
	get_cmdline(m, e->cmdline, sizeof(e->cmdline));
	e->lport = (uint16_t)lport;
}

/* A connection's remote: its domain once known, else its address; and its country. */
static void event_remote(struct top_model *m, struct top_event *e, bool fresh)
{
	char domain[128], raddr[64], country[8];
	uint64_t rport = get_u64(m, "rport");

	/* the domain may come later than the flow's first record */
	get_str(m, "domain", domain, sizeof(domain));
	get_str(m, "raddr", raddr, sizeof(raddr));
	if (domain[0] || !e->remote[0]) {
		const char *host = domain[0] ? domain : raddr;

		if (!host[0])
			snprintf(e->remote, sizeof(e->remote), "-");
		else if (rport)
			snprintf(e->remote, sizeof(e->remote), strchr(host, ':') && !domain[0] ?
				 "[%s]:%u" : "%s:%u", host, (unsigned)rport);
		else
			snprintf(e->remote, sizeof(e->remote), "%s", host);
	}
	get_str(m, "country", country, sizeof(country));
	if (country[0]) {
		snprintf(e->country, sizeof(e->country), "%s", country);
	} else if (fresh && raddr[0] && m->country_of) {
		char code[3];
		const char *c = m->country_of(m->country_ctx, raddr, code);

		/* a country code, not a label such as "loopback" or "private" */
		if (c && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' && !c[2])
			snprintf(e->country, sizeof(e->country), "%s", c);
	}
}

/*
 * A flow's outcome (docs/records.md) when it says more than that the
 * connection was made: refused, timeout, unreachable, error, reset. Kept
 * once set: a later record of the flow without one does not clear it.
 */
static void event_outcome(struct top_model *m, struct top_event *e)
{
	char o[sizeof(e->outcome)];

	get_str(m, "outcome", o, sizeof(o));
	if (o[0] && strcmp(o, "connected") && strcmp(o, "accepted"))
		memcpy(e->outcome, o, sizeof(o));
}

static void add_flow(struct top_model *m)
{
	char exe[256], name[64], phase[8];
	uint64_t send = get_u64(m, "send_bytes"), recv = get_u64(m, "recv_bytes");
	uint64_t lport = get_u64(m, "lport");
	struct top_exe *x;
	struct top_event *e;
	bool fresh;

	get_str(m, "exe_path", exe, sizeof(exe));
	get_str(m, "name", name, sizeof(name));
	if (!name[0])
		get_str(m, "comm", name, sizeof(name));
	if (!name[0] && !exe[0])
		snprintf(name, sizeof(name), "(kernel)");
	get_str(m, "phase", phase, sizeof(phase));
	m->flows++;
	m->send += send, m->recv += recv;
	m->tick_send += send, m->tick_recv += recv;

	e = find_event(m, get_u64(m, "sock_cookie"), get_u64(m, "pid"), &fresh);
	if ((x = find_exe(m, exe, name)))
		count_exe(m, x, phase, send, recv, lport);
	if (fresh)
		event_start(m, e, name, lport);
	event_remote(m, e, fresh);
	event_outcome(m, e);
	e->last_ns = get_u64(m, "ts_ns");
	e->send += send, e->recv += recv;
	if (!strcmp(phase, "end"))
		e->ended = true;
}

void model_add_line(struct top_model *m, const char *line, size_t len)
{
	char type[16];

	if (record_peek_type(line, len, type, sizeof(type)) < 0)
		return;
	m->records++;
	if (strcmp(type, "flow") && strcmp(type, "lost"))
		return;
	if (record_parse(&m->rec, line, len, NULL) < 0)
		return;
	if (!strcmp(type, "flow")) {
		add_flow(m);
	} else {
		char stage[16], reason[32];

		get_str(m, "stage", stage, sizeof(stage));
		get_str(m, "reason", reason, sizeof(reason));
		if (!strcmp(stage, "snitch") && !strcmp(reason, "reader_slow"))
			m->missed += get_u64(m, "count");
	}
}

void model_tick(struct top_model *m)
{
	for (size_t i = 0; i < m->nexe; i++) {
		struct top_exe *x = &m->exe[i];

		x->rate_send = x->tick_send, x->rate_recv = x->tick_recv;
		x->tick_send = x->tick_recv = 0;
	}
	m->rate_send = m->tick_send, m->rate_recv = m->tick_recv;
	m->tick_send = m->tick_recv = 0;
}

static bool matches(const char *filter, const char *const *texts, size_t n)
{
	if (!filter || !*filter)
		return true;
	for (size_t i = 0; i < n; i++)
		if (strcasestr(texts[i], filter))
			return true;
	return false;
}

static const struct top_model *sort_m;
static enum top_sort sort_by;

static int cmp_exe(const void *a, const void *b)
{
	const struct top_exe *x = &sort_m->exe[*(const size_t *)a], *y = &sort_m->exe[*(const size_t *)b];
	uint64_t vx, vy;
	int c;

	switch (sort_by) {
	case SORT_SEND:
		vx = x->rate_send, vy = y->rate_send;
		if (vx == vy)
			vx = x->send, vy = y->send;
		break;
	case SORT_RECV:
		vx = x->rate_recv, vy = y->rate_recv;
		if (vx == vy)
			vx = x->recv, vy = y->recv;
		break;
	case SORT_TOTAL:
		vx = x->send + x->recv, vy = y->send + y->recv;
		break;
	default:
		c = strcmp(x->name, y->name);
		return c ? c : strcmp(x->exe, y->exe);
	}
	if (vx != vy)
		return vx > vy ? -1 : 1;
	c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->exe, y->exe);
}

size_t model_exes(const struct top_model *m, enum top_sort sort, const char *filter, size_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nexe; i++) {
		const char *t[] = { m->exe[i].exe, m->exe[i].name };

		if (matches(filter, t, 2))
			out[n++] = i;
	}
	sort_m = m;
	sort_by = sort;
	qsort(out, n, sizeof(*out), cmp_exe);
	return n;
}

size_t model_events(const struct top_model *m, const char *filter, const struct top_event **out,
		    size_t max)
{
	size_t n = 0;

	for (size_t k = 0; k < m->nev && n < max; k++) {
		const struct top_event *e = &m->ev[(m->ev_next + TOP_EVENTS_MAX - 1 - k) % TOP_EVENTS_MAX];
		const char *t[] = { e->name, e->parent, e->gparent, e->remote, e->cmdline, e->country,
				    e->outcome };

		if (matches(filter, t, 7))
			out[n++] = e;
	}
	return n;
}

void model_cells(const struct top_event *e, int units, struct top_cells *c)
{
	time_t sec = (time_t)(e->first_ns / 1000000000ULL);
	struct tm lt;
	size_t n;

	localtime_r(&sec, &lt);
	strftime(c->time, sizeof(c->time), "%H:%M:%S", &lt);
	if (e->lport)
		snprintf(c->lport, sizeof(c->lport), "%u", (unsigned)e->lport);
	else
		strcpy(c->lport, "-");
	units_bytes(e->send, units, c->sent, sizeof(c->sent));
	units_bytes(e->recv, units, c->recv, sizeof(c->recv));
	/* room for all three (model.h): n stays within the buffer */
	n = (size_t)snprintf(c->remote, sizeof(c->remote), "%s", e->remote);
	if (e->country[0])
		n += (size_t)snprintf(c->remote + n, sizeof(c->remote) - n, " (%s)", e->country);
	if (e->outcome[0])
		snprintf(c->remote + n, sizeof(c->remote) - n, " [%s]", e->outcome);
}
