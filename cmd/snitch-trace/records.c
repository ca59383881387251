/* SPDX-License-Identifier: MIT */
/* The records snitch-trace writes: flow, exec, dns (docs/records.md). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>

#include "ancestry.h"
#include "emit.h"
#include "trace.h"

/* The kernel's dev_t (major << 20 | minor) in the encoding of st_dev. */
static uint64_t user_dev(uint32_t kdev)
{
	return makedev(kdev >> 20, kdev & ((1U << 20) - 1));
}

/* the kernel side's levels are the ancestry table's */
_Static_assert(LEVELS == NLEVELS, "bpf/trace.h LEVELS and lib/ancestry.h NLEVELS differ");

static void emit_pkey(struct buf *b, int level, const char *name)
{
	char key[32];

	snprintf(key, sizeof(key), "%s%s", ancestry[level].prefix, name);
	emit_key(b, key);
}

static void put_ident(struct buf *b, const struct clocks *c,
		      const struct ident *id, bool valid)
{
	for (int l = 0; l < LEVELS; l++) {
		const struct proc_ident *p = &id->proc[l];
		/* a level that does not exist (the parent of init) or is not
		 * known gets nulls: the stage ran and could not tell */
		bool ok = valid && p->pid > 0;

		emit_pkey(b, l, "pid");
		if (ok) buf_put_u64(b, p->pid); else buf_puts(b, "null");
		emit_pkey(b, l, "start_ns");
		if (ok) buf_put_u64(b, p->start_boot_ns + c->boot_to_real); else buf_puts(b, "null");
		emit_pkey(b, l, "comm");
		if (ok) json_put_str(b, p->comm, strnlen(p->comm, COMM_LEN)); else buf_puts(b, "null");
		emit_pkey(b, l, "exe_dev");
		if (ok && p->exe_ino) buf_put_u64(b, user_dev(p->exe_dev)); else buf_puts(b, "null");
		emit_pkey(b, l, "exe_ino");
		if (ok && p->exe_ino) buf_put_u64(b, p->exe_ino); else buf_puts(b, "null");
	}
	if (valid) {
		emit_u64(b, "uid", id->uid);
		emit_u64(b, "gid", id->gid);
		emit_u64(b, "cgroup_id", id->cgroup_id);
		emit_u64(b, "netns", id->netns);
		emit_u64(b, "mntns", id->mntns);
	} else {
		emit_null(b, "uid");
		emit_null(b, "gid");
		emit_null(b, "cgroup_id");
		emit_null(b, "netns");
		emit_null(b, "mntns");
	}
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

/* ---- DNS responses (RFC 1035, 3596) ---- */

struct dns_reader {
	const unsigned char *p;
	size_t len, off;
};

/*
 * Read a possibly compressed name at *off into out (dotted, no final
 * dot). Returns false if it runs off the message or loops.
 */
static bool dns_name(const struct dns_reader *r, size_t *off, struct buf *out)
{
	size_t pos = *off, hops = 0;
	bool jumped = false;

	for (;;) {
		unsigned n;

		if (pos >= r->len)
			return false;
		n = r->p[pos];
		if ((n & 0xc0) == 0xc0) {
			if (pos + 1 >= r->len || ++hops > 32)
				return false;
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			pos = (size_t)(n & 0x3f) << 8 | r->p[pos + 1];
			continue;
		}
		if (n & 0xc0)
			return false;	/* reserved label types */
		pos++;
		if (n == 0)
			break;
		if (pos + n > r->len)
			return false;
		if (out) {
			if (out->len)
				buf_putc(out, '.');
			buf_append(out, r->p + pos, n);
		}
		pos += n;
	}
	if (!jumped)
		*off = pos;
	return true;
}

static const char *qtype_name(unsigned t, char *tmp, size_t size)
{
	switch (t) {
	case 1: return "A";
	case 2: return "NS";
	case 5: return "CNAME";
	case 6: return "SOA";
	case 12: return "PTR";
	case 15: return "MX";
	case 16: return "TXT";
	case 28: return "AAAA";
	case 33: return "SRV";
	case 64: return "SVCB";
	case 65: return "HTTPS";
	case 255: return "ANY";
	}
	snprintf(tmp, size, "%u", t);
	return tmp;
}

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

bool write_dns(struct output *o, const struct ev_dns *e, uint64_t ts_real)
{
	struct dns_reader r = { e->data, e->len, 12 };
	struct buf qname = BUF_INIT, *b = &o->b;
	unsigned flags, qd, an, qtype;
	char tmp[16], addr[INET6_ADDRSTRLEN];
	bool any = false;

	if (e->len < 12)
		return false;
	flags = get16(e->data + 2);
	qd = get16(e->data + 4);
	an = get16(e->data + 6);
	if (!(flags & 0x8000) || qd != 1)
		return false;	/* not a response to one question */
	if (!dns_name(&r, &r.off, &qname) || r.off + 4 > r.len) {
		buf_release(&qname);
		return false;
	}
	qtype = get16(r.p + r.off);
	r.off += 4;

	emit_begin(b, "dns", ts_real);
	emit_u64(b, "sock_cookie", e->cookie);
	emit_key(b, "pid");
	if (e->pid) buf_put_u64(b, e->pid); else buf_puts(b, "null");
	emit_key(b, "netns");
	if (e->netns) buf_put_u64(b, e->netns); else buf_puts(b, "null");
	put_addr(b, "server", e->family, e->server);
	emit_str(b, "qname", qname.p ? qname.p : "", qname.len);
	emit_cstr(b, "qtype", qtype_name(qtype, tmp, sizeof(tmp)));
	emit_u64(b, "rcode", flags & 0xf);
	emit_key(b, "answers");
	buf_putc(b, '[');
	for (unsigned i = 0; i < an; i++) {
		unsigned type, rdlen;
		uint32_t ttl;

		if (!dns_name(&r, &r.off, NULL) || r.off + 10 > r.len)
			break;	/* cut short at the captured length */
		type = get16(r.p + r.off);
		ttl = (uint32_t)get16(r.p + r.off + 4) << 16 | get16(r.p + r.off + 6);
		rdlen = get16(r.p + r.off + 8);
		r.off += 10;
		if (r.off + rdlen > r.len)
			break;
		if ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16)) {
			inet_ntop(type == 1 ? AF_INET : AF_INET6, r.p + r.off,
				  addr, sizeof(addr));
			if (any)
				buf_putc(b, ',');
			buf_puts(b, "{\"addr\":");
			json_put_cstr(b, addr);
			buf_puts(b, ",\"ttl_s\":");
			buf_put_u64(b, ttl);
			buf_putc(b, '}');
			any = true;
		}
		r.off += rdlen;
	}
	buf_putc(b, ']');
	emit_end(b);
	buf_release(&qname);
	return true;
}
