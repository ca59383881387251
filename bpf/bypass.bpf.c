// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The AF_PACKET sockets that send past the queueing discipline
 * (setsockopt PACKET_QDISC_BYPASS), and who holds them: a task_file
 * iterator snitch-trace runs with its fd scan. Their frames go from
 * packet_direct_xmit() to the driver without passing net_dev_queue or any
 * other tracepoint, so snitch-trace cannot count them, only name them.
 *
 * Its own object: the flag is in struct packet_sock, which a socket
 * pointer reaches only through the bpf_rdonly_cast() kfunc (Linux 6.2).
 * Where that or the flag is missing this object does not load, and the
 * tracer goes on without it.
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
int scan_bypass(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct packet_sock *po;
	struct ev_bypass e = {};
	struct socket *sock;
	struct sock *sk;
	__u64 bit;

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
	if (!bpf_core_field_exists(struct packet_sock, flags) ||
	    !bpf_core_enum_value_exists(enum packet_sock_flags, PACKET_SOCK_QDISC_BYPASS))
		return 0;
	bit = 1ULL << bpf_core_enum_value(enum packet_sock_flags, PACKET_SOCK_QDISC_BYPASS);
	po = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct packet_sock));
	if (!(po->flags & bit))
		return 0;
	e.ino = file->f_inode->i_ino;
	e.start_boot_ns = task->group_leader->start_boottime;
	e.pid = task->tgid;
	e.fd = ctx->fd;
	__builtin_memcpy(e.comm, task->group_leader->comm, sizeof(e.comm));
	bpf_seq_write(ctx->meta->seq, &e, sizeof(e));
	return 0;
}
