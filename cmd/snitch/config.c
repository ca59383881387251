/* SPDX-License-Identifier: MIT */
/*
 * /etc/snitch/snitch.conf: KEY=value lines, read the way both a POSIX shell
 * and systemd's EnvironmentFile= read them, for the subset they agree on:
 * comments and blank lines, KEY=value with the value bare, in single quotes
 * (taken as is) or in double quotes (backslash escapes \" \\ \$ \`).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomicfile.h"
#include "buf.h"
#include "fdio.h"
#include "perms.h"
#include "snitch.h"

static bool valid_key(const char *k, size_t n)
{
	if (!n || !(isupper((unsigned char)k[0]) || k[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isupper((unsigned char)k[i]) && !isdigit((unsigned char)k[i]) && k[i] != '_')
			return false;
	return true;
}

/* The value starting at s, decoded into out; NULL and why if it is bad. */
static const char *parse_value(const char *s, struct buf *out, const char **why)
{
	buf_reset(out);
	if (*s == '\'') {
		const char *e = strchr(s + 1, '\'');

		if (!e) {
			*why = "no closing single quote";
			return NULL;
		}
		buf_append(out, s + 1, (size_t)(e - s - 1));
		s = e + 1;
	} else if (*s == '"') {
		for (s++; *s && *s != '"'; s++) {
			if (*s == '\\' && s[1] && strchr("\"\\$`", s[1]))
				s++;
			else if (*s == '$' || *s == '`') {
				*why = "$ and ` are not expanded here: escape them or use single quotes";
				return NULL;
			}
			buf_putc(out, *s);
		}
		if (*s != '"') {
			*why = "no closing double quote";
			return NULL;
		}
		s++;
	} else {
		const char *e = s + strlen(s);

		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		for (const char *p = s; p < e; p++) {
			if (strchr(" \t\"'\\$`;&|<>()", *p)) {
				*why = "a value with spaces or shell characters must be in quotes";
				return NULL;
			}
		}
		buf_append(out, s, (size_t)(e - s));
		s = e;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s && *s != '#') {
		*why = "text after the value";
		return NULL;
	}
	buf_putc(out, '\0');
	return s;
}

static const char not_snitch[] = "is not a snitch setting (they begin with SNITCH_)";

int config_parse_line(char *line, const char **key, struct buf *val, const char **why)
{
	size_t n = strlen(line);
	char *s = line, *eq;

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	while (isspace((unsigned char)*s))
		s++;
	if (!*s || *s == '#')
		return 0;
	if (!strncmp(s, "export ", 7))
		s += 7;
	eq = strchr(s, '=');
	*key = s;
	if (!eq || !valid_key(s, (size_t)(eq - s))) {
		*key = NULL;
		*why = "expected KEY=value, with KEY in capitals";
		return -1;
	}
	*eq = '\0';
	if (!parse_value(eq + 1, val, why))
		return -1;
	if (strncmp(s, "SNITCH_", 7)) {
		*why = not_snitch;
		return -1;
	}
	if (val->oom) {
		*why = "out of memory";
		return -1;
	}
	return 1;
}

int config_load(const char *path, char *err, size_t errsize)
{
	FILE *f = fopen(path, "re");
	struct buf val = BUF_INIT;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	int ret = 0;

	if (!f) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errsize, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) >= 0) {
		const char *key = NULL, *why = NULL;
		int r;

		lineno++;
		r = config_parse_line(line, &key, &val, &why);
		if (r == 0)
			continue;
		if (r < 0 && !key)
			snprintf(err, errsize, "%s:%zu: %s", path, lineno, why);
		else if (r < 0 && why == not_snitch)
			snprintf(err, errsize, "%s:%zu: '%s' %s", path, lineno, key, why);
		else if (r < 0)
			snprintf(err, errsize, "%s:%zu: %s: %s", path, lineno, key, why);
		else if (setenv(key, val.p, 0) < 0)
			snprintf(err, errsize, "out of memory");
		else
			continue;
		ret = -1;
		break;
	}
	free(line);
	buf_release(&val);
	fclose(f);
	return ret;
}

/* Append what `tool --config-template` prints. */
static int template_of(const char *tool, struct buf *b, char *err, size_t errsize)
{
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		char *argv[] = { (char *)tool, "--config-template", NULL };

		dup2(p[1], STDOUT_FILENO);
		execv(tool, argv);
		fprintf(stderr, "%s: cannot run '%s': %s\n", PROG, tool, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	(void)read_to_buf(p[0], b);	/* what it wrote: the template is checked below */
	close(p[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(err, errsize, "'%s --config-template' failed", tool);
		return -1;
	}
	return 0;
}

/* Keys the supervisor sets itself, left out of the file. */
static bool supervisor_owned(const char *line, size_t n)
{
	static const char *const own[] = {
		"#SNITCH_STORE_TEE=", "#SNITCH_NOTIFY_TEE=", "#SNITCH_CONF=",
		"#SNITCH_REMOTE_TEE=", "#SNITCH_STORE_EMIT_ROWS=", "#SNITCH_METRICS_TEE=",
	};

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (n >= strlen(own[i]) && !strncmp(line, own[i], strlen(own[i])))
			return true;
	return false;
}

int config_default_text(const char *bin_dir, struct buf *out, char *err, size_t errsize)
{
	static const char *const tools[] = {
		"snitch", "snitch-trace", "snitch-resolve", "snitch-hash", "snitch-vt",
		"snitch-store", "snitch-remote", "snitch-metrics", "snitch-notify", "snitch-web",
	};
	struct buf all = BUF_INIT, seen = BUF_INIT;
	int ret = 0;

	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		char tool[4096];

		snprintf(tool, sizeof(tool), "%s/%s", bin_dir, tools[i]);
		buf_putc(&all, '\n');
		if (template_of(tool, &all, err, errsize) < 0) {
			ret = -1;
			goto out;
		}
	}
	buf_puts(out,
		 "# snitch.conf: the settings of the snitch monitor (snitch run).\n"
		 "#\n"
		 "# KEY=value lines: a POSIX shell fragment and a systemd EnvironmentFile.\n"
		 "# Every line below is commented out and shows the built-in default;\n"
		 "# remove the '#' and change the value to change it. Put a value with\n"
		 "# spaces (a list, which is space-separated) in single quotes. A setting\n"
		 "# already in the environment wins over this file. Each KEY is the\n"
		 "# environment variable of a tool's option: see 'snitch-store --help'.\n"
		 "# snitch writes this file only when it is missing.\n");
	/*
	 * The templates are "# TOOL" headers and pairs of lines, "# --opt: help"
	 * then "#KEY=default". A key shared by two tools (SNITCH_OWNER) is
	 * written once; the keys the supervisor sets itself not at all.
	 */
	for (size_t pos = 0, comment = 0, comment_len = 0; pos < all.len;) {
		char *nl = memchr(all.p + pos, '\n', all.len - pos);
		size_t n = nl ? (size_t)(nl - (all.p + pos)) : all.len - pos;
		const char *l = all.p + pos;

		if (n > 3 && !strncmp(l, "# --", 4)) {
			comment = pos;
			comment_len = n;
		} else if (n > 1 && l[0] == '#' && l[1] != ' ') {
			const char *eq = memchr(l, '=', n);
			size_t k = eq ? (size_t)(eq - l) + 1 : n;

			buf_putc(&seen, '\n');
			if (!supervisor_owned(l, n) && !memmem(seen.p, seen.len, l, k)) {
				buf_append(&seen, l, k);
				if (comment_len) {
					buf_append(out, all.p + comment, comment_len);
					buf_putc(out, '\n');
				}
				buf_append(out, l, n);
				buf_putc(out, '\n');
			}
			comment_len = 0;
		} else if (n > 2 && !strncmp(l, "# ", 2)) {
			buf_putc(out, '\n');
			buf_append(out, l, n);
			buf_putc(out, '\n');
		}
		pos += n + 1;
	}
	if (out->oom || all.oom) {
		snprintf(err, errsize, "out of memory");
		ret = -1;
	}
out:
	buf_release(&all);
	buf_release(&seen);
	return ret;
}

int config_write_default(const char *path, const char *bin_dir, char *err, size_t errsize)
{
	struct buf out = BUF_INIT;
	struct stat st;
	int ret;

	if (stat(path, &st) == 0)
		return 1;
	if ((ret = config_default_text(bin_dir, &out, err, errsize)) < 0)
		goto out;
	if ((ret = perms_mkdirs_for(path, NULL)) < 0) {
		snprintf(err, errsize, "cannot make the directory of '%s': %s", path, strerror(-ret));
		ret = -1;
		goto out;
	}
	if ((ret = atomic_write_file(path, out.p, out.len, 0644, NULL, 0)) < 0) {
		snprintf(err, errsize, "cannot write '%s': %s", path, strerror(-ret));
		ret = -1;
	}
out:
	buf_release(&out);
	return ret;
}
