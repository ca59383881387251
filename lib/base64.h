/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_BASE64_H
#define SNITCH_BASE64_H

#include <stddef.h>

#include "buf.h"

/* Bytes that n characters of base64 decode to, at most. */
#define BASE64_DECODED_MAX(n) ((n) / 4 * 3)

/* Append the base64 (RFC 4648 section 4, padded) of n bytes to b. */
void base64_put(struct buf *b, const void *data, size_t n);

/*
 * Decode n characters of padded base64 into out, which holds at least
 * BASE64_DECODED_MAX(n) bytes. Strict: no whitespace, no characters
 * outside the alphabet, padding only at the end, unused bits zero.
 * Returns the number of bytes, or -EINVAL.
 */
long base64_decode(const char *s, size_t n, unsigned char *out);

#endif
