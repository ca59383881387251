/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for snitch-resolve's QUIC Initial reader
 * (cmd/snitch-resolve/quic.c) and the ClientHello parser behind it
 * (hello.c). The first byte picks what the rest is: even, a UDP payload
 * as a client sent it (whole and cut at a length the rest's first byte
 * picks); odd, the plaintext frames of an Initial, sealed here with the
 * keys of a fixed connection ID (tests/bin/quicseal.h) so that the frame
 * and ClientHello parsers are reached past the authentication tag, and
 * also read as frames directly. Seeds: tests/fuzz/quic/. Invariants: no
 * crash or undefined behaviour; a name is found only with the QUIC kind,
 * lowercase, at most 253 characters; the CRYPTO bytes never exceed their
 * buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "../bin/quicseal.h"
#include "hello.h"
#include "quic.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check(const struct hello *h, enum hello_status s)
{
	size_t n = strnlen(h->name, sizeof(h->name));

	if (s != h->status || n > HELLO_NAME_MAX)
		abort();
	if (s == HELLO_FOUND) {
		if (h->kind != HELLO_QUIC || n == 0)
			abort();
		for (size_t i = 0; i < n; i++)
			if (h->name[i] >= 'A' && h->name[i] <= 'Z')
				abort();
	} else if (n != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const uint8_t dcid[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t crypto[QUIC_CRYPTO_MAX], pkt[1300];
	struct hello h;
	size_t len = 0, n;

	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		check(&h, hello_parse_quic(data + 1, size - 1, &h));
		if (size > 2) {
			n = data[1] * (size - 1) / 256;
			check(&h, hello_parse_quic(data + 1, n, &h));
		}
		return 0;
	}
	if (quic_frames_crypto(data + 1, size - 1, crypto, sizeof(crypto), &len) == QUIC_OK &&
	    len > sizeof(crypto))
		abort();
	if (size - 1 <= 1100 && (n = qs_seal(pkt, dcid, sizeof(dcid), data + 1, size - 1, 0)) > 0)
		check(&h, hello_parse_quic(pkt, n, &h));
	return 0;
}
