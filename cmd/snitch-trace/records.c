/* SPDX-License-Identifier: MIT */
/* The records snitch-trace writes: flow, exec, dns, hello, syscalls (docs/records.md). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>

#include "ancestry.h"
#include "base64.h"
#include "emit.h"
#include "trace.h"

/* The kernel's dev_t (major << 20 | minor) in the encoding of st_dev. */
static uint64_t user_dev(uint32_t kdev)
{
	return makedev(kdev >> 20, kdev & ((1U << 20) - 1));
}

/* the kernel side's levels are the ancestry table's */
_Static_assert(LEVELS == NLEVELS, "bpf/trace.h LEVELS and lib/ancestry.h NLEVELS differ");

/* A level's member name: "pid", "parent_pid", "gparent_pid", ... */
static const char *pkey(char key[32], int level, const char *name)
{
	snprintf(key, 32, "%s%s", ancestry[level].prefix, name);
	return key;
}

static void put_ident(struct buf *b, const struct clocks *c,
		      const struct ident *id, bool valid)
{
	for (int l = 0; l < LEVELS; l++) {
		const struct proc_ident *p = &id->proc[l];
		/* a level that does not exist (the parent of init) or is not
		 * known gets nulls: the stage ran and could not tell */
		bool ok = valid && p->pid > 0, file = ok && p->exe_ino;
		char k[32];

		emit_u64_if(b, pkey(k, l, "pid"), ok, p->pid);
		emit_u64_if(b, pkey(k, l, "start_ns"), ok, p->start_boot_ns + c->boot_to_real);
		if (ok)
			emit_str(b, pkey(k, l, "comm"), p->comm, strnlen(p->comm, COMM_LEN));
		else
			emit_null(b, pkey(k, l, "comm"));
		emit_u64_if(b, pkey(k, l, "exe_dev"), file, user_dev(p->exe_dev));
		emit_u64_if(b, pkey(k, l, "exe_ino"), file, p->exe_ino);
	}
	emit_u64_if(b, "uid", valid, id->uid);
	emit_u64_if(b, "gid", valid, id->gid);
	emit_u64_if(b, "cgroup_id", valid, id->cgroup_id);
	emit_u64_if(b, "netns", valid, id->netns);
	emit_u64_if(b, "mntns", valid, id->mntns);
}

/* The socket whose bytes a dns or hello record carries: pid and netns 0, not known. */
static void put_sock(struct buf *b, uint64_t cookie, uint32_t pid, uint32_t netns)
{
	emit_u64(b, "sock_cookie", cookie);
	emit_u64_if(b, "pid", pid != 0, pid);
	emit_u64_if(b, "netns", netns != 0, netns);
}

/* Bytes as the kernel copied them: base64, their number, and whether there were more. */
static void put_payload(struct buf *b, const void *data, size_t len, bool truncated)
{
	emit_key(b, "payload_b64");
	buf_putc(b, '"');
	base64_put(b, data, len);
	buf_putc(b, '"');
	emit_u64(b, "payload_bytes", len);
	emit_bool(b, "payload_truncated", truncated);
}

static const char *family_name(unsigned f)
{
	switch (f) {
	case AF_INET: return "inet";
	case AF_INET6: return "inet6";
	case AF_PACKET: return "packet";
	default: return NULL;
	}
}

static void put_sock_type(struct buf *b, unsigned t)
{
	static const char *const names[] = {
		[1] = "stream", [2] = "dgram", [3] = "raw", [5] = "seqpacket",
	};

	emit_key(b, "sock_type");
	if (t < sizeof(names) / sizeof(names[0]) && names[t])
		json_put_cstr(b, names[t]);
	else
		buf_printf(b, "\"%u\"", t);
}

static void put_proto(struct buf *b, const struct flow_addr *a)
{
	emit_key(b, "proto");
	if (a->family == AF_PACKET) {
		buf_printf(b, "\"0x%04x\"", a->proto);
		return;
	}
	switch (a->proto) {
	case 6: json_put_cstr(b, "tcp"); break;
	case 17: json_put_cstr(b, "udp"); break;
	case 136: json_put_cstr(b, "udplite"); break;
	case 1: json_put_cstr(b, "icmp"); break;
	case 58: json_put_cstr(b, "icmpv6"); break;
	default: buf_printf(b, "\"%u\"", a->proto); break;
	}
}

static void put_addr(struct buf *b, const char *key, unsigned family,
		     const unsigned char *addr)
{
	char text[INET6_ADDRSTRLEN];

	emit_key(b, key);
	if ((family != AF_INET && family != AF_INET6) ||
	    !inet_ntop(family, addr, text, sizeof(text))) {
		buf_puts(b, "\"\"");
		return;
	}
	json_put_cstr(b, text);
}

void write_flow(struct output *o, const struct clocks *c, struct flow *f,
		const char *phase, uint64_t now_real)
{
	struct buf *b = &o->b;
	const struct flow_addr *a = &f->addr;
	const char *fam = family_name(a->family);

	emit_begin(b, "flow", now_real);
	emit_cstr(b, "phase", phase);
	emit_u64(b, "sock_cookie", f->key.cookie);
	emit_u64(b, "from_ns", f->from_ns ? f->from_ns : now_real);
	emit_u64(b, "to_ns", now_real);
	put_ident(b, c, &f->id, f->have_id);
	emit_key(b, "family");
	if (fam)
		json_put_cstr(b, fam);
	else
		buf_printf(b, "\"%u\"", a->family);
	put_sock_type(b, a->sock_type);
	put_proto(b, a);
	if (a->family == AF_PACKET) {
		emit_cstr(b, "laddr", "");
		emit_u64(b, "lport", 0);
		emit_cstr(b, "raddr", "");
		emit_u64(b, "rport", 0);
		emit_u64(b, "ifindex", a->lport);
	} else {
		put_addr(b, "laddr", a->family, a->laddr);
		emit_u64(b, "lport", a->lport);
		put_addr(b, "raddr", a->family, a->raddr);
		emit_u64(b, "rport", a->rport);
	}
	if (f->outcome)
		emit_cstr(b, "outcome", f->outcome);
	else
		emit_null(b, "outcome");
	/* two processes hold the socket: its owner first */
	emit_key(b, "holders");
	if (f->shared && f->have_id)
		buf_printf(b, "[%u,%u]", f->id.proc[0].pid, f->shared);
	else
		buf_puts(b, "null");
	emit_u64(b, "send_bytes", f->pending.send_bytes);
	emit_u64(b, "recv_bytes", f->pending.recv_bytes);
	if (f->tcp) {
		/* counting TCP calls would need a hook on every call */
		emit_null(b, "send_calls");
		emit_null(b, "recv_calls");
	} else {
		emit_u64(b, "send_calls", f->pending.send_calls);
		emit_u64(b, "recv_calls", f->pending.recv_calls);
	}
	emit_end(b);
	memset(&f->pending, 0, sizeof(f->pending));
	f->from_ns = now_real;
}

void write_exec(struct output *o, const struct clocks *c,
		const struct ev_exec *e, uint64_t ts_real)
{
	struct buf *b = &o->b;

	emit_begin(b, "exec", ts_real);
	put_ident(b, c, &e->id, true);
	emit_str(b, "filename", e->filename, strnlen(e->filename, FILENAME_LEN));
	emit_end(b);
}

/*
 * A DNS message received from port 53 or sent to it, passed on as the
 * bytes the kernel copied: this process holds CAP_BPF and CAP_SYS_ADMIN, so it reads no
 * field of a packet that anyone on the network can forge. snitch-resolve,
 * which runs without them, decodes it (cmd/snitch-resolve/dnsmsg.c).
 */
void write_dns(struct output *o, const struct ev_dns *e, uint64_t ts_real)
{
	struct buf *b = &o->b;
	size_t len = e->len < DNS_MAX ? e->len : DNS_MAX;

	emit_begin(b, "dns", ts_real);
	put_sock(b, e->cookie, e->pid, e->netns);
	put_addr(b, "server", e->family, e->server);
	emit_cstr(b, "direction", e->sent ? "sent" : "received");
	put_payload(b, e->data, len, e->truncated);
	emit_end(b);
}

void write_syscalls(struct output *o, const struct clocks *c, const struct ident *id,
		    const char *const *names, const uint64_t *delta, int n,
		    uint64_t from_real, uint64_t now_real)
{
	struct buf *b = &o->b;
	bool first = true;

	emit_begin(b, "syscalls", now_real);
	emit_u64(b, "from_ns", from_real);
	emit_u64(b, "to_ns", now_real);
	put_ident(b, c, id, true);
	emit_key(b, "syscalls");
	buf_putc(b, '{');
	for (int i = 0; i < n; i++) {
		if (!delta[i])
			continue;
		if (!first)
			buf_putc(b, ',');
		first = false;
		json_put_cstr(b, names[i]);
		buf_putc(b, ':');
		buf_put_u64(b, delta[i]);
	}
	buf_putc(b, '}');
	emit_end(b);
}

/*
 * A TCP client's first bytes, passed on as copied, for snitch-resolve to
 * read the name in them (cmd/snitch-resolve/hello.c), as for dns.
 */
void write_hello(struct output *o, const struct ev_hello *e, uint64_t ts_real)
{
	struct buf *b = &o->b;
	size_t len = e->len < HELLO_MAX ? e->len : HELLO_MAX;

	emit_begin(b, "hello", ts_real);
	put_sock(b, e->cookie, e->pid, e->netns);
	emit_cstr(b, "proto", e->proto == IPPROTO_UDP ? "udp" : "tcp");
	put_addr(b, "raddr", e->family, e->raddr);
	emit_u64(b, "rport", e->rport);
	put_payload(b, e->data, len, e->truncated);
	emit_end(b);
}
