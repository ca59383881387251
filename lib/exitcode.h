/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_EXITCODE_H
#define SNITCH_EXITCODE_H

#include <errno.h>

/* Exit statuses shared by every tool; documented in README.md and --help. */
enum snitch_exit {
	SNITCH_EXIT_OK = 0,		/* done; also after SIGINT, SIGTERM, EPIPE */
	SNITCH_EXIT_PARTIAL = 1,	/* some inputs could not be processed */
	SNITCH_EXIT_USAGE = 2,		/* bad option or argument */
	SNITCH_EXIT_NOPERM = 3,		/* missing privileges */
	SNITCH_EXIT_UNAVAILABLE = 4,	/* a kernel feature or service is missing */
	SNITCH_EXIT_IO = 5,		/* reading input or writing output failed */
	SNITCH_EXIT_SOFTWARE = 6,	/* out of memory or an internal error */
};

/*
 * The exit status a tool gives when a call failed with err (a negative
 * errno) and it knows no better: not allowed, a request refused as
 * invalid, out of memory, or the input or output itself (anything else).
 */
static inline int exit_status_of(int err)
{
	switch (err) {
	case -EACCES:
	case -EPERM:
		return SNITCH_EXIT_NOPERM;
	case -ENOMEM:
		return SNITCH_EXIT_SOFTWARE;
	case -EINVAL:
		return SNITCH_EXIT_USAGE;
	default:
		return SNITCH_EXIT_IO;
	}
}

#endif
