/* SPDX-License-Identifier: MIT */
/*
 * A burst never floods the desktop. At most max notifications go out in
 * any 60-second window. A message is sent at once while fewer than max - 1
 * went out in the last 60 s, unless the same text went out in that time;
 * otherwise it is held, identical held messages counted as one. Held
 * messages gather for a second (a repeat: until the minute of its first
 * showing is over), then go out when a slot is free: one message as
 * itself, several as one summary that counts them by kind. The last slot
 * of a minute is kept for that summary. So a burst shows max - 1
 * messages and a summary of the rest, the desktop sees at most max in a
 * minute however many arrive, and a repeated message at most once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "notify.h"

#define WINDOW_NS (60 * 1000000000ULL)
#define GATHER_NS (1000000000ULL)
#define HELD_MAX 256		/* distinct held messages kept; beyond, counted */
#define RECENT 64		/* texts remembered for coalescing */
#define SUMMARY_LINES 6

struct held {
	char *summary, *body;
	enum event_kind kind;
	uint64_t count;
	uint64_t hash;
};

struct burst {
	uint64_t max;
	uint64_t *sent;		/* ring of send times, max of them */
	size_t sent_head, sent_n;
	struct { uint64_t hash, ns; } recent[RECENT];
	size_t recent_next;
	struct held held[HELD_MAX];
	size_t nheld;
	uint64_t held_by_kind[EV_KINDS];
	uint64_t held_total;
	uint64_t due_ns;	/* when what is held may go out */
};

static const char *const kind_one[EV_KINDS] = {
	[EV_NEW_EXE] = "new executable", [EV_NEW_NAME] = "new name",
	[EV_CHANGED] = "changed executable", [EV_MODIFIED] = "modified executable",
	[EV_LOST] = "loss report", [EV_ERROR] = "error",
	[EV_FLAGGED] = "VirusTotal warning", [EV_FILELESS] = "fileless program",
};

static const char *const kind_many[EV_KINDS] = {
	[EV_NEW_EXE] = "new executables", [EV_NEW_NAME] = "new names",
	[EV_CHANGED] = "changed executables", [EV_MODIFIED] = "modified executables",
	[EV_LOST] = "loss reports", [EV_ERROR] = "errors",
	[EV_FLAGGED] = "VirusTotal warnings", [EV_FILELESS] = "fileless programs",
};

static uint64_t text_hash(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 1099511628211ULL;
	return h;
}

struct burst *burst_new(uint64_t max_per_min)
{
	struct burst *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->max = max_per_min ? max_per_min : 1;
	b->sent = calloc(b->max, sizeof(*b->sent));
	if (!b->sent) {
		free(b);
		return NULL;
	}
	return b;
}

void burst_free(struct burst *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nheld; i++) {
		free(b->held[i].summary);
		free(b->held[i].body);
	}
	free(b->sent);
	free(b);
}

/* Sends in the last minute, forgetting older ones. */
static uint64_t in_window(struct burst *b, uint64_t now)
{
	while (b->sent_n && b->sent[b->sent_head] + WINDOW_NS <= now) {
		b->sent_head = (b->sent_head + 1) % b->max;
		b->sent_n--;
	}
	return b->sent_n;
}

static bool deliver(struct burst *b, const char *summary, const char *body, uint64_t hash,
		    uint64_t now, burst_send_fn send, void *ctx)
{
	if (!send(ctx, summary, body))
		return false;	/* no desktop: nothing went out, no slot used */
	b->sent[(b->sent_head + b->sent_n) % b->max] = now;
	b->sent_n++;
	b->recent[b->recent_next].hash = hash;
	b->recent[b->recent_next].ns = now;
	b->recent_next = (b->recent_next + 1) % RECENT;
	return true;
}

static bool recently_sent(const struct burst *b, uint64_t hash, uint64_t now,
			  uint64_t *sent_ns)
{
	for (size_t i = 0; i < RECENT; i++) {
		if (b->recent[i].ns && b->recent[i].hash == hash &&
		    b->recent[i].ns + WINDOW_NS > now) {
			*sent_ns = b->recent[i].ns;
			return true;
		}
	}
	return false;
}

static void hold(struct burst *b, enum event_kind kind, const char *summary,
		 const char *body, uint64_t hash)
{
	struct held *h;

	b->held_by_kind[kind]++;
	b->held_total++;
	for (size_t i = 0; i < b->nheld; i++) {
		if (b->held[i].hash == hash && !strcmp(b->held[i].summary, summary) &&
		    !strcmp(b->held[i].body, body)) {
			b->held[i].count++;
			return;
		}
	}
	if (b->nheld == HELD_MAX)
		return;		/* counted by kind only */
	h = &b->held[b->nheld];
	h->summary = strdup(summary);
	h->body = strdup(body);
	if (!h->summary || !h->body) {
		free(h->summary);
		free(h->body);
		return;
	}
	h->kind = kind;
	h->count = 1;
	h->hash = hash;
	b->nheld++;
}

void burst_offer(struct burst *b, enum event_kind kind, const char *summary,
		 const char *body, uint64_t now, burst_send_fn send, void *ctx)
{
	uint64_t hash = text_hash(summary, body), sent_ns = 0, due, used;
	bool recent = recently_sent(b, hash, now, &sent_ns);

	used = in_window(b, now);
	if (!recent && (used + 1 < b->max || (b->max == 1 && !used && !b->held_total)) &&
	    deliver(b, summary, body, hash, now, send, ctx))
		return;
	/*
	 * A repeat waits out the minute of its first showing; the rest of a
	 * burst gathers for a second, then goes out in the last slot.
	 */
	due = recent ? sent_ns + WINDOW_NS : now + GATHER_NS;
	if (!b->held_total || due < b->due_ns)
		b->due_ns = due;
	hold(b, kind, summary, body, hash);
}

static void clear_held(struct burst *b)
{
	for (size_t i = 0; i < b->nheld; i++) {
		free(b->held[i].summary);
		free(b->held[i].body);
	}
	b->nheld = 0;
	b->held_total = 0;
	memset(b->held_by_kind, 0, sizeof(b->held_by_kind));
}

/* The one message that stands for everything held. */
static void summarise(struct burst *b, struct buf *sum, struct buf *body,
		      const char *log_dir)
{
	size_t shown = 0;
	bool first = true;
	char n[32];

	if (b->nheld == 1 && b->held_total == b->held[0].count) {
		struct held *h = &b->held[0];

		buf_puts(sum, h->summary);
		buf_puts(body, h->body);
		if (h->count > 1) {
			snprintf(n, sizeof(n), " (%" PRIu64 " times)", h->count);
			buf_puts(body, n);
		}
		return;
	}
	snprintf(n, sizeof(n), "%" PRIu64, b->held_total);
	buf_puts(sum, "snitch: ");
	buf_puts(sum, n);
	buf_puts(sum, " more events: ");
	for (int k = 0; k < EV_KINDS; k++) {
		if (!b->held_by_kind[k])
			continue;
		snprintf(n, sizeof(n), "%s%" PRIu64 " ", first ? "" : ", ", b->held_by_kind[k]);
		buf_puts(sum, n);
		buf_puts(sum, b->held_by_kind[k] == 1 ? kind_one[k] : kind_many[k]);
		first = false;
	}
	for (size_t i = 0; i < b->nheld && shown < SUMMARY_LINES; i++, shown++) {
		buf_puts(body, b->held[i].summary);
		if (b->held[i].count > 1) {
			snprintf(n, sizeof(n), " (%" PRIu64 " times)", b->held[i].count);
			buf_puts(body, n);
		}
		buf_putc(body, '\n');
	}
	if (b->held_total > shown) {
		uint64_t rest = 0;

		for (size_t i = 0; i < shown; i++)
			rest += b->held[i].count;
		snprintf(n, sizeof(n), "%" PRIu64, b->held_total - rest);
		if (b->held_total > rest) {
			buf_puts(body, "and ");
			buf_puts(body, n);
			buf_puts(body, " more; ");
		}
	}
	buf_puts(body, "all are in ");
	buf_puts(body, log_dir);
	buf_puts(body, "/exe.log and error.log");
}

uint64_t burst_tick(struct burst *b, uint64_t now, const char *log_dir,
		    burst_send_fn send, void *ctx)
{
	struct buf sum = BUF_INIT, body = BUF_INIT;
	uint64_t used;

	if (!b->held_total)
		return UINT64_MAX;
	if (now < b->due_ns)
		return b->due_ns - now;
	used = in_window(b, now);
	if (used >= b->max)
		return b->sent[b->sent_head] + WINDOW_NS - now;
	summarise(b, &sum, &body, log_dir);
	buf_putc(&sum, '\0');
	buf_putc(&body, '\0');
	if (!sum.oom && !body.oom)
		(void)deliver(b, sum.p, body.p, text_hash(sum.p, body.p), now, send, ctx);
	/* sent, or no desktop to send to: either way the logs have it all */
	clear_held(b);
	buf_release(&sum);
	buf_release(&body);
	return UINT64_MAX;
}

uint64_t burst_held(const struct burst *b)
{
	return b->held_total;
}

void burst_flush(struct burst *b, uint64_t now, const char *log_dir,
		 burst_send_fn send, void *ctx)
{
	b->due_ns = 0;
	(void)burst_tick(b, now, log_dir, send, ctx);
}
