/* SPDX-License-Identifier: MIT */
/*
 * cgroup id -> container: the cgroup's path comes from its id (a cgroup
 * v2 id is the kernfs file handle of its directory), which works after the
 * process has exited; /proc/PID/cgroup is the fallback.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "json.h"
#include "resolve.h"

#define FILEID_KERNFS 0xfe

struct cg_ent {
	uint64_t id;
	char *block;
	size_t len;
	UT_hash_handle hh;	/* by id */
};

struct containers {
	int mountfd;		/* the cgroup2 mount, for open_by_handle_at */
	char mount[PATH_MAX];
	struct cg_ent *tab;
};

struct containers *containers_new(void)
{
	struct containers *c = calloc(1, sizeof(*c));
	FILE *f = fopen("/proc/mounts", "re");
	char dev[256], dir[PATH_MAX], type[64];

	if (!c)
		return NULL;
	c->mountfd = -1;
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

void containers_free(struct containers *c)
{
	struct cg_ent *e, *n;

	if (!c)
		return;
	HASH_ITER(hh, c->tab, e, n) {
		HASH_DEL(c->tab, e);
		free(e->block);
		free(e);
	}
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

/* A process of the host has "" for all three: it is in no container. */
static char *render(const struct container_info *i, size_t *len)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, "\"container_runtime\":");
	if (!i->runtime && i->id[0])
		buf_puts(&b, "null");	/* a container of a runtime we cannot name */
	else
		json_put_cstr(&b, i->runtime ? i->runtime : "");
	buf_puts(&b, ",\"container_id\":");
	json_put_cstr(&b, i->id);
	buf_puts(&b, ",\"pod_uid\":");
	json_put_cstr(&b, i->pod_uid);
	if (b.oom) {
		buf_release(&b);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

const char *container_block(struct containers *c, uint64_t cgroup_id,
			    uint32_t pid, size_t *len)
{
	static const char unknown[] =
		"\"container_runtime\":null,\"container_id\":null,\"pod_uid\":null";
	struct cg_ent *e;
	struct container_info info;
	char path[PATH_MAX];
	bool known;

	HASH_FIND(hh, c->tab, &cgroup_id, sizeof(cgroup_id), e);
	if (e) {
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
	e = malloc(sizeof(*e));
	if (!e || !(e->block = render(&info, &e->len))) {
		free(e);
		*len = sizeof(unknown) - 1;
		return unknown;
	}
	e->id = cgroup_id;
	HASH_ADD(hh, c->tab, id, sizeof(e->id), e);
	if (!table_added(e, hh)) {
		free(e->block);
		free(e);
		*len = sizeof(unknown) - 1;
		return unknown;
	}
	*len = e->len;
	return e->block;
}
