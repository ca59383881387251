/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_RECORD_H
#define SNITCH_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"

/*
 * One record: a JSON object on one line (docs/records.md). The line is
 * validated in full, but only its top-level members are indexed; values
 * are read on demand. Changes are kept as edits against the original
 * text and spliced in on output, so every byte of every field a stage
 * does not touch comes out as it came in.
 */

#define RECORD_VERSION 1

/* Longest line accepted, without its newline (docs/records.md: 1 MiB). */
#define RECORD_LINE_MAX (1U << 20)

struct record_member {
	uint32_t key_off, key_len;	/* key text between its quotes */
	uint32_t val_off, val_len;	/* value text (strings include quotes) */
	uint8_t type;			/* enum json_type */
	uint8_t key_escaped;		/* key holds a backslash escape */
	uint8_t val_escaped;		/* string value holds an escape */
};

/* Edits one record may carry; record_set_*() refuses more with -E2BIG. */
#define RECORD_EDITS_MAX 64

struct record_edit {
	uint32_t off, end;		/* replace line[off, end) */
	uint32_t text_off, text_len;	/* by this text in record.text */
};

struct record {
	const char *line;
	size_t len;
	size_t close_off;		/* offset of the closing brace */
	struct record_member *m;
	size_t n, cap;
	struct record_edit *e;
	size_t ne, ecap;
	size_t appended;		/* members added before close_off */
	struct buf text;
	int oom;
};

void record_init(struct record *r);
void record_release(struct record *r);

/*
 * Index line[0, len) (no newline). Returns 0, -EINVAL with err set when
 * the line is not one JSON object, or -ENOMEM. The record points into
 * line, which must outlive it; any earlier contents and edits are reset.
 */
int record_parse(struct record *r, const char *line, size_t len,
		 struct json_error *err);

/*
 * The "type" of a record line without parsing all of it: the members are
 * read in order up to "type" (usually the second), so a relay can
 * classify lines cheaply whatever the order of their members. Writes the
 * type's string (unescaped only if it has no escapes) to out, NUL-ended,
 * at most size - 1 bytes. Returns 0, or -ENOENT when the line has no
 * string "type" member, -EINVAL when it is not a JSON object as far as it
 * was read.
 */
int record_peek_type(const char *line, size_t len, char *out, size_t size);

/* The member named key (its last occurrence, as jq does), or NULL. */
const struct record_member *record_find(const struct record *r,
					const char *key);

/*
 * Find several members in one pass: out[i] is the member named keys[i],
 * or NULL. keys must be plain ASCII without characters JSON escapes.
 */
void record_find_many(const struct record *r, const char *const *keys,
		      size_t nkeys, const struct record_member **out);

/*
 * Typed reads, of a member or by key. Return 0; -ENOENT when absent;
 * -ENODATA when null; -EINVAL when of another type (or, for integers, not
 * an integer); -ERANGE when out of range.
 */
int record_member_u64(const struct record *r, const struct record_member *m,
		      uint64_t *out);
int record_member_i64(const struct record *r, const struct record_member *m,
		      int64_t *out);
/* Appends the decoded bytes to out (not NUL-terminated). */
int record_member_str(const struct record *r, const struct record_member *m,
		      struct buf *out);

int record_get_u64(const struct record *r, const char *key, uint64_t *out);
int record_get_i64(const struct record *r, const char *key, int64_t *out);
int record_get_str(const struct record *r, const char *key, struct buf *out);

/* Is member m a string whose raw text equals s (no escapes involved)? */
bool record_member_is(const struct record *r, const struct record_member *m,
		      const char *s);

/*
 * Set key to a value: replaces the value of an existing member (its last
 * occurrence), else adds the member at the end of the object. At most one
 * edit per key and record; the value text must be valid JSON.
 */
int record_set_raw(struct record *r, const char *key, const char *json,
		   size_t len);
int record_set_str(struct record *r, const char *key, const void *s,
		   size_t len);
int record_set_u64(struct record *r, const char *key, uint64_t v);
int record_set_null(struct record *r, const char *key);

/*
 * Add key with a JSON value, knowing it is not in the record (as
 * record_find_many() found): spares the search of record_set_raw().
 */
int record_add_raw(struct record *r, const char *key, const char *json,
		   size_t len);
#define RECORD_NEW_KEY ((const struct record_member *)1)

/*
 * Add several members at once: text is '"k1":v1,"k2":v2' (valid JSON
 * members, none of them already in the record). Counts as one edit.
 */
int record_add_members(struct record *r, const char *text, size_t len);

/* Append the record with its edits, and a newline, to out. */
void record_write(const struct record *r, struct buf *out);

/* The value text of member m. */
static inline const char *record_val(const struct record *r,
				     const struct record_member *m)
{
	return r->line + m->val_off;
}

#endif
