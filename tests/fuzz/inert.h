/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_FUZZ_INERT_H
#define SNITCH_FUZZ_INERT_H

#include <stdlib.h>

#include "json.h"

/*
 * The property every text meant for a terminal must have (lib/termsafe.h):
 * valid UTF-8 with no C0 control, no DEL and no C1 control; abort()
 * otherwise, which libFuzzer reports with the input. Left out of the
 * coverage instrumentation: run over every text of every input, it was
 * most of fuzz_top_model's time (perf: 470 inputs a second).
 */
__attribute__((no_sanitize("coverage")))
static inline void check_inert(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;

	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(u + i, n - i);

		if (!l || u[i] < 0x20 || u[i] == 0x7f)
			abort();
		if (l == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0)
			abort();
		i += l;
	}
}

#endif
