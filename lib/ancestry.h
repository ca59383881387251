/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_ANCESTRY_H
#define SNITCH_ANCESTRY_H

#include <stddef.h>

/*
 * The three processes a record describes: the process itself, its parent
 * and its grandparent. Their members share names and differ by a prefix
 * ("exe_path", "parent_exe_path", "gparent_exe_path"; docs/records.md).
 * Every tool iterates over this one table instead of spelling them out.
 */

enum ancestry_level { LEVEL_PROCESS, LEVEL_PARENT, LEVEL_GPARENT, NLEVELS };

struct ancestry {
	const char *prefix;	/* of its members: "", "parent_", "gparent_" */
	const char *role;	/* for a person: "process", "parent", "grandparent" */
};

extern const struct ancestry ancestry[NLEVELS];

/* The longest member name a key table holds, prefix included. */
#define ANCESTRY_KEY_MAX 48

/*
 * Fill a key table for record_find_many(): for each level l and each name
 * i, keys[l * n + i] is the level's prefix and names[i], written into
 * text[l * n + i]. Level-major, so the n keys of one level are contiguous.
 * Both arrays hold NLEVELS * n entries.
 */
void ancestry_keys(const char **keys, char (*text)[ANCESTRY_KEY_MAX],
		   const char *const *names, size_t n);

#endif
