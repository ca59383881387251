/* SPDX-License-Identifier: MIT */
/*
 * snitch-resolve's SNI and Host parser (cmd/snitch-resolve/hello.c) on
 * ClientHellos and requests built here byte by byte, whole and cut at
 * every length.
 */
#include "hello.h"
#include "test.h"

struct msg {
	unsigned char p[2048];
	size_t len;
};

static void put8(struct msg *m, unsigned v)
{
	m->p[m->len++] = (unsigned char)v;
}

static void put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}

static void put_bytes(struct msg *m, const void *s, size_t n)
{
	memcpy(m->p + m->len, s, n);
	m->len += n;
}

/* Patch a 16- or 24-bit length at 'at' to cover everything after it. */
static void fix16(struct msg *m, size_t at)
{
	size_t v = m->len - at - 2;

	m->p[at] = (unsigned char)(v >> 8);
	m->p[at + 1] = (unsigned char)v;
}

static void fix24(struct msg *m, size_t at)
{
	size_t v = m->len - at - 3;

	m->p[at] = (unsigned char)(v >> 16);
	m->p[at + 1] = (unsigned char)(v >> 8);
	m->p[at + 2] = (unsigned char)v;
}

/*
 * A ClientHello as TLS 1.3 clients send it: a GREASE extension and
 * supported_versions before server_name (when name is not NULL), then
 * key_share-sized padding after it. *name_end: the offset just past the name.
 */
static void client_hello(struct msg *m, const char *name, size_t *name_end)
{
	size_t rec, hs, exts, ext;

	m->len = 0;
	put8(m, 22);
	put16(m, 0x0301);
	rec = m->len;
	put16(m, 0);
	put8(m, 1);		/* ClientHello */
	hs = m->len;
	put8(m, 0);
	put16(m, 0);
	put16(m, 0x0303);
	for (int i = 0; i < 32; i++)
		put8(m, i);	/* random */
	put8(m, 32);
	for (int i = 0; i < 32; i++)
		put8(m, 0xa0 + i);	/* session id */
	put16(m, 6);
	put16(m, 0x1301);
	put16(m, 0x1302);
	put16(m, 0x1303);
	put8(m, 1);
	put8(m, 0);		/* null compression */
	exts = m->len;
	put16(m, 0);
	put16(m, 0x0a0a);	/* GREASE, empty */
	put16(m, 0);
	put16(m, 43);		/* supported_versions: TLS 1.3 */
	put16(m, 3);
	put8(m, 2);
	put16(m, 0x0304);
	if (name) {
		size_t list;

		put16(m, 0);	/* server_name */
		ext = m->len;
		put16(m, 0);
		list = m->len;
		put16(m, 0);
		put8(m, 0);	/* host_name */
		put16(m, (unsigned)strlen(name));
		put_bytes(m, name, strlen(name));
		*name_end = m->len;
		fix16(m, list);
		fix16(m, ext);
	}
	put16(m, 21);		/* padding */
	put16(m, 100);
	for (int i = 0; i < 100; i++)
		put8(m, 0);
	fix16(m, exts);
	fix24(m, hs);
	fix16(m, rec);
}

static void test_sni(void)
{
	struct msg m;
	struct hello h;
	size_t end = 0;

	client_hello(&m, "Www.Example.ORG", &end);
	CHECK_EQ_INT(hello_parse(m.p, m.len, &h), HELLO_FOUND);
	CHECK_EQ_INT(h.kind, HELLO_TLS);
	CHECK_MEM(h.name, strlen(h.name), "www.example.org");
	CHECK_MEM(hello_source(h.kind), 3, "sni");
	/* cut anywhere before the name's last byte: cut; from there: found */
	for (size_t n = 1; n < m.len; n++) {
		enum hello_status s = hello_parse(m.p, n, &h);

		if (n < end) {
			if (s != HELLO_CUT)
				fprintf(stderr, "cut at %zu of %zu: status %d\n", n, m.len, s);
			CHECK_EQ_INT(s, HELLO_CUT);
			CHECK_EQ_INT(h.name[0], '\0');
		} else {
			CHECK_EQ_INT(s, HELLO_FOUND);
		}
		CHECK_EQ_INT(h.kind, HELLO_TLS);
	}
}

static void test_no_sni(void)
{
	struct msg m;
	struct hello h;
	size_t end = 0;

	client_hello(&m, NULL, &end);
	CHECK_EQ_INT(hello_parse(m.p, m.len, &h), HELLO_ABSENT);
	CHECK_EQ_INT(h.kind, HELLO_TLS);
	CHECK(hello_parse(m.p, m.len - 1, &h) == HELLO_CUT);
}

static void test_bad_sni(void)
{
	static const char *const bad[] = {
		"exa mple.org", "a..b", ".a", "192.0.2.1", "caf\xc3\xa9.org",
		"x\ny.org",
	};
	struct msg m;
	struct hello h;
	size_t end = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		client_hello(&m, bad[i], &end);
		CHECK_EQ_INT(hello_parse(m.p, m.len, &h), HELLO_MALFORMED);
		CHECK_EQ_INT(h.name[0], '\0');
	}
	/* a name length past its extension */
	client_hello(&m, "example.org", &end);
	m.p[end - 12] = 0x40;	/* the 16-bit name length's high byte */
	CHECK(hello_parse(m.p, m.len, &h) != HELLO_FOUND);
	/* not a ClientHello: a ServerHello (type 2) */
	client_hello(&m, "example.org", &end);
	m.p[5] = 2;
	CHECK_EQ_INT(hello_parse(m.p, m.len, &h), HELLO_MALFORMED);
	/* a final dot is dropped; 63-character labels pass, 64 do not */
	client_hello(&m, "example.org.", &end);
	CHECK_EQ_INT(hello_parse(m.p, m.len, &h), HELLO_FOUND);
	CHECK_MEM(h.name, strlen(h.name), "example.org");
	{
		char l64[80];

		memset(l64, 'a', 64);
		strcpy(l64 + 64, ".org");
		client_hello(&m, l64 + 1, &end);
		CHECK_EQ_INT(hello_parse(m.p, m.len, &h), HELLO_FOUND);
		client_hello(&m, l64, &end);
		CHECK_EQ_INT(hello_parse(m.p, m.len, &h), HELLO_MALFORMED);
	}
}

static void test_http(void)
{
	static const char req[] =
		"GET /index.html HTTP/1.1\r\nUser-Agent: t\r\nHost: Example.COM:8080 \r\nAccept: */*\r\n\r\n";
	const char *host_end = strstr(req, "\r\nAccept") + 2;	/* the Host line's end */
	struct hello h;

	CHECK_EQ_INT(hello_parse((const uint8_t *)req, strlen(req), &h), HELLO_FOUND);
	CHECK_EQ_INT(h.kind, HELLO_HTTP);
	CHECK_MEM(h.name, strlen(h.name), "example.com");
	CHECK_MEM(hello_source(h.kind), 9, "http_host");
	for (size_t n = 1; n < strlen(req); n++) {
		enum hello_status s = hello_parse((const uint8_t *)req, n, &h);

		CHECK_EQ_INT(s, n < (size_t)(host_end - req) ? HELLO_CUT : HELLO_FOUND);
	}
}

static void test_http_other(void)
{
	static const struct {
		const char *in;
		enum hello_kind kind;
		enum hello_status status;
	} cases[] = {
		{ "GET / HTTP/1.0\r\n\r\n", HELLO_HTTP, HELLO_ABSENT },
		{ "POST /x HTTP/1.1\r\nhost:\tapi.test\r\n\r\n", HELLO_HTTP, HELLO_FOUND },
		{ "GET / HTTP/1.1\r\nHost: 192.0.2.7:80\r\n\r\n", HELLO_HTTP, HELLO_ABSENT },
		{ "GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", HELLO_HTTP, HELLO_ABSENT },
		{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", HELLO_HTTP, HELLO_MALFORMED },
		{ "GET / HTTP/1.1\r\nHost: a.test:8x\r\n\r\n", HELLO_HTTP, HELLO_MALFORMED },
		{ "GET / HTTP/2.0\r\nHost: a.test\r\n\r\n", HELLO_NONE, HELLO_ABSENT },
		{ "SSH-2.0-OpenSSH_9.2\r\n", HELLO_NONE, HELLO_ABSENT },
		{ "EHLO mail.test\r\n", HELLO_NONE, HELLO_ABSENT },
		{ "\x16\x02", HELLO_NONE, HELLO_ABSENT },
	};
	struct hello h;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum hello_status s = hello_parse((const uint8_t *)cases[i].in,
						  strlen(cases[i].in), &h);

		if (s != cases[i].status || h.kind != cases[i].kind)
			fprintf(stderr, "case %zu: kind %d status %d\n", i, h.kind, s);
		CHECK_EQ_INT(s, cases[i].status);
		CHECK_EQ_INT(h.kind, cases[i].kind);
	}
	CHECK_EQ_INT(hello_parse((const uint8_t *)"POST /x HTTP/1.1\r\nhost:\tapi.test\r\n\r\n", 36, &h), HELLO_FOUND);
	CHECK_MEM(h.name, strlen(h.name), "api.test");
}

int main(void)
{
	test_sni();
	test_no_sni();
	test_bad_sni();
	test_http();
	test_http_other();
	TEST_MAIN_END("test_hello");
}
