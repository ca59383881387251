/* SPDX-License-Identifier: MIT */
/*
 * The query core's parsers of what a stranger sends (snitch-web passes
 * URL parameters to them): times, durations, "F=V" filters. Invariants:
 * no crash; a filter taken names a known field; a time taken is not
 * negative; a duration taken is positive.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[256];
	struct q_spec spec;
	int64_t ns;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (q_parse_time(s, &ns) == 0 && ns < 0)
		abort();
	if (q_parse_duration(s, &ns) == 0 && ns <= 0)
		abort();
	if (q_parse_since(s, INT64_C(1800000000000000000), &ns) == 0 && ns < 0)
		abort();
	q_spec_init(&spec);
	if (q_spec_add_filter(&spec, s, size & 1, err, sizeof(err)) == 0) {
		if (spec.nfilters != 1 || !q_field_name(spec.filters[0].field))
			abort();
		if (q_spec_check(&spec, err, sizeof(err)) != 0)
			abort();
	} else if (!err[0]) {
		abort();	/* a refusal says why */
	}
	(void)q_field_parse(s);
	free(s);
	return 0;
}
