/* SPDX-License-Identifier: MIT */
/* Results as JSON objects (docs/schema.md, "snitch-query output"). */
#include "json.h"
#include "query.h"

static void key(struct buf *b, bool *first, const char *k)
{
	if (!*first)
		buf_putc(b, ',');
	*first = false;
	json_put_cstr(b, k);
	buf_putc(b, ':');
}

static void str_or_null(struct buf *b, const char *s)
{
	if (s)
		json_put_cstr(b, s);
	else
		buf_puts(b, "null");
}

/* A key as its field's type: numbers for user, ports, netns. */
static void value(struct buf *b, enum q_field f, const char *v)
{
	if (v && q_field_numeric(f))
		buf_puts(b, v);	/* SQLite's text of an integer */
	else
		str_or_null(b, v);
}

static void u64(struct buf *b, bool *first, const char *k, uint64_t v)
{
	key(b, first, k);
	buf_put_u64(b, v);
}

static void i64(struct buf *b, bool *first, const char *k, int64_t v)
{
	key(b, first, k);
	buf_put_i64(b, v);
}

void q_json_totals(struct buf *b, const struct q_totals *t)
{
	bool first = true;

	buf_putc(b, '{');
	u64(b, &first, "sent", t->sent);
	u64(b, &first, "received", t->received);
	u64(b, &first, "connections", t->connections);
	u64(b, &first, "events", t->events);
	u64(b, &first, "executables", t->executables);
	u64(b, &first, "new_executables", t->new_executables);
	i64(b, &first, "first_ns", t->first_ns);
	i64(b, &first, "last_ns", t->last_ns);
	buf_putc(b, '}');
}

static void vt(struct buf *b, bool *first, bool known, const struct q_vt *v)
{
	bool f2 = true;

	if (!known)
		return;
	key(b, first, "vt");
	if (!v) {
		buf_puts(b, "null");
		return;
	}
	buf_putc(b, '{');
	key(b, &f2, "status");
	str_or_null(b, v->status);
	key(b, &f2, "flagged");
	if (v->flagged < 0)
		buf_puts(b, "null");
	else
		buf_printf(b, "%lld", (long long)v->flagged);
	key(b, &f2, "engines");
	if (v->engines < 0)
		buf_puts(b, "null");
	else
		buf_printf(b, "%lld", (long long)v->engines);
	key(b, &f2, "link");
	str_or_null(b, v->link);
	buf_putc(b, '}');
}

void q_json_row(struct buf *b, enum q_field field, const struct q_row *r)
{
	bool first = true;

	buf_putc(b, '{');
	if (q_field_name(field)) {
		key(b, &first, q_field_name(field));
		value(b, field, r->other ? NULL : r->key);
	}
	if (r->other) {
		key(b, &first, "other");
		buf_puts(b, "true");
	}
	if (r->extra) {
		key(b, &first, "country");
		json_put_cstr(b, r->extra);
	}
	u64(b, &first, "sent", r->sent);
	u64(b, &first, "received", r->received);
	u64(b, &first, "connections", r->connections);
	u64(b, &first, "events", r->events);
	i64(b, &first, "first_ns", r->first_ns);
	i64(b, &first, "last_ns", r->last_ns);
	vt(b, &first, r->vt_known, r->vt);
	buf_putc(b, '}');
}

void q_json_point(struct buf *b, enum q_field field, const struct q_point *p)
{
	bool first = true;

	buf_putc(b, '{');
	i64(b, &first, "bucket_ns", p->bucket_ns);
	if (q_field_name(field)) {
		key(b, &first, q_field_name(field));
		value(b, field, p->other ? NULL : p->key);
	}
	if (p->other) {
		key(b, &first, "other");
		buf_puts(b, "true");
	}
	u64(b, &first, "sent", p->sent);
	u64(b, &first, "received", p->received);
	u64(b, &first, "connections", p->connections);
	buf_putc(b, '}');
}

static void rows(struct buf *b, bool *first, const char *k, const struct q_rows *r)
{
	key(b, first, k);
	buf_putc(b, '[');
	for (size_t i = 0; i < r->n; i++) {
		if (i)
			buf_putc(b, ',');
		q_json_row(b, r->field, &r->v[i]);
	}
	buf_putc(b, ']');
}

void q_json_drill(struct buf *b, const struct q_drill *d)
{
	bool first = true;

	buf_putc(b, '{');
	key(b, &first, "field");
	str_or_null(b, q_field_name(d->field));
	key(b, &first, "value");
	value(b, d->field, d->value);
	key(b, &first, "totals");
	q_json_totals(b, &d->totals);
	rows(b, &first, "domains", &d->domains);
	rows(b, &first, "addresses", &d->addresses);
	rows(b, &first, "ports", &d->ports);
	rows(b, &first, "parents", &d->parents);
	rows(b, &first, "users", &d->users);
	rows(b, &first, "sha256", &d->sha256);
	rows(b, &first, "scripts", &d->scripts);
	rows(b, &first, "apps", &d->apps);
	rows(b, &first, "outcomes", &d->outcomes);
	buf_putc(b, '}');
}

void q_json_exe(struct buf *b, const struct q_exe *e)
{
	bool first = true;

	buf_putc(b, '{');
	key(b, &first, "exe");
	str_or_null(b, e->path);
	key(b, &first, "name");
	str_or_null(b, e->name);
	i64(b, &first, "first_ns", e->first_ns);
	i64(b, &first, "last_ns", e->last_ns);
	u64(b, &first, "sent", e->sent);
	u64(b, &first, "received", e->received);
	u64(b, &first, "connections", e->connections);
	key(b, &first, "sha256");
	buf_putc(b, '[');
	for (size_t i = 0; i < e->nhashes; i++) {
		bool f2 = true;

		if (i)
			buf_putc(b, ',');
		buf_putc(b, '{');
		key(b, &f2, "sha256");
		str_or_null(b, e->hashes[i].sha256);
		i64(b, &f2, "first_ns", e->hashes[i].first_ns);
		i64(b, &f2, "last_ns", e->hashes[i].last_ns);
		vt(b, &f2, e->hashes[i].vt_known, e->hashes[i].vt);
		buf_putc(b, '}');
	}
	buf_puts(b, "]}");
}
