/* SPDX-License-Identifier: MIT */
/*
 * Base64 (RFC 4648): snitch-trace passes captured DNS messages on as
 * text in its dns records, and snitch-resolve decodes them.
 */
#include <errno.h>
#include <stdbool.h>

#include "base64.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_put(struct buf *b, const void *data, size_t n)
{
	const unsigned char *p = data;
	char q[4];

	for (; n >= 3; p += 3, n -= 3) {
		q[0] = alphabet[p[0] >> 2];
		q[1] = alphabet[(p[0] & 3) << 4 | p[1] >> 4];
		q[2] = alphabet[(p[1] & 15) << 2 | p[2] >> 6];
		q[3] = alphabet[p[2] & 63];
		buf_append(b, q, 4);
	}
	if (n) {
		q[0] = alphabet[p[0] >> 2];
		q[1] = alphabet[(p[0] & 3) << 4 | (n > 1 ? p[1] >> 4 : 0)];
		q[2] = n > 1 ? alphabet[(p[1] & 15) << 2] : '=';
		q[3] = '=';
		buf_append(b, q, 4);
	}
}

static int value_of(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long base64_decode(const char *s, size_t n, unsigned char *out)
{
	size_t len = 0;

	if (n % 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		bool last = i + 4 == n;

		for (int k = 0; k < 4; k++) {
			v[k] = value_of(s[i + k]);
			if (v[k] >= 0 && !pad)
				continue;
			/* '=' only in the last two places of the last group */
			if (s[i + k] != '=' || !last || k < 2)
				return -EINVAL;
			pad++;
			v[k] = 0;
		}
		out[len++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad == 2) {
			if (v[1] & 15)
				return -EINVAL;	/* not the encoding of any bytes */
			break;
		}
		out[len++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad == 1) {
			if (v[2] & 3)
				return -EINVAL;
			break;
		}
		out[len++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	return (long)len;
}
