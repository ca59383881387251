/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_RESOLVE_CMDLINE_H
#define SNITCH_RESOLVE_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * A process's /proc/PID/cmdline (len bytes, its last terminator already
 * cut off) as a JSON array of its arguments, appended to b: every byte
 * kept (json_put_str escapes what is not UTF-8). cut: the text was cut
 * to fit, and the last argument ends in "…" to say so. An empty
 * command line (a kernel thread, a zombie) is [].
 */
void cmdline_json(struct buf *b, const char *cmdline, size_t len, bool cut);

/*
 * The value of the variable name in a process's /proc/PID/environ (len
 * bytes of "NAME=VALUE" entries, each ended by a NUL, the last one maybe
 * cut): where it starts in env and, in *vlen, its length (no NUL in it);
 * NULL when no whole entry names it. The first entry of that name wins,
 * as getenv() finds it.
 */
const char *environ_value(const char *env, size_t len, const char *name, size_t *vlen);

#endif
