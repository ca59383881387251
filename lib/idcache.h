/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_IDCACHE_H
#define SNITCH_IDCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * The content ids (docs/schema.md) of reference rows a database is known
 * to hold, so that an executable or domain is inserted once per
 * connection, not once per row. Direct-mapped: an id that is there is
 * certain, one that is not may have been pushed out by another, and is
 * only inserted again ("do nothing if present"). Ids are never 0, so a
 * cleared cache holds none.
 */
struct id_cache {
	int64_t *slot;
	size_t n;
};

static inline bool id_cache_has(const struct id_cache *c, int64_t id)
{
	return c->slot[(uint64_t)id % c->n] == id;
}

static inline void id_cache_put(struct id_cache *c, int64_t id)
{
	c->slot[(uint64_t)id % c->n] = id;
}

/* Forget every id (a new connection, a rolled-back transaction). */
static inline void id_cache_clear(struct id_cache *c)
{
	memset(c->slot, 0, c->n * sizeof(*c->slot));
}

#endif
