/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "emit.h"
#include "log.h"
#include "stage.h"

/* Bytes of a malformed line quoted in its error record. */
#define QUOTE_MAX 200

int stage_in_init(struct stage_in *si, const char *stage, int fd,
		  struct output *out)
{
	memset(si, 0, sizeof(*si));
	si->stage = stage;
	si->out = out;
	record_init(&si->rec);
	return linereader_init(&si->lr, fd, RECORD_LINE_MAX);
}

void stage_in_release(struct stage_in *si)
{
	linereader_release(&si->lr);
	record_release(&si->rec);
}

static void report(struct stage_in *si, const char *code, const char *what,
		   const char *line, size_t len, const size_t *offset,
		   size_t length)
{
	uint64_t lineno = si->lr.lineno;
	struct buf *b = &si->out->b;
	char msg[256];

	if (offset)
		snprintf(msg, sizeof(msg), "line %llu: %s at byte %zu",
			 (unsigned long long)lineno, what, *offset);
	else
		snprintf(msg, sizeof(msg), "line %llu: %s",
			 (unsigned long long)lineno, what);
	log_limited("%s", msg);
	emit_error_begin(b, si->stage, code, msg);
	emit_u64(b, "line", lineno);
	if (offset)
		emit_u64(b, "offset", *offset);
	if (line)
		emit_str(b, "input", line, len < QUOTE_MAX ? len : QUOTE_MAX);
	else
		emit_u64(b, "length", length);
	emit_end(b);
}

static void handle(struct stage_in *si, const char *line, size_t len,
		   stage_record_fn fn, void *ctx)
{
	struct json_error err = { 0, "out of memory" };
	uint64_t v;

	if (record_parse(&si->rec, line, len, &err) < 0) {
		if (json_skip_ws(line, len, 0) == len)
			report(si, "malformed_input", "empty line", line, len, NULL, 0);
		else
			report(si, "malformed_input", err.what, line, len, &err.offset, 0);
		return;
	}
	if (record_get_u64(&si->rec, "v", &v) == 0 && v != RECORD_VERSION) {
		if (!si->warned_version) {
			char msg[160];

			si->warned_version = true;
			snprintf(msg, sizeof(msg),
				 "line %llu: record version %llu is not understood; such records pass through unchanged",
				 (unsigned long long)si->lr.lineno, (unsigned long long)v);
			log_msg("%s", msg);
			emit_error_begin(&si->out->b, si->stage, "unsupported_version", msg);
			emit_end(&si->out->b);
		}
		record_write(&si->rec, &si->out->b);
		return;
	}
	fn(ctx, si, line, len);
}

int stage_in_read(struct stage_in *si, stage_record_fn fn, void *ctx)
{
	ssize_t n = linereader_fill(&si->lr);
	const char *line;
	size_t len;

	if (n < 0 && n != -EAGAIN && n != -EINTR && n != -ENOBUFS)
		return (int)n;
	si->batch++;
	for (;;) {
		enum line_status st = linereader_next(&si->lr, &line, &len);

		if (st == LINE_AGAIN || st == LINE_EOF)
			return 0;
		if (st == LINE_TOO_LONG) {
			char what[128];

			snprintf(what, sizeof(what),
				 "line of %zu bytes is longer than the %u accepted",
				 len, RECORD_LINE_MAX);
			report(si, "line_too_long", what, NULL, 0, NULL, len);
			continue;
		}
		handle(si, line, len, fn, ctx);
	}
}
