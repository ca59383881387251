/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what snitch-resolve reads of a process from /proc,
 * which the process controls: its command line (cmd/snitch-resolve/
 * cmdline.c, cmdline_json) and its cgroup path (container_parse.c).
 *
 * The first byte's low bit says whether the command line was cut to fit;
 * the rest is /proc/PID/cmdline as read. Invariants: no crash or undefined
 * behaviour; the JSON array made of it is one a record takes, and its
 * arguments, decoded and joined by NULs, are the bytes read (the last
 * one with the "…" of a cut). The same bytes as a cgroup path name a
 * known runtime, or none, with an id and pod UID that fit and, for the
 * runtimes that name containers by hash, 64 hex digits. As an
 * environment (/proc/PID/environ), the APPIMAGE variable snitch-resolve
 * looks for is found exactly where a plain scan finds it.
 */
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "container.h"
#include "json.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check_cmdline(const char *cmd, size_t len, bool cut)
{
	static struct buf out, joined;
	static struct record r;
	const struct record_member *m;
	const char *arr;
	size_t pos = 0, start, end, args = 0;

	buf_reset(&out);
	buf_puts(&out, "{\"cmdline\":");
	cmdline_json(&out, cmd, len, cut);
	buf_putc(&out, '}');
	if (out.oom)
		return;
	if (record_parse(&r, out.p, out.len, NULL) != 0)
		abort();
	m = record_find(&r, "cmdline");
	if (!m || m->type != JSON_ARRAY)
		abort();
	arr = record_val(&r, m);
	buf_reset(&joined);
	while (json_array_next(arr, m->val_len, &pos, &start, &end)) {
		if (arr[start] != '"' || buf_reserve(&joined, end - start + 1) < 0)
			abort();
		if (args++)
			buf_putc(&joined, '\0');
		joined.len += json_unescape(arr + start + 1, end - start - 2, joined.p + joined.len);
	}
	if (cut && len) {
		if (joined.len < 3 || memcmp(joined.p + joined.len - 3, "\xe2\x80\xa6", 3) != 0)
			abort();
		joined.len -= 3;
	}
	if (joined.len != len || (len && memcmp(joined.p, cmd, len) != 0))
		abort();
}

static bool hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!strchr("0123456789abcdef", *s))
			return false;
	return true;
}

static void check_cgroup(const char *data, size_t size)
{
	static const char *const runtimes[] = {
		"docker", "containerd", "cri-o", "podman", "systemd-nspawn", "lxc",
	};
	struct container_info info;
	char *path = malloc(size + 1);
	bool known = false;

	if (!path)
		return;
	memcpy(path, data, size);
	path[size] = '\0';
	memset(&info, 0x55, sizeof(info));
	container_parse(path, &info);
	if (!memchr(info.id, '\0', sizeof(info.id)) ||
	    !memchr(info.pod_uid, '\0', sizeof(info.pod_uid)))
		abort();
	for (size_t i = 0; info.runtime && i < sizeof(runtimes) / sizeof(runtimes[0]); i++)
		known |= !strcmp(info.runtime, runtimes[i]);
	if (info.runtime && !known)
		abort();
	if (info.runtime && strcmp(info.runtime, "systemd-nspawn") && strcmp(info.runtime, "lxc") &&
	    !hex64(info.id))
		abort();
	free(path);
}

/*
 * The same bytes as /proc/PID/environ: a value environ_value finds is
 * that of the first whole entry of the name, inside the bytes, ended by
 * its NUL; none is found only when no whole entry has the name.
 */
static void check_environ(const char *env, size_t size)
{
	static const char name[] = "APPIMAGE";
	const size_t n = sizeof(name) - 1;
	const char *first = NULL;
	const char *v;
	size_t vlen = 0;

	for (size_t at = 0; at < size && !first;) {
		const char *nul = memchr(env + at, '\0', size - at);

		if (!nul)
			break;
		if ((size_t)(nul - (env + at)) > n && !memcmp(env + at, name, n) && env[at + n] == '=')
			first = env + at + n + 1;
		at = (size_t)(nul - env) + 1;
	}
	v = environ_value(env, size, name, &vlen);
	if (v != first)
		abort();
	if (v && (v + vlen >= env + size || v[vlen] != '\0' || memchr(v, '\0', vlen)))
		abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *cmd = (const char *)data + 1;
	size_t len;

	if (!size)
		return 0;
	len = size - 1;
	/* as read_cmdline leaves it: the last argument's terminator cut off */
	while (len > 0 && cmd[len - 1] == '\0')
		len--;
	check_cmdline(cmd, len, data[0] & 1);
	check_cgroup(cmd, size - 1);
	check_environ(cmd, size - 1);
	return 0;
}
