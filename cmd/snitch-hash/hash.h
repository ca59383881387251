/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_HASH_H
#define SNITCH_HASH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sha256.h"

#define STAGE "snitch-hash"

/* An executable file as records name it: userspace st_dev and st_ino. */
struct exe_key {
	uint64_t dev, ino;
};

/* What a change to a file alters; compared when fanotify is not used. */
struct file_sig {
	uint64_t size;
	int64_t mtime_ns, ctime_ns;
};

/* A file handle as fanotify reports it (FAN_REPORT_FID). */
#define FID_MAX 128
struct fid {
	int32_t fsid[2];
	int32_t type;
	uint32_t len;
	unsigned char bytes[FID_MAX];
};

/* ---- hashing one executable (hasher.c) ---- */

struct hash_job {
	struct hash_job *next;
	void *owner;			/* the cache entry waiting for it */
	struct exe_key key;
	uint32_t pid;			/* try /proc/PID/exe first, when set */
	char *path;			/* then this path, when set */
	/* results */
	int err;			/* 0, or a positive errno */
	char err_msg[512];		/* why it failed, for a person */
	char hex[SHA256_HEX_LEN + 1];
	uint64_t size;
	struct file_sig sig;
	bool changed;			/* the file changed while it was read */
	bool btrfs;			/* matched on inode only (btrfs subvolume) */
	bool have_fid;
	struct fid fid;
	int mark_err;			/* fanotify mark: 0, or why not (errno) */
	char *opened;			/* what was opened: "/proc/42/exe" or a path */
};

struct watch;

/* Open the executable the job names, check it, watch it, hash it. */
void hash_job_run(struct hash_job *job, struct watch *w);
void hash_job_free(struct hash_job *job);

/* ---- worker threads (pool.c) ---- */

struct pool;

struct pool *pool_new(unsigned threads, struct watch *w);
/* Queue a job; the pool owns it until pool_take_done() returns it. */
void pool_submit(struct pool *p, struct hash_job *job);
/* Descriptor that becomes readable when jobs are done. */
int pool_fd(const struct pool *p);
/* All finished jobs, oldest first; NULL when none. */
struct hash_job *pool_take_done(struct pool *p);
/* Jobs queued or running. */
unsigned pool_busy(struct pool *p);
/* Stop the threads after their current job; returns false if any is still
 * busy after the wait (the caller then exits without freeing). */
bool pool_free(struct pool *p, bool wait);

/* ---- modification watch (watch.c) ---- */

enum watch_mode { WATCH_AUTO, WATCH_FANOTIFY, WATCH_STAT };

/* A file reported modified (by its key) or, on overflow, everything. */
struct watch_event {
	struct exe_key key;
	bool modify;		/* written to */
	bool close_write;	/* a writer closed it */
	bool overflow;		/* events were lost: assume all changed */
};

/* Returns NULL with *err set when fanotify cannot be used. */
struct watch *watch_new(int *err);
void watch_free(struct watch *w);
int watch_fd(const struct watch *w);
/* Called from worker threads: watch fd's file, known by key. */
int watch_add(struct watch *w, int fd, const struct exe_key *key,
	      struct fid *fid);
/* Forget a file (its cache entry is gone). */
void watch_forget(struct watch *w, const struct fid *fid);
/*
 * Read pending events; calls fn for each modified file that is watched.
 * Returns the number of events, or a negative errno.
 */
int watch_drain(struct watch *w,
		void (*fn)(void *ctx, const struct watch_event *ev), void *ctx);

/* size, mtime and ctime of an open file or a path */
int file_sig_fd(int fd, struct file_sig *sig);
bool file_sig_eq(const struct file_sig *a, const struct file_sig *b);


/* ---- the two modes (stream.c, oneoff.c) ---- */

struct hash_opts {
	bool stream;
	bool json;
	uint64_t jobs;
	uint64_t cache_size;
	uint64_t timeout_s;
	int watch_mode;		/* enum watch_mode */
};

int stream_run(const struct hash_opts *o);
int oneoff_run(const struct hash_opts *o, int nfiles, char **files);

#endif
