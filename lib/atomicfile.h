/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_ATOMICFILE_H
#define SNITCH_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "perms.h"

/*
 * The file is run-time state in a tmpfs (/run) that need not outlive a
 * power cut: skip the two fsync() calls. The rename still means a reader
 * sees the old file or the new one, never a part; it only costs nothing
 * on the disk. status.json, rewritten every second, is the case for it.
 */
#define ATOMIC_NO_SYNC 0x1u

/*
 * Replace the file at path by data, all or nothing: a temporary file
 * beside it (PATH.tmp-XXXXXX, made with mode less the umask, then given
 * perms if not NULL, so the final name never has other permissions),
 * a full write, fsync, rename over path, fsync of the directory so the
 * rename itself survives a crash. The temporary is removed on every
 * failure. The directory must exist.
 *
 * 0 or a negative errno. An error from the directory's fsync comes after
 * the rename: the new content is in place but may not survive a crash.
 * Never prints.
 */
int atomic_write_file(const char *path, const void *data, size_t len, mode_t mode,
		      const struct file_perms *perms, unsigned flags);

/*
 * Keep a damaged file for a person to look at, out of the way of a fresh
 * one: rename path to PATH.<what>-<UTC time>, e.g.
 * state.json.corrupt-20261201T101500Z, never over an earlier one (a
 * second in the same second gets -2, -3, ...). what NULL means "corrupt".
 * The new name goes into moved ("" on failure). 0 or a negative errno.
 */
int file_move_aside(const char *path, const char *what, char *moved, size_t movedsize);

#endif
