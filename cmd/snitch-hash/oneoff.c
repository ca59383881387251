/* SPDX-License-Identifier: MIT */
/*
 * One-off mode: snitch-hash FILE... prints what sha256sum prints (and
 * what `sha256sum -c` reads back), or with --json one record per file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "emit.h"
#include "exitcode.h"
#include "hash.h"
#include "log.h"
#include "output.h"

static const char *file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return NULL;	/* strerror(EISDIR) says it */
	if (S_ISFIFO(m))
		return "not a regular file (a FIFO)";
	if (S_ISSOCK(m))
		return "not a regular file (a socket)";
	if (S_ISCHR(m))
		return "not a regular file (a character device)";
	if (S_ISBLK(m))
		return "not a regular file (a block device)";
	return "not a regular file";
}

/* A name as a person can read it in one line of a message. */
static void quote_name(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\t')
			buf_puts(b, "\\t");
		else if (c == '\\' || c == '\'') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, (char)c);
	}
}

static void fail(struct output *out, const struct hash_opts *o,
		 const char *path, const char *verb, int err, const char *why)
{
	struct buf q = BUF_INIT, msg = BUF_INIT;

	quote_name(&q, path);
	buf_printf(&msg, "cannot %s '%.*s': %s", verb, (int)q.len, q.p ? q.p : "",
		   why ? why : strerror(err));
	log_msg("%.*s", (int)msg.len, msg.p ? msg.p : "");
	if (o->json) {
		emit_error_begin(&out->b, STAGE, err ? "open_failed" : "not_regular",
				 msg.p ? msg.p : "");
		/* the message held a copy; the record needs the exact name */
		emit_cstr(&out->b, "path", path);
		if (err)
			emit_errno(&out->b, err);
		emit_end(&out->b);
		(void)output_flush(out);
	}
	buf_release(&q);
	buf_release(&msg);
}

/* sha256sum's format: names with \, \n or \r are escaped, and marked. */
static void put_sum_line(struct buf *b, const char *hex, const char *name)
{
	bool esc = strpbrk(name, "\\\n\r") != NULL;

	if (esc)
		buf_putc(b, '\\');
	buf_append(b, hex, SHA256_HEX_LEN);
	buf_append(b, "  ", 2);
	for (const char *p = name; *p; p++) {
		if (!esc)
			buf_putc(b, *p);
		else if (*p == '\\')
			buf_append(b, "\\\\", 2);
		else if (*p == '\n')
			buf_append(b, "\\n", 2);
		else if (*p == '\r')
			buf_append(b, "\\r", 2);
		else
			buf_putc(b, *p);
	}
	buf_putc(b, '\n');
}

static int hash_one(struct output *out, const struct hash_opts *o,
		    const char *path)
{
	unsigned char digest[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	bool is_stdin = strcmp(path, "-") == 0;
	struct stat st;
	uint64_t size = 0;
	int fd, r;

	if (is_stdin) {
		fd = STDIN_FILENO;
	} else {
		/* look before opening: opening a FIFO or a device can block
		 * or act; O_NONBLOCK covers a swap between the two calls */
		if (stat(path, &st) < 0) {
			fail(out, o, path, "open", errno, NULL);
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			const char *kind = file_kind(st.st_mode);
			fail(out, o, path, "open", kind ? 0 : EISDIR, kind);
			return -1;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0) {
			fail(out, o, path, "open", errno, NULL);
			return -1;
		}
	}
	if (fstat(fd, &st) < 0) {
		fail(out, o, path, "open", errno, NULL);
		goto bad;
	}
	if (!is_stdin && !S_ISREG(st.st_mode)) {
		const char *kind = file_kind(st.st_mode);
		fail(out, o, path, "open", kind ? 0 : EISDIR, kind);
		goto bad;
	}
	r = sha256_fd(fd, digest, &size);
	if (r < 0) {
		fail(out, o, path, "read", -r, NULL);
		goto bad;
	}
	if (!is_stdin)
		close(fd);
	sha256_hex(digest, hex);
	if (o->json) {
		struct buf *b = &out->b;

		emit_begin(b, "hash", clock_real_ns());
		emit_cstr(b, "path", path);
		emit_u64(b, "dev", (uint64_t)st.st_dev);
		emit_u64(b, "ino", (uint64_t)st.st_ino);
		emit_u64(b, "size", size);
		emit_cstr(b, "sha256", hex);
		emit_end(b);
	} else {
		put_sum_line(&out->b, hex, path);
	}
	return output_flush(out) < 0 ? -2 : 0;
bad:
	if (!is_stdin)
		close(fd);
	return -1;
}

int oneoff_run(const struct hash_opts *o, int nfiles, char **files)
{
	struct output out;
	int ret = SNITCH_EXIT_OK;

	output_init(&out, STDOUT_FILENO);
	for (int i = 0; i < nfiles; i++) {
		int r = hash_one(&out, o, files[i]);

		if (r == -1)
			ret = SNITCH_EXIT_PARTIAL;
		if (r == -2 || out.err)
			break;
	}
	if (output_flush(&out) < 0 && out.err != -EPIPE) {
		log_msg("cannot write standard output: %s", strerror(-out.err));
		ret = SNITCH_EXIT_IO;
	}
	output_release(&out);
	return ret;
}
