/* SPDX-License-Identifier: MIT */
/*
 * snitch-trace: every byte each process sends and receives, counted in the
 * kernel (BPF), written as flow, exec, dns, lost and error records.
 */
#include <errno.h>
#include <malloc.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf/packetscan.skel.h"
#include "bpf/trace.skel.h"
#include "cli.h"
#include "clock.h"
#include "emit.h"
#include "exitcode.h"
#include "heap.h"
#include "log.h"
#include "privs.h"
#include "ready.h"
#include "sig.h"
#include "stage.h"
#include "trace.h"

/* A flow without a known owner is announced without one after this. */
#define OWNER_WAIT_NS (2000ULL * 1000 * 1000)
/*
 * An owner-less flow (a socket older than snitch-trace, an AF_PACKET socket
 * that only receives) makes the fd scan run at once, to find its process
 * before it exits; at most one scan every OWNER_SCAN_GAP_NS bounds the cost.
 * (An accepted connection has its listener's owner meanwhile: no scan.)
 */
#define OWNER_SCAN_GAP_NS (10ULL * 1000 * 1000)

/* A datagram flow idle this long is ended (no close is seen for AF_PACKET). */
#define IDLE_END_NS (60ULL * 1000 * 1000 * 1000)
/*
 * A TCP flow unchanged this long is forgotten: its end event may have been
 * lost (and counted so). If it was only idle, its next bytes bring it back
 * with a new "new" record.
 */
#define TCP_FORGET_NS (3600ULL * 1000 * 1000 * 1000)
/*
 * At exit (SIGINT, SIGTERM), the records still queued are written for at
 * most this long: a reader that takes none in that time is not waited for.
 */
#define EXIT_FLUSH_NS (3000ULL * 1000 * 1000)

#define UNSEEN_SAID 256

struct tracer {
	const struct trace_opts *opt;
	struct trace_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[16];
	int nlinks;
	/* the fd scan's iterators, run in this order; none: no scan */
	struct bpf_link *scan_links[3];
	int nscan;
	struct output out;
	struct outq q;			/* out.b, written as the reader takes it */
	uint64_t qdrop_seen;		/* q.dropped when last reported lost */
	uint64_t next_stats;		/* monotonic */
	uint64_t stats_dropped;		/* q.dropped at the last stats record */
	struct flow_table flows;
	struct clocks clk;
	uint64_t interval_ns;
	uint64_t next_drain;		/* monotonic */
	uint64_t next_scan;		/* monotonic, 0: none due */
	uint64_t last_scan;		/* monotonic */
	uint64_t lost_total[LOST_NREASONS];
	uint64_t lost_seen[LOST_NREASONS];
	struct buf scanbuf;
	int ncpus;
	struct syscall_set sys;		/* --syscalls */
	struct syscall_procs *sysprocs;
	/*
	 * How full the kernel's tables are (stats): the ring buffer's consumer
	 * and producer positions, mapped read-only (NULL: not mapped), the
	 * most it held at a wake-up in the interval; the flow table's
	 * entries at the last drain.
	 */
	const unsigned long *rb_cons, *rb_prod;
	uint64_t rb_peak;
	uint64_t flow_entries;
	/*
	 * AF_PACKET sockets some of whose frames no hook sizes
	 * (bpf/packetscan.bpf.c), run with the fd scan; NULL: not looked
	 * for. What was named already (inode and UNSEEN_* bit), the last
	 * UNSEEN_SAID of them.
	 */
	struct packetscan_bpf *pks;
	struct bpf_link *pks_link;
	uint64_t pks_said[UNSEEN_SAID];
	unsigned pks_nsaid;
};

static const char *const lost_text[LOST_NREASONS] = {
	[LOST_RINGBUF_FLOW] = "flow events were not recorded: the ring buffer was full",
	[LOST_RINGBUF_EXEC] = "exec events were not recorded: the ring buffer was full",
	[LOST_RINGBUF_DNS] = "DNS answers were not recorded: the ring buffer was full",
	[LOST_FLOW_TABLE] = "datagrams were not counted: the flow table was full",
	[LOST_STORAGE] = "sockets got no state: out of kernel memory",
	[LOST_PACKET_RX] = "AF_PACKET frames received could not be sized (mmap ring or race)",
	[LOST_SYSCALL_TABLE] = "system calls were not counted: the per-process table was full (--max-syscall-procs)",
	[LOST_RINGBUF_HELLO] = "first bytes of TCP clients were not recorded: the ring buffer was full",
};

static const char *const lost_code[LOST_NREASONS] = {
	[LOST_RINGBUF_FLOW] = "ringbuf_full_flow",
	[LOST_RINGBUF_EXEC] = "ringbuf_full_exec",
	[LOST_RINGBUF_DNS] = "ringbuf_full_dns",
	[LOST_FLOW_TABLE] = "flow_table_full",
	[LOST_STORAGE] = "socket_state_alloc",
	[LOST_PACKET_RX] = "packet_rx_unsized",
	[LOST_SYSCALL_TABLE] = "syscall_table_full",
	[LOST_RINGBUF_HELLO] = "ringbuf_full_hello",
};

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Realtime for a kernel boottime stamp, following clock adjustments. */
static uint64_t to_real(uint64_t boot)
{
	return boot + (clock_real_ns() - boot_ns());
}

static void error_record(struct tracer *t, const char *code, const char *msg)
{
	emit_error_begin(&t->out.b, STAGE, code, msg);
	emit_end(&t->out.b);
}

/* ---- flows ---- */

static void announce(struct tracer *t, struct flow *f, uint64_t now_real)
{
	if (f->announced)
		return;
	f->announced = true;
	write_flow(&t->out, &t->clk, f, "new", now_real);
}

static void set_ident(struct flow *f, const struct ev_flow *e)
{
	if (!(e->flags & FLOW_IDENT))
		return;
	f->id = e->id;
	f->have_id = true;
	f->inherited = e->flags & FLOW_INHERITED;
}

/*
 * A socket another process holds now (the fd scan): what its former owner
 * moved goes out under that owner's name before the flow takes the new one.
 */
static void hand_over(struct tracer *t, struct flow *f, const struct ev_flow *e,
		      uint64_t now_real)
{
	if (!(e->flags & FLOW_HANDOVER) || !f->announced)
		return;
	if (f->pending.send_bytes || f->pending.recv_bytes ||
	    f->pending.send_calls || f->pending.recv_calls)
		write_flow(&t->out, &t->clk, f, "update", now_real);
}

/* An event names a flow; get it, creating it from the event if new. */
static struct flow *flow_of_event(struct tracer *t, const struct ev_flow *e,
				  uint64_t now_real)
{
	bool created;
	struct flow *f = flow_get(&t->flows, &e->key, &created);

	if (!f)
		return NULL;
	if (created) {
		f->addr = e->addr;
		f->tcp = e->flags & FLOW_TCP;
		f->from_ns = now_real;
		f->seen_mono = f->changed_mono = clock_mono_ns();
	}
	return f;
}

static void schedule_scan(struct tracer *t)
{
	uint64_t when = t->last_scan + OWNER_SCAN_GAP_NS;

	if (!t->next_scan || when < t->next_scan)
		t->next_scan = when;
}

/*
 * What became of a connection attempt, from the error the kernel gave the
 * socket (docs/records.md, outcome). No error: a TCP attempt whose SYN went
 * out was given up by the application before an answer came (its own
 * connect timeout); one whose SYN never went out failed in the kernel.
 */
static const char *outcome_of(const struct ev_flow *e)
{
	switch (e->err) {
	case 0:
		return e->flags & FLOW_SYN_SENT ? "timeout" : "error";
	case ECONNREFUSED:
		return "refused";
	case ETIMEDOUT:
		return "timeout";
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case EACCES:
	case EPERM:
		return "unreachable";
	case ECONNRESET:
	case EPIPE:
		return "reset";
	default:
		return "error";
	}
}

/* A new flow: announced at once, under its owner or its listener's. */
static void flow_new(struct tracer *t, struct flow *f, const struct ev_flow *e, uint64_t now)
{
	f->addr = e->addr;
	set_ident(f, e);
	if (f->tcp)
		f->outcome = e->flags & FLOW_ACTIVE ? "connected" : "accepted";
	/*
	 * An accepted connection is announced under its listener's owner,
	 * which is the process that accepts it unless a worker of another
	 * executable does: the fd scan of the interval, or the close, then
	 * names that one for the bytes. Scanning for every accepted
	 * connection cost a core at 200 a second (the socket iterator visits
	 * every TCP socket, TIME_WAIT ones too).
	 */
	if (f->have_id)
		announce(t, f, now);
	else	/* which process holds it: soon, or OWNER_WAIT_NS */
		schedule_scan(t);
}

/* A TCP connect that never got established: first sight and end at once,
 * with the identity from socket creation. */
static void flow_attempt(struct tracer *t, struct flow *f, const struct ev_flow *e, uint64_t now)
{
	f->addr = e->addr;
	set_ident(f, e);
	f->outcome = outcome_of(e);
	announce(t, f, now);
	write_flow(&t->out, &t->clk, f, "end", now);
	flow_remove(&t->flows, f);
}

/* An ICMP error for what a connected datagram socket sent: the counts so
 * far, and the outcome, at once. */
static void flow_dgram_error(struct tracer *t, struct flow *f, const struct ev_flow *e, uint64_t now)
{
	if (!f->have_id || f->inherited)
		set_ident(f, e);
	f->outcome = outcome_of(e);
	announce(t, f, now);
	write_flow(&t->out, &t->clk, f, "update", now);
}

/* The fd scan: bytes since the last report, with the owner (or, not
 * accepted yet, its listener's). */
static void flow_tcp_delta(struct tracer *t, struct flow *f, const struct ev_flow *e, uint64_t now)
{
	set_ident(f, e);
	f->shared = e->err;
	announce(t, f, now);
	f->pending.send_bytes += e->counts.send_bytes;
	f->pending.recv_bytes += e->counts.recv_bytes;
	f->changed_mono = clock_mono_ns();
}

/* The fd scan found who holds a socket (a TCP connection older than
 * snitch-trace is first seen here). */
static void flow_owner(struct tracer *t, struct flow *f, const struct ev_flow *e, uint64_t now)
{
	hand_over(t, f, e, now);
	set_ident(f, e);
	f->shared = e->err;
	announce(t, f, now);
}

static void flow_end(struct tracer *t, struct flow *f, const struct ev_flow *e, uint64_t now)
{
	if (!f->have_id || f->inherited)
		set_ident(f, e);
	/* keep the addresses from first sight: at destroy the socket is
	 * unhashed and its local port reads 0 */
	announce(t, f, now);
	f->pending.send_bytes += e->counts.send_bytes;
	f->pending.recv_bytes += e->counts.recv_bytes;
	if (e->flags & FLOW_RESET)
		f->outcome = "reset";
	write_flow(&t->out, &t->clk, f, "end", now);
	flow_remove(&t->flows, f);
}

static void flow_sock_closed(struct flow *f, const struct ev_flow *e)
{
	if (!f->have_id || f->inherited)
		set_ident(f, e);
	if (!f->tcp)
		f->closing = true;
}

/* IT_TICK, and any other event that names no flow, is passed over. */
static void on_flow_event(struct tracer *t, const struct ev_flow *e)
{
	uint64_t now = to_real(e->hdr.ts_boot_ns);
	struct flow *f = NULL;

	switch (e->hdr.type) {
	case EV_FLOW_NEW:
		if ((f = flow_of_event(t, e, now)))
			flow_new(t, f, e, now);
		break;
	case EV_FLOW_ATTEMPT:
		if ((f = flow_of_event(t, e, now)))
			flow_attempt(t, f, e, now);
		break;
	case EV_DGRAM_ERROR:
		if ((f = flow_of_event(t, e, now)))
			flow_dgram_error(t, f, e, now);
		break;
	case IT_TCP_DELTA:
		if ((f = flow_of_event(t, e, now)))
			flow_tcp_delta(t, f, e, now);
		break;
	case IT_OWNER:
		if (e->flags & FLOW_TCP) {
			if ((f = flow_of_event(t, e, now)))
				flow_owner(t, f, e, now);
			break;
		}
		/* a datagram socket: every flow it has */
		for (f = flow_first_of(&t->flows, e->key.cookie); f; f = flow_next_of(f))
			flow_owner(t, f, e, now);
		break;
	case EV_FLOW_END:
		if ((f = flow_of_event(t, e, now)))
			flow_end(t, f, e, now);
		break;
	case EV_SOCK_CLOSED:
		for (f = flow_first_of(&t->flows, e->key.cookie); f; f = flow_next_of(f))
			flow_sock_closed(f, e);
		break;
	}
}

/* Bytes in the ring buffer not yet consumed (0 when its positions are not mapped). */
static uint64_t ringbuf_used(const struct tracer *t)
{
	unsigned long cons, prod;

	if (!t->rb_cons)
		return 0;
	cons = __atomic_load_n(t->rb_cons, __ATOMIC_ACQUIRE);
	prod = __atomic_load_n(t->rb_prod, __ATOMIC_ACQUIRE);
	return prod >= cons ? prod - cons : 0;
}

static void ringbuf_note_level(struct tracer *t)
{
	uint64_t used = ringbuf_used(t);

	if (used > t->rb_peak)
		t->rb_peak = used;
}

/* A sample_cb return that stops ring_buffer__consume(): the queue is full. */
#define QUEUE_FULL (-ENOBUFS)

static int on_event(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	const struct ev_hdr *h = data;
	size_t at = t->out.b.len;

	/* the fill as each event is read: a slow reader that keeps up
	 * within one wake-up still shows how near full the ring came */
	ringbuf_note_level(t);
	if (size < sizeof(*h))
		return 0;
	switch (h->type) {
	case EV_EXEC:
		if (size >= sizeof(struct ev_exec))
			write_exec(&t->out, &t->clk, data, to_real(h->ts_boot_ns));
		break;
	case EV_DNS:
		if (size >= sizeof(struct ev_dns))
			write_dns(&t->out, data, to_real(h->ts_boot_ns));
		break;
	case EV_HELLO:
		if (size >= sizeof(struct ev_hello))
			write_hello(&t->out, data, to_real(h->ts_boot_ns));
		break;
	default:
		if (size >= sizeof(struct ev_flow))
			on_flow_event(t, data);
		break;
	}
	(void)outq_trim(&t->q, at);
	/*
	 * a 0 keeps the ring buffer loop going; a negative value stops it
	 * (this event is consumed): the rest wait in the ring buffer until
	 * the reader has taken some of the queue
	 */
	return outq_full(&t->q) ? QUEUE_FULL : 0;
}

/* How much of a scan is read at once: see SCAN_TICK in bpf/trace.bpf.c. */
#define SCAN_READ 8192

/*
 * An iterator's records (each rec bytes) to each, read in pieces: between
 * them, what the ring buffer holds is taken, so that a long scan does not
 * let it fill. Each piece's records are taken first: the ring buffer's
 * events are all later than them.
 */
static int read_iter(struct tracer *t, struct bpf_link *link, size_t rec,
		     void (*each)(struct tracer *, const void *))
{
	int fd = bpf_iter_create(bpf_link__fd(link));
	size_t have = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	buf_reset(&t->scanbuf);
	if (buf_reserve(&t->scanbuf, SCAN_READ + rec) < 0) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		size_t off = 0;

		n = read(fd, t->scanbuf.p + have, SCAN_READ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		for (; off + rec <= have; off += rec) {
			size_t at = t->out.b.len;

			each(t, t->scanbuf.p + off);
			(void)outq_trim(&t->q, at);
		}
		memmove(t->scanbuf.p, t->scanbuf.p + off, have - off);
		have -= off;
		if (!outq_full(&t->q)) {
			int e = ring_buffer__consume(t->rb);

			if (e < 0 && e != QUEUE_FULL)
				log_limited("reading the ring buffer: %s", strerror(-e));
		}
	}
	close(fd);
	return n < 0 ? -errno : 0;
}

/* A record of the fd scan into the flows. */
static void scan_record(struct tracer *t, const void *p)
{
	struct ev_flow e;

	memcpy(&e, p, sizeof(e));
	on_flow_event(t, &e);
}

/*
 * A packet socket some of whose frames are not sized (a record of the
 * packet scan), named once for each kind, with the first holder the scan
 * finds: on standard error, and as an error record.
 */
static void say_unseen(struct tracer *t, const void *p)
{
	static const struct {
		uint32_t bit;
		const char *code, *what;
	} kinds[] = {
		{ UNSEEN_TX_BYPASS, "packet_bypass",
		  "sends AF_PACKET frames past the queueing discipline (PACKET_QDISC_BYPASS, socket inode %llu): no hook sees them, they are not counted" },
		{ UNSEEN_RX_RING, "packet_rx_ring",
		  "receives AF_PACKET frames into an mmap ring (PACKET_RX_RING, socket inode %llu): they are counted as lost (packet_rx_unsized), not in bytes" },
	};
	char comm[COMM_LEN + 1], what[256], msg[512];
	struct ev_unseen e;

	memcpy(&e, p, sizeof(e));
	memcpy(comm, e.comm, COMM_LEN);
	comm[COMM_LEN] = '\0';
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		uint64_t key = e.ino << 2 | kinds[k].bit;
		bool said = false;

		if (!(e.what & kinds[k].bit))
			continue;
		for (unsigned i = 0; i < t->pks_nsaid && i < UNSEEN_SAID && !said; i++)
			said = t->pks_said[i] == key;
		if (said)
			continue;
		t->pks_said[t->pks_nsaid++ % UNSEEN_SAID] = key;
		snprintf(what, sizeof(what), kinds[k].what, (unsigned long long)e.ino);
		snprintf(msg, sizeof(msg), "process %u (%s) %s", e.pid, comm, what);
		log_msg("%s", msg);
		emit_error_begin(&t->out.b, STAGE, kinds[k].code, msg);
		emit_u64(&t->out.b, "pid", e.pid);
		emit_u64(&t->out.b, "start_ns", to_real(e.start_boot_ns));
		emit_str(&t->out.b, "comm", comm, strlen(comm));
		emit_u64(&t->out.b, "ino", e.ino);
		emit_end(&t->out.b);
	}
}

/*
 * The fd scan: TCP bytes of every socket some process holds, and owners.
 * What the ring buffer holds is taken first: a process's exec and its
 * connection's first sight come before any scan record of that connection
 * (snitch-resolve learns an executable's path from the exec record of a
 * process that is gone by the time it reads it). A socket made while the
 * scan runs can still be seen by the scan first.
 */
static int run_scan(struct tracer *t)
{
	int r = 0, e;

	if (!t->nscan)
		return 0;
	if (!outq_full(&t->q) && (e = ring_buffer__consume(t->rb)) < 0 && e != QUEUE_FULL)
		log_limited("reading the ring buffer: %s", strerror(-e));
	t->last_scan = clock_mono_ns();
	t->skel->bss->scan_gen++;	/* the holders this scan finds */
	for (int i = 0; i < t->nscan && r == 0; i++)
		r = read_iter(t, t->scan_links[i], sizeof(struct ev_flow), scan_record);
	if (r == 0 && t->pks_link)
		r = read_iter(t, t->pks_link, sizeof(struct ev_unseen), say_unseen);
	return r;
}

/* What the map's counters moved since they were last read. */
static void absorb_counts(struct flow *f, const struct flow_counts *c)
{
	f->pending.send_bytes += c->send_bytes - f->last.send_bytes;
	f->pending.recv_bytes += c->recv_bytes - f->last.recv_bytes;
	f->pending.send_calls += c->send_calls - f->last.send_calls;
	f->pending.recv_calls += c->recv_calls - f->last.recv_calls;
	f->last = *c;
}

/* Datagram and AF_PACKET counters: read the whole map, write the deltas. */
static void drain_map(struct tracer *t, uint64_t now_real, uint64_t mono)
{
	int fd = bpf_map__fd(t->skel->maps.flows);
	struct flow_key key, next;
	struct flow_counts c;
	bool first = true;
	struct flow_key *dead = NULL;
	size_t ndead = 0, cap = 0;

	t->flow_entries = 0;
	while (bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		bool created;
		struct flow *f;

		first = false;
		key = next;
		t->flow_entries++;
		if (bpf_map_lookup_elem(fd, &key, &c) < 0)
			continue;
		f = flow_get(&t->flows, &key, &created);
		if (!f)
			continue;
		if (created) {
			/* its "new" event was lost: counted as lost already */
			f->from_ns = now_real;
			f->seen_mono = mono;
			f->changed_mono = mono;
			f->addr.family = key.family;
			f->addr.sock_type = key.sock_type;
			f->addr.proto = key.proto;
			memcpy(f->addr.raddr, key.peer, 16);
			f->addr.rport = key.peer_port;
		}
		if (memcmp(&c, &f->last, sizeof(c)) != 0) {
			absorb_counts(f, &c);
			f->changed_mono = mono;
		}
		if (f->closing || mono - f->changed_mono >= IDLE_END_NS) {
			if (ndead == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct flow_key *p = realloc(dead, ncap * sizeof(*p));
				if (!p)
					continue;
				dead = p;
				cap = ncap;
			}
			dead[ndead++] = key;
		}
	}
	/* delete after the walk: deleting during it would restart it */
	for (size_t i = 0; i < ndead; i++) {
		struct flow *f = flow_find(&t->flows, &dead[i]);

		if (bpf_map_lookup_elem(fd, &dead[i], &c) == 0 && f)
			absorb_counts(f, &c);
		(void)bpf_map_delete_elem(fd, &dead[i]);
		if (f) {
			announce(t, f, now_real);
			write_flow(&t->out, &t->clk, f, "end", now_real);
			flow_remove(&t->flows, f);
		}
	}
	free(dead);
}

static void lost_record(struct tracer *t, const char *reason, uint64_t count,
			uint64_t total, const char *msg)
{
	struct buf *b = &t->out.b;

	if (count)
		log_limited("%s", msg);
	emit_begin(b, "lost", clock_real_ns());
	emit_cstr(b, "stage", STAGE);
	emit_cstr(b, "reason", reason);
	emit_u64(b, "count", count);
	emit_u64(b, "total", total);
	emit_cstr(b, "message", msg);
	emit_end(b);
}

static void check_lost(struct tracer *t, bool at_exit)
{
	int fd = bpf_map__fd(t->skel->maps.lost);
	uint64_t *v = calloc((size_t)t->ncpus, sizeof(uint64_t));

	if (!v)
		return;
	for (uint32_t r = 0; r < LOST_NREASONS; r++) {
		uint64_t sum = 0, count;
		char msg[160];

		if (bpf_map_lookup_elem(fd, &r, v) < 0)
			continue;
		for (int c = 0; c < t->ncpus; c++)
			sum += v[c];
		t->lost_total[r] = sum;
		count = sum - t->lost_seen[r];
		if (!count && !(at_exit && sum))
			continue;
		t->lost_seen[r] = sum;
		snprintf(msg, sizeof(msg), "%llu %s%s", (unsigned long long)count,
			 lost_text[r], at_exit ? " (summary at exit)" : "");
		lost_record(t, lost_code[r], count, sum, msg);
	}
	free(v);
	/* and the records this side dropped: lost records themselves never are */
	if (t->q.dropped > t->qdrop_seen || (at_exit && t->q.dropped)) {
		char msg[200];
		uint64_t count = t->q.dropped - t->qdrop_seen;

		t->qdrop_seen = t->q.dropped;
		snprintf(msg, sizeof(msg),
			 "%llu records were not written: the output queue was full (--queue-size, %llu bytes), its reader too slow%s",
			 (unsigned long long)count, (unsigned long long)t->q.limit,
			 at_exit ? " (summary at exit)" : "");
		lost_record(t, "queue_full", count, t->q.dropped, msg);
	}
}

/*
 * The ring buffer's positions, read-only: its consumer page at offset 0,
 * its producer page after it (the layout libbpf maps). Without them the
 * stats say 0.
 */
static void map_ringbuf_positions(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.events);
	long page = sysconf(_SC_PAGESIZE);
	void *c, *p;

	c = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED)
		return;
	p = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, page);
	if (p == MAP_FAILED) {
		munmap(c, (size_t)page);
		return;
	}
	t->rb_cons = c;
	t->rb_prod = p;
}

/*
 * The output queue's use (docs/records.md, stats): bytes waiting now, the
 * most that waited in the interval, and the records dropped in it; the
 * same of the ring buffer (the most it held when snitch-trace woke to
 * read it); the flow table's entries and size.
 */
static void stats_record(struct tracer *t)
{
	struct buf *b = &t->out.b;

	emit_begin(b, "stats", clock_real_ns());
	emit_cstr(b, "stage", STAGE);
	emit_u64(b, "interval_s", t->opt->stats_s);
	emit_u64(b, "queue_bytes", outq_len(&t->q));
	emit_u64(b, "queue_peak_bytes", t->q.peak);
	emit_u64(b, "queue_size", t->q.limit);
	emit_u64(b, "queue_full", t->q.dropped - t->stats_dropped);
	emit_u64(b, "ringbuf_bytes", ringbuf_used(t));
	emit_u64(b, "ringbuf_peak_bytes", t->rb_peak);
	emit_u64(b, "ringbuf_size", bpf_map__max_entries(t->skel->maps.events));
	emit_u64(b, "flow_table_entries", t->flow_entries);
	emit_u64(b, "flow_table_max_entries", bpf_map__max_entries(t->skel->maps.flows));
	emit_end(b);
	t->stats_dropped = t->q.dropped;
	t->q.peak = outq_len(&t->q);
	t->rb_peak = ringbuf_used(t);
}

/* Every interval: the fd scan, the map, then one update per active flow. */
static void drain(struct tracer *t, bool at_exit)
{
	uint64_t now_real = clock_real_ns(), mono;
	struct flow *f, *next;
	size_t at;
	int r;

	r = run_scan(t);
	if (r < 0)
		log_limited("the fd scan failed: %s", strerror(-r));
	t->next_scan = 0;
	/* after the scan, which stamps the flows it touches: taken before,
	 * "mono - f->changed_mono" wrapped, and a TCP flow that had just
	 * moved bytes was forgotten as if idle for an hour */
	mono = clock_mono_ns();
	at = t->out.b.len;
	/*
	 * The same mono for the flows the map walk finds first: with a later
	 * one, "mono - f->seen_mono" below wrapped, and a flow whose "new"
	 * event was still in the ring buffer (its first datagram sent while
	 * the walk ran) was announced at once without its owner, its bytes
	 * with it; the event then named an owner for none of them.
	 */
	drain_map(t, now_real, mono);
	(void)outq_trim(&t->q, at);
	if (t->sys.n) {
		at = t->out.b.len;
		syscall_procs_drain(t->sysprocs, bpf_map__fd(t->skel->maps.sys_counts), &t->sys,
				    &t->out, &t->clk, now_real);
		(void)outq_trim(&t->q, at);
	}
	flow_for_each(&t->flows, f, next) {
		at = t->out.b.len;
		if (!f->announced && (at_exit || mono - f->seen_mono >= OWNER_WAIT_NS))
			announce(t, f, now_real);	/* owner never found */
		if (f->announced && (f->pending.send_bytes || f->pending.recv_bytes ||
				     f->pending.send_calls || f->pending.recv_calls))
			write_flow(&t->out, &t->clk, f, "update", now_real);
		(void)outq_trim(&t->q, at);
		if (f->tcp && mono - f->changed_mono >= TCP_FORGET_NS)
			flow_remove(&t->flows, f);
	}
	check_lost(t, at_exit);
	if (at_exit || mono >= t->next_stats) {
		stats_record(t);
		t->next_stats = mono + t->opt->stats_s * 1000000000ULL;
	}
}

/* ---- set-up ---- */

static bool trace_verbose;

/* libbpf speaks only with --verbose: its errors repeat the verifier's log */
static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG || !trace_verbose)
		return 0;
	fprintf(stderr, "%s: libbpf: ", STAGE);
	return vfprintf(stderr, fmt, ap);
}

static bool find_cgroup2(char *out, size_t size)
{
	FILE *f = fopen("/proc/mounts", "re");
	char dev[256], dir[4096], type[64];
	bool found = false;

	if (!f)
		return false;
	while (fscanf(f, "%255s %4095s %63s %*s %*d %*d", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(out, size, "%s", dir);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

struct hook {
	struct bpf_program *prog;
	const char *tracepoint;		/* BTF name of a tp_btf target, or NULL */
	const char *what;
	bool cgroup;
	bool off;			/* not wanted: an option turned it off */
	bool on;
};

static bool btf_has(const struct btf *btf, const char *name, int kind)
{
	return btf && btf__find_by_name_kind(btf, name, kind) > 0;
}

/* The fd scan's programs: one pass, or three where the verifier wants. */
enum scan_kind { SCAN_NONE, SCAN_ONE, SCAN_THREE };

/*
 * Open the BPF object and say which programs to load: the hooks this
 * kernel has (the others are listed in uncovered) and the fd scan of the
 * kind asked for.
 */
static int open_bpf(struct tracer *t, const struct trace_opts *o, struct btf *vmlinux,
		    bool have_cgroup, enum scan_kind scan, struct hook *hooks, int *nhooks,
		    struct buf *uncovered)
{
	int nh = 0;

	t->skel = trace_bpf__open();
	if (!t->skel) {
		log_msg("cannot open the BPF object: %s", strerror(errno));
		return SNITCH_EXIT_SOFTWARE;
	}
	t->skel->rodata->want_exec = !o->no_exec;
	t->skel->rodata->want_dns = !o->no_dns;
	for (int i = 0; i < t->sys.n; i++)
		t->skel->rodata->syscall_slot[t->sys.nr[i]] = (__u8)(i + 1);
	bpf_map__set_max_entries(t->skel->maps.sys_counts, (uint32_t)o->max_syscall_procs);
	t->skel->rodata->want_hello = !o->no_hello;
	bpf_map__set_max_entries(t->skel->maps.flows, (uint32_t)o->max_flows);
	bpf_map__set_max_entries(t->skel->maps.events, (uint32_t)o->ringbuf_kb * 1024);

#define HOOK(p, tp, w, cg, no) hooks[nh++] = (struct hook){ t->skel->progs.p, tp, w, cg, no, true }
	HOOK(on_sock_create, NULL, "socket owners (cgroup/sock_create)", true, false);
	HOOK(on_sock_release, NULL, "socket release (cgroup/sock_release)", true, false);
	HOOK(on_egress, NULL, "UDP, ICMP and raw IP sent (cgroup_skb/egress)", true, false);
	HOOK(on_ingress, NULL, "UDP, ICMP and raw IP received, DNS answers (cgroup_skb/ingress)", true, false);
	HOOK(on_state, "btf_trace_inet_sock_set_state", "TCP connections (inet_sock_set_state)", false, false);
	HOOK(on_tcp_destroy, "btf_trace_tcp_destroy_sock", "TCP last counts (tcp_destroy_sock)", false, false);
	HOOK(on_sk_error, "btf_trace_inet_sk_error_report", "ICMP errors for connected UDP sockets (inet_sk_error_report)", false, false);
	HOOK(on_exec, "btf_trace_sched_process_exec", "exec (sched_process_exec)", false, o->no_exec);
	HOOK(on_dev_queue, "btf_trace_net_dev_queue", "AF_PACKET frames sent (net_dev_queue)", false, o->no_packet);
	HOOK(on_data_ready, "btf_trace_sk_data_ready", "AF_PACKET frames received (sk_data_ready)", false, o->no_packet);
	HOOK(on_sys_enter, "btf_trace_sys_enter", "system calls (sys_enter)", false, !t->sys.n);
#undef HOOK
	buf_reset(uncovered);
	for (int i = 0; i < nh; i++) {
		struct hook *h = &hooks[i];

		if (h->off || (h->cgroup && !have_cgroup) ||
		    (h->tracepoint && !btf_has(vmlinux, h->tracepoint, BTF_KIND_TYPEDEF))) {
			h->on = false;
			bpf_program__set_autoload(h->prog, false);
			if (!h->off)
				buf_printf(uncovered, "%s%s", uncovered->len ? "; " : "", h->what);
		}
	}
	*nhooks = nh;
	bpf_program__set_autoload(t->skel->progs.scan_fds, scan == SCAN_ONE);
	bpf_program__set_autoload(t->skel->progs.scan_files, scan == SCAN_THREE);
	bpf_program__set_autoload(t->skel->progs.scan_tcp, scan == SCAN_THREE);
	bpf_program__set_autoload(t->skel->progs.scan_udp, scan == SCAN_THREE);
	return -1;
}

/*
 * Load, with the fd scan in one pass if this kernel's verifier takes it,
 * else in three (bpf/trace.bpf.c says why), else with none.
 */
static int load_bpf(struct tracer *t, const struct trace_opts *o, struct btf *vmlinux,
		    bool have_cgroup, struct hook *hooks, int *nh, struct buf *uncovered,
		    enum scan_kind *scan)
{
	bool have_three = btf_has(vmlinux, "bpf_iter__tcp", BTF_KIND_STRUCT) &&
			  btf_has(vmlinux, "bpf_iter__udp", BTF_KIND_STRUCT);
	int err, r;

	*scan = btf_has(vmlinux, "bpf_iter__task_file", BTF_KIND_STRUCT) ? SCAN_ONE : SCAN_NONE;
	for (;;) {
		if ((r = open_bpf(t, o, vmlinux, have_cgroup, *scan, hooks, nh, uncovered)) >= 0)
			return r;
		err = trace_bpf__load(t->skel);
		if (!err)
			return -1;
		err = errno ? errno : -err;
		if (*scan == SCAN_NONE)
			break;
		trace_bpf__destroy(t->skel);
		t->skel = NULL;
		if (*scan == SCAN_ONE && have_three) {
			if (trace_verbose)
				log_msg("the one-pass fd scan was refused (%s): trying it in three passes",
					strerror(err));
			*scan = SCAN_THREE;
		} else {
			*scan = SCAN_NONE;
		}
	}
	if (err == EPERM || err == EACCES) {
		log_msg("cannot load BPF programs: %s (run as root, or with CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN)",
			strerror(err));
		return SNITCH_EXIT_NOPERM;
	}
	log_msg("cannot load BPF programs: %s%s", strerror(err),
		trace_verbose ? "" : " (--verbose shows the verifier's log)");
	return SNITCH_EXIT_UNAVAILABLE;
}

/*
 * UDP sockets count their first peer's datagrams in their own storage
 * (bpf/trace.bpf.c, dg_flush) once the UDP iterator, which moves those
 * counts to the flow table at each drain, runs: for the sockets of the
 * network namespace it sees, this one (its cookie, SO_NETNS_COOKIE).
 */
static void dgram_cache_on(struct tracer *t)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) == 0 && cookie) {
		t->skel->bss->dg_netns_cookie = cookie;
		t->skel->bss->dg_cache_on = true;
	}
	close(fd);
}

/*
 * The cgroup whose sockets are watched: --cgroup, or the cgroup2 mount. A
 * descriptor, or -1 with none (an error only when --cgroup named it).
 */
static int open_cgroup(const struct trace_opts *o, char *path, size_t size, int *fd)
{
	*fd = -1;
	if (o->cgroup)
		snprintf(path, size, "%s", o->cgroup);
	else if (!find_cgroup2(path, size))
		return 0;
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	log_msg("cannot open cgroup '%s': %s", path, strerror(errno));
	return o->cgroup ? SNITCH_EXIT_UNAVAILABLE : 0;
}

/* What does not attach is said, and named in uncovered. */
static void attach_hooks(struct tracer *t, struct hook *hooks, int nh, int cgfd,
			 struct buf *uncovered)
{
	char msg[512];

	for (int i = 0; i < nh; i++) {
		struct hook *h = &hooks[i];
		struct bpf_link *l;

		if (!h->on)
			continue;
		l = h->cgroup ? bpf_program__attach_cgroup(h->prog, cgfd)
			      : bpf_program__attach(h->prog);
		if (!l) {
			snprintf(msg, sizeof(msg), "cannot attach %s: %s", h->what, strerror(errno));
			log_msg("%s", msg);
			error_record(t, "attach_failed", msg);
			buf_printf(uncovered, "%s%s", uncovered->len ? "; " : "", h->what);
			continue;
		}
		t->links[t->nlinks++] = l;
	}
}

/* The fd scan's iterators, all or none: the scan that is left. */
static enum scan_kind attach_scan(struct tracer *t, enum scan_kind scan)
{
	if (scan == SCAN_ONE) {
		t->scan_links[t->nscan++] = bpf_program__attach_iter(t->skel->progs.scan_fds, NULL);
	} else if (scan == SCAN_THREE) {
		t->scan_links[t->nscan++] = bpf_program__attach_iter(t->skel->progs.scan_files, NULL);
		t->scan_links[t->nscan++] = bpf_program__attach_iter(t->skel->progs.scan_tcp, NULL);
		t->scan_links[t->nscan++] = bpf_program__attach_iter(t->skel->progs.scan_udp, NULL);
	}
	for (int i = 0; i < t->nscan; i++) {
		if (!t->scan_links[i]) {
			for (int j = 0; j < t->nscan; j++)
				bpf_link__destroy(t->scan_links[j]);
			t->nscan = 0;
			return SCAN_NONE;
		}
	}
	return scan;
}

/*
 * The iterator that names the AF_PACKET sockets some of whose frames are
 * not sized: an object of its own, for it needs the bpf_rdonly_cast()
 * kfunc, which older kernels lack; without it the rest goes on, and
 * start-up says so.
 */
static void attach_packetscan(struct tracer *t)
{
	int err = 0;

	t->pks = packetscan_bpf__open_and_load();
	if (!t->pks)
		err = errno;
	else if (!(t->pks_link = bpf_program__attach_iter(t->pks->progs.scan_packets, NULL)))
		err = errno;
	if (!err)
		return;
	log_msg("not looked for: AF_PACKET sockets that send past the queueing discipline or receive into an mmap ring, whose frames are not counted: %s",
		strerror(err));
	packetscan_bpf__destroy(t->pks);
	t->pks = NULL;
}

/* What is counted, how, and what is not seen: on standard error at start,
 * and what is missing as error records too. */
static void tell_coverage(struct tracer *t, const struct trace_opts *o, enum scan_kind scan,
			  const char *cgpath, const struct buf *uncovered)
{
	char msg[512];

	if (scan == SCAN_NONE) {
		snprintf(msg, sizeof(msg),
			 "the task_file iterator is not available: TCP bytes are counted only when a connection ends, and sockets older than snitch-trace are not seen");
		log_msg("%s", msg);
		error_record(t, "iterator_unavailable", msg);
	} else if (scan == SCAN_THREE) {
		log_msg("this kernel's verifier refuses the one-pass fd scan: TCP connections in other network namespaces than snitch-trace's are counted when they end, not every interval, and sockets there older than snitch-trace get no owner");
	}
	log_msg("counting TCP from the kernel's byte counters: fd scan every %llu ms, and when a connection ends",
		(unsigned long long)o->interval_ms);
	if (cgpath)
		log_msg("counting UDP, ICMP and raw IP per packet, and DNS answers, on cgroup %s", cgpath);
	if (t->sys.n) {
		struct buf names = BUF_INIT;

		for (int i = 0; i < t->sys.n; i++)
			buf_printf(&names, "%s%s", i ? "," : "", t->sys.name[i]);
		log_msg("counting system calls per process in the kernel (every call of every process takes the tracepoint's slower path: docs/performance.md): %.*s",
			(int)names.len, names.p);
		buf_release(&names);
	}
	if (o->no_packet)
		log_msg("not counted, by --no-packet: AF_PACKET frames (the two hooks on every packet sent and every socket woken that count them are not attached, and the fd scan names no packet socket)");
	if (uncovered->len) {
		snprintf(msg, sizeof(msg), "not attached, so not seen: %.*s",
			 (int)uncovered->len, uncovered->p);
		log_msg("%s", msg);
		error_record(t, "hooks_missing", msg);
	}
	log_msg("not counted: TCP send and receive calls (a hook on every call costs too much); DNS over TLS or HTTPS; names inside TLS other than the ClientHello's; AF_PACKET frames received into an mmap ring (counted as lost) or sent with PACKET_QDISC_BYPASS (no hook on that path)%s",
		t->pks_link ? "; the fd scan names the processes that hold such sockets" : "");
}

/* Loaded, attached and the ring buffer set up: -1, else an exit status. */
static int setup(struct tracer *t, const struct trace_opts *o)
{
	char cgpath[4096] = "";
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct hook hooks[16];
	int nh = 0, cgfd, r;
	bool have_cgroup;
	enum scan_kind scan;
	struct buf uncovered = BUF_INIT;

	if (!vmlinux) {
		log_msg("cannot read the kernel's BTF (/sys/kernel/btf/vmlinux): %s; the kernel needs CONFIG_DEBUG_INFO_BTF=y",
			strerror(errno));
		return SNITCH_EXIT_UNAVAILABLE;
	}
	if ((r = open_cgroup(o, cgpath, sizeof(cgpath), &cgfd)) > 0) {
		btf__free(vmlinux);
		return r;
	}
	have_cgroup = cgfd >= 0;
	r = load_bpf(t, o, vmlinux, have_cgroup, hooks, &nh, &uncovered, &scan);
	btf__free(vmlinux);
	if (r < 0)
		attach_hooks(t, hooks, nh, cgfd, &uncovered);
	if (have_cgroup)
		close(cgfd);
	if (r >= 0) {
		buf_release(&uncovered);
		return r;
	}
	scan = attach_scan(t, scan);
	if (scan == SCAN_THREE)
		dgram_cache_on(t);
	if (scan != SCAN_NONE && !o->no_packet)
		attach_packetscan(t);
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), on_event, t, NULL);
	if (!t->rb) {
		log_msg("cannot set up the ring buffer: %s", strerror(errno));
		buf_release(&uncovered);
		return SNITCH_EXIT_SOFTWARE;
	}
	map_ringbuf_positions(t);
	tell_coverage(t, o, scan, have_cgroup ? cgpath : NULL, &uncovered);
	buf_release(&uncovered);
	return -1;
}

/*
 * Loaded and attached: what is left is reading the ring buffer (mapped
 * already) and the maps and the iterator through descriptors it holds.
 * As the user snitch, with CAP_SYS_PTRACE for --syscalls (is a process
 * still running its executable: /proc/PID/exe) and CAP_BPF only where the
 * kernel still asks for it to read maps (kernel.unprivileged_bpf_disabled
 * is checked on every bpf() call before Linux 6.x): tried, not assumed.
 */
static int drop_privileges(struct tracer *t)
{
	uint64_t caps = PRIVS_CAP(CAP_BPF);
	unsigned char key[512];
	bool need_bpf = false;
	int fd;

	if (t->sys.n)
		caps |= PRIVS_CAP(CAP_SYS_PTRACE);
	if (privs_drop(&(const struct privs){ .caps = caps, .allow = PRIVS_OPEN_READ | PRIVS_BPF }) < 0)
		return -1;
	if (privs_effective(CAP_BPF, false) < 0)
		return 0;	/* never held it */
	if (bpf_map_get_next_key(bpf_map__fd(t->skel->maps.flows), NULL, key) < 0 && errno == EPERM)
		need_bpf = true;
	if (t->nscan) {
		fd = bpf_iter_create(bpf_link__fd(t->scan_links[0]));
		if (fd >= 0)
			close(fd);
		else if (errno == EPERM)
			need_bpf = true;
	}
	if (need_bpf) {
		(void)privs_effective(CAP_BPF, true);
		log_msg("keeping CAP_BPF: this kernel asks for it to read the maps");
	} else {
		(void)privs_lower(CAP_BPF);
	}
	return 0;
}

/* ---- the loop ---- */

static int run(struct tracer *t)
{
	int rbfd = ring_buffer__epoll_fd(t->rb);
	int ret = SNITCH_EXIT_OK, e;

	/* never wait for the reader: records wait in the queue instead */
	if ((e = outq_nonblock(&t->q)) < 0)
		log_msg("cannot make standard output non-blocking: %s", strerror(-e));
	t->next_drain = clock_mono_ns() + t->interval_ns;
	t->next_stats = clock_mono_ns() + t->opt->stats_s * 1000000000ULL;
	/* sockets that are older than us: their owners and TCP baselines */
	if ((e = run_scan(t)) < 0)
		log_msg("the first fd scan failed: %s", strerror(-e));
	/* every hook is attached and the older sockets are known: snitch
	 * start returns, and the live feed opens, from here on */
	ready_say();
	while (!sig_stop) {
		uint64_t now = clock_mono_ns(), due = t->next_drain;
		struct pollfd p[2];
		struct timespec ts;
		int r;

		if (t->next_scan && t->next_scan < due)
			due = t->next_scan;
		if (outq_write(&t->q) < 0)
			break;
		/* the ring buffer while the queue has room; the reader while
		 * the queue holds anything */
		p[0] = (struct pollfd){ .fd = outq_full(&t->q) ? -1 : rbfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = outq_len(&t->q) ? t->out.fd : -1, .events = POLLOUT };
		ts.tv_sec = due > now ? (time_t)((due - now) / 1000000000ULL) : 0;
		ts.tv_nsec = due > now ? (long)((due - now) % 1000000000ULL) : 0;
		r = ppoll(p, 2, &ts, &sig_waitmask);
		if (r < 0 && !sig_wait_again(errno)) {
			log_msg("poll: %s", strerror(errno));
			ret = SNITCH_EXIT_SOFTWARE;
			break;
		}
		if (r > 0 && p[0].revents) {
			ringbuf_note_level(t);
			e = ring_buffer__consume(t->rb);
			if (e < 0 && e != QUEUE_FULL)
				log_limited("reading the ring buffer: %s", strerror(-e));
		}
		now = clock_mono_ns();
		if (now >= t->next_drain) {
			drain(t, false);
			t->next_drain = now + t->interval_ns;
		} else if (t->next_scan && now >= t->next_scan) {
			t->next_scan = 0;
			if ((e = run_scan(t)) < 0)
				log_limited("the fd scan failed: %s", strerror(-e));
		}
	}
	/*
	 * SIGINT, SIGTERM, or a closed output: what was counted goes out, and
	 * what is queued, for at most EXIT_FLUSH_NS; then the reader sees the
	 * end of its input
	 */
	if (!t->out.err) {
		e = ring_buffer__consume(t->rb);
		if (e < 0 && e != QUEUE_FULL)
			log_limited("reading the ring buffer: %s", strerror(-e));
		drain(t, true);
		e = outq_flush(&t->q, clock_mono_ns() + EXIT_FLUSH_NS);
		if (e == -ETIMEDOUT)
			log_msg("%zu bytes of records were not written: the reader did not take them within %llu s of the stop",
				outq_len(&t->q), EXIT_FLUSH_NS / 1000000000ULL);
	}
	outq_restore(&t->q);
	if (t->out.err && t->out.err != -EPIPE) {
		log_msg("cannot write standard output: %s", strerror(-t->out.err));
		ret = SNITCH_EXIT_IO;
	}
	return ret;
}

static void cleanup(struct tracer *t)
{
	ring_buffer__free(t->rb);
	for (int i = 0; i < t->nscan; i++)
		bpf_link__destroy(t->scan_links[i]);
	bpf_link__destroy(t->pks_link);
	packetscan_bpf__destroy(t->pks);
	for (int i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	trace_bpf__destroy(t->skel);
	flows_release(&t->flows);
	syscall_procs_free(t->sysprocs);
	buf_release(&t->scanbuf);
	output_release(&t->out);
}

static const int exit_codes[] = {
	SNITCH_EXIT_OK, SNITCH_EXIT_USAGE, SNITCH_EXIT_NOPERM,
	SNITCH_EXIT_UNAVAILABLE, SNITCH_EXIT_IO, SNITCH_EXIT_SOFTWARE, -1,
};

/* The options no table checks: -1 when all is well, else an exit status. */
static int check_opts(const struct cli *cli, struct trace_opts *o, struct tracer *t)
{
	char err[256];

	if (outq_parse_size(o->queue_size, &o->queue_bytes) < 0 ||
	    o->queue_bytes < 64 * 1024 || o->queue_bytes > (64ULL << 30))
		return cli_usage_error(cli, "--queue-size must be a size from 64K to 64G, such as 256M, not '%s'",
				       o->queue_size);
	if (o->ringbuf_kb & (o->ringbuf_kb - 1))
		return cli_usage_error(cli, "--ringbuf-kb must be a power of two, not %llu",
				       (unsigned long long)o->ringbuf_kb);
	if (syscalls_parse(o->syscalls, &t->sys, err, sizeof(err)) < 0)
		return cli_usage_error(cli, "--syscalls: %s", err);
	return -1;
}

/* Everything but BPF: -1 when all is well, else an exit status. */
static int tracer_init(struct tracer *t, const struct trace_opts *o)
{
	trace_verbose = o->verbose;
	libbpf_set_print(print_libbpf);
	t->opt = o;
	t->interval_ns = o->interval_ms * 1000000ULL;
	t->clk.boot_to_real = clock_real_ns() - boot_ns();
	t->ncpus = libbpf_num_possible_cpus();
	output_init(&t->out, STDOUT_FILENO);
	outq_init(&t->q, &t->out, o->queue_bytes);
	flows_init(&t->flows);
	if (t->sys.n && !(t->sysprocs = syscall_procs_new())) {
		log_msg("out of memory");
		return SNITCH_EXIT_SOFTWARE;
	}
	if (t->ncpus <= 0) {
		log_msg("cannot count the possible CPUs: %s", strerror(t->ncpus ? -t->ncpus : EINVAL));
		return SNITCH_EXIT_SOFTWARE;
	}
	if (sig_setup() < 0) {
		log_msg("cannot set up signal handling");
		return SNITCH_EXIT_SOFTWARE;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct trace_opts o = {
		.interval_ms = 1000,
		.ringbuf_kb = 1024,
		.max_flows = 16384,
		.max_syscall_procs = 8192,
		.queue_size = "256M",
		.stats_s = 60,
	};
	const struct cli_opt opts[] = {
		{ .name = "interval-ms", .short_name = 'i', .type = CLI_UINT, .value = &o.interval_ms,
		  .metavar = "MS", .env = "SNITCH_TRACE_INTERVAL_MS", .min = 100, .max = 3600000,
		  .help = "write the bytes of active flows every MS milliseconds" },
		{ .name = "ringbuf-kb", .type = CLI_UINT, .value = &o.ringbuf_kb,
		  .metavar = "KB", .env = "SNITCH_TRACE_RINGBUF_KB", .min = 4, .max = 1048576,
		  .help = "size of the kernel's event ring buffer, a power of two" },
		{ .name = "queue-size", .type = CLI_STRING, .value = &o.queue_size,
		  .metavar = "BYTES", .env = "SNITCH_TRACE_QUEUE_SIZE",
		  .help = "records wait for a slow reader in a queue of at most BYTES (K, M, G: powers of 1024), so that the ring buffer is still read; what does not fit is counted lost (queue_full)" },
		{ .name = "stats-s", .type = CLI_UINT, .value = &o.stats_s,
		  .metavar = "S", .env = "SNITCH_TRACE_STATS_S", .min = 1, .max = 86400,
		  .help = "write a stats record, with the queue's use, every S seconds, and one at exit" },
		{ .name = "max-flows", .type = CLI_UINT, .value = &o.max_flows,
		  .metavar = "N", .env = "SNITCH_TRACE_MAX_FLOWS", .min = 64, .max = 4194304,
		  .help = "datagram and AF_PACKET flows the kernel can count at once" },
		{ .name = "cgroup", .type = CLI_STRING, .value = &o.cgroup, .metavar = "DIR",
		  .env = "SNITCH_TRACE_CGROUP",
		  .help = "cgroup v2 directory whose sockets are watched (default: the cgroup2 mount in /proc/mounts)" },
		{ .name = "syscalls", .type = CLI_STRING, .value = &o.syscalls, .metavar = "LIST",
		  .env = "SNITCH_TRACE_SYSCALLS",
		  .help = "count these system calls per process, in the kernel (names separated by commas, at most 32; \"default\": the list below), and write a \"syscalls\" record per process every interval; \"none\", the default, counts none: watching any call slows every system call (docs/performance.md)" },
		{ .name = "max-syscall-procs", .type = CLI_UINT, .value = &o.max_syscall_procs,
		  .metavar = "N", .env = "SNITCH_TRACE_MAX_SYSCALL_PROCS", .min = 64, .max = 1048576,
		  .help = "processes whose system calls the kernel can count at once" },
		{ .name = "no-exec", .type = CLI_FLAG, .value = &o.no_exec,
		  .env = "SNITCH_TRACE_NO_EXEC", .help = "write no exec records" },
		{ .name = "no-dns", .type = CLI_FLAG, .value = &o.no_dns,
		  .env = "SNITCH_TRACE_NO_DNS", .help = "write no dns records" },
		{ .name = "no-hello", .type = CLI_FLAG, .value = &o.no_hello,
		  .env = "SNITCH_TRACE_NO_HELLO",
		  .help = "write no hello records (a TCP client's first bytes: its TLS ClientHello, or its HTTP request with its headers; a UDP socket's first QUIC Initial packet)" },
		{ .name = "no-packet", .type = CLI_FLAG, .value = &o.no_packet,
		  .env = "SNITCH_TRACE_NO_PACKET",
		  .help = "count no AF_PACKET frames (raw packet sockets: DHCP clients, tcpdump), and name none of the sockets whose frames no hook sizes: the two hooks run on every packet sent and every socket woken, and cost small datagrams a few per cent (docs/performance.md)" },
		{ .name = "verbose", .short_name = 'v', .type = CLI_FLAG, .value = &o.verbose,
		  .help = "show libbpf's messages, and the verifier's log on failure" },
	};
	const struct cli cli = {
		.prog = STAGE,
		.usage = "[OPTION]...",
		.summary =
			"Count every byte each process sends and receives through any socket, in the\n"
			"kernel (BPF), and write records on standard output (docs/records.md): a\n"
			"\"flow\" when a flow is first seen, then its bytes every interval while it is\n"
			"active, and a last one when it ends; \"exec\" when a process runs a program;\n"
			"\"dns\" for each DNS query sent to port 53 and answer received from it (its\n"
			"bytes, which snitch-resolve decodes); \"syscalls\" with --syscalls, the\n"
			"system calls each process made in the interval; \"lost\" for anything that\n"
			"could not be recorded. Needs root (CAP_BPF,\n"
			"CAP_PERFMON and CAP_SYS_ADMIN).\n"
			"\n"
			"TCP is counted from the kernel's own per-connection byte counters, so it\n"
			"costs nothing per send or receive; UDP, ICMP, raw IP and AF_PACKET are\n"
			"counted per packet. Which hooks are used, and what is not seen, is said on\n"
			"standard error at start.\n"
			"\n"
			"Records wait for a slow reader in a bounded queue of their own\n"
			"(--queue-size): snitch-trace never waits to write, so the kernel's ring\n"
			"buffer is read on; a \"stats\" record every --stats-s seconds tells how\n"
			"full the queue was. On SIGINT or SIGTERM, what was counted and queued is\n"
			"written (for at most 3 s), then the output is closed.\n"
			"\n"
			"--syscalls default counts the calls that change who a process is or what it\n"
			"sees, and the network ones:\n" SYSCALLS_DEFAULT,
		.examples =
			"  sudo snitch-trace | jq -c 'select(.type == \"flow\" and .phase == \"new\") | {pid, comm, raddr, rport}'\n"
			"  sudo snitch-trace | snitch-hash | jq -c 'select(.type == \"flow\") | {comm, exe_sha256, send_bytes}'\n"
			"  sudo snitch-trace --interval-ms 5000 > flows.jsonl\n"
			"  sudo snitch-trace --queue-size 1G | snitch-resolve | snitch-store   # a reader may stall for longer\n"
			"  sudo snitch-trace --stats-s 10 | jq -c 'select(.type == \"stats\") | {queue_bytes, queue_peak_bytes, queue_full}'\n"
			"  sudo snitch-trace --syscalls default | jq -c 'select(.type == \"syscalls\") | {comm, syscalls}'\n"
			"  sudo snitch-trace --syscalls connect,execve,ptrace | snitch-resolve | jq -c 'select(.type == \"syscalls\")'\n"
			"  sudo snitch-trace | snitch-resolve | jq -c 'select(.type == \"dns\") | {pid, qname, answers}'\n"
			"  sudo snitch-trace | jq -c 'select(.type == \"flow\" and .phase == \"end\" and .outcome != \"connected\" and .outcome != \"accepted\" and .outcome != null) | {comm, outcome, raddr, rport}'\n",
		.opts = opts,
		.nopts = sizeof(opts) / sizeof(opts[0]),
		.exit_codes = exit_codes,
	};
	struct tracer t;
	int first, r;

	log_init(cli.prog);
	r = cli_parse(&cli, argc, argv, &first);
	if (r >= 0)
		return r;
	if (first < argc)
		return cli_usage_error(&cli, "unexpected argument '%s'", argv[first]);
	memset(&t, 0, sizeof(t));
	if ((r = check_opts(&cli, &o, &t)) >= 0 || (r = tracer_init(&t, &o)) >= 0)
		return r;
	/* the output queue, grown by a stall, is mapped on its own and given
	 * back when it empties, as in every stage (lib/stage.c) */
	(void)mallopt(M_MMAP_THRESHOLD, STAGE_MMAP_THRESHOLD);
	r = setup(&t, &o);
	/* libbpf's reading of the kernel's BTF (twice, where the one-pass
	 * scan is refused) is freed by now: the heap gives it back */
	heap_trim();
	if (r < 0 && drop_privileges(&t) < 0)
		r = SNITCH_EXIT_NOPERM;
	if (r < 0)
		r = run(&t);
	else
		(void)output_flush(&t.out);
	cleanup(&t);
	return r;
}
