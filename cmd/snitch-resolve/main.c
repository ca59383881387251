/* SPDX-License-Identifier: MIT */
/*
 * snitch-resolve: who is talking. Adds to each record the executable
 * path, name, command line and user of the process, its parent and its
 * grandparent; the container; and the domain of the remote address.
 */
#include <errno.h>
#include <linux/capability.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ancestry.h"
#include "base64.h"
#include "cli.h"
#include "clock.h"
#include "dnsmsg.h"
#include "hello.h"
#include "emit.h"
#include "exitcode.h"
#include "heap.h"
#include "log.h"
#include "privs.h"
#include "resolve.h"
#include "sig.h"
#include "stage.h"
/* dns_malformed error records an interval (--stats-s); the rest are counted */
#define DNS_ERRORS_MAX 10
/* Once a minute (or every --forget-after-s, if shorter), what no longer
 * serves is forgotten: the processes that exited and were not named for
 * --forget-after-s, the addresses whose names expired (procs_expire,
 * domains_expire). */
#define EXPIRE_EVERY_NS (60ULL * 1000000000ULL)
#define EXPIRE_PROCS_MAX 4096


enum {
	K_PID, K_START, K_COMM, K_DEV, K_INO, K_PATH, K_NAME,
	KEYS_PER_LEVEL,
};
enum {
	K_TYPE = NLEVELS * KEYS_PER_LEVEL, K_UID, K_CGROUP, K_NETNS, K_RADDR,
	K_CONTAINER, K_DOMAIN, K_ANSWERS, K_QNAME, K_FILENAME, K_MNTNS,
	K_COOKIE, K_PHASE, NKEYS,
};

/* The members of one level, then those of the record (order of the enums). */
static const char *const level_keys[KEYS_PER_LEVEL] = {
	"pid", "start_ns", "comm", "exe_dev", "exe_ino", "exe_path", "name",
};
static const char *const record_keys[NKEYS - K_TYPE] = {
	"type", "uid", "cgroup_id", "netns", "raddr", "container_runtime",
	"domain", "answers", "qname", "filename", "mntns", "sock_cookie", "phase",
};

struct resolver {
	const struct resolve_opts *opt;
	struct stage st;
	const char *keys[NKEYS];	/* level_keys for each level, then record_keys */
	char key_text[K_TYPE][ANCESTRY_KEY_MAX];
	struct procs *procs;
	struct containers *containers;
	struct domains *domains;
	struct resolve_stats stats;
	uint64_t dns_errors_said;	/* dns_malformed error records this interval */
	uint64_t next_stats;		/* monotonic */
	uint64_t next_expire;		/* monotonic */
	uint64_t my_mntns;		/* our own mount namespace's inode */
	struct buf tmp;
	struct buf name;		/* an exec record's filename */
	const char *appimage;		/* the record's process's AppImage, or NULL */
	struct buf block;		/* a container block with that app */
	struct buf dns_bytes;		/* a dns record's message, decoded from base64 */
	struct dns_msg dns;
	struct asked *asked;		/* names clients asked for, by socket */
	size_t nasked;
};

static void put_key(struct buf *b, int level, const char *name)
{
	buf_putc(b, '"');
	buf_puts(b, ancestry[level].prefix);
	buf_puts(b, name);
	buf_puts(b, "\":");
}

static void report_mismatch(struct resolver *r, struct proc_facts *f,
			    uint64_t dev, uint64_t ino)
{
	char msg[512];
	struct buf *b = &r->st.out.b;

	if (f->mismatch_reported)
		return;
	f->mismatch_reported = true;
	if (f->have_exe)
		snprintf(msg, sizeof(msg),
			 "pid %u: '%s' is device %llu inode %llu, not its executable (device %llu, inode %llu): the path is left null",
			 f->pid, f->exe_path, (unsigned long long)f->exe_dev,
			 (unsigned long long)f->exe_ino, (unsigned long long)dev,
			 (unsigned long long)ino);
	else
		snprintf(msg, sizeof(msg),
			 "pid %u: its executable '%s' (device %llu, inode %llu) no longer exists there: the path is left null",
			 f->pid, f->exe_path, (unsigned long long)dev, (unsigned long long)ino);
	log_limited("%s", msg);
	emit_error_begin(b, STAGE, "exe_path_mismatch", msg);
	emit_u64(b, "pid", f->pid);
	emit_cstr(b, "path", f->exe_path);
	emit_u64(b, "dev", dev);
	emit_u64(b, "ino", ino);
	emit_end(b);
}

/*
 * An exec record's filename, learnt as the path of its executable for a
 * process that exited before it could be read: only an absolute path, in
 * our own mount namespace, that names the very file the kernel ran (a
 * script's path names the script, not its interpreter, and is not taken).
 */
static void learn_exec_filename(struct resolver *r, struct record *rec,
				const struct record_member **m, uint64_t dev, uint64_t ino)
{
	uint64_t mntns = 0;
	struct stat sb;

	if (!m[K_FILENAME] || record_member_u64(rec, m[K_MNTNS], &mntns) < 0 || !mntns ||
	    mntns != r->my_mntns)
		return;
	buf_reset(&r->name);
	if (record_member_str(rec, m[K_FILENAME], &r->name) < 0)
		return;
	buf_putc(&r->name, '\0');
	if (r->name.oom || r->name.p[0] != '/' || strlen(r->name.p) != r->name.len - 1 ||
	    stat(r->name.p, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_ino != ino || (uint64_t)sb.st_dev != dev)
		return;
	procs_learn_path(r->procs, dev, ino, r->name.p);
}

/*
 * The process at one level, as read (or read again: it exec'd since), or
 * NULL when what is known of it would name another program.
 */
static struct proc_facts *level_proc(struct resolver *r, uint64_t pid, uint64_t start,
				     const char *comm, size_t comm_len, bool have_id,
				     uint64_t ino, bool exec_here)
{
	struct proc_facts *f;

	if (pid == 0 || pid > UINT32_MAX)
		return NULL;
	/* an exec record: the process runs something new */
	f = procs_get(r->procs, (uint32_t)pid, start, comm, comm_len, exec_here);
	/* another executable than we saw: it exec'd since; look again */
	if (f && have_id && f->have_exe && f->exe_ino != ino)
		f = procs_get(r->procs, (uint32_t)pid, start, comm, comm_len, true);
	/*
	 * Still another executable, and the process is gone: what is known
	 * of it is the program before its exec (a shell's child that ran
	 * this one, read before the exec). Its name and command line would
	 * name the wrong program: the record's own.
	 */
	if (f && have_id && f->have_exe && f->exe_ino != ino &&
	    !procs_alive(r->procs, (uint32_t)pid, start))
		return NULL;
	/* the same program as read, under another comm: that comm */
	if (f && have_id && f->have_exe && f->exe_ino == ino)
		procs_name(f, comm, comm_len);
	return f;
}

/* A level's exe_path and exe_fileless members, each followed by a comma. */
static void put_exe_path(struct resolver *r, struct buf *b, int l, struct proc_facts *f,
			 bool have_id, uint64_t dev, uint64_t ino)
{
	const char *fileless = "null";	/* unknown */
	const char *path;
	bool known_exe = f && f->exe_path;

	put_key(b, l, "exe_path");
	if (f && f->fileless_path && have_id && f->have_run &&
	    f->run_ino == ino && f->run_dev == dev) {
		/* no file at its path (a memfd, or deleted or replaced since
		 * it started): named by the kernel's link */
		json_put_cstr(b, f->fileless_path);
		fileless = "true";
	} else if (known_exe && have_id && f->have_exe && f->exe_ino == ino &&
		   (f->exe_dev == dev || f->exe_btrfs)) {
		json_put_cstr(b, f->exe_path);
		fileless = "false";
	} else if (known_exe && have_id) {
		/*
		 * Either the file at the path was replaced (deleted, or gone) -
		 * worth an error - or the process has simply exec'd again
		 * since (a "#!/usr/bin/env" script: env, then the
		 * interpreter), which is no error. Either way the path is that
		 * of the executable if it was seen.
		 */
		if (f->exe_deleted)
			report_mismatch(r, f, dev, ino);
		r->stats.paths_mismatched++;
		if ((path = procs_path_of(r->procs, dev, ino))) {
			json_put_cstr(b, path);
			fileless = "false";
		} else {
			buf_puts(b, "null");
		}
	} else if (!f && have_id && (path = procs_path_of(r->procs, dev, ino))) {
		json_put_cstr(b, path);	/* gone, but its executable is known */
		fileless = "false";
	} else {
		buf_puts(b, "null");
	}
	buf_putc(b, ',');
	put_key(b, l, "exe_fileless");
	buf_puts(b, fileless);
	buf_putc(b, ',');
}

/* The members of one level: exe_path, then name, cmdline and user. */
static void resolve_level(struct resolver *r, struct record *rec, int l,
			  const struct record_member **m, uint64_t uid,
			  bool have_uid, bool is_exec)
{
	const struct record_member **lm = m + l * KEYS_PER_LEVEL;
	struct buf *b = &r->tmp;
	uint64_t pid = 0, start = 0, dev = 0, ino = 0;
	struct proc_facts *f;
	const char *comm = NULL;
	size_t comm_len = 0;
	bool have_id;

	if (!lm[K_PID] || lm[K_NAME])
		return;		/* no process at this level, or resolved already */
	(void)record_member_u64(rec, lm[K_PID], &pid);
	(void)record_member_u64(rec, lm[K_START], &start);
	have_id = record_member_u64(rec, lm[K_DEV], &dev) == 0 &&
		  record_member_u64(rec, lm[K_INO], &ino) == 0;
	if (lm[K_COMM] && lm[K_COMM]->type == JSON_STRING && !lm[K_COMM]->val_escaped) {
		comm = record_val(rec, lm[K_COMM]) + 1;
		comm_len = lm[K_COMM]->val_len - 2;
	}
	f = level_proc(r, pid, start, comm, comm_len, have_id, ino, is_exec && l == 0);

	/*
	 * Not read in time - gone, or a zombie without its exe link: the path
	 * its executable was seen under, or the one its exec record named.
	 */
	if (have_id && !(f && f->exe_path && (f->have_exe || f->exe_deleted))) {
		if (l == 0 && is_exec && !procs_path_of(r->procs, dev, ino))
			learn_exec_filename(r, rec, m, dev, ino);
		if (f)
			(void)procs_adopt_path(r->procs, f, dev, ino);
	}

	buf_reset(b);
	if (!lm[K_PATH])
		put_exe_path(r, b, l, f, have_id, dev, ino);
	if (l == 0)
		r->appimage = f ? f->appimage : NULL;
	if (f && f->blocks) {
		r->stats.processes_resolved++;
		buf_append(b, f->blocks + f->block_at[l], f->block_at[l + 1] - f->block_at[l]);
	} else {
		/* gone before it could be seen (or no memory to render what
		 * was): what the record itself says */
		if (pid && !f)
			r->stats.processes_unknown++;
		put_key(b, l, "name");
		if (comm)
			buf_append(b, record_val(rec, lm[K_COMM]), lm[K_COMM]->val_len);
		else
			buf_puts(b, "null");
		buf_putc(b, ',');
		put_key(b, l, "cmdline");
		buf_puts(b, "null,");
		put_key(b, l, "user");
		buf_puts(b, l == 0 && have_uid ? user_json((uint32_t)uid) : "null");
	}
	(void)record_add_members(rec, b->p, b->len);
}

/*
 * A dns record from snitch-trace carries the bytes of the message, which
 * are decoded here, without the tracer's privileges (dnsmsg.c): add
 * qname, qtype, rcode and answers, and learn the name of each address. A
 * query the process sent ("direction":"sent") gives its qname and qtype.
 * A message that cannot be decoded gives an error record, and nulls.
 */
static void decode_dns(struct resolver *r, struct record *rec, uint32_t pid,
		       uint64_t netns)
{
	const struct record_member *p = record_find(rec, "payload_b64");
	const struct record_member *cut = record_find(rec, "payload_truncated");
	bool sent = record_member_is(rec, record_find(rec, "direction"), "sent");
	struct dns_msg *dm = &r->dns;
	const char *why = "its payload_b64 is not base64";
	uint64_t cookie = 0;
	long n = -EINVAL;
	int e = -EBADMSG;

	/* nothing to decode, or decoded already: another program's record */
	if (!p || p->type != JSON_STRING || record_find(rec, "qtype") ||
	    record_find(rec, "rcode"))
		return;
	buf_reset(&r->tmp);
	if (record_member_str(rec, p, &r->tmp) < 0 || r->tmp.oom) {
		e = -ENOMEM;
	} else if (r->tmp.len > (DNS_MSG_MAX + 2) / 3 * 4) {
		why = "longer than a DNS message can be";
	} else {
		buf_reset(&r->dns_bytes);
		if (buf_reserve(&r->dns_bytes, BASE64_DECODED_MAX(r->tmp.len) + 1) < 0)
			e = -ENOMEM;
		else
			n = base64_decode(r->tmp.p, r->tmp.len,
					  (unsigned char *)r->dns_bytes.p);
	}
	if (n >= 0 && sent)
		e = dns_msg_decode_query(dm, (const unsigned char *)r->dns_bytes.p,
					 (size_t)n, &why);
	else if (n >= 0)
		e = dns_msg_decode(dm, (const unsigned char *)r->dns_bytes.p,
				   (size_t)n, cut && cut->type == JSON_TRUE, &why);
	if (n < 0 || e == -ENOMEM)
		dm->valid = false;
	if (e == -ENOMSG)
		r->stats.dns_not_answers++;	/* port 53 carries queries too: no fault */
	else if (e < 0)
		r->stats.dns_malformed++;
	/*
	 * Whoever can send a packet from port 53 chooses its bytes: past
	 * DNS_ERRORS_MAX error records an interval, malformed answers are only
	 * counted (stats' dns_malformed), so they cannot flood the log.
	 */
	if (e < 0 && e != -ENOMSG && e != -ENOMEM && ++r->dns_errors_said > DNS_ERRORS_MAX) {
		if (r->dns_errors_said == DNS_ERRORS_MAX + 1)
			stage_error(&r->st, "dns_malformed",
				    "more than %d dns answers cannot be decoded in %llu s; the rest are counted in the stats record only",
				    DNS_ERRORS_MAX, (unsigned long long)r->opt->stats_s);
	} else if (e < 0 && e != -ENOMSG) {
		struct buf *b = &r->st.out.b;
		char msg[256];

		(void)record_get_u64(rec, "sock_cookie", &cookie);
		if (e == -ENOMEM)
			why = "out of memory";
		snprintf(msg, sizeof(msg), "the dns %s on socket %llu cannot be decoded: %s",
			 sent ? "query" : "answer", (unsigned long long)cookie, why);
		log_limited("%s", msg);
		emit_error_begin(b, STAGE, e == -ENOMEM ? "out_of_memory" : "dns_malformed", msg);
		emit_u64(b, "sock_cookie", cookie);
		emit_end(b);
	}
	buf_reset(&r->tmp);
	dns_msg_put_members(dm, &r->tmp);
	(void)record_add_members(rec, r->tmp.p, r->tmp.len);
	if (!dm->valid || dm->query)
		return;
	for (size_t i = 0; i < dm->nanswers; i++)
		domains_learn(r->domains, dm->answers[i].addr, dm->qname.p,
			      dm->qname.len, pid, netns, dm->answers[i].ttl_s);
}

/* A dns record: learn the name of each address it answered. */
static void learn_dns(struct resolver *r, struct record *rec,
		      const struct record_member **m)
{
	const struct record_member *ans = m[K_ANSWERS], *q = m[K_QNAME];
	uint64_t pid = 0, netns = 0;
	const char *s;
	size_t len;
	struct record a;

	(void)record_get_u64(rec, "pid", &pid);
	(void)record_member_u64(rec, m[K_NETNS], &netns);
	if (!q && !ans) {
		decode_dns(r, rec, (uint32_t)pid, netns);
		return;
	}
	if (!ans || ans->type != JSON_ARRAY || !q || q->type != JSON_STRING)
		return;
	s = record_val(rec, ans);
	len = ans->val_len;
	record_init(&a);
	/* each element is an object: the record parser reads it as one */
	for (size_t pos = 0, start, end; json_array_next(s, len, &pos, &start, &end);) {
		uint64_t ttl = 0;

		if (s[start] != '{' || record_parse(&a, s + start, end - start, NULL) < 0)
			continue;
		buf_reset(&r->tmp);
		(void)record_get_u64(&a, "ttl_s", &ttl);
		if (record_get_str(&a, "addr", &r->tmp) == 0) {
			buf_putc(&r->tmp, '\0');
			domains_learn(r->domains, r->tmp.p, record_val(rec, q),
				      q->val_len, (uint32_t)pid, netns, ttl);
		}
	}
	record_release(&a);
}

/* ---- names clients asked for (hello records) ---- */

#define ASKED_MAX 65536		/* open connections remembered */

/* The name a TCP client asked for on one socket, until its flow ends. */
struct asked {
	uint64_t cookie;
	enum hello_kind kind;
	char name[HELLO_NAME_MAX + 1];
	UT_hash_handle hh;
};

static struct asked *asked_find(struct resolver *r, uint64_t cookie)
{
	struct asked *a;

	HASH_FIND(hh, r->asked, &cookie, sizeof(cookie), a);
	return a;
}

static void asked_drop(struct resolver *r, struct asked *a)
{
	HASH_DEL(r->asked, a);
	free(a);
	r->nasked--;
}

static void asked_free_all(struct resolver *r)
{
	struct asked *a, *tmp;

	HASH_ITER(hh, r->asked, a, tmp)
		asked_drop(r, a);
}

static void asked_put(struct resolver *r, uint64_t cookie, const struct hello *h)
{
	struct asked *a = asked_find(r, cookie);

	if (!a) {
		/* full: the oldest goes (its flow's end was lost) */
		if (r->nasked >= ASKED_MAX)
			asked_drop(r, r->asked);
		a = calloc(1, sizeof(*a));
		if (!a)
			return;
		a->cookie = cookie;
		HASH_ADD(hh, r->asked, cookie, sizeof(a->cookie), a);
		if (!table_added(a, hh)) {
			free(a);
			return;
		}
		r->nasked++;
	}
	a->kind = h->kind;
	memcpy(a->name, h->name, sizeof(a->name));
}

/*
 * A hello record: the first bytes a TCP client sent, or the first QUIC
 * Initial packet a UDP client sent (proto "udp"), read here, outside the
 * privileged tracer, for the name it asked for (hello.c, quic.c). Adds
 * domain, domain_source and hello_status, and remembers the name for the
 * socket's later flow records.
 */
static void decode_hello(struct resolver *r, struct record *rec,
			 const struct record_member **m)
{
	const struct record_member *p = record_find(rec, "payload_b64");
	struct hello h = { .kind = HELLO_NONE, .status = HELLO_MALFORMED };
	uint64_t cookie = 0;
	long n = -1;

	if (m[K_DOMAIN] || !p || p->type != JSON_STRING)
		return;
	buf_reset(&r->tmp);
	if (record_member_str(rec, p, &r->tmp) == 0 && !r->tmp.oom &&
	    r->tmp.len <= (HELLO_BYTES_MAX + 2) / 3 * 4) {
		buf_reset(&r->dns_bytes);
		if (buf_reserve(&r->dns_bytes, BASE64_DECODED_MAX(r->tmp.len) + 1) == 0)
			n = base64_decode(r->tmp.p, r->tmp.len, (unsigned char *)r->dns_bytes.p);
	}
	if (n >= 0 && record_find(rec, "proto") && record_member_is(rec, record_find(rec, "proto"), "udp"))
		hello_parse_quic((const unsigned char *)r->dns_bytes.p, (size_t)n, &h);
	else if (n >= 0)
		hello_parse((const unsigned char *)r->dns_bytes.p, (size_t)n, &h);
	buf_reset(&r->tmp);
	emit_key(&r->tmp, "domain");
	if (h.status == HELLO_FOUND)
		json_put_cstr(&r->tmp, h.name);
	else
		buf_puts(&r->tmp, "null");
	emit_key(&r->tmp, "domain_source");
	if (h.status == HELLO_FOUND)
		json_put_cstr(&r->tmp, hello_source(h.kind));
	else
		buf_puts(&r->tmp, "null");
	emit_cstr(&r->tmp, "hello_status", hello_status_name(h.status));
	/* emit_key writes a leading comma: the members start after it */
	(void)record_add_members(rec, r->tmp.p + 1, r->tmp.len - 1);
	if (h.status == HELLO_FOUND && record_member_u64(rec, m[K_COOKIE], &cookie) == 0)
		asked_put(r, cookie, &h);
}

static const char *const domain_from_name[] = {
	[DOMAIN_DNS_PROCESS] = "dns_process",
	[DOMAIN_DNS_NETNS] = "dns_netns",
	[DOMAIN_DNS_ANY] = "dns_any",
	[DOMAIN_REVERSE] = "reverse",
};

/*
 * A flow's domain: the name its client asked for (SNI, Host) first, then
 * what DNS said of its address (domains.c); when both are known and
 * differ, the DNS one is kept as dns_domain.
 */
static void add_domain(struct resolver *r, struct record *rec,
		       const struct record_member **m, uint64_t pid, uint64_t netns)
{
	enum domain_from from;
	const char *d;
	struct asked *a = NULL;
	uint64_t cookie;
	struct buf *b = &r->tmp;
	char q[HELLO_NAME_MAX + 3];

	if (record_member_u64(rec, m[K_COOKIE], &cookie) == 0)
		a = asked_find(r, cookie);
	buf_reset(b);
	(void)record_member_str(rec, m[K_RADDR], b);
	buf_putc(b, '\0');
	d = domains_lookup(r->domains, b->p, (uint32_t)pid, netns, &from);
	if (d && from != DOMAIN_REVERSE && from != DOMAIN_NONE)
		r->stats.domains_dns++;
	else if (d && from == DOMAIN_REVERSE)
		r->stats.domains_reverse++;
	else if (!a)
		r->stats.domains_unknown++;
	if (a) {
		snprintf(q, sizeof(q), "\"%s\"", a->name);
		(void)record_add_raw(rec, "domain", q, strlen(q));
		if (d && strcmp(d, q))
			(void)record_add_raw(rec, "dns_domain", d, strlen(d));
		else
			(void)record_add_raw(rec, "dns_domain", "null", 4);
		snprintf(q, sizeof(q), "\"%s\"", hello_source(a->kind));
		(void)record_add_raw(rec, "domain_source", q, strlen(q));
		if (record_member_is(rec, m[K_PHASE], "end"))
			asked_drop(r, a);
		return;
	}
	(void)record_add_raw(rec, "domain", d ? d : "null", d ? strlen(d) : 4);
	if (d) {
		snprintf(q, sizeof(q), "\"%s\"", domain_from_name[from]);
		(void)record_add_raw(rec, "domain_source", q, strlen(q));
	} else {
		(void)record_add_raw(rec, "domain_source", "null", 4);
	}
	(void)record_add_raw(rec, "dns_domain", "null", 4);
}

static void on_record(void *ctx, struct stage *st, const char *line,
		      size_t len)
{
	struct resolver *r = ctx;
	struct record *rec = &st->rec;
	const struct record_member *m[NKEYS];
	uint64_t uid = 0, cg = 0, pid = 0, netns = 0;
	bool have_uid;

	(void)line;
	(void)len;
	r->stats.records++;
	record_find_many(rec, r->keys, NKEYS, m);
	if (record_member_is(rec, m[K_TYPE], "dns"))
		learn_dns(r, rec, m);
	if (record_member_is(rec, m[K_TYPE], "hello"))
		decode_hello(r, rec, m);
	/* only flows, execs and syscalls are a process's: the rest pass unchanged */
	if (!record_member_is(rec, m[K_TYPE], "flow") &&
	    !record_member_is(rec, m[K_TYPE], "exec") &&
	    !record_member_is(rec, m[K_TYPE], "syscalls")) {
		record_write(rec, &r->st.out.b);
		return;
	}
	have_uid = record_member_u64(rec, m[K_UID], &uid) == 0;
	/*
	 * The ancestors first: a child that forked without exec and is gone
	 * by now runs its parent's executable, whose path is then known.
	 */
	r->appimage = NULL;
	for (int l = NLEVELS - 1; l >= 0; l--)
		resolve_level(r, rec, l, m, uid, have_uid,
			      record_member_is(rec, m[K_TYPE], "exec"));

	(void)record_member_u64(rec, m[K_PID], &pid);
	if (!m[K_CONTAINER] && (record_member_u64(rec, m[K_CGROUP], &cg) == 0 ||
				(m[K_PID] && pid))) {
		size_t n;
		const char *blk = container_block(r->containers, cg, (uint32_t)pid, &n);
		static const char no_app[] = ",\"app_kind\":\"\",\"app\":\"\"";

		/* no Flatpak or Snap scope: an AppImage is named by its process */
		if (r->appimage && n >= sizeof(no_app) - 1 &&
		    !memcmp(blk + n - (sizeof(no_app) - 1), no_app, sizeof(no_app) - 1)) {
			buf_reset(&r->block);
			buf_append(&r->block, blk, n - (sizeof(no_app) - 1));
			buf_puts(&r->block, ",\"app_kind\":\"appimage\",\"app\":");
			json_put_cstr(&r->block, r->appimage);
			if (!r->block.oom) {
				blk = r->block.p;
				n = r->block.len;
			}
		}
		(void)record_add_members(rec, blk, n);
	}
	if (!m[K_DOMAIN] && record_member_is(rec, m[K_TYPE], "flow") &&
	    m[K_RADDR] && m[K_RADDR]->type == JSON_STRING && m[K_RADDR]->val_len > 2) {
		(void)record_member_u64(rec, m[K_NETNS], &netns);
		add_domain(r, rec, m, pid, netns);
	}
	record_write(rec, &r->st.out.b);
}

static void write_stats(struct resolver *r)
{
	struct buf *b = &r->st.out.b;
	struct heap_use h;

	if (!r->stats.records)
		return;
	emit_begin(b, "stats", clock_real_ns());
	emit_cstr(b, "stage", STAGE);
	emit_u64(b, "interval_s", r->opt->stats_s);
	emit_u64(b, "records", r->stats.records);
	emit_u64(b, "processes_resolved", r->stats.processes_resolved);
	emit_u64(b, "processes_unknown", r->stats.processes_unknown);
	emit_u64(b, "paths_mismatched", r->stats.paths_mismatched);
	emit_u64(b, "domains_dns", r->stats.domains_dns);
	emit_u64(b, "domains_reverse", r->stats.domains_reverse);
	emit_u64(b, "domains_unknown", r->stats.domains_unknown);
	emit_u64(b, "dns_not_answers", r->stats.dns_not_answers);
	emit_u64(b, "dns_malformed", r->stats.dns_malformed);
	emit_u64(b, "processes_cached", procs_count(r->procs));
	emit_u64(b, "addresses_cached", domains_count(r->domains));
	emit_u64(b, "names_asked_cached", r->nasked);
	emit_u64(b, "paths_cached", procs_paths_count(r->procs));
	/* the heap: what malloc holds from the system, and what of it is in use */
	h = heap_use();
	emit_u64(b, "heap_bytes", h.held);
	emit_u64(b, "heap_used_bytes", h.used);
	emit_end(b);
	memset(&r->stats, 0, sizeof(r->stats));
}

static uint64_t on_timer(void *ctx, struct stage *st, uint64_t now)
{
	struct resolver *r = ctx;

	(void)st;
	if (now >= r->next_stats) {
		write_stats(r);
		r->dns_errors_said = 0;
		r->next_stats = now + r->opt->stats_s * 1000000000ULL;
	}
	if (now >= r->next_expire) {
		uint64_t idle = r->opt->forget_s * 1000000000ULL;

		(void)procs_expire(r->procs, now, idle, EXPIRE_PROCS_MAX);
		(void)domains_expire(r->domains, now);
		r->next_expire = now + (idle < EXPIRE_EVERY_NS ? idle : EXPIRE_EVERY_NS);
	}
	/* c-ares's own timeouts are handled by domains_process() */
	domains_process(r->domains, NULL, 0);
	return r->next_stats < r->next_expire ? r->next_stats : r->next_expire;
}

static int poll_fds(void *ctx, struct stage *st, struct pollfd *fds, int max)
{
	struct resolver *r = ctx;
	int timeout = -1, n = domains_pollfds(r->domains, fds, max, &timeout);

	if (timeout >= 0)
		stage_wake_at(st, clock_mono_ns() + (uint64_t)timeout * 1000000ULL);
	return n;
}

static void on_fds(void *ctx, struct stage *st, struct pollfd *fds, int n)
{
	struct resolver *r = ctx;

	(void)st;
	domains_process(r->domains, fds, n);
}

static const struct stage_ops resolve_ops = {
	.on_record = on_record,
	.on_timer = on_timer,
	.poll_fds = poll_fds,
	.on_fds = on_fds,
};

static int run(struct resolver *r)
{
	int ret;

	r->next_stats = clock_mono_ns() + r->opt->stats_s * 1000000000ULL;
	r->next_expire = clock_mono_ns() + EXPIRE_EVERY_NS;
	if (r->opt->forget_s * 1000000000ULL < EXPIRE_EVERY_NS)
		r->next_expire = clock_mono_ns() + r->opt->forget_s * 1000000000ULL;
	stage_wake_at(&r->st, r->next_stats);
	ret = stage_run(&r->st, &resolve_ops, r);
	write_stats(r);
	return stage_finish(&r->st, ret);
}

static const int exit_codes[] = {
	SNITCH_EXIT_OK, SNITCH_EXIT_USAGE, SNITCH_EXIT_IO, SNITCH_EXIT_SOFTWARE, -1,
};

/* What a resolver holds besides its stage: 0, or an exit status. */
static int resolver_open(struct resolver *r, const struct resolve_opts *o)
{
	struct stat sb;
	int err;

	r->opt = o;
	if (stat("/proc/self/ns/mnt", &sb) == 0)
		r->my_mntns = (uint64_t)sb.st_ino;
	r->procs = procs_new(o);
	r->containers = containers_new(o->container_root, o->container_recheck_s, o->cgroup);
	r->domains = domains_new(o, &err);
	if (!r->domains && err) {
		log_msg("cannot start the reverse DNS resolver (c-ares error %d)", err);
		return SNITCH_EXIT_SOFTWARE;
	}
	ancestry_keys(r->keys, r->key_text, level_keys, KEYS_PER_LEVEL);
	memcpy(r->keys + K_TYPE, record_keys, sizeof(record_keys));
	if (!r->procs || !r->containers || !r->domains) {
		log_msg("out of memory");
		return SNITCH_EXIT_SOFTWARE;
	}
	return 0;
}

static void resolver_close(struct resolver *r)
{
	stage_release(&r->st);
	domains_free(r->domains);
	asked_free_all(r);
	containers_free(r->containers);
	procs_free(r->procs);
	users_free();
	buf_release(&r->tmp);
	buf_release(&r->name);
	buf_release(&r->block);
	buf_release(&r->dns_bytes);
	dns_msg_release(&r->dns);
}

int main(int argc, char **argv)
{
	struct resolve_opts o = {
		.cache_size = 16384,
		.forget_s = 600,
		.cmdline_max = 8192,
		.dns_keep_s = 3600,
		.stats_s = 60,
		.reverse_timeout_ms = 2000,
		.container_root = "/",
		.container_recheck_s = 10,
	};
	const struct cli_opt opts[] = {
		{ .name = "reverse-dns", .type = CLI_FLAG, .value = &o.reverse_dns,
		  .env = "SNITCH_RESOLVE_REVERSE_DNS",
		  .help = "name addresses that no dns record named by a reverse (PTR) lookup; it never holds up the stream, so the records of an address are named once its answer is in" },
		{ .name = "reverse-timeout-ms", .type = CLI_UINT, .value = &o.reverse_timeout_ms,
		  .metavar = "MS", .env = "SNITCH_RESOLVE_REVERSE_TIMEOUT_MS", .min = 100, .max = 60000,
		  .help = "give up on a reverse lookup after MS milliseconds" },
		{ .name = "dns-keep-s", .type = CLI_UINT, .value = &o.dns_keep_s,
		  .metavar = "S", .env = "SNITCH_RESOLVE_DNS_KEEP_S", .min = 1, .max = 30 * 86400,
		  .help = "name an address from a dns answer for S seconds, or its TTL if longer" },
		{ .name = "cache-size", .type = CLI_UINT, .value = &o.cache_size,
		  .metavar = "N", .env = "SNITCH_RESOLVE_CACHE_SIZE", .min = 64, .max = 10000000,
		  .help = "remember N processes" },
		{ .name = "forget-after-s", .type = CLI_UINT, .value = &o.forget_s,
		  .metavar = "S", .env = "SNITCH_RESOLVE_FORGET_AFTER_S", .min = 1, .max = 30 * 86400,
		  .help = "forget a process that has exited once no record has named it for S seconds (a living one is kept)" },
		{ .name = "cmdline-max", .type = CLI_UINT, .value = &o.cmdline_max,
		  .metavar = "BYTES", .env = "SNITCH_RESOLVE_CMDLINE_MAX", .min = 64, .max = 131072,
		  .help = "cut command lines longer than BYTES (the cut argument ends with \"\xe2\x80\xa6\")" },
		{ .name = "container-root", .type = CLI_STRING, .value = &o.container_root,
		  .metavar = "DIR", .env = "SNITCH_RESOLVE_CONTAINER_ROOT",
		  .help = "read the container runtimes' and the kubelet's files (DIR/var/lib/docker, DIR/var/lib/containers, DIR/run/containerd, DIR/var/log/pods...) below DIR: where a container running snitch mounts the host's" },
		{ .name = "cgroup", .type = CLI_STRING, .value = &o.cgroup, .metavar = "DIR",
		  .env = "SNITCH_RESOLVE_CGROUP",
		  .help = "the cgroup v2 hierarchy to find a cgroup's path in, by id (default: the cgroup2 mount in /proc/mounts); in a container with a cgroup namespace of its own, where the host's hierarchy is mounted" },
		{ .name = "container-recheck-s", .type = CLI_UINT, .value = &o.container_recheck_s,
		  .metavar = "S", .env = "SNITCH_RESOLVE_CONTAINER_RECHECK_S", .min = 1, .max = 86400,
		  .help = "look again, S seconds later, for a container's name or pod that its files did not give (a container being created)" },
		{ .name = "stats-s", .type = CLI_UINT, .value = &o.stats_s,
		  .metavar = "S", .env = "SNITCH_RESOLVE_STATS_S", .min = 1, .max = 86400,
		  .help = "write a stats record every S seconds" },
	};
	const struct cli cli = {
		.prog = STAGE,
		.usage = "[OPTION]... < RECORDS",
		.summary =
			"Read snitch records (docs/records.md) on standard input and add what a person\n"
			"needs to recognise the talker: for the process, its parent and grandparent\n"
			"(exe_path, exe_fileless, name, name_exe, cmdline, user, script_path,\n"
			"script_dev, script_ino, with parent_ and gparent_ prefixes); the container\n"
			"(container_runtime, container_id, pod_uid, and container_name,\n"
			"container_image, pod_namespace, pod_name from the files of Docker, Podman,\n"
			"containerd, CRI-O and the kubelet) and the desktop app (app_kind, app:\n"
			"Flatpak, Snap or AppImage); and for flows the domain: the name the\n"
			"client asked for (TLS SNI or HTTP Host, from the hello record of its first\n"
			"bytes), else the name of the remote address from the dns records seen\n"
			"earlier, with domain_source saying which. Each dns record's message and each\n"
			"hello record's bytes (payload_b64, from snitch-trace) are read here, without\n"
			"privileges: dns into qname, qtype, rcode and answers.\n"
			"\n"
			"Processes are read from /proc once, when their exec record or first record\n"
			"arrives, and remembered by pid and start time: records of a process that has\n"
			"exited still resolve. A path is given only if it still names the executable\n"
			"the kernel reported (device and inode); else null, and an error record.\n"
			"What cannot be known is null, and counted in a periodic stats record.",
		.examples =
			"  sudo snitch-trace | snitch-resolve | jq -c 'select(.type == \"flow\") | {name, exe_path, cmdline, domain}'\n"
			"  sudo snitch-trace | snitch-resolve | jq -c 'select(.type == \"flow\" and .phase != \"new\") | {name, domain, domain_source, dns_domain}'\n"
			"  sudo snitch-trace | snitch-resolve --reverse-dns | snitch-hash > records.jsonl\n"
			"  snitch-resolve < records.jsonl | jq -c 'select(.container_runtime != \"\") | {name, container_name, container_image, pod_namespace, pod_name}'\n"
			"  snitch-resolve --container-root /host < records.jsonl   # in a container, the host's files mounted at /host/var/...\n",
		.opts = opts,
		.nopts = sizeof(opts) / sizeof(opts[0]),
		.exit_codes = exit_codes,
	};
	struct resolver r;
	int ret;

	memset(&r, 0, sizeof(r));
	if ((ret = stage_parse_cli(&cli, argc, argv)) >= 0 ||
	    (ret = stage_start(&r.st, &cli, "snitch-trace")) >= 0)
		return ret;
	if ((ret = resolver_open(&r, &o)) != 0) {
		resolver_close(&r);
		return ret;
	}
	/*
	 * The stranger's bytes (dns messages, hellos, names) are read as the
	 * user snitch: reading any process's /proc entries (CAP_SYS_PTRACE)
	 * and the container runtimes' files and cgroups by handle
	 * (CAP_DAC_READ_SEARCH), nothing written, sockets only for c-ares.
	 */
	if (privs_drop(&(const struct privs){
		    .caps = PRIVS_CAP(CAP_DAC_READ_SEARCH) | PRIVS_CAP(CAP_SYS_PTRACE),
		    .allow = PRIVS_OPEN_READ | PRIVS_NET }) < 0)
		ret = SNITCH_EXIT_NOPERM;
	else
		ret = run(&r);
	resolver_close(&r);
	return ret;
}
