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

#include "inert.h"
#include "json.h"
#include "tui.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

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
		check_inert(shown, strlen(shown));
	free(shown);
	free(key);
	return 0;
}
