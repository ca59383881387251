/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for snitch-resolve's DNS decoder (cmd/snitch-resolve/
 * dnsmsg.c): any bytes as a captured DNS message, read as whole and as
 * cut by the capture, and as a query a process sent. Seeds: tests/fuzz/dns/. Invariants: no crash or
 * undefined behaviour; the members it writes make a JSON object the
 * record library reads; every answer is an address; and the bytes come
 * back unchanged through base64, as they travel in a dns record.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "dnsmsg.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* as_query: dns_msg_decode_query(), else dns_msg_decode(m, ..., truncated). */
static void check(struct dns_msg *m, const unsigned char *data, size_t size,
		  bool truncated, bool as_query)
{
	static struct buf obj;
	static struct record r;
	const char *why = NULL;
	unsigned char addr[16];
	int e = as_query ? dns_msg_decode_query(m, data, size, &why)
			 : dns_msg_decode(m, data, size, truncated, &why);

	if (e != 0 && e != -EBADMSG && e != -ENOMSG && e != -ENOMEM)
		abort();
	if ((e == -EBADMSG || e == -ENOMSG) && !why)
		abort();
	if (e == -ENOMSG && m->valid)
		abort();
	if (e == 0 && !m->valid)
		abort();
	if (!m->valid && m->nanswers)
		abort();
	/* a query is that, and has no answers; a response never is one */
	if (m->query != (as_query && e == 0) || (m->query && m->nanswers))
		abort();
	for (size_t i = 0; m->valid && i < m->nanswers; i++)
		if (inet_pton(strchr(m->answers[i].addr, ':') ? AF_INET6 : AF_INET,
			      m->answers[i].addr, addr) != 1)
			abort();
	buf_reset(&obj);
	buf_putc(&obj, '{');
	dns_msg_put_members(m, &obj);
	buf_putc(&obj, '}');
	if (!obj.oom && record_parse(&r, obj.p, obj.len, NULL) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct dns_msg m;
	static struct buf b64;
	static unsigned char back[DNS_MSG_MAX + 3];

	check(&m, data, size, false, false);
	check(&m, data, size, true, false);
	check(&m, data, size, false, true);
	if (size <= DNS_MSG_MAX) {
		buf_reset(&b64);
		base64_put(&b64, data, size);
		if (!b64.oom && (base64_decode(b64.p, b64.len, back) != (long)size ||
				 memcmp(back, data, size) != 0))
			abort();
	}
	return 0;
}
