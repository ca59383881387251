/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_NOTIFY_H
#define SNITCH_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "table.h"

#define STAGE "snitch-notify"

struct notify_opts {
	const char *state;
	const char *log_dir;
	const char *user;
	const char *bus;
	uint64_t max_per_min;
	bool no_desktop;
	bool tee;
	const char *owner, *group, *mode;
};

/* ---- what is known (state.c) ---- */

struct exe_state {
	char *path;
	char **names;
	size_t nnames;
	char **hashes;		/* sha256 hex, oldest first */
	size_t nhashes;
	UT_hash_handle hh;	/* by path */
};

struct state;
struct file_perms;

/*
 * Load the state file. A missing file is an empty state; one that is not
 * the expected JSON is moved aside (to *moved) and an empty state begins;
 * err says what is wrong with it, and *moved is "" if it could not be
 * moved (err says why).
 */
struct state *state_load(const char *path, char *moved, size_t movedsize,
			 char *err, size_t errsize);
void state_free(struct state *s);
struct exe_state *state_find(struct state *s, const char *path);
struct exe_state *state_add(struct state *s, const char *path);
bool exe_has_name(const struct exe_state *e, const char *name);
bool exe_has_hash(const struct exe_state *e, const char *hash);
int exe_add_name(struct exe_state *e, const char *name);
int exe_add_hash(struct exe_state *e, const char *hash);
/* Write it atomically (lib/atomicfile.h), with --owner, --group, --mode. */
int state_save(struct state *s, const char *path, const struct file_perms *perms);
bool state_dirty(const struct state *s);
/* Say that an executable's lists changed. */
void state_touch(struct state *s);

/* ---- rate limits (burst.c) ---- */

enum event_kind {
	EV_NEW_EXE, EV_NEW_NAME, EV_CHANGED, EV_MODIFIED, EV_LOST, EV_ERROR, EV_FLAGGED,
	EV_FILELESS,
	EV_KINDS
};

/* Show a message on the desktop; false if there is no desktop. */
typedef bool (*burst_send_fn)(void *ctx, const char *summary, const char *body);

struct burst;

struct burst *burst_new(uint64_t max_per_min);
void burst_free(struct burst *b);
/* A message to show: sent now, or held and summarised later. */
void burst_offer(struct burst *b, enum event_kind kind, const char *summary,
		 const char *body, uint64_t now, burst_send_fn send, void *ctx);
/*
 * Send what is held if its time has come. Returns the nanoseconds until
 * it should be called again, or UINT64_MAX when nothing is held.
 */
uint64_t burst_tick(struct burst *b, uint64_t now, const char *log_dir,
		    burst_send_fn send, void *ctx);
uint64_t burst_held(const struct burst *b);
/* At exit: send what is held now if the minute allows, whatever its time. */
void burst_flush(struct burst *b, uint64_t now, const char *log_dir,
		 burst_send_fn send, void *ctx);

/* ---- the desktop (desktop.c) ---- */

struct desktop;

struct desktop *desktop_new(const struct notify_opts *o);
/* Send what is queued and stop the notifier. */
void desktop_free(struct desktop *d);
/*
 * Make sure a notifier runs, starting one if there is a desktop (looked
 * for at most every few seconds). 0, or -1 and desktop_why() says why not.
 */
int desktop_connect(struct desktop *d);
/* Hand a message to the notifier; -1 when there is none (see above). */
int desktop_send(struct desktop *d, const char *summary, const char *body);
const char *desktop_why(const struct desktop *d);
/* "user NAME (uid N)" while a notifier runs, else NULL. */
const char *desktop_who(const struct desktop *d);
/* Messages the notifier could not take in time. */
uint64_t desktop_dropped(const struct desktop *d);

#endif
