/* SPDX-License-Identifier: MIT */
/*
 * DNS responses (RFC 1035, RFC 3596), decoded with c-ares.
 *
 * Why here: snitch-trace, which holds CAP_BPF and CAP_SYS_ADMIN, only
 * copies the bytes of each answer from port 53; this unprivileged stage
 * decodes what anyone on the network may have forged.
 *
 * Why c-ares: snitch-resolve links it already, and Debian 12's c-ares
 * 1.18.1 has the parsers its resolver runs on every answer it gets:
 * ares_expand_name() for the question's (possibly compressed) name, and
 * ares_parse_a_reply() / ares_parse_aaaa_reply() for the addresses with
 * their TTLs. Its general message parser, ares_dns_parse(), came with
 * 1.22 and is not there. glibc's ns_initparse() was the other candidate;
 * it refuses a message whose last section is cut, which a capture of the
 * first 512 bytes often is, while c-ares reads the answer section only.
 * Only the fixed-size parts are read here: the 12-byte header (flags,
 * counts) and the 4 bytes after the question's name (its type).
 *
 * What c-ares decides, which the tracer's own parser did not: an answer
 * counts only if its owner is the name asked for or a CNAME of it, in
 * the chain's order (an address for another name is not attributed to
 * the name asked for); and an address found through CNAMEs has the
 * smallest TTL of the chain.
 */
#include <ares.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "json.h"

#define HEADER_BYTES 12
#define QUESTION_FIXED_BYTES 4	/* type, class */
#define RR_MIN_BYTES 11		/* root name, type, class, ttl, rdlength */
#define FLAG_QR 0x8000		/* a response */

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

void dns_msg_init(struct dns_msg *m)
{
	memset(m, 0, sizeof(*m));
}

void dns_msg_release(struct dns_msg *m)
{
	if (!m)
		return;
	buf_release(&m->qname);
	free(m->answers);
	free(m->copy);
	memset(m, 0, sizeof(*m));
}

static uint32_t ttl_of(int ttl)
{
	/* RFC 2181 section 8: a TTL with the top bit set is taken as 0 */
	return ttl < 0 ? 0 : (uint32_t)ttl;
}

/*
 * The A and AAAA records among the first n of the answer section of
 * m->copy (its count set to n). Returns an ares status: ARES_SUCCESS when
 * those n records could be read, with m->answers filled.
 */
static int read_answers(struct dns_msg *m, size_t len, size_t n)
{
	struct ares_addrttl *a;
	struct ares_addr6ttl *a6;
	/* no more records than the message could hold, whatever its count */
	size_t cap = n < len / RR_MIN_BYTES ? n : len / RR_MIN_BYTES;
	int na, na6, st;

	if (!cap)
		cap = 1;
	na = na6 = (int)cap;

	m->nanswers = 0;
	m->copy[6] = (unsigned char)(n >> 8);
	m->copy[7] = (unsigned char)n;
	a = calloc(cap, sizeof(*a));
	a6 = calloc(cap, sizeof(*a6));
	if (!a || !a6) {
		st = ARES_ENOMEM;
		goto out;
	}
	st = ares_parse_a_reply(m->copy, (int)len, NULL, a, &na);
	if (st == ARES_SUCCESS || st == ARES_ENODATA)
		st = ares_parse_aaaa_reply(m->copy, (int)len, NULL, a6, &na6);
	if (st == ARES_ENODATA)
		st = ARES_SUCCESS;	/* no address: a name error, or CNAMEs only */
	if (st != ARES_SUCCESS)
		goto out;
	if (na < 0 || na6 < 0 || (size_t)na > cap || (size_t)na6 > cap) {
		st = ARES_EBADRESP;	/* cannot be: the library's contract */
		goto out;
	}
	if ((size_t)(na + na6) > m->cap) {
		struct dns_answer *p = realloc(m->answers, (size_t)(na + na6) * sizeof(*p));

		if (!p) {
			st = ARES_ENOMEM;
			goto out;
		}
		m->answers = p;
		m->cap = (size_t)(na + na6);
	}
	for (int i = 0; i < na; i++) {
		struct dns_answer *d = &m->answers[m->nanswers++];

		if (!inet_ntop(AF_INET, &a[i].ipaddr, d->addr, sizeof(d->addr)))
			d->addr[0] = '\0';
		d->ttl_s = ttl_of(a[i].ttl);
	}
	for (int i = 0; i < na6; i++) {
		struct dns_answer *d = &m->answers[m->nanswers++];

		if (!inet_ntop(AF_INET6, &a6[i].ip6addr, d->addr, sizeof(d->addr)))
			d->addr[0] = '\0';
		d->ttl_s = ttl_of(a6[i].ttl);
	}
out:
	free(a);
	free(a6);
	if (st != ARES_SUCCESS)
		m->nanswers = 0;
	return st;
}

/* The one question, after the header: its name and type; qend past it. */
static int read_question(struct dns_msg *m, const unsigned char *msg, size_t len,
			 size_t *qend, const char **why)
{
	char *name = NULL;
	long name_len = 0;
	int st = ares_expand_name(msg + HEADER_BYTES, msg, (int)len, &name, &name_len);

	if (st == ARES_ENOMEM)
		return -ENOMEM;
	if (st != ARES_SUCCESS || name_len <= 0 ||
	    (size_t)name_len + HEADER_BYTES + QUESTION_FIXED_BYTES > len) {
		ares_free_string(name);
		*why = "its question cannot be read";
		return -EBADMSG;
	}
	*qend = HEADER_BYTES + (size_t)name_len + QUESTION_FIXED_BYTES;
	/* the library escapes what is not printable (\DDD), so no NUL */
	json_put_cstr(&m->qname, name);
	ares_free_string(name);
	if (m->qname.oom)
		return -ENOMEM;
	m->qtype = get16(msg + *qend - QUESTION_FIXED_BYTES);
	return 0;
}

/*
 * What both decoders read first: the header of a message of the kind
 * asked for (a response, or a query) with one question, and that
 * question; qend past it. m is emptied first.
 */
static int read_head(struct dns_msg *m, const unsigned char *msg, size_t len, bool response,
		     size_t *qend, const char **why)
{
	m->valid = m->query = false;
	m->nanswers = 0;
	buf_reset(&m->qname);
	*why = NULL;
	if (len > DNS_MSG_MAX) {
		*why = "longer than a DNS message can be";
		return -EBADMSG;
	}
	if (len < HEADER_BYTES) {
		*why = "shorter than a DNS header";
		return -EBADMSG;
	}
	if (!!(get16(msg + 2) & FLAG_QR) != response) {
		*why = response ? "not a response" : "not a query";
		return -ENOMSG;
	}
	/* a query, or an answer, of several questions: not read */
	if (get16(msg + 4) != 1) {
		*why = response ? "not the answer to one question" : "not a query of one question";
		return -ENOMSG;
	}
	return read_question(m, msg, len, qend, why);
}

int dns_msg_decode_query(struct dns_msg *m, const unsigned char *msg, size_t len,
			 const char **why)
{
	size_t qend;
	int st;

	if ((st = read_head(m, msg, len, false, &qend, why)) < 0)
		return st;
	m->valid = m->query = true;
	return 0;
}

int dns_msg_decode(struct dns_msg *m, const unsigned char *msg, size_t len,
		   bool truncated, const char **why)
{
	size_t qend, ancount, fit, good, bad;
	int st;

	if ((st = read_head(m, msg, len, true, &qend, why)) < 0)
		return st;
	m->rcode = get16(msg + 2) & 0xf;
	m->valid = true;

	/* the answer count is rewritten on a copy, to read fewer records */
	if (len > m->copy_cap) {
		unsigned char *p = realloc(m->copy, len);

		if (!p)
			return -ENOMEM;
		m->copy = p;
		m->copy_cap = len;
	}
	memcpy(m->copy, msg, len);
	ancount = get16(msg + 6);
	st = read_answers(m, len, ancount);
	if (st == ARES_SUCCESS)
		return 0;
	if (st == ARES_ENOMEM)
		return -ENOMEM;

	/*
	 * The section runs off the end (a capture cut short) or holds a
	 * record that cannot be read: keep the records before it. Reading
	 * n records succeeds if and only if each of the first n can be
	 * read, so the largest such n is found by bisection, between 0
	 * records (the question alone, read above) and as many as can fit.
	 */
	fit = (len - qend) / RR_MIN_BYTES;
	good = 0;
	bad = ancount < fit + 1 ? ancount : fit + 1;
	while (bad - good > 1) {
		size_t mid = good + (bad - good) / 2;

		st = read_answers(m, len, mid);
		if (st == ARES_ENOMEM)
			return -ENOMEM;
		if (st == ARES_SUCCESS)
			good = mid;
		else
			bad = mid;
	}
	st = read_answers(m, len, good);
	if (st == ARES_ENOMEM)
		return -ENOMEM;
	if (truncated)
		return 0;
	*why = "its answer section cannot be read";
	return -EBADMSG;
}

void dns_msg_put_members(const struct dns_msg *m, struct buf *b)
{
	if (!m->valid) {
		buf_puts(b, "\"qname\":null,\"qtype\":null,\"rcode\":null,\"answers\":null");
		return;
	}
	buf_puts(b, "\"qname\":");
	buf_append(b, m->qname.p, m->qname.len);
	buf_puts(b, ",\"qtype\":");
	switch (m->qtype) {
	case 1: json_put_cstr(b, "A"); break;
	case 2: json_put_cstr(b, "NS"); break;
	case 5: json_put_cstr(b, "CNAME"); break;
	case 6: json_put_cstr(b, "SOA"); break;
	case 12: json_put_cstr(b, "PTR"); break;
	case 15: json_put_cstr(b, "MX"); break;
	case 16: json_put_cstr(b, "TXT"); break;
	case 28: json_put_cstr(b, "AAAA"); break;
	case 33: json_put_cstr(b, "SRV"); break;
	case 64: json_put_cstr(b, "SVCB"); break;
	case 65: json_put_cstr(b, "HTTPS"); break;
	case 255: json_put_cstr(b, "ANY"); break;
	default: buf_printf(b, "\"%u\"", m->qtype); break;
	}
	if (m->query) {
		buf_puts(b, ",\"rcode\":null,\"answers\":null");
		return;
	}
	buf_puts(b, ",\"rcode\":");
	buf_put_u64(b, m->rcode);
	buf_puts(b, ",\"answers\":[");
	for (size_t i = 0; i < m->nanswers; i++) {
		if (i)
			buf_putc(b, ',');
		buf_puts(b, "{\"addr\":");
		json_put_cstr(b, m->answers[i].addr);
		buf_puts(b, ",\"ttl_s\":");
		buf_put_u64(b, m->answers[i].ttl_s);
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
}
