/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_HASH_CACHE_H
#define SNITCH_HASH_CACHE_H

#include "hash.h"
#include "lru.h"
#include "table.h"

enum entry_state {
	ENTRY_NEW,		/* never hashed */
	ENTRY_PENDING,		/* a job is hashing it */
	ENTRY_VALID,		/* hex holds its hash */
	ENTRY_FAILED,		/* the last attempt failed */
};

struct exe_entry {
	struct exe_key key;
	UT_hash_handle hh;	/* by key */
	struct lru_node lru;
	enum entry_state state;
	bool dirty;		/* modified on disk since it was hashed */
	bool stale;		/* modified while a job was hashing it */
	bool watched;		/* fanotify reports its changes */
	bool have_fid;
	bool report_change;	/* a `modified` record is due after the job */
	bool timeout_reported;
	unsigned rounds;	/* re-hashes in a row because it kept changing */
	char hex[SHA256_HEX_LEN + 1];
	char old_hex[SHA256_HEX_LEN + 1];
	uint32_t pid;		/* latest pid seen running it */
	char *path;		/* latest path seen for it */
	struct fid fid;
	struct file_sig sig;
	uint64_t checked_batch;	/* input batch in which it was last stat()ed */
	uint64_t failed_mono;
	uint32_t failed_pid;
	bool failed_nopath;	/* it failed with no path to fall back on */
	int failed_err;		/* the errno of its last failure, 0: none */
	uint32_t held_refs;	/* held records that wait on it */
	uint64_t block_epoch;
};

struct cache {
	struct exe_entry *tab;
	struct lru lru;		/* the same entries, oldest first */
	size_t max;
};

int cache_init(struct cache *c, size_t max);
void cache_release(struct cache *c);
/* Find without touching the LRU order. */
struct exe_entry *cache_find(struct cache *c, const struct exe_key *k);
/* Find or create, and mark as most recently used. NULL on ENOMEM. */
struct exe_entry *cache_get(struct cache *c, const struct exe_key *k);
/*
 * Drop least recently used entries beyond the limit that nothing waits on;
 * fn sees each before it is freed.
 */
void cache_trim(struct cache *c, void (*fn)(void *ctx, struct exe_entry *e),
		void *ctx);

#define cache_for_each(c, e) \
	for ((e) = (c)->tab; (e); (e) = (e)->hh.next)

#endif
