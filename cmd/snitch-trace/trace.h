/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_TRACE_H
#define SNITCH_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/types.h>

#include "bpf/trace.h"
#include "output.h"
#include "table.h"

#define STAGE "snitch-trace"

struct trace_opts {
	uint64_t interval_ms;
	const char *syscalls;		/* --syscalls: NULL or "none" is off */
	uint64_t max_syscall_procs;
	uint64_t ringbuf_kb;
	uint64_t max_flows;
	const char *queue_size;		/* --queue-size, parsed into queue_bytes */
	uint64_t queue_bytes;
	uint64_t stats_s;
	const char *cgroup;
	bool no_exec;
	bool no_dns;
	bool no_hello;
	bool no_packet;
	bool verbose;
};

/* Time bases: records carry realtime ns; the kernel gives boottime ns. */
struct clocks {
	uint64_t boot_to_real;		/* fixed at start: process start times */
};

/* A flow as userspace follows it (flows.c). */
struct flow {
	struct flow_key key;
	struct flow_addr addr;
	struct ident id;
	bool have_id;
	bool inherited;			/* id is its listener's owner's, not confirmed */
	uint32_t shared;		/* another process holding the socket, 0: none */
	bool announced;			/* its "new" record was written */
	bool closing;			/* datagram socket released: end at next drain */
	bool tcp;
	const char *outcome;		/* docs/records.md; NULL: none known */
	struct flow_counts last;	/* datagrams: counters last read from the map */
	struct flow_counts pending;	/* counted, not yet written */
	uint64_t from_ns;		/* realtime start of the current interval */
	uint64_t seen_mono;		/* when userspace first heard of it */
	uint64_t changed_mono;		/* last time its counters moved */
	UT_hash_handle hh;		/* by key */
	struct flow_sock *sock;		/* its socket: key.cookie */
	struct flow *cprev, *cnext;	/* the socket's other flows */
};

/* A socket's flows (a datagram socket has one per peer), by cookie. */
struct flow_sock {
	uint64_t cookie;
	struct flow *flows;
	UT_hash_handle hh;
};

struct flow_table {
	struct flow *tab;		/* by key, in the order first seen */
	struct flow_sock *socks;	/* by cookie */
};

void flows_init(struct flow_table *t);
void flows_release(struct flow_table *t);
struct flow *flow_find(struct flow_table *t, const struct flow_key *k);
struct flow *flow_get(struct flow_table *t, const struct flow_key *k, bool *created);
void flow_remove(struct flow_table *t, struct flow *f);
/* The flows of one socket: flow_first_of(), then flow_next_of(). */
struct flow *flow_first_of(struct flow_table *t, uint64_t cookie);
struct flow *flow_next_of(struct flow *f);
/* Every flow, in the order first seen; f may be removed in the loop. */
#define flow_for_each(t, f, tmp) HASH_ITER(hh, (t)->tab, f, tmp)

/* Records (records.c). phase: "new", "update", "end". */
void write_flow(struct output *o, const struct clocks *c, struct flow *f,
		const char *phase, uint64_t now_real);
void write_exec(struct output *o, const struct clocks *c,
		const struct ev_exec *e, uint64_t ts_real);
void write_dns(struct output *o, const struct ev_dns *e, uint64_t ts_real);
/* A syscalls record: the counts of delta[i] > 0, named names[i]. */
void write_syscalls(struct output *o, const struct clocks *c, const struct ident *id,
		    const char *const *names, const uint64_t *delta, int n,
		    uint64_t from_real, uint64_t now_real);

void write_hello(struct output *o, const struct ev_hello *e, uint64_t ts_real);

/* ---- system calls counted per process (syscalls.c) ---- */

/* The security-relevant calls bpfsnitch counts, and the network ones. */
#define SYSCALLS_DEFAULT \
	"clone clone3 fork vfork execve execveat mknod mknodat chroot mount umount2\n" \
	"pivot_root setuid setgid setreuid setregid setresuid setresgid ptrace\n" \
	"init_module finit_module delete_module bpf unshare setns\n" \
	"socket connect accept accept4 bind listen"

struct syscall_set {
	int n;
	int nr[SYSCALL_SLOTS];
	const char *name[SYSCALL_SLOTS];
};

/*
 * LIST: names separated by commas, spaces or newlines, "default" (SYSCALLS_DEFAULT,
 * less the calls this architecture lacks), or "none"/"" (set->n = 0).
 * Returns 0, or -EINVAL with a message for an unknown name or too many.
 */
int syscalls_parse(const char *list, struct syscall_set *set, char *err, size_t errsize);
/* The number of a system call of this architecture, or -1. */
int syscall_number(const char *name);

/* Per-process counts read from the kernel, the deltas written (syscalls.c). */
struct syscall_procs;
struct syscall_procs *syscall_procs_new(void);
void syscall_procs_free(struct syscall_procs *p);
/* Read the map (fd), write a record per process whose counts moved, forget the gone. */
void syscall_procs_drain(struct syscall_procs *p, int fd, const struct syscall_set *set,
			 struct output *o, const struct clocks *c, uint64_t now_real);

/* ---- the output queue (queue.c) ---- */

/*
 * Records wait in out->b, from byte 'head' on, until the reader takes them:
 * never more than 'limit' bytes, and never a part of one record.
 */
struct outq {
	struct output *out;
	size_t head;			/* bytes of out->b already written */
	uint64_t limit;			/* --queue-size */
	uint64_t peak;			/* most bytes queued since the caller reset it */
	uint64_t dropped;		/* records dropped: the queue was full */
	int saved_fl;			/* the descriptor's flags before, or -1 */
};

void outq_init(struct outq *q, struct output *out, uint64_t limit);
/* O_NONBLOCK on a pipe or socket: 1; anything else is left blocking: 0; or -errno. */
int outq_nonblock(struct outq *q);
/* The descriptor's flags as they were (at exit: the pipe may be shared). */
void outq_restore(struct outq *q);
size_t outq_len(const struct outq *q);
bool outq_full(const struct outq *q);
/*
 * After records were added from byte 'at' of out->b on: if the queue is
 * over its limit, drop the last of them, whole, until it is not (records
 * before 'at' stay). Returns the records dropped (also added to dropped).
 */
uint64_t outq_trim(struct outq *q, size_t at);
/* Write what the reader takes without waiting. 0, or the sticky -errno. */
int outq_write(struct outq *q);
/* Write it all, waiting at most until deadline (monotonic ns). 0, -ETIMEDOUT or -errno. */
int outq_flush(struct outq *q, uint64_t deadline_mono);
/* "268435456", "64K", "256M", "1G" (also "256MiB", "256MB": powers of 1024). */
int outq_parse_size(const char *s, uint64_t *out);

#endif
