/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "clock.h"
#include "output.h"

/*
 * Open the directory that holds path (read-only: enough for fsync and
 * for *at() calls) and point *base at the last component. Working
 * relative to the directory keeps the temporary and the rename in the
 * same place even if a parent is renamed meanwhile.
 */
static int open_dir_of(const char *path, const char **base)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd;

	if (!slash) {
		*base = path;
		strcpy(dir, ".");
	} else {
		*base = slash + 1;
		n = slash == path ? 1 : (size_t)(slash - path);	/* "/x": the root */
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	if (!**base)
		return -EISDIR;	/* "dir/": no file named */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * fsync of a directory makes a rename in it durable. A filesystem that
 * cannot sync directories says EINVAL: nothing more can be done there.
 */
static int sync_dir(int dirfd)
{
	if (fsync(dirfd) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

/*
 * A fresh name beside base, opened O_EXCL: two writers of the same file
 * (two `snitch run` writing a default configuration) never share a
 * temporary and mix their bytes.
 */
static int open_temp(int dirfd, const char *base, mode_t mode, char *tmp, size_t tmpsize)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static unsigned counter;

	for (int tries = 0; tries < 100; tries++) {
		uint64_t r;
		char suffix[7];
		int fd;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
			r = clock_mono_ns() ^ ((uint64_t)getpid() << 32) ^
			    __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
		for (size_t i = 0; i < sizeof(suffix) - 1; i++, r /= sizeof(digits) - 1)
			suffix[i] = digits[r % (sizeof(digits) - 1)];
		suffix[sizeof(suffix) - 1] = '\0';
		if ((size_t)snprintf(tmp, tmpsize, "%s.tmp-%s", base, suffix) >= tmpsize)
			return -ENAMETOOLONG;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd < 0 ? -errno : fd;
	}
	return -EEXIST;
}

int atomic_write_file(const char *path, const void *data, size_t len, mode_t mode,
		      const struct file_perms *perms, unsigned flags)
{
	char tmp[NAME_MAX + 1];
	const char *base;
	int dirfd, fd, ret;

	dirfd = open_dir_of(path, &base);
	if (dirfd < 0)
		return dirfd;
	fd = open_temp(dirfd, base, mode, tmp, sizeof(tmp));
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	ret = write_all(fd, data, len);
	if (!ret)
		perms_apply_fd(perms, fd);
	if (!ret && !(flags & ATOMIC_NO_SYNC) && fsync(fd) < 0)
		ret = -errno;
	/* once, whatever happened: Linux frees the descriptor even when
	 * close() fails, and an error here (NFS) means the data may be lost */
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && renameat(dirfd, tmp, dirfd, base) < 0)
		ret = -errno;
	if (ret) {
		(void)unlinkat(dirfd, tmp, 0);
		goto out;
	}
	if (!(flags & ATOMIC_NO_SYNC))
		ret = sync_dir(dirfd);
out:
	close(dirfd);
	return ret;
}

int file_move_aside(const char *path, const char *what, char *moved, size_t movedsize)
{
	char stamp[32], side[NAME_MAX + 1];
	const char *base;
	time_t now = time(NULL);
	struct tm tm;
	int dirfd, ret = -EEXIST;

	if (movedsize)
		moved[0] = '\0';
	dirfd = open_dir_of(path, &base);
	if (dirfd < 0)
		return dirfd;
	if (!what)
		what = "corrupt";
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int i = 1; i < 100 && ret == -EEXIST; i++) {
		char suffix[NAME_MAX + 1];
		size_t n = (size_t)(i == 1 ? snprintf(suffix, sizeof(suffix), ".%s-%s", what, stamp)
					   : snprintf(suffix, sizeof(suffix), ".%s-%s-%d", what, stamp, i));

		if (n >= sizeof(suffix) ||
		    (size_t)snprintf(side, sizeof(side), "%s%s", base, suffix) >= sizeof(side) ||
		    strlen(path) + n >= movedsize) {
			ret = -ENAMETOOLONG;
			break;
		}
		/* never over an earlier one: it is evidence too */
		ret = renameat2(dirfd, base, dirfd, side, RENAME_NOREPLACE) < 0 ? -errno : 0;
		if (ret == -EINVAL) {
			/* a filesystem without RENAME_NOREPLACE: look, then rename */
			struct stat st;

			if (fstatat(dirfd, side, &st, AT_SYMLINK_NOFOLLOW) == 0)
				ret = -EEXIST;
			else
				ret = renameat(dirfd, base, dirfd, side) < 0 ? -errno : 0;
		}
		if (!ret)
			snprintf(moved, movedsize, "%s%s", path, suffix);
	}
	/* the move is done; making it durable is the best that can be had */
	if (!ret)
		(void)sync_dir(dirfd);
	close(dirfd);
	return ret;
}
