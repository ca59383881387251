/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "json.h"
#include "test.h"

static int valid(const char *s)
{
	size_t pos = 0, len = strlen(s);
	enum json_type t;
	struct json_error err;

	if (json_scan_value(s, len, &pos, &t, NULL, &err) < 0)
		return 0;
	return json_skip_ws(s, len, pos) == len;
}

static void test_valid_and_invalid(void)
{
	static const char *const good[] = {
		"0", "-0", "1.5", "-12e+3", "1E-2", "true", "false", "null",
		"\"\"", "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\"",
		"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "[]", "{}",
		"[1,[2,[3,{\"a\":[]}]]]", " { \"k\" : [ 1 , 2 ] } ",
		"\"\\udcff\"", "\"\\ud83d\\ude00\"",
	};
	static const char *const bad[] = {
		"", " ", "01", "1.", ".5", "-", "+1", "1e", "tru", "nul",
		"\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "[1,]", "[1 2]",
		"{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}", "[", "{", "]",
		"\"\x01\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
		"\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "[1]]", "{}x", "\"\t\"",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!valid(good[i]))
			fprintf(stderr, "should be valid: %s\n", good[i]);
		CHECK(valid(good[i]));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (valid(bad[i]))
			fprintf(stderr, "should be invalid: %s\n", bad[i]);
		CHECK(!valid(bad[i]));
	}
}

static void test_depth(void)
{
	char deep[JSON_MAX_DEPTH + 2];
	char ok[2 * JSON_MAX_DEPTH + 1];

	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	CHECK(!valid(deep));
	memset(ok, '[', JSON_MAX_DEPTH);
	memset(ok + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
	ok[2 * JSON_MAX_DEPTH] = '\0';
	CHECK(valid(ok));
	/* one more level is refused, not a crash */
	{
		static char more[2 * JSON_MAX_DEPTH + 3];
		memset(more, '[', JSON_MAX_DEPTH + 1);
		memset(more + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
		CHECK(!valid(more));
	}
}

static void test_escape_roundtrip(void)
{
	unsigned char all[256];
	struct buf b = BUF_INIT;
	char out[2048];
	size_t n;

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	json_put_str(&b, all, sizeof(all));
	CHECK(!b.oom);
	/* the output is one valid JSON string... */
	{
		size_t pos = 0;
		enum json_type t;
		CHECK(json_scan_value(b.p, b.len, &pos, &t, NULL, NULL) == 0);
		CHECK(pos == b.len);
		CHECK(t == JSON_STRING);
	}
	/* ...that decodes to the same 256 bytes */
	n = json_unescape(b.p + 1, b.len - 2, out);
	CHECK_EQ_INT(n, 256);
	CHECK(memcmp(out, all, 256) == 0);
	buf_release(&b);

	/* valid UTF-8 stays as it is; bad bytes become \udcXX */
	json_put_str(&b, "a\xc3\xa9\xff\n\"\\", 7);
	CHECK_MEM(b.p, b.len, "\"a\xc3\xa9\\udcff\\n\\\"\\\\\"");
	buf_release(&b);

	/* a truncated sequence: each byte escaped on its own */
	json_put_str(&b, "\xe2\x82", 2);
	CHECK_MEM(b.p, b.len, "\"\\udce2\\udc82\"");
	buf_release(&b);
}

static void test_unescape(void)
{
	char out[64];
	size_t n;

	n = json_unescape("\\ud83d\\ude00", 12, out);	/* a pair: U+1F600 */
	CHECK_MEM(out, n, "\xf0\x9f\x98\x80");
	n = json_unescape("\\ud83d", 6, out);		/* lone high: U+FFFD */
	CHECK_MEM(out, n, "\xef\xbf\xbd");
	n = json_unescape("\\udc41", 6, out);		/* lone low, not a byte */
	CHECK_MEM(out, n, "\xef\xbf\xbd");
	n = json_unescape("\\u00e9\\u0041\\/", 14, out);
	CHECK_MEM(out, n, "\xc3\xa9" "A/");
	n = json_unescape("\\u0000x", 7, out);
	CHECK_EQ_INT(n, 2);
	CHECK(out[0] == '\0' && out[1] == 'x');
}

static void test_numbers(void)
{
	uint64_t u;
	int64_t i;

	CHECK(json_number_u64("18446744073709551615", 20, &u) == 0 && u == UINT64_MAX);
	CHECK(json_number_u64("18446744073709551616", 20, &u) == -ERANGE);
	CHECK(json_number_u64("1.5", 3, &u) == -EINVAL);
	CHECK(json_number_u64("1e3", 3, &u) == -EINVAL);
	CHECK(json_number_i64("-9223372036854775808", 20, &i) == 0 && i == INT64_MIN);
	CHECK(json_number_i64("-9223372036854775809", 20, &i) == -ERANGE);
	CHECK(json_number_i64("9223372036854775807", 19, &i) == 0 && i == INT64_MAX);
	CHECK(json_number_i64("9223372036854775808", 19, &i) == -ERANGE);
	CHECK(json_number_i64("-0", 2, &i) == 0 && i == 0);
}

static void test_utf8(void)
{
	CHECK_EQ_INT(utf8_seq_len((const unsigned char *)"\xc3\xa9", 2), 2);
	CHECK_EQ_INT(utf8_seq_len((const unsigned char *)"\xc3\xa9", 1), 0);
	CHECK_EQ_INT(utf8_seq_len((const unsigned char *)"\xe0\x80\x80", 3), 0);
	CHECK_EQ_INT(utf8_seq_len((const unsigned char *)"\xef\xbf\xbf", 3), 3);
	CHECK_EQ_INT(utf8_seq_len((const unsigned char *)"\xf4\x8f\xbf\xbf", 4), 4);
	CHECK_EQ_INT(utf8_seq_len((const unsigned char *)"\xf5\x80\x80\x80", 4), 0);
	CHECK_EQ_INT(utf8_seq_len((const unsigned char *)"\x80", 1), 0);
}

/* The elements of an array, joined with '|', as json_array_next gives them. */
static const char *elements(const char *arr)
{
	static char out[256];
	size_t pos = 0, a, b, o = 0;

	out[0] = '\0';
	while (json_array_next(arr, strlen(arr), &pos, &a, &b)) {
		if (o)
			out[o++] = '|';
		memcpy(out + o, arr + a, b - a);
		o += b - a;
		out[o] = '\0';
	}
	return out;
}

static void test_array_next(void)
{
	CHECK(!strcmp(elements("[]"), ""));
	CHECK(!strcmp(elements("[ ]"), ""));
	CHECK(!strcmp(elements("[1]"), "1"));
	CHECK(!strcmp(elements("[1,\"a,b\",null]"), "1|\"a,b\"|null"));
	CHECK(!strcmp(elements("[ {\"k\":[1,2]} , [3,[4]],\t-1.5e3 ]"),
		      "{\"k\":[1,2]}|[3,[4]]|-1.5e3"));
	CHECK(!strcmp(elements("[\"]\",\"\\\"\"]"), "\"]\"|\"\\\"\""));
	CHECK(!strcmp(elements("[true,false]"), "true|false"));
}

/* buf_shrink: gives back what lies past its length, never its bytes */
static void test_buf_shrink(void)
{
	struct buf b = BUF_INIT;

	CHECK(buf_reserve(&b, 1 << 20) == 0);
	buf_puts(&b, "kept");
	buf_shrink(&b, 4096);
	CHECK_EQ_INT(b.cap, 4096);
	CHECK_MEM(b.p, b.len, "kept");
	buf_shrink(&b, 1);		/* not below its length */
	CHECK_EQ_INT(b.cap, 4);
	CHECK_MEM(b.p, b.len, "kept");
	buf_shrink(&b, 8192);		/* never grows */
	CHECK_EQ_INT(b.cap, 4);
	buf_reset(&b);
	buf_shrink(&b, 0);		/* empty: all of it */
	CHECK(b.p == NULL && b.cap == 0);
	buf_puts(&b, "again");
	CHECK_MEM(b.p, b.len, "again");
	buf_release(&b);
}

int main(void)
{
	test_valid_and_invalid();
	test_depth();
	test_escape_roundtrip();
	test_unescape();
	test_numbers();
	test_utf8();
	test_array_next();
	test_buf_shrink();
	TEST_MAIN_END("test_json");
}
