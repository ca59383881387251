/* SPDX-License-Identifier: MIT */
/*
 * How snitch tui shows values: byte counts, times, and the keys of the
 * log (a command line's JSON array as its arguments), each made inert by
 * lib/termsafe.h. A key is whatever a process called itself: nothing of it
 * reaches the terminal as a control (tests/fuzz/fuzz_tui_show.c).
 */
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "json.h"
#include "termsafe.h"
#include "tui.h"

#define NS 1000000000LL
#define MIN (60 * NS)
#define DAY (24 * 60 * MIN)

/* A time in local time, as precise as a span of span_ns needs. */
void tui_time(int64_t ns, int64_t span_ns, char *out, size_t size)
{
	time_t sec = (time_t)(ns / NS);
	struct tm tm;

	localtime_r(&sec, &tm);
	strftime(out, size, span_ns >= DAY && tm.tm_hour == 0 && tm.tm_min == 0 ? "%Y-%m-%d" :
			    span_ns >= MIN ? "%Y-%m-%d %H:%M" : "%Y-%m-%d %H:%M:%S", &tm);
}

/* A command line (a JSON array of strings, as stored): its arguments, each inert, joined by spaces. */
static char *show_cmdline(const char *key)
{
	size_t len = strlen(key), pos = 0, start, end;
	struct json_error jerr;
	enum json_type type;
	struct buf out = { 0 };
	char *tmp, *r;
	bool first = true;

	if (json_scan_value(key, len, &pos, &type, NULL, &jerr) < 0 || type != JSON_ARRAY ||
	    json_skip_ws(key, len, pos) != len || !(tmp = malloc(len + 1)))
		return NULL;
	pos = 0;
	while (json_array_next(key, len, &pos, &start, &end)) {
		size_t n;

		if (end - start < 2 || key[start] != '"')
			continue;
		n = json_unescape(key + start + 1, end - start - 2, tmp);
		if (!first)
			buf_append(&out, " ", 1);
		termsafe_append(&out, tmp, n);
		first = false;
	}
	free(tmp);
	buf_append(&out, "", 1);
	if (out.oom) {
		buf_release(&out);
		return NULL;
	}
	r = strdup(out.p ? out.p : "");
	buf_release(&out);
	return r;
}

char *tui_show_value(enum q_field f, const char *key)
{
	struct buf out = { 0 };
	char *r;

	if (!key)
		return strdup("(none)");
	if ((f == QF_CMDLINE || f == QF_PARENT_CMDLINE || f == QF_GPARENT_CMDLINE) &&
	    (r = show_cmdline(key)))
		return r;
	termsafe_append(&out, key, strlen(key));
	if (f == QF_USER) {
		char *end;
		unsigned long uid = strtoul(key, &end, 10);
		struct passwd *pw = *key && !*end ? getpwuid((uid_t)uid) : NULL;

		if (pw) {
			buf_append(&out, " (", 2);
			termsafe_append(&out, pw->pw_name, strlen(pw->pw_name));
			buf_append(&out, ")", 1);
		}
	}
	buf_append(&out, "", 1);
	r = out.oom ? NULL : strdup(out.p);
	buf_release(&out);
	return r;
}
