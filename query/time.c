/* SPDX-License-Identifier: MIT */
/* Durations and times of a query's range (query.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query.h"

#define NS INT64_C(1000000000)

int q_parse_duration(const char *s, int64_t *ns)
{
	static const struct { char c; int64_t ns; } units[] = {
		{ 's', NS }, { 'm', 60 * NS }, { 'h', 3600 * NS }, { 'd', 86400 * NS },
		{ 'w', 7 * 86400 * NS }, { 'y', 365 * 86400 * NS },
	};
	char *end;
	unsigned long long n;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end[0] == '\0' || end[1] != '\0' || n == 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (units[i].c != end[0])
			continue;
		if (n > (unsigned long long)(INT64_MAX / units[i].ns))
			return -EINVAL;
		*ns = (int64_t)n * units[i].ns;
		return 0;
	}
	return -EINVAL;
}

int q_parse_since(const char *s, int64_t now_ns, int64_t *from_ns)
{
	int64_t d;

	if (s && !strcmp(s, "all")) {
		*from_ns = 0;
		return 0;
	}
	if (q_parse_duration(s, &d) < 0)
		return -EINVAL;
	*from_ns = d >= now_ns ? 0 : now_ns - d;
	return 0;
}

/* n digits at *p, as a number in [lo, hi]; advances *p. */
static int digits(const char **p, int n, int lo, int hi, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	if (v < lo || v > hi)
		return -EINVAL;
	*p += n;
	*out = v;
	return 0;
}

static int parse_iso(const char *s, int64_t *ns)
{
	struct tm tm = { 0 };
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	time_t t;

	if (digits(&p, 4, 1970, 9999, &y) < 0 || *p++ != '-' ||
	    digits(&p, 2, 1, 12, &mo) < 0 || *p++ != '-' || digits(&p, 2, 1, 31, &d) < 0)
		return -EINVAL;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (digits(&p, 2, 0, 23, &h) < 0 || *p++ != ':' || digits(&p, 2, 0, 59, &mi) < 0)
			return -EINVAL;
		if (*p == ':' && (p++, digits(&p, 2, 0, 60, &sec) < 0))
			return -EINVAL;
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '+' ? 1 : -1;
			if (digits(&p, 2, 0, 23, &oh) < 0 || *p++ != ':' || digits(&p, 2, 0, 59, &om) < 0)
				return -EINVAL;
		}
	}
	if (*p)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises Feb 31: a date that moved was not a date */
	if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1)
		return -EINVAL;
	t -= sign * (oh * 3600 + om * 60);
	/* in ns, an int64 reaches 2262 */
	if (t < 0 || t > INT64_MAX / NS)
		return -EINVAL;
	*ns = (int64_t)t * NS;
	return 0;
}

int q_parse_time(const char *s, int64_t *ns)
{
	const char *p = s;
	int64_t sec = 0, frac = 0, scale = NS;

	if (!s || !*s)
		return -EINVAL;
	if (strchr(s, '-'))
		return parse_iso(s, ns);
	/* seconds since the epoch, with an optional fraction */
	for (; isdigit((unsigned char)*p); p++) {
		if (sec > (INT64_MAX / NS - 9) / 10)
			return -EINVAL;
		sec = sec * 10 + (*p - '0');
	}
	if (p == s)
		return -EINVAL;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		}
	}
	if (*p)
		return -EINVAL;
	*ns = sec * NS + frac;
	return 0;
}
