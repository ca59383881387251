/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared between bpf/trace.bpf.c and cmd/snitch-trace: the events the
 * kernel side writes to the ring buffer and to the iterator's seq_file.
 * Fixed-width types, fixed-size arrays, no pointers.
 */
#ifndef SNITCH_BPF_TRACE_H
#define SNITCH_BPF_TRACE_H

#define COMM_LEN 16
#define LEVELS 3		/* process, parent, grandparent */
#define FILENAME_LEN 256
#define DNS_MAX 512
#define HELLO_MAX 2048		/* bytes of a TCP client's first data copied */

/* One process: read in the kernel when it is first seen. */
struct proc_ident {
	__u32 pid;		/* thread-group id, initial pid namespace */
	__u32 exe_dev;		/* kernel dev_t of exe_file's super block */
	__u64 start_boot_ns;	/* group leader's start_boottime */
	__u64 exe_ino;
	char comm[COMM_LEN];
};

struct ident {
	struct proc_ident proc[LEVELS];
	__u32 uid, gid;		/* real ids */
	__u64 cgroup_id;	/* cgroup v2 id */
	__u32 netns, mntns;	/* namespace inode numbers */
};

/* A flow's addresses, in network byte order except the ports. */
struct flow_addr {
	__u8 family;		/* AF_INET, AF_INET6, AF_PACKET */
	__u8 sock_type;		/* SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, ... */
	__u16 proto;		/* IPPROTO_*, or the ethertype for AF_PACKET */
	__u16 lport, rport;	/* host order; for AF_PACKET lport is ifindex */
	__u8 laddr[16], raddr[16];
};

/*
 * A flow: a socket (cookie), and for datagram sockets the peer it talked
 * to, so an unconnected UDP socket has one flow per destination.
 */
struct flow_key {
	__u64 cookie;
	__u8 peer[16];
	__u16 peer_port;
	/* enough to describe a flow whose "new" event was lost */
	__u8 family;
	__u8 sock_type;
	__u16 proto;
	__u8 pad[2];
};

struct flow_counts {
	__u64 send_bytes, recv_bytes;
	__u64 send_calls, recv_calls;	/* datagrams; not counted for TCP */
};

enum event_type {
	EV_EXEC = 1,		/* struct ev_exec */
	EV_FLOW_NEW,		/* struct ev_flow: first sight, identity known */
	EV_FLOW_END,		/* struct ev_flow: TCP socket destroyed, last counts */
	EV_SOCK_CLOSED,		/* struct ev_flow: a datagram socket was released */
	EV_DNS,			/* struct ev_dns */
	IT_TCP_DELTA,		/* struct ev_flow: counts since the last report */
	IT_OWNER,		/* struct ev_flow: a socket found in a process's fds */
	IT_TICK,		/* struct ev_flow, empty: the scan visited SCAN_TICK more */
	EV_FLOW_ATTEMPT,	/* struct ev_flow: a TCP connect that never got
				 * established; err is the socket's error */
	EV_DGRAM_ERROR,		/* struct ev_flow: an ICMP error came back to a
				 * connected datagram socket; err as above */
	EV_HELLO,		/* struct ev_hello */
};

/* ev_flow.flags */
#define FLOW_IDENT	0x1	/* id is valid */
#define FLOW_INHERITED	0x2	/* id is the listening socket's owner */
#define FLOW_TCP	0x4	/* counts come from TCP sequence numbers */
#define FLOW_ACTIVE	0x8	/* TCP: this socket sent the SYN (connect) */
#define FLOW_RESET	0x10	/* TCP end: the peer reset the connection */
#define FLOW_SYN_SENT	0x20	/* TCP attempt: a SYN went out */
#define FLOW_HANDOVER	0x40	/* fd scan: another process holds the socket now */

struct ev_hdr {
	__u32 type;
	__u32 pad;
	__u64 ts_boot_ns;	/* bpf_ktime_get_boot_ns() */
};

struct ev_flow {
	struct ev_hdr hdr;
	struct flow_key key;
	struct flow_addr addr;
	struct flow_counts counts;
	__u32 flags;
	__u32 err;		/* EV_FLOW_ATTEMPT, EV_DGRAM_ERROR: an errno;
				 * IT_*: another process holding the socket, 0: none */
	struct ident id;
};

struct ev_exec {
	struct ev_hdr hdr;
	struct ident id;
	char filename[FILENAME_LEN];
};

struct ev_dns {
	struct ev_hdr hdr;
	__u64 cookie;
	__u32 pid;		/* owner of the socket, 0 if unknown */
	__u32 netns;
	__u16 len;		/* bytes of DNS message in data */
	__u8 family;
	__u8 truncated;		/* the message was longer than DNS_MAX */
	__u8 sent;		/* a message the socket sent (a query), not received */
	__u8 pad[3];
	__u8 server[16];	/* the server: where it came from, or went to */
	__u8 data[DNS_MAX];
};

/*
 * System calls counted per process (--syscalls): the numbers counted map
 * to slots; a process's counts are kept by (pid, start, executable), so a
 * process that execs starts a new entry with its new identity.
 */
#define SYSCALL_SLOTS 32
#define SYSCALL_NR_MAX 1024	/* numbers at or above are never counted */

struct sys_key {
	__u32 pid;
	__u32 pad;
	__u64 start_boot_ns;
	__u64 exe_ino;
};

struct sys_counts {
	struct ident id;	/* read when the process was first counted */
	__u64 count[SYSCALL_SLOTS];
};

/*
 * The first bytes a TCP client sent on a connection (its TLS ClientHello,
 * HTTP request, ...), copied once per connection, or the first QUIC
 * Initial packet a UDP socket sent; never parsed here.
 */
struct ev_hello {
	struct ev_hdr hdr;
	__u64 cookie;
	__u32 pid;		/* owner of the socket, 0 if unknown */
	__u32 netns;
	__u16 len;		/* bytes in data */
	__u8 family;
	__u8 truncated;		/* the segment was longer than HELLO_MAX */
	__u16 rport;
	__u8 proto;		/* IPPROTO_TCP, IPPROTO_UDP */
	__u8 pad;
	__u8 raddr[16];
	__u8 data[HELLO_MAX];
};

/* Things the kernel side could not record, counted per CPU. */
enum lost_reason {
	LOST_RINGBUF_FLOW,	/* a flow event did not fit in the ring buffer */
	LOST_RINGBUF_EXEC,
	LOST_RINGBUF_DNS,
	LOST_FLOW_TABLE,	/* the datagram flow table was full */
	LOST_STORAGE,		/* no memory for a socket's state */
	LOST_PACKET_RX,		/* an AF_PACKET receive that could not be sized */
	LOST_SYSCALL_TABLE,	/* the per-process syscall counts table was full */
	LOST_RINGBUF_HELLO,	/* a client's first bytes did not fit */
	LOST_NREASONS,
};

/*
 * An AF_PACKET socket some of whose frames no hook can size, and a process
 * that holds it: bpf/packetscan.bpf.c writes one for each holder the fd
 * scan finds. what: UNSEEN_* bits.
 */
#define UNSEEN_TX_BYPASS 1	/* sends past the queueing discipline (PACKET_QDISC_BYPASS) */
#define UNSEEN_RX_RING 2	/* receives into an mmap ring (PACKET_RX_RING) */

struct ev_unseen {
	__u64 ino;		/* the socket's inode number */
	__u64 start_boot_ns;	/* the holder's start_boottime */
	__u32 pid;		/* the holder's thread-group id */
	__u32 fd;
	__u32 what;
	__u32 pad;
	char comm[COMM_LEN];
};

#endif
