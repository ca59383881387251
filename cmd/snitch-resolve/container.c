/* SPDX-License-Identifier: MIT */
/*
 * cgroup id -> container: the cgroup's path comes from its id (a cgroup
 * v2 id is the kernfs file handle of its directory), which works after the
 * process has exited; /proc/PID/cgroup is the fallback. The container's
 * name, image and pod are read from its runtime's files on first sight
 * (names.c); what could not be read then is looked for again after
 * --container-recheck-s (a container being created may not have its
 * files yet).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "container.h"
#include "json.h"
#include "names.h"
#include "resolve.h"

#define FILEID_KERNFS 0xfe
/* cgroups remembered; the least recently used go first */
#define CGROUPS_MAX 8192

struct cg_ent {
	uint64_t id;
	char *block;
	size_t len;
	uint64_t recheck_ns;	/* monotonic; 0: all that can be known is */
	UT_hash_handle hh;	/* by id */
	struct lru_node lru;
};

struct containers {
	int mountfd;		/* the cgroup2 mount, for open_by_handle_at */
	char mount[PATH_MAX];
	char root[PATH_MAX];	/* where the runtimes' files are: "" is "/" */
	uint64_t recheck_ns;
	struct cg_ent *tab;
	struct lru lru;
};

struct containers *containers_new(const char *root, uint64_t recheck_s,
				  const char *cgroup)
{
	struct containers *c = calloc(1, sizeof(*c));
	FILE *f = fopen("/proc/mounts", "re");
	char dev[256], dir[PATH_MAX], type[64];

	if (!c) {
		if (f)
			fclose(f);
		return NULL;
	}
	c->mountfd = -1;
	lru_init(&c->lru);
	c->recheck_ns = recheck_s * 1000000000ULL;
	/* "/" and "/host/" are "" and "/host": paths are root + "/var/..." */
	snprintf(c->root, sizeof(c->root), "%s", root ? root : "");
	for (size_t n = strlen(c->root); n && c->root[n - 1] == '/'; n--)
		c->root[n - 1] = '\0';
	if (cgroup && *cgroup) {
		/* given: in a container, where the host's hierarchy is mounted */
		snprintf(c->mount, sizeof(c->mount), "%s", cgroup);
		for (size_t n = strlen(c->mount); n > 1 && c->mount[n - 1] == '/'; n--)
			c->mount[n - 1] = '\0';
		c->mountfd = open(c->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (f)
			fclose(f);
		return c;
	}
	while (f && fscanf(f, "%255s %4095s %63s %*s %*d %*d", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(c->mount, sizeof(c->mount), "%s", dir);
			c->mountfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			break;
		}
	}
	if (f)
		fclose(f);
	return c;
}

static void drop(struct containers *c, struct cg_ent *e);

void containers_free(struct containers *c)
{
	struct cg_ent *e, *n;

	if (!c)
		return;
	HASH_ITER(hh, c->tab, e, n)
		drop(c, e);
	if (c->mountfd >= 0)
		close(c->mountfd);
	free(c);
}

/* The cgroup's path below the mount, by id. */
static bool path_by_id(struct containers *c, uint64_t id, char *out, size_t size)
{
	struct {
		struct file_handle h;
		uint64_t id;
	} fh = { .h = { .handle_bytes = sizeof(uint64_t), .handle_type = FILEID_KERNFS }, .id = id };
	char link[64], full[PATH_MAX];
	size_t ml = strlen(c->mount);
	ssize_t n;
	int fd;

	if (c->mountfd < 0 || !id)
		return false;
	fd = open_by_handle_at(c->mountfd, &fh.h, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, full, sizeof(full) - 1);
	close(fd);
	if (n <= 0 || (size_t)n < ml || strncmp(full, c->mount, ml))
		return false;
	full[n] = '\0';
	snprintf(out, size, "%s", full[ml] ? full + ml : "/");
	return true;
}

static bool path_by_pid(uint32_t pid, char *out, size_t size)
{
	char p[64], line[PATH_MAX + 16];
	FILE *f;
	bool ok = false;

	snprintf(p, sizeof(p), "/proc/%u/cgroup", pid);
	f = fopen(p, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			size_t n = strcspn(line + 3, "\n");

			if (n >= size)
				break;
			memcpy(out, line + 3, n);
			out[n] = '\0';
			ok = true;
			break;
		}
	}
	fclose(f);
	return ok;
}

static void put_name(struct buf *b, const char *key, bool have, const char *v)
{
	buf_puts(b, key);
	if (have)
		json_put_cstr(b, v);
	else
		buf_puts(b, "null");
}

/*
 * A process of the host has "" for all: it is in no container. In one,
 * a name not found is null, and so are the pod's when it is in a pod;
 * *incomplete says whether to look again later.
 */
static char *render(const char *root, const struct container_info *i, size_t *len,
		    bool *incomplete)
{
	struct buf b = BUF_INIT;
	bool inside = i->runtime || i->id[0] || i->pod_uid[0];
	struct container_names n;

	buf_puts(&b, "\"container_runtime\":");
	if (!i->runtime && i->id[0])
		buf_puts(&b, "null");	/* a container of a runtime we cannot name */
	else
		json_put_cstr(&b, i->runtime ? i->runtime : "");
	buf_puts(&b, ",\"container_id\":");
	json_put_cstr(&b, i->id);
	buf_puts(&b, ",\"pod_uid\":");
	json_put_cstr(&b, i->pod_uid);
	*incomplete = false;
	if (!inside) {
		buf_puts(&b, ",\"container_name\":\"\",\"container_image\":\"\","
			 "\"pod_namespace\":\"\",\"pod_name\":\"\"");
	} else {
		names_lookup(root, i, &n);
		put_name(&b, ",\"container_name\":", n.have_name, n.name);
		put_name(&b, ",\"container_image\":", n.have_image, n.image);
		if (i->pod_uid[0]) {
			put_name(&b, ",\"pod_namespace\":", n.have_pod_namespace, n.pod_namespace);
			put_name(&b, ",\"pod_name\":", n.have_pod_name, n.pod_name);
		} else {
			buf_puts(&b, ",\"pod_namespace\":\"\",\"pod_name\":\"\"");
		}
		*incomplete = !n.have_name ||
			(i->pod_uid[0] && (!n.have_pod_namespace || !n.have_pod_name));
	}
	/* a sandboxed desktop app: "" for none */
	buf_puts(&b, ",\"app_kind\":");
	json_put_cstr(&b, i->app_kind ? i->app_kind : "");
	buf_puts(&b, ",\"app\":");
	json_put_cstr(&b, i->app);
	if (b.oom) {
		buf_release(&b);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

static void drop(struct containers *c, struct cg_ent *e)
{
	HASH_DEL(c->tab, e);
	lru_remove(&e->lru);
	free(e->block);
	free(e);
}

const char *container_block(struct containers *c, uint64_t cgroup_id,
			    uint32_t pid, size_t *len)
{
	static const char unknown[] =
		"\"container_runtime\":null,\"container_id\":null,\"pod_uid\":null,"
		"\"container_name\":null,\"container_image\":null,"
		"\"pod_namespace\":null,\"pod_name\":null,\"app_kind\":null,\"app\":null";
	struct cg_ent *e;
	struct container_info info;
	char path[PATH_MAX], *block;
	bool known, incomplete;
	size_t blen;

	HASH_FIND(hh, c->tab, &cgroup_id, sizeof(cgroup_id), e);
	if (e && e->recheck_ns && clock_mono_ns() >= e->recheck_ns)
		drop(c, e);	/* read again: its files may be there now */
	else if (e) {
		lru_touch(&c->lru, &e->lru);
		*len = e->len;
		return e->block;
	}
	known = path_by_id(c, cgroup_id, path, sizeof(path)) ||
		(pid && path_by_pid(pid, path, sizeof(path)));
	if (!known) {
		*len = sizeof(unknown) - 1;
		return unknown;		/* not cached: it may be readable later */
	}
	container_parse(path, &info);
	if (!(block = render(c->root, &info, &blen, &incomplete)) ||
	    !(e = calloc(1, sizeof(*e)))) {
		free(block);
		*len = sizeof(unknown) - 1;
		return unknown;
	}
	e->block = block;
	e->len = blen;
	e->id = cgroup_id;
	e->recheck_ns = incomplete ? clock_mono_ns() + c->recheck_ns : 0;
	HASH_ADD(hh, c->tab, id, sizeof(e->id), e);
	if (!table_added(e, hh)) {
		free(e->block);
		free(e);
		*len = sizeof(unknown) - 1;
		return unknown;
	}
	lru_push(&c->lru, &e->lru);
	while (HASH_COUNT(c->tab) > CGROUPS_MAX) {
		struct lru_node *o = lru_oldest(&c->lru);

		if (!o || o == &e->lru)
			break;
		drop(c, lru_entry(o, struct cg_ent, lru));
	}
	*len = e->len;
	return e->block;
}
