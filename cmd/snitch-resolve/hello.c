/* SPDX-License-Identifier: MIT */
/*
 * SNI and HTTP Host from a connection's first bytes (hello.h).
 *
 * TLS (RFC 8446 §4.1.2, RFC 6066 §3): a handshake record (type 22)
 * carrying a ClientHello (type 1); after the version, random, session id,
 * cipher suites and compression methods come the extensions, of which
 * server_name (0) holds a list of (type 0 = host_name, name). Only the
 * first record is read: a ClientHello fragmented over several TLS records
 * or cut by the kernel's copy is reported HELLO_CUT when the name was not
 * reached. With Encrypted Client Hello the name read is the outer one,
 * the only one visible: reported as it is.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "hello.h"
#include "quic.h"

/* A bounded reader: every read checks what is left. */
struct cur {
	const uint8_t *p;
	size_t n;
	bool cut;		/* a read went past the end of the bytes we have */
};

static bool take(struct cur *c, size_t k, const uint8_t **out)
{
	if (k > c->n) {
		c->cut = true;
		return false;
	}
	if (out)
		*out = c->p;
	c->p += k;
	c->n -= k;
	return true;
}

static bool u8(struct cur *c, unsigned *v)
{
	const uint8_t *q;

	if (!take(c, 1, &q))
		return false;
	*v = q[0];
	return true;
}

static bool u16(struct cur *c, unsigned *v)
{
	const uint8_t *q;

	if (!take(c, 2, &q))
		return false;
	*v = (unsigned)q[0] << 8 | q[1];
	return true;
}

static bool u24(struct cur *c, size_t *v)
{
	const uint8_t *q;

	if (!take(c, 3, &q))
		return false;
	*v = (size_t)q[0] << 16 | (size_t)q[1] << 8 | q[2];
	return true;
}

/* A sub-reader over the next len bytes; cut if fewer are there. */
static struct cur sub(struct cur *c, size_t len)
{
	struct cur s = { c->p, len <= c->n ? len : c->n, len > c->n };

	c->p += s.n;
	c->n -= s.n;
	return s;
}

/*
 * A host name: letters, digits, '-', '_' and dots, no empty label, no
 * more than 253 characters (a final dot dropped); an IPv4 address in
 * dotted form is not one. Copied lowercase into out.
 */
static bool host_name(const uint8_t *s, size_t n, char out[HELLO_NAME_MAX + 1])
{
	size_t label = 0;
	bool alpha = false;

	if (n && s[n - 1] == '.')
		n--;
	if (n == 0 || n > HELLO_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = s[i];

		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   ch == '-' || ch == '_') {
			alpha = true;
			if (++label > 63)
				return false;
		} else if (ch >= '0' && ch <= '9') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
		out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
	}
	if (label == 0)
		return false;
	out[n] = '\0';
	/* all digits and dots: an address (or nonsense), not a name */
	return alpha;
}

static enum hello_status done(struct hello *h, enum hello_status s)
{
	h->status = s;
	if (s != HELLO_FOUND)
		h->name[0] = '\0';
	return s;
}

static enum hello_status parse_sni(struct cur ext, struct hello *h)
{
	unsigned list_len;
	struct cur list;

	if (!u16(&ext, &list_len))
		return done(h, ext.cut ? HELLO_CUT : HELLO_MALFORMED);
	list = sub(&ext, list_len);
	while (list.n > 0 || list.cut) {
		unsigned type, len;
		const uint8_t *name;

		if (!u8(&list, &type) || !u16(&list, &len) || !take(&list, len, &name))
			return done(h, list.cut ? HELLO_CUT : HELLO_MALFORMED);
		if (type != 0)
			continue;	/* RFC 6066: only host_name is defined */
		return done(h, host_name(name, len, h->name) ? HELLO_FOUND : HELLO_MALFORMED);
	}
	return done(h, HELLO_ABSENT);
}

/* A handshake message that must be a ClientHello: its server_name. */
static enum hello_status parse_client_hello(struct cur rec, struct hello *h)
{
	struct cur hs, exts;
	unsigned type, v, len, x;
	size_t hs_len;

	/* handshake header: ClientHello, 24-bit length */
	if (!u8(&rec, &type) || !u24(&rec, &hs_len))
		return done(h, HELLO_CUT);
	if (type != 1)
		return done(h, HELLO_MALFORMED);
	hs = sub(&rec, hs_len);
	hs.cut = hs.cut || rec.cut;
	/* legacy_version, random */
	if (!u16(&hs, &v) || !take(&hs, 32, NULL))
		goto out;
	/* session id, cipher suites, compression methods */
	if (!u8(&hs, &x) || !take(&hs, x, NULL) ||
	    !u16(&hs, &x) || !take(&hs, x, NULL) ||
	    !u8(&hs, &x) || !take(&hs, x, NULL))
		goto out;
	if (hs.n == 0 && !hs.cut)
		return done(h, HELLO_ABSENT);	/* no extensions at all */
	if (!u16(&hs, &len))
		goto out;
	exts = sub(&hs, len);
	exts.cut = exts.cut || hs.cut;
	while (exts.n > 0) {
		unsigned et, el;
		struct cur body;

		if (!u16(&exts, &et) || !u16(&exts, &el))
			break;
		body = sub(&exts, el);
		if (et == 0) {
			if (body.cut)
				exts.cut = true;
			return parse_sni(body, h);
		}
	}
	if (exts.cut)
		return done(h, HELLO_CUT);
	return done(h, HELLO_ABSENT);
out:
	return done(h, hs.cut ? HELLO_CUT : HELLO_MALFORMED);
}

static enum hello_status parse_tls(const uint8_t *p, size_t n, struct hello *h)
{
	struct cur c = { p, n, false };
	unsigned type, v, len;

	h->kind = HELLO_TLS;
	/* record header: type 22, version 3.x, length */
	if (!u8(&c, &type) || !u16(&c, &v) || !u16(&c, &len))
		return done(h, HELLO_CUT);
	return parse_client_hello(sub(&c, len), h);
}

enum hello_status hello_parse_quic(const uint8_t *p, size_t n, struct hello *h)
{
	uint8_t crypto[QUIC_CRYPTO_MAX];
	size_t len = 0;

	memset(h, 0, sizeof(*h));
	h->kind = HELLO_QUIC;
	switch (quic_initial_crypto(p, n, crypto, sizeof(crypto), &len)) {
	case QUIC_OK:
		/* the stream from offset 0 as far as this packet holds it: a
		 * ClientHello continued in the next packet is cut here */
		return parse_client_hello((struct cur){ crypto, len, false }, h);
	case QUIC_NOT_INITIAL:
		h->kind = HELLO_NONE;
		return done(h, HELLO_ABSENT);
	case QUIC_CUT:
		return done(h, HELLO_CUT);
	case QUIC_MALFORMED:
		break;
	}
	return done(h, HELLO_MALFORMED);
}

static bool is_tchar_upper(uint8_t ch)
{
	return ch >= 'A' && ch <= 'Z';
}

/* "METHOD SP target SP HTTP/1.x CRLF": the request line; 0 if not one. */
static size_t request_line(const uint8_t *p, size_t n, bool *cut)
{
	size_t i = 0, m;

	*cut = false;
	while (i < n && i < 16 && is_tchar_upper(p[i]))
		i++;
	if (i == n) {
		*cut = i > 0 && i < 16;
		return 0;
	}
	if (i < 3 || p[i] != ' ')
		return 0;
	m = i;
	/* the target: no spaces, no control bytes */
	for (i = m + 1; i < n && p[i] != ' '; i++)
		if (p[i] < 0x21 || p[i] == 0x7f)
			return 0;
	/* then " HTTP/1.x" CRLF: 11 bytes */
	if (i + 11 > n) {
		*cut = true;
		return 0;
	}
	if (memcmp(p + i, " HTTP/1.", 8) != 0 || (p[i + 8] != '0' && p[i + 8] != '1') ||
	    p[i + 9] != '\r' || p[i + 10] != '\n')
		return 0;
	return i + 11;
}

static enum hello_status parse_http(const uint8_t *p, size_t n, size_t off, struct hello *h)
{
	h->kind = HELLO_HTTP;
	while (off < n) {
		const uint8_t *line = p + off, *eol = memchr(line, '\n', n - off);
		size_t len, i;

		if (!eol)
			return done(h, HELLO_CUT);
		len = (size_t)(eol - line);
		off += len + 1;
		if (len && line[len - 1] == '\r')
			len--;
		if (len == 0)
			return done(h, HELLO_ABSENT);	/* end of the headers */
		if (len < 5 || strncasecmp((const char *)line, "host:", 5) != 0)
			continue;
		i = 5;
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		while (len > i && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		if (i < len && line[i] == '[')
			return done(h, HELLO_ABSENT);	/* an IPv6 address */
		/* host[:port] */
		for (size_t k = i; k < len; k++) {
			if (line[k] == ':') {
				for (size_t d = k + 1; d < len; d++)
					if (line[d] < '0' || line[d] > '9')
						return done(h, HELLO_MALFORMED);
				len = k;
				break;
			}
		}
		if (host_name(line + i, len - i, h->name))
			return done(h, HELLO_FOUND);
		/* an IPv4 address is no name; anything else is malformed */
		{
			char tmp[HELLO_NAME_MAX + 1];
			struct in_addr a4;

			if (len - i < sizeof(tmp)) {
				memcpy(tmp, line + i, len - i);
				tmp[len - i] = '\0';
				if (inet_pton(AF_INET, tmp, &a4) == 1)
					return done(h, HELLO_ABSENT);
			}
		}
		return done(h, HELLO_MALFORMED);
	}
	return done(h, HELLO_CUT);
}

enum hello_status hello_parse(const uint8_t *p, size_t n, struct hello *h)
{
	size_t off;
	bool cut;

	memset(h, 0, sizeof(*h));
	h->kind = HELLO_NONE;
	/* a handshake record of TLS 1.0 to 1.3 (all say 3.x) */
	if (n >= 1 && p[0] == 22 && (n < 2 || p[1] == 3))
		return parse_tls(p, n, h);
	off = request_line(p, n, &cut);
	if (off)
		return parse_http(p, n, off, h);
	return done(h, cut ? HELLO_CUT : HELLO_ABSENT);
}

const char *hello_source(enum hello_kind k)
{
	switch (k) {
	case HELLO_TLS:
	case HELLO_QUIC: return "sni";
	case HELLO_HTTP: return "http_host";
	default: return NULL;
	}
}

const char *hello_status_name(enum hello_status s)
{
	switch (s) {
	case HELLO_FOUND: return "found";
	case HELLO_ABSENT: return "absent";
	case HELLO_CUT: return "cut";
	default: return "malformed";
	}
}
