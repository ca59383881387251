/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "sig.h"

volatile sig_atomic_t sig_stop;
volatile sig_atomic_t sig_ints;
sigset_t sig_waitmask;

static void on_stop(int signo)
{
	sig_stop = signo;
	if (signo == SIGINT && sig_ints < 1000)
		sig_ints++;
}

int sig_setup(void)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a blocking call returns EINTR and the loop looks */
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, &sig_waitmask) < 0)
		return -errno;
	sigdelset(&sig_waitmask, SIGINT);
	sigdelset(&sig_waitmask, SIGTERM);
	return 0;
}
