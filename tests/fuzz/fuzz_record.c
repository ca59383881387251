/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the record library: any bytes as one input line.
 * Invariants as in tests/unit/test_fuzz.c: no crash or undefined
 * behaviour; a line that parses comes back unchanged, and with an edit it
 * still parses and the edit reads back.
 */
#include <stdlib.h>
#include <string.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct record r, r2;
	static struct buf out, got;
	size_t half = size / 2;

	if (record_parse(&r, (const char *)data, size, NULL) != 0)
		return 0;
	buf_reset(&out);
	record_write(&r, &out);
	if (out.len != size + 1 || memcmp(out.p, data, size) != 0)
		abort();
	/* the first half of the input, as bytes, becomes a string value */
	if (record_set_str(&r, "fz", data, half) != 0)
		abort();
	buf_reset(&out);
	record_write(&r, &out);
	if (record_parse(&r2, out.p, out.len - 1, NULL) != 0)
		abort();
	buf_reset(&got);
	if (record_get_str(&r2, "fz", &got) != 0 || got.len != half ||
	    memcmp(got.p, data, half) != 0)
		abort();
	return 0;
}
