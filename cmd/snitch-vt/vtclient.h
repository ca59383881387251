/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_VTCLIENT_H
#define SNITCH_VTCLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "vt.h"

struct stage;

/* The stage's side and the worker's, sharing the state under mu. */
struct vt {
	const struct vt_opts *o;
	struct stage *st;
	char *key;			/* never in a message, a URL or a record */
	char *key_header;		/* "x-apikey: KEY" */
	char api_origin[512];
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* on CLOCK_MONOTONIC */
	struct vt_state s;
	struct vt_entry *in_flight;
	bool stop;
	bool unauthorized;		/* 401: asked no more */
	bool dirty;			/* the state file is behind */
	/* the worker's own */
	void *curl;
	struct buf body;
	uint64_t next_at;		/* monotonic ns: the next request may start */
	unsigned fails;			/* failures in a row, for the back-off */
	bool outage, quota;		/* said, until an answer comes */
	char outage_why[320];
	char last_status[12];
	uint64_t requests;
	pthread_t th;
	bool started;
	/* the state file */
	pthread_mutex_t save_mu;
	bool save_failing;
};

/* Start the worker (the key and options set). 0 or a negative errno. */
int vt_start(struct vt *vt);
/* Stop it, after the request under way (cut short). */
void vt_stop(struct vt *vt);
/* Write the state file if it is behind: 0 or a negative errno (said). */
int vt_save(struct vt *vt);

#endif
