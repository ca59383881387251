/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the terminal sanitiser (lib/termsafe.c): any bytes
 * come out as valid UTF-8 holding no C0 control, DEL or C1 control, the
 * same from termsafe_append() and from termsafe_str() when that has room,
 * and a shorter buffer holds a prefix of it.
 */
#include <stdlib.h>
#include <string.h>

#include "inert.h"
#include "json.h"
#include "termsafe.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct buf b;
	char *big, small[17];

	buf_reset(&b);
	termsafe_append(&b, data, size);
	if (b.oom)
		return 0;
	check_inert(b.p, b.len);
	big = malloc(size * 6 + 1);
	if (!big)
		return 0;
	termsafe_str(big, size * 6 + 1, data, size);
	if (strlen(big) != b.len || (b.len && memcmp(big, b.p, b.len)))
		abort();
	termsafe_str(small, sizeof(small), data, size);
	if (strlen(small) > b.len || (b.len && memcmp(small, b.p, strlen(small))))
		abort();
	check_inert(small, strlen(small));
	free(big);
	/* a JSON line for snitch tail: inert too */
	buf_reset(&b);
	termsafe_json(&b, data, size);
	if (!b.oom)
		check_inert(b.p, b.len);
	return 0;
}
