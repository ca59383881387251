/* SPDX-License-Identifier: MIT */
/* The files that name containers, parsed (names.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "names.h"
#include "record.h"

void names_init(struct container_names *n)
{
	memset(n, 0, sizeof(*n));
}

/* A value is kept whole or not at all, and never over a known one. */
static void take(char *dst, size_t size, bool *have, const char *s, size_t len)
{
	if (*have || !len || len >= size || memchr(s, '\0', len))
		return;
	memcpy(dst, s, len);
	dst[len] = '\0';
	*have = true;
}

#define TAKE(n, field, s, len) \
	take((n)->field, sizeof((n)->field), &(n)->have_##field, (s), (len))

/* The string member key of r into field (a leading '/' cut when asked). */
static void take_member(const struct record *r, const char *key, char *dst,
			size_t size, bool *have, bool cut_slash)
{
	const struct record_member *m = record_find(r, key);
	struct buf b = BUF_INIT;

	if (*have || !m || m->type != JSON_STRING || record_member_str(r, m, &b) < 0 ||
	    b.oom) {
		buf_release(&b);
		return;
	}
	if (cut_slash && b.len && b.p[0] == '/')
		take(dst, size, have, b.p + 1, b.len - 1);
	else
		take(dst, size, have, b.p, b.len);
	buf_release(&b);
}

#define TAKE_MEMBER(n, r, key, field, cut) \
	take_member((r), (key), (n)->field, sizeof((n)->field), &(n)->have_##field, (cut))

/* The object member key of r, indexed into sub (which points into r's text). */
static bool sub_object(const struct record *r, const char *key, struct record *sub)
{
	const struct record_member *m = record_find(r, key);

	return m && m->type == JSON_OBJECT &&
	       record_parse(sub, record_val(r, m), m->val_len, NULL) == 0;
}

int names_from_docker_config(struct container_names *n, const char *text, size_t len)
{
	struct record top, config, labels;
	int ret = -EINVAL;

	record_init(&top);
	record_init(&config);
	record_init(&labels);
	if (record_parse(&top, text, len, NULL) < 0)
		goto out;
	ret = 0;
	if (sub_object(&top, "Config", &config)) {
		/* the kubelet's labels (dockershim): the names Kubernetes gave */
		if (sub_object(&config, "Labels", &labels)) {
			TAKE_MEMBER(n, &labels, "io.kubernetes.container.name", name, false);
			TAKE_MEMBER(n, &labels, "io.kubernetes.pod.name", pod_name, false);
			TAKE_MEMBER(n, &labels, "io.kubernetes.pod.namespace", pod_namespace, false);
		}
		TAKE_MEMBER(n, &config, "Image", image, false);
	}
	TAKE_MEMBER(n, &top, "Name", name, true);	/* "/name" */
out:
	record_release(&top);
	record_release(&config);
	record_release(&labels);
	return ret;
}

/* The first string of a JSON array's text, decoded into field. */
static void take_first_string(const char *s, size_t len, char *dst, size_t size,
			      bool *have)
{
	size_t pos = 0, start, end;
	char *out;

	if (*have || !json_array_next(s, len, &pos, &start, &end) ||
	    s[start] != '"' || end - start < 2)
		return;
	out = malloc(end - start);
	if (!out)
		return;
	take(dst, size, have, out, json_unescape(s + start + 1, end - start - 2, out));
	free(out);
}

/* One entry of containers.json: its names, and the metadata string's. */
static void storage_entry(struct container_names *n, const struct record *e)
{
	const struct record_member *names = record_find(e, "names");
	const struct record_member *meta = record_find(e, "metadata");
	struct buf b = BUF_INIT;
	struct record md;

	record_init(&md);
	/* the metadata is JSON inside a string */
	if (meta && meta->type == JSON_STRING && record_member_str(e, meta, &b) == 0 &&
	    !b.oom && record_parse(&md, b.p, b.len, NULL) == 0) {
		/* cri-o: the container's name in its pod, and the pod's */
		TAKE_MEMBER(n, &md, "metadata-name", name, false);
		TAKE_MEMBER(n, &md, "pod-name", pod_name, false);
		TAKE_MEMBER(n, &md, "image-name", image, false);
		TAKE_MEMBER(n, &md, "name", name, false);
	}
	if (names && names->type == JSON_ARRAY)
		take_first_string(record_val(e, names), names->val_len, n->name,
				  sizeof(n->name), &n->have_name);
	record_release(&md);
	buf_release(&b);
}

int names_from_storage_list(struct container_names *n, const char *text, size_t len,
			    const char *id)
{
	size_t pos = 0, start, end, idlen = strlen(id);
	enum json_type t;
	struct record e;
	struct buf b = BUF_INIT;
	int ret = -ENOENT;

	if (!idlen)
		return -ENOENT;		/* no container has an empty id */
	if (json_scan_value(text, len, &pos, &t, NULL, NULL) < 0 || t != JSON_ARRAY)
		return -EINVAL;
	start = json_skip_ws(text, len, 0);
	text += start;
	len = pos - start;
	record_init(&e);
	for (pos = 0; json_array_next(text, len, &pos, &start, &end);) {
		const struct record_member *m;

		if (text[start] != '{' || record_parse(&e, text + start, end - start, NULL) < 0)
			continue;
		m = record_find(&e, "id");
		buf_reset(&b);
		if (!m || m->type != JSON_STRING || record_member_str(&e, m, &b) < 0 ||
		    b.len != idlen || memcmp(b.p, id, idlen))
			continue;
		storage_entry(n, &e);
		ret = 0;
		break;
	}
	record_release(&e);
	buf_release(&b);
	return ret;
}

int names_from_oci_config(struct container_names *n, const char *text, size_t len)
{
	struct record top, ann;
	int ret = -EINVAL;

	record_init(&top);
	record_init(&ann);
	if (record_parse(&top, text, len, NULL) < 0)
		goto out;
	ret = 0;
	if (!sub_object(&top, "annotations", &ann))
		goto out;
	/* containerd's CRI plugin */
	TAKE_MEMBER(n, &ann, "io.kubernetes.cri.container-name", name, false);
	TAKE_MEMBER(n, &ann, "io.kubernetes.cri.image-name", image, false);
	TAKE_MEMBER(n, &ann, "io.kubernetes.cri.sandbox-name", pod_name, false);
	TAKE_MEMBER(n, &ann, "io.kubernetes.cri.sandbox-namespace", pod_namespace, false);
	/* cri-o */
	TAKE_MEMBER(n, &ann, "io.kubernetes.container.name", name, false);
	TAKE_MEMBER(n, &ann, "io.kubernetes.cri-o.ImageName", image, false);
	TAKE_MEMBER(n, &ann, "io.kubernetes.pod.name", pod_name, false);
	TAKE_MEMBER(n, &ann, "io.kubernetes.pod.namespace", pod_namespace, false);
	/* containerd without Kubernetes (nerdctl) */
	TAKE_MEMBER(n, &ann, "nerdctl/name", name, false);
out:
	record_release(&top);
	record_release(&ann);
	return ret;
}

/* Kubernetes names are DNS labels and subdomains: never a '_' or a '/'. */
static bool kube_name(const char *s, size_t len)
{
	return len && !memchr(s, '_', len) && !memchr(s, '/', len);
}

int names_from_pod_dir(struct container_names *n, const char *dir, const char *uid)
{
	size_t len = strlen(dir), ul = strlen(uid);
	const char *us;

	/* <namespace>_<pod>_<uid> */
	if (!ul || len < ul + 4 || dir[len - ul - 1] != '_' || strcmp(dir + len - ul, uid))
		return -ENOENT;
	len -= ul + 1;
	us = memchr(dir, '_', len);
	if (!us || !kube_name(dir, (size_t)(us - dir)) ||
	    !kube_name(us + 1, len - (size_t)(us + 1 - dir)))
		return -ENOENT;
	TAKE(n, pod_namespace, dir, (size_t)(us - dir));
	TAKE(n, pod_name, us + 1, len - (size_t)(us + 1 - dir));
	return 0;
}

int names_from_container_log(struct container_names *n, const char *file, const char *id)
{
	size_t len = strlen(file), il = strlen(id);
	const char *a, *b;

	/* <pod>_<namespace>_<container>-<id>.log */
	if (!il || len < il + 10 || strcmp(file + len - 4, ".log") ||
	    file[len - 4 - il - 1] != '-' || strncmp(file + len - 4 - il, id, il))
		return -ENOENT;
	len -= il + 5;
	a = memchr(file, '_', len);
	b = a ? memchr(a + 1, '_', len - (size_t)(a + 1 - file)) : NULL;
	if (!b || !kube_name(file, (size_t)(a - file)) ||
	    !kube_name(a + 1, (size_t)(b - a - 1)) ||
	    !kube_name(b + 1, len - (size_t)(b + 1 - file)))
		return -ENOENT;
	TAKE(n, pod_name, file, (size_t)(a - file));
	TAKE(n, pod_namespace, a + 1, (size_t)(b - a - 1));
	TAKE(n, name, b + 1, len - (size_t)(b + 1 - file));
	return 0;
}
