/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_PRIVS_H
#define SNITCH_PRIVS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/capability.h>
#include <sys/types.h>

/*
 * Least privilege for every stage (docs/security.md): once a stage has
 * opened what only root may open, privs_drop() gives up the rest for
 * good, before the stage reads a byte of outside data and before it
 * starts a thread (capabilities are per thread):
 *
 * 1. the user: run as root with SNITCH_USER set (snitch run sets it, to
 *    "snitch" unless the configuration says otherwise), the stage becomes
 *    that user and its group, with no supplementary groups;
 * 2. capabilities: the bounding, permitted, effective and ambient sets
 *    keep only p->caps;
 * 3. PR_SET_NO_NEW_PRIVS: no set-user-ID program can give any back;
 * 4. a seccomp filter that allows the system calls of the groups in
 *    p->allow and no other: a refused call fails with EPERM and is said
 *    once on stderr ("seccomp refused system call N"), so that a parser
 *    bug can neither exec, nor fork, nor open for writing what the stage
 *    never writes. SNITCH_SECCOMP=off leaves the filter out (to tell
 *    whether it is the cause of a failure; say so in a bug report).
 */

/* Groups of system calls beyond the base (memory, time, signals, I/O on open descriptors). */
enum {
	PRIVS_OPEN_READ = 1u << 0,	/* open files read-only, list directories, stat paths */
	PRIVS_OPEN_WRITE = 1u << 1,	/* open any way, create, rename, remove, sync, lock */
	PRIVS_NET = 1u << 2,		/* sockets: socket, connect, send, receive */
	PRIVS_LISTEN = 1u << 3,		/* bind, listen, accept */
	PRIVS_THREADS = 1u << 4,	/* start threads (never a process) */
	PRIVS_FORK = 1u << 5,		/* start processes (no exec), wait for them, signal them */
	PRIVS_SETUID = 1u << 6,		/* become another user (snitch-notify's desktop child) */
	PRIVS_BPF = 1u << 7,		/* bpf(): read maps, iterate */
	PRIVS_FANOTIFY = 1u << 8,	/* fanotify_mark on the group already open */
	PRIVS_IO_URING = 1u << 9,	/* io_uring_enter and register on a ring */
};

struct privs {
	const char *user;	/* become this user when root; NULL: $SNITCH_USER */
	uint64_t caps;		/* capabilities kept: 1ULL << CAP_x, ... */
	unsigned int allow;	/* PRIVS_* */
};

#define PRIVS_CAP(c) (1ULL << (c))

/*
 * A stage told to give its files to another owner or group (--owner,
 * --group): chown them, and go on writing in what it gave away.
 */
#define PRIVS_OWNER_CAPS \
	(PRIVS_CAP(CAP_CHOWN) | PRIVS_CAP(CAP_FOWNER) | PRIVS_CAP(CAP_DAC_OVERRIDE))

/*
 * Drop to p. 0, or a negative errno with what failed said on stderr
 * (the stage then exits: it never runs with more than it asked for).
 */
int privs_drop(const struct privs *p);

/*
 * Only the capabilities: keep caps in every set, the bounding set too,
 * and stay who it is (the supervisor, which starts stages as root).
 */
int privs_caps(uint64_t caps);

/*
 * The capability sets kept, when the caller may want to lower them more
 * (snitch-trace gives up CAP_BPF where the kernel lets it read its maps
 * without): drop c from the effective and permitted sets.
 */
int privs_lower(int cap);

/* Whether the capability c is in the effective set. */
bool privs_have(int cap);

/* Lower c from the effective set only, or raise it back (permitted). */
int privs_effective(int cap, bool on);

#endif
