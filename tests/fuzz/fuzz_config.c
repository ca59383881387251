/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the configuration reader of snitch run
 * (cmd/snitch/config.c, config_parse_line): any bytes as the lines of
 * /etc/snitch/snitch.conf. No crash or undefined behaviour; a setting it
 * takes has a SNITCH_ key in capitals and a value without a NUL; and that
 * value, written back in single quotes (when it has none) or in double
 * quotes with its escapes, reads back the same.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "snitch.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check_again(const char *key, const char *line, const struct buf *want)
{
	static struct buf again;
	const char *k2 = NULL, *why = NULL;
	char *copy = strdup(line);

	if (!copy)
		return;
	if (config_parse_line(copy, &k2, &again, &why) != 1 || strcmp(k2, key) != 0 ||
	    again.len != want->len || memcmp(again.p, want->p, want->len) != 0)
		abort();
	free(copy);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct buf val, line;
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		const char *key = NULL, *why = NULL;
		char *copy = malloc(len + 1);
		int r;

		if (!copy)
			return 0;
		memcpy(copy, p, len);
		copy[len] = '\0';	/* a NUL before it ends the line, as getline's reader sees it */
		p += len;
		r = config_parse_line(copy, &key, &val, &why);
		if (r < 0 && !why)
			abort();
		if (r != 1) {
			free(copy);
			continue;
		}
		if (strncmp(key, "SNITCH_", 7) != 0)
			abort();
		for (const char *k = key; *k; k++)
			if (!isupper((unsigned char)*k) && !isdigit((unsigned char)*k) && *k != '_')
				abort();
		if (!val.len || val.p[val.len - 1] != '\0' || strlen(val.p) != val.len - 1)
			abort();
		if (!strchr(val.p, '\'')) {
			buf_reset(&line);
			buf_puts(&line, key);
			buf_puts(&line, "='");
			buf_puts(&line, val.p);
			buf_puts(&line, "'  # again\n");
			buf_putc(&line, '\0');
			if (!line.oom)
				check_again(key, line.p, &val);
		}
		buf_reset(&line);
		buf_puts(&line, "export ");
		buf_puts(&line, key);
		buf_puts(&line, "=\"");
		for (const char *v = val.p; *v; v++) {
			if (strchr("\"\\$`", *v))
				buf_putc(&line, '\\');
			buf_putc(&line, *v);
		}
		buf_puts(&line, "\"\r\n");
		buf_putc(&line, '\0');
		if (!line.oom)
			check_again(key, line.p, &val);
		free(copy);
	}
	return 0;
}
