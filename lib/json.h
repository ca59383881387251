/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_JSON_H
#define SNITCH_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * JSON text as the pipeline needs it: validate and locate values without
 * building a tree, write strings so that any byte sequence comes out as
 * valid JSON, and read strings back byte for byte.
 *
 * Byte strings that are not UTF-8 (paths, command lines) are written with
 * each byte that is not part of a valid UTF-8 sequence as the escape
 * \udcXX, XX being the byte (the "surrogateescape" convention of PEP 383).
 * The text stays valid JSON that jq reads (it shows U+FFFD there), and
 * json_unescape() turns the escapes back into the original bytes.
 */

enum json_type {
	JSON_NONE = 0,
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

/* Containers nested deeper than this are refused, to bound the work. */
#define JSON_MAX_DEPTH 512

struct json_error {
	size_t offset;		/* byte offset of the problem in the text */
	const char *what;	/* static description, lowercase */
};

/*
 * Validate one JSON value that starts at s[*pos] (after any white space).
 * On success, *pos is just past the value, *type says what it was, and 0
 * is returned. On failure, -EINVAL with err filled in.
 * For a string, the value spans the quotes; *has_escape (may be NULL)
 * tells whether it contains a backslash.
 */
int json_scan_value(const char *s, size_t len, size_t *pos,
		    enum json_type *type, bool *has_escape,
		    struct json_error *err);

/* A string only: s[*pos] is its opening quote. As json_scan_value(). */
int json_scan_string(const char *s, size_t len, size_t *pos,
		     bool *has_escape, struct json_error *err);

static inline size_t json_skip_ws(const char *s, size_t len, size_t pos)
{
	while (pos < len && (s[pos] == ' ' || s[pos] == '\t' ||
			     s[pos] == '\n' || s[pos] == '\r'))
		pos++;
	return pos;
}

/*
 * Walk the elements of a validated JSON array s[0, len) (its text, with
 * the brackets): *pos starts at 0; each call sets [*start, *end) to the
 * next element and returns true, or returns false at the end.
 */
bool json_array_next(const char *s, size_t len, size_t *pos, size_t *start,
		     size_t *end);

/* Append data as a quoted JSON string (see the escaping rule above). */
void json_put_str(struct buf *b, const void *data, size_t len);

static inline void json_put_cstr(struct buf *b, const char *s)
{
	json_put_str(b, s, strlen(s));
}

/*
 * Decode the inside of a validated JSON string (the text between the
 * quotes) into out. Escapes \udc80..\udcff that are not part of a pair
 * become the single bytes 0x80..0xff; other lone surrogates become U+FFFD.
 * Returns the decoded length, which never exceeds raw_len; out must have
 * room for raw_len bytes.
 */
size_t json_unescape(const char *raw, size_t raw_len, char *out);

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
size_t utf8_seq_len(const unsigned char *p, size_t avail);

/*
 * Parse a JSON number text as an unsigned or signed 64-bit integer.
 * Returns 0, -ERANGE when it does not fit, -EINVAL when it is not an
 * integer (fraction or exponent).
 */
int json_number_u64(const char *s, size_t len, uint64_t *out);
int json_number_i64(const char *s, size_t len, int64_t *out);

#endif
