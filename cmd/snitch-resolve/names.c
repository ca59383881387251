/* SPDX-License-Identifier: MIT */
/*
 * Where the files that name a container are (names.h), below a root: "/"
 * on a host, or where a DaemonSet mounts the host's directories.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container.h"
#include "fdio.h"
#include "names.h"
#include "resolve.h"

/* containers.json holds every container of a node: about 1 KiB each */
#define NAMES_FILE_MAX (16U << 20)

/*
 * The whole of a regular file, NUL-ended, or NULL. Not a FIFO or a device
 * (a user's containers.json may be anything: O_NONBLOCK, then the type).
 */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	char *p = NULL;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > NAMES_FILE_MAX ||
	    !(p = malloc((size_t)st.st_size + 1)))
		goto fail;
	n = read_full(fd, p, (size_t)st.st_size);
	close(fd);
	*len = n > 0 ? (size_t)n : 0;
	p[*len] = '\0';
	return p;
fail:
	free(p);
	close(fd);
	return NULL;
}

/* A path made of parts; false when it does not fit (then it is not read). */
static bool __attribute__((format(printf, 3, 4)))
path_of(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < size;
}

typedef int (*parse_fn)(struct container_names *, const char *, size_t);

static bool parse_file(struct container_names *n, const char *path, parse_fn fn)
{
	size_t len;
	char *text = slurp(path, &len);
	bool ok = text && fn(n, text, len) == 0;

	free(text);
	return ok;
}

static bool parse_list(struct container_names *n, const char *path, const char *id)
{
	size_t len;
	char *text = slurp(path, &len);
	bool ok = text && names_from_storage_list(n, text, len, id) == 0;

	free(text);
	return ok;
}

/* c/storage keeps a list per driver: overlay-containers, vfs-containers... */
static bool storage_lists(struct container_names *n, const char *storage, const char *id)
{
	char path[PATH_MAX];
	DIR *d = opendir(storage);
	struct dirent *de;
	bool ok = false;

	while (d && !ok && (de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l <= 11 || strcmp(de->d_name + l - 11, "-containers"))
			continue;
		if (path_of(path, sizeof(path), "%s/%s/containers.json", storage, de->d_name))
			ok = parse_list(n, path, id);
	}
	if (d)
		closedir(d);
	return ok;
}

/* A rootless user's storage: the home of uid in the root's passwd file. */
static bool rootless_storage(struct container_names *n, const char *root, long uid,
			     const char *id)
{
	char path[PATH_MAX];
	struct passwd *pw;
	bool ok = false;
	FILE *f;

	if (!path_of(path, sizeof(path), "%s/etc/passwd", root) || !(f = fopen(path, "re")))
		return false;
	while ((pw = fgetpwent(f))) {
		if ((long)pw->pw_uid != uid || !pw->pw_dir || pw->pw_dir[0] != '/')
			continue;
		if (path_of(path, sizeof(path), "%s%s/.local/share/containers/storage",
			    root, pw->pw_dir))
			ok = storage_lists(n, path, id);
		break;
	}
	fclose(f);
	return ok;
}

/* containerd: the task's OCI spec, in whichever namespace it runs (k8s.io, default, moby...) */
static bool containerd_spec(struct container_names *n, const char *root, const char *id)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	bool ok = false;
	DIR *d;

	if (!path_of(dir, sizeof(dir), "%s/run/containerd/io.containerd.runtime.v2.task", root) ||
	    !(d = opendir(dir)))
		return false;
	while (!ok && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		ok = path_of(path, sizeof(path), "%s/%s/%s/config.json", dir, de->d_name, id) &&
		     parse_file(n, path, names_from_oci_config);
	}
	closedir(d);
	return ok;
}

/* /var/log/pods/<namespace>_<pod>_<uid> */
static void pod_dirs(struct container_names *n, const char *dir, const char *uid)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (names_from_pod_dir(n, de->d_name, uid) == 0)
			break;
	if (d)
		closedir(d);
}

static void merge_field(char *dst, bool *have, const char *src, bool had)
{
	if (!*have && had) {
		strcpy(dst, src);	/* the same size: both are struct container_names */
		*have = true;
	}
}

/*
 * /var/log/containers/<pod>_<namespace>_<container>-<id>.log: its link
 * points into the pod's directory of /var/log/pods, which must be that of
 * the pod the cgroup says (a container id alone could be anyone's file).
 */
static void container_logs(struct container_names *n, const char *dir, const char *id,
			   const char *pod_uid)
{
	char path[PATH_MAX], target[PATH_MAX], want[64];
	DIR *d = opendir(dir);
	struct dirent *de;
	ssize_t tl;

	snprintf(want, sizeof(want), "_%s/", pod_uid);
	while (d && (de = readdir(d))) {
		struct container_names m;

		names_init(&m);
		if (names_from_container_log(&m, de->d_name, id) < 0 ||
		    !path_of(path, sizeof(path), "%s/%s", dir, de->d_name) ||
		    (tl = readlink(path, target, sizeof(target) - 1)) <= 0)
			continue;
		target[tl] = '\0';
		if (!strstr(target, want))
			continue;
		merge_field(n->name, &n->have_name, m.name, m.have_name);
		merge_field(n->pod_name, &n->have_pod_name, m.pod_name, m.have_pod_name);
		merge_field(n->pod_namespace, &n->have_pod_namespace, m.pod_namespace,
			    m.have_pod_namespace);
		break;
	}
	if (d)
		closedir(d);
}

void names_lookup(const char *root, const struct container_info *i,
		  struct container_names *n)
{
	const char *rt = i->runtime;
	char path[PATH_MAX];
	bool any = !rt && i->id[0];	/* a Kubernetes container of a runtime unnamed */

	names_init(n);
	if (rt && (!strcmp(rt, "systemd-nspawn") || !strcmp(rt, "lxc"))) {
		/* their cgroups are named after the machine or container */
		snprintf(n->name, sizeof(n->name), "%s", i->id);
		n->have_name = i->id[0] && strlen(i->id) < sizeof(n->name);
		return;
	}
	if (i->id[0] && (any || !strcmp(rt, "containerd")))
		(void)containerd_spec(n, root, i->id);
	if (i->id[0] && (any || !strcmp(rt, "cri-o"))) {
		if (path_of(path, sizeof(path),
			    "%s/run/containers/storage/overlay-containers/%s/userdata/config.json",
			    root, i->id))
			(void)parse_file(n, path, names_from_oci_config);
	}
	if (i->id[0] && (any || !strcmp(rt, "docker"))) {
		if (path_of(path, sizeof(path), "%s/var/lib/docker/containers/%s/config.v2.json",
			    root, i->id))
			(void)parse_file(n, path, names_from_docker_config);
	}
	if (i->id[0] && (any || !strcmp(rt, "podman") || !strcmp(rt, "cri-o"))) {
		if ((!path_of(path, sizeof(path), "%s/var/lib/containers/storage", root) ||
		     !storage_lists(n, path, i->id)) && i->owner_uid >= 0)
			(void)rootless_storage(n, root, i->owner_uid, i->id);
	}
	if (i->pod_uid[0]) {
		if (path_of(path, sizeof(path), "%s/var/log/pods", root))
			pod_dirs(n, path, i->pod_uid);
		if (i->id[0] && (!n->have_name || !n->have_pod_name) &&
		    path_of(path, sizeof(path), "%s/var/log/containers", root))
			container_logs(n, path, i->id, i->pod_uid);
	}
}
