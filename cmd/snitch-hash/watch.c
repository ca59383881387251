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
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "hash.h"

#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200	/* Linux 6.5: the handle fanotify reports */
#endif

#define WATCH_MASK (FAN_MODIFY | FAN_CLOSE_WRITE)
#define NBUCKETS 4096

struct fid_node {
	struct fid_node *next;
	struct fid fid;
	struct exe_key key;
};

struct watch {
	int fd;
	pthread_mutex_t mu;
	struct fid_node *tab[NBUCKETS];
};

static uint32_t fid_hash(const struct fid *f)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	const unsigned char *p = (const unsigned char *)f->fsid;

	for (size_t i = 0; i < sizeof(f->fsid); i++)
		h = (h ^ p[i]) * 16777619u;
	for (uint32_t i = 0; i < f->len; i++)
		h = (h ^ f->bytes[i]) * 16777619u;
	return (h ^ (uint32_t)f->type) % NBUCKETS;
}

static bool fid_eq(const struct fid *a, const struct fid *b)
{
	return a->fsid[0] == b->fsid[0] && a->fsid[1] == b->fsid[1] &&
	       a->type == b->type && a->len == b->len &&
	       memcmp(a->bytes, b->bytes, a->len) == 0;
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
	if (!w)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct fid_node *n = w->tab[i];
		while (n) {
			struct fid_node *next = n->next;
			free(n);
			n = next;
		}
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
	uint32_t b = fid_hash(fid);
	struct fid_node *n;

	for (n = w->tab[b]; n; n = n->next) {
		if (fid_eq(&n->fid, fid)) {
			n->key = *key;
			return;
		}
	}
	n = malloc(sizeof(*n));
	if (!n)
		return;	/* the mark still works; the event just goes unmatched */
	n->fid = *fid;
	n->key = *key;
	n->next = w->tab[b];
	w->tab[b] = n;
}

static void table_del(struct watch *w, const struct fid *fid)
{
	struct fid_node **pp = &w->tab[fid_hash(fid)];

	for (; *pp; pp = &(*pp)->next) {
		if (fid_eq(&(*pp)->fid, fid)) {
			struct fid_node *n = *pp;
			*pp = n->next;
			free(n);
			return;
		}
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
	for (struct fid_node *n = w->tab[fid_hash(&fid)]; n; n = n->next) {
		if (fid_eq(&n->fid, &fid)) {
			*key = n->key;
			found = true;
			break;
		}
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
