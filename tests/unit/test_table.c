/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* allocations that can be made to fail, to see an add fail cleanly */
static int fail_allocs;
static void *test_malloc(size_t n)
{
	return fail_allocs ? NULL : malloc(n);
}
#define uthash_malloc(n) test_malloc(n)

#include "table.h"
#include "test.h"

struct key {
	uint64_t dev, ino;
};

struct ent {
	struct key key;
	int value;
	UT_hash_handle hh;
};

struct word {
	char *s;
	UT_hash_handle hh;
};

static struct ent *find(struct ent *tab, uint64_t dev, uint64_t ino)
{
	struct key k = { .dev = dev, .ino = ino };
	struct ent *e;

	HASH_FIND(hh, tab, &k, sizeof(k), e);
	return e;
}

int main(void)
{
	enum { N = 20000 };
	struct ent *tab = NULL, *e, *tmp;
	struct word *words = NULL, *w, *wt;
	static const char *const text[] = { "a", "ab", "abc", "abcdefgh", "abcdefghi", "" };
	unsigned used[64] = { 0 }, empty = 0;
	int bad = 0, i;

	/* the hash: the same bytes, the same value; one byte more, another */
	CHECK(table_hash("abcdefghij", 10) == table_hash("abcdefghij", 10));
	CHECK(table_hash("abcdefghij", 10) != table_hash("abcdefghij", 9));
	CHECK(table_hash("", 0) != table_hash("\0", 1));
	/* keys differing only in high bytes still fill the low buckets */
	for (i = 0; i < 64 * 16; i++) {
		struct key k = { .dev = 2049, .ino = (uint64_t)i << 32 };
		used[table_hash(&k, sizeof(k)) % 64]++;
	}
	for (i = 0; i < 64; i++)
		empty += !used[i];
	CHECK_EQ_INT(empty, 0);

	/* keyed structs: add, find, delete, in the order added */
	for (i = 0; i < N; i++) {
		e = calloc(1, sizeof(*e));
		e->key.dev = 2049;
		e->key.ino = (uint64_t)i * 7919;
		e->value = i;
		HASH_ADD(hh, tab, key, sizeof(e->key), e);
		bad += !table_added(e, hh);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(HASH_COUNT(tab), N);
	for (i = 0; i < N; i++) {
		e = find(tab, 2049, (uint64_t)i * 7919);
		bad += !e || e->value != i;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(find(tab, 2049, 1) == NULL);
	CHECK(find(tab, 2050, 0) == NULL);
	i = 0;
	HASH_ITER(hh, tab, e, tmp) {
		bad += e->value != i++;
		if (e->value % 2) {
			HASH_DEL(tab, e);
			free(e);
		}
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(HASH_COUNT(tab), N / 2);
	CHECK(find(tab, 2049, 7919) == NULL);
	CHECK(find(tab, 2049, 2 * 7919) != NULL);

	/* out of memory: an add that must grow the table fails, and the
	 * table is as it was */
	fail_allocs = 1;
	for (i = 0; i < N; i++) {
		e = calloc(1, sizeof(*e));
		e->key.dev = 3;
		e->key.ino = (uint64_t)i;
		HASH_ADD(hh, tab, key, sizeof(e->key), e);
		if (!table_added(e, hh))
			break;
	}
	fail_allocs = 0;
	CHECK(i < N);
	CHECK_EQ_INT(HASH_COUNT(tab), N / 2 + i);
	CHECK(find(tab, 3, (uint64_t)i) == NULL);
	CHECK(i == 0 || find(tab, 3, (uint64_t)i - 1) != NULL);
	CHECK(find(tab, 2049, 2 * 7919) != NULL);
	free(e);
	HASH_ITER(hh, tab, e, tmp) {
		HASH_DEL(tab, e);
		free(e);
	}
	CHECK(tab == NULL);

	/* the first add makes the table: when that fails, nothing is added */
	e = calloc(1, sizeof(*e));
	fail_allocs = 1;
	HASH_ADD(hh, tab, key, sizeof(e->key), e);
	fail_allocs = 0;
	CHECK(!table_added(e, hh));
	CHECK(tab == NULL);
	free(e);

	/* string keys the entry points to: lengths count, "" is a key */
	for (i = 0; i < (int)(sizeof(text) / sizeof(*text)); i++) {
		w = calloc(1, sizeof(*w));
		w->s = strdup(text[i]);
		HASH_ADD_KEYPTR(hh, words, w->s, strlen(w->s), w);
	}
	HASH_FIND(hh, words, "abcdefgh", 8, w);
	CHECK(w && !strcmp(w->s, "abcdefgh"));
	HASH_FIND(hh, words, "abcdefg", 7, w);
	CHECK(w == NULL);
	HASH_FIND_STR(words, "", w);
	CHECK(w && !*w->s);
	HASH_ITER(hh, words, w, wt) {
		HASH_DEL(words, w);
		free(w->s);
		free(w);
	}
	TEST_MAIN_END("test_table");
}
