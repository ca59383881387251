// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * snitch-trace, kernel side: who sends and receives how many bytes.
 *
 * Nothing here runs per send or receive call: a bare program on the
 * sock_send_length/sock_recv_length tracepoints already cost 9% of
 * loopback TCP throughput with 64-byte messages (docs/performance.md).
 *
 * - Identity is read in process context when a socket is created
 *   (cgroup/sock_create) and kept in the socket's local storage; accepted
 *   TCP sockets inherit their listener's (BPF_F_CLONE) until the fd scan
 *   finds the process that holds them.
 * - TCP bytes come from the kernel's own counters (bytes_acked,
 *   bytes_received and the sequence numbers), read by the task_file
 *   iterator every interval and when the socket is destroyed.
 * - UDP, ICMP and raw IP are counted per packet (cgroup_skb); TCP packets
 *   leave those programs at their first test.
 * - AF_PACKET frames are counted per frame at the device queue (send) and
 *   when a frame is queued to the socket (receive).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "compat.h"
#include "trace.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

#define AF_INET 2
#define AF_INET6 10
#define AF_PACKET 17
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define ETH_P_IP 0x0800
#define EPIPE 32
#define ECONNRESET 104

/* Set by userspace before load. */
const volatile bool want_dns = true;
const volatile bool want_exec = true;
/* slot + 1 of each system call counted, 0 for the others (--syscalls) */
const volatile __u8 syscall_slot[SYSCALL_NR_MAX] = {};
const volatile bool want_hello = true;

/*
 * Set by userspace once the UDP socket iterator (scan_udp) runs at each
 * drain: only then are datagrams counted in a socket's storage, and only
 * for sockets in the network namespace the iterator sees (its cookie).
 * The iterator is what moves the counts to the flow table every interval;
 * on this kernel an iterator over the socket storage itself is refused.
 */
bool dg_cache_on;
__u64 dg_netns_cookie;

/*
 * Client sockets established whose first data is not copied yet. While
 * there are none, a TCP packet leaves the egress hook after this one load.
 */
__u64 hello_pending;

/* sock_state.flags */
#define S_IDENT		0x01	/* id holds the owner */
#define S_INHERITED	0x02	/* id is the listener's owner, not yet confirmed */
#define S_TCP_BASE	0x04	/* base_sent/base_recv are set */
#define S_FIN_SENT	0x08	/* a FIN took one sequence number */
#define S_ANNOUNCED	0x10	/* userspace was told of the flow */
#define S_RESET		0x20	/* the peer reset the connection */
#define S_WANT_HELLO	0x40	/* a client socket whose first data is not copied yet */
#define S_QUIC_SEEN	0x80	/* a UDP socket whose first QUIC Initial was copied */

struct sock_state {
	struct ident id;
	__u64 cookie;		/* the socket this state belongs to */
	__u64 base_sent;	/* TCP totals when counting began */
	__u64 base_recv;
	__u64 rep_sent;		/* TCP bytes reported so far (compare-and-swap) */
	__u64 rep_recv;
	__u32 flags;
	/* DNS over TCP: bytes of the message under way still to come, sent
	 * (low 16 bits) and received (high 16 bits) */
	__u32 dns_rem;
	__u32 shared;		/* fd scan: another process holding it, 0: none */
	/*
	 * A UDP socket's datagrams to and from its first peer (dg_addr) are
	 * counted here rather than in the flow table, whose lookup per
	 * datagram cost more than the rest of the program (bench/udp-floor.sh):
	 * moved to the flow table by the pass over the storage at each drain
	 * (scan_udp) and at release. Other peers take the flow table.
	 */
	__u32 dg_state;		/* DG_* */
	__u64 netns_cookie;	/* the socket's network namespace, from its creation */
	struct flow_addr dg_addr;
	struct flow_counts dg;
};

#define DG_NONE		0
#define DG_CLAIMED	1	/* dg_addr being written */
#define DG_COUNTING	2

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct sock_state);
} socks SEC(".maps");

/* Datagram and AF_PACKET flows; max_entries is set by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct flow_key);
	__type(value, struct flow_counts);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LOST_NREASONS);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* Room to build an iterator record: too large for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ev_flow);
} scratch SEC(".maps");

static __always_inline void count_lost(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&lost, &reason);

	if (v)
		*v += 1;	/* per CPU: no atomic needed */
}

/* ---- identity ---- */

static __always_inline void fill_proc(struct proc_ident *p,
				      struct task_struct *t)
{
	struct task_struct *leader = t->group_leader;
	struct mm_struct *mm = t->mm;

	p->pid = t->tgid;
	p->start_boot_ns = leader->start_boottime;
	__builtin_memcpy(p->comm, leader->comm, COMM_LEN);
	p->exe_ino = 0;
	p->exe_dev = 0;
	if (mm) {
		struct file *exe = mm->exe_file;

		if (exe) {
			struct inode *inode = exe->f_inode;

			p->exe_ino = inode->i_ino;
			p->exe_dev = inode->i_sb->s_dev;
		}
	}
}

static __always_inline void fill_ident(struct ident *id, struct task_struct *t)
{
	struct task_struct *parent = t->group_leader->real_parent;

	fill_proc(&id->proc[0], t);
	fill_proc(&id->proc[1], parent);
	fill_proc(&id->proc[2], parent->group_leader->real_parent);
	id->uid = t->cred->uid.val;
	id->gid = t->cred->gid.val;
	id->cgroup_id = t->cgroups->dfl_cgrp->kn->id;
	id->netns = t->nsproxy->net_ns->ns.inum;
	id->mntns = t->nsproxy->mnt_ns->ns.inum;
}

/* ---- system calls ---- */

/* max_entries is set by userspace */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct sys_key);
	__type(value, struct sys_counts);
} sys_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sys_counts);
} sys_scratch SEC(".maps");

/*
 * Every system call of every task passes here once this is attached (the
 * tracepoint sends all of them through the kernel's slow path, which is
 * most of the cost: docs/performance.md). A call not counted costs one
 * load from a read-only array; a counted one a hash lookup and an atomic
 * add. Nothing goes to the ring buffer.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long nr)
{
	struct sys_key k = {};
	struct task_struct *t;
	struct sys_counts *c;
	struct mm_struct *mm;
	__u32 slot, zero = 0;

	if ((unsigned long)nr >= SYSCALL_NR_MAX)
		return 0;
	slot = syscall_slot[nr];
	if (!slot || slot > SYSCALL_SLOTS)
		return 0;
	t = bpf_get_current_task_btf();
	k.pid = t->tgid;
	k.start_boot_ns = t->group_leader->start_boottime;
	mm = t->mm;
	if (mm && mm->exe_file)
		k.exe_ino = mm->exe_file->f_inode->i_ino;
	c = bpf_map_lookup_elem(&sys_counts, &k);
	if (!c) {
		struct sys_counts *n = bpf_map_lookup_elem(&sys_scratch, &zero);

		if (!n)
			return 0;
		__builtin_memset(n->count, 0, sizeof(n->count));
		fill_ident(&n->id, t);
		/* another CPU may have added it first: EEXIST is fine */
		(void)bpf_map_update_elem(&sys_counts, &k, n, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&sys_counts, &k);
		if (!c) {
			count_lost(LOST_SYSCALL_TABLE);
			return 0;
		}
	}
	__sync_fetch_and_add(&c->count[slot - 1], 1);
	return 0;
}

/* ---- exec ---- */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct ev_exec *e;

	if (!want_exec)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(LOST_RINGBUF_EXEC);
		return 0;
	}
	e->hdr.type = EV_EXEC;
	e->hdr.ts_boot_ns = bpf_ktime_get_boot_ns();
	fill_ident(&e->id, p);
	/*
	 * bprm->filename is kernel memory, which lockdown keeps us from
	 * reading; the kernel copied it to the top of the new stack, at
	 * bprm->exec, where it is user memory.
	 */
	if (bpf_probe_read_user_str(e->filename, sizeof(e->filename),
				    (void *)bprm->exec) < 0)
		e->filename[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* ---- socket state ---- */

SEC("cgroup/sock_create")
int on_sock_create(struct bpf_sock *sk)
{
	struct sock_state *s;

	s = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s) {
		count_lost(LOST_STORAGE);
		return 1;
	}
	fill_ident(&s->id, bpf_get_current_task_btf());
	s->cookie = bpf_get_socket_cookie(sk);
	s->netns_cookie = bpf_get_netns_cookie(sk);
	s->flags = S_IDENT;
	return 1;
}

static __always_inline void fill_addr_sk(struct flow_addr *a, struct sock *sk)
{
	a->family = sk->__sk_common.skc_family;
	a->sock_type = sk->sk_type;
	a->proto = sk->sk_protocol;
	a->lport = sk->__sk_common.skc_num;
	a->rport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (a->family == AF_INET6) {
		__builtin_memcpy(a->laddr, &sk->__sk_common.skc_v6_rcv_saddr, 16);
		__builtin_memcpy(a->raddr, &sk->__sk_common.skc_v6_daddr, 16);
	} else {
		__builtin_memcpy(a->laddr, &sk->__sk_common.skc_rcv_saddr, 4);
		__builtin_memcpy(a->raddr, &sk->__sk_common.skc_daddr, 4);
	}
}

/*
 * The bytes a TCP socket's application wrote and read, as 64-bit totals:
 * sent = acked + queued - FIN, received = received - unread - FIN read.
 * bytes_acked and bytes_received are 64-bit; the sequence numbers alone
 * wrap within a second on a fast loopback. Each counter is read before the
 * sequence number the kernel moves after it, so a race can only make a
 * total smaller for a moment, never larger.
 */
static __always_inline void tcp_totals(struct tcp_sock *tp, struct sock *sk,
				       __u32 flags, __u64 *sent, __u64 *recv)
{
	__u64 acked = tp->bytes_acked;
	__u32 una = tp->snd_una;
	__u32 wseq = tp->write_seq;
	__u64 rcvd = tp->bytes_received;
	__u32 nxt = tp->rcv_nxt;
	__u32 copied = tp->copied_seq;
	__s32 unacked = (__s32)(wseq - una);
	__s32 unread = (__s32)(nxt - copied);
	__u64 done = sock_flags_of(sk) &
		     (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE));

	if (unacked < 0)
		unacked = 0;
	*sent = acked + (__u64)unacked;
	if ((flags & S_FIN_SENT) && *sent > 0)
		*sent -= 1;
	/* a FIN received takes one sequence number; it is "read" with
	 * the recv() that returns 0, after which nothing is unread */
	if (unread < 0)
		unread = 0;
	*recv = rcvd - (__u64)unread;
	if (done && unread == 0 && *recv > 0)
		*recv -= 1;
}

/*
 * Bytes not yet reported, claimed with compare-and-swap so that the
 * iterator and tcp_destroy_sock never report the same bytes twice.
 */
static __always_inline bool tcp_claim(struct sock_state *s, struct tcp_sock *tp,
				      struct sock *sk, struct flow_counts *d)
{
	__u64 sent, recv, old;

	tcp_totals(tp, sk, s->flags, &sent, &recv);
	sent = sent > s->base_sent ? sent - s->base_sent : 0;
	recv = recv > s->base_recv ? recv - s->base_recv : 0;
	d->send_bytes = 0;
	d->recv_bytes = 0;
	d->send_calls = 0;
	d->recv_calls = 0;
	old = s->rep_sent;
	if (sent > old &&
	    __sync_val_compare_and_swap(&s->rep_sent, old, sent) == old)
		d->send_bytes = sent - old;
	old = s->rep_recv;
	if (recv > old &&
	    __sync_val_compare_and_swap(&s->rep_recv, old, recv) == old)
		d->recv_bytes = recv - old;
	return d->send_bytes || d->recv_bytes;
}

static __always_inline void emit_flow_err(__u32 type, struct sock_state *s,
					  struct flow_key *key,
					  struct flow_addr *addr,
					  struct flow_counts *counts, __u32 extra,
					  __u32 err)
{
	struct ev_flow *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_lost(LOST_RINGBUF_FLOW);
		return;
	}
	e->hdr.type = type;
	e->hdr.ts_boot_ns = bpf_ktime_get_boot_ns();
	e->key = *key;
	e->addr = *addr;
	if (counts)
		e->counts = *counts;
	else
		__builtin_memset(&e->counts, 0, sizeof(e->counts));
	e->flags = extra;
	e->err = err;
	if (s && (s->flags & S_IDENT)) {
		e->flags |= FLOW_IDENT;
		if (s->flags & S_INHERITED)
			e->flags |= FLOW_INHERITED;
		e->id = s->id;
	}
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void emit_flow(__u32 type, struct sock_state *s,
				      struct flow_key *key,
				      struct flow_addr *addr,
				      struct flow_counts *counts, __u32 extra)
{
	emit_flow_err(type, s, key, addr, counts, extra, 0);
}

static __always_inline int tcp_established(struct sock *sk, __u32 active)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	struct flow_key key = {};
	struct flow_addr addr = {};
	struct sock_state *s;
	__u64 cookie;

	if (!tp)
		return 0;
	cookie = bpf_get_socket_cookie(sk);
	s = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s) {
		count_lost(LOST_STORAGE);
		return 0;
	}
	if (s->cookie != cookie) {
		/* new storage, or a copy of the listener's */
		__u32 inherited = (s->flags & S_IDENT) && s->cookie ? S_INHERITED : 0;

		s->flags = (s->flags & S_IDENT) | inherited;
		s->cookie = cookie;
	}
	if (__sync_fetch_and_and(&s->flags, ~(S_FIN_SENT | S_ANNOUNCED | S_WANT_HELLO)) & S_WANT_HELLO)
		__sync_fetch_and_sub(&hello_pending, 1);
	if (active && want_hello) {
		__sync_fetch_and_or(&s->flags, S_WANT_HELLO);
		__sync_fetch_and_add(&hello_pending, 1);
	}
	tcp_totals(tp, sk, s->flags, &s->base_sent, &s->base_recv);
	s->rep_sent = 0;
	s->rep_recv = 0;
	s->flags |= S_TCP_BASE;
	key.cookie = cookie;
	fill_addr_sk(&addr, sk);
	/* without an owner yet, userspace waits for the fd scan */
	emit_flow(EV_FLOW_NEW, s, &key, &addr, NULL, FLOW_TCP | active);
	s->flags |= S_ANNOUNCED;
	return 0;
}

/*
 * connect() moves a socket to SYN_SENT in the caller's context: a socket
 * older than snitch-trace gets its owner here, so that a failed attempt
 * still names it (the others have one from cgroup/sock_create).
 */
static __always_inline int tcp_connecting(struct sock *sk)
{
	struct sock_state *s = bpf_sk_storage_get(&socks, sk, 0, 0);

	if (s && (s->flags & S_IDENT))
		return 0;
	s = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s) {
		count_lost(LOST_STORAGE);
		return 0;
	}
	fill_ident(&s->id, bpf_get_current_task_btf());
	s->cookie = bpf_get_socket_cookie(sk);
	s->flags |= S_IDENT;
	return 0;
}

/*
 * A socket leaves SYN_SENT for CLOSE without ever being established: a
 * RST (sk_err ECONNREFUSED), an ICMP error (EHOSTUNREACH, ...), the
 * kernel's SYN retries running out (ETIMEDOUT), or the application closing
 * it while it waited (no error). The error is read here, before the
 * connect() or poll() that reports it clears it (sock_error()). The local
 * port is released before this tracepoint fires, so it reads 0.
 */
static __always_inline int tcp_attempt_failed(struct sock *sk)
{
	struct sock_state *s = bpf_sk_storage_get(&socks, sk, 0, 0);
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	struct flow_key key = {};
	struct flow_addr addr = {};
	__u32 extra = FLOW_TCP | FLOW_ACTIVE;

	if (!tp)
		return 0;
	/* tcp_connect() queued the SYN: it took one sequence number */
	if (tp->snd_nxt != tp->snd_una)
		extra |= FLOW_SYN_SENT;
	key.cookie = s && s->cookie ? s->cookie : bpf_get_socket_cookie(sk);
	fill_addr_sk(&addr, sk);
	/* an ICMP error that came while the socket was locked is soft: it
	 * stays there unless the application read it (SO_ERROR) */
	emit_flow_err(EV_FLOW_ATTEMPT, s, &key, &addr, NULL, extra,
		      (__u32)(sk->sk_err ? sk->sk_err : sk->sk_err_soft));
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_state, struct sock *sk, int oldstate, int newstate)
{
	struct sock_state *s;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_ESTABLISHED)
		return tcp_established(sk, oldstate == TCP_SYN_SENT ? FLOW_ACTIVE : 0);
	if (newstate == TCP_SYN_SENT)
		return tcp_connecting(sk);
	if (newstate == TCP_CLOSE) {
		if (oldstate == TCP_SYN_SENT)
			return tcp_attempt_failed(sk);
		/* tcp_reset() sets the error before tcp_done() */
		if (sk->sk_err == ECONNRESET || sk->sk_err == EPIPE) {
			s = bpf_sk_storage_get(&socks, sk, 0, 0);
			if (s)
				__sync_fetch_and_or(&s->flags, S_RESET);
		}
		return 0;
	}
	/*
	 * these two states are entered only by sending a FIN, in the context
	 * of the process that closes the socket or shuts it down: an accepted
	 * socket not yet confirmed by the fd scan is that process's
	 */
	if (newstate == TCP_FIN_WAIT1 || newstate == TCP_LAST_ACK) {
		s = bpf_sk_storage_get(&socks, sk, 0, 0);
		if (s) {
			__sync_fetch_and_or(&s->flags, S_FIN_SENT);
			if (s->flags & S_INHERITED) {
				fill_ident(&s->id, bpf_get_current_task_btf());
				__sync_fetch_and_and(&s->flags, ~S_INHERITED);
			}
		}
	}
	return 0;
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(on_tcp_destroy, struct sock *sk)
{
	struct sock_state *s = bpf_sk_storage_get(&socks, sk, 0, 0);
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	struct flow_counts d;
	struct flow_key key = {};
	struct flow_addr addr = {};

	if (s && (__sync_fetch_and_and(&s->flags, ~S_WANT_HELLO) & S_WANT_HELLO))
		__sync_fetch_and_sub(&hello_pending, 1);	/* closed before any data */
	if (!s || !tp || !(s->flags & S_TCP_BASE))
		return 0;
	tcp_claim(s, tp, sk, &d);
	key.cookie = s->cookie;
	fill_addr_sk(&addr, sk);
	emit_flow(EV_FLOW_END, s, &key, &addr, &d,
		  FLOW_TCP | (s->flags & S_RESET ? FLOW_RESET : 0));
	s->flags &= ~S_TCP_BASE;
	return 0;
}

static __always_inline void dg_flush(struct sock_state *s);

SEC("cgroup/sock_release")
int on_sock_release(struct bpf_sock *bsk)
{
	struct sock_state *s = bpf_sk_storage_get(&socks, bsk, 0, 0);
	struct flow_key key = {};
	struct flow_addr addr = {};

	if (!s)
		return 1;
	/* process context: the releasing process owns it if nobody does */
	if (!(s->flags & S_IDENT) || (s->flags & S_INHERITED)) {
		struct task_struct *t = bpf_get_current_task_btf();

		if (!(s->flags & S_IDENT) || t->tgid != s->id.proc[0].pid)
			fill_ident(&s->id, t);
		s->flags = (s->flags | S_IDENT) & ~S_INHERITED;
	}
	/* what the socket counted itself, before its flows are closed */
	dg_flush(s);
	key.cookie = s->cookie;
	addr.family = bsk->family;
	addr.sock_type = bsk->type;
	addr.proto = bsk->protocol;
	emit_flow(EV_SOCK_CLOSED, s, &key, &addr, NULL,
		  bsk->protocol == IPPROTO_TCP ? FLOW_TCP : 0);
	return 1;
}

/* ---- datagrams: UDP, ICMP, raw IP (per packet) ---- */

/* The flow's counters, its entry made (and announced) if it is new. */
static __always_inline struct flow_counts *flow_entry(struct flow_key *key,
						      struct flow_addr *addr,
						      struct sock_state *s)
{
	struct flow_counts *c = bpf_map_lookup_elem(&flows, key);

	if (!c) {
		struct flow_counts zero = {};
		long r = bpf_map_update_elem(&flows, key, &zero, BPF_NOEXIST);

		if (r == 0)
			emit_flow(EV_FLOW_NEW, s, key, addr, NULL, 0);
		else if (r != -17 /* EEXIST: another CPU was first */) {
			count_lost(LOST_FLOW_TABLE);
			return NULL;
		}
		c = bpf_map_lookup_elem(&flows, key);
	}
	return c;
}

static __always_inline void flow_add(struct flow_key *key,
				     struct flow_addr *addr,
				     struct sock_state *s, __u64 bytes,
				     bool egress)
{
	struct flow_counts *c = flow_entry(key, addr, s);

	if (!c)
		return;
	if (egress) {
		__sync_fetch_and_add(&c->send_bytes, bytes);
		__sync_fetch_and_add(&c->send_calls, 1);
	} else {
		__sync_fetch_and_add(&c->recv_bytes, bytes);
		__sync_fetch_and_add(&c->recv_calls, 1);
	}
}

static __always_inline bool flow_add_counts(struct flow_key *key,
					    struct flow_addr *addr,
					    struct sock_state *s,
					    const struct flow_counts *d)
{
	struct flow_counts *c = flow_entry(key, addr, s);

	if (!c)
		return false;
	__sync_fetch_and_add(&c->send_bytes, d->send_bytes);
	__sync_fetch_and_add(&c->send_calls, d->send_calls);
	__sync_fetch_and_add(&c->recv_bytes, d->recv_bytes);
	__sync_fetch_and_add(&c->recv_calls, d->recv_calls);
	return true;
}

/* The socket's counts for its first peer into the flow table. */
static __always_inline void dg_flush(struct sock_state *s)
{
	struct flow_key key = {};
	struct flow_addr addr;
	struct flow_counts d;

	if (s->dg_state != DG_COUNTING)
		return;
	/* each taken whole: a datagram added meanwhile on another CPU may
	 * have its bytes in this flush and its call in the next, never lost */
	d.send_calls = __sync_lock_test_and_set(&s->dg.send_calls, 0);
	d.recv_calls = __sync_lock_test_and_set(&s->dg.recv_calls, 0);
	d.send_bytes = __sync_lock_test_and_set(&s->dg.send_bytes, 0);
	d.recv_bytes = __sync_lock_test_and_set(&s->dg.recv_bytes, 0);
	if (!(d.send_calls | d.recv_calls | d.send_bytes | d.recv_bytes))
		return;
	addr = s->dg_addr;
	key.cookie = s->cookie;
	__builtin_memcpy(key.peer, addr.raddr, 16);
	key.peer_port = addr.rport;
	key.family = addr.family;
	key.sock_type = addr.sock_type;
	key.proto = addr.proto;
	if (flow_add_counts(&key, &addr, s, &d))
		return;
	/* the flow table full: kept for the next flush (lost, if the socket
	 * is being released; counted as flow_table either way) */
	__sync_fetch_and_add(&s->dg.send_calls, d.send_calls);
	__sync_fetch_and_add(&s->dg.recv_calls, d.recv_calls);
	__sync_fetch_and_add(&s->dg.send_bytes, d.send_bytes);
	__sync_fetch_and_add(&s->dg.recv_bytes, d.recv_bytes);
}

static __always_inline void emit_dns(struct __sk_buff *skb, __u32 off,
				     __u32 len, struct sock_state *s,
				     struct flow_addr *addr, bool egress, bool more)
{
	struct ev_dns *e;
	bool cut = len > DNS_MAX || more;

	/* the message is copied, never read here: userspace decodes it */
	if (len > DNS_MAX)
		len = DNS_MAX;
	if (len < 12)
		return;		/* shorter than a DNS header */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(LOST_RINGBUF_DNS);
		return;
	}
	e->hdr.type = EV_DNS;
	e->hdr.ts_boot_ns = bpf_ktime_get_boot_ns();
	e->cookie = bpf_get_socket_cookie(skb);
	e->pid = s && (s->flags & S_IDENT) ? s->id.proc[0].pid : 0;
	e->netns = s && (s->flags & S_IDENT) ? s->id.netns : 0;
	e->family = addr->family;
	__builtin_memcpy(e->server, addr->raddr, 16);
	if (bpf_skb_load_bytes(skb, off, e->data, len) < 0) {
		bpf_ringbuf_discard(e, 0);
		return;
	}
	e->len = len;
	e->truncated = cut;
	e->sent = egress;
	bpf_ringbuf_submit(e, 0);
}

/* Offset of the transport header after an IPv6 header and its extensions. */
/*
 * len bytes at off of a packet into to, as bpf_skb_load_bytes(): read in
 * place when they are in its linear part (the headers nearly always are),
 * else copied by the helper. In place spares a helper call per header:
 * about 40 of the 150 ns a datagram cost each program here (measured with
 * kernel.bpf_stats_enabled, docs/performance.md). off must be at most 255
 * for the verifier to bound it.
 */
static __always_inline long pkt_load(struct __sk_buff *skb, __u32 off, void *to, __u32 len)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (off < 256) {
		void *p = data + (off & 0xff);

		if (p + len <= end) {
			__builtin_memcpy(to, p, len);
			return 0;
		}
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

static __always_inline int ipv6_l4(struct __sk_buff *skb, __u8 *proto)
{
	struct ipv6hdr ip6;
	__u32 off = sizeof(ip6);
	__u8 next;

	if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) < 0)
		return -1;
	next = ip6.nexthdr;
	for (int i = 0; i < 4; i++) {
		__u8 ext[2];

		if (next != 0 && next != 43 && next != 60 && next != 44)
			break;	/* hop-by-hop, routing, destination, fragment */
		if (bpf_skb_load_bytes(skb, off, ext, 2) < 0)
			return -1;
		off += next == 44 ? 8 : ((__u32)ext[1] + 1) * 8;
		next = ext[0];
	}
	*proto = next;
	return off;
}

/*
 * A TCP client's first data segment, copied once per connection for
 * snitch-resolve to read the name it asked for (TLS SNI, HTTP Host). The
 * kernel counts data segments sent before the segment reaches this hook:
 * data_segs_out equal to this packet's segment count means it is the
 * first, so every other TCP packet leaves after one helper and a compare.
 * A GSO packet carries all of one send(), so a ClientHello longer than the
 * MSS is still whole here, up to HELLO_MAX.
 */
static __always_inline int tcp_first_data(struct __sk_buff *skb,
					  struct bpf_sock *bsk)
{
	struct bpf_tcp_sock *tp;
	struct sock_state *s;
	struct ev_hello *e;
	__u32 segs = skb->gso_segs ? skb->gso_segs : 1, off, len;
	__u8 doff;

	if (!want_hello || !hello_pending)
		return 1;
	tp = bpf_tcp_sock(bsk);
	if (!tp || tp->data_segs_out != segs)
		return 1;
	s = bpf_sk_storage_get(&socks, bsk, 0, 0);
	if (!s || !(s->flags & S_WANT_HELLO))
		return 1;
	/* by the packet's IP version, not the socket's family: an IPv6
	 * socket sends IPv4 to a v4-mapped address */
	if (bpf_skb_load_bytes(skb, 0, &doff, 1) < 0)
		return 1;
	if (doff >> 4 == 4) {
		off = (doff & 0xf) * 4;
	} else {
		__u8 proto;
		int o = ipv6_l4(skb, &proto);

		if (o < 0 || proto != IPPROTO_TCP)
			return 1;
		off = o;
	}
	/* the data offset: the high nibble of byte 12 of the TCP header */
	if (bpf_skb_load_bytes(skb, off + 12, &doff, 1) < 0)
		return 1;
	off += (doff >> 4) * 4;
	if (off >= skb->len)
		return 1;	/* no payload: an ACK */
	if (!(__sync_fetch_and_and(&s->flags, ~S_WANT_HELLO) & S_WANT_HELLO))
		return 1;	/* another CPU took it */
	__sync_fetch_and_sub(&hello_pending, 1);
	len = skb->len - off;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(LOST_RINGBUF_HELLO);
		return 1;
	}
	e->hdr.type = EV_HELLO;
	e->hdr.ts_boot_ns = bpf_ktime_get_boot_ns();
	e->cookie = s->cookie ? s->cookie : bpf_get_socket_cookie(skb);
	e->pid = s->flags & S_IDENT ? s->id.proc[0].pid : 0;
	e->netns = s->flags & S_IDENT ? s->id.netns : 0;
	e->family = bsk->family;
	e->proto = IPPROTO_TCP;
	e->truncated = len > HELLO_MAX;
	e->rport = bpf_ntohs(bsk->dst_port);
	__builtin_memset(e->raddr, 0, sizeof(e->raddr));
	if (bsk->family == AF_INET) {
		__u32 a = bsk->dst_ip4;

		__builtin_memcpy(e->raddr, &a, 4);
	} else {
		__u32 a[4] = { bsk->dst_ip6[0], bsk->dst_ip6[1], bsk->dst_ip6[2], bsk->dst_ip6[3] };

		__builtin_memcpy(e->raddr, a, 16);
	}
	if (len > HELLO_MAX)
		len = HELLO_MAX;
	if (len == 0 || bpf_skb_load_bytes(skb, off, e->data, len) < 0) {
		bpf_ringbuf_discard(e, 0);
		return 1;
	}
	e->len = len;
	bpf_ringbuf_submit(e, 0);
	return 1;
}

/*
 * A UDP socket's first QUIC Initial packet (RFC 9000 §17.2.2: long header,
 * fixed bit, type 0, version 1; a client pads it to 1200 bytes), copied
 * once per socket for snitch-resolve to read the server name in its
 * ClientHello (RFC 9001 §5.2: its keys come from the packet itself).
 * Every other datagram leaves after a flag test, or a 5-byte load when
 * it is 1200 bytes or more.
 */
static __always_inline void quic_first_initial(struct __sk_buff *skb, __u32 off, __u32 len,
					       struct sock_state *s, __u64 cookie,
					       const struct flow_addr *addr)
{
	struct ev_hello *e;
	__u8 h[5];

	if (!want_hello || !s || (s->flags & S_QUIC_SEEN) || len < 1200)
		return;
	if (bpf_skb_load_bytes(skb, off, h, sizeof(h)) < 0 || (h[0] & 0xf0) != 0xc0 ||
	    h[1] != 0 || h[2] != 0 || h[3] != 0 || h[4] != 1)
		return;
	if (__sync_fetch_and_or(&s->flags, S_QUIC_SEEN) & S_QUIC_SEEN)
		return;		/* another CPU took it */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(LOST_RINGBUF_HELLO);
		return;
	}
	e->hdr.type = EV_HELLO;
	e->hdr.ts_boot_ns = bpf_ktime_get_boot_ns();
	e->cookie = cookie;
	e->pid = s->flags & S_IDENT ? s->id.proc[0].pid : 0;
	e->netns = s->flags & S_IDENT ? s->id.netns : 0;
	e->family = addr->family;
	e->proto = IPPROTO_UDP;
	e->truncated = len > HELLO_MAX;
	e->rport = addr->rport;
	__builtin_memcpy(e->raddr, addr->raddr, 16);
	if (len > HELLO_MAX)
		len = HELLO_MAX;
	if (len == 0 || bpf_skb_load_bytes(skb, off, e->data, len) < 0) {
		bpf_ringbuf_discard(e, 0);
		return;
	}
	e->len = len;
	bpf_ringbuf_submit(e, 0);
}

/*
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each message after a 2-byte
 * length, in a segment of a connection to port 53. The message that
 * begins in a segment is copied as a dns event (its start, when it goes
 * on in later segments: then cut), the segments that carry the rest of it
 * are skipped by the count kept per direction in the socket's state. A
 * second message in the same segment (pipelined queries) is not read.
 */
static __always_inline void tcp_dns(struct __sk_buff *skb, struct bpf_sock *bsk, bool egress)
{
	struct sock_state *s;
	struct flow_addr addr = {};
	__u32 off, p, rem, shift = egress ? 0 : 16, l;
	__u8 b[2];

	/* the server's address from the packet (by its IP version, as
	 * tcp_first_data), the payload after the TCP header */
	if (bpf_skb_load_bytes(skb, 0, b, 1) < 0)
		return;
	if (b[0] >> 4 == 4) {
		off = (b[0] & 0xf) * 4;
		addr.family = AF_INET;
		if (bpf_skb_load_bytes(skb, egress ? 16 : 12, addr.raddr, 4) < 0)
			return;
	} else {
		__u8 proto;
		int o = ipv6_l4(skb, &proto);

		if (o < 0 || proto != IPPROTO_TCP)
			return;
		off = o;
		addr.family = AF_INET6;
		if (bpf_skb_load_bytes(skb, egress ? 24 : 8, addr.raddr, 16) < 0)
			return;
	}
	if (bpf_skb_load_bytes(skb, off + 12, b, 1) < 0)
		return;
	off += (b[0] >> 4) * 4;
	if (off >= skb->len)
		return;		/* no payload */
	s = bpf_sk_storage_get(&socks, bsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s)
		return;
	p = skb->len - off;
	rem = (s->dns_rem >> shift) & 0xffff;
	if (rem >= p) {		/* all of it the rest of a message */
		s->dns_rem = (s->dns_rem & ~(0xffffU << shift)) | ((rem - p) << shift);
		return;
	}
	off += rem;
	p -= rem;
	rem = 0;
	if (p >= 2 && bpf_skb_load_bytes(skb, off, b, 2) == 0) {
		l = (__u32)b[0] << 8 | b[1];
		if (l > p - 2)
			rem = l - (p - 2);
		emit_dns(skb, off + 2, l < p - 2 ? l : p - 2, s, &addr, egress, rem > 0);
	}
	s->dns_rem = (s->dns_rem & ~(0xffffU << shift)) | ((rem & 0xffff) << shift);
}

/*
 * A UDP datagram of a socket that counts its first peer in place
 * (dg_state), to or from that peer: its bytes added there, and nothing
 * else done. Everything else, and a header this does not read in place
 * (IP options, IPv6 extension headers, an IPv4 packet of an IPv6 socket),
 * goes on to the whole of account_skb().
 */
static __always_inline bool dg_fast(struct __sk_buff *skb, struct bpf_sock *bsk, bool egress)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	const __u32 *peer;
	struct sock_state *s;
	struct udphdr *uh;
	__u32 hdrs;

	s = bpf_sk_storage_get(&socks, bsk, 0, 0);
	if (!s || s->dg_state != DG_COUNTING)
		return false;
	peer = (const __u32 *)s->dg_addr.raddr;
	if (bsk->family == AF_INET) {
		struct iphdr *ip = data;

		if ((void *)(ip + 1) + sizeof(*uh) > end || ip->version != 4 || ip->ihl != 5 ||
		    ip->protocol != IPPROTO_UDP || peer[0] != (egress ? ip->daddr : ip->saddr))
			return false;
		uh = (void *)(ip + 1);
		hdrs = sizeof(*ip) + sizeof(*uh);
	} else if (bsk->family == AF_INET6) {
		struct ipv6hdr *ip6 = data;
		const __u32 *a;

		if ((void *)(ip6 + 1) + sizeof(*uh) > end || ip6->version != 6 ||
		    ip6->nexthdr != IPPROTO_UDP)
			return false;
		a = egress ? (const __u32 *)&ip6->daddr : (const __u32 *)&ip6->saddr;
		if (peer[0] != a[0] || peer[1] != a[1] || peer[2] != a[2] || peer[3] != a[3])
			return false;
		uh = (void *)(ip6 + 1);
		hdrs = sizeof(*ip6) + sizeof(*uh);
	} else {
		return false;
	}
	if (s->dg_addr.rport != bpf_ntohs(egress ? uh->dest : uh->source) || skb->len < hdrs)
		return false;
	/* messages to copy: a DNS message; a QUIC Initial not yet seen */
	if (want_dns && s->dg_addr.rport == 53)
		return false;
	if (egress && want_hello && skb->len - hdrs >= 1200 && !(s->flags & S_QUIC_SEEN))
		return false;
	if (egress) {
		__sync_fetch_and_add(&s->dg.send_bytes, skb->len - hdrs);
		__sync_fetch_and_add(&s->dg.send_calls, 1);
	} else {
		__sync_fetch_and_add(&s->dg.recv_bytes, skb->len - hdrs);
		__sync_fetch_and_add(&s->dg.recv_calls, 1);
	}
	return true;
}

/* The addresses of a packet of an IP socket, and where its layer 4 is. */
static __always_inline int ip_addrs(struct __sk_buff *skb, bool egress, struct flow_addr *addr,
				    __u32 *l4off, __u8 *l4proto)
{
	if (addr->family == AF_INET) {
		struct iphdr ip;

		if (pkt_load(skb, 0, &ip, sizeof(ip)) < 0)
			return -1;
		*l4off = ip.ihl * 4;
		*l4proto = ip.protocol;
		__builtin_memcpy(addr->laddr, egress ? &ip.saddr : &ip.daddr, 4);
		__builtin_memcpy(addr->raddr, egress ? &ip.daddr : &ip.saddr, 4);
	} else if (addr->family == AF_INET6) {
		struct ipv6hdr ip6;
		int off = ipv6_l4(skb, l4proto);

		if (off < 0 || bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) < 0)
			return -1;
		*l4off = off;
		__builtin_memcpy(addr->laddr, egress ? &ip6.saddr : &ip6.daddr, 16);
		__builtin_memcpy(addr->raddr, egress ? &ip6.daddr : &ip6.saddr, 16);
	} else {
		return -1;
	}
	return *l4off > skb->len ? -1 : 0;
}

/*
 * The bytes the application passed or will be given, and the ports: 1 for
 * a UDP datagram, 0 for anything else, -1 for a packet too short.
 */
static __always_inline int l4_bytes(struct __sk_buff *skb, struct bpf_sock *bsk, bool egress,
				    struct flow_addr *addr, __u32 l4off, __u8 l4proto, __u32 *bytes)
{
	__u32 len = skb->len;

	if (addr->sock_type == SOCK_RAW) {
		if (addr->family == AF_INET && (!egress || addr->proto == IPPROTO_RAW))
			*bytes = len;	/* IPv4 raw sockets see the IP header */
		else
			*bytes = len - l4off;
		return 0;
	}
	if (l4proto == IPPROTO_UDP || l4proto == IPPROTO_UDPLITE) {
		struct udphdr uh;

		if (len < l4off + sizeof(uh) || pkt_load(skb, l4off, &uh, sizeof(uh)) < 0)
			return -1;
		*bytes = len - l4off - sizeof(uh);
		addr->lport = bpf_ntohs(egress ? uh.source : uh.dest);
		addr->rport = bpf_ntohs(egress ? uh.dest : uh.source);
		return 1;
	}
	/* ping sockets: ICMP header and data; the port is the echo id */
	*bytes = len - l4off;
	addr->lport = bsk->src_port;
	return 0;
}

/*
 * A UDP socket a process made (a kernel's own socket has no release hook
 * to flush it) where the iterator sees it: its first peer is counted in
 * place from now on (dg_fast). The address is written before the state
 * says so.
 */
static __always_inline void dg_claim(struct sock_state *s, const struct flow_addr *addr)
{
	if (dg_cache_on && s->dg_state == DG_NONE && (s->flags & S_IDENT) &&
	    s->netns_cookie && s->netns_cookie == dg_netns_cookie &&
	    addr->sock_type == SOCK_DGRAM &&
	    (addr->proto == IPPROTO_UDP || addr->proto == IPPROTO_UDPLITE) &&
	    __sync_val_compare_and_swap(&s->dg_state, DG_NONE, DG_CLAIMED) == DG_NONE) {
		s->dg_addr = *addr;
		__sync_fetch_and_add(&s->dg_state, 1);	/* DG_COUNTING */
	}
}

static __always_inline int account_skb(struct __sk_buff *skb, bool egress)
{
	struct bpf_sock *bsk = skb->sk;
	struct flow_key key = {};
	struct flow_addr addr = {};
	struct sock_state *s;
	__u32 l4off = 0, bytes = 0;
	__u8 l4proto = 0;
	int udp;

	if (!bsk)
		return 1;
	bsk = bpf_sk_fullsock(bsk);
	if (!bsk)
		return 1;
	if (bsk->protocol == IPPROTO_TCP) {	/* counted from its sequence numbers */
		if (bpf_ntohs(bsk->dst_port) == 53) {
			/* a DNS query is no hello: its messages are read here */
			if (want_dns)
				tcp_dns(skb, bsk, egress);
			return 1;
		}
		return egress ? tcp_first_data(skb, bsk) : 1;
	}
	if (bsk->protocol == IPPROTO_UDP && dg_cache_on && dg_fast(skb, bsk, egress))
		return 1;

	addr.family = bsk->family;
	addr.sock_type = bsk->type;
	addr.proto = bsk->protocol;
	if (ip_addrs(skb, egress, &addr, &l4off, &l4proto) < 0)
		return 1;
	udp = l4_bytes(skb, bsk, egress, &addr, l4off, l4proto, &bytes);
	if (udp < 0)
		return 1;

	s = bpf_sk_storage_get(&socks, bsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s)
		count_lost(LOST_STORAGE);
	key.cookie = bpf_get_socket_cookie(skb);
	if (s && !s->cookie)
		s->cookie = key.cookie;	/* a socket older than this tracer */
	__builtin_memcpy(key.peer, addr.raddr, 16);
	key.peer_port = addr.rport;
	key.family = addr.family;
	key.sock_type = addr.sock_type;
	key.proto = addr.proto;
	flow_add(&key, &addr, s, bytes, egress);
	if (s)
		dg_claim(s, &addr);
	/* answers from port 53, and queries to it (one event per DNS message) */
	if (udp && addr.rport == 53 && want_dns)
		emit_dns(skb, l4off + sizeof(struct udphdr), bytes, s, &addr, egress, false);
	else if (udp && egress && l4proto == IPPROTO_UDP)
		quic_first_initial(skb, l4off + sizeof(struct udphdr), bytes, s, key.cookie, &addr);
	return 1;
}

SEC("cgroup_skb/egress")
int on_egress(struct __sk_buff *skb)
{
	return account_skb(skb, true);
}

SEC("cgroup_skb/ingress")
int on_ingress(struct __sk_buff *skb)
{
	return account_skb(skb, false);
}

/*
 * An ICMP error for a connected datagram socket (port or host unreachable
 * for a UDP send): the kernel sets sk_err and reports it here, in softirq
 * context. An unconnected socket learns of errors only with IP_RECVERR,
 * and then the peer is in the queued error, not in the socket: not seen.
 */
SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(on_sk_error, struct sock *sk)
{
	struct sock_state *s;
	struct flow_key key = {};
	struct flow_addr addr = {};
	__u16 proto = sk->sk_protocol;

	if (proto != IPPROTO_UDP && proto != IPPROTO_UDPLITE)
		return 0;
	if (sk->__sk_common.skc_state != TCP_ESTABLISHED)
		return 0;
	s = bpf_sk_storage_get(&socks, sk, 0, 0);
	fill_addr_sk(&addr, sk);
	/* the key account_skb() gave the flow of this peer */
	key.cookie = s && s->cookie ? s->cookie : bpf_get_socket_cookie(sk);
	__builtin_memcpy(key.peer, addr.raddr, 16);
	key.peer_port = addr.rport;
	key.family = addr.family;
	key.sock_type = addr.sock_type;
	key.proto = addr.proto;
	emit_flow_err(EV_DGRAM_ERROR, s, &key, &addr, NULL, 0,
		      (__u32)sk->sk_err);
	return 0;
}

/* ---- AF_PACKET ---- */

/*
 * AF_PACKET sockets are named by their inode number with bit 63 set:
 * net_dev_queue gives only an RCU pointer to the socket, which
 * bpf_get_socket_cookie() does not take, and no cookie has that bit.
 */
#define PACKET_KEY(ino) ((__u64)(ino) | (1ULL << 63))

static __always_inline void packet_account(struct sock *sk, __u64 bytes,
					   __u16 ethertype, __u32 ifindex,
					   bool egress)
{
	struct flow_key key = {};
	struct flow_addr addr = {};
	struct sock_state *s;
	struct socket *sock = sk->sk_socket;

	if (!sock)
		return;		/* released: nobody reads or writes it */
	s = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s) {
		count_lost(LOST_STORAGE);
		return;
	}
	key.cookie = PACKET_KEY(sock->file->f_inode->i_ino);
	s->cookie = key.cookie;
	/* sending runs in the sender's context: it owns the socket */
	if (egress && !(s->flags & S_IDENT)) {
		fill_ident(&s->id, bpf_get_current_task_btf());
		s->flags |= S_IDENT;
	}
	addr.family = AF_PACKET;
	addr.sock_type = sk->sk_type;
	addr.proto = ethertype;
	addr.lport = ifindex;
	key.family = AF_PACKET;
	key.sock_type = addr.sock_type;
	key.proto = ethertype;
	flow_add(&key, &addr, s, bytes, egress);
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(on_dev_queue, struct sk_buff *skb)
{
	struct sock *sk = skb->sk;
	__u64 bytes;

	if (!sk || sk->__sk_common.skc_family != AF_PACKET)
		return 0;
	bytes = skb->len;
	/* SOCK_DGRAM packet sockets do not write the link-layer header */
	if (sk->sk_type == SOCK_DGRAM && bytes >= skb->dev->hard_header_len)
		bytes -= skb->dev->hard_header_len;
	packet_account(sk, bytes, bpf_ntohs(skb->protocol), skb->dev->ifindex,
		       true);
	return 0;
}

SEC("tp_btf/sk_data_ready")
int BPF_PROG(on_data_ready, struct sock *sk)
{
	struct sk_buff *tail;

	if (sk->__sk_common.skc_family != AF_PACKET)
		return 0;
	/*
	 * packet_rcv() queues the frame, unlocks, then calls sk_data_ready:
	 * the tail of the receive queue is that frame, as recvmsg() will
	 * return it. An mmap receive ring has no queue: counted as lost.
	 */
	if (sk->sk_receive_queue.qlen == 0) {
		count_lost(LOST_PACKET_RX);
		return 0;
	}
	tail = sk->sk_receive_queue.prev;
	packet_account(sk, tail->len, bpf_ntohs(tail->protocol), 0, false);
	return 0;
}

/* ---- the fd scan: TCP counts each interval, and owners ---- */

/* The inet or packet socket a file is, else NULL; its family in *family. */
static __always_inline struct sock *file_sock(struct file *file, __u16 *family)
{
	struct socket *sock;
	struct sock *sk;

	if ((file->f_inode->i_mode & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return NULL;
	sk = sock->sk;
	if (!sk)
		return NULL;
	*family = sk->__sk_common.skc_family;
	if (*family != AF_INET && *family != AF_INET6 && *family != AF_PACKET)
		return NULL;
	return sk;
}

/*
 * The fd scan in one pass, where the verifier lets a socket reached from a
 * file into bpf_sk_storage_get() (Linux 5.x and 6.x before it became
 * stricter): every socket of every network namespace, TCP bytes each
 * interval, owners of sockets older than snitch-trace and of accepted
 * ones. Where it is refused, userspace loads the three passes below.
 */
SEC("iter/task_file")
int scan_fds(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct sock_state *s;
	struct ev_flow *e;
	struct sock *sk;
	__u32 zero = 0;
	__u16 family;
	bool owner = false;

	if (!task || !file)
		return 0;
	sk = file_sock(file, &family);
	if (!sk)
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;

	s = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s) {
		count_lost(LOST_STORAGE);
		return 0;
	}
	if (family == AF_PACKET)
		s->cookie = PACKET_KEY(file->f_inode->i_ino);
	else if (!s->cookie)
		s->cookie = bpf_get_socket_cookie(sk);
	if (!(s->flags & S_IDENT) ||
	    ((s->flags & S_INHERITED) && task->tgid != s->id.proc[0].pid)) {
		/* older than us, or accepted: this process holds it */
		fill_ident(&s->id, task);
		owner = true;
	} else if (s->flags & S_INHERITED) {
		owner = true;	/* the listener's owner accepted it: confirmed */
	}
	s->flags = (s->flags | S_IDENT) & ~S_INHERITED;

	__builtin_memset(e, 0, sizeof(*e));
	e->key.cookie = s->cookie;
	e->hdr.ts_boot_ns = bpf_ktime_get_boot_ns();
	e->flags = FLOW_IDENT;
	e->id = s->id;
	if (family == AF_PACKET) {
		e->addr.family = AF_PACKET;
		e->addr.sock_type = sk->sk_type;
	} else {
		fill_addr_sk(&e->addr, sk);
	}

	if (sk->sk_protocol == IPPROTO_TCP && family != AF_PACKET) {
		struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);

		if (!tp)
			return 0;
		e->flags |= FLOW_TCP;
		if (!(s->flags & S_TCP_BASE) &&
		    sk->__sk_common.skc_state == TCP_ESTABLISHED) {
			/* established before we started: count from now */
			tcp_totals(tp, sk, s->flags, &s->base_sent, &s->base_recv);
			s->rep_sent = s->rep_recv = 0;
			s->flags |= S_TCP_BASE;
			owner = true;
		}
		if ((s->flags & S_TCP_BASE) && tcp_claim(s, tp, sk, &e->counts)) {
			e->hdr.type = IT_TCP_DELTA;
			bpf_seq_write(seq, e, sizeof(*e));
			owner = false;	/* the delta carries the owner too */
		}
	}
	/* a TCP socket is a flow only once established (not a listener) */
	if (owner && (sk->sk_protocol != IPPROTO_TCP || (s->flags & S_TCP_BASE))) {
		e->hdr.type = IT_OWNER;
		__builtin_memset(&e->counts, 0, sizeof(e->counts));
		bpf_seq_write(seq, e, sizeof(*e));
	}
	return 0;
}

/*
 * Where it is refused: three iterators, run in this order each interval:
 *
 * 1. scan_files (task_file) notes which process holds each TCP and UDP
 *    socket, by the socket's inode number, in holders. The socket it
 *    reaches from a file is one the verifier does not trust (newer
 *    kernels refuse it to bpf_sk_storage_get()), so it only reads from it.
 *    Raw, ICMP, UDP-Lite and AF_PACKET sockets, which no socket iterator
 *    visits, are reported to userspace here, with their holder.
 * 2. scan_tcp and 3. scan_udp visit each socket with a pointer the
 *    verifier trusts: they give it the owner the first pass found where it
 *    has none yet, or where its owner no longer holds it (an accepted
 *    socket, or one handed to another process), and report TCP's bytes.
 *
 * scan_gen tells this scan's holders from a former scan's.
 */
__u64 scan_gen;

struct holder {
	__u64 gen;		/* scan_gen of the scan that wrote it */
	__u64 exe_ino;		/* the holder's executable */
	__u32 pid;		/* a process holding the socket */
	__u32 pid2;		/* another one, 0 if none */
};

/* LRU: the sockets no socket iterator visits (another network
 * namespace's) are not deleted after the scan; they make way */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);	/* the socket's inode number */
	__type(value, struct holder);
} holders SEC(".maps");

/*
 * Every SCAN_TICK objects a pass visits, an empty record: userspace reads
 * the scan in small pieces, and between them drains the ring buffer. A
 * socket iterator walks every TCP socket, TIME_WAIT ones too: 160,000 of
 * them took 50-100 ms in one read(), long enough for a burst of new
 * connections to fill the ring buffer meanwhile.
 */
#define SCAN_TICK 256
__u64 scan_visits;

static __always_inline void scan_tick(struct seq_file *seq)
{
	__u32 zero = 0;
	struct ev_flow *e;

	if (++scan_visits & (SCAN_TICK - 1))
		return;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.type = IT_TICK;
	bpf_seq_write(seq, e, sizeof(*e));
}

static __always_inline __u64 task_exe_ino(struct task_struct *t)
{
	struct mm_struct *mm = t->mm;

	return mm && mm->exe_file ? mm->exe_file->f_inode->i_ino : 0;
}

SEC("iter/task_file")
int scan_files(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct holder *h;
	struct ev_flow *e;
	struct sock *sk;
	__u32 zero = 0;
	__u64 ino, cookie;
	__u16 family, proto;

	if (!task || !file)
		return 0;
	scan_tick(seq);
	sk = file_sock(file, &family);
	if (!sk)
		return 0;
	ino = file->f_inode->i_ino;
	proto = sk->sk_protocol;
	if (family != AF_PACKET && (proto == IPPROTO_TCP || proto == IPPROTO_UDP)) {
		struct holder n = { .gen = scan_gen, .pid = task->tgid,
				    .exe_ino = task_exe_ino(task) };

		h = bpf_map_lookup_elem(&holders, &ino);
		if (!h || h->gen != scan_gen) {
			/* past 16,384 sockets held, the least recent go: such a
			 * socket keeps the owner it has until a later scan */
			(void)bpf_map_update_elem(&holders, &ino, &n, BPF_ANY);
		} else if (h->pid != n.pid && !h->pid2) {
			h->pid2 = n.pid;
		}
		return 0;
	}

	/* no socket iterator visits these: userspace learns their holder */
	cookie = family == AF_PACKET ? PACKET_KEY(ino) : sk->__sk_common.skc_cookie.counter;
	if (!cookie)
		return 0;	/* nothing counted on it yet */
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.type = IT_OWNER;
	e->hdr.ts_boot_ns = bpf_ktime_get_boot_ns();
	e->key.cookie = cookie;
	e->flags = FLOW_IDENT;
	fill_ident(&e->id, task);
	if (family == AF_PACKET) {
		e->addr.family = AF_PACKET;
		e->addr.sock_type = sk->sk_type;
	} else {
		fill_addr_sk(&e->addr, sk);
	}
	bpf_seq_write(seq, e, sizeof(*e));
	return 0;
}

/*
 * The process to give a socket as its owner, 0 for none: the holder
 * scan_files found, if the socket has no owner yet, if it has its
 * listener's (accepted), or if its owner no longer holds it or has run
 * another executable since (handed over: *handover is set).
 */
static __always_inline __u32 scan_holder(struct sock_state *s, struct sock *sk, bool *handover,
					 __u32 *held_by)
{
	struct holder *h;
	__u64 ino = 0;
	__u32 pid, holder;

	*handover = false;
	held_by[0] = held_by[1] = 0;
	if (sk->sk_socket && sk->sk_socket->file)
		ino = sk->sk_socket->file->f_inode->i_ino;
	h = ino ? bpf_map_lookup_elem(&holders, &ino) : NULL;
	if (!h)
		return 0;
	holder = h->gen == scan_gen ? h->pid : 0;	/* else a former scan's */
	if (holder) {
		held_by[0] = h->pid;
		held_by[1] = h->pid2;
	}
	if (holder && (s->flags & S_IDENT)) {
		pid = s->id.proc[0].pid;
		if ((pid == h->pid && h->exe_ino == s->id.proc[0].exe_ino) || pid == h->pid2) {
			s->flags &= ~S_INHERITED;	/* it still holds it */
			holder = 0;
		} else {
			*handover = !(s->flags & S_INHERITED);
		}
	}
	bpf_map_delete_elem(&holders, &ino);
	return holder;
}

/*
 * The other of two processes that hold the socket, now that its owner is
 * settled: 0 when one holds it. True if that changed since the last scan.
 */
static __always_inline bool scan_shared(struct sock_state *s, const __u32 *held_by)
{
	__u32 owner = s->id.proc[0].pid, other = 0;

	if (held_by[1])
		other = owner == held_by[0] ? held_by[1] : owner == held_by[1] ? held_by[0] : 0;
	if (other == s->shared)
		return false;
	s->shared = other;
	return true;
}

/* Make process pid the socket's owner; false if it has gone. */
static __always_inline bool scan_adopt(struct sock_state *s, __u32 pid)
{
	struct task_struct *t = bpf_task_from_pid(pid);

	if (!t)
		return false;
	fill_ident(&s->id, t);
	bpf_task_release(t);
	s->flags = (s->flags | S_IDENT) & ~S_INHERITED;
	return true;
}

static __always_inline struct ev_flow *scan_event(struct sock_state *s, struct sock *sk)
{
	__u32 zero = 0;
	struct ev_flow *e = bpf_map_lookup_elem(&scratch, &zero);

	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	e->key.cookie = s->cookie;
	e->hdr.ts_boot_ns = bpf_ktime_get_boot_ns();
	e->flags = FLOW_IDENT;
	e->id = s->id;
	fill_addr_sk(&e->addr, sk);
	return e;
}

SEC("iter/tcp")
int scan_tcp(struct bpf_iter__tcp *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	struct sock_state *s;
	struct ev_flow *e;
	struct sock *sk;
	bool owner, handover, inherited;
	__u32 holder, held_by[2];

	if (!skc)
		return 0;
	scan_tick(seq);
	tp = bpf_skc_to_tcp_sock(skc);	/* NULL for time-wait and request socks */
	if (!tp)
		return 0;
	sk = (struct sock *)tp;
	if (sk->__sk_common.skc_state == TCP_LISTEN) {
		__u64 ino = sk->sk_socket && sk->sk_socket->file ?
			    sk->sk_socket->file->f_inode->i_ino : 0;

		if (ino)
			bpf_map_delete_elem(&holders, &ino);
		return 0;
	}
	s = bpf_sk_storage_get(&socks, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s) {
		count_lost(LOST_STORAGE);
		return 0;
	}
	if (!s->cookie)
		s->cookie = bpf_get_socket_cookie(tp);
	/* an owner for a socket without one now; a handed-over one's
	 * bytes so far go to the process that held it */
	inherited = s->flags & S_INHERITED;
	holder = scan_holder(s, sk, &handover, held_by);
	owner = holder && !handover && scan_adopt(s, holder);
	if (inherited && !(s->flags & S_INHERITED))
		owner = true;	/* accepted: its owner is known now */
	if (!(s->flags & S_IDENT))
		return 0;	/* held by no process: orphaned, or not yet accepted */
	if (!(s->flags & S_TCP_BASE) && sk->__sk_common.skc_state == TCP_ESTABLISHED) {
		/* established before we started: count from now */
		tcp_totals(tp, sk, s->flags, &s->base_sent, &s->base_recv);
		s->rep_sent = s->rep_recv = 0;
		s->flags |= S_TCP_BASE;
		owner = true;
	}
	if (!(s->flags & S_TCP_BASE))
		return 0;	/* a flow only once established */
	e = scan_event(s, sk);
	if (!e)
		return 0;
	e->flags |= FLOW_TCP;
	if (s->flags & S_INHERITED)
		e->flags |= FLOW_INHERITED;	/* not accepted by anyone yet */
	e->err = s->shared;	/* as of the last scan */
	if (tcp_claim(s, tp, sk, &e->counts)) {
		e->hdr.type = IT_TCP_DELTA;	/* the delta carries the owner too */
		bpf_seq_write(seq, e, sizeof(*e));
		owner = false;
	}
	if (handover && scan_adopt(s, holder)) {
		e->id = s->id;
		e->flags = (e->flags | FLOW_HANDOVER) & ~FLOW_INHERITED;
		owner = true;
	}
	if (scan_shared(s, held_by))
		owner = true;	/* the holders changed: said in an owner record */
	e->err = s->shared;
	if (owner) {
		e->hdr.type = IT_OWNER;
		__builtin_memset(&e->counts, 0, sizeof(e->counts));
		bpf_seq_write(seq, e, sizeof(*e));
	}
	return 0;
}

SEC("iter/udp")
int scan_udp(struct bpf_iter__udp *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct udp_sock *us = ctx->udp_sk;
	struct sock_state *s;
	struct ev_flow *e;
	struct sock *sk;
	bool handover, owner;
	__u32 holder, held_by[2];

	if (!us)
		return 0;
	scan_tick(seq);
	sk = (struct sock *)us;
	s = bpf_sk_storage_get(&socks, us, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s) {
		count_lost(LOST_STORAGE);
		return 0;
	}
	if (!s->cookie)
		s->cookie = bpf_get_socket_cookie(us);
	dg_flush(s);	/* before the flow table is read */
	holder = scan_holder(s, sk, &handover, held_by);
	owner = holder && scan_adopt(s, holder);
	if (!(s->flags & S_IDENT))
		return 0;
	if (scan_shared(s, held_by))
		owner = true;
	if (!owner)
		return 0;
	e = scan_event(s, sk);
	if (!e)
		return 0;
	e->hdr.type = IT_OWNER;
	e->err = s->shared;
	if (handover)
		e->flags |= FLOW_HANDOVER;
	bpf_seq_write(seq, e, sizeof(*e));
	return 0;
}

