/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

static size_t key_hash(const struct flow_key *k)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a over the key */
	const unsigned char *p = (const unsigned char *)k;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return (size_t)(h ^ h >> 32);
}

static size_t cookie_hash(uint64_t c)
{
	c *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(c ^ c >> 29);
}

int flows_init(struct flow_table *t, size_t size_hint)
{
	size_t n = 1024;

	while (n < size_hint)
		n *= 2;
	t->tab = calloc(n, sizeof(*t->tab));
	t->bycookie = calloc(n, sizeof(*t->bycookie));
	if (!t->tab || !t->bycookie) {
		free(t->tab);
		free(t->bycookie);
		return -ENOMEM;
	}
	t->mask = n - 1;
	t->count = 0;
	return 0;
}

void flows_release(struct flow_table *t)
{
	size_t i;
	struct flow *f, *next;

	if (!t->tab)
		return;
	for (i = 0; i <= t->mask; i++) {
		for (f = t->tab[i]; f; f = next) {
			next = f->next;
			free(f);
		}
	}
	free(t->tab);
	free(t->bycookie);
	t->tab = NULL;
}

struct flow *flow_find(struct flow_table *t, const struct flow_key *k)
{
	struct flow *f = t->tab[key_hash(k) & t->mask];

	for (; f; f = f->next)
		if (!memcmp(&f->key, k, sizeof(*k)))
			return f;
	return NULL;
}

struct flow *flow_get(struct flow_table *t, const struct flow_key *k,
		      bool *created)
{
	struct flow *f = flow_find(t, k);
	size_t b;

	*created = false;
	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->key = *k;
	b = key_hash(k) & t->mask;
	f->next = t->tab[b];
	t->tab[b] = f;
	b = cookie_hash(k->cookie) & t->mask;
	f->cnext = t->bycookie[b];
	t->bycookie[b] = f;
	t->count++;
	*created = true;
	return f;
}

void flow_remove(struct flow_table *t, struct flow *f)
{
	struct flow **pp = &t->tab[key_hash(&f->key) & t->mask];

	while (*pp && *pp != f)
		pp = &(*pp)->next;
	if (*pp)
		*pp = f->next;
	pp = &t->bycookie[cookie_hash(f->key.cookie) & t->mask];
	while (*pp && *pp != f)
		pp = &(*pp)->cnext;
	if (*pp)
		*pp = f->cnext;
	t->count--;
	free(f);
}

struct flow *flow_first_of(struct flow_table *t, uint64_t cookie)
{
	struct flow *f = t->bycookie[cookie_hash(cookie) & t->mask];

	while (f && f->key.cookie != cookie)
		f = f->cnext;
	return f;
}

struct flow *flow_next_of(struct flow *f)
{
	uint64_t cookie = f->key.cookie;

	for (f = f->cnext; f && f->key.cookie != cookie; f = f->cnext)
		;
	return f;
}
