/* SPDX-License-Identifier: MIT */
#include <sys/vfs.h>

#include "fileid.h"

#ifndef BTRFS_SUPER_MAGIC
#define BTRFS_SUPER_MAGIC 0x9123683E
#endif

bool fileid_on_btrfs(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && (unsigned long)sf.f_type == BTRFS_SUPER_MAGIC;
}

bool fileid_matches(int fd, const struct stat *st, uint64_t dev, uint64_t ino,
		    bool *btrfs)
{
	*btrfs = false;
	if ((uint64_t)st->st_ino != ino)
		return false;
	if ((uint64_t)st->st_dev == dev)
		return true;
	*btrfs = fileid_on_btrfs(fd);
	return *btrfs;
}
