/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_FEED_H
#define SNITCH_FEED_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The live feed: while snitch runs, the records that reach its last stage
 * are published as NDJSON on a unix socket (docs/operations.md). This is
 * the readers' side, shared by snitch tail and snitch top.
 */

/* The group whose members may read the feed (with root). */
#define FEED_GROUP "snitch"

/* Code of the error record a refused reader gets before the socket closes. */
#define FEED_DENIED_CODE "feed_denied"

/* The live feed's socket: sock (an option, $SNITCH_EVENTS_SOCK) if set, else RUN_DIR/events.sock. */
void feed_sock_path(char *out, size_t size, const char *run_dir, const char *sock);

/*
 * Connect to the feed at path. Returns the descriptor (blocking,
 * close-on-exec) or a negative errno: -ENOENT or -ECONNREFUSED when no
 * snitch runs, -EACCES when the socket's mode keeps the caller out.
 */
int feed_connect(const char *path);

/*
 * Whether line (without its newline) is the refusal the feed writes to a
 * reader that is neither root nor in the group; its message into msg.
 */
bool feed_is_denial(const char *line, size_t len, char *msg, size_t size);

#endif
