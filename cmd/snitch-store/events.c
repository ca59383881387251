/* SPDX-License-Identifier: MIT */
/*
 * Error and lost records, for the events table: those of every stage
 * upstream and of the supervisor, which flow down the pipeline, and
 * snitch-store's own. They are kept with the window they arrived in and
 * written in its transaction (docs/schema.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "record.h"
#include "store.h"

static void event_free(struct event *e)
{
	free(e->stage);
	free(e->code);
	free(e->message);
	free(e->json);
	free(e);
}

/* A string member, or NULL (absent, null or not a string). */
static char *dup_str(const struct record *r, const char *key, int *oom)
{
	const struct record_member *m = record_find(r, key);
	struct buf b = BUF_INIT;
	char *s;

	if (!m || m->type != JSON_STRING)
		return NULL;
	if (record_member_str(r, m, &b) < 0 || b.oom) {
		buf_release(&b);
		*oom = 1;
		return NULL;
	}
	s = strndup(b.p ? b.p : "", b.len);
	buf_release(&b);
	if (!s)
		*oom = 1;
	return s;
}

/* Take ownership of e's strings and queue it; -ENOMEM frees it. */
static int queue_event(struct batch *b, struct event *e, bool oom)
{
	if (oom || !e->stage || !e->json) {
		event_free(e);
		return -ENOMEM;
	}
	*(b->events_tail ? b->events_tail : &b->events) = e;
	b->events_tail = &e->next;
	b->nevents++;
	return 1;
}

int events_add(struct batch *b, uint64_t ts_ns, const char *type, const char *stage,
	       const char *code, int64_t count, const char *msg, const char *json, size_t len)
{
	struct event *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->type = strcmp(type, "lost") ? "error" : "lost";
	e->ts_ns = (int64_t)ts_ns;
	e->count = count;
	e->stage = strdup(stage);
	e->code = code ? strdup(code) : NULL;
	e->message = msg ? strdup(msg) : NULL;
	e->json = strndup(json, len);
	e->json_len = len;
	return queue_event(b, e, (code && !e->code) || (msg && !e->message));
}

int events_add_record(struct batch *b, const struct record *r, const char *line, size_t len)
{
	const struct record_member *t = record_find(r, "type");
	bool error = record_member_is(r, t, "error");
	struct event *e;
	int oom = 0;
	int64_t v;

	if (!error && !record_member_is(r, t, "lost"))
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->type = error ? "error" : "lost";
	e->ts_ns = record_get_i64(r, "ts_ns", &v) == 0 ? v : (int64_t)clock_real_ns();
	e->count = !error && record_get_i64(r, "count", &v) == 0 ? v : INT_NULL;
	e->stage = dup_str(r, "stage", &oom);
	e->code = dup_str(r, error ? "code" : "reason", &oom);
	e->message = dup_str(r, "message", &oom);
	e->json = strndup(line, len);
	e->json_len = len;
	return queue_event(b, e, oom);
}

void events_move(struct batch *to, struct batch *from)
{
	if (!from->events)
		return;
	*(to->events_tail ? to->events_tail : &to->events) = from->events;
	to->events_tail = from->events_tail;
	to->nevents += from->nevents;
	from->events = NULL;
	from->events_tail = NULL;
	from->nevents = 0;
}

void events_free(struct batch *b)
{
	for (struct event *e = b->events, *n; e; e = n) {
		n = e->next;
		event_free(e);
	}
	b->events = NULL;
	b->events_tail = NULL;
	b->nevents = 0;
}
