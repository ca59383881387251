/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what snitch tui shows of the log's keys
 * (cmd/snitch-tui/show.c): the first byte picks the field (a command
 * line's JSON array, a user's uid, any other text), the rest is the key as
 * the database holds it. Whatever it is, the text shown is valid UTF-8
 * holding no C0 control, DEL or C1 control.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tui.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check_inert(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t n = strlen(p);

	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(u + i, n - i);

		if (!l || u[i] < 0x20 || u[i] == 0x7f)
			abort();
		if (l == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0)
			abort();
		i += l;
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const enum q_field fields[] = { QF_CMDLINE, QF_PARENT_CMDLINE, QF_USER, QF_NAME,
					       QF_EXE, QF_DOMAIN };
	enum q_field f;
	char *key, *shown;

	if (size < 1)
		return 0;
	f = fields[data[0] % (sizeof(fields) / sizeof(fields[0]))];
	/* a key from SQLite is a C string: it ends at its first NUL */
	key = malloc(size);
	if (!key)
		return 0;
	memcpy(key, data + 1, size - 1);
	key[size - 1] = '\0';
	shown = tui_show_value(f, key);
	if (shown)
		check_inert(shown);
	free(shown);
	free(key);
	return 0;
}
