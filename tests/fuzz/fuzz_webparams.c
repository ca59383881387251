/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for snitch-web's query-string parser (params.c): the
 * bytes anyone who reaches the listener can send. Invariants: no crash or
 * undefined behaviour; an accepted query has every number within its
 * range, every field name of [a-z0-9_], every value NUL-free and within
 * WEB_MAX_VALUE; a refused one names a parameter, in printable ASCII, and
 * says why.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		abort();
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct web_params p;
	char bad[64], err[256];
	unsigned i;
	int ret;

	ret = web_params_parse((const char *)data, size, &p, bad, sizeof(bad), err, sizeof(err));
	if (ret == 0) {
		if (p.top > WEB_MAX_TOP || p.limit > WEB_MAX_LIMIT || p.nfilters > WEB_MAX_FILTERS ||
		    p.bucket_s > 7 * 86400)
			abort();
		if ((p.has_from && p.from_s < 0) || (p.has_from && p.has_until && p.from_s >= p.until_s))
			abort();
		if (p.has_range && (p.has_from || p.has_until))
			abort();
		if (p.group)
			check_name(p.group);
		if (p.field)
			check_name(p.field);
		if (p.value && strlen(p.value) > WEB_MAX_VALUE)
			abort();
		for (i = 0; i < p.nfilters; i++) {
			check_name(p.filters[i].field);
			if (strlen(p.filters[i].value) > WEB_MAX_VALUE)
				abort();
		}
	} else {
		const char *c;

		if (ret != -EINVAL || !err[0])
			abort();
		/* the name goes back to the client in JSON: printable ASCII only */
		for (c = bad; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				abort();
	}
	web_params_release(&p);
	return 0;
}
