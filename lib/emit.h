/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_EMIT_H
#define SNITCH_EMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"

/*
 * Writing new records (docs/records.md): emit_begin() opens the object
 * with "v", "type" and "ts_ns"; each emit_*() adds one member; emit_end()
 * closes it and adds the newline.
 */

void emit_begin(struct buf *b, const char *type, uint64_t ts_ns);
void emit_end(struct buf *b);

void emit_key(struct buf *b, const char *key);
void emit_str(struct buf *b, const char *key, const void *s, size_t len);
void emit_cstr(struct buf *b, const char *key, const char *s);
void emit_u64(struct buf *b, const char *key, uint64_t v);
void emit_i64(struct buf *b, const char *key, int64_t v);
void emit_bool(struct buf *b, const char *key, bool v);
void emit_null(struct buf *b, const char *key);
/* A number, or null when it is not known. */
void emit_u64_if(struct buf *b, const char *key, bool known, uint64_t v);
/* A string, or null when s is NULL. */
void emit_cstr_or_null(struct buf *b, const char *key, const char *s);

/*
 * An error record: which stage, a stable machine-readable code (snake
 * case, listed in docs/records.md), and the message a person reads, the
 * same text the stage prints on stderr. Context members may follow; then
 * emit_end().
 */
void emit_error_begin(struct buf *b, const char *stage, const char *code,
		      const char *message);

/* "errno" member: the symbolic name of a positive errno value ("EACCES"). */
void emit_errno(struct buf *b, int err);

#endif
