/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "clock.h"

#include "emit.h"
#include "record.h"

void emit_begin(struct buf *b, const char *type, uint64_t ts_ns)
{
	buf_puts(b, "{\"v\":");
	buf_put_u64(b, RECORD_VERSION);
	buf_puts(b, ",\"type\":");
	json_put_cstr(b, type);
	buf_puts(b, ",\"ts_ns\":");
	buf_put_u64(b, ts_ns);
}

void emit_end(struct buf *b)
{
	buf_append(b, "}\n", 2);
}

void emit_key(struct buf *b, const char *key)
{
	buf_putc(b, ',');
	json_put_cstr(b, key);
	buf_putc(b, ':');
}

void emit_str(struct buf *b, const char *key, const void *s, size_t len)
{
	emit_key(b, key);
	json_put_str(b, s, len);
}

void emit_cstr(struct buf *b, const char *key, const char *s)
{
	emit_str(b, key, s, strlen(s));
}

void emit_cstr_or_null(struct buf *b, const char *key, const char *s)
{
	if (s)
		emit_cstr(b, key, s);
	else
		emit_null(b, key);
}

void emit_u64(struct buf *b, const char *key, uint64_t v)
{
	emit_key(b, key);
	buf_put_u64(b, v);
}

void emit_u64_if(struct buf *b, const char *key, bool known, uint64_t v)
{
	if (known)
		emit_u64(b, key, v);
	else
		emit_null(b, key);
}

void emit_i64(struct buf *b, const char *key, int64_t v)
{
	emit_key(b, key);
	buf_put_i64(b, v);
}

void emit_bool(struct buf *b, const char *key, bool v)
{
	emit_key(b, key);
	buf_puts(b, v ? "true" : "false");
}

void emit_null(struct buf *b, const char *key)
{
	emit_key(b, key);
	buf_puts(b, "null");
}

void emit_error_begin(struct buf *b, const char *stage, const char *code,
		      const char *message)
{
	emit_begin(b, "error", clock_real_ns());
	emit_cstr(b, "stage", stage);
	emit_cstr(b, "code", code);
	emit_cstr(b, "message", message);
}

void emit_errno(struct buf *b, int err)
{
	const char *name = strerrorname_np(err);

	char tmp[24];

	if (!name) {
		snprintf(tmp, sizeof(tmp), "%d", err);
		name = tmp;
	}
	emit_cstr(b, "errno", name);
}
