// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The AF_PACKET sockets some of whose frames snitch-trace cannot size, and
 * who holds them: a task_file iterator snitch-trace runs with its fd scan.
 *
 * - Sent with PACKET_QDISC_BYPASS: packet_direct_xmit() hands them to the
 *   driver without passing net_dev_queue or any other tracepoint.
 * - Received into an mmap ring (PACKET_RX_RING, as tcpdump reads): there
 *   is no receive queue to read their length from when sk_data_ready
 *   fires; they are counted as lost.
 *
 * Its own object: both facts are in struct packet_sock, which a socket
 * pointer reaches only through the bpf_rdonly_cast() kfunc (Linux 6.2).
 * Where that is missing this object does not load, and the tracer goes on
 * without it.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "trace.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_PACKET 17
#define S_IFMT 00170000
#define S_IFSOCK 0140000

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

SEC("iter/task_file")
int scan_packets(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct packet_sock *po;
	struct ev_unseen e = {};
	struct socket *sock;
	struct sock *sk;

	if (!task || !file || !bpf_rdonly_cast)
		return 0;
	if ((file->f_inode->i_mode & S_IFMT) != S_IFSOCK)
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	sk = sock->sk;
	if (!sk || sk->__sk_common.skc_family != AF_PACKET)
		return 0;
	po = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct packet_sock));
	if (bpf_core_field_exists(struct packet_sock, flags) &&
	    bpf_core_enum_value_exists(enum packet_sock_flags, PACKET_SOCK_QDISC_BYPASS) &&
	    (po->flags & (1ULL << bpf_core_enum_value(enum packet_sock_flags,
						       PACKET_SOCK_QDISC_BYPASS))))
		e.what |= UNSEEN_TX_BYPASS;
	if (bpf_core_field_exists(struct packet_sock, rx_ring) && po->rx_ring.pg_vec)
		e.what |= UNSEEN_RX_RING;
	if (!e.what)
		return 0;
	e.ino = file->f_inode->i_ino;
	e.start_boot_ns = task->group_leader->start_boottime;
	e.pid = task->tgid;
	e.fd = ctx->fd;
	__builtin_memcpy(e.comm, task->group_leader->comm, sizeof(e.comm));
	bpf_seq_write(ctx->meta->seq, &e, sizeof(e));
	return 0;
}
