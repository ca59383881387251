/* SPDX-License-Identifier: MIT */
/*
 * Desktop notifications. The stage itself may run as root; a desktop's
 * session bus belongs to its user, and only that user may talk on it. So
 * a notifier child process drops to the desktop user, connects to its
 * session bus and calls org.freedesktop.Notifications.Notify for each
 * message the parent writes on a pipe ("summary\0body\0"). The parent never
 * blocks on it: the pipe is non-blocking, and a notifier that cannot keep
 * up loses desktop messages only (the logs have them all).
 *
 * The desktop user is --user, else SUDO_UID, else the user of the active
 * logind session on seat0 (or of any active graphical session), else, when
 * not root, the caller. A desktop can appear after the stage starts (a
 * service starts before anyone logs in): when there is none, it is looked
 * for again at most every RETRY_S seconds, when there is a message to send.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

#include "privs.h"
#include "buf.h"
#include "clock.h"
#include "cli.h"
#include "notify.h"

#define RETRY_S 10
#define READY_TIMEOUT_MS 5000
#define CALL_TIMEOUT_US (5 * 1000000ULL)

struct desktop {
	const struct notify_opts *o;
	pid_t child;
	int fd;			/* messages to the notifier; -1 without one */
	uint64_t next_try_ns;
	uint64_t dropped;	/* messages the notifier could not take */
	char why[512];		/* why there is no notifier */
	char who[128];		/* "user alice (uid 1000) on BUS", once started */
};

/* ---- the notifier child ---- */

static int notifier_send(sd_bus *bus, const char *summary, const char *body)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(bus, "org.freedesktop.Notifications",
			       "/org/freedesktop/Notifications",
			       "org.freedesktop.Notifications", "Notify", &err, &reply,
			       "susssasa{sv}i", "snitch", (uint32_t)0, "network-transmit-receive",
			       summary, body, 0, 1, "urgency", "y", (uint8_t)1, (int32_t)-1);
	if (r < 0)
		fprintf(stderr, "snitch-notify: cannot notify the desktop: %s\n",
			err.message ? err.message : strerror(-r));
	sd_bus_error_free(&err);
	sd_bus_message_unref(reply);
	return r;
}

/* Tell the parent how it went: "" when connected, else why not. */
static void notifier_ready(int fd, const char *why)
{
	size_t n = strlen(why) + 1;

	(void)!write(fd, why, n);
	close(fd);
}

static int notifier_drop(uid_t uid, gid_t gid, const char *name, char *why, size_t n)
{
	if (getuid() == uid && geteuid() == uid)
		return 0;
	if ((name && initgroups(name, gid) < 0) || (!name && setgroups(1, &gid) < 0) ||
	    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		snprintf(why, n, "cannot become uid %u: %s", (unsigned)uid, strerror(errno));
		return -1;
	}
	/* from one user to another the kernel keeps the capabilities: not here */
	if (privs_caps(0) < 0) {
		snprintf(why, n, "cannot give up the capabilities: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void notifier_main(uid_t uid, gid_t gid, const char *name, const char *addr)
{
	struct buf in = BUF_INIT;
	sd_bus *bus = NULL;
	char why[512];
	int r;

	/* stdin: messages; stdout: the ready line; stderr: kept */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	if (notifier_drop(uid, gid, name, why, sizeof(why)) < 0) {
		notifier_ready(STDOUT_FILENO, why);
		_exit(1);
	}
	if ((r = sd_bus_new(&bus)) < 0 || (r = sd_bus_set_address(bus, addr)) < 0 ||
	    (r = sd_bus_set_bus_client(bus, 1)) < 0 ||
	    (r = sd_bus_set_method_call_timeout(bus, CALL_TIMEOUT_US)) < 0 ||
	    (r = sd_bus_start(bus)) < 0) {
		snprintf(why, sizeof(why), "cannot connect to the session bus '%.300s' as uid %u: %s",
			 addr, (unsigned)uid, strerror(-r));
		notifier_ready(STDOUT_FILENO, why);
		_exit(1);
	}
	notifier_ready(STDOUT_FILENO, "");

	for (;;) {
		char chunk[8192];
		ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
		size_t used = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_append(&in, chunk, (size_t)n);
		for (;;) {
			char *s = in.p + used, *e1, *e2;
			size_t left = in.len - used;

			if (!(e1 = memchr(s, '\0', left)) ||
			    !(e2 = memchr(e1 + 1, '\0', left - (size_t)(e1 + 1 - s))))
				break;
			r = notifier_send(bus, s, e1 + 1);
			used = (size_t)(e2 + 1 - in.p);
			if (r == -ENOTCONN || r == -ECONNRESET || r == -EPIPE) {
				/* the bus went away (a logout): the parent looks again */
				sd_bus_unref(bus);
				_exit(2);
			}
		}
		memmove(in.p, in.p + used, in.len - used);
		in.len -= used;
	}
	sd_bus_flush_close_unref(bus);
	_exit(0);
}

/* ---- finding the desktop ---- */

/* The user of the active graphical session, as logind knows it. */
static int logind_user(uid_t *uid)
{
	char *session = NULL, **sessions = NULL;
	int n, found = -ENOENT;

	if (sd_seat_get_active("seat0", &session, uid) >= 0) {
		free(session);
		return 0;
	}
	n = sd_get_sessions(&sessions);
	for (int i = 0; i < n && found < 0; i++) {
		char *type = NULL;

		if (sd_session_is_active(sessions[i]) > 0 &&
		    sd_session_get_type(sessions[i], &type) >= 0 &&
		    (!strcmp(type, "x11") || !strcmp(type, "wayland") || !strcmp(type, "mir")) &&
		    sd_session_get_uid(sessions[i], uid) >= 0)
			found = 0;
		free(type);
	}
	for (int i = 0; i < n; i++)
		free(sessions[i]);
	free(sessions);
	return found;
}

/* Who to notify and on which bus; -1 with why when there is no one. */
static int find_desktop(const struct notify_opts *o, struct passwd *pwout, char *namebuf,
			size_t namesize, char *addr, size_t addrsize, char *why, size_t whysize)
{
	const char *sudo = getenv("SUDO_UID");
	struct passwd *pw = NULL;
	uint64_t id;
	uid_t uid;

	if (o->user) {
		pw = getpwnam(o->user);
		if (!pw && cli_parse_u64(o->user, 0, UINT32_MAX - 1, &id) == 0)
			pw = getpwuid((uid_t)id);
		if (!pw) {
			snprintf(why, whysize, "no such user '%s' (--user)", o->user);
			return -1;
		}
	} else if (getuid() != 0) {
		pw = getpwuid(getuid());
	} else if (sudo && cli_parse_u64(sudo, 0, UINT32_MAX - 1, &id) == 0) {
		pw = getpwuid((uid_t)id);
		if (!pw) {
			snprintf(why, whysize, "SUDO_UID %s names no user", sudo);
			return -1;
		}
	} else if (logind_user(&uid) == 0) {
		pw = getpwuid(uid);
	} else {
		snprintf(why, whysize, "no desktop user: no --user, no SUDO_UID and no active graphical logind session");
		return -1;
	}
	if (!pw) {
		snprintf(why, whysize, "the desktop user's uid is not in the user database");
		return -1;
	}
	*pwout = *pw;
	snprintf(namebuf, namesize, "%s", pw->pw_name);
	pwout->pw_name = namebuf;
	if (o->bus) {
		snprintf(addr, addrsize, "%s", o->bus);
	} else if (getuid() != 0 && getenv("DBUS_SESSION_BUS_ADDRESS")) {
		snprintf(addr, addrsize, "%s", getenv("DBUS_SESSION_BUS_ADDRESS"));
	} else {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/run/user/%u/bus", (unsigned)pw->pw_uid);
		if (stat(path, &st) < 0) {
			snprintf(why, whysize, "user %s has no session bus at %s (not logged in?)",
				 pw->pw_name, path);
			return -1;
		}
		snprintf(addr, addrsize, "unix:path=%s", path);
	}
	return 0;
}

static void stop_child(struct desktop *d, int grace_ms)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	if (d->child > 0) {
		for (int waited = 0; waited < grace_ms; waited += 10) {
			if (waitpid(d->child, NULL, WNOHANG) == d->child) {
				d->child = 0;
				return;
			}
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
		}
		kill(d->child, SIGKILL);
		(void)waitpid(d->child, NULL, 0);
		d->child = 0;
	}
}

/* Start the notifier; 0, or -1 with d->why. */
static int start_child(struct desktop *d)
{
	char addr[1024], name[256];
	struct passwd pw;
	int msg[2], ready[2];
	char why[512] = "";
	size_t got = 0;
	pid_t pid;

	if (find_desktop(d->o, &pw, name, sizeof(name), addr, sizeof(addr), d->why,
			 sizeof(d->why)) < 0)
		return -1;
	if (pipe2(msg, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0) {
		snprintf(d->why, sizeof(d->why), "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(d->why, sizeof(d->why), "fork: %s", strerror(errno));
		close(msg[0]), close(msg[1]), close(ready[0]), close(ready[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_IGN);	/* the parent says when: EOF */
		signal(SIGTERM, SIG_DFL);
		if (dup2(msg[0], STDIN_FILENO) < 0 || dup2(ready[1], STDOUT_FILENO) < 0)
			_exit(1);
		close_range(3, ~0U, 0);
		notifier_main(pw.pw_uid, pw.pw_gid, pw.pw_name, addr);
	}
	close(msg[0]);
	close(ready[1]);
	/* wait for it to connect, or to say why it cannot */
	for (;;) {
		struct pollfd p = { .fd = ready[0], .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, READY_TIMEOUT_MS) <= 0) {
			snprintf(why, sizeof(why), "the notifier did not connect within %d ms",
				 READY_TIMEOUT_MS);
			break;
		}
		n = read(ready[0], why + got, sizeof(why) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!got)
				snprintf(why, sizeof(why), "the notifier exited at start");
			break;
		}
		got += (size_t)n;
		if (memchr(why, '\0', got) || got == sizeof(why) - 1)
			break;
	}
	why[sizeof(why) - 1] = '\0';
	close(ready[0]);
	d->child = pid;
	d->fd = msg[1];
	if (why[0]) {
		snprintf(d->why, sizeof(d->why), "%s", why);
		stop_child(d, 0);
		return -1;
	}
	(void)fcntl(d->fd, F_SETFL, O_NONBLOCK);
	snprintf(d->who, sizeof(d->who), "user %.64s (uid %u)", pw.pw_name, (unsigned)pw.pw_uid);
	d->why[0] = '\0';
	return 0;
}

struct desktop *desktop_new(const struct notify_opts *o)
{
	struct desktop *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->o = o;
	d->fd = -1;
	snprintf(d->why, sizeof(d->why), "not looked for yet");
	return d;
}

void desktop_free(struct desktop *d)
{
	if (!d)
		return;
	/* EOF tells the notifier to send what it has and exit */
	stop_child(d, 3000);
	free(d);
}

const char *desktop_why(const struct desktop *d)
{
	return d->why;
}

const char *desktop_who(const struct desktop *d)
{
	return d->fd >= 0 ? d->who : NULL;
}

uint64_t desktop_dropped(const struct desktop *d)
{
	return d->dropped;
}

int desktop_connect(struct desktop *d)
{
	uint64_t now = clock_mono_ns();

	if (d->child > 0 && waitpid(d->child, NULL, WNOHANG) == d->child) {
		d->child = 0;
		close(d->fd);
		d->fd = -1;
		snprintf(d->why, sizeof(d->why), "the notifier lost the session bus");
	}
	if (d->fd >= 0)
		return 0;
	if (d->o->no_desktop) {
		snprintf(d->why, sizeof(d->why), "desktop notifications are off (--no-desktop)");
		return -1;
	}
	if (now < d->next_try_ns)
		return -1;
	d->next_try_ns = now + RETRY_S * 1000000000ULL;
	return start_child(d);
}

int desktop_send(struct desktop *d, const char *summary, const char *body)
{
	struct buf m = BUF_INIT;
	size_t off = 0;
	int ret = 0;

	if (desktop_connect(d) < 0)
		return -1;
	buf_append(&m, summary, strlen(summary) + 1);
	buf_append(&m, body, strlen(body) + 1);
	if (m.oom) {
		buf_release(&m);
		return -1;
	}
	while (off < m.len) {
		ssize_t n = write(d->fd, m.p + off, m.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && off) {
			/* half a message: finish it, briefly blocking */
			struct pollfd p = { .fd = d->fd, .events = POLLOUT };
			if (poll(&p, 1, 1000) > 0)
				continue;
		}
		if (n < 0) {
			if (errno == EAGAIN && !off) {
				d->dropped++;
			} else {
				snprintf(d->why, sizeof(d->why), "the notifier %s: %s",
					 off ? "is stuck" : "has gone", strerror(errno));
				stop_child(d, 0);
			}
			ret = -1;
			break;
		}
		off += (size_t)n;
	}
	buf_release(&m);
	return ret;
}
