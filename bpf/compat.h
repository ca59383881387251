/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every kernel difference the BPF side handles, in one place. Each shim
 * picks its field by CO-RE relocation (bpf_core_field_exists), never by
 * kernel version.
 */
#ifndef SNITCH_BPF_COMPAT_H
#define SNITCH_BPF_COMPAT_H

#include <bpf/bpf_core_read.h>

/*
 * struct sock's sk_flags became sock_common's skc_flags (with sk_flags
 * left as a #define) in the 6.x series; older kernels have the member in
 * struct sock itself.
 */
struct sock___sk_flags {
	unsigned long sk_flags;
} __attribute__((preserve_access_index));

static __always_inline unsigned long sock_flags_of(struct sock *sk)
{
	struct sock___sk_flags *old = (void *)sk;

	/* direct, relocated loads: lockdown forbids bpf_probe_read_kernel,
	 * which BPF_CORE_READ() would use */
	if (bpf_core_field_exists(sk->__sk_common.skc_flags))
		return sk->__sk_common.skc_flags;
	return old->sk_flags;
}

#endif
