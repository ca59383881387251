/* SPDX-License-Identifier: MIT */
/*
 * snitch-vt reads answers from the network: whatever parses them should
 * hold as little as possible. Run as root (by the supervisor), it keeps
 * only the capabilities its job needs and gives up the rest for good,
 * before its worker thread starts (capabilities are per thread, and a
 * thread inherits its creator's):
 *
 * - with --upload, CAP_DAC_READ_SEARCH (read any executable) and
 *   CAP_SYS_PTRACE (open /proc/PID/exe of any process);
 * - CAP_DAC_OVERRIDE only when the state's directory belongs to another
 *   user (SNITCH_OWNER), so that the state can still be written there;
 * - nothing else: no CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SETUID, ...
 *
 * No new privileges either (no setuid program can give them back).
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vtclient.h"

int vt_drop_privileges(bool upload, bool dac_override)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uint64_t keep = 0;

	if (upload)
		keep |= 1ULL << CAP_DAC_READ_SEARCH | 1ULL << CAP_SYS_PTRACE;
	if (dac_override)
		keep |= 1ULL << CAP_DAC_OVERRIDE;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* the bounding set first: dropping from it needs CAP_SETPCAP, held until the capset */
	for (int c = 0; c <= 63; c++) {
		if (keep & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
			return -errno;
	}
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	/* and none come back through the ambient set */
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return 0;
}
