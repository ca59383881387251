/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_SIG_H
#define SNITCH_SIG_H

#include <errno.h>
#include <signal.h>

/*
 * SIGINT and SIGTERM ask a tool to flush and exit 0 (docs/records.md, "How every stage behaves"). Their
 * handler only sets sig_stop. The signals stay blocked except inside
 * ppoll(), which is given sig_waitmask, so a signal can never slip in
 * between a check of sig_stop and going to sleep. SIGPIPE is ignored:
 * a closed downstream shows up as EPIPE from write().
 */

extern volatile sig_atomic_t sig_stop;	/* the last of them, or 0 */
extern volatile sig_atomic_t sig_ints;	/* SIGINTs received */
extern sigset_t sig_waitmask;

/* Install the handlers and block the signals; call before any thread. */
int sig_setup(void);

/*
 * Whether a wait (ppoll) that failed with err is to be made again: a
 * signal (EINTR), or the kernel's own restart codes (ERESTARTSYS to
 * ERESTART_RESTARTBLOCK, 512 to 516), which a debugger attached with
 * gdb -p can leave in errno; a soak saw a stage exit on 514.
 */
static inline int sig_wait_again(int err)
{
	return err == EINTR || (err >= 512 && err <= 516);
}

#endif
