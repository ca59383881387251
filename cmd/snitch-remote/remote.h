/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_REMOTE_H
#define SNITCH_REMOTE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "perms.h"
#include "stage.h"

#define STAGE "snitch-remote"

enum remote_kind { REMOTE_PG, REMOTE_MARIA };

struct remote_opts {
	const char *url;
	const char *table;
	const char *host_name;
	const char *spool;
	uint64_t retry_s;
	uint64_t stats_s;
	bool tee;
	bool print_schema;
	const char *owner, *group, *mode;
};

/* The kind of server a URL names: 0, or -1 when it is neither. */
int remote_kind(const char *url, enum remote_kind *kind);

/*
 * A table name is an identifier put into SQL text, never a value: only
 * [A-Za-z_][A-Za-z0-9_]{0,62} is taken, which needs no quoting anywhere.
 */
bool remote_table_valid(const char *name);

/* The statements that make the tables, ";\n"-separated (schema.c). */
const char *remote_schema(enum remote_kind kind, const char *table);
/* The part of it that adds the newer columns to older tables. */
const char *remote_upgrade(enum remote_kind kind);

struct remote;

/*
 * Open the spool (rows a previous run left go first) and start the
 * sender thread, which reports through st's mailbox.
 */
struct remote *remote_new(const struct remote_opts *o, enum remote_kind kind,
			  const struct file_perms *perms, struct stage *st,
			  char *err, size_t errsize);

/* Append whole spool lines (the loop's thread); remote_flush() makes them durable. */
void remote_append(struct remote *r, const char *lines, size_t len);
/* Bytes appended and not yet flushed. */
size_t remote_pending(const struct remote *r);
/* Bytes of rows not yet committed by the server: spooled, or pending. */
uint64_t remote_spool_bytes(struct remote *r);
/* Write and fdatasync what was appended, and wake the sender. 0 or -errno. */
int remote_flush(struct remote *r);
/* Drop what could not be flushed; returns how many lines that was. */
uint64_t remote_drop_pending(struct remote *r);

/* Wait (at most wait_ms) for the spool to drain, then stop. */
/* Wait at most wait_ms for the sender to send what is spooled (or to find
 * the server down). */
void remote_drain(struct remote *r, int wait_ms);
void remote_free(struct remote *r, int wait_ms);

#endif
