/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_VT_H
#define SNITCH_VT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "table.h"

#define STAGE "snitch-vt"

/* What VirusTotal takes through POST /files; larger goes to an upload URL. */
#define VT_DIRECT_UPLOAD_MAX (32ULL << 20)
/* What it takes through an upload URL. */
#define VT_UPLOAD_MAX (650ULL << 20)
/* The longest answer read: a file's report is a few hundred kB. */
#define VT_BODY_MAX (16U << 20)

struct vt_opts {
	const char *api_url;		/* "https://www.virustotal.com/api/v3" */
	const char *gui_url;		/* the report link's base */
	const char *ca_file;
	const char *key_file;
	const char *state;
	uint64_t request_limit_s;
	uint64_t recheck_days;
	uint64_t timeout_s;
	uint64_t max_backoff_s;
	bool upload;
	bool drain;
};

/* ---- the answers of the v3 API (vtjson.c; stranger-controlled text) ---- */

struct vt_counts {
	uint64_t malicious, suspicious, undetected, harmless;
	uint64_t engines;		/* every engine counted in the stats */
	uint64_t date_s;		/* the analysis date; 0: not given */
};

/*
 * GET /files/{sha256}: data.attributes.last_analysis_stats and
 * last_analysis_date, for the file sha (data.id). 0, or -EINVAL with why.
 */
int vt_parse_file(const char *body, size_t len, const char *sha, struct vt_counts *c,
		  char *why, size_t whysize);
/*
 * GET /analyses/{id}: *done when data.attributes.status is "completed",
 * then its stats and date in c. 0, or -EINVAL with why.
 */
int vt_parse_analysis(const char *body, size_t len, bool *done, struct vt_counts *c,
		      char *why, size_t whysize);
/* POST /files: the analysis id (data.id), checked to be safe in a URL path. */
int vt_parse_upload(const char *body, size_t len, char *id, size_t idsize, char *why,
		    size_t whysize);
/* GET /files/upload_url: an https:// URL (data), without spaces or controls. */
int vt_parse_upload_url(const char *body, size_t len, char *url, size_t urlsize, char *why,
			size_t whysize);
/* An error answer's error.code ("QuotaExceededError"), or "" when none. */
void vt_parse_error_code(const char *body, size_t len, char *code, size_t codesize);

/* ---- what was asked, what waits (state.c) ---- */

enum vt_step { STEP_LOOKUP, STEP_UPLOAD, STEP_POLL };

struct vt_entry {
	char sha[65];
	uint64_t checked_ns;		/* when a verdict came (real time); 0: never */
	char status[12];		/* that verdict: "known", "not_found", "error" */
	bool pending;			/* queued or being asked */
	bool queued;			/* in the queue (not being asked) */
	/* a pending one: what an upload needs, and how far it got */
	uint64_t dev, ino;
	int64_t pid;			/* 0: none */
	char *path, *name;
	enum vt_step step;
	char *analysis;			/* an upload's analysis, polled */
	char *upload_url;		/* memory only: one use */
	struct vt_entry *qnext;
	UT_hash_handle hh;
};

struct vt_state {
	struct vt_entry *table;
	struct vt_entry *qhead, **qtail;
	size_t queued;
};

void vt_state_init(struct vt_state *s);
void vt_state_release(struct vt_state *s);
struct vt_entry *vt_state_find(struct vt_state *s, const char *sha);
/* A new entry (not pending), or NULL without memory. */
struct vt_entry *vt_state_add(struct vt_state *s, const char *sha);
void vt_queue_push(struct vt_state *s, struct vt_entry *e, bool front);
struct vt_entry *vt_queue_pop(struct vt_state *s);
/* A verdict came: no longer pending, what an upload needed freed. */
void vt_entry_done(struct vt_entry *e, const char *status, uint64_t now_ns);
/* Replace a string member (NULL clears it); -ENOMEM leaves it. */
int vt_entry_set(char **field, const char *s);

/*
 * The state as text: one JSON object a line, those asked since keep_ns
 * (older ones are asked again anyway), then the pending ones in the order
 * they are asked, the one being asked (in_flight, may be NULL) first.
 */
void vt_state_format(const struct vt_state *s, const struct vt_entry *in_flight,
		     uint64_t keep_ns, struct buf *out);
/*
 * Read the text of vt_state_format() into an empty state. Lines that
 * cannot be read are skipped and counted in *bad. 0 or -ENOMEM.
 */
int vt_state_parse(struct vt_state *s, const char *text, size_t len, size_t *bad);

/* Is s 64 lowercase hex digits? */
bool vt_sha_valid(const char *s, size_t len);

#endif
