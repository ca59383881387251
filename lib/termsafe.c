/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "termsafe.h"

static const char hex[] = "0123456789abcdef";

/* Invisible characters that move text around: shown by their number. */
static int hidden_mover(uint32_t c)
{
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	       c == 0x200e || c == 0x200f || c == 0x061c || c == 0x2028 || c == 0x2029;
}

static uint32_t utf8_decode(const unsigned char *p, size_t n)
{
	switch (n) {
	case 2:
		return (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	case 3:
		return (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
	case 4:
		return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
		       (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	}
	return p[0];
}

/* One shown unit for the bytes at p: its text in out (<= 7 bytes), the bytes used. */
static size_t one(const unsigned char *p, size_t avail, char out[8], size_t *outlen)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;

	if (c >= 0x20 && c < 0x7f) {
		if (c == '\\') {
			memcpy(out, "\\\\", 2);
			*outlen = 2;
		} else {
			out[0] = (char)c;
			*outlen = 1;
		}
		return 1;
	}
	if (c < 0x80) {
		const char *e = c == 0x1b ? "\\e" : c == '\t' ? "\\t" : c == '\n' ? "\\n" :
				c == '\r' ? "\\r" : NULL;

		if (e) {
			memcpy(out, e, 2);
			*outlen = 2;
		} else {
			out[0] = '\\', out[1] = 'x', out[2] = hex[c >> 4], out[3] = hex[c & 15];
			*outlen = 4;
		}
		return 1;
	}
	n = utf8_seq_len(p, avail);
	if (!n) {
		memcpy(out, "\xef\xbf\xbd", 3);		/* U+FFFD */
		*outlen = 3;
		return 1;
	}
	cp = utf8_decode(p, n);
	if (cp >= 0x80 && cp <= 0x9f) {
		out[0] = '\\', out[1] = 'x', out[2] = hex[cp >> 4], out[3] = hex[cp & 15];
		*outlen = 4;
	} else if (hidden_mover(cp)) {
		out[0] = '\\', out[1] = 'u';
		for (int i = 0; i < 4; i++)
			out[2 + i] = hex[(cp >> (12 - 4 * i)) & 15];
		*outlen = 6;
	} else {
		memcpy(out, p, n);
		*outlen = n;
	}
	return n;
}

void termsafe_append(struct buf *out, const void *s, size_t len)
{
	const unsigned char *p = s, *end = p + len;

	while (p < end) {
		const unsigned char *run = p;
		char unit[8];
		size_t ulen;

		/* printable ASCII other than '\\' goes on in runs */
		while (p < end && *p >= 0x20 && *p < 0x7f && *p != '\\')
			p++;
		if (p > run)
			buf_append(out, run, (size_t)(p - run));
		if (p == end)
			break;
		p += one(p, (size_t)(end - p), unit, &ulen);
		buf_append(out, unit, ulen);
	}
}

char *termsafe_str(char *out, size_t size, const void *s, size_t len)
{
	const unsigned char *p = s, *end = p + len;
	size_t o = 0;

	if (!size)
		return out;
	while (p < end) {
		char unit[8];
		size_t ulen, used = one(p, (size_t)(end - p), unit, &ulen);

		if (o + ulen > size - 1)
			break;
		memcpy(out + o, unit, ulen);
		o += ulen;
		p += used;
	}
	out[o] = '\0';
	return out;
}

static void put_u_escape(struct buf *out, uint32_t c)
{
	char e[6] = { '\\', 'u' };

	for (int i = 0; i < 4; i++)
		e[2 + i] = hex[(c >> (12 - 4 * i)) & 15];
	buf_append(out, e, 6);
}

void termsafe_json(struct buf *out, const void *s, size_t len)
{
	const unsigned char *p = s, *end = p + len;

	while (p < end) {
		const unsigned char *run = p;
		size_t n;
		uint32_t c;

		while (p < end && *p >= 0x20 && *p < 0x7f)
			p++;
		if (p > run)
			buf_append(out, run, (size_t)(p - run));
		if (p == end)
			break;
		if (*p < 0x80) {
			put_u_escape(out, *p++);
			continue;
		}
		n = utf8_seq_len(p, (size_t)(end - p));
		if (!n) {
			put_u_escape(out, 0xfffd);
			p++;
			continue;
		}
		c = utf8_decode(p, n);
		if ((c >= 0x80 && c <= 0x9f) || hidden_mover(c))
			put_u_escape(out, c);
		else
			buf_append(out, p, n);
		p += n;
	}
}
