/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_PUBLISH_H
#define SNITCH_PUBLISH_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

/*
 * The publishing side of the live feed (lib/feed.h has the readers'),
 * driven by the supervisor's poll loop: every write is non-blocking, and
 * each reader has its own bounded queue. A reader that falls behind by
 * more than its queue misses records; they are counted, and told to it in
 * a lost record (reason reader_slow) once its queue has drained to half.
 * The pipeline never waits for a reader.
 */

#define FEED_READERS_MAX 64

struct feed_reader {
	int fd;
	uid_t uid;
	pid_t pid;
	struct buf q;
	size_t head;
	uint64_t missed;		/* since its last lost record */
	uint64_t missed_total;
};

struct feed {
	int lfd;			/* -1: no feed */
	bool listening;			/* readers are let in (feed_listen) */
	char path[4200];
	size_t max_bytes;		/* per reader */
	gid_t gid;
	bool has_group;
	struct feed_reader *r[FEED_READERS_MAX];
	int n;
	uint64_t published, accepted, refused, missed;
	struct buf tmp;
};

/*
 * The socket at path: mode 0660, group 'group' (0600 when there is no such
 * group), made while the supervisor can still give it to the group.
 * Returns 0 or -1 with why in err; a feed that cannot open leaves f->lfd
 * at -1 and every other call a no-op.
 */
int feed_open(struct feed *f, const char *path, const char *group, size_t max_bytes,
	      char *err, size_t errsize);

/*
 * Let readers in, once snitch has started: until then a reader's connect
 * is refused, as when no snitch runs, and snitch top --start and snitch
 * tail wait. Returns 0, or -1 with why in err (and the feed closed).
 */
int feed_listen(struct feed *f, char *err, size_t errsize);
void feed_close(struct feed *f);

/* One whole line, with its newline, to every reader. */
void feed_publish(struct feed *f, const char *line, size_t len);

/* Write what the readers' queues hold, as far as their sockets take it. */
void feed_flush(struct feed *f);

/* Its descriptors into p (at most max); returns how many. */
int feed_poll_fds(struct feed *f, struct pollfd *p, int max);

/* After poll: the entries feed_poll_fds() filled. */
void feed_on_poll(struct feed *f, const struct pollfd *p, int n);

#endif
