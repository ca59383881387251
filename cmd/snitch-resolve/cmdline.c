/* SPDX-License-Identifier: MIT */
/* A command line from /proc as a JSON array; a variable of its environment (cmdline.h). */
#include <string.h>

#include "cmdline.h"
#include "json.h"

void cmdline_json(struct buf *b, const char *cmdline, size_t len, bool cut)
{
	size_t i = 0;

	buf_putc(b, '[');
	while (len && i <= len) {
		const char *arg = cmdline + i;
		size_t n = strnlen(arg, len - i);

		if (i)
			buf_putc(b, ',');
		if (cut && i + n >= len) {
			/* the last argument was cut: say so */
			struct buf last = BUF_INIT;

			buf_append(&last, arg, n);
			buf_puts(&last, "\xe2\x80\xa6");
			json_put_str(b, last.p, last.len);
			buf_release(&last);
		} else {
			json_put_str(b, arg, n);
		}
		i += n + 1;
	}
	buf_putc(b, ']');
}

const char *environ_value(const char *env, size_t len, const char *name, size_t *vlen)
{
	size_t n = strlen(name);

	for (size_t at = 0; at < len;) {
		const char *e = env + at;
		const char *nul = memchr(e, '\0', len - at);

		if (!nul)
			return NULL;	/* cut: not a whole entry */
		if ((size_t)(nul - e) > n && !memcmp(e, name, n) && e[n] == '=') {
			*vlen = (size_t)(nul - e) - n - 1;
			return e + n + 1;
		}
		at += (size_t)(nul - e) + 1;
	}
	return NULL;
}
