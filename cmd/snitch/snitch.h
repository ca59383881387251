/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_SUPERVISOR_H
#define SNITCH_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROG "snitch"

struct opts {
	const char *config;
	const char *run_dir;
	const char *bin_dir;
	const char *unit;		/* snitch systemd */
	bool json;			/* snitch status */
	uint64_t stop_timeout_s;
	const char *events_sock;	/* the live feed; "" for none */
	uint64_t events_queue_kb;	/* per reader */
	const char *user;		/* the stages run as this user ("" or root: root's uid) */
};

/* ---- the configuration file (config.c) ---- */

/*
 * Read a KEY=value file (a POSIX-shell fragment and a systemd
 * EnvironmentFile=) and put each setting in the environment, unless the
 * environment already has it: the environment wins, as a command-line
 * flag wins over both. Returns 0, 1 when there is no file, or -1 with why
 * (a line number and what is wrong) in err.
 */
int config_load(const char *path, char *err, size_t errsize);

/*
 * One line of that file (its newline, if any, is cut off in place): 0
 * for a blank line or a comment; 1 for a setting, *key pointing into line
 * and its value, decoded, in val (NUL-terminated); -1 with why (and *key
 * when the key was read) for a line that is not one.
 */
struct buf;
int config_parse_line(char *line, const char **key, struct buf *val, const char **why);

/*
 * Write the default configuration: every setting of every tool, commented
 * out with its built-in default (from each tool's --config-template).
 * Written atomically; an existing file is left alone (returns 1).
 */
int config_write_default(const char *path, const char *bin_dir, char *err, size_t errsize);
/* The same text, appended to out (snitch config). */
struct buf;
int config_default_text(const char *bin_dir, struct buf *out, char *err, size_t errsize);

/* ---- the pipeline (super.c) ---- */

/*
 * The pipeline: snitch-trace, snitch-resolve, snitch-hash, snitch-store
 * (the supervisor's own records enter at its input), snitch-remote only
 * when a remote log is configured, and snitch-notify last.
 */
#define STAGES_MAX 8
enum { ST_TRACE, ST_RESOLVE, ST_HASH, ST_STORE };

/*
 * Run the pipeline until SIGINT or SIGTERM, restarting a stage that dies.
 * ready_fd, if not -1, gets one byte when every stage has started (0) or
 * the exit status when it cannot start; it is then closed.
 */
int supervise(const struct opts *o, int ready_fd);

/* The pid in the pid file a running snitch holds: 0 none, -1 starting. */
pid_t running_pid(const struct opts *o);

/* ---- snitch tail (tail.c) ---- */

/* argv[0] is "tail"; the options follow. Returns the exit status. */
int cmd_tail(const struct opts *o, int argc, char **argv);

#endif
