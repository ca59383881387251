/* SPDX-License-Identifier: MIT */
/*
 * snitch-vt's verdict records, for the verdicts table and the verdict
 * columns of executables (docs/schema.md, version 5): kept with the window
 * they arrived in and written in its transaction, as events are.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "record.h"
#include "store.h"

static const char *const count_keys[VERDICT_COUNTS] = {
	"malicious", "suspicious", "undetected", "harmless", "engines", "analysis_ns",
};

static char *str_of(const struct record *r, const char *key, int *oom)
{
	struct buf b = BUF_INIT;
	char *s;

	if (record_get_str(r, key, &b) < 0) {
		buf_release(&b);
		return NULL;
	}
	s = b.oom ? NULL : strndup(b.p ? b.p : "", b.len);
	buf_release(&b);
	if (!s)
		*oom = 1;
	return s;
}

static void verdict_free(struct verdict *v)
{
	free(v->status);
	free(v->link);
	free(v->reason);
	free(v);
}

int verdicts_add_record(struct batch *b, const struct record *r)
{
	const struct record_member *sha;
	struct verdict *v;
	int oom = 0;
	int64_t n;

	if (!record_member_is(r, record_find(r, "type"), "verdict"))
		return 0;
	sha = record_find(r, "sha256");
	if (!sha || sha->type != JSON_STRING || sha->val_len != 66 || sha->val_escaped)
		return 0;
	if (!(v = calloc(1, sizeof(*v))))
		return -ENOMEM;
	memcpy(v->sha256, record_val(r, sha) + 1, 64);
	v->ts_ns = record_get_i64(r, "ts_ns", &n) == 0 ? n : (int64_t)clock_real_ns();
	for (int i = 0; i < VERDICT_COUNTS; i++)
		v->counts[i] = record_get_i64(r, count_keys[i], &n) == 0 ? n : INT_NULL;
	v->status = str_of(r, "status", &oom);
	v->link = str_of(r, "link", &oom);
	v->reason = str_of(r, "reason", &oom);
	if (oom || !v->status) {
		verdict_free(v);
		return oom ? -ENOMEM : 0;
	}
	*(b->verdicts_tail ? b->verdicts_tail : &b->verdicts) = v;
	b->verdicts_tail = &v->next;
	return 1;
}

void verdicts_free(struct batch *b)
{
	for (struct verdict *v = b->verdicts, *n; v; v = n) {
		n = v->next;
		verdict_free(v);
	}
	b->verdicts = NULL;
	b->verdicts_tail = NULL;
}
