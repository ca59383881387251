/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "cache.h"

static size_t key_hash(const struct exe_key *k)
{
	uint64_t h = k->ino * 0x9e3779b97f4a7c15ULL ^ k->dev * 0xc2b2ae3d27d4eb4fULL;

	return (size_t)(h ^ h >> 29);
}

int cache_init(struct cache *c, size_t max)
{
	size_t n = 64;

	while (n < max)
		n *= 2;
	c->tab = calloc(n, sizeof(*c->tab));
	if (!c->tab)
		return -ENOMEM;
	c->mask = n - 1;
	c->count = 0;
	c->max = max;
	c->lru.lru_next = c->lru.lru_prev = &c->lru;
	return 0;
}

static void lru_unlink(struct exe_entry *e)
{
	e->lru_prev->lru_next = e->lru_next;
	e->lru_next->lru_prev = e->lru_prev;
}

static void lru_push(struct cache *c, struct exe_entry *e)
{
	e->lru_prev = c->lru.lru_prev;
	e->lru_next = &c->lru;
	c->lru.lru_prev->lru_next = e;
	c->lru.lru_prev = e;
}

void cache_release(struct cache *c)
{
	struct exe_entry *e, *next;

	if (!c->tab)
		return;
	for (e = c->lru.lru_next; e != &c->lru; e = next) {
		next = e->lru_next;
		free(e->path);
		free(e);
	}
	free(c->tab);
	c->tab = NULL;
}

struct exe_entry *cache_find(struct cache *c, const struct exe_key *k)
{
	struct exe_entry *e = c->tab[key_hash(k) & c->mask];

	for (; e; e = e->hnext)
		if (e->key.dev == k->dev && e->key.ino == k->ino)
			return e;
	return NULL;
}

struct exe_entry *cache_get(struct cache *c, const struct exe_key *k)
{
	struct exe_entry *e = cache_find(c, k);
	size_t b;

	if (e) {
		if (c->lru.lru_prev != e) {
			lru_unlink(e);
			lru_push(c, e);
		}
		return e;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = *k;
	b = key_hash(k) & c->mask;
	e->hnext = c->tab[b];
	c->tab[b] = e;
	lru_push(c, e);
	c->count++;
	return e;
}

static void unhash(struct cache *c, struct exe_entry *e)
{
	struct exe_entry **pp = &c->tab[key_hash(&e->key) & c->mask];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
}

void cache_trim(struct cache *c, void (*fn)(void *ctx, struct exe_entry *e),
		void *ctx)
{
	struct exe_entry *e = c->lru.lru_next, *next;

	for (; c->count > c->max && e != &c->lru; e = next) {
		next = e->lru_next;
		if (e->held_refs || e->state == ENTRY_PENDING)
			continue;
		fn(ctx, e);
		unhash(c, e);
		lru_unlink(e);
		c->count--;
		free(e->path);
		free(e);
	}
}
