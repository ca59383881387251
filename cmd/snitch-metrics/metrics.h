/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_METRICS_H
#define SNITCH_METRICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "lru.h"
#include "record.h"

#define STAGE "snitch-metrics"

/* A label value longer than this is cut (at a UTF-8 boundary) and ends in "...". */
#define LABEL_VALUE_MAX 256
#define FAMILY_LABELS_MAX 12

/* ---- registry.c: families of counters and gauges, bounded ---- */

enum family_type { FAMILY_COUNTER, FAMILY_GAUGE };

struct series;

struct family {
	const char *name;		/* without _total for a counter */
	const char *help;
	enum family_type type;
	const char *labels[FAMILY_LABELS_MAX];
	unsigned nlabels;
	/* labels that keep their value in the "other" series (a closed set) */
	uint32_t bounded_mask;
	struct series *table;		/* lib/table.h, keyed by the label text */
	struct lru order;		/* least recently updated first */
	size_t count;			/* series in table, "other" not counted */
	struct series *other;
	uint64_t dropped, expired;
};

struct registry {
	pthread_mutex_t mu;
	size_t max_series;
	uint64_t ttl_ns;
	struct family **fam;
	size_t nfam;
	struct buf key;			/* scratch: the label text being built */
	unsigned key_labels;
	size_t seg_off[FAMILY_LABELS_MAX], seg_len[FAMILY_LABELS_MAX];	/* each value in key */
	int oom;
};

int registry_init(struct registry *r, size_t max_series, uint64_t ttl_ns);
void registry_release(struct registry *r);
/* A family for the registry's life; NULL when out of memory. */
struct family *registry_family(struct registry *r, const char *name, const char *help,
			       enum family_type type, const char *const *labels,
			       unsigned nlabels, uint32_t bounded_mask);

/*
 * Build a label set, then add to (or set) its series: label_begin(),
 * label_add() once per label of the family, in its order, then
 * series_add(). The caller holds r->mu.
 */
void label_begin(struct registry *r);
void label_add(struct registry *r, const struct family *f, const char *value, size_t len);
void label_add_cstr(struct registry *r, const struct family *f, const char *value);
void series_add(struct registry *r, struct family *f, uint64_t delta, uint64_t now);
void series_set(struct registry *r, struct family *f, double value, uint64_t now);

/* Series in the family, its "other" ones included. */
size_t family_series(const struct family *f);
/* Remove series not updated since now - ttl. Returns how many. */
size_t registry_expire(struct registry *r, uint64_t now);

/* The exposition: Prometheus text 0.0.4, or OpenMetrics 1.0 (then "# EOF" ends it). */
void registry_render(struct registry *r, struct buf *out, bool openmetrics);

/*
 * A label value as the text formats quote it: \ " and newline escaped,
 * bytes that are not UTF-8 as U+FFFD, NUL as U+FFFD, at most
 * LABEL_VALUE_MAX bytes of the value. Appended to out.
 */
void label_escape(struct buf *out, const char *s, size_t len);

/* ---- exporter.c: records into counters ---- */

enum label_id {
	L_EXE, L_NAME, L_CONTAINER_RUNTIME, L_CONTAINER_NAME, L_CONTAINER_IMAGE,
	L_POD_NAMESPACE, L_POD_NAME, L_REMOTE_SUBNET, L_PROTO, L_NLABELS,
};
extern const char *const label_names[L_NLABELS];

struct exporter_opts {
	uint32_t labels;		/* 1 << enum label_id */
	unsigned subnet_v4, subnet_v6;	/* prefix lengths */
	size_t max_series;
	uint64_t ttl_ns;
	const char *status_file;	/* the supervisor's status.json, or NULL */
};

struct exporter;

/* Parse "exe,name proto" into a mask; -EINVAL with *bad the unknown name. */
int labels_parse(const char *s, uint32_t *mask, char *bad, size_t bad_size);

struct exporter *exporter_new(const struct exporter_opts *o);
void exporter_free(struct exporter *e);
/* One record, parsed (takes the registry's lock). */
void exporter_record(struct exporter *e, const struct record *rec, uint64_t now);
/* Timers: dns records waiting for their process, series expiry. */
void exporter_tick(struct exporter *e, uint64_t now);
/* Everything still waiting is counted (the input ended). */
void exporter_flush(struct exporter *e, uint64_t now);
/* A scrape: the whole exposition into out. */
void exporter_render(struct exporter *e, struct buf *out, bool openmetrics);
/* Subnet text of an address, with prefix lengths; "" when not an address. */
void subnet_of(const char *addr, unsigned v4, unsigned v6, char *out, size_t size);

/* ---- http.c ---- */

struct http;
/* Is it an address http_start() takes? 0, or -EINVAL with a message in err. */
int http_check_listen(const char *addr, char *err, size_t err_size);
/* A listening socket (before privileges are dropped): its fd, or -errno with err set. */
int http_listen(const char *addr, char *err, size_t err_size);
/* Serve on it from a thread of its own; it takes the fd. NULL with err set. */
struct http *http_start(int fd, struct exporter *e, char *err, size_t err_size);
/* The port it listens on (useful with port 0). */
unsigned http_port(const struct http *h);
void http_stop(struct http *h);

#endif
