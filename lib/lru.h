/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_LRU_H
#define SNITCH_LRU_H

/*
 * Least-recently-used order, for the caches that drop their oldest
 * entries (snitch-resolve's processes, snitch-hash's executables). The
 * list is intrusive: an entry holds a struct lru_node, and finds itself
 * from it with lru_entry(); the list allocates nothing and never fails.
 * The entries themselves are found by key through lib/table.h; this only
 * keeps their order.
 */
#include <stddef.h>

struct lru_node {
	struct lru_node *prev, *next;
};

/* A circular list around a sentinel: head.next is the oldest. */
struct lru {
	struct lru_node head;
};

#define lru_entry(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

static inline void lru_init(struct lru *l)
{
	l->head.prev = l->head.next = &l->head;
}

/* Add n as the most recently used. */
static inline void lru_push(struct lru *l, struct lru_node *n)
{
	n->prev = l->head.prev;
	n->next = &l->head;
	l->head.prev->next = n;
	l->head.prev = n;
}

static inline void lru_remove(struct lru_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

/* n was used: it becomes the most recently used. */
static inline void lru_touch(struct lru *l, struct lru_node *n)
{
	if (l->head.prev == n)
		return;		/* the common case of a hot entry: no writes */
	lru_remove(n);
	lru_push(l, n);
}

/* The least recently used entry's node; NULL when the list is empty. */
static inline struct lru_node *lru_oldest(const struct lru *l)
{
	return l->head.next == &l->head ? NULL : l->head.next;
}

/* The node used next after n; NULL after the most recently used. */
static inline struct lru_node *lru_newer(const struct lru *l, const struct lru_node *n)
{
	return n->next == &l->head ? NULL : n->next;
}

/*
 * Every node, oldest first; n may be removed (or freed) inside the loop,
 * since the next one is read before the body runs.
 */
#define lru_for_each(l, n, tmp) \
	for ((n) = lru_oldest(l), (tmp) = (n) ? lru_newer((l), (n)) : NULL; (n); \
	     (n) = (tmp), (tmp) = (n) ? lru_newer((l), (n)) : NULL)

#endif
