/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_WEB_PARAMS_H
#define SNITCH_WEB_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The query string of an API request, parsed and checked. It comes from
 * whoever can reach the listener, so the parser takes any bytes: every
 * value is percent-decoded into one owned copy, bounded in length and
 * count, and a parameter that is unknown, repeated (where it may not be)
 * or malformed is an error naming it (tests/fuzz/fuzz_webparams.c).
 */

#define WEB_MAX_QUERY 8192	/* bytes of query string taken at all */
#define WEB_MAX_FILTERS 16	/* f= and x= together */
#define WEB_MAX_VALUE 1024	/* bytes of one decoded value */
#define WEB_MAX_TOP 50
#define WEB_MAX_LIMIT 1000


struct web_filter {
	const char *field;	/* not checked against the fields here */
	const char *value;
	bool exclude;
};

struct web_params {
	char *storage;		/* the decoded values, NUL-separated */
	/* time: range (seconds back from now; 0 with range_all) or from/until */
	uint64_t range_s;
	bool range_all;
	bool has_range, has_from, has_until;
	int64_t from_s, until_s;	/* seconds since the epoch */
	const char *group;	/* group=FIELD */
	const char *field;	/* field=FIELD (values, drill) */
	const char *value;	/* value=V (drill) */
	unsigned top;		/* top=N, 1..WEB_MAX_TOP; 0 when absent */
	unsigned limit;		/* limit=N, 1..WEB_MAX_LIMIT; 0 when absent */
	uint64_t bucket_s;	/* bucket=S; 0 when absent (chosen from the range) */
	struct web_filter filters[WEB_MAX_FILTERS];
	unsigned nfilters;
	unsigned seen;		/* bit per single-valued parameter */
};

/*
 * Parse the query string qs (without '?'; may be NULL) into *p. Returns 0,
 * or -EINVAL with the offending parameter's name in bad (NUL-terminated,
 * cut to badlen) and a sentence in err. *p must be released either way.
 */
int web_params_parse(const char *qs, size_t len, struct web_params *p,
		     char *bad, size_t badlen, char *err, size_t errlen);
void web_params_release(struct web_params *p);

/* "1h" -> 3600 for the ranges the UI offers; -EINVAL otherwise. */
int web_range_seconds(const char *s, uint64_t *out, bool *all);

#endif
