/* SPDX-License-Identifier: MIT */
/*
 * What snitch-vt asked about and what waits to be asked, kept in memory
 * and in the state file (--state): one JSON object a line, written whole
 * and atomically, so that a restart or an outage forgets nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "json.h"
#include "record.h"
#include "vt.h"

void vt_state_init(struct vt_state *s)
{
	memset(s, 0, sizeof(*s));
	s->qtail = &s->qhead;
}

static void entry_free(struct vt_entry *e)
{
	free(e->path);
	free(e->name);
	free(e->analysis);
	free(e->upload_url);
	free(e);
}

void vt_state_release(struct vt_state *s)
{
	struct vt_entry *e, *tmp;

	HASH_ITER(hh, s->table, e, tmp) {
		HASH_DEL(s->table, e);
		entry_free(e);
	}
	vt_state_init(s);
}

struct vt_entry *vt_state_find(struct vt_state *s, const char *sha)
{
	struct vt_entry *e;

	HASH_FIND(hh, s->table, sha, 64, e);
	return e;
}

struct vt_entry *vt_state_add(struct vt_state *s, const char *sha)
{
	struct vt_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	memcpy(e->sha, sha, 64);
	HASH_ADD(hh, s->table, sha, 64, e);
	if (!table_added(e, hh)) {
		free(e);
		return NULL;
	}
	return e;
}

void vt_queue_push(struct vt_state *s, struct vt_entry *e, bool front)
{
	e->pending = true;
	if (e->queued)
		return;
	e->queued = true;
	s->queued++;
	if (front) {
		e->qnext = s->qhead;
		s->qhead = e;
		if (s->qtail == &s->qhead)
			s->qtail = &e->qnext;
		return;
	}
	e->qnext = NULL;
	*s->qtail = e;
	s->qtail = &e->qnext;
}

struct vt_entry *vt_queue_pop(struct vt_state *s)
{
	struct vt_entry *e = s->qhead;

	if (!e)
		return NULL;
	s->qhead = e->qnext;
	if (!s->qhead)
		s->qtail = &s->qhead;
	e->qnext = NULL;
	e->queued = false;
	s->queued--;
	return e;
}

int vt_entry_set(char **field, const char *s)
{
	char *c = NULL;

	if (s && !(c = strdup(s)))
		return -ENOMEM;
	free(*field);
	*field = c;
	return 0;
}

void vt_entry_done(struct vt_entry *e, const char *status, uint64_t now_ns)
{
	e->pending = false;
	e->checked_ns = now_ns;
	snprintf(e->status, sizeof(e->status), "%s", status);
	e->step = STEP_LOOKUP;
	e->pid = 0;
	vt_entry_set(&e->path, NULL);
	vt_entry_set(&e->name, NULL);
	vt_entry_set(&e->analysis, NULL);
	vt_entry_set(&e->upload_url, NULL);
}

static void format_pending(const struct vt_entry *e, struct buf *out)
{
	buf_puts(out, "{\"sha256\":\"");
	buf_append(out, e->sha, 64);
	buf_putc(out, '"');
	emit_bool(out, "pending", true);
	if (e->checked_ns) {
		emit_u64(out, "checked_ns", e->checked_ns);
		emit_cstr(out, "status", e->status);
	}
	emit_u64(out, "dev", e->dev);
	emit_u64(out, "ino", e->ino);
	emit_i64(out, "pid", e->pid);
	emit_cstr_or_null(out, "exe_path", e->path);
	emit_cstr_or_null(out, "name", e->name);
	emit_cstr_or_null(out, "analysis", e->step == STEP_POLL ? e->analysis : NULL);
	buf_puts(out, "}\n");
}

void vt_state_format(const struct vt_state *s, const struct vt_entry *in_flight,
		     uint64_t keep_ns, struct buf *out)
{
	for (const struct vt_entry *e = s->table; e; e = e->hh.next) {
		if (e->pending || !e->checked_ns || e->checked_ns < keep_ns)
			continue;
		buf_puts(out, "{\"sha256\":\"");
		buf_append(out, e->sha, 64);
		buf_putc(out, '"');
		emit_u64(out, "checked_ns", e->checked_ns);
		emit_cstr(out, "status", e->status);
		buf_puts(out, "}\n");
	}
	if (in_flight && in_flight->pending)
		format_pending(in_flight, out);
	for (const struct vt_entry *e = s->qhead; e; e = e->qnext)
		if (e != in_flight)
			format_pending(e, out);
}

/* A string member into *field, or NULL when absent or null. */
static int take_str(const struct record *r, const char *key, char **field, struct buf *tmp)
{
	buf_reset(tmp);
	if (record_get_str(r, key, tmp) < 0)
		return 0;
	buf_putc(tmp, '\0');
	if (tmp->oom || memchr(tmp->p, '\0', tmp->len - 1))
		return 0;	/* a path with a NUL is no path */
	return vt_entry_set(field, tmp->p);
}

int vt_state_parse(struct vt_state *s, const char *text, size_t len, size_t *bad)
{
	struct record r;
	struct buf tmp = BUF_INIT;
	size_t pos = 0;
	int ret = 0;

	*bad = 0;
	record_init(&r);
	while (pos < len && ret == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		struct json_error err;
		struct vt_entry *e;
		uint64_t u;
		int64_t i;

		if (record_parse(&r, text + pos, n, &err) < 0)
			goto bad;
		buf_reset(&tmp);
		if (record_get_str(&r, "sha256", &tmp) < 0 || !vt_sha_valid(tmp.p, tmp.len))
			goto bad;
		buf_putc(&tmp, '\0');
		if (vt_state_find(s, tmp.p))
			goto bad;	/* written once each: a second is a damaged file */
		if (!(e = vt_state_add(s, tmp.p))) {
			ret = -ENOMEM;
			break;
		}
		if (record_get_u64(&r, "checked_ns", &u) == 0)
			e->checked_ns = u;
		buf_reset(&tmp);
		if (record_get_str(&r, "status", &tmp) == 0 && tmp.len < sizeof(e->status)) {
			memcpy(e->status, tmp.p, tmp.len);
			e->status[tmp.len] = '\0';
		}
		if (record_find(&r, "pending")) {
			if (record_get_u64(&r, "dev", &u) == 0)
				e->dev = u;
			if (record_get_u64(&r, "ino", &u) == 0)
				e->ino = u;
			if (record_get_i64(&r, "pid", &i) == 0 && i > 0 && i < (1 << 22))
				e->pid = i;
			if (take_str(&r, "exe_path", &e->path, &tmp) < 0 ||
			    take_str(&r, "name", &e->name, &tmp) < 0 ||
			    take_str(&r, "analysis", &e->analysis, &tmp) < 0)
				ret = -ENOMEM;
			if (e->analysis)
				e->step = STEP_POLL;
			vt_queue_push(s, e, false);
		}
		pos += n + 1;
		continue;
bad:
		if (n)
			(*bad)++;
		pos += n + 1;
	}
	record_release(&r);
	buf_release(&tmp);
	return ret;
}
