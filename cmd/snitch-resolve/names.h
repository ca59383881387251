/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_NAMES_H
#define SNITCH_NAMES_H

/*
 * A container's name, its image, and its Kubernetes pod, read from the
 * files its runtime and the kubelet leave on the node (no API is asked):
 *
 *   docker      /var/lib/docker/containers/<id>/config.v2.json
 *   podman      /var/lib/containers/storage/<driver>-containers/containers.json
 *               (rootless: ~user/.local/share/containers/storage/...)
 *   containerd  /run/containerd/io.containerd.runtime.v2.task/<ns>/<id>/config.json
 *               (the OCI spec: the CRI plugin's annotations)
 *   cri-o       /run/containers/storage/overlay-containers/<id>/userdata/config.json
 *   kubelet     /var/log/pods/<namespace>_<pod>_<uid>/ and
 *               /var/log/containers/<pod>_<namespace>_<container>-<id>.log
 *
 * The parsers (names_parse.c) take the bytes of those files, which users
 * and containers other than ours can write: they check every length and
 * keep a value only whole (one too long for its field is left unknown).
 * A field, once known, is not overwritten: the first source wins.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAMES_FIELD_MAX 256
#define NAMES_IMAGE_MAX 512

struct container_names {
	bool have_name, have_image, have_pod_namespace, have_pod_name;
	char name[NAMES_FIELD_MAX];		/* Kubernetes: the container's name in its pod */
	char image[NAMES_IMAGE_MAX];
	char pod_namespace[NAMES_FIELD_MAX];
	char pod_name[NAMES_FIELD_MAX];
};

void names_init(struct container_names *n);

/* Docker's config.v2.json: "Name", "Config"."Image", the kubelet's labels. */
int names_from_docker_config(struct container_names *n, const char *text, size_t len);
/* c/storage's containers.json (podman, cri-o): the entry whose "id" is id. */
int names_from_storage_list(struct container_names *n, const char *text, size_t len,
			    const char *id);
/* An OCI runtime spec (config.json): the annotations CRI runtimes set. */
int names_from_oci_config(struct container_names *n, const char *text, size_t len);
/* A directory name of /var/log/pods: <namespace>_<pod>_<uid>, for that uid. */
int names_from_pod_dir(struct container_names *n, const char *dir, const char *uid);
/* A file name of /var/log/containers: <pod>_<namespace>_<container>-<id>.log. */
int names_from_container_log(struct container_names *n, const char *file, const char *id);

#endif
