/* SPDX-License-Identifier: MIT */
/*
 * The name a client asked for, from the first bytes it sent on a TCP
 * connection: the server_name of a TLS ClientHello (SNI), or the Host
 * header of an HTTP/1 request; or from the first QUIC Initial packet it
 * sent over UDP: the ClientHello's server_name again. The bytes come from anyone's traffic: this
 * runs unprivileged, reads nothing past the buffer, and returns a name
 * only when it is a plausible host name (tests/fuzz/fuzz_hello.c).
 */
#ifndef SNITCH_RESOLVE_HELLO_H
#define SNITCH_RESOLVE_HELLO_H

#include <stddef.h>
#include <stdint.h>

#define HELLO_NAME_MAX 253	/* a DNS name in text form, without the final dot */
#define HELLO_BYTES_MAX 4096	/* the most bytes a hello record is read for */

enum hello_kind {
	HELLO_NONE,		/* neither a ClientHello nor an HTTP request */
	HELLO_TLS,		/* a TLS handshake record with a ClientHello */
	HELLO_HTTP,		/* an HTTP/1.x request line */
	HELLO_QUIC,		/* a QUIC Initial packet whose CRYPTO frames hold a ClientHello */
};

enum hello_status {
	HELLO_FOUND,		/* name holds the name */
	HELLO_ABSENT,		/* complete, but it names no host (no SNI, no Host, an IP address) */
	HELLO_CUT,		/* the bytes end before the name could be found */
	HELLO_MALFORMED,	/* a length points outside its field, or the name is not a host name */
};

struct hello {
	enum hello_kind kind;
	enum hello_status status;
	char name[HELLO_NAME_MAX + 1];	/* lowercase, NUL-terminated */
};

/* Parse the first bytes a client sent; fills h, returns h->status. */
enum hello_status hello_parse(const uint8_t *p, size_t n, struct hello *h);

/* The same for the first datagram a UDP client sent: a QUIC Initial packet (quic.h). */
enum hello_status hello_parse_quic(const uint8_t *p, size_t n, struct hello *h);

/* "sni", "http_host", or NULL for HELLO_NONE. */
const char *hello_source(enum hello_kind k);
/* "found", "absent", "cut", "malformed". */
const char *hello_status_name(enum hello_status s);

#endif
