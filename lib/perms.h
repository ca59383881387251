/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_PERMS_H
#define SNITCH_PERMS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The owner, group and mode of the files and directories a tool makes
 * (--owner, --group, --mode): an administrator lets a group read the logs
 * without root.
 */
struct file_perms {
	uid_t uid;
	gid_t gid;
	bool set_owner;
	mode_t mode;		/* files; directories add x where r is set */
};

/*
 * The three options, the same in every tool that makes files (a struct
 * cli_opt initialiser list; the values are const char * strings).
 */
#define PERMS_CLI_OPTS(owner_, group_, mode_)                                    \
	{ .name = "owner", .type = CLI_STRING, .value = (owner_), .metavar = "USER",  \
	  .env = "SNITCH_OWNER", .help = "owner of the files and directories it makes" }, \
	{ .name = "group", .type = CLI_STRING, .value = (group_), .metavar = "GROUP", \
	  .env = "SNITCH_GROUP", .help = "their group" },                          \
	{ .name = "mode", .type = CLI_STRING, .value = (mode_), .metavar = "MODE",    \
	  .env = "SNITCH_MODE", .help = "their mode, octal; directories add x where r is" }

/*
 * Read the options: owner and group are names (or NULL to leave them),
 * mode is octal. 0, or -1 with why in err (naming the option).
 */
int perms_parse(struct file_perms *p, const char *owner, const char *group,
		const char *mode, char *err, size_t errsize);

/* Give a file (or directory) just made these permissions; p may be NULL. */
void perms_apply(const struct file_perms *p, const char *path, bool dir);

/* The same for an open file (a temporary before its rename); p may be NULL. */
void perms_apply_fd(const struct file_perms *p, int fd);

/*
 * mkdir -p, applying the permissions to each directory it makes (not to
 * those that exist). 0 or a negative errno.
 */
int perms_mkdirs(const char *path, const struct file_perms *p);

/* The same for the directory part of a file's path. */
int perms_mkdirs_for(const char *file, const struct file_perms *p);

#endif
