/* SPDX-License-Identifier: MIT */
/*
 * snitch-resolve's QUIC Initial reader (cmd/snitch-resolve/quic.c): the
 * keys and header protection of RFC 9001's Appendix A, then Initial
 * packets sealed here (tests/bin/quicseal.h) whole, cut at every length,
 * with their CRYPTO frames out of order, and tampered with.
 */
#include "../../bin/quicseal.h"
#include "hello.h"
#include "quic.h"
#include "test.h"

static void unhex(const char *s, uint8_t *out)
{
	for (size_t i = 0; s[2 * i]; i++) {
		unsigned v = 0;

		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

/* RFC 9001 A.1: the client's keys of connection ID 8394c8f03e515708. */
static void rfc_keys(void)
{
	uint8_t dcid[8], key[16], iv[12], hp[16];
	struct quic_keys k;

	unhex("8394c8f03e515708", dcid);
	unhex("1f369613dd76d5467730efcbe3b1a22d", key);
	unhex("fa044b2f42a3fd3b46fb255c", iv);
	unhex("9f50449e04a0e810283a1e9933adedd2", hp);
	CHECK(quic_initial_keys(dcid, sizeof(dcid), &k) == 0);
	CHECK(!memcmp(k.key, key, 16));
	CHECK(!memcmp(k.iv, iv, 12));
	CHECK(!memcmp(k.hp, hp, 16));
}

/* RFC 9001 A.2: the client Initial's sample and its mask. */
static void rfc_mask(void)
{
	uint8_t hp[16], sample[16], want[5], mask[5];

	unhex("9f50449e04a0e810283a1e9933adedd2", hp);
	unhex("d1b1c98dd7689fb8ec11d242b123dc9b", sample);
	unhex("437b9aec36", want);
	CHECK(quic_hp_mask(hp, sample, mask) == 0);
	CHECK(!memcmp(mask, want, 5));
}

static const uint8_t dcid[8] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 };

/* A sealed Initial whose CRYPTO frames hold a ClientHello naming host, split in two out of order. */
static size_t packet(uint8_t *pkt, const char *host, bool split)
{
	uint8_t ch[600], frames[1200];
	size_t chl = qs_client_hello(ch, host), fl = 0, half = chl / 2;

	frames[fl++] = 0x01;	/* a PING first */
	if (split) {
		fl += qs_crypto_frame(frames + fl, half, ch + half, chl - half);
		frames[fl++] = 0x00;	/* PADDING between */
		fl += qs_crypto_frame(frames + fl, 0, ch, half);
	} else {
		fl += qs_crypto_frame(frames + fl, 0, ch, chl);
	}
	return qs_seal(pkt, dcid, sizeof(dcid), frames, fl, 2);
}

static void whole(void)
{
	uint8_t pkt[1300];
	struct hello h;
	size_t n;

	for (int split = 0; split < 2; split++) {
		n = packet(pkt, "www.example.org", split);
		CHECK_EQ_INT(n, 1200);
		CHECK(hello_parse_quic(pkt, n, &h) == HELLO_FOUND);
		CHECK(h.kind == HELLO_QUIC && !strcmp(h.name, "www.example.org"));
		CHECK(!strcmp(hello_source(h.kind), "sni"));
	}
	/* a name in capitals comes out lowercase; a long one whole */
	n = packet(pkt, "A.Very-Long-Name.With.Many.Labels.Example.COM", false);
	CHECK(hello_parse_quic(pkt, n, &h) == HELLO_FOUND);
	CHECK(!strcmp(h.name, "a.very-long-name.with.many.labels.example.com"));
}

/* Cut at every length: never a wrong name, and the name once the ClientHello's end is in. */
static void cut(void)
{
	uint8_t pkt[1300];
	struct hello h;
	size_t n = packet(pkt, "cut.example", false);

	for (size_t k = 0; k < n; k++) {
		enum hello_status st = hello_parse_quic(pkt, k, &h);

		CHECK(st != HELLO_FOUND || !strcmp(h.name, "cut.example"));
		CHECK(st != HELLO_MALFORMED);
		/* 1 + 8 + 1 + 1 + 2 bytes of header, 4 of packet number, the
		 * PING, a 5-byte frame header and the ClientHello, ~100 bytes */
		if (k >= 300)
			CHECK(st == HELLO_FOUND);
	}
	/* split over two frames, the second first: cut before the first, no name */
	n = packet(pkt, "split.example", true);
	CHECK(hello_parse_quic(pkt, 60, &h) == HELLO_CUT);
}

static void tampered(void)
{
	uint8_t pkt[1300], bad[1300];
	struct hello h;
	size_t n = packet(pkt, "t.example", false);

	/* a byte of the payload changed: the tag says so */
	memcpy(bad, pkt, n);
	bad[200] ^= 1;
	CHECK(hello_parse_quic(bad, n, &h) == HELLO_MALFORMED && !h.name[0]);
	/* another connection ID: other keys */
	memcpy(bad, pkt, n);
	bad[6] ^= 1;
	CHECK(hello_parse_quic(bad, n, &h) == HELLO_MALFORMED);
	/* not an Initial: a short header, a Handshake packet, version 2, DNS */
	memcpy(bad, pkt, n);
	bad[0] = 0x43;
	CHECK(hello_parse_quic(bad, n, &h) == HELLO_ABSENT && h.kind == HELLO_NONE);
	bad[0] = 0xe3;
	CHECK(hello_parse_quic(bad, n, &h) == HELLO_ABSENT);
	memcpy(bad, pkt, n);
	bad[1] = 0x6b, bad[2] = 0x33, bad[3] = 0x43, bad[4] = 0xcf;
	CHECK(hello_parse_quic(bad, n, &h) == HELLO_ABSENT);
	CHECK(hello_parse_quic((const uint8_t *)"\x12\x34\x01\x00\x00\x01", 6, &h) == HELLO_ABSENT);
	/* a connection ID longer than version 1 allows */
	memcpy(bad, pkt, n);
	bad[5] = 21;
	CHECK(hello_parse_quic(bad, n, &h) == HELLO_MALFORMED);
}

static void frames(void)
{
	uint8_t out[64], f[64];
	size_t len, n = 0;

	/* an ACK with one range, ECN counts; CRYPTO at 3 then at 0: 6 bytes from 0 */
	f[n++] = 0x03, f[n++] = 5, f[n++] = 0, f[n++] = 1, f[n++] = 0, f[n++] = 1, f[n++] = 1;
	f[n++] = 0, f[n++] = 0, f[n++] = 0;
	f[n++] = 0x06, f[n++] = 3, f[n++] = 3, f[n++] = 'd', f[n++] = 'e', f[n++] = 'f';
	f[n++] = 0x06, f[n++] = 0, f[n++] = 3, f[n++] = 'a', f[n++] = 'b', f[n++] = 'c';
	CHECK(quic_frames_crypto(f, n, out, sizeof(out), &len) == QUIC_OK);
	CHECK(len == 6 && !memcmp(out, "abcdef", 6));
	/* a gap: only up to it */
	f[11] = 4;
	CHECK(quic_frames_crypto(f, n, out, sizeof(out), &len) == QUIC_OK && len == 3);
	/* a STREAM frame has no place in an Initial */
	f[0] = 0x08;
	CHECK(quic_frames_crypto(f, n, out, sizeof(out), &len) == QUIC_MALFORMED);
	/* an offset past what is kept: nothing from it */
	n = 0;
	f[n++] = 0x06, f[n++] = 0x80, f[n++] = 0x01, f[n++] = 0, f[n++] = 0, f[n++] = 2, f[n++] = 'x', f[n++] = 'y';
	CHECK(quic_frames_crypto(f, n, out, sizeof(out), &len) == QUIC_OK && len == 0);
	CHECK(!strcmp(quic_status_name(QUIC_NOT_INITIAL), "not_initial"));
}

int main(void)
{
	rfc_keys();
	rfc_mask();
	whole();
	cut();
	tampered();
	frames();
	TEST_MAIN_END("test_quic");
}
