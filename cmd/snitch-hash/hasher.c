/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileid.h"
#include "hash.h"

int file_sig_fd(int fd, struct file_sig *sig)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	sig->size = (uint64_t)st.st_size;
	sig->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	sig->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	return 0;
}

bool file_sig_eq(const struct file_sig *a, const struct file_sig *b)
{
	return a->size == b->size && a->mtime_ns == b->mtime_ns &&
	       a->ctime_ns == b->ctime_ns;
}

static int check_identity(int fd, const struct exe_key *key, bool *btrfs,
			  char *why, size_t whysz)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(why, whysz, "%s", strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whysz, "not a regular file");
		return -EINVAL;
	}
	if (fileid_matches(fd, &st, key->dev, key->ino, btrfs))
		return 0;
	snprintf(why, whysz, "it is now device %llu inode %llu, not the executable named",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return -ESTALE;
}

/* Open one candidate; returns an fd or a negative errno with 'why' set. */
static int open_candidate(struct hash_job *job, const char *path, char *why,
			  size_t whysz)
{
	/* O_NONBLOCK: a FIFO put where a path was named must not hang us */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int r;

	if (fd < 0) {
		r = -errno;
		snprintf(why, whysz, "%s", strerror(errno));
		return r;
	}
	r = check_identity(fd, &job->key, &job->btrfs, why, whysz);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

void hash_job_run(struct hash_job *job, struct watch *w)
{
	char proc[64], why_proc[256] = "", why_path[256] = "";
	unsigned char digest[SHA256_LEN];
	struct file_sig after;
	int fd = -ENOENT, r;

	job->err = 0;
	job->err_msg[0] = '\0';
	if (job->pid) {
		snprintf(proc, sizeof(proc), "/proc/%u/exe", job->pid);
		fd = open_candidate(job, proc, why_proc, sizeof(why_proc));
		if (fd >= 0)
			job->opened = strdup(proc);
	}
	if (fd < 0 && job->path) {
		fd = open_candidate(job, job->path, why_path, sizeof(why_path));
		if (fd >= 0)
			job->opened = strdup(job->path);
	}
	if (fd < 0) {
		job->err = -fd;
		if (!job->pid && !job->path)
			snprintf(job->err_msg, sizeof(job->err_msg),
				 "no pid or path to open it by");
		else if (job->pid && job->path)
			snprintf(job->err_msg, sizeof(job->err_msg),
				 "'%s': %s; '%s': %s", proc, why_proc,
				 job->path, why_path);
		else
			snprintf(job->err_msg, sizeof(job->err_msg), "'%s': %s",
				 job->pid ? proc : job->path,
				 job->pid ? why_proc : why_path);
		return;
	}

	/*
	 * Watch before reading: a change made while we read is then either
	 * seen in the bytes or reported as an event, never lost between.
	 */
	job->mark_err = w ? -watch_add(w, fd, &job->key, &job->fid) : ENOSYS;
	job->have_fid = w && job->mark_err == 0;

	if (file_sig_fd(fd, &job->sig) < 0)
		memset(&job->sig, 0, sizeof(job->sig));
	r = sha256_fd(fd, digest, &job->size);
	if (r < 0) {
		job->err = -r;
		snprintf(job->err_msg, sizeof(job->err_msg), "reading '%s': %s",
			 job->opened ? job->opened : "?", strerror(-r));
		close(fd);
		return;
	}
	sha256_hex(digest, job->hex);
	if (file_sig_fd(fd, &after) == 0 && !file_sig_eq(&after, &job->sig)) {
		job->changed = true;
		job->sig = after;
	}
	close(fd);
}

void hash_job_free(struct hash_job *job)
{
	if (!job)
		return;
	free(job->path);
	free(job->opened);
	free(job);
}
