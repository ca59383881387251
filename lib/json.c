/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "json.h"
#include "hex.h"

/*
 * Eight bytes at a time: does this word hold a byte that ends a run of
 * plain string characters (a quote, a backslash, a control character or a
 * byte >= 0x80)? The has-less-than and has-zero-byte tricks are exact
 * here because every byte >= 0x80 is caught by the high-bit test anyway.
 */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/*
 * The bytes of word v (little-endian) that end a run of plain string
 * characters, as a mask with the high bit of each such byte set; 0 if none.
 * The has-zero-byte trick can flag a byte just above a true match (a
 * borrow), but never below the first one, so the lowest set bit is exact.
 */
static inline uint64_t word_special_mask(uint64_t v)
{
	uint64_t ctl = (v - ONES * 0x20) & ~v;
	uint64_t q = v ^ (ONES * '"');
	uint64_t bs = v ^ (ONES * '\\');

	q = (q - ONES) & ~q;
	bs = (bs - ONES) & ~bs;
	return (ctl | q | bs | v) & HIGHS;
}

size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;	/* continuation byte or overlong 2-byte lead */
	if (c < 0xe0) {
		if (avail < 2 || (p[1] & 0xc0) != 0x80)
			return 0;
		return 2;
	}
	if (c < 0xf0) {
		if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0;	/* overlong */
		if (c == 0xed && p[1] >= 0xa0)
			return 0;	/* UTF-16 surrogate encoded in UTF-8 */
		return 3;
	}
	if (c < 0xf5) {
		if (avail < 4 || (p[1] & 0xc0) != 0x80 ||
		    (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0;	/* overlong */
		if (c == 0xf4 && p[1] >= 0x90)
			return 0;	/* above U+10FFFF */
		return 4;
	}
	return 0;
}

static int fail(struct json_error *err, size_t off, const char *what)
{
	if (err) {
		err->offset = off;
		err->what = what;
	}
	return -EINVAL;
}

/* s[*pos] is the opening quote. */
int json_scan_string(const char *s, size_t len, size_t *pos,
		       bool *has_escape, struct json_error *err)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = *pos + 1;
	bool esc = false;

	for (;;) {
		while (i + 8 <= len) {
			uint64_t v, mask;

			memcpy(&v, s + i, 8);
			mask = word_special_mask(v);
			if (mask) {
				i += (size_t)__builtin_ctzll(mask) / 8;
				break;
			}
			i += 8;
		}
		if (i >= len)
			return fail(err, i, "unterminated string");
		unsigned char c = u[i];
		if (c == '"') {
			*pos = i + 1;
			if (has_escape)
				*has_escape = esc;
			return 0;
		}
		if (c == '\\') {
			esc = true;
			if (i + 1 >= len)
				return fail(err, i, "unterminated string");
			switch (s[i + 1]) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				i += 2;
				continue;
			case 'u':
				if (i + 6 > len)
					return fail(err, i, "truncated \\u escape");
				for (int k = 2; k < 6; k++)
					if (hex_digit(s[i + k]) < 0)
						return fail(err, i, "invalid \\u escape");
				i += 6;
				continue;
			default:
				return fail(err, i, "invalid escape in string");
			}
		}
		if (c < 0x20)
			return fail(err, i, "control character in string");
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n = utf8_seq_len(u + i, len - i);
		if (!n)
			return fail(err, i, "invalid UTF-8 in string");
		i += n;
	}
}

static int scan_number(const char *s, size_t len, size_t *pos,
		       struct json_error *err)
{
	size_t i = *pos;

	if (i < len && s[i] == '-')
		i++;
	if (i >= len)
		return fail(err, i, "truncated number");
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		return fail(err, i, "invalid number");
	}
	if (i < len && s[i] == '.') {
		i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return fail(err, i, "invalid number");
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return fail(err, i, "invalid number");
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	*pos = i;
	return 0;
}

static int scan_literal(const char *s, size_t len, size_t *pos,
			const char *lit, size_t n, struct json_error *err)
{
	if (len - *pos < n || memcmp(s + *pos, lit, n) != 0)
		return fail(err, *pos, "invalid literal");
	*pos += n;
	return 0;
}

/* A scalar value (not a container) at s[*pos]. */
static int scan_scalar(const char *s, size_t len, size_t *pos,
		       enum json_type *type, bool *has_escape,
		       struct json_error *err)
{
	if (*pos >= len)
		return fail(err, *pos, "unexpected end of input");
	switch (s[*pos]) {
	case '"':
		*type = JSON_STRING;
		return json_scan_string(s, len, pos, has_escape, err);
	case 'n':
		*type = JSON_NULL;
		return scan_literal(s, len, pos, "null", 4, err);
	case 't':
		*type = JSON_TRUE;
		return scan_literal(s, len, pos, "true", 4, err);
	case 'f':
		*type = JSON_FALSE;
		return scan_literal(s, len, pos, "false", 5, err);
	default:
		*type = JSON_NUMBER;
		return scan_number(s, len, pos, err);
	}
}

/*
 * Containers are walked iteratively with an explicit stack of one bit per
 * level (object or array), so hostile nesting cannot overflow the C stack.
 */
int json_scan_value(const char *s, size_t len, size_t *pos,
		    enum json_type *type, bool *has_escape,
		    struct json_error *err)
{
	uint64_t stack[JSON_MAX_DEPTH / 64];
	int depth = 0;
	size_t i = json_skip_ws(s, len, *pos);
	enum json_type t;

	if (has_escape)
		*has_escape = false;
	if (i < len && s[i] != '{' && s[i] != '[') {
		int r = scan_scalar(s, len, &i, &t, has_escape, err);
		if (r < 0)
			return r;
		*type = t;
		*pos = i;
		return 0;
	}
	if (i >= len)
		return fail(err, i, "unexpected end of input");
	*type = s[i] == '{' ? JSON_OBJECT : JSON_ARRAY;

	/* Each iteration: i is at the start of a value (after white space). */
	for (;;) {
		if (i >= len)
			return fail(err, i, "unexpected end of input");
		if (s[i] == '{' || s[i] == '[') {
			bool obj = s[i] == '{';

			if (depth >= JSON_MAX_DEPTH)
				return fail(err, i, "nesting too deep");
			if (obj)
				stack[depth / 64] |= 1ULL << (depth % 64);
			else
				stack[depth / 64] &= ~(1ULL << (depth % 64));
			depth++;
			i = json_skip_ws(s, len, i + 1);
			if (i < len && s[i] == (obj ? '}' : ']')) {
				i++;
				goto close_done;
			}
			if (obj)
				goto member_key;
			continue;
		}
		{
			bool dummy;
			int r = scan_scalar(s, len, &i, &t, &dummy, err);
			if (r < 0)
				return r;
		}
after_value:
		/* After a value inside the container at depth-1. */
		i = json_skip_ws(s, len, i);
		if (i >= len)
			return fail(err, i, "unexpected end of input");
		{
			bool obj = stack[(depth - 1) / 64] >> ((depth - 1) % 64) & 1;

			if (s[i] == ',') {
				i = json_skip_ws(s, len, i + 1);
				if (obj)
					goto member_key;
				continue;
			}
			if (s[i] != (obj ? '}' : ']'))
				return fail(err, i, obj ? "expected ',' or '}'"
							: "expected ',' or ']'");
			i++;
		}
close_done:
		depth--;
		if (depth == 0) {
			*pos = i;
			return 0;
		}
		goto after_value;
member_key:
		if (i >= len)
			return fail(err, i, "unexpected end of input");
		if (s[i] != '"')
			return fail(err, i, "expected a string key");
		{
			int r = json_scan_string(s, len, &i, NULL, err);
			if (r < 0)
				return r;
		}
		i = json_skip_ws(s, len, i);
		if (i >= len || s[i] != ':')
			return fail(err, i, "expected ':'");
		i = json_skip_ws(s, len, i + 1);
	}
}

bool json_array_next(const char *s, size_t len, size_t *pos, size_t *start,
		     size_t *end)
{
	size_t i = *pos ? *pos : 1;	/* past the '[' */
	enum json_type t;

	i = json_skip_ws(s, len, i);
	if (i < len && s[i] == ',')
		i = json_skip_ws(s, len, i + 1);
	if (i >= len || s[i] == ']')
		return false;
	*start = i;
	if (json_scan_value(s, len, &i, &t, NULL, NULL) < 0)
		return false;
	*end = i;
	*pos = i;
	return true;
}

static const char hexdig[] = "0123456789abcdef";

void json_put_str(struct buf *b, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0, run = 0;

	/* Worst case is 6 bytes out per byte in; reserve once. */
	if (buf_reserve(b, len + 2) < 0)
		return;
	buf_putc(b, '"');
	while (i < len) {
		unsigned char c = p[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			run++;
			continue;
		}
		if (c >= 0x80) {
			size_t n = utf8_seq_len(p + i, len - i);
			if (n) {
				i += n;
				run += n;
				continue;
			}
		}
		buf_append(b, p + i - run, run);
		run = 0;
		switch (c) {
		case '"': buf_append(b, "\\\"", 2); break;
		case '\\': buf_append(b, "\\\\", 2); break;
		case '\n': buf_append(b, "\\n", 2); break;
		case '\t': buf_append(b, "\\t", 2); break;
		case '\r': buf_append(b, "\\r", 2); break;
		case '\b': buf_append(b, "\\b", 2); break;
		case '\f': buf_append(b, "\\f", 2); break;
		default: {
			/* control character, or a byte of invalid UTF-8 */
			char e[6] = { '\\', 'u', c >= 0x80 ? 'd' : '0',
				      c >= 0x80 ? 'c' : '0',
				      hexdig[c >> 4], hexdig[c & 15] };
			buf_append(b, e, 6);
		}
		}
		i++;
	}
	buf_append(b, p + i - run, run);
	buf_putc(b, '"');
}

static unsigned hex4(const char *s)
{
	return (unsigned)(hex_digit(s[0]) << 12 | hex_digit(s[1]) << 8 |
			  hex_digit(s[2]) << 4 | hex_digit(s[3]));
}

static size_t put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t json_unescape(const char *raw, size_t raw_len, char *out)
{
	size_t i = 0, o = 0;

	while (i < raw_len) {
		char c = raw[i];

		if (c != '\\') {
			out[o++] = c;
			i++;
			continue;
		}
		c = raw[i + 1];
		i += 2;
		switch (c) {
		case 'b': out[o++] = '\b'; continue;
		case 'f': out[o++] = '\f'; continue;
		case 'n': out[o++] = '\n'; continue;
		case 'r': out[o++] = '\r'; continue;
		case 't': out[o++] = '\t'; continue;
		case 'u': break;
		default: out[o++] = c; continue;	/* " \ / */
		}
		unsigned cp = hex4(raw + i);
		i += 4;
		if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= raw_len &&
		    raw[i] == '\\' && raw[i + 1] == 'u') {
			unsigned lo = hex4(raw + i + 2);
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
				o += put_utf8(out + o, cp);
				continue;
			}
		}
		if (cp >= 0xdc80 && cp <= 0xdcff) {
			out[o++] = (char)(cp & 0xff);	/* an escaped raw byte */
			continue;
		}
		if (cp >= 0xd800 && cp < 0xe000)
			cp = 0xfffd;
		/* 6 escape bytes in, at most 3 out: out never outruns raw. */
		o += put_utf8(out + o, cp);
	}
	return o;
}

int json_number_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (len == 0)
		return -EINVAL;
	for (; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';
		if (d > 9)
			return -EINVAL;	/* a fraction, exponent or sign */
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int json_number_i64(const char *s, size_t len, int64_t *out)
{
	uint64_t v;
	int r;

	if (len > 0 && s[0] == '-') {
		r = json_number_u64(s + 1, len - 1, &v);
		if (r < 0)
			return r;
		if (v > (uint64_t)INT64_MAX + 1)
			return -ERANGE;
		*out = (int64_t)(0 - v);
		return 0;
	}
	r = json_number_u64(s, len, &v);
	if (r < 0)
		return r;
	if (v > INT64_MAX)
		return -ERANGE;
	*out = (int64_t)v;
	return 0;
}
