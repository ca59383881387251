/* SPDX-License-Identifier: MIT */
#include "lru.h"
#include "test.h"

struct item {
	int id;
	struct lru_node lru;
};

/* The ids from oldest to newest, as a string of digits. */
static const char *order(struct lru *l)
{
	static char s[32];
	struct lru_node *n, *tmp;
	size_t i = 0;

	lru_for_each(l, n, tmp)
		s[i++] = (char)('0' + lru_entry(n, struct item, lru)->id);
	s[i] = '\0';
	return s;
}

#define CHECK_ORDER(l, s) \
	do { const char *o_ = order(l); CHECK_MEM(o_, strlen(o_), s); } while (0)

int main(void)
{
	struct item it[5];
	struct lru l;
	struct lru_node *n, *tmp;

	lru_init(&l);
	CHECK(lru_oldest(&l) == NULL);
	CHECK_ORDER(&l, "");
	for (int i = 0; i < 5; i++) {
		it[i].id = i;
		lru_push(&l, &it[i].lru);
	}
	CHECK_ORDER(&l, "01234");
	CHECK(lru_oldest(&l) == &it[0].lru);
	CHECK(lru_newer(&l, &it[3].lru) == &it[4].lru);
	CHECK(lru_newer(&l, &it[4].lru) == NULL);

	/* a use moves an entry to the newest end; the newest stays */
	lru_touch(&l, &it[0].lru);
	CHECK_ORDER(&l, "12340");
	lru_touch(&l, &it[0].lru);
	CHECK_ORDER(&l, "12340");
	lru_touch(&l, &it[2].lru);
	CHECK_ORDER(&l, "13402");

	/* eviction: the oldest go first */
	lru_remove(lru_oldest(&l));
	CHECK_ORDER(&l, "3402");
	CHECK(lru_entry(lru_oldest(&l), struct item, lru) == &it[3]);

	/* removing inside the walk skips nothing */
	lru_for_each(&l, n, tmp)
		if (lru_entry(n, struct item, lru)->id % 2 == 0)
			lru_remove(n);
	CHECK_ORDER(&l, "3");
	lru_remove(&it[3].lru);
	CHECK(lru_oldest(&l) == NULL);
	lru_push(&l, &it[1].lru);
	CHECK_ORDER(&l, "1");

	TEST_MAIN_END("test_lru");
}
