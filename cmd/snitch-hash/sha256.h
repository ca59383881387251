/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_SHA256_H
#define SNITCH_SHA256_H

#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

/*
 * sha256 of everything readable from fd, from its current offset to its
 * end. Returns 0 with the digest and the byte count, or a negative errno.
 * Large regular files are read ahead by a second thread (see sha256.c).
 */
int sha256_fd(int fd, unsigned char digest[SHA256_LEN], uint64_t *nbytes);

/* Lowercase hex, NUL-terminated. */
void sha256_hex(const unsigned char digest[SHA256_LEN],
		char hex[SHA256_HEX_LEN + 1]);

#endif
