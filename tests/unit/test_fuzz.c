/* SPDX-License-Identifier: MIT */
/*
 * Mutation fuzzing of the record library, deterministic (fixed seed) so a
 * failure repeats. Under ASan and UBSan, any out-of-bounds access or
 * undefined behaviour aborts the test. For every line that parses:
 * writing it without edits gives back its bytes, and a string set on it
 * reads back byte for byte from the re-parsed output.
 */
#include <errno.h>

#include "record.h"
#include "test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static const char *const seeds[] = {
	"{\"v\":1,\"type\":\"flow\",\"pid\":42,\"exe_dev\":2049,\"exe_ino\":1234,\"exe_path\":\"/usr/bin/a b\",\"keep\":[1,{\"a\":null},\"\\u00e9\\udcff\"],\"f\":-1.5e-3}",
	"{\"v\":1,\"type\":\"other\",\"nested\":{\"a\":{\"b\":[[[]]]}},\"t\":true,\"n\":false}",
	"{}",
	"{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\ud83d\\ude00\"}",
	"[1,2,{\"x\":\"y\"}]",
};

static const char tokens[] = "{}[],:\"\\ntfe-+.0123456789u \t\x80\xc3\xa9\xff\x00";

static void mutate(char *s, size_t *n, size_t cap)
{
	int ops = 1 + rnd() % 4;

	while (ops--) {
		size_t pos = *n ? rnd() % *n : 0;

		switch (rnd() % 5) {
		case 0:	/* replace a byte */
			if (*n)
				s[pos] = (char)(rnd() % 3 ? tokens[rnd() % (sizeof(tokens) - 1)]
							  : (char)rnd());
			break;
		case 1:	/* delete a span */
			if (*n) {
				size_t k = 1 + rnd() % 8;
				if (k > *n - pos)
					k = *n - pos;
				memmove(s + pos, s + pos + k, *n - pos - k);
				*n -= k;
			}
			break;
		case 2:	/* insert a token */
			if (*n + 1 < cap) {
				memmove(s + pos + 1, s + pos, *n - pos);
				s[pos] = tokens[rnd() % (sizeof(tokens) - 1)];
				(*n)++;
			}
			break;
		case 3:	/* duplicate a span */
			if (*n) {
				size_t k = 1 + rnd() % 16;
				if (k > *n - pos)
					k = *n - pos;
				if (*n + k < cap) {
					memmove(s + pos + k, s + pos, *n - pos);
					(*n) += k;
				}
			}
			break;
		case 4:	/* truncate */
			*n = pos;
			break;
		}
	}
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 2000000;
	struct record r, r2;
	struct buf out = BUF_INIT, got = BUF_INIT;
	char s[4096];
	long parsed = 0;

	record_init(&r);
	record_init(&r2);
	for (long i = 0; i < iters; i++) {
		const char *seed = seeds[rnd() % (sizeof(seeds) / sizeof(seeds[0]))];
		size_t n = strlen(seed);
		unsigned char val[24];
		size_t vlen = rnd() % sizeof(val);

		memcpy(s, seed, n);
		mutate(s, &n, sizeof(s));
		if (record_parse(&r, s, n, NULL) != 0)
			continue;
		parsed++;
		buf_reset(&out);
		record_write(&r, &out);
		if (out.len != n + 1 || memcmp(out.p, s, n) != 0) {
			CHECK(!"unchanged record did not round-trip");
			break;
		}
		/* set random bytes, write, parse again, read them back */
		for (size_t k = 0; k < vlen; k++)
			val[k] = (unsigned char)rnd();
		CHECK(record_set_str(&r, "fz", val, vlen) == 0);
		buf_reset(&out);
		record_write(&r, &out);
		if (record_parse(&r2, out.p, out.len - 1, NULL) != 0) {
			CHECK(!"edited record does not parse");
			fprintf(stderr, "%.*s", (int)out.len, out.p);
			break;
		}
		buf_reset(&got);
		if (record_get_str(&r2, "fz", &got) != 0 || got.len != vlen ||
		    memcmp(got.p, val, vlen) != 0) {
			CHECK(!"string did not read back");
			break;
		}
	}
	/* random bytes, no seed: must not crash, and never parse as a record */
	for (long i = 0; i < iters / 4; i++) {
		size_t n = rnd() % 64;
		for (size_t k = 0; k < n; k++)
			s[k] = (char)rnd();
		if (n)
			s[0] = (char)(rnd() % 2 ? '{' : s[0]);
		(void)record_parse(&r, s, n, NULL);
	}
	printf("test_fuzz: %ld mutated lines, %ld parsed and round-tripped\n",
	       iters, parsed);
	CHECK(parsed > iters / 50);	/* the mutations must leave enough valid */
	record_release(&r);
	record_release(&r2);
	buf_release(&out);
	buf_release(&got);
	TEST_MAIN_END("test_fuzz");
}
