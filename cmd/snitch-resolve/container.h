/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_CONTAINER_H
#define SNITCH_CONTAINER_H

/*
 * Which container a process is in, from its cgroup v2 path, as the
 * runtimes name their cgroups (systemd and cgroupfs drivers):
 *
 *   docker           docker-<64 hex>.scope, /docker/<64 hex>
 *   containerd       cri-containerd-<64 hex>.scope
 *   cri-o            crio-<64 hex>.scope
 *   podman           libpod-<64 hex>.scope, libpod-<64 hex>
 *   systemd-nspawn   machine.slice/machine-<name>.scope
 *   lxc              lxc.payload.<name>, /lxc/<name>
 *
 * and the Kubernetes pod UID from kubepods...pod<uid>... (systemd writes
 * the UID's dashes as underscores; they are given back as dashes), and
 * the user whose systemd instance holds it (user@<uid>.service: rootless
 * podman's containers live there).
 *
 * A sandboxed desktop app, as its launcher names its scope:
 *
 *   flatpak          app-flatpak-<app id>-<n>.scope
 *   snap             snap.<name>.<app>[.-]<uuid>.scope, snap.<name>.<app>.service
 */
struct container_info {
	const char *runtime;	/* NULL: none found */
	char id[128];		/* "" when none */
	char pod_uid[40];	/* "" when none */
	long owner_uid;		/* -1 when none */
	const char *app_kind;	/* "flatpak", "snap"; NULL: none */
	char app[256];		/* the app id or snap name; "" when none */
};

void container_parse(const char *path, struct container_info *info);

struct container_names;
/* Names, image and pod of the container, from the files below root (names.c). */
void names_lookup(const char *root, const struct container_info *info,
		  struct container_names *n);

#endif
