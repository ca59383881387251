/* SPDX-License-Identifier: MIT */
/*
 * The TLS ClientHello bytes a QUIC client's Initial packet carries. The
 * Initial packets of QUIC version 1 are protected with keys anyone can
 * derive from the packet's own destination connection ID (RFC 9001 §5.2),
 * so the server name they carry is as visible as a TLS ClientHello's over
 * TCP. The bytes come from anyone's traffic: this runs unprivileged and
 * reads nothing past the buffer (tests/fuzz/fuzz_quic.c).
 */
#ifndef SNITCH_RESOLVE_QUIC_H
#define SNITCH_RESOLVE_QUIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUIC_CID_MAX 20		/* RFC 9000 §17.2: a connection ID of version 1 */
#define QUIC_CRYPTO_MAX 4096	/* CRYPTO bytes kept from one packet */

enum quic_status {
	QUIC_OK,		/* out holds the CRYPTO stream from offset 0 */
	QUIC_NOT_INITIAL,	/* not a long-header Initial packet of version 1 */
	QUIC_CUT,		/* the copy ends before the payload could be read */
	QUIC_MALFORMED,		/* a length out of its field, a frame not allowed, or the tag did not verify */
};

/* The client's Initial keys for a destination connection ID (RFC 9001 §5.2). */
struct quic_keys {
	uint8_t key[16], iv[12], hp[16];
};

int quic_initial_keys(const uint8_t *dcid, size_t dcid_len, struct quic_keys *k);

/* The 5 bytes of header protection mask for a 16-byte sample (AES-128-ECB). */
int quic_hp_mask(const uint8_t hp[16], const uint8_t sample[16], uint8_t mask[5]);

/*
 * The CRYPTO stream's bytes from offset 0, as far as they are contiguous,
 * that the frames of a decrypted Initial payload carry: into out (at most
 * outsize), their count in *len. The frames may come in any order.
 */
enum quic_status quic_frames_crypto(const uint8_t *p, size_t n, uint8_t *out, size_t outsize,
				    size_t *len);

/*
 * The same from a client's Initial packet as sent (a UDP payload, maybe
 * cut short by the kernel's copy: then the payload is read without its
 * authentication tag, which only says no one changed it).
 */
enum quic_status quic_initial_crypto(const uint8_t *pkt, size_t n, uint8_t *out, size_t outsize,
				     size_t *len);

/* "ok", "not_initial", "cut", "malformed". */
const char *quic_status_name(enum quic_status s);

#endif
