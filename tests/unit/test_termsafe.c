/* SPDX-License-Identifier: MIT */
#include <stdbool.h>

#include "json.h"
#include "termsafe.h"
#include "test.h"

static void check(const char *in, size_t len, const char *want)
{
	struct buf b = BUF_INIT;
	char small[256];

	termsafe_append(&b, in, len);
	CHECK_MEM(b.p ? b.p : "", b.len, want);
	termsafe_str(small, sizeof(small), in, len);
	CHECK_MEM(small, strlen(small), want);
	buf_release(&b);
}

#define CHECK_SAFE(lit, want) check(lit, sizeof(lit) - 1, want)

/* No byte a terminal acts on: no C0, DEL or C1 (0x80..0x9f as code points), valid UTF-8. */
static bool inert(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;

	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(u + i, n - i);

		if (!l || u[i] < 0x20 || u[i] == 0x7f)
			return false;
		if (l == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0)
			return false;
		i += l;
	}
	return true;
}

static void test_plain(void)
{
	CHECK_SAFE("", "");
	CHECK_SAFE("curl -sO https://example.org/a b", "curl -sO https://example.org/a b");
	CHECK_SAFE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	CHECK_SAFE("a\\b", "a\\\\b");
}

static void test_controls(void)
{
	/* a window title change, a cursor move, an OSC 52 clipboard write */
	CHECK_SAFE("\x1b]0;pwned\x07", "\\e]0;pwned\\x07");
	CHECK_SAFE("\x1b[2J\x1b[H", "\\e[2J\\e[H");
	CHECK_SAFE("\x1b]52;c;ZWNobyBoaQ==\x1b\\", "\\e]52;c;ZWNobyBoaQ==\\e\\\\");
	CHECK_SAFE("a\tb\nc\rd\x7f", "a\\tb\\nc\\rd\\x7f");
	check("x\0y", 3, "x\\x00y");
	/* C1 encoded as UTF-8 (U+009B CSI), and as a raw byte (invalid UTF-8) */
	CHECK_SAFE("\xc2\x9b" "31m", "\\x9b31m");
	CHECK_SAFE("\xc2\x85", "\\x85");
	CHECK_SAFE("\x9b" "31m", "\xef\xbf\xbd" "31m");
	/* U+00A0 is printable */
	CHECK_SAFE("\xc2\xa0", "\xc2\xa0");
	/* bidi override and line separator */
	CHECK_SAFE("a\xe2\x80\xae" "b", "a\\u202eb");
	CHECK_SAFE("\xe2\x80\xa8", "\\u2028");
	CHECK_SAFE("\xe2\x81\xa6", "\\u2066");
}

static void test_invalid_utf8(void)
{
	CHECK_SAFE("\xff", "\xef\xbf\xbd");
	CHECK_SAFE("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");		/* overlong '/' */
	CHECK_SAFE("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");	/* surrogate */
	CHECK_SAFE("\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd");		/* cut short */
	CHECK_SAFE("ok\xe2\x82" "x", "ok\xef\xbf\xbd\xef\xbf\xbdx");
}

static void test_fixed_buffer_cuts_whole_units(void)
{
	char out[6];

	termsafe_str(out, sizeof(out), "ab\x1b[c", 5);
	CHECK_MEM(out, strlen(out), "ab\\e[");
	termsafe_str(out, 5, "ab\x1b[c", 5);
	CHECK_MEM(out, strlen(out), "ab\\e");
	termsafe_str(out, 4, "ab\x1b[c", 5);
	CHECK_MEM(out, strlen(out), "ab");		/* not half of "\e" */
	termsafe_str(out, 4, "a\xe2\x82\xac", 4);
	CHECK_MEM(out, strlen(out), "a");		/* not half of the euro sign */
	termsafe_str(out, 1, "abc", 3);
	CHECK_MEM(out, strlen(out), "");
}

/* Every byte pair and triple, and random bytes: always inert. */
static void test_exhaustive(void)
{
	struct buf b = BUF_INIT;
	unsigned char in[4];
	bool all = true;
	unsigned seed = 12345;

	for (unsigned x = 0; x < 256; x++)
		for (unsigned y = 0; y < 256; y++) {
			in[0] = (unsigned char)x, in[1] = (unsigned char)y, in[2] = 0xa9;
			buf_reset(&b);
			termsafe_append(&b, in, 3);
			all &= inert(b.p, b.len);
		}
	for (int i = 0; i < 200000; i++) {
		unsigned char r[16];

		for (size_t k = 0; k < sizeof(r); k++) {
			seed = seed * 1103515245u + 12345u;
			r[k] = (unsigned char)(seed >> 16);
		}
		buf_reset(&b);
		termsafe_append(&b, r, sizeof(r));
		all &= inert(b.p, b.len);
	}
	CHECK(all);
	buf_release(&b);
}

static void check_json(const char *in, const char *want)
{
	struct buf b = BUF_INIT;

	termsafe_json(&b, in, strlen(in));
	CHECK_MEM(b.p ? b.p : "", b.len, want);
	buf_release(&b);
}

static void test_json(void)
{
	/* escaped already: unchanged */
	check_json("{\"name\":\"\\u001b]0;x\\u0007\"}", "{\"name\":\"\\u001b]0;x\\u0007\"}");
	check_json("{\"a\":\"caf\xc3\xa9\"}", "{\"a\":\"caf\xc3\xa9\"}");
	/* raw C1, a bidi override, invalid bytes, a raw control: escaped */
	check_json("{\"a\":\"\xc2\x9b" "1m\"}", "{\"a\":\"\\u009b1m\"}");
	check_json("{\"a\":\"x\xe2\x80\xaey\"}", "{\"a\":\"x\\u202ey\"}");
	check_json("{\"a\":\"\xff\x1b\"}", "{\"a\":\"\\ufffd\\u001b\"}");
	check_json("{\"a\":\"\x7f\"}", "{\"a\":\"\\u007f\"}");
}

int main(void)
{
	test_plain();
	test_controls();
	test_invalid_utf8();
	test_fixed_buffer_cuts_whole_units();
	test_exhaustive();
	test_json();
	TEST_MAIN_END("termsafe");
}
