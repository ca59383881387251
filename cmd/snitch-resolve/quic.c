/* SPDX-License-Identifier: MIT */
/*
 * A QUIC version 1 client Initial packet, opened (quic.h).
 *
 * RFC 9000 §17.2.2: a long header (form and fixed bits set, type 0),
 * version, destination and source connection IDs, a token, the length of
 * the rest, then the packet number and payload, both protected. RFC 9001
 * §5.2: the client's keys are HKDF-Expand-Label of HKDF-Extract(the
 * version's salt, destination connection ID) with "client in", then "quic
 * key", "quic iv", "quic hp"; §5.4: the header protection mask is AES-ECB
 * of 16 bytes sampled 4 bytes after the packet number's start; §5.3: the
 * payload is AES-128-GCM with the IV XORed with the packet number and the
 * header as associated data. The frames (RFC 9000 §19) an Initial may
 * carry: PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "quic.h"

#define QUIC_V1 0x00000001u

/* RFC 9001 §5.2 */
static const uint8_t initial_salt_v1[20] = {
	0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
};

/* HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, for at most 32 bytes. */
static int expand_label(const uint8_t secret[32], const char *label, uint8_t *out, size_t len)
{
	uint8_t info[2 + 1 + 6 + 32 + 1 + 1], t[32];
	size_t ll = strlen(label), n = 0;
	unsigned tl = 0;

	if (ll > 32 || len > 32)
		return -1;
	info[n++] = (uint8_t)(len >> 8);
	info[n++] = (uint8_t)len;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0;		/* context */
	info[n++] = 1;		/* HKDF-Expand's counter: one block is enough */
	if (!HMAC(EVP_sha256(), secret, 32, info, n, t, &tl) || tl != 32)
		return -1;
	memcpy(out, t, len);
	return 0;
}

int quic_initial_keys(const uint8_t *dcid, size_t dcid_len, struct quic_keys *k)
{
	uint8_t initial[32], client[32];
	unsigned l = 0;

	if (!HMAC(EVP_sha256(), initial_salt_v1, sizeof(initial_salt_v1), dcid, dcid_len, initial, &l) ||
	    l != 32 || expand_label(initial, "client in", client, 32) < 0 ||
	    expand_label(client, "quic key", k->key, 16) < 0 ||
	    expand_label(client, "quic iv", k->iv, 12) < 0 ||
	    expand_label(client, "quic hp", k->hp, 16) < 0)
		return -1;
	return 0;
}

int quic_hp_mask(const uint8_t hp[16], const uint8_t sample[16], uint8_t mask[5])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t out[32];
	int n = 0, ok;

	if (!c)
		return -1;
	ok = EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, hp, NULL) &&
	     EVP_CIPHER_CTX_set_padding(c, 0) && EVP_EncryptUpdate(c, out, &n, sample, 16) && n == 16;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return -1;
	memcpy(mask, out, 5);
	return 0;
}

/* A bounded reader, as hello.c's: every read checks what is left. */
struct rd {
	const uint8_t *p;
	size_t n;
};

static bool varint(struct rd *r, uint64_t *v)
{
	size_t len;

	if (r->n < 1)
		return false;
	len = (size_t)1 << (r->p[0] >> 6);
	if (r->n < len)
		return false;
	*v = r->p[0] & 0x3f;
	for (size_t i = 1; i < len; i++)
		*v = *v << 8 | r->p[i];
	r->p += len;
	r->n -= len;
	return true;
}

static bool skip(struct rd *r, uint64_t k)
{
	if (k > r->n)
		return false;
	r->p += k;
	r->n -= (size_t)k;
	return true;
}

enum quic_status quic_frames_crypto(const uint8_t *p, size_t n, uint8_t *out, size_t outsize,
				    size_t *len)
{
	static const size_t max = QUIC_CRYPTO_MAX;
	bool have[QUIC_CRYPTO_MAX] = { false };
	struct rd r = { p, n };
	enum quic_status st = QUIC_OK;

	if (outsize > max)
		outsize = max;
	*len = 0;
	while (r.n > 0) {
		uint64_t type, a, b, c;

		if (!varint(&r, &type)) {
			st = QUIC_CUT;
			break;
		}
		if (type == 0x00 || type == 0x01)	/* PADDING, PING */
			continue;
		if (type == 0x02 || type == 0x03) {	/* ACK: largest, delay, ranges */
			if (!varint(&r, &a) || !varint(&r, &b) || !varint(&r, &c) || !varint(&r, &a)) {
				st = QUIC_CUT;
				break;
			}
			for (uint64_t i = 0; i < c; i++)
				if (!varint(&r, &a) || !varint(&r, &b))
					goto cut;
			if (type == 0x03 && (!varint(&r, &a) || !varint(&r, &a) || !varint(&r, &a)))
				goto cut;
			continue;
		}
		if (type == 0x1c) {	/* CONNECTION_CLOSE: code, frame type, reason */
			if (!varint(&r, &a) || !varint(&r, &b) || !varint(&r, &c) || !skip(&r, c))
				goto cut;
			continue;
		}
		if (type != 0x06)
			return QUIC_MALFORMED;	/* not allowed in an Initial packet */
		/* CRYPTO: offset, length, data */
		if (!varint(&r, &a) || !varint(&r, &b))
			goto cut;
		c = b <= r.n ? b : r.n;		/* what the copy holds of it */
		if (a < outsize) {
			size_t k = c < outsize - a ? (size_t)c : outsize - (size_t)a;

			memcpy(out + a, r.p, k);
			memset(have + a, 1, k);
		}
		if (!skip(&r, c) || c < b)
			goto cut;
	}
	goto done;
cut:
	st = QUIC_CUT;
done:
	while (*len < outsize && have[*len])
		(*len)++;
	/* a copy cut mid-frame still gives what it held */
	return st == QUIC_CUT ? QUIC_OK : st;
}

/* Open the payload: header protection off, AES-128-GCM, the tag checked when it is there. */
static enum quic_status open_payload(const uint8_t *pkt, size_t n, size_t pn_off, uint64_t length,
				     const uint8_t *dcid, size_t dcid_len, uint8_t *pt, size_t *ptlen)
{
	struct quic_keys k;
	uint8_t mask[5], first, pn_bytes[4], nonce[12], tag[16];
	size_t pn_len, hdr_len, end, ct_len;
	uint64_t pn = 0;
	bool whole;
	EVP_CIPHER_CTX *c;
	int m = 0, ok;

	if (length < 4 + 16 + 16)
		return QUIC_MALFORMED;	/* no room for a sample and a tag */
	if (n < pn_off + 4 + 16)
		return QUIC_CUT;
	if (quic_initial_keys(dcid, dcid_len, &k) < 0 || quic_hp_mask(k.hp, pkt + pn_off + 4, mask) < 0)
		return QUIC_MALFORMED;
	first = pkt[0] ^ (mask[0] & 0x0f);
	pn_len = (size_t)(first & 0x03) + 1;
	for (size_t i = 0; i < pn_len; i++) {
		pn_bytes[i] = pkt[pn_off + i] ^ mask[1 + i];
		pn = pn << 8 | pn_bytes[i];
	}
	hdr_len = pn_off + pn_len;
	whole = pn_off + length <= n;
	if (pn_off + length < hdr_len + 16)
		return QUIC_MALFORMED;
	/* the ciphertext ends where the tag begins; a copy may end before */
	end = pn_off + (size_t)length - 16;
	if (end > n)
		end = n;
	ct_len = end - hdr_len;
	memcpy(nonce, k.iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	if (!(c = EVP_CIPHER_CTX_new()))
		return QUIC_MALFORMED;
	ok = EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
	     EVP_DecryptInit_ex(c, NULL, NULL, k.key, nonce) &&
	     /* the header as sent, unprotected: first byte, the rest, the packet number */
	     EVP_DecryptUpdate(c, NULL, &m, &first, 1) &&
	     EVP_DecryptUpdate(c, NULL, &m, pkt + 1, (int)(pn_off - 1)) &&
	     EVP_DecryptUpdate(c, NULL, &m, pn_bytes, (int)pn_len) &&
	     EVP_DecryptUpdate(c, pt, &m, pkt + hdr_len, (int)ct_len) && (size_t)m == ct_len;
	if (ok && whole) {
		memcpy(tag, pkt + end, 16);
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) &&
		     EVP_DecryptFinal_ex(c, pt + ct_len, &m) > 0;
	}
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return QUIC_MALFORMED;
	*ptlen = ct_len;
	return QUIC_OK;
}

enum quic_status quic_initial_crypto(const uint8_t *pkt, size_t n, uint8_t *out, size_t outsize,
				     size_t *len)
{
	struct rd r = { pkt, n };
	const uint8_t *dcid;
	uint64_t dcid_len, scid_len, token_len, length;
	uint32_t version;
	uint8_t *pt;
	size_t ptlen = 0;
	enum quic_status st;

	*len = 0;
	/* long header, fixed bit, type Initial; version 1 */
	if (n < 7)
		return QUIC_NOT_INITIAL;
	version = (uint32_t)pkt[1] << 24 | (uint32_t)pkt[2] << 16 | (uint32_t)pkt[3] << 8 | pkt[4];
	if ((pkt[0] & 0xf0) != 0xc0 || version != QUIC_V1)
		return QUIC_NOT_INITIAL;
	skip(&r, 5);
	dcid_len = r.p[0];
	skip(&r, 1);
	if (dcid_len > QUIC_CID_MAX)
		return QUIC_MALFORMED;
	dcid = r.p;
	if (!skip(&r, dcid_len) || r.n < 1)
		return QUIC_CUT;
	scid_len = r.p[0];
	skip(&r, 1);
	if (scid_len > QUIC_CID_MAX)
		return QUIC_MALFORMED;
	if (!skip(&r, scid_len) || !varint(&r, &token_len) || !skip(&r, token_len) ||
	    !varint(&r, &length))
		return QUIC_CUT;
	if (!(pt = malloc(n)))
		return QUIC_MALFORMED;
	st = open_payload(pkt, n, (size_t)(r.p - pkt), length, dcid, (size_t)dcid_len, pt, &ptlen);
	if (st == QUIC_OK)
		st = quic_frames_crypto(pt, ptlen, out, outsize, len);
	free(pt);
	return st;
}

const char *quic_status_name(enum quic_status s)
{
	switch (s) {
	case QUIC_OK: return "ok";
	case QUIC_NOT_INITIAL: return "not_initial";
	case QUIC_CUT: return "cut";
	case QUIC_MALFORMED: return "malformed";
	}
	return "malformed";
}
