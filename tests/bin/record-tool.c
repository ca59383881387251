/* SPDX-License-Identifier: MIT */
/*
 * Test helper around the record library.
 *   record-tool roundtrip   parse each stdin line, write it back unchanged;
 *                           exit 1 naming the first line that fails
 *   record-tool get KEY     print the decoded bytes of string KEY of each line
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "linereader.h"
#include "record.h"

int main(int argc, char **argv)
{
	struct linereader lr;
	struct record r;
	struct buf out = BUF_INIT;
	const char *line;
	size_t len;
	int get = argc == 3 && !strcmp(argv[1], "get");

	if (!get && !(argc == 2 && !strcmp(argv[1], "roundtrip"))) {
		fprintf(stderr, "usage: record-tool roundtrip | get KEY\n");
		return 2;
	}
	record_init(&r);
	if (linereader_init(&lr, STDIN_FILENO, RECORD_LINE_MAX) < 0)
		return 1;
	for (;;) {
		enum line_status st = linereader_next(&lr, &line, &len);
		struct json_error err;

		if (st == LINE_AGAIN) {
			if (linereader_fill(&lr) < 0)
				return 1;
			continue;
		}
		if (st == LINE_EOF)
			break;
		if (st == LINE_TOO_LONG) {
			fprintf(stderr, "line %llu: too long\n", (unsigned long long)lr.lineno);
			return 1;
		}
		if (record_parse(&r, line, len, &err) < 0) {
			fprintf(stderr, "line %llu: %s at byte %zu\n",
				(unsigned long long)lr.lineno, err.what, err.offset);
			return 1;
		}
		buf_reset(&out);
		if (get) {
			if (record_get_str(&r, argv[2], &out) < 0)
				return 1;
		} else {
			record_write(&r, &out);
		}
		if (write(STDOUT_FILENO, out.p, out.len) != (ssize_t)out.len)
			return 1;
	}
	return 0;
}
