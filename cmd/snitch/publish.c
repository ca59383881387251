/* SPDX-License-Identifier: MIT */
/*
 * The live feed's publishing side (publish.h). Access is checked twice: the
 * socket's mode (0660, group snitch) keeps other users from connecting,
 * and SO_PEERCRED / SO_PEERGROUPS at accept() refuse anyone who is neither
 * root, the supervisor's own user, nor in the group, whatever the mode (a
 * run directory or socket made more open by hand, a descriptor passed on).
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "emit.h"
#include "feed.h"
#include "log.h"
#include "publish.h"
#include "snitch.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59	/* Linux 4.13 */
#endif

static size_t rq_len(const struct feed_reader *r)
{
	return r->q.len - r->head;
}

int feed_open(struct feed *f, const char *path, const char *group, size_t max_bytes,
	      char *err, size_t errsize)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct group *gr = group ? getgrnam(group) : NULL;
	struct stat sb;
	mode_t old;
	int fd;

	f->lfd = -1;
	f->max_bytes = max_bytes;
	snprintf(f->path, sizeof(f->path), "%s", path);
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errsize, "the feed's socket path '%s' is too long", path);
		return -1;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	/* the pid file is ours: a socket left there is a dead snitch's */
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errsize, "'%s' exists and is not a socket", path);
			return -1;
		}
		(void)unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errsize, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0177);	/* born 0600: nobody else connects before the chown */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		umask(old);
		snprintf(err, errsize, "cannot bind '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (gr) {
		f->gid = gr->gr_gid;
		f->has_group = true;
		if (chown(path, (uid_t)-1, gr->gr_gid) < 0 || chmod(path, 0660) < 0) {
			snprintf(err, errsize, "cannot give '%s' to the group %s: %s", path, group,
				 strerror(errno));
			close(fd);
			(void)unlink(path);
			return -1;
		}
	}
	f->lfd = fd;
	if (!gr)
		log_msg("no group '%s': the live feed '%s' is for root only (make install creates the group)",
			group ? group : "", path);
	return 0;
}

int feed_listen(struct feed *f, char *err, size_t errsize)
{
	if (f->lfd < 0 || f->listening)
		return 0;
	if (listen(f->lfd, 64) < 0) {
		snprintf(err, errsize, "cannot listen on '%s': %s", f->path, strerror(errno));
		close(f->lfd);
		f->lfd = -1;
		(void)unlink(f->path);
		return -1;
	}
	f->listening = true;
	return 0;
}

static void drop_reader(struct feed *f, int i)
{
	struct feed_reader *r = f->r[i];

	close(r->fd);
	buf_release(&r->q);
	free(r);
	f->r[i] = f->r[--f->n];
}

static bool allowed(const struct feed *f, int fd, uid_t *uid, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[256];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	*uid = cred.uid;
	*pid = cred.pid;
	if (cred.uid == 0 || cred.uid == geteuid())
		return true;
	if (!f->has_group)
		return false;
	if (cred.gid == f->gid)
		return true;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == f->gid)
			return true;
	return false;
}

static void refuse(struct feed *f, int fd, const char *msg)
{
	struct buf *b = &f->tmp;

	buf_reset(b);
	emit_error_begin(b, PROG, FEED_DENIED_CODE, msg);
	emit_end(b);
	if (!b->oom)
		(void)!send(fd, b->p, b->len, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	f->refused++;
}

static void accept_readers(struct feed *f)
{
	for (;;) {
		int fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct feed_reader *r;
		uid_t uid = (uid_t)-1;
		pid_t pid = 0;
		char msg[200];

		if (fd < 0)
			return;		/* EAGAIN, or a reader gone before we took it */
		if (!allowed(f, fd, &uid, &pid)) {
			snprintf(msg, sizeof(msg), "uid %u is neither root nor in the group '%s': the live feed holds every user's command lines",
				 (unsigned)uid, FEED_GROUP);
			log_limited("refused a reader of the live feed (pid %d): %s", (int)pid, msg);
			refuse(f, fd, msg);
			continue;
		}
		if (f->n == FEED_READERS_MAX || !(r = calloc(1, sizeof(*r)))) {
			snprintf(msg, sizeof(msg), "the live feed has %d readers already", FEED_READERS_MAX);
			refuse(f, fd, msg);
			continue;
		}
		r->fd = fd;
		r->uid = uid;
		r->pid = pid;
		f->r[f->n++] = r;
		f->accepted++;
	}
}

/* What a reader missed, told as it catches up: a lost record in its stream. */
static void tell_missed(struct feed_reader *r)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "%llu records of the live feed were not sent to this reader: it read too slowly",
		 (unsigned long long)r->missed);
	emit_begin(&r->q, "lost", clock_real_ns());
	emit_cstr(&r->q, "stage", PROG);
	emit_cstr(&r->q, "reason", "reader_slow");
	emit_u64(&r->q, "count", r->missed);
	emit_u64(&r->q, "total", r->missed_total);
	emit_cstr(&r->q, "message", msg);
	emit_end(&r->q);
	r->missed = 0;
}

void feed_publish(struct feed *f, const char *line, size_t len)
{
	if (f->lfd < 0)
		return;
	f->published++;
	for (int i = 0; i < f->n; i++) {
		struct feed_reader *r = f->r[i];

		if (r->missed && rq_len(r) > f->max_bytes / 2) {
			r->missed++, r->missed_total++, f->missed++;
			continue;
		}
		if (rq_len(r) + len > f->max_bytes) {
			r->missed++, r->missed_total++, f->missed++;
			continue;
		}
		if (r->missed)
			tell_missed(r);
		buf_append(&r->q, line, len);
		if (r->q.oom) {
			/* nothing half written stays: the reader goes */
			r->q.len = r->head;
			r->missed++, r->missed_total++, f->missed++;
		}
	}
}

/* Returns false when the reader is gone. */
static bool flush_reader(struct feed_reader *r)
{
	while (rq_len(r)) {
		ssize_t n = send(r->fd, r->q.p + r->head, rq_len(r), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN;
		r->head += (size_t)n;
	}
	if (r->head == r->q.len) {
		r->q.len = r->head = 0;
	} else if (r->head > (256u << 10) && r->head > r->q.len / 2) {
		memmove(r->q.p, r->q.p + r->head, rq_len(r));
		r->q.len -= r->head;
		r->head = 0;
	}
	return true;
}

void feed_flush(struct feed *f)
{
	for (int i = 0; i < f->n; i++)
		if (rq_len(f->r[i]) && !flush_reader(f->r[i]))
			drop_reader(f, i--);
}

int feed_poll_fds(struct feed *f, struct pollfd *p, int max)
{
	int np = 0;

	if (!f->listening || max < 1)
		return 0;
	p[np++] = (struct pollfd){ .fd = f->lfd, .events = POLLIN };
	for (int i = 0; i < f->n && np < max; i++)
		p[np++] = (struct pollfd){ .fd = f->r[i]->fd,
					   .events = (short)(POLLIN | (rq_len(f->r[i]) ? POLLOUT : 0)) };
	return np;
}

void feed_on_poll(struct feed *f, const struct pollfd *p, int n)
{
	for (int k = 0; k < n; k++) {
		char sink[512];
		int i;

		if (!p[k].revents)
			continue;
		if (p[k].fd == f->lfd) {
			accept_readers(f);
			continue;
		}
		for (i = 0; i < f->n && f->r[i]->fd != p[k].fd; i++)
			;
		if (i == f->n)
			continue;
		if (p[k].revents & (POLLIN | POLLHUP | POLLERR)) {
			/* readers send nothing: what comes is discarded, an end closes it */
			ssize_t got = recv(p[k].fd, sink, sizeof(sink), MSG_DONTWAIT);

			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
				drop_reader(f, i);
				continue;
			}
		}
		if ((p[k].revents & POLLOUT) && !flush_reader(f->r[i]))
			drop_reader(f, i);
	}
}

void feed_close(struct feed *f)
{
	if (f->lfd < 0)
		return;
	feed_flush(f);
	while (f->n)
		drop_reader(f, f->n - 1);
	close(f->lfd);
	f->lfd = -1;
	(void)unlink(f->path);
	buf_release(&f->tmp);
}
