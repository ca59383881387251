/* SPDX-License-Identifier: MIT */
/*
 * snitch-resolve's DNS decoder (cmd/snitch-resolve/dnsmsg.c) on messages
 * built here byte by byte, and the base64 they travel in (lib/base64.c).
 */
#include <errno.h>

#include "base64.h"
#include "dnsmsg.h"
#include "test.h"

struct msg {
	unsigned char p[1024];
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

static void put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

/* A dotted name, uncompressed; returns its offset. */
static size_t put_name(struct msg *m, const char *name)
{
	size_t at = m->len;

	while (*name) {
		size_t n = strcspn(name, ".");

		put8(m, (unsigned)n);
		memcpy(m->p + m->len, name, n);
		m->len += n;
		name += n;
		if (*name == '.')
			name++;
	}
	put8(m, 0);
	return at;
}

static void put_ptr(struct msg *m, size_t at)
{
	put16(m, 0xc000 | (unsigned)at);
}

static void header(struct msg *m, unsigned flags, unsigned qd, unsigned an)
{
	m->len = 0;
	put16(m, 0x1234);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
}

/* The question (at offset 12), then the fixed part of a record whose
 * owner is a pointer to 'owner'. */
static void rr(struct msg *m, size_t owner, unsigned type, uint32_t ttl,
	       unsigned rdlen)
{
	put_ptr(m, owner);
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, rdlen);
}

static void rr_a(struct msg *m, size_t owner, uint32_t ttl, unsigned a,
		 unsigned b, unsigned c, unsigned d)
{
	rr(m, owner, 1, ttl, 4);
	put8(m, a);
	put8(m, b);
	put8(m, c);
	put8(m, d);
}

static void question(struct msg *m, const char *name, unsigned type)
{
	put_name(m, name);
	put16(m, type);
	put16(m, 1);
}

static struct buf members;

static const char *render(const struct dns_msg *d)
{
	buf_reset(&members);
	dns_msg_put_members(d, &members);
	buf_putc(&members, '\0');
	return members.p;
}

#define CHECK_STR(a, b) CHECK_MEM((a), strlen(a), (b))

static void test_a(struct dns_msg *d)
{
	struct msg m;
	const char *why;

	header(&m, 0x8180, 1, 1);
	question(&m, "example.org", 1);
	rr_a(&m, 12, 300, 198, 51, 100, 7);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), 0);
	CHECK_STR(render(d), "\"qname\":\"example.org\",\"qtype\":\"A\",\"rcode\":0,"
		  "\"answers\":[{\"addr\":\"198.51.100.7\",\"ttl_s\":300}]");
}

static void test_aaaa(struct dns_msg *d)
{
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 7 };
	struct msg m;
	const char *why;

	header(&m, 0x8180, 1, 1);
	question(&m, "v6.example.org", 28);
	rr(&m, 12, 28, 60, 16);
	memcpy(m.p + m.len, v6, 16);
	m.len += 16;
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), 0);
	CHECK_STR(render(d), "\"qname\":\"v6.example.org\",\"qtype\":\"AAAA\",\"rcode\":0,"
		  "\"answers\":[{\"addr\":\"2001:db8::7\",\"ttl_s\":60}]");
}

/* www -> a.example.net -> A; an address for another owner is not taken */
static void test_cname_chain(struct dns_msg *d)
{
	struct msg m;
	const char *why;
	size_t target;

	header(&m, 0x8180, 1, 4);
	question(&m, "www.example.org", 1);
	rr(&m, 12, 5, 600, 15);
	target = put_name(&m, "a.example.net");
	rr_a(&m, target, 300, 192, 0, 2, 1);
	rr_a(&m, target + 2, 300, 192, 0, 2, 66);	/* "example.net" */
	rr_a(&m, target, 900, 192, 0, 2, 2);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), 0);
	/* through a CNAME, the smallest TTL of the chain */
	CHECK_STR(render(d), "\"qname\":\"www.example.org\",\"qtype\":\"A\",\"rcode\":0,"
		  "\"answers\":[{\"addr\":\"192.0.2.1\",\"ttl_s\":300},{\"addr\":\"192.0.2.2\",\"ttl_s\":600}]");
}

static void test_nxdomain(struct dns_msg *d)
{
	struct msg m;
	const char *why;

	header(&m, 0x8183, 1, 0);
	question(&m, "nothing.test", 65);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), 0);
	CHECK_STR(render(d), "\"qname\":\"nothing.test\",\"qtype\":\"HTTPS\",\"rcode\":3,\"answers\":[]");
	header(&m, 0x8180, 1, 0);
	question(&m, "", 4242);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), 0);
	CHECK_STR(render(d), "\"qname\":\"\",\"qtype\":\"4242\",\"rcode\":0,\"answers\":[]");
}

/* 40 answers of 16 bytes, cut at 512 bytes as the capture does */
static void test_truncated(struct dns_msg *d)
{
	struct msg m;
	const char *why;

	header(&m, 0x8180, 1, 40);
	question(&m, "many.example.org", 1);
	for (unsigned i = 1; i <= 40; i++)
		rr_a(&m, 12, 30, 10, 0, 0, i);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, 512, true, &why), 0);
	CHECK(d->valid);
	CHECK_EQ_INT(d->nanswers, (512 - 12 - 22) / 16);
	CHECK_STR(d->answers[0].addr, "10.0.0.1");
	CHECK_STR(d->answers[28].addr, "10.0.0.29");
	/* the same bytes, said to be whole: malformed, what was read kept */
	why = NULL;
	CHECK_EQ_INT(dns_msg_decode(d, m.p, 512, false, &why), -EBADMSG);
	CHECK(why && strstr(why, "answer"));
	CHECK(d->valid);
	CHECK_EQ_INT(d->nanswers, 29);
	/* a count far beyond what the bytes can hold */
	m.p[6] = m.p[7] = 0xff;
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, true, &why), 0);
	CHECK_EQ_INT(d->nanswers, 40);
}

static void test_malformed(struct dns_msg *d)
{
	struct msg m;
	const char *why;

	/* the question's name points at itself */
	header(&m, 0x8180, 1, 0);
	put_ptr(&m, 12);
	put16(&m, 1);
	put16(&m, 1);
	why = NULL;
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), -EBADMSG);
	CHECK(why && strstr(why, "question"));
	CHECK(!d->valid);
	CHECK_STR(render(d), "\"qname\":null,\"qtype\":null,\"rcode\":null,\"answers\":null");

	/* an answer's owner: two pointers that point at each other */
	header(&m, 0x8180, 1, 1);
	question(&m, "loop.test", 1);
	put_ptr(&m, m.len + 2);
	put_ptr(&m, m.len - 2);
	put16(&m, 1);
	put16(&m, 1);
	put32(&m, 1);
	put16(&m, 4);
	put32(&m, 0x0a000001);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), -EBADMSG);
	CHECK(d->valid);
	CHECK_STR(render(d), "\"qname\":\"loop.test\",\"qtype\":\"A\",\"rcode\":0,\"answers\":[]");

	/* a pointer past the end; a label past the end */
	header(&m, 0x8180, 1, 0);
	put_ptr(&m, 400);
	put32(&m, 0x00010001);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), -EBADMSG);
	header(&m, 0x8180, 1, 0);
	put8(&m, 30);
	put32(&m, 0x61626364);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), -EBADMSG);
	/* the question's type and class cut off */
	header(&m, 0x8180, 1, 0);
	put_name(&m, "a.test");
	put16(&m, 1);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), -EBADMSG);

	/* the root name, and nothing after it */
	header(&m, 0x8180, 1, 0);
	put8(&m, 0);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), -EBADMSG);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, true, &why), -EBADMSG);

	/* a query, two questions, no header */
	header(&m, 0x0100, 1, 0);
	question(&m, "a.test", 1);
	why = NULL;
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), -ENOMSG);
	CHECK(why && !strcmp(why, "not a response"));
	header(&m, 0x8180, 2, 0);
	question(&m, "a.test", 1);
	question(&m, "b.test", 1);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), -ENOMSG);
	CHECK(!d->valid);
	CHECK(why && !strcmp(why, "not the answer to one question"));
	CHECK_EQ_INT(dns_msg_decode(d, m.p, 11, true, &why), -EBADMSG);
	CHECK(why && !strcmp(why, "shorter than a DNS header"));
	CHECK_EQ_INT(dns_msg_decode(d, m.p, 0, false, &why), -EBADMSG);

	/* the query decoder: a response, and a query of two questions, are refused */
	header(&m, 0x8180, 1, 0);
	question(&m, "a.test", 1);
	CHECK_EQ_INT(dns_msg_decode_query(d, m.p, m.len, &why), -ENOMSG);
	CHECK(why && !strcmp(why, "not a query"));
	CHECK(!d->valid && !d->query);
	header(&m, 0x0100, 2, 0);
	question(&m, "a.test", 1);
	question(&m, "b.test", 1);
	CHECK_EQ_INT(dns_msg_decode_query(d, m.p, m.len, &why), -ENOMSG);
	CHECK(why && !strcmp(why, "not a query of one question"));
	header(&m, 0x0100, 1, 0);
	question(&m, "a.test", 28);
	CHECK_EQ_INT(dns_msg_decode_query(d, m.p, m.len, &why), 0);
	CHECK(d->valid && d->query && d->qtype == 28);
}

/* RFC 2181 section 8: a TTL with the top bit set counts as 0 */
static void test_ttl(struct dns_msg *d)
{
	struct msg m;
	const char *why;

	header(&m, 0x8180, 1, 1);
	question(&m, "t.test", 1);
	rr_a(&m, 12, 0x80000000u, 192, 0, 2, 3);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), 0);
	CHECK_EQ_INT(d->nanswers, 1);
	CHECK_EQ_INT(d->answers[0].ttl_s, 0);
}

/* An escaped name stays one JSON string */
static void test_odd_name(struct dns_msg *d)
{
	struct msg m;
	const char *why;

	header(&m, 0x8180, 1, 0);
	put8(&m, 5);
	memcpy(m.p + m.len, "a.b\"\x01", 5);
	m.len += 5;
	put8(&m, 0);
	put32(&m, 0x00010001);
	CHECK_EQ_INT(dns_msg_decode(d, m.p, m.len, false, &why), 0);
	/* c-ares writes a\.b\"\001 */
	CHECK_STR(render(d), "\"qname\":\"a\\\\.b\\\\\\\"\\\\001\",\"qtype\":\"A\",\"rcode\":0,\"answers\":[]");
}

static void test_base64(void)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	static const char *const bad[] = { "Zg=", "Zh==", "Zm9=", "Z===", "Zg==Zg==", "Zm9v\n", "Zm 9", "=Zm9", "Zm=v", "Zm9v!A==" };
	struct buf b = BUF_INIT;
	unsigned char out[16];

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		buf_reset(&b);
		base64_put(&b, plain[i], strlen(plain[i]));
		if (b.len)
			CHECK_MEM(b.p, b.len, coded[i]);
		else
			CHECK(!*coded[i]);
		CHECK_EQ_INT(base64_decode(coded[i], strlen(coded[i]), out), (long)strlen(plain[i]));
		CHECK(!memcmp(out, plain[i], strlen(plain[i])));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(base64_decode(bad[i], strlen(bad[i]), out), -EINVAL);
	buf_release(&b);
}

int main(void)
{
	struct dns_msg d;

	dns_msg_init(&d);
	test_a(&d);
	test_aaaa(&d);
	test_cname_chain(&d);
	test_nxdomain(&d);
	test_truncated(&d);
	test_malformed(&d);
	test_ttl(&d);
	test_odd_name(&d);
	test_base64();
	dns_msg_release(&d);
	buf_release(&members);
	TEST_MAIN_END("test_dnsmsg");
}
