/* SPDX-License-Identifier: MIT */
/* Least privilege for a stage: user, capabilities, no new privileges, seccomp (privs.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include "heap.h"
#include "log.h"
#include "privs.h"

#define CAP_SETS_MAX 64

struct capsets {
	uint64_t eff, prm, inh;
};

static int cap_get(struct capsets *c)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	c->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	c->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int cap_set(const struct capsets *c)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)c->eff, (uint32_t)c->prm, (uint32_t)c->inh },
		{ (uint32_t)(c->eff >> 32), (uint32_t)(c->prm >> 32), (uint32_t)(c->inh >> 32) },
	};

	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

bool privs_have(int cap)
{
	struct capsets c;

	return cap_get(&c) == 0 && (c.eff & PRIVS_CAP(cap));
}

int privs_lower(int cap)
{
	struct capsets c;
	int r = cap_get(&c);

	if (r < 0)
		return r;
	c.eff &= ~PRIVS_CAP(cap);
	c.prm &= ~PRIVS_CAP(cap);
	return cap_set(&c);
}

int privs_effective(int cap, bool on)
{
	struct capsets c;
	int r = cap_get(&c);

	if (r < 0)
		return r;
	if (on)
		c.eff |= PRIVS_CAP(cap) & c.prm;
	else
		c.eff &= ~PRIVS_CAP(cap);
	return cap_set(&c);
}

/* ---- the user and the capabilities ---- */

static int become(const char *user, uint64_t keep)
{
	const struct passwd *pw = NULL;
	struct capsets c;
	int r, pdeath = 0;

	if (user && *user && strcmp(user, "root") && geteuid() == 0) {
		errno = 0;
		pw = getpwnam(user);
		if (!pw) {
			log_msg("cannot run as user '%s' (SNITCH_USER): %s", user,
				errno ? strerror(errno) : "no such user (make install makes it)");
			return -ENOENT;
		}
	}
	if ((r = cap_get(&c)) < 0) {
		log_msg("capget: %s", strerror(-r));
		return r;
	}
	/* the bounding set first: dropping from it takes CAP_SETPCAP, which goes last */
	if (c.eff & PRIVS_CAP(CAP_SETPCAP)) {
		for (int i = 0; i < CAP_SETS_MAX; i++) {
			if (keep & PRIVS_CAP(i))
				continue;
			if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL) {
				r = -errno;
				log_msg("cannot drop capability %d from the bounding set: %s", i,
					strerror(errno));
				return r;
			}
		}
	}
	if (pw) {
		/* a change of user resets the parent-death signal: set it again */
		(void)prctl(PR_GET_PDEATHSIG, &pdeath, 0, 0, 0);
		if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
		    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
			r = -errno;
			log_msg("cannot become user '%s': %s", user, strerror(errno));
			return r;
		}
		(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
		if (pdeath) {
			(void)prctl(PR_SET_PDEATHSIG, pdeath, 0, 0, 0);
			if (getppid() == 1)	/* the parent went meanwhile */
				raise(pdeath);
		}
		if ((r = cap_get(&c)) < 0)
			return r;
	}
	c.prm &= keep;
	c.eff = c.prm;
	c.inh = 0;
	if ((r = cap_set(&c)) < 0) {
		log_msg("capset: %s", strerror(-r));
		return r;
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return 0;
}

/* ---- seccomp ---- */

static char trap_prefix[64];
static int trap_log_fd = -1;	/* SNITCH_SECCOMP_LOG: each refusal appended there too */
static _Atomic uint64_t trap_said[8];	/* system call numbers below 512 said once */

/* async-signal-safe: a number in decimal */
static size_t put_uint(char *p, unsigned long v)
{
	char t[24];
	size_t n = 0, i;

	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	for (i = 0; i < n; i++)
		p[i] = t[n - 1 - i];
	return n;
}

#if defined(__x86_64__)
#define TRAP_ACTION SCMP_ACT_TRAP
static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	unsigned int nr = (unsigned int)si->si_syscall;
	char msg[160];
	size_t n = 0, l = strlen(trap_prefix);
	int saved = errno;

	(void)sig;
	if (nr >= 512 || !(atomic_fetch_or(&trap_said[nr / 64], 1ULL << (nr % 64)) &
			   (1ULL << (nr % 64)))) {
		memcpy(msg, trap_prefix, l);
		n = l;
		memcpy(msg + n, "seccomp refused system call ", 28);
		n += 28;
		n += put_uint(msg + n, nr);
		memcpy(msg + n, " (see docs/security.md)\n", 24);
		n += 24;
		(void)!write(STDERR_FILENO, msg, n);
		if (trap_log_fd >= 0)
			(void)!write(trap_log_fd, msg, n);
	}
	/* the call fails as if the kernel had said no */
	uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
	errno = saved;
}
#else
#define TRAP_ACTION SCMP_ACT_ERRNO(EPERM)
#endif

static const int base_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(close), SCMP_SYS(close_range), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(statx), SCMP_SYS(lseek), SCMP_SYS(fcntl), SCMP_SYS(dup), SCMP_SYS(dup2),
	SCMP_SYS(dup3), SCMP_SYS(pipe2), SCMP_SYS(fadvise64),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap),
	SCMP_SYS(brk), SCMP_SYS(madvise), SCMP_SYS(membarrier), SCMP_SYS(mincore),
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(set_tid_address), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(eventfd2),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(getpid), SCMP_SYS(getppid), SCMP_SYS(gettid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(getresuid),
	SCMP_SYS(getresgid), SCMP_SYS(getgroups), SCMP_SYS(getpgrp), SCMP_SYS(capget),
	/* lowers or raises only within the permitted set, which never grows */
	SCMP_SYS(capset),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigtimedwait), SCMP_SYS(rt_sigpending), SCMP_SYS(sigaltstack),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(getrandom), SCMP_SYS(uname), SCMP_SYS(sysinfo), SCMP_SYS(getcwd),
	SCMP_SYS(getrusage), SCMP_SYS(times), SCMP_SYS(prctl), SCMP_SYS(shutdown),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom),
};

static const int read_calls[] = {
	SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(getdents64), SCMP_SYS(access),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(statfs), SCMP_SYS(fstatfs),
	SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(chdir), SCMP_SYS(fchdir),
	SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at),
};

static const int write_calls[] = {
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(creat), SCMP_SYS(unlink),
	SCMP_SYS(unlinkat), SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
	SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rmdir), SCMP_SYS(ftruncate),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(sync_file_range),
	SCMP_SYS(fallocate), SCMP_SYS(flock), SCMP_SYS(fchmod), SCMP_SYS(fchmodat),
	SCMP_SYS(fchown), SCMP_SYS(fchownat), SCMP_SYS(chmod), SCMP_SYS(chown),
	SCMP_SYS(lchown), SCMP_SYS(utimensat), SCMP_SYS(link),
	SCMP_SYS(linkat),
};

static const int net_calls[] = {
	SCMP_SYS(connect), SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg), SCMP_SYS(socketpair),
};

static const int listen_calls[] = {
	SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4),
};

static const int fork_calls[] = {
	SCMP_SYS(clone), SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(wait4), SCMP_SYS(waitid),
	SCMP_SYS(kill), SCMP_SYS(setsid), SCMP_SYS(setpgid),
};

static const int setuid_calls[] = {
	SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setuid), SCMP_SYS(setgid),
	SCMP_SYS(setreuid), SCMP_SYS(setregid), SCMP_SYS(setgroups), SCMP_SYS(capset),
};

static int allow_all(scmp_filter_ctx f, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r;

		if (calls[i] < 0)	/* not on this architecture */
			continue;
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, calls[i], 0);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

#define ALLOW(f, a) allow_all((f), (a), sizeof(a) / sizeof((a)[0]))

/* Opening read-only: no O_WRONLY, O_RDWR, O_CREAT or O_TRUNC. */
static int filter_open_read(scmp_filter_ctx f)
{
	static const scmp_datum_t wbits[] = { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC };
	scmp_datum_t m = O_ACCMODE | O_CREAT | O_TRUNC;
	int r;

	if ((r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				  SCMP_A2(SCMP_CMP_MASKED_EQ, m, 0))) < 0 ||
	    (r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
				  SCMP_A1(SCMP_CMP_MASKED_EQ, m, 0))) < 0)
		return r;
	/*
	 * An open for writing fails with EACCES, as on a file this user may
	 * not write, and is not said: SQLite opens a database's -wal for
	 * reading and writing first, even on a read-only connection, then
	 * for reading (snitch-web and the other readers of a log that
	 * snitch-store writes).
	 */
	/* as root (snitch-web --allow-root), SQLite also fchown()s the -wal
	 * it opened to the database's owner: refused, not said */
	if ((r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fchown), 0)) < 0)
		return r;
	for (size_t i = 0; i < sizeof(wbits) / sizeof(wbits[0]); i++)
		if ((r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
					  SCMP_A2(SCMP_CMP_MASKED_EQ, wbits[i], wbits[i]))) < 0 ||
		    (r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 1,
					  SCMP_A1(SCMP_CMP_MASKED_EQ, wbits[i], wbits[i]))) < 0)
			return r;
	return 0;
}

/*
 * New processes and threads. clone3's flags sit in memory a filter cannot
 * read: glibc falls back to clone. A refused clone fails plainly, not
 * through the trap: glibc calls it with every signal blocked, and a
 * blocked SIGSYS kills.
 */
static int filter_clone(scmp_filter_ctx f, unsigned int allow)
{
	int r;

	if ((r = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0)
		return r;
	if (allow & PRIVS_FORK)
		return ALLOW(f, fork_calls);
	if (allow & PRIVS_THREADS) {
		if ((r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
					  SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD))) < 0)
			return r;
		return seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
					SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
	}
	return seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 0);
}

static int build_filter(scmp_filter_ctx f, unsigned int allow)
{
	int r, pid = getpid();

	if ((r = ALLOW(f, base_calls)) < 0)
		return r;
	/* signals: to itself (abort, raise), and to others only with PRIVS_FORK */
	if ((r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)pid))) < 0)
		return r;
	/* terminals: only asking (isatty, the window size) and FIONREAD, FIONBIO */
	static const unsigned long ioctls[] = { TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO };
	for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++)
		if ((r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					  SCMP_A1(SCMP_CMP_EQ, ioctls[i]))) < 0)
			return r;
	if (allow & (PRIVS_OPEN_READ | PRIVS_OPEN_WRITE) && (r = ALLOW(f, read_calls)) < 0)
		return r;
	if (allow & PRIVS_OPEN_WRITE) {
		if ((r = ALLOW(f, write_calls)) < 0)
			return r;
	} else if (allow & PRIVS_OPEN_READ && (r = filter_open_read(f)) < 0) {
		return r;
	}
	if (allow & (PRIVS_NET | PRIVS_LISTEN)) {
		static const int families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };

		for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
			if ((r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
						  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]))) < 0)
				return r;
		if ((r = ALLOW(f, net_calls)) < 0)
			return r;
	}
	if (allow & PRIVS_LISTEN && (r = ALLOW(f, listen_calls)) < 0)
		return r;
	if ((r = filter_clone(f, allow)) < 0)
		return r;
	if (allow & PRIVS_SETUID && (r = ALLOW(f, setuid_calls)) < 0)
		return r;
	if (allow & PRIVS_BPF && (r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(bpf), 0)) < 0)
		return r;
	if (allow & PRIVS_FANOTIFY &&
	    (r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(fanotify_mark), 0)) < 0)
		return r;
	if (allow & PRIVS_IO_URING) {
		static const int ring[] = { SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
					    SCMP_SYS(io_uring_register) };

		if ((r = ALLOW(f, ring)) < 0)
			return r;
	}
	return 0;
}

static int confine(unsigned int allow)
{
	const char *env = getenv("SNITCH_SECCOMP");
	scmp_filter_ctx f;
	int r;

	/* ASan and LSan trace and read /proc on their own: no filter */
	if (heap_sanitized() || (env && !strcmp(env, "off")))
		return 0;
#if defined(__x86_64__)
	{
		struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };

		snprintf(trap_prefix, sizeof(trap_prefix), "%s: ", program_invocation_short_name);
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL) < 0)
			return -errno;
	}
#endif
	f = seccomp_init(TRAP_ACTION);
	if (!f)
		return -ENOMEM;
	r = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0)
		r = build_filter(f, allow);
	if (r == 0)
		r = seccomp_load(f);
	seccomp_release(f);
	if (r < 0)
		log_msg("cannot load the seccomp filter: %s", strerror(-r));
	return r;
}

int privs_caps(uint64_t caps)
{
	return become(NULL, caps);
}

int privs_drop(const struct privs *p)
{
	const char *log = getenv("SNITCH_SECCOMP_LOG");
	int r;

	/* opened before the change of user: the tests' one file for all stages */
	if (log && *log && trap_log_fd < 0)
		trap_log_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	r = become(p->user ? p->user : getenv("SNITCH_USER"), p->caps);

	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r = -errno;
		log_msg("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return r;
	}
	return confine(p->allow);
}
