/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "ancestry.h"

const struct ancestry ancestry[NLEVELS] = {
	[LEVEL_PROCESS] = { "", "process" },
	[LEVEL_PARENT] = { "parent_", "parent" },
	[LEVEL_GPARENT] = { "gparent_", "grandparent" },
};

void ancestry_keys(const char **keys, char (*text)[ANCESTRY_KEY_MAX],
		   const char *const *names, size_t n)
{
	for (size_t l = 0; l < NLEVELS; l++) {
		for (size_t i = 0; i < n; i++) {
			/* member names are the tools' constants, all short */
			snprintf(text[l * n + i], ANCESTRY_KEY_MAX, "%s%s",
				 ancestry[l].prefix, names[i]);
			keys[l * n + i] = text[l * n + i];
		}
	}
}
