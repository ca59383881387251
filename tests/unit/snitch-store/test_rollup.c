/* SPDX-License-Identifier: MIT */
/*
 * The full rollups' combo (lib/rollup.h, schema version 11): its value is
 * on disk, so pinned; rows whose combos collide each keep their own row
 * (rollup_put_at() takes the next free combo), and a row's later sums find
 * it there.
 */
#include <stdint.h>

#include <sqlite3.h>

#include "rollup.h"
#include "store.h"
#include "test.h"

static const struct rollup_key base = {
	.num = { 11, 12, 13, 1000, 443, 21, 22, 23, 4026531840, 0 },
	.proto = "tcp", .proto_len = 3, .outcome_num = 1,
};

static void combo_values(void)
{
	struct rollup_key k = base;
	uint64_t c = rollup_combo(&base);

	/* written by every snitch-store since version 11: never to change */
	CHECK_EQ_INT(c, (long long)UINT64_C(0x8562becbbb35d2df));
	/* of the texts, not where they are */
	{
		char proto[] = "tcp";

		k.proto = proto;
		CHECK_EQ_INT(rollup_combo(&k), c);
	}
	/* each column of the key moves it */
	for (int i = 0; i < ROLLUP_COMBO_NUMS; i++) {
		k = base;
		k.num[i]++;
		CHECK(rollup_combo(&k) != c);
	}
	k = base;
	k.proto = "udp";
	CHECK(rollup_combo(&k) != c);
	k.proto = NULL;
	k.proto_len = 0;
	{
		struct rollup_key e = base;

		e.proto = "";
		e.proto_len = 0;
		/* no proto is the empty text, as the table stores it */
		CHECK_EQ_INT(rollup_combo(&k), rollup_combo(&e));
	}
	k = base;
	k.outcome_num = 3;
	CHECK(rollup_combo(&k) != c);
	/* an outcome kept as text is not its number */
	k.outcome_text = "1";
	k.outcome_len = 1;
	CHECK(rollup_combo(&k) != c);
}

static sqlite3 *h;
static sqlite3_stmt *up;

/*
 * one row of executable exe and domain dom, send bytes, in bucket b,
 * starting at combo (the executable is in the primary key: a collision
 * is of two combinations of the same one)
 */
static int put(int64_t b, int64_t exe, int64_t dom, int64_t send, uint64_t combo)
{
	int i = 1;

	sqlite3_bind_int64(up, i++, b);
	i++;	/* the combo */
	for (int n = 0; n < 12; n++) {
		if (n == 4)
			sqlite3_bind_text(up, i++, "tcp", 3, SQLITE_STATIC);
		else
			sqlite3_bind_int64(up, i++, n == 0 ? exe : n == 8 ? dom : n);
	}
	sqlite3_bind_int64(up, i++, send);
	sqlite3_bind_int64(up, i++, 2 * send);
	sqlite3_bind_int64(up, i++, 1);
	sqlite3_bind_int64(up, i++, 1);
	sqlite3_bind_int64(up, i++, 100 + send);
	sqlite3_bind_int64(up, i++, 200 + send);
	return rollup_put_at(h, up, combo);
}

/* "combo:domain:send:conns" of bucket b's rows, in combo order */
static const char *rows(int64_t b)
{
	static char out[512];
	sqlite3_stmt *st;
	size_t n = 0;

	out[0] = '\0';
	if (sqlite3_prepare_v2(h, "SELECT combo, domain_id, send_bytes, conns FROM t WHERE bucket_ns = ?"
			       " ORDER BY combo", -1, &st, NULL) != SQLITE_OK)
		return "prepare failed";
	sqlite3_bind_int64(st, 1, b);
	while (sqlite3_step(st) == SQLITE_ROW && n < sizeof(out) - 64)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%lld:%lld:%lld:%lld", n ? " " : "",
				      sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
				      sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
	sqlite3_finalize(st);
	return out;
}

static long long one_int(const char *sql)
{
	sqlite3_stmt *st;
	long long v = -2;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return -3;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* the combo of domain dom's row in bucket b, -1 for none */
static long long combo_of(int64_t b, int64_t dom)
{
	sqlite3_stmt *st;
	long long c = -1;

	if (sqlite3_prepare_v2(h, "SELECT combo FROM t WHERE bucket_ns = ? AND domain_id = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return -2;
	sqlite3_bind_int64(st, 1, b);
	sqlite3_bind_int64(st, 2, dom);
	if (sqlite3_step(st) == SQLITE_ROW)
		c = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return c;
}

static void collisions(void)
{
	CHECK_EQ_INT(sqlite3_open(":memory:", &h), SQLITE_OK);
	CHECK_EQ_INT(sqlite3_exec(h, ROLLUP_TABLE("t"), NULL, NULL, NULL), SQLITE_OK);
	CHECK_EQ_INT(sqlite3_prepare_v2(h, ROLLUP_UPSERT("t"), -1, &up, NULL), SQLITE_OK);

	CHECK_EQ_INT(put(1, 7, 7, 10, 42), SQLITE_DONE);
	/* another combination at the same combo: the next one */
	CHECK_EQ_INT(put(1, 7, 8, 5, 42), SQLITE_DONE);
	CHECK(!strcmp(rows(1), "42:7:10:1 43:8:5:1"));
	/* each adds to its own row, wherever its search starts */
	CHECK_EQ_INT(put(1, 7, 7, 1, 42), SQLITE_DONE);
	CHECK_EQ_INT(put(1, 7, 8, 2, 42), SQLITE_DONE);
	CHECK_EQ_INT(put(1, 7, 9, 3, 43), SQLITE_DONE);
	CHECK(!strcmp(rows(1), "42:7:11:2 43:8:7:2 44:9:3:1"));
	/* another executable's too */
	CHECK_EQ_INT(put(1, 8, 8, 1, 42), SQLITE_DONE);
	CHECK_EQ_INT(one_int("SELECT combo FROM t WHERE bucket_ns = 1 AND exe_id = 8"), 42);
	CHECK_EQ_INT(one_int("SELECT count(*) FROM t WHERE bucket_ns = 1"), 4);
	/* another bucket's combos are its own */
	CHECK_EQ_INT(put(2, 7, 8, 4, 42), SQLITE_DONE);
	CHECK(!strcmp(rows(2), "42:8:4:1"));
	/* past the largest combo: the smallest (as SQLite's signed integers) */
	CHECK_EQ_INT(put(3, 7, 7, 1, UINT64_MAX), SQLITE_DONE);
	CHECK_EQ_INT(put(3, 7, 8, 1, UINT64_MAX), SQLITE_DONE);
	CHECK(!strcmp(rows(3), "-1:7:1:1 0:8:1:1"));
	/* a run of 1,000 combos of other combinations: past its end, and found there */
	for (int i = 0; i < 1000; i++)
		CHECK_EQ_INT(put(4, 7, 1000 + i, 1, 5000 + (uint64_t)i), SQLITE_DONE);
	CHECK_EQ_INT(put(4, 7, 99, 1, 5000), SQLITE_DONE);
	CHECK_EQ_INT(combo_of(4, 99), 6000);
	CHECK_EQ_INT(put(4, 7, 99, 2, 5500), SQLITE_DONE);
	CHECK_EQ_INT(combo_of(4, 99), 6000);
	CHECK_EQ_INT(one_int("SELECT send_bytes FROM t WHERE bucket_ns = 4 AND domain_id = 99"), 3);
	CHECK_EQ_INT(one_int("SELECT count(*) FROM t WHERE bucket_ns = 4"), 1001);

	sqlite3_finalize(up);
	sqlite3_close(h);
}

int main(void)
{
	combo_values();
	collisions();
	TEST_MAIN_END("rollup");
}
