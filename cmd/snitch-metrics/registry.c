/* SPDX-License-Identifier: MIT */
/*
 * The counters: families of series, each series found by its label text
 * as it is written in the exposition (escaping is one-to-one, so the
 * text is as good a key as the values, and a scrape copies it as it is).
 * A family holds at most max_series series; a label set that comes when
 * it is full is counted in the family's "other" series instead (every
 * label "other" but those of a closed set of values), and in 'dropped'.
 * A series that nobody updated for ttl is removed: a counter that stays
 * never goes back, one that goes and comes back starts again from 0,
 * which Prometheus reads as a counter reset.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "metrics.h"
#include "table.h"

struct series {
	UT_hash_handle hh;
	struct lru_node lru;
	uint64_t last_ns;
	union {
		uint64_t u;
		double d;
	} v;
	bool other;
	size_t keylen;
	char key[];
};

int registry_init(struct registry *r, size_t max_series, uint64_t ttl_ns)
{
	memset(r, 0, sizeof(*r));
	r->max_series = max_series;
	r->ttl_ns = ttl_ns;
	return -pthread_mutex_init(&r->mu, NULL);
}

static void series_free(struct family *f, struct series *s)
{
	HASH_DEL(f->table, s);
	lru_remove(&s->lru);
	if (!s->other)
		f->count--;
	free(s);
}

void registry_release(struct registry *r)
{
	for (size_t i = 0; i < r->nfam; i++) {
		struct family *f = r->fam[i];
		struct series *s, *tmp;

		HASH_ITER(hh, f->table, s, tmp)
			series_free(f, s);
		free(f);
	}
	free(r->fam);
	buf_release(&r->key);
	pthread_mutex_destroy(&r->mu);
}

struct family *registry_family(struct registry *r, const char *name, const char *help,
			       enum family_type type, const char *const *labels,
			       unsigned nlabels, uint32_t bounded_mask)
{
	struct family *f, **fam;

	if (nlabels > FAMILY_LABELS_MAX)
		return NULL;
	fam = realloc(r->fam, (r->nfam + 1) * sizeof(*fam));
	if (!fam)
		return NULL;
	r->fam = fam;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->name = name;
	f->help = help;
	f->type = type;
	for (unsigned i = 0; i < nlabels; i++)
		f->labels[i] = labels[i];
	f->nlabels = nlabels;
	f->bounded_mask = bounded_mask;
	lru_init(&f->order);
	r->fam[r->nfam++] = f;
	return f;
}

/* ---- label text ---- */

static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */

void label_escape(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, whole = len;
	bool cut = len > LABEL_VALUE_MAX;

	if (cut)
		len = LABEL_VALUE_MAX;
	while (i < len) {
		unsigned char c = p[i];
		size_t n;

		if (c == '\\' || c == '"') {
			buf_putc(out, '\\');
			buf_putc(out, (char)c);
			i++;
		} else if (c == '\n') {
			buf_puts(out, "\\n");
			i++;
		} else if (c == 0) {
			buf_puts(out, replacement);
			i++;
		} else if (c < 0x80) {
			buf_putc(out, (char)c);
			i++;
		} else if ((n = utf8_seq_len(p + i, len - i)) > 0) {
			buf_append(out, p + i, n);
			i += n;
		} else if (cut && utf8_seq_len(p + i, whole - i) > len - i) {
			break;	/* a character the cut went through: not a fault */
		} else {
			buf_puts(out, replacement);
			i++;
		}
	}
	if (cut && !out->oom)
		buf_puts(out, "...");
}

void label_begin(struct registry *r)
{
	buf_reset(&r->key);
	r->key_labels = 0;
}

void label_add(struct registry *r, const struct family *f, const char *value, size_t len)
{
	unsigned i = r->key_labels;

	if (i >= f->nlabels)
		return;
	if (i)
		buf_putc(&r->key, ',');
	buf_puts(&r->key, f->labels[i]);
	buf_puts(&r->key, "=\"");
	r->seg_off[i] = r->key.len;
	label_escape(&r->key, value, len);
	r->seg_len[i] = r->key.len - r->seg_off[i];
	buf_putc(&r->key, '"');
	r->key_labels++;
}

void label_add_cstr(struct registry *r, const struct family *f, const char *value)
{
	label_add(r, f, value ? value : "", value ? strlen(value) : 0);
}

/* The "other" series' label text for the set in r->key, into b. */
static void other_key(const struct registry *r, const struct family *f, struct buf *b)
{
	for (unsigned i = 0; i < f->nlabels; i++) {
		if (i)
			buf_putc(b, ',');
		buf_puts(b, f->labels[i]);
		buf_puts(b, "=\"");
		if ((f->bounded_mask & (1u << i)) && !r->key.oom && i < r->key_labels)
			buf_append(b, r->key.p + r->seg_off[i], r->seg_len[i]);
		else
			buf_puts(b, "other");
		buf_putc(b, '"');
	}
}

static struct series *series_new(struct registry *r, struct family *f, const char *key,
				 size_t len, bool other)
{
	struct series *s = calloc(1, sizeof(*s) + len + 1);

	if (!s) {
		r->oom = 1;
		return NULL;
	}
	memcpy(s->key, key, len);
	s->keylen = len;
	s->other = other;
	HASH_ADD_KEYPTR(hh, f->table, s->key, len, s);
	if (!table_added(s, hh)) {
		free(s);
		r->oom = 1;
		return NULL;
	}
	lru_push(&f->order, &s->lru);
	if (!other)
		f->count++;
	return s;
}

/* The series of the set in r->key: found, made, or the family's "other". */
static struct series *series_get(struct registry *r, struct family *f, uint64_t now)
{
	struct series *s;

	while (r->key_labels < f->nlabels)
		label_add(r, f, "", 0);		/* a caller that gave too few: empty */
	if (r->key.oom)
		goto other;
	HASH_FIND(hh, f->table, r->key.p, r->key.len, s);
	if (s)
		goto found;
	if (f->count < r->max_series) {
		s = series_new(r, f, r->key.p, r->key.len, false);
		if (s)
			goto found;
	}
other:
	f->dropped++;
	{
		struct buf b = BUF_INIT;

		other_key(r, f, &b);
		if (b.oom) {
			buf_release(&b);
			r->oom = 1;
			return NULL;
		}
		HASH_FIND(hh, f->table, b.p, b.len, s);
		if (!s)
			s = series_new(r, f, b.p, b.len, true);
		buf_release(&b);
		if (!s)
			return NULL;
	}
found:
	s->last_ns = now;
	lru_touch(&f->order, &s->lru);
	return s;
}

void series_add(struct registry *r, struct family *f, uint64_t delta, uint64_t now)
{
	struct series *s = series_get(r, f, now);

	if (s)
		s->v.u += delta;
}

void series_set(struct registry *r, struct family *f, double value, uint64_t now)
{
	struct series *s = series_get(r, f, now);

	if (s)
		s->v.d = value;
}

size_t family_series(const struct family *f)
{
	return HASH_COUNT(f->table);
}

size_t registry_expire(struct registry *r, uint64_t now)
{
	size_t n = 0;

	if (!r->ttl_ns)
		return 0;
	for (size_t i = 0; i < r->nfam; i++) {
		struct family *f = r->fam[i];
		struct lru_node *o;

		while ((o = lru_oldest(&f->order))) {
			struct series *s = lru_entry(o, struct series, lru);

			if (now - s->last_ns < r->ttl_ns)
				break;
			series_free(f, s);
			f->expired++;
			n++;
		}
	}
	return n;
}

/* ---- the exposition ---- */

static void put_double(struct buf *b, double d)
{
	char tmp[40];
	int n = snprintf(tmp, sizeof(tmp), "%.17g", d);

	buf_append(b, tmp, (size_t)n);
}

/* About the bytes registry_render() writes: reserved at once, not doubled into. */
static size_t render_size(const struct registry *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nfam; i++) {
		const struct family *f = r->fam[i];
		const size_t per = strlen(f->name) + 6 + 3 + 24;	/* _total, {} and space, value */
		const struct series *s;

		n += 2 * (strlen(f->name) + 6) + strlen(f->help) + 32;
		for (s = f->table; s; s = s->hh.next)
			n += per + s->keylen;
	}
	return n;
}

void registry_render(struct registry *r, struct buf *out, bool openmetrics)
{
	(void)buf_reserve(out, render_size(r) + 16384);
	for (size_t i = 0; i < r->nfam; i++) {
		const struct family *f = r->fam[i];
		const bool counter = f->type == FAMILY_COUNTER;
		const char *suffix = counter ? "_total" : "";
		const struct series *s;

		buf_puts(out, "# HELP ");
		buf_puts(out, f->name);
		if (counter && !openmetrics)
			buf_puts(out, suffix);
		buf_putc(out, ' ');
		buf_puts(out, f->help);
		buf_puts(out, "\n# TYPE ");
		buf_puts(out, f->name);
		if (counter && !openmetrics)
			buf_puts(out, suffix);
		buf_puts(out, counter ? " counter\n" : " gauge\n");
		for (s = f->table; s; s = s->hh.next) {
			buf_puts(out, f->name);
			buf_puts(out, suffix);
			if (s->keylen) {
				buf_putc(out, '{');
				buf_append(out, s->key, s->keylen);
				buf_putc(out, '}');
			}
			buf_putc(out, ' ');
			if (counter)
				buf_put_u64(out, s->v.u);
			else
				put_double(out, s->v.d);
			buf_putc(out, '\n');
		}
	}
}
