/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "test.h"

/* The model: every byte of the stream, and where the ring starts in it. */
static char stream[1 << 26];
static uint64_t written, kept_from;

static void append(struct ring *r, size_t n)
{
	char *p = stream + written;

	for (size_t i = 0; i < n; i++)
		p[i] = (char)(rand() % 7 ? 'a' + rand() % 26 : '\n');
	written += n;
	CHECK_EQ_INT(ring_append(r, p, n), 0);
}

/* What r holds, where the model says it should be. */
static void check_model(struct ring *r)
{
	struct buf b = BUF_INIT;
	uint64_t off, want;

	CHECK_EQ_INT(r->base, kept_from);
	CHECK_EQ_INT(ring_end(r), written);
	ring_copy(r, r->base, r->len, &b);
	CHECK(b.len == r->len && (!b.len || !memcmp(b.p, stream + kept_from, b.len)));
	/* a piece from the middle, across the wrap or not */
	if (r->len > 10) {
		off = kept_from + (uint64_t)rand() % (r->len - 10);
		b.len = 0;
		ring_copy(r, off, 10, &b);
		CHECK(b.len == 10 && !memcmp(b.p, stream + off, 10));
		want = off;
		while (want < written && stream[want] != '\n')
			want++;
		CHECK_EQ_INT(ring_find(r, off, '\n'), want);
	}
	buf_release(&b);
}

/* Empty; then wrapped, and grown while wrapped. */
static void test_empty_and_wrapped(void)
{
	static char x[2 * RING_MIN];
	struct ring r = { 0 };
	struct buf b = BUF_INIT;
	uint64_t nl;

	/* empty: nothing held, nothing found, no memory */
	CHECK_EQ_INT(ring_find(&r, 0, '\n'), 0);
	ring_copy(&r, 0, 0, &b);
	CHECK_EQ_INT(b.len, 0);
	CHECK_EQ_INT(ring_append(&r, "", 0), 0);
	CHECK(r.p == NULL && r.cap == 0);

	/*
	 * Wrapped: the bytes from the first kept to the end of the block
	 * hold no newline, the first after the wrap is 50 bytes on; then it
	 * grows with its bytes still wrapped.
	 */
	memset(x, 'x', sizeof(x));
	CHECK_EQ_INT(ring_append(&r, x, 40000), 0);
	CHECK_EQ_INT(r.cap, RING_MIN);
	ring_drop_to(&r, 39900);
	CHECK_EQ_INT(ring_append(&r, x, 25000), 0);
	ring_drop_to(&r, 64800);		/* 100 kept, at 64800 in the block */
	CHECK_EQ_INT(ring_append(&r, x, RING_MIN - 64900 + 50), 0);
	nl = ring_end(&r);
	CHECK_EQ_INT(ring_append(&r, "\n", 1), 0);
	CHECK_EQ_INT(r.cap, RING_MIN);
	CHECK(r.start + r.len > r.cap);
	CHECK_EQ_INT(ring_find(&r, r.base, '\n'), nl);
	CHECK_EQ_INT(ring_append(&r, x, RING_MIN), 0);	/* grows, wrapped */
	CHECK(r.cap > RING_MIN);
	CHECK_EQ_INT(ring_find(&r, r.base, '\n'), nl);
	CHECK_EQ_INT(ring_find(&r, nl + 1, '\n'), ring_end(&r));
	b.len = 0;
	ring_copy(&r, nl - 10, 20, &b);
	CHECK_MEM(b.p, b.len, "xxxxxxxxxx\nxxxxxxxxx");
	ring_free(&r);
	buf_release(&b);
}

/* Against the model: random appends and drops, growth. */
static void test_model(struct ring *r)
{
	struct buf b = BUF_INIT;

	/* appends and drops at random, wrapping many times */
	for (int i = 0; i < 3000; i++) {
		append(r, (size_t)rand() % 3000);
		if (rand() % 2) {
			kept_from += (uint64_t)rand() % (written - kept_from + 1);
			ring_drop_to(r, kept_from);
		}
		check_model(r);
	}
	CHECK(r->cap >= RING_MIN && r->cap % RING_MIN == 0);

	/* dropping below what it holds, or past its end, changes nothing past it */
	ring_drop_to(r, kept_from - 1);
	CHECK_EQ_INT(r->base, kept_from);
	ring_drop_to(r, written + 100);
	kept_from = written;
	check_model(r);
	/* a copy of what it does not hold adds nothing */
	ring_copy(r, written, 1, &b);
	CHECK_EQ_INT(b.len, 0);

	/* growth keeps the bytes where the stream has them, wrapped or not */
	for (int i = 0; i < 40; i++)
		append(r, 60000);
	check_model(r);
	kept_from = written - 1000;
	ring_drop_to(r, kept_from);
	append(r, 1u << 20);
	check_model(r);
	buf_release(&b);
}

static void test_steady(struct ring *r)
{
	char *steady = NULL;
	size_t cap = 0;

	/*
	 * A steady window (appended, then confirmed all but a little) goes
	 * round the same memory: no move, no new block, and a trim keeps it.
	 */
	kept_from = written;
	ring_drop_to(r, kept_from);
	ring_trim(r);
	ring_trim(r);		/* a period with nothing kept: no memory */
	CHECK(r->p == NULL && r->cap == 0);
	CHECK_EQ_INT(r->base, written);
	for (int i = 0; i < 400; i++) {
		if (i == 200) {
			/* settled: from here on it neither moves nor grows */
			steady = r->p;
			cap = r->cap;
		}
		append(r, 40000 + (size_t)rand() % 20000);
		kept_from = written - (uint64_t)rand() % 1000;
		ring_drop_to(r, kept_from);
		if (i % 20 == 19)
			ring_trim(r);
		if (i >= 200 && (r->p != steady || r->cap != cap)) {
			CHECK(!"moved");
			break;
		}
	}
	CHECK(cap >= 61000 && cap <= 61000 + 61000 / 4 + RING_MIN);
	check_model(r);
}

static void test_burst(struct ring *r)
{
	size_t cap;

	/* a burst's memory goes once a whole period kept no more than half */
	append(r, 1u << 21);
	cap = r->cap;
	CHECK(cap >= (1u << 21) && cap <= (1u << 21) + 1000 + (1u << 19) + 250 + RING_MIN);
	kept_from = written - 100;
	ring_drop_to(r, kept_from);
	ring_trim(r);		/* the burst was in this period: kept */
	CHECK_EQ_INT(r->cap, cap);
	append(r, cap * 7 / 10);
	kept_from = written - 100;
	ring_drop_to(r, kept_from);
	ring_trim(r);		/* 70% of it at most in this one: kept */
	CHECK_EQ_INT(r->cap, cap);
	append(r, 30000);
	ring_trim(r);		/* this one kept 30100 at most */
	CHECK_EQ_INT(r->cap, RING_MIN);
	check_model(r);
}

int main(void)
{
	struct ring r = { 0 };

	srand(7);
	test_empty_and_wrapped();
	test_model(&r);
	test_steady(&r);
	test_burst(&r);
	/* freed, it goes on from its end */
	ring_free(&r);
	kept_from = written;
	check_model(&r);
	append(&r, 5);
	check_model(&r);
	ring_free(&r);
	TEST_MAIN_END("test_ring");
}
