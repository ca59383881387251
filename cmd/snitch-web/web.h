/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_WEB_H
#define SNITCH_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* One file the server hands out, compiled in (build/web/assets.c). */
struct web_asset {
	const char *path;	/* "/static/app.js" */
	const char *type;	/* Content-Type */
	const unsigned char *data, *gz;	/* gz: the same, gzip -9 */
	size_t len, gzlen;
};

extern const struct web_asset web_assets[];
extern const size_t web_nassets;

const struct web_asset *web_asset_find(const char *path);

/* An API answer: HTTP status and a JSON body. */
struct web_reply {
	unsigned status;
	struct buf body;
};

struct web_api;

/*
 * The API over the database at path (opened read-only when first asked);
 * a query that would read more than max_raw_rows rows of the raw table
 * is refused with 400.
 */
struct web_api *web_api_new(const char *db_path, uint64_t max_raw_rows, uint32_t max_query_ms);
void web_api_free(struct web_api *a);

/*
 * Answer GET /api/<name>?<qs>: fills r (status, JSON body); -ENOENT for
 * an unknown name (the caller's 404).
 */
int web_api_handle(struct web_api *a, const char *name, const char *qs, size_t qslen,
		   struct web_reply *r);

/* Write {"error": msg, "parameter": param (when not NULL)} with status. */
void web_reply_error(struct web_reply *r, unsigned status, const char *param,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
