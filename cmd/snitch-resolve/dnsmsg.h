/* SPDX-License-Identifier: MIT */
/*
 * The DNS responses snitch-trace captures (dns records' payload_b64),
 * decoded here, outside the privileged tracer: see dnsmsg.c.
 */
#ifndef SNITCH_RESOLVE_DNSMSG_H
#define SNITCH_RESOLVE_DNSMSG_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The largest DNS message (RFC 1035 section 4.2: a 16-bit length). */
#define DNS_MSG_MAX 65535

/* One A or AAAA record of the answer section. */
struct dns_answer {
	char addr[INET6_ADDRSTRLEN];
	uint32_t ttl_s;
};

struct dns_msg {
	bool valid;		/* a response to one question that could be read */
	bool query;		/* valid, and a query: no rcode, no answers */
	struct buf qname;	/* JSON string, quotes included; "" for the root */
	unsigned qtype, rcode;
	struct dns_answer *answers;
	size_t nanswers, cap;
	unsigned char *copy;	/* scratch copy of the message */
	size_t copy_cap;
};

void dns_msg_init(struct dns_msg *m);
void dns_msg_release(struct dns_msg *m);

/*
 * Decode the DNS message msg[0, len). 'truncated': the capture kept only
 * its first len bytes, so an answer section that runs off the end is no
 * fault and gives the answers that fit.
 *
 * Returns 0; -ENOMSG with *why when the message is a query or answers
 * several questions (port 53 carries those too: no fault, nothing to
 * decode; m->valid is false); -EBADMSG with *why (a static phrase) when
 * it is a response to one question that cannot be read (m->valid is
 * false), or when its answer section is malformed in a message that was
 * not cut (m->valid is true and the answers before the fault are
 * decoded); or -ENOMEM.
 */
int dns_msg_decode(struct dns_msg *m, const unsigned char *msg, size_t len,
		   bool truncated, const char **why);

/*
 * Decode a DNS query a process sent (a dns record with "direction":
 * "sent"): its one question. Returns 0 (m->valid and m->query true);
 * -ENOMSG with *why when it is a response or asks several questions;
 * -EBADMSG with *why when its question cannot be read; or -ENOMEM.
 */
int dns_msg_decode_query(struct dns_msg *m, const unsigned char *msg, size_t len,
			 const char **why);

/*
 * The members "qname","qtype","rcode","answers" (docs/records.md) for
 * record_add_members(), all null when the message was not valid; rcode
 * and answers null for a query.
 */
void dns_msg_put_members(const struct dns_msg *m, struct buf *b);

#endif
