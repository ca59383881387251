/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "record.h"
#include "test.h"

static struct record r;
static struct buf out;

static int parse(const char *s)
{
	return record_parse(&r, s, strlen(s), NULL);
}

static const char *write_out(void)
{
	buf_reset(&out);
	record_write(&r, &out);
	buf_putc(&out, '\0');
	return out.p;
}

static void test_parse(void)
{
	struct json_error err;

	CHECK(parse("{}") == 0);
	CHECK_EQ_INT(r.n, 0);
	CHECK(parse(" {\"a\":1, \"b\" : [1,{\"c\":null}] ,\"d\":\"x\"} ") == 0);
	CHECK_EQ_INT(r.n, 3);
	CHECK(record_find(&r, "b")->type == JSON_ARRAY);
	CHECK(record_find(&r, "c") == NULL);	/* only the top level */
	CHECK(parse("[1]") == -EINVAL);
	CHECK(parse("1") == -EINVAL);
	CHECK(parse("") == -EINVAL);
	CHECK(parse("{\"a\":1}x") == -EINVAL);
	CHECK(parse("{\"a\":1}{}") == -EINVAL);
	CHECK(parse("{\"a\":1") == -EINVAL);
	CHECK(record_parse(&r, "{\"a\":tru}", 9, &err) == -EINVAL);
	CHECK_EQ_INT(err.offset, 5);
	/* a NUL byte inside the line is not JSON */
	CHECK(record_parse(&r, "{\"a\":\"x\0\"}", 10, NULL) == -EINVAL);
}

static void test_getters(void)
{
	struct buf s = BUF_INIT;
	uint64_t u;
	int64_t i;

	CHECK(parse("{\"u\":18446744073709551615,\"i\":-5,\"f\":1.5,\"n\":null,"
		    "\"s\":\"a\\nb\\udcff\",\"t\":true,\"\\u0070id\":7,\"u\":3}") == 0);
	CHECK(record_get_u64(&r, "u", &u) == 0 && u == 3);	/* last wins */
	CHECK(record_get_i64(&r, "i", &i) == 0 && i == -5);
	CHECK(record_get_u64(&r, "i", &u) == -ERANGE);
	CHECK(record_get_u64(&r, "f", &u) == -EINVAL);
	CHECK(record_get_u64(&r, "n", &u) == -ENODATA);
	CHECK(record_get_u64(&r, "missing", &u) == -ENOENT);
	CHECK(record_get_u64(&r, "s", &u) == -EINVAL);
	CHECK(record_get_u64(&r, "pid", &u) == 0 && u == 7);	/* escaped key */
	CHECK(record_get_str(&r, "s", &s) == 0);
	CHECK_MEM(s.p, s.len, "a\nb\xff");
	buf_reset(&s);
	CHECK(record_get_str(&r, "t", &s) == -EINVAL);
	CHECK(record_get_str(&r, "n", &s) == -ENODATA);
	CHECK(record_member_is(&r, record_find(&r, "s"), "x") == false);
	buf_release(&s);

	{
		static const char *const keys[] = { "i", "pid", "zz", "u" };
		const struct record_member *m[4];

		record_find_many(&r, keys, 4, m);
		CHECK(m[0] && m[1] && !m[2] && m[3]);
		CHECK(m[3] == record_find(&r, "u"));
	}
	CHECK(parse("{\"type\":\"flow\"}") == 0);
	CHECK(record_member_is(&r, record_find(&r, "type"), "flow"));
	CHECK(!record_member_is(&r, record_find(&r, "type"), "flo"));
}

static void test_edits(void)
{
	/* unknown fields, odd spacing and order survive byte for byte */
	const char *in = "{ \"v\":1,\"type\":\"x\",\"keep\":[1,{\"a\":null}] ,\"z\":\"\\u00e9\" }";

	CHECK(parse(in) == 0);
	CHECK(strcmp(write_out(), "{ \"v\":1,\"type\":\"x\",\"keep\":[1,{\"a\":null}] ,\"z\":\"\\u00e9\" }\n") == 0);

	CHECK(record_set_str(&r, "h", "ab\xff", 3) == 0);
	CHECK(record_set_u64(&r, "n", 42) == 0);
	CHECK(record_set_null(&r, "type") == 0);	/* replace in place */
	CHECK(strcmp(write_out(), "{ \"v\":1,\"type\":null,\"keep\":[1,{\"a\":null}] ,\"z\":\"\\u00e9\" ,\"h\":\"ab\\udcff\",\"n\":42}\n") == 0);

	CHECK(parse("{}") == 0);
	CHECK(record_set_u64(&r, "a", 1) == 0);
	CHECK(record_set_u64(&r, "b", 2) == 0);
	CHECK(strcmp(write_out(), "{\"a\":1,\"b\":2}\n") == 0);

	CHECK(parse("{}") == 0);
	CHECK(record_add_members(&r, "\"a\":1,\"b\":[2]", 13) == 0);
	CHECK(record_set_u64(&r, "c", 3) == 0);
	CHECK(strcmp(write_out(), "{\"a\":1,\"b\":[2],\"c\":3}\n") == 0);
	CHECK(parse("{\"x\":0}") == 0);
	CHECK(record_add_members(&r, "\"a\":1", 5) == 0);
	CHECK(strcmp(write_out(), "{\"x\":0,\"a\":1}\n") == 0);

	CHECK(parse(" { } ") == 0);
	CHECK(record_set_raw(&r, "a", "[]", 2) == 0);
	CHECK(strcmp(write_out(), " { \"a\":[]} \n") == 0);

	/* a new parse forgets the edits of the last one */
	CHECK(parse("{\"x\":1}") == 0);
	CHECK(strcmp(write_out(), "{\"x\":1}\n") == 0);

	/* the number of edits is bounded, and refused past it */
	{
		int ok = 0, refused = 0;
		char key[16];

		CHECK(parse("{}") == 0);
		for (int i = 0; i < RECORD_EDITS_MAX + 5; i++) {
			snprintf(key, sizeof(key), "k%d", i);
			if (record_set_u64(&r, key, (uint64_t)i) == 0)
				ok++;
			else
				refused++;
		}
		CHECK_EQ_INT(ok, RECORD_EDITS_MAX);
		CHECK_EQ_INT(refused, 5);
		write_out();
		{
			struct record r2;
			record_init(&r2);
			CHECK(record_parse(&r2, out.p, strlen(out.p) - 1, NULL) == 0);
			CHECK_EQ_INT(r2.n, RECORD_EDITS_MAX);
			record_release(&r2);
		}
	}
}

static void test_long_line(void)
{
	size_t n = RECORD_LINE_MAX;
	char *s = malloc(n + 1);
	uint64_t len;

	/* {"pad":"xxxx...x"} of exactly 1 MiB */
	memcpy(s, "{\"pad\":\"", 8);
	memset(s + 8, 'x', n - 10);
	memcpy(s + n - 2, "\"}", 2);
	s[n] = '\0';
	CHECK(record_parse(&r, s, n, NULL) == 0);
	len = record_find(&r, "pad")->val_len;
	CHECK_EQ_INT(len, n - 8);
	write_out();
	CHECK_EQ_INT(strlen(out.p), n + 1);
	free(s);
}

/* The type of a line, whatever the order of its members. */
static void test_peek_type(void)
{
	char t[16];
	const char *a = "{\"v\":1,\"type\":\"flow\",\"x\":[1,{\"type\":\"no\"}]}";
	const char *b = "{\"x\":{\"type\":\"inner\"},\"s\":\"\\\"type\\\":1\",\"type\":\"lost\"}";
	const char *c = "{\"v\":1,\"count\":2}";
	const char *d = "{\"type\":\"a-very-long-type-name\"}";

	CHECK(record_peek_type(a, strlen(a), t, sizeof(t)) == 0 && !strcmp(t, "flow"));
	CHECK(record_peek_type(b, strlen(b), t, sizeof(t)) == 0 && !strcmp(t, "lost"));
	CHECK(record_peek_type(c, strlen(c), t, sizeof(t)) == -ENOENT);
	CHECK(record_peek_type(d, strlen(d), t, sizeof(t)) == -ENOENT);
	CHECK(record_peek_type("[1]", 3, t, sizeof(t)) == -EINVAL);
	CHECK(record_peek_type("{\"a\":tru}", 9, t, sizeof(t)) == -EINVAL);
}

int main(void)
{
	record_init(&r);
	test_parse();
	test_getters();
	test_edits();
	test_long_line();
	test_peek_type();
	record_release(&r);
	buf_release(&out);
	TEST_MAIN_END("test_record");
}
