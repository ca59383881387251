// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "params.h"

enum {
	P_RANGE = 1 << 0, P_FROM = 1 << 1, P_UNTIL = 1 << 2, P_GROUP = 1 << 3,
	P_FIELD = 1 << 4, P_VALUE = 1 << 5, P_TOP = 1 << 7,
	P_LIMIT = 1 << 8, P_BUCKET = 1 << 9,
};

static const struct {
	const char *name;
	uint64_t s;
} ranges[] = {
	{ "1m", 60 }, { "5m", 300 }, { "15m", 900 }, { "1h", 3600 },
	{ "6h", 6 * 3600 }, { "1d", 86400 }, { "7d", 7 * 86400 },
	{ "30d", 30 * 86400 }, { "1y", 365 * 86400 },
};

int web_range_seconds(const char *s, uint64_t *out, bool *all)
{
	size_t i;

	*all = false;
	if (!strcmp(s, "all")) {
		*all = true;
		*out = 0;
		return 0;
	}
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (!strcmp(s, ranges[i].name)) {
			*out = ranges[i].s;
			return 0;
		}
	return -EINVAL;
}

/* Decode [s, s+n) into out (room for n+1); -EINVAL on a bad escape or NUL. */
static int url_decode(const char *s, size_t n, char *out, size_t *outlen)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3 || (hi = hex_digit(s[i + 1])) < 0 || (lo = hex_digit(s[i + 2])) < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			return -EINVAL;
		out[o++] = c;
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

static int parse_num(const char *s, int64_t min, int64_t max, int64_t *out)
{
	int64_t v = 0;
	bool neg = false;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (!*s || strlen(s) > 18)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (*s - '0');
	}
	if (neg)
		v = -v;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* A field name: [a-z0-9_], 1..32 bytes; which names exist is the caller's. */
static bool field_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

#define FAIL(name, ...) do { \
	snprintf(bad, badlen, "%s", name); \
	snprintf(err, errlen, __VA_ARGS__); \
	return -EINVAL; \
} while (0)

/* f=FIELD:VALUE, a filter; x=FIELD:VALUE, an exclusion. */
static int take_filter(struct web_params *p, const char *key, const char *val,
		       char *bad, size_t badlen, char *err, size_t errlen)
{
	char *colon = strchr(val, ':');
	struct web_filter *f;

	if (p->nfilters >= WEB_MAX_FILTERS)
		FAIL(key, "at most %d filters and exclusions", WEB_MAX_FILTERS);
	if (!colon)
		FAIL(key, "expected FIELD:VALUE");
	*colon = '\0';
	if (!field_name_ok(val))
		FAIL(key, "'%.32s' is not a field name", val);
	f = &p->filters[p->nfilters++];
	f->field = val;
	f->value = colon + 1;
	f->exclude = key[0] == 'x';
	return 0;
}

static int take_one(struct web_params *p, const char *key, const char *val,
		    char *bad, size_t badlen, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		unsigned bit;
	} single[] = {
		{ "range", P_RANGE }, { "from", P_FROM }, { "until", P_UNTIL },
		{ "group", P_GROUP }, { "field", P_FIELD }, { "value", P_VALUE },
		{ "top", P_TOP }, { "limit", P_LIMIT },
		{ "bucket", P_BUCKET },
	};
	unsigned bit = 0;
	int64_t n;
	size_t i;

	if (!strcmp(key, "f") || !strcmp(key, "x"))
		return take_filter(p, key, val, bad, badlen, err, errlen);
	for (i = 0; i < sizeof(single) / sizeof(single[0]); i++)
		if (!strcmp(key, single[i].name))
			bit = single[i].bit;
	if (!bit)
		FAIL(key, "unknown parameter");
	if (p->seen & bit)
		FAIL(key, "given twice");
	p->seen |= bit;

	switch (bit) {
	case P_RANGE:
		if (web_range_seconds(val, &p->range_s, &p->range_all) < 0)
			FAIL(key, "expected one of 1m, 5m, 15m, 1h, 6h, 1d, 7d, 30d, 1y, all");
		p->has_range = true;
		break;
	case P_FROM:
	case P_UNTIL:
		/* seconds since the epoch, from 1970 to 9999 */
		if (parse_num(val, 0, 253402300799LL, &n) < 0)
			FAIL(key, "expected seconds since the epoch");
		if (bit == P_FROM) {
			p->from_s = n;
			p->has_from = true;
		} else {
			p->until_s = n;
			p->has_until = true;
		}
		break;
	case P_GROUP:
	case P_FIELD:
		if (!field_name_ok(val))
			FAIL(key, "'%.32s' is not a field name", val);
		if (bit == P_GROUP)
			p->group = val;
		else
			p->field = val;
		break;
	case P_VALUE:
		p->value = val;
		break;
	case P_TOP:
		if (parse_num(val, 1, WEB_MAX_TOP, &n) < 0)
			FAIL(key, "expected a number from 1 to %d", WEB_MAX_TOP);
		p->top = (unsigned)n;
		break;
	case P_LIMIT:
		if (parse_num(val, 1, WEB_MAX_LIMIT, &n) < 0)
			FAIL(key, "expected a number from 1 to %d", WEB_MAX_LIMIT);
		p->limit = (unsigned)n;
		break;
	case P_BUCKET:
		/* a second to a week */
		if (parse_num(val, 1, 7 * 86400, &n) < 0)
			FAIL(key, "expected seconds from 1 to 604800");
		p->bucket_s = (uint64_t)n;
		break;
	}
	return 0;
}

int web_params_parse(const char *qs, size_t len, struct web_params *p,
		     char *bad, size_t badlen, char *err, size_t errlen)
{
	size_t pos = 0, out = 0;
	int ret;

	memset(p, 0, sizeof(*p));
	if (badlen)
		bad[0] = '\0';
	if (errlen)
		err[0] = '\0';
	if (!qs)
		len = 0;
	if (len > WEB_MAX_QUERY)
		FAIL("", "the query string is longer than %d bytes", WEB_MAX_QUERY);
	/* each pair decodes to at most its own length plus two NULs */
	p->storage = malloc(2 * len + 2);
	if (!p->storage)
		FAIL("", "out of memory");

	while (pos < len) {
		const char *pair = qs + pos, *amp, *eq;
		size_t plen, klen, vlen, kout, vout;
		char *key, *val;

		amp = memchr(pair, '&', len - pos);
		plen = amp ? (size_t)(amp - pair) : len - pos;
		pos += plen + 1;
		if (plen == 0)
			continue;
		eq = memchr(pair, '=', plen);
		klen = eq ? (size_t)(eq - pair) : plen;
		vlen = eq ? plen - klen - 1 : 0;

		key = p->storage + out;
		/* a name is [a-z0-9_]: whatever else is named as it came, printable */
		if (url_decode(pair, klen, key, &kout) < 0 || !field_name_ok(key)) {
			char k[40];
			size_t i, n = klen < 32 ? klen : 32;

			for (i = 0; i < n; i++)
				k[i] = (pair[i] >= 0x20 && pair[i] < 0x7f) ? pair[i] : '?';
			k[n] = '\0';
			FAIL(k, "not a parameter name");
		}
		out += kout + 1;
		val = p->storage + out;
		if (url_decode(eq ? eq + 1 : pair, vlen, val, &vout) < 0)
			FAIL(key, "a bad %%-escape or a NUL byte in its value");
		if (vout > WEB_MAX_VALUE)
			FAIL(key, "longer than %d bytes", WEB_MAX_VALUE);
		out += vout + 1;
		if ((ret = take_one(p, key, val, bad, badlen, err, errlen)) < 0)
			return ret;
	}
	if (p->has_range && (p->has_from || p->has_until))
		FAIL("range", "give either range or from/until, not both");
	if (p->has_from && p->has_until && p->from_s >= p->until_s)
		FAIL("until", "must be later than from");
	return 0;
}

void web_params_release(struct web_params *p)
{
	free(p->storage);
	p->storage = NULL;
}
