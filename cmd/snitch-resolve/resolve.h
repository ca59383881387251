/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_RESOLVE_H
#define SNITCH_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>
#include <poll.h>
#include <sys/types.h>

#include "ancestry.h"
#include "buf.h"
#include "lru.h"
#include "table.h"

#define STAGE "snitch-resolve"

struct resolve_opts {
	uint64_t cache_size;
	uint64_t forget_s;		/* an exited process unnamed this long is forgotten */
	uint64_t cmdline_max;
	uint64_t dns_keep_s;
	uint64_t stats_s;
	bool reverse_dns;
	uint64_t reverse_timeout_ms;
	const char *container_root;
	uint64_t container_recheck_s;
	const char *cgroup;
};

/* Counters of the periodic stats record. */
struct resolve_stats {
	uint64_t records;
	uint64_t processes_resolved;	/* levels resolved (from cache or /proc) */
	uint64_t processes_unknown;	/* levels left null: gone before seen */
	uint64_t paths_mismatched;	/* path no longer names the executable */
	uint64_t domains_dns;		/* flows named from dns records */
	uint64_t domains_reverse;	/* flows named by reverse lookup */
	uint64_t domains_unknown;
	uint64_t dns_not_answers;	/* dns records of queries, or of several questions */
	uint64_t dns_malformed;		/* dns records that could not be decoded */
};

/* ---- processes (procs.c) ---- */

/*
 * What is known of one process: read from /proc while it lived. The JSON
 * block renders "exe_path","name","cmdline","user" for each prefix.
 */
struct proc_facts {
	/* the key (lib/table.h): these two, adjacent, hashed as bytes */
	uint64_t start_ns;
	uint32_t pid;
	bool have_exe;			/* exe_path and its identity are known */
	uint64_t exe_dev, exe_ino;	/* what exe_path names (stat, in its root) */
	bool exe_btrfs;
	bool exe_deleted;		/* the link said " (deleted)" */
	char *exe_path;			/* NUL-free bytes; NULL when unknown */
	/*
	 * An executable with no file at its path (a memfd, or deleted or
	 * replaced since the process started): the link's text, with its
	 * " (deleted)", and the identity of the running image (stat of the
	 * link), which a record must match for it to name the executable so
	 */
	char *fileless_path;
	bool have_run;
	uint64_t run_dev, run_ino;
	/* another executable its name or argv[0] names (a disguise), or NULL */
	char *name_exe;
	/* the script an interpreter runs, from its arguments, or NULL, and
	 * its identity (stat in the process's root) */
	char *script_path;
	uint64_t script_dev, script_ino;
	/*
	 * An AppImage's process (its executable inside the runtime's mount,
	 * ".mount_" and the first six letters of the file's name, then six
	 * random): the AppImage's path, from the APPIMAGE variable the
	 * runtime sets, if its name agrees with the mount's; else those six
	 * letters. NULL for any other process.
	 */
	char *appimage;
	char *name;
	char *cmdline;			/* argv joined by NUL bytes */
	size_t cmdline_len;
	bool have_cmdline;
	bool cmdline_cut;
	bool have_uid;
	uint32_t uid;
	bool mismatch_reported;
	/*
	 * The members pre-rendered for each prefix, one after the other in
	 * one allocation: level l is blocks + block_at[l] up to
	 * block_at[l + 1]. One block of the size it needs, not three grown
	 * by doubling: a cache that replaces its entries all day otherwise
	 * leaves the heap full of holes (bench/soak.sh saw it grow 50 KB a
	 * minute with its live memory flat).
	 */
	char *blocks;
	uint32_t block_at[NLEVELS + 1];
	UT_hash_handle hh;
	struct lru_node lru;
	uint64_t used_ns;		/* monotonic: last named by a record, or found alive */
};

struct procs;

struct procs *procs_new(const struct resolve_opts *o);
void procs_free(struct procs *p);

/*
 * The facts of (pid, start_ns): from the cache, else from /proc when the
 * process still lives and started then (start_ns 0: any start). comm is
 * the kernel's name from the record, or NULL. Returns NULL when nothing
 * can be known. 'reread' drops what is cached first: an exec keeps the
 * pid and the start time, but not the executable or the command line.
 */
struct proc_facts *procs_get(struct procs *p, uint32_t pid, uint64_t start_ns,
			     const char *comm, size_t comm_len, bool reread);

/* Name f by the kernel's comm of a record, if that differs from its name. */
void procs_name(struct proc_facts *f, const char *comm, size_t comm_len);
/* Does process pid, started at start_ns (0: any start), live now? */
bool procs_alive(struct procs *p, uint32_t pid, uint64_t start_ns);
/*
 * Forget the processes that have exited and that no record has named for
 * idle_ns, at most max of them looked at; returns how many it forgot.
 */
size_t procs_expire(struct procs *p, uint64_t now_ns, uint64_t idle_ns, size_t max);
/* Processes remembered now. */
size_t procs_count(const struct procs *p);
/* Executables whose path is remembered now (by device and inode). */
size_t procs_paths_count(const struct procs *p);

/* The path last seen for an executable, by identity; NULL if never seen. */
const char *procs_path_of(struct procs *p, uint64_t dev, uint64_t ino);
/* A process read without its path (a zombie) takes the one (dev, ino) was seen under. */
bool procs_adopt_path(struct procs *p, struct proc_facts *f, uint64_t dev, uint64_t ino);
/* Remember that PATH named the executable (dev, ino). */
void procs_learn_path(struct procs *p, uint64_t dev, uint64_t ino, const char *path);

/* ---- users (users.c) ---- */

/* The name of a uid, JSON-encoded ("null" when it has none). Cached. */
const char *user_json(uint32_t uid);
void users_free(void);

/* ---- containers (container.c) ---- */

struct containers;

/* root: where the runtimes' and the kubelet's files are ("/" or NULL: here) */
/* cgroup: the cgroup v2 mount to read ids with (NULL: the first in /proc/mounts) */
struct containers *containers_new(const char *root, uint64_t recheck_s,
				  const char *cgroup);
void containers_free(struct containers *c);
/*
 * The members "container_runtime","container_id","pod_uid",
 * "container_name","container_image","pod_namespace","pod_name" for a
 * cgroup v2 id, pre-rendered; pid is a fallback to read /proc/PID/cgroup.
 */
const char *container_block(struct containers *c, uint64_t cgroup_id,
			    uint32_t pid, size_t *len);

/* ---- domains (domains.c) ---- */

struct domains;

struct domains *domains_new(const struct resolve_opts *o, int *err);
void domains_free(struct domains *d);
/* Learn from a dns record's answers. */
void domains_learn(struct domains *d, const char *addr, const char *qname_json,
		   size_t qname_len, uint32_t pid, uint64_t netns,
		   uint64_t ttl_s);
/*
 * The JSON-encoded name for a remote address seen by pid in netns: from
 * dns answers (that process's first, then its network namespace's, then
 * anyone's), else a finished reverse lookup, else NULL (and a reverse
 * lookup starts, when enabled). *from says which.
 */
/* Where a domain came from, best first (docs/records.md, domain_source). */
enum domain_from {
	DOMAIN_NONE, DOMAIN_DNS_PROCESS, DOMAIN_DNS_NETNS, DOMAIN_DNS_ANY,
	DOMAIN_REVERSE,
};
const char *domains_lookup(struct domains *d, const char *addr, uint32_t pid,
			   uint64_t netns, enum domain_from *from);
/* Reverse lookups in flight: fds to poll, and work to do when ready. */
int domains_pollfds(struct domains *d, struct pollfd *fds, int max,
		    int *timeout_ms);
void domains_process(struct domains *d, struct pollfd *fds, int n);
/* Forget the addresses that have nothing left to say: every answer past
 * its keep time, no reverse name kept, none under way. Returns how many. */
size_t domains_expire(struct domains *d, uint64_t now_ns);
/* Addresses remembered now. */
size_t domains_count(const struct domains *d);

#endif
