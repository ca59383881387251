/* SPDX-License-Identifier: MIT */
/*
 * A QUIC version 1 client Initial packet as a client seals it (RFC 9000
 * §17.2.2, RFC 9001 §5), for the tests of snitch-resolve's reader
 * (cmd/snitch-resolve/quic.c): a ClientHello naming a host, in CRYPTO
 * frames, padded to 1200 bytes, encrypted and header-protected with the
 * keys of the destination connection ID. The keys come from quic.c's
 * quic_initial_keys(), which the unit test checks against RFC 9001's
 * Appendix A.
 */
#ifndef SNITCH_TESTS_QUICSEAL_H
#define SNITCH_TESTS_QUICSEAL_H

#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "quic.h"

/* A TLS 1.3 ClientHello handshake message naming host (no record header). */
static inline size_t qs_client_hello(uint8_t *o, const char *host)
{
	size_t hl = strlen(host), n = 0, ext_at, body_at;

	o[n++] = 1;			/* ClientHello */
	n += 3;				/* its length, below */
	body_at = n;
	o[n++] = 3, o[n++] = 3;		/* legacy_version */
	for (int i = 0; i < 32; i++)
		o[n++] = (uint8_t)(0x11 * i);	/* random */
	o[n++] = 0;			/* session id */
	o[n++] = 0, o[n++] = 6;		/* cipher suites */
	o[n++] = 0x13, o[n++] = 0x01, o[n++] = 0x13, o[n++] = 0x02, o[n++] = 0x13, o[n++] = 0x03;
	o[n++] = 1, o[n++] = 0;		/* compression: null */
	ext_at = n;
	n += 2;
	/* supported_versions (43): TLS 1.3, before the name, as browsers mix them */
	o[n++] = 0, o[n++] = 43, o[n++] = 0, o[n++] = 3, o[n++] = 2, o[n++] = 3, o[n++] = 4;
	/* server_name (0): list of one host_name */
	o[n++] = 0, o[n++] = 0;
	o[n++] = (uint8_t)((hl + 5) >> 8), o[n++] = (uint8_t)(hl + 5);
	o[n++] = (uint8_t)((hl + 3) >> 8), o[n++] = (uint8_t)(hl + 3);
	o[n++] = 0;
	o[n++] = (uint8_t)(hl >> 8), o[n++] = (uint8_t)hl;
	memcpy(o + n, host, hl);
	n += hl;
	/* quic_transport_parameters (57), a few bytes of filler */
	o[n++] = 0, o[n++] = 57, o[n++] = 0, o[n++] = 4, o[n++] = 1, o[n++] = 2, o[n++] = 0x40, o[n++] = 0x64;
	o[ext_at] = (uint8_t)((n - ext_at - 2) >> 8);
	o[ext_at + 1] = (uint8_t)(n - ext_at - 2);
	o[1] = (uint8_t)((n - body_at) >> 16);
	o[2] = (uint8_t)((n - body_at) >> 8);
	o[3] = (uint8_t)(n - body_at);
	return n;
}

/* A CRYPTO frame of data at offset (2-byte varints: both < 16384). */
static inline size_t qs_crypto_frame(uint8_t *o, size_t offset, const uint8_t *data, size_t len)
{
	o[0] = 0x06;
	o[1] = (uint8_t)(0x40 | offset >> 8), o[2] = (uint8_t)offset;
	o[3] = (uint8_t)(0x40 | len >> 8), o[4] = (uint8_t)len;
	memcpy(o + 5, data, len);
	return 5 + len;
}

/*
 * The Initial packet of frames (padded to a 1200-byte datagram) into pkt
 * (at least 1300 bytes), sealed for dcid; its length, or 0.
 */
static inline size_t qs_seal(uint8_t *pkt, const uint8_t *dcid, size_t dcid_len,
			     const uint8_t *frames, size_t flen, uint32_t pn)
{
	struct quic_keys k;
	uint8_t nonce[12], mask[5];
	size_t n = 0, pn_off, plen, length;
	EVP_CIPHER_CTX *c;
	int m = 0, ok;

	if (quic_initial_keys(dcid, dcid_len, &k) < 0 || flen > 1100)
		return 0;
	pkt[n++] = 0xc3;		/* long header, Initial, 4-byte packet number */
	pkt[n++] = 0, pkt[n++] = 0, pkt[n++] = 0, pkt[n++] = 1;
	pkt[n++] = (uint8_t)dcid_len;
	memcpy(pkt + n, dcid, dcid_len);
	n += dcid_len;
	pkt[n++] = 0;			/* source connection id */
	pkt[n++] = 0;			/* token */
	/* the rest: packet number, payload padded to 1200 bytes in all, tag */
	plen = 1200 - (n + 2 + 4 + 16);
	length = 4 + plen + 16;
	pkt[n++] = (uint8_t)(0x40 | length >> 8), pkt[n++] = (uint8_t)length;
	pn_off = n;
	pkt[n++] = (uint8_t)(pn >> 24), pkt[n++] = (uint8_t)(pn >> 16);
	pkt[n++] = (uint8_t)(pn >> 8), pkt[n++] = (uint8_t)pn;
	memcpy(nonce, k.iv, 12);
	for (int i = 0; i < 4; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	{
		uint8_t plain[1200] = { 0 };	/* PADDING frames after the frames */

		memcpy(plain, frames, flen);
		if (!(c = EVP_CIPHER_CTX_new()))
			return 0;
		ok = EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL) &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
		     EVP_EncryptInit_ex(c, NULL, NULL, k.key, nonce) &&
		     EVP_EncryptUpdate(c, NULL, &m, pkt, (int)n) &&
		     EVP_EncryptUpdate(c, pkt + n, &m, plain, (int)plen) && (size_t)m == plen &&
		     EVP_EncryptFinal_ex(c, pkt + n + plen, &m) &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, pkt + n + plen);
		EVP_CIPHER_CTX_free(c);
		if (!ok)
			return 0;
	}
	n += plen + 16;
	/* header protection: the first byte's low 4 bits, the packet number */
	if (quic_hp_mask(k.hp, pkt + pn_off + 4, mask) < 0)
		return 0;
	pkt[0] ^= mask[0] & 0x0f;
	for (int i = 0; i < 4; i++)
		pkt[pn_off + i] ^= mask[1 + i];
	return n;
}

#endif
