/* SPDX-License-Identifier: MIT */
/*
 * The flows userspace follows: by their whole key, and by socket (the
 * cookie), since a socket's release ends all of its flows at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

void flows_init(struct flow_table *t)
{
	t->tab = NULL;
	t->socks = NULL;
}

void flows_release(struct flow_table *t)
{
	struct flow *f, *tmp;

	flow_for_each(t, f, tmp)
		flow_remove(t, f);
}

struct flow *flow_find(struct flow_table *t, const struct flow_key *k)
{
	struct flow *f;

	HASH_FIND(hh, t->tab, k, sizeof(*k), f);
	return f;
}

static struct flow_sock *sock_of(struct flow_table *t, uint64_t cookie, bool create)
{
	struct flow_sock *s;

	HASH_FIND(hh, t->socks, &cookie, sizeof(cookie), s);
	if (s || !create)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cookie = cookie;
	HASH_ADD(hh, t->socks, cookie, sizeof(s->cookie), s);
	if (!table_added(s, hh)) {
		free(s);
		return NULL;
	}
	return s;
}

struct flow *flow_get(struct flow_table *t, const struct flow_key *k,
		      bool *created)
{
	struct flow *f = flow_find(t, k);
	struct flow_sock *s;

	*created = false;
	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->key = *k;
	HASH_ADD(hh, t->tab, key, sizeof(f->key), f);
	if (!table_added(f, hh) || !(s = sock_of(t, k->cookie, true))) {
		if (table_added(f, hh))
			HASH_DEL(t->tab, f);
		free(f);
		return NULL;
	}
	f->sock = s;
	f->cnext = s->flows;
	if (s->flows)
		s->flows->cprev = f;
	s->flows = f;
	*created = true;
	return f;
}

void flow_remove(struct flow_table *t, struct flow *f)
{
	struct flow_sock *s = f->sock;

	HASH_DEL(t->tab, f);
	if (f->cprev)
		f->cprev->cnext = f->cnext;
	else
		s->flows = f->cnext;
	if (f->cnext)
		f->cnext->cprev = f->cprev;
	if (!s->flows) {
		HASH_DEL(t->socks, s);
		free(s);
	}
	free(f);
}

struct flow *flow_first_of(struct flow_table *t, uint64_t cookie)
{
	struct flow_sock *s = sock_of(t, cookie, false);

	return s ? s->flows : NULL;
}

struct flow *flow_next_of(struct flow *f)
{
	return f->cnext;
}
