/* SPDX-License-Identifier: MIT */
/* A command line from /proc as a JSON array (cmdline.h). */
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
