/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_FILEID_H
#define SNITCH_FILEID_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * Is the open file fd (whose fstat() is st) the one the kernel named by
 * (dev, ino), dev in st_dev's encoding? On btrfs, stat() reports a device
 * per subvolume while the kernel's inode->i_sb->s_dev names the whole
 * filesystem: there only the inode can be compared, and *btrfs says so.
 */
bool fileid_matches(int fd, const struct stat *st, uint64_t dev, uint64_t ino,
		    bool *btrfs);

/* Is the open file on btrfs (where only inodes can be compared)? */
bool fileid_on_btrfs(int fd);

#endif
