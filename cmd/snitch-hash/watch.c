/* SPDX-License-Identifier: MIT */
/*
 * Watching hashed executables for modification with fanotify.
 *
 * FAN_REPORT_FID mode: events name the file by filesystem id and file
 * handle instead of carrying an open descriptor. It needs no descriptor
 * per event, and since Linux 5.13 it also works without privileges.
 * Workers record each file's handle (name_to_handle_at on the descriptor
 * they hash) in a table before they place the mark, so that an event can
 * never arrive for a file the table does not know yet.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "hash.h"
#include "table.h"

#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200	/* Linux 6.5: the handle fanotify reports */
#endif

#define WATCH_MASK (FAN_MODIFY | FAN_CLOSE_WRITE)

struct fid_node {
	struct fid fid;
	struct exe_key key;
	UT_hash_handle hh;	/* by fid, its used bytes */
};

struct watch {
	int fd;
	pthread_mutex_t mu;
	struct fid_node *tab;	/* guarded by mu: workers add, the stream looks up */
};

/* The bytes of a fid that name the file: the handle's length is among them. */
static size_t fid_key_len(const struct fid *f)
{
	return offsetof(struct fid, bytes) + f->len;
}

static struct fid_node *table_find(struct watch *w, const struct fid *fid)
{
	struct fid_node *n;

	HASH_FIND(hh, w->tab, fid, fid_key_len(fid), n);
	return n;
}

struct watch *watch_new(int *err)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (!w) {
		*err = ENOMEM;
		return NULL;
	}
	w->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
			      FAN_REPORT_FID, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (w->fd < 0) {
		*err = errno;
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	return w;
}

void watch_free(struct watch *w)
{
	struct fid_node *n, *next;

	if (!w)
		return;
	HASH_ITER(hh, w->tab, n, next) {
		HASH_DEL(w->tab, n);
		free(n);
	}
	close(w->fd);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int watch_fd(const struct watch *w)
{
	return w->fd;
}

static int fid_of_fd(int fd, struct fid *fid)
{
	struct {
		struct file_handle h;
		unsigned char bytes[FID_MAX];
	} fh;
	struct statfs sf;
	int mount_id;

	fh.h.handle_bytes = FID_MAX;
	if (name_to_handle_at(fd, "", &fh.h, &mount_id,
			      AT_EMPTY_PATH | AT_HANDLE_FID) < 0) {
		if (errno != EINVAL)
			return -errno;
		/* before 6.5: the plain handle, which is the same for files */
		fh.h.handle_bytes = FID_MAX;
		if (name_to_handle_at(fd, "", &fh.h, &mount_id, AT_EMPTY_PATH) < 0)
			return -errno;
	}
	if (fstatfs(fd, &sf) < 0)
		return -errno;
	memset(fid, 0, sizeof(*fid));
	memcpy(fid->fsid, &sf.f_fsid, sizeof(fid->fsid));
	fid->type = fh.h.handle_type;
	fid->len = fh.h.handle_bytes;
	memcpy(fid->bytes, fh.h.f_handle, fid->len);
	return 0;
}

static void table_put(struct watch *w, const struct fid *fid,
		      const struct exe_key *key)
{
	struct fid_node *n = table_find(w, fid);

	if (n) {
		n->key = *key;
		return;
	}
	n = malloc(sizeof(*n));
	if (!n)
		return;	/* the mark still works; the event just goes unmatched */
	n->fid = *fid;
	n->key = *key;
	HASH_ADD(hh, w->tab, fid, fid_key_len(fid), n);
	if (!table_added(n, hh))
		free(n);	/* as above */
}

static void table_del(struct watch *w, const struct fid *fid)
{
	struct fid_node *n = table_find(w, fid);

	if (n) {
		HASH_DEL(w->tab, n);
		free(n);
	}
}

int watch_add(struct watch *w, int fd, const struct exe_key *key,
	      struct fid *fid)
{
	int r = fid_of_fd(fd, fid);

	if (r < 0)
		return r;
	pthread_mutex_lock(&w->mu);
	table_put(w, fid, key);
	pthread_mutex_unlock(&w->mu);
	if (fanotify_mark(w->fd, FAN_MARK_ADD, WATCH_MASK, fd, NULL) < 0) {
		r = -errno;
		pthread_mutex_lock(&w->mu);
		table_del(w, fid);
		pthread_mutex_unlock(&w->mu);
		return r;
	}
	return 0;
}

void watch_forget(struct watch *w, const struct fid *fid)
{
	/*
	 * The kernel's mark cannot be removed without a descriptor for the
	 * file; it goes when the inode does, and its events are ignored.
	 */
	pthread_mutex_lock(&w->mu);
	table_del(w, fid);
	pthread_mutex_unlock(&w->mu);
}

static bool lookup(struct watch *w, const struct fanotify_event_info_fid *info,
		   size_t info_len, struct exe_key *key)
{
	const struct file_handle *h = (const void *)info->handle;
	struct fid fid;
	struct fid_node *n;
	bool found = false;

	if (info_len < sizeof(*info) + sizeof(*h) ||
	    h->handle_bytes > FID_MAX ||
	    info_len < sizeof(*info) + sizeof(*h) + h->handle_bytes)
		return false;
	memset(&fid, 0, sizeof(fid));
	memcpy(fid.fsid, &info->fsid, sizeof(fid.fsid));
	fid.type = h->handle_type;
	fid.len = h->handle_bytes;
	memcpy(fid.bytes, h->f_handle, fid.len);

	pthread_mutex_lock(&w->mu);
	if ((n = table_find(w, &fid))) {
		*key = n->key;
		found = true;
	}
	pthread_mutex_unlock(&w->mu);
	return found;
}

int watch_drain(struct watch *w,
		void (*fn)(void *ctx, const struct watch_event *ev), void *ctx)
{
	char buf[16384] __attribute__((aligned(8)));
	int count = 0;

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		const struct fanotify_event_metadata *m = (const void *)buf;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return count;
			return -errno;
		}
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			struct watch_event ev = { 0 };
			const char *p = (const char *)m + m->metadata_len;
			const char *end = (const char *)m + m->event_len;

			count++;
			if (m->mask & FAN_Q_OVERFLOW) {
				ev.overflow = true;
				fn(ctx, &ev);
				continue;
			}
			while (p + sizeof(struct fanotify_event_info_header) <= end) {
				const struct fanotify_event_info_header *hdr = (const void *)p;

				if (hdr->len == 0 || p + hdr->len > end)
					break;
				if (hdr->info_type == FAN_EVENT_INFO_TYPE_FID &&
				    lookup(w, (const void *)p, hdr->len, &ev.key)) {
					ev.modify = m->mask & FAN_MODIFY;
					ev.close_write = m->mask & FAN_CLOSE_WRITE;
					fn(ctx, &ev);
				}
				p += hdr->len;
			}
		}
	}
}
