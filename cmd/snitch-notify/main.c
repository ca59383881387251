/* SPDX-License-Identifier: MIT */
/*
 * snitch-notify: tell the person at the desktop when a program they have
 * not seen before talks to the network, when one changes, and when the
 * pipeline loses records or fails. What it knows survives restarts in a
 * state file; every event is also a dated line in exe.log or error.log.
 */
#include <linux/capability.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "privs.h"
#include "ancestry.h"
#include "cli.h"
#include "clock.h"
#include "emit.h"
#include "exitcode.h"
#include "log.h"
#include "notify.h"
#include "perms.h"
#include "sig.h"
#include "stage.h"

#define SAVE_DELAY_NS (1000000000ULL)	/* state written within 1 s of a change */

struct notify {
	const struct notify_opts *o;
	struct file_perms perms;
	struct state *state;
	struct desktop *desk;
	struct burst *burst;
	struct stage st;
	int exe_log, err_log;
	char exe_log_path[4096], err_log_path[4096];
	uint64_t save_at;	/* monotonic; 0: nothing to save */
	bool save_failing, exe_log_failing, err_log_failing;
	char log_err[512];		/* a log write that failed, to report */
	bool warned_no_desktop;
	bool had_desktop;
	uint64_t events[EV_KINDS];
	struct buf line, sum, body, tmp;
};

/* ---- logs ---- */

/* "2026-11-22T10:00:00.123+0100": local time, as a person reads logs */
static void put_time(struct buf *b, uint64_t ts_ns)
{
	time_t t = (time_t)(ts_ns / 1000000000ULL);
	char s[64], ms[8];
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_puts(b, s);
	snprintf(ms, sizeof(ms), ".%03u", (unsigned)(ts_ns / 1000000ULL % 1000));
	buf_puts(b, ms);
	strftime(s, sizeof(s), "%z", &tm);
	buf_puts(b, s);
}

static int open_log(struct notify *n, const char *name, char *path, size_t size)
{
	struct stat st;
	bool fresh;
	int fd;

	snprintf(path, size, "%s/%s", n->o->log_dir, name);
	fresh = stat(path, &st) < 0;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0 && fresh)
		perms_apply(&n->perms, path, false);
	return fd;
}

static void own_error(struct notify *n, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One whole line, appended in one write (O_APPEND: never interleaved). */
static void log_line(struct notify *n, int fd, const char *path, struct buf *b)
{
	bool *failing = fd == n->exe_log ? &n->exe_log_failing : &n->err_log_failing;
	ssize_t w;

	buf_putc(b, '\n');
	if (b->oom)
		return;
	w = write(fd, b->p, b->len);
	if (w == (ssize_t)b->len) {
		*failing = false;
		return;
	}
	if (!*failing) {
		*failing = true;
		/* reported once the record at hand is done: an error record,
		 * stderr, the desktop, and error.log if that one still works */
		snprintf(n->log_err, sizeof(n->log_err),
			 "cannot write '%s': %s; events are still shown on the desktop",
			 path, w < 0 ? strerror(errno) : "short write");
	}
}

/* ---- the desktop ---- */

static bool send_desktop(void *ctx, const char *summary, const char *body)
{
	struct notify *n = ctx;

	if (desktop_send(n->desk, summary, body) == 0) {
		if (!n->had_desktop) {
			n->had_desktop = true;
			log_msg("notifying %s", desktop_who(n->desk));
		}
		n->warned_no_desktop = false;
		return true;
	}
	if (!n->warned_no_desktop) {
		n->warned_no_desktop = true;
		n->had_desktop = false;
		log_msg("no desktop notifications: %s; events are still logged in '%s' and '%s'",
			desktop_why(n->desk), n->exe_log_path, n->err_log_path);
	}
	return false;
}

static void event(struct notify *n, enum event_kind kind)
{
	struct buf *s = &n->sum, *b = &n->body;

	n->events[kind]++;
	buf_putc(s, '\0');
	buf_putc(b, '\0');
	if (!s->oom && !b->oom)
		burst_offer(n->burst, kind, s->p, b->p, clock_mono_ns(), send_desktop, n);
	/* what the burst holds back is due at a time on_timer works out */
	stage_wake_at(&n->st, clock_mono_ns());
}

/* ---- errors and losses ---- */

static void error_event(struct notify *n, uint64_t ts, const char *stage, const char *code,
			const char *message)
{
	buf_reset(&n->line);
	put_time(&n->line, ts);
	buf_putc(&n->line, ' ');
	buf_puts(&n->line, stage);
	buf_puts(&n->line, " error ");
	buf_puts(&n->line, code);
	buf_puts(&n->line, ": ");
	buf_puts(&n->line, message);
	log_line(n, n->err_log, n->err_log_path, &n->line);

	buf_reset(&n->sum);
	buf_reset(&n->body);
	if (!strcmp(stage, "snitch")) {
		buf_puts(&n->sum, "snitch: pipeline error");
	} else {
		buf_puts(&n->sum, "snitch: error in ");
		buf_puts(&n->sum, stage);
	}
	buf_puts(&n->body, message);
	event(n, EV_ERROR);
}

static void own_error(struct notify *n, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	stage_error(&n->st, code, "%s", msg);
	error_event(n, clock_real_ns(), STAGE, code, msg);
}

/* An error the stage kit wrote about our input: logged and shown like any. */
static void on_input_error(void *ctx, struct stage *st, const char *code, const char *msg,
			   const char *rec, size_t rec_len)
{
	(void)st;
	(void)rec;
	(void)rec_len;
	error_event(ctx, clock_real_ns(), STAGE, code, msg);
}

/* ---- reading records ---- */

/* A string member as a NUL-terminated copy in b; false if absent or not a string. */
static bool get_str(const struct record *r, const char *key, struct buf *b)
{
	buf_reset(b);
	if (record_get_str(r, key, b) < 0)
		return false;
	buf_putc(b, '\0');
	return !b->oom;
}

static uint64_t get_ts(const struct record *r)
{
	uint64_t ts;

	return record_get_u64(r, "ts_ns", &ts) == 0 && ts ? ts : clock_real_ns();
}

/* A path or name, as it is shown: quoted the JSON way when it needs it. */
static void put_shown(struct buf *b, const char *s)
{
	bool plain = *s != '\0';

	for (const unsigned char *p = (const unsigned char *)s; *p && plain; p++)
		plain = *p > ' ' && *p != '"' && *p != '\\' && *p != 0x7f;
	if (plain)
		buf_puts(b, s);
	else
		json_put_cstr(b, s);
}

static void handle_lost(struct notify *n, const struct record *r)
{
	struct buf stage = BUF_INIT, reason = BUF_INIT, msg = BUF_INIT;
	uint64_t count = 0, ts = get_ts(r);
	char num[32];

	if (record_get_u64(r, "count", &count) < 0 || !count)
		goto out;	/* a stage's closing total repeats what was said */
	if (!get_str(r, "stage", &stage))
		buf_puts(&stage, "a stage"), buf_putc(&stage, '\0');
	if (!get_str(r, "reason", &reason))
		buf_puts(&reason, "unknown"), buf_putc(&reason, '\0');
	if (!get_str(r, "message", &msg))
		buf_puts(&msg, ""), buf_putc(&msg, '\0');
	snprintf(num, sizeof(num), "%" PRIu64, count);

	buf_reset(&n->line);
	put_time(&n->line, ts);
	buf_putc(&n->line, ' ');
	buf_puts(&n->line, stage.p);
	buf_puts(&n->line, " lost ");
	buf_puts(&n->line, reason.p);
	buf_puts(&n->line, " count=");
	buf_puts(&n->line, num);
	buf_puts(&n->line, ": ");
	buf_puts(&n->line, msg.p);
	log_line(n, n->err_log, n->err_log_path, &n->line);

	buf_reset(&n->sum);
	buf_reset(&n->body);
	buf_puts(&n->sum, "snitch: ");
	buf_puts(&n->sum, stage.p);
	buf_puts(&n->sum, " lost ");
	buf_puts(&n->sum, num);
	buf_puts(&n->sum, count == 1 ? " record" : " records");
	buf_puts(&n->body, *msg.p ? msg.p : reason.p);
	event(n, EV_LOST);
out:
	buf_release(&stage);
	buf_release(&reason);
	buf_release(&msg);
}

static void handle_error(struct notify *n, const struct record *r)
{
	struct buf stage = BUF_INIT, code = BUF_INIT, msg = BUF_INIT;

	if (!get_str(r, "stage", &stage))
		buf_puts(&stage, "a stage"), buf_putc(&stage, '\0');
	if (!get_str(r, "code", &code))
		buf_puts(&code, "unknown"), buf_putc(&code, '\0');
	if (!get_str(r, "message", &msg))
		buf_puts(&msg, "(no message)"), buf_putc(&msg, '\0');
	if (!stage.oom && !code.oom && !msg.oom)
		error_event(n, get_ts(r), stage.p, code.p, msg.p);
	buf_release(&stage);
	buf_release(&code);
	buf_release(&msg);
}

static void changed_state(struct notify *n)
{
	if (!n->save_at)
		n->save_at = clock_mono_ns() + SAVE_DELAY_NS;
	stage_wake_at(&n->st, n->save_at);
}

static void exe_line(struct notify *n, uint64_t ts, const char *what, const char *path,
		     const char *name, const char *sha, const char *extra)
{
	buf_reset(&n->line);
	put_time(&n->line, ts);
	buf_putc(&n->line, ' ');
	buf_puts(&n->line, what);
	buf_putc(&n->line, ' ');
	put_shown(&n->line, path);
	if (name) {
		buf_puts(&n->line, " name=");
		put_shown(&n->line, name);
	}
	buf_puts(&n->line, " sha256=");
	buf_puts(&n->line, sha ? sha : "unknown");
	if (extra)
		buf_puts(&n->line, extra);
	log_line(n, n->exe_log, n->exe_log_path, &n->line);
}

static void handle_modified(struct notify *n, const struct record *r)
{
	struct buf path = BUF_INIT, old = BUF_INIT, new = BUF_INIT, by = BUF_INIT;
	bool have_new, have_path;
	struct exe_state *e;

	have_path = get_str(r, "path", &path);
	if (!get_str(r, "old_sha256", &old))
		goto out;
	have_new = get_str(r, "new_sha256", &new);
	if (!get_str(r, "detected_by", &by))
		buf_puts(&by, "?"), buf_putc(&by, '\0');
	if (!have_path) {
		uint64_t dev = 0, ino = 0;
		char s[64];

		(void)record_get_u64(r, "dev", &dev);
		(void)record_get_u64(r, "ino", &ino);
		snprintf(s, sizeof(s), "(device %" PRIu64 ", inode %" PRIu64 ")", dev, ino);
		buf_reset(&path);
		buf_puts(&path, s);
		buf_putc(&path, '\0');
	}
	if (path.oom)
		goto out;
	/* the flows that follow carry the new hash: it is known by then */
	if (have_path && have_new && (e = state_find(n->state, path.p)) &&
	    !exe_has_hash(e, new.p)) {
		(void)exe_add_hash(e, new.p);
		state_touch(n->state);
		changed_state(n);
	}
	buf_reset(&n->tmp);
	buf_puts(&n->tmp, " old_sha256=");
	buf_puts(&n->tmp, old.p);
	buf_puts(&n->tmp, " detected_by=");
	buf_puts(&n->tmp, by.p);
	buf_putc(&n->tmp, '\0');
	exe_line(n, get_ts(r), "modified", path.p, NULL, have_new ? new.p : NULL, n->tmp.p);

	buf_reset(&n->sum);
	buf_reset(&n->body);
	buf_puts(&n->sum, "Executable modified: ");
	put_shown(&n->sum, path.p);
	buf_puts(&n->body, "sha256 ");
	buf_append(&n->body, old.p, 16);
	buf_puts(&n->body, "… is now ");
	if (have_new)
		buf_append(&n->body, new.p, 16), buf_puts(&n->body, "…");
	else
		buf_puts(&n->body, "unknown (it could not be read)");
	buf_puts(&n->body, "\ndetected by ");
	buf_puts(&n->body, by.p);
	event(n, EV_MODIFIED);
out:
	buf_release(&path);
	buf_release(&old);
	buf_release(&new);
	buf_release(&by);
}

struct level {
	const char *prefix, *role;	/* from the ancestry table */
	struct buf path, name, sha;
	bool have_path, have_name, have_sha;
	bool fileless;		/* exe_fileless: no file at its path */
};

/* Where a flow went, for a person: "example.org (198.51.100.7) port 443 tcp". */
static void put_dest(struct notify *n, const struct record *r, struct buf *b)
{
	uint64_t port = 0;
	char s[32];

	if (get_str(r, "domain", &n->tmp)) {
		buf_puts(b, n->tmp.p);
		if (get_str(r, "raddr", &n->tmp) && *n->tmp.p) {
			buf_puts(b, " (");
			buf_puts(b, n->tmp.p);
			buf_putc(b, ')');
		}
	} else if (get_str(r, "raddr", &n->tmp) && *n->tmp.p) {
		buf_puts(b, n->tmp.p);
	} else {
		buf_puts(b, "the network");
	}
	if (record_get_u64(r, "rport", &port) == 0 && port) {
		snprintf(s, sizeof(s), " port %" PRIu64, port);
		buf_puts(b, s);
	}
	if (get_str(r, "proto", &n->tmp)) {
		buf_putc(b, ' ');
		buf_puts(b, n->tmp.p);
	}
}

/*
 * A connection attempt that got nowhere (docs/records.md, outcome): its
 * outcome in out. A word of other characters than a-z and _ is not one of
 * snitch-trace's, and is not written into a log line.
 */
static bool attempt_failed(struct notify *n, const struct record *r, char out[24])
{
	size_t len;

	if (!get_str(r, "outcome", &n->tmp))
		return false;
	len = strlen(n->tmp.p);
	if (!len || len >= 24 || strspn(n->tmp.p, "abcdefghijklmnopqrstuvwxyz_") != len)
		return false;
	if (!strcmp(n->tmp.p, "connected") || !strcmp(n->tmp.p, "accepted"))
		return false;
	memcpy(out, n->tmp.p, len + 1);
	return true;
}

/*
 * What runs inside the process's executable, for a person: its desktop
 * app (an AppImage's path changes with every mount of it, so its name is
 * what a person knows it by) and an interpreter's script.
 */
static void put_inside(struct notify *n, const struct record *r, struct buf *b)
{
	static const struct { const char *kind, *words; } kinds[] = {
		{ "flatpak", "\nIn the Flatpak app " }, { "snap", "\nIn the snap " },
		{ "appimage", "\nFrom the AppImage " },
	};

	const char *words = "\nIn the app ";

	if (get_str(r, "app_kind", &n->tmp))
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (!strcmp(n->tmp.p, kinds[i].kind))
				words = kinds[i].words;
	if (get_str(r, "app", &n->tmp) && *n->tmp.p) {
		buf_puts(b, words);
		put_shown(b, n->tmp.p);
	}
	if (get_str(r, "script_path", &n->tmp) && *n->tmp.p) {
		buf_puts(b, "\nRunning the script ");
		put_shown(b, n->tmp.p);
	}
}

static void level_event(struct notify *n, const struct record *r, struct level *lv,
			const struct level *proc, enum event_kind kind, const char *sha_old)
{
	char outcome[24];

	buf_reset(&n->sum);
	buf_reset(&n->body);
	switch (kind) {
	case EV_NEW_EXE:
		buf_puts(&n->sum, "New executable: ");
		break;
	case EV_FILELESS:
		buf_puts(&n->sum, "Program without a file on disk: ");
		break;
	case EV_NEW_NAME:
		buf_puts(&n->sum, "New name for an executable: ");
		break;
	default:
		buf_puts(&n->sum, "Executable changed: ");
		break;
	}
	put_shown(&n->sum, lv->have_name ? lv->name.p : lv->path.p);
	if (*lv->prefix) {
		buf_puts(&n->sum, " (");
		buf_puts(&n->sum, lv->role);
		buf_putc(&n->sum, ')');
	}
	put_shown(&n->body, lv->path.p);
	if (*lv->prefix) {
		buf_puts(&n->body, " is the ");
		buf_puts(&n->body, lv->role);
		buf_puts(&n->body, " of ");
		put_shown(&n->body, proc->have_name ? proc->name.p :
			  proc->have_path ? proc->path.p : "a process");
		buf_puts(&n->body, ", which");
	}
	if (attempt_failed(n, r, outcome)) {
		/* a first attempt is news like a first connection */
		buf_puts(&n->body, " tried to connect to ");
		put_dest(n, r, &n->body);
		buf_puts(&n->body, " (");
		buf_puts(&n->body, outcome);
		buf_putc(&n->body, ')');
	} else {
		buf_puts(&n->body, " connected to ");
		put_dest(n, r, &n->body);
	}
	if (!*lv->prefix)
		put_inside(n, r, &n->body);
	if (kind == EV_FILELESS)
		buf_puts(&n->body, !strncmp(lv->path.p, "/memfd:", 7) ?
			 "\nIt runs from memory (a memfd): no file on disk holds it, as malware that hides often does" :
			 "\nIts file was deleted or replaced after it started: what runs is no longer the file at that path");
	if (kind == EV_CHANGED) {
		buf_puts(&n->body, "\nsha256 was ");
		buf_append(&n->body, sha_old, 16);
		buf_puts(&n->body, "…, is ");
		buf_append(&n->body, lv->sha.p, 16);
		buf_puts(&n->body, "…");
	} else if (lv->have_sha) {
		buf_puts(&n->body, "\nsha256 ");
		buf_append(&n->body, lv->sha.p, 16);
		buf_puts(&n->body, "…");
	}
	event(n, kind);
}

static void check_level(struct notify *n, const struct record *r, struct level *lv,
			const struct level *proc)
{
	uint64_t ts = get_ts(r);
	struct exe_state *e;
	char extra[64] = "", outcome[24];

	if (*lv->prefix)
		snprintf(extra, sizeof(extra), " as=%s", lv->role);
	e = state_find(n->state, lv->path.p);
	if (!e && attempt_failed(n, r, outcome)) {
		size_t used = strlen(extra);

		snprintf(extra + used, sizeof(extra) - used, " outcome=%s", outcome);
	}
	if (!e) {
		if (!(e = state_add(n->state, lv->path.p)) ||
		    (lv->have_name && exe_add_name(e, lv->name.p) < 0) ||
		    (lv->have_sha && exe_add_hash(e, lv->sha.p) < 0)) {
			own_error(n, "out_of_memory", "out of memory: '%s' is not remembered", lv->path.p);
			return;
		}
		changed_state(n);
		exe_line(n, ts, lv->fileless ? "fileless_executable" : "new_executable", lv->path.p,
			 lv->have_name ? lv->name.p : NULL, lv->have_sha ? lv->sha.p : NULL, extra);
		level_event(n, r, lv, proc, lv->fileless ? EV_FILELESS : EV_NEW_EXE, NULL);
		return;
	}
	if (lv->have_name && !exe_has_name(e, lv->name.p)) {
		if (exe_add_name(e, lv->name.p) == 0) {
			state_touch(n->state);
			changed_state(n);
		}
		exe_line(n, ts, "new_name", lv->path.p, lv->name.p, lv->have_sha ? lv->sha.p : NULL,
			 extra);
		level_event(n, r, lv, proc, EV_NEW_NAME, NULL);
	}
	if (lv->have_sha && !exe_has_hash(e, lv->sha.p)) {
		const char *old = e->nhashes ? e->hashes[e->nhashes - 1] : NULL;
		char prev[128] = "";

		if (old)
			snprintf(prev, sizeof(prev), " old_sha256=%s%s", old, extra);
		/* the first hash of one first seen without: logged, not news */
		exe_line(n, ts, old ? "changed" : "hashed", lv->path.p,
			 lv->have_name ? lv->name.p : NULL, lv->sha.p, old ? prev : extra);
		if (old)
			level_event(n, r, lv, proc, EV_CHANGED, old);
		if (exe_add_hash(e, lv->sha.p) == 0) {
			state_touch(n->state);
			changed_state(n);
		}
	}
}

/*
 * An AppImage's executables run from a mount whose name is new at every
 * start (".mount_" and six random letters): known by that path, each start
 * would be a new executable. They are known instead by the AppImage and
 * the path inside it, "/home/alice/MyTool.AppImage!/usr/bin/mytool" (as a
 * path inside an archive is written), for every level under the same mount
 * as the process's.
 */
static void appimage_paths(struct notify *n, const struct record *r, struct level *lv)
{
	const char *m, *rest;
	size_t mlen;

	if (!lv[0].have_path || !get_str(r, "app_kind", &n->tmp) || strcmp(n->tmp.p, "appimage") ||
	    !get_str(r, "app", &n->tmp) || !*n->tmp.p ||
	    !(m = strstr(lv[0].path.p, "/.mount_")) || !(rest = strchr(m + 1, '/')))
		return;
	mlen = (size_t)(rest - lv[0].path.p);
	for (int i = NLEVELS - 1; i >= 0; i--) {
		struct buf *p = &lv[i].path;
		struct buf inside = BUF_INIT;

		/* the process's own last: the others compare with its path */
		if (!lv[i].have_path || strlen(p->p) <= mlen || p->p[mlen] != '/' ||
		    memcmp(p->p, lv[0].path.p, mlen))
			continue;
		buf_puts(&inside, n->tmp.p);
		buf_putc(&inside, '!');
		buf_puts(&inside, p->p + mlen);
		buf_putc(&inside, '\0');
		if (!inside.oom) {
			buf_reset(p);
			buf_append(p, inside.p, inside.len);
		}
		buf_release(&inside);
	}
}

static void handle_flow(struct notify *n, const struct record *r)
{
	struct level lv[NLEVELS];
	char key[32];

	memset(lv, 0, sizeof(lv));
	for (int i = 0; i < NLEVELS; i++) {
		struct level *l = &lv[i];

		l->prefix = ancestry[i].prefix;
		l->role = ancestry[i].role;

		snprintf(key, sizeof(key), "%sexe_path", l->prefix);
		l->have_path = get_str(r, key, &l->path) && *l->path.p;
		snprintf(key, sizeof(key), "%sname", l->prefix);
		l->have_name = get_str(r, key, &l->name);
		if (!l->have_name) {
			snprintf(key, sizeof(key), "%scomm", l->prefix);
			l->have_name = get_str(r, key, &l->name);
		}
		snprintf(key, sizeof(key), "%sexe_sha256", l->prefix);
		l->have_sha = get_str(r, key, &l->sha) && strlen(l->sha.p) == 64;
		snprintf(key, sizeof(key), "%sexe_fileless", l->prefix);
		l->fileless = record_find(r, key) &&
			      record_find(r, key)->type == JSON_TRUE;
	}
	appimage_paths(n, r, lv);
	for (int i = 0; i < NLEVELS; i++)
		if (lv[i].have_path)	/* an executable is known by its path */
			check_level(n, r, &lv[i], &lv[0]);
	for (int i = 0; i < NLEVELS; i++) {
		buf_release(&lv[i].path);
		buf_release(&lv[i].name);
		buf_release(&lv[i].sha);
	}
}

/*
 * snitch-vt's verdict: engines that flag an executable are worth a
 * notification ("VirusTotal: curl flagged by 3 of 70 engines") and a line
 * in exe.log; a clean verdict, not_found or error is not.
 */
static void handle_verdict(struct notify *n, const struct record *r)
{
	struct buf sha = BUF_INIT, name = BUF_INIT, path = BUF_INIT, link = BUF_INIT;
	uint64_t mal, sus, engines = 0;
	char extra[160];

	if (!record_member_is(r, record_find(r, "status"), "known") ||
	    record_get_u64(r, "malicious", &mal) < 0 || record_get_u64(r, "suspicious", &sus) < 0 ||
	    mal + sus == 0 || !get_str(r, "sha256", &sha))
		goto out;
	(void)record_get_u64(r, "engines", &engines);
	bool have_path = get_str(r, "exe_path", &path);
	bool have_name = get_str(r, "name", &name);
	bool have_link = get_str(r, "link", &link);

	snprintf(extra, sizeof(extra), " malicious=%" PRIu64 " suspicious=%" PRIu64 " engines=%" PRIu64,
		 mal, sus, engines);
	exe_line(n, get_ts(r), "flagged", have_path ? path.p : "(path unknown)",
		 have_name ? name.p : NULL, sha.p, extra);

	buf_reset(&n->sum);
	buf_reset(&n->body);
	buf_puts(&n->sum, "VirusTotal: ");
	if (have_name)
		put_shown(&n->sum, name.p);
	else if (have_path)
		put_shown(&n->sum, strrchr(path.p, '/') ? strrchr(path.p, '/') + 1 : path.p);
	else
		buf_append(&n->sum, sha.p, 12);
	snprintf(extra, sizeof(extra), " flagged by %" PRIu64 " of %" PRIu64 " engines", mal + sus,
		 engines);
	buf_puts(&n->sum, extra);
	if (have_path) {
		put_shown(&n->body, path.p);
		buf_putc(&n->body, '\n');
	}
	buf_puts(&n->body, "sha256 ");
	buf_puts(&n->body, sha.p);
	if (have_link) {
		buf_putc(&n->body, '\n');
		put_shown(&n->body, link.p);
	}
	event(n, EV_FLAGGED);
out:
	buf_release(&sha);
	buf_release(&name);
	buf_release(&path);
	buf_release(&link);
}

static void on_record(void *ctx, struct stage *st, const char *line, size_t len)
{
	struct notify *n = ctx;
	struct record *r = &st->rec;
	const struct record_member *t = record_find(r, "type");
	const char *type = t && t->type == JSON_STRING ? record_val(r, t) : "";
	size_t tl = t ? t->val_len : 0;

	(void)line;
	(void)len;
	if (n->o->tee)
		record_write(r, &n->st.out.b);
#define IS(s) (tl == sizeof(s) + 1 && !memcmp(type + 1, s, sizeof(s) - 1))
	if (IS("flow"))
		handle_flow(n, r);
	else if (IS("modified"))
		handle_modified(n, r);
	else if (IS("lost"))
		handle_lost(n, r);
	else if (IS("error"))
		handle_error(n, r);
	else if (IS("verdict"))
		handle_verdict(n, r);
#undef IS
	if (n->log_err[0]) {
		char msg[sizeof(n->log_err)];

		memcpy(msg, n->log_err, sizeof(msg));
		n->log_err[0] = '\0';
		own_error(n, "log_write", "%s", msg);
	}
}

static void save_state(struct notify *n)
{
	int r = state_save(n->state, n->o->state, &n->perms);

	n->save_at = 0;
	if (r == 0) {
		n->save_failing = false;
		return;
	}
	if (!n->save_failing) {
		n->save_failing = true;
		own_error(n, "state_write", "cannot write the state file '%s': %s; known executables are kept in memory and written again",
			  n->o->state, strerror(-r));
	}
	n->save_at = clock_mono_ns() + 30 * SAVE_DELAY_NS;
}

/* Held notifications and the state file, when due. */
static uint64_t on_timer(void *ctx, struct stage *st, uint64_t now)
{
	struct notify *n = ctx;
	uint64_t wait = burst_tick(n->burst, now, n->o->log_dir, send_desktop, n);

	(void)st;
	if (n->save_at && now >= n->save_at)
		save_state(n);
	if (n->save_at && n->save_at - now < wait)
		wait = n->save_at > now ? n->save_at - now : 0;
	if (wait > 10 * 1000000000ULL)
		wait = 10 * 1000000000ULL;	/* also notices a notifier gone */
	return now + wait;
}

static const struct stage_ops notify_ops = {
	.on_record = on_record,
	.on_timer = on_timer,
	.on_own_error = on_input_error,
};

static const int exit_codes[] = {
	SNITCH_EXIT_OK, SNITCH_EXIT_USAGE, SNITCH_EXIT_IO, SNITCH_EXIT_SOFTWARE, -1,
};

/* Look for the desktop now, to say at once if there is none. */
static void greet_desktop(struct notify *n)
{
	if (desktop_connect(n->desk) == 0) {
		n->had_desktop = true;
		log_msg("notifying %s", desktop_who(n->desk));
	} else {
		n->warned_no_desktop = true;
		log_msg("no desktop notifications: %s; events are still logged in '%s' and '%s'",
			desktop_why(n->desk), n->exe_log_path, n->err_log_path);
	}
}

/*
 * The logs and the state, in directories made for them; the desktop
 * looked for; the state reloaded (a corrupt one moved aside and said).
 * -1, or an exit status.
 */
static int open_files(struct notify *n, const struct notify_opts *o)
{
	char err[512], moved[4200];
	int ret;

	if ((ret = perms_mkdirs(o->log_dir, &n->perms)) < 0 ||
	    (ret = perms_mkdirs_for(o->state, &n->perms)) < 0) {
		log_msg("cannot make the directories of '%s' and '%s': %s", o->log_dir, o->state,
			strerror(-ret));
		return SNITCH_EXIT_IO;
	}
	n->exe_log = open_log(n, "exe.log", n->exe_log_path, sizeof(n->exe_log_path));
	n->err_log = open_log(n, "error.log", n->err_log_path, sizeof(n->err_log_path));
	if (n->exe_log < 0 || n->err_log < 0) {
		log_msg("cannot open the logs in '%s': %s", o->log_dir, strerror(errno));
		return SNITCH_EXIT_IO;
	}
	n->burst = burst_new(o->max_per_min);
	n->desk = desktop_new(o);
	err[0] = '\0';
	n->state = state_load(o->state, moved, sizeof(moved), err, sizeof(err));
	if (!n->burst || !n->desk || !n->state) {
		log_msg("out of memory");
		return SNITCH_EXIT_SOFTWARE;
	}
	greet_desktop(n);
	if (moved[0]) {
		own_error(n, "state_corrupt", "the state file '%s' is not valid (%s): moved to '%s', a fresh state started",
			  o->state, err, moved);
		changed_state(n);
	} else if (err[0]) {
		own_error(n, "state_corrupt", "the state file '%s' is not valid (%s), a fresh state started",
			  o->state, err);
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct notify_opts o = {
		.state = "/var/lib/snitch/state.json",
		.log_dir = "/var/log/snitch",
		.max_per_min = 10,
		.mode = "0640",
	};
	const struct cli_opt opts[] = {
		{ .name = "state", .type = CLI_STRING, .value = &o.state, .metavar = "FILE",
		  .env = "SNITCH_STATE", .help = "the known executables, kept across restarts (made if missing)" },
		{ .name = "log-dir", .type = CLI_STRING, .value = &o.log_dir, .metavar = "DIR",
		  .env = "SNITCH_LOG_DIR", .help = "where exe.log and error.log are written (made if missing)" },
		{ .name = "user", .type = CLI_STRING, .value = &o.user, .metavar = "USER",
		  .env = "SNITCH_DESKTOP_USER", .help = "notify this user (default: SUDO_UID, else the active logind session)" },
		{ .name = "bus", .type = CLI_STRING, .value = &o.bus, .metavar = "ADDRESS",
		  .env = "SNITCH_DESKTOP_BUS", .help = "their session bus (default: unix:path=/run/user/UID/bus)" },
		{ .name = "max-per-min", .type = CLI_UINT, .value = &o.max_per_min, .metavar = "N",
		  .env = "SNITCH_NOTIFY_MAX_PER_MIN", .min = 1, .max = 1000,
		  .help = "show at most N notifications a minute; the rest are summarised" },
		{ .name = "no-desktop", .type = CLI_FLAG, .value = &o.no_desktop,
		  .env = "SNITCH_NO_DESKTOP", .help = "only write the logs and the state" },
		{ .name = "tee", .type = CLI_FLAG, .value = &o.tee, .env = "SNITCH_NOTIFY_TEE",
		  .help = "pass every input record on to standard output" },
		PERMS_CLI_OPTS(&o.owner, &o.group, &o.mode),
	};
	const struct cli cli = {
		.prog = STAGE,
		.usage = "[OPTION]... < RECORDS",
		.summary =
			"Notify the desktop, and log, when an executable not seen before (or a new\n"
			"name for one) connects, as the process, its parent or its grandparent (in\n"
			"its own words when it has no file on disk: a memfd, or deleted); when\n"
			"an executable's sha256 changes (a modified record, or a new hash at a known\n"
			"path); and when a stage reports lost records or an error. Known executables\n"
			"are kept in --state, written atomically within a second of a change.\n"
			"exe.log gets a dated line per new executable, name or hash; error.log one per\n"
			"error or loss. Notifications go over D-Bus (org.freedesktop.Notifications) to\n"
			"the desktop user's session bus, from a child process that runs as that user.\n"
			"Identical messages are coalesced and at most --max-per-min shown a minute; the\n"
			"rest are summarised in one. Writes its own error records on standard output.",
		.examples =
			"  sudo snitch-trace | snitch-resolve | snitch-hash | snitch-store --tee | snitch-notify\n"
			"  snitch-notify --user alice --max-per-min 5 < records.jsonl\n"
			"  snitch-notify --no-desktop --state ./state.json --log-dir ./logs < records.jsonl\n"
			"  jq . /var/lib/snitch/state.json; tail /var/log/snitch/exe.log\n",
		.opts = opts,
		.nopts = sizeof(opts) / sizeof(opts[0]),
		.exit_codes = exit_codes,
	};
	struct notify n;
	char err[512];
	int ret;

	if ((ret = stage_parse_cli(&cli, argc, argv)) >= 0)
		return ret;
	memset(&n, 0, sizeof(n));
	n.o = &o;
	if (perms_parse(&n.perms, o.owner, o.group, o.mode, err, sizeof(err)) < 0)
		return cli_usage_error(&cli, "%s", err);
	if (!*o.state || !*o.log_dir)
		return cli_usage_error(&cli, "--state and --log-dir must not be empty");
	if ((ret = stage_start(&n.st, &cli, "snitch-store --tee")) >= 0)
		return ret;
	/*
	 * The user snitch, its logs and state; CAP_SETUID and CAP_SETGID only,
	 * for the desktop child, which becomes the desktop user (found at run
	 * time: logins come and go) and gives them up; CAP_CHOWN only to
	 * give its files to --owner or --group.
	 */
	if (privs_drop(&(const struct privs){
		    .caps = PRIVS_CAP(CAP_SETUID) | PRIVS_CAP(CAP_SETGID) |
			    (n.perms.set_owner ? PRIVS_OWNER_CAPS : 0),
		    .allow = PRIVS_OPEN_WRITE | PRIVS_NET | PRIVS_FORK | PRIVS_SETUID }) < 0)
		return SNITCH_EXIT_NOPERM;
	if ((ret = open_files(&n, &o)) >= 0)
		return ret;
	stage_wake_at(&n.st, 0);
	ret = stage_run(&n.st, &notify_ops, &n);

	/* what is held goes out as one summary if the minute allows */
	burst_flush(n.burst, clock_mono_ns(), o.log_dir, send_desktop, &n);
	if (state_dirty(n.state) || n.save_at)
		save_state(&n);
	desktop_free(n.desk);
	ret = stage_finish(&n.st, ret);
	if (n.save_failing && ret == SNITCH_EXIT_OK)
		ret = SNITCH_EXIT_IO;
	close(n.exe_log);
	close(n.err_log);
	state_free(n.state);
	burst_free(n.burst);
	stage_release(&n.st);
	buf_release(&n.line);
	buf_release(&n.sum);
	buf_release(&n.body);
	buf_release(&n.tmp);
	return ret;
}
