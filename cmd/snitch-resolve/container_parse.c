/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "container.h"

static bool is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* component c (length n) is PREFIX<64 hex>SUFFIX: the hex into id */
static bool match_hex(const char *c, size_t n, const char *prefix,
		      const char *suffix, char *id, size_t idsize)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);

	if (n != pl + 64 + sl || strncmp(c, prefix, pl) ||
	    strncmp(c + n - sl, suffix, sl) || !is_hex64(c + pl, 64))
		return false;
	snprintf(id, idsize, "%.64s", c + pl);
	return true;
}

/* systemd unit name escaping: \xNN -> byte */
static void unescape(const char *s, size_t n, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < size; i++) {
		unsigned v;

		if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' &&
		    sscanf(s + i + 2, "%2x", &v) == 1) {
			out[o++] = (char)v;
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
}

/* pod<uid> anywhere in the component: 36 characters of hex, '-' or '_' */
static bool find_pod(const char *c, size_t n, char *uid, size_t size)
{
	for (const char *p = c; p + 3 + 36 <= c + n; p++) {
		size_t i;

		if (strncmp(p, "pod", 3))
			continue;
		for (i = 0; i < 36; i++) {
			char x = p[3 + i];
			if (!isxdigit((unsigned char)x) && x != '-' && x != '_')
				break;
		}
		if (i < 36)
			continue;
		snprintf(uid, size, "%.36s", p + 3);
		for (char *u = uid; *u; u++)
			if (*u == '_')
				*u = '-';
		return true;
	}
	return false;
}

/*
 * The app of a scope a desktop launcher made: a Flatpak app id (reverse
 * DNS: letters, digits, '_', '-', '.') or a snap name (lowercase letters,
 * digits, '-').
 */
static bool app_char(char ch, bool flatpak)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
	       (flatpak && ((ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '.'));
}

static void find_app(const char *c, size_t n, struct container_info *info)
{
	const char *s, *e;

	if (n > 12 + 6 && !strncmp(c, "app-flatpak-", 12) && !strncmp(c + n - 6, ".scope", 6)) {
		s = c + 12;
		e = c + n - 6;
		/* "-<n>": the instance */
		for (const char *d = e; d > s; d--) {
			if (d[-1] == '-') {
				if (d < e && strspn(d, "0123456789") == (size_t)(e - d))
					e = d - 1;
				break;
			}
			if (d[-1] < '0' || d[-1] > '9')
				break;
		}
		info->app_kind = "flatpak";
	} else if (n > 5 && !strncmp(c, "snap.", 5) &&
		   ((n > 6 && !strncmp(c + n - 6, ".scope", 6)) ||
		    (n > 8 && !strncmp(c + n - 8, ".service", 8)))) {
		s = c + 5;
		e = memchr(s, '.', n - 5);
		info->app_kind = "snap";
	} else {
		return;
	}
	if (!e || e <= s || (size_t)(e - s) >= sizeof(info->app)) {
		info->app_kind = NULL;
		return;
	}
	for (const char *p = s; p < e; p++) {
		if (!app_char(*p, !strcmp(info->app_kind, "flatpak"))) {
			info->app_kind = NULL;
			return;
		}
	}
	snprintf(info->app, sizeof(info->app), "%.*s", (int)(e - s), s);
}

void container_parse(const char *path, struct container_info *info)
{
	const char *c = path, *prev = "";
	size_t prevn = 0;
	bool kube = false;

	info->runtime = NULL;
	info->id[0] = '\0';
	info->pod_uid[0] = '\0';
	info->owner_uid = -1;
	info->app_kind = NULL;
	info->app[0] = '\0';
	while (*c) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);
		char *id = info->id;
		size_t ids = sizeof(info->id);

		if (n) {
			unsigned long u;
			int used = 0;

			if (n > 5 + 8 && !strncmp(c, "user@", 5) &&
			    isdigit((unsigned char)c[5]) &&
			    sscanf(c + 5, "%9lu.service%n", &u, &used) == 1 &&
			    (size_t)used == n - 5)
				info->owner_uid = (long)u;
			if (!strncmp(c, "kubepods", 8))
				kube = true;
			find_app(c, n, info);
			if (kube && !info->pod_uid[0])
				find_pod(c, n, info->pod_uid, sizeof(info->pod_uid));
			if (match_hex(c, n, "docker-", ".scope", id, ids) ||
			    (prevn == 6 && !strncmp(prev, "docker", 6) &&
			     match_hex(c, n, "", "", id, ids)))
				info->runtime = "docker";
			else if (match_hex(c, n, "cri-containerd-", ".scope", id, ids))
				info->runtime = "containerd";
			else if (match_hex(c, n, "crio-", ".scope", id, ids) ||
				 match_hex(c, n, "crio-", "", id, ids))
				info->runtime = "cri-o";
			else if (match_hex(c, n, "libpod-", ".scope", id, ids) ||
				 match_hex(c, n, "libpod-", "", id, ids))
				info->runtime = "podman";
			else if (prevn == 13 && !strncmp(prev, "machine.slice", 13) &&
				 n > 8 + 6 && !strncmp(c, "machine-", 8) &&
				 !strncmp(c + n - 6, ".scope", 6)) {
				info->runtime = "systemd-nspawn";
				unescape(c + 8, n - 8 - 6, id, ids);
			} else if (n > 12 && !strncmp(c, "lxc.payload.", 12)) {
				info->runtime = "lxc";
				snprintf(id, ids, "%.*s", (int)(n - 12), c + 12);
			} else if (prevn == 3 && !strncmp(prev, "lxc", 3)) {
				info->runtime = "lxc";
				snprintf(id, ids, "%.*s", (int)n, c);
			} else if (kube && match_hex(c, n, "", "", id, ids)) {
				/* cgroupfs driver: the container, runtime unnamed */
				info->runtime = NULL;
			}
		}
		prev = c;
		prevn = n;
		if (!end)
			break;
		c = end + 1;
	}
}
