/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "cache.h"

int cache_init(struct cache *c, size_t max)
{
	c->tab = NULL;
	c->max = max;
	lru_init(&c->lru);
	return 0;
}

static void entry_free(struct cache *c, struct exe_entry *e)
{
	HASH_DEL(c->tab, e);
	lru_remove(&e->lru);
	free(e->path);
	free(e);
}

void cache_release(struct cache *c)
{
	struct exe_entry *e, *next;

	HASH_ITER(hh, c->tab, e, next)
		entry_free(c, e);
}

struct exe_entry *cache_find(struct cache *c, const struct exe_key *k)
{
	struct exe_entry *e;

	HASH_FIND(hh, c->tab, k, sizeof(*k), e);
	return e;
}

struct exe_entry *cache_get(struct cache *c, const struct exe_key *k)
{
	struct exe_entry *e = cache_find(c, k);

	if (e) {
		lru_touch(&c->lru, &e->lru);
		return e;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = *k;
	HASH_ADD(hh, c->tab, key, sizeof(e->key), e);
	if (!table_added(e, hh)) {
		free(e);
		return NULL;
	}
	lru_push(&c->lru, &e->lru);
	return e;
}

void cache_trim(struct cache *c, void (*fn)(void *ctx, struct exe_entry *e),
		void *ctx)
{
	struct lru_node *n, *tmp;

	lru_for_each(&c->lru, n, tmp) {
		struct exe_entry *e = lru_entry(n, struct exe_entry, lru);

		if (HASH_COUNT(c->tab) <= c->max)
			break;
		if (e->held_refs || e->state == ENTRY_PENDING)
			continue;
		fn(ctx, e);
		entry_free(c, e);
	}
}
