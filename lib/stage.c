/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "emit.h"
#include "exitcode.h"
#include "heap.h"
#include "log.h"
#include "sig.h"
#include "stage.h"

/* Bytes of a malformed line quoted in its error record. */
#define QUOTE_MAX 200

int stage_init(struct stage *st, const char *name)
{
	/*
	 * A fixed mmap threshold: every block of 64 KiB or more (the input
	 * buffer, an output buffer grown by a backlog, a batch) is mapped on
	 * its own and unmapped when freed. glibc otherwise raises the
	 * threshold to the largest mapped block freed, and such blocks then
	 * come from the heap, push its top up past the small objects a cache
	 * keeps for hours, and leave holes no later request fits: bench/soak.sh
	 * saw snitch-resolve's heap reach 2.2 MB with 0.75 MB in use, and grow
	 * 50 KB a minute.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, STAGE_MMAP_THRESHOLD);
	memset(st, 0, sizeof(*st));
	st->name = name;
	st->wake_at = STAGE_NEVER;
	st->mail_fd = -1;
	st->ack = getenv("SNITCH_ACK") && !strcmp(getenv("SNITCH_ACK"), "1");
	if (st->ack) {
		static const char hello[] = STAGE_ACK_PREFIX "0,\"kept\":0}\n";

		/* first of all: this stage confirms (a stage that does not is
		 * relayed as it writes); nothing it starts is told so */
		(void)unsetenv("SNITCH_ACK");
		if (write_all(STDOUT_FILENO, hello, sizeof(hello) - 1) < 0)
			st->ack = false;
	}
	record_init(&st->rec);
	output_init(&st->out, STDOUT_FILENO);
	pthread_mutex_init(&st->mail_mu, NULL);
	st->mail_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (st->mail_fd < 0)
		return -errno;
	return linereader_init(&st->lr, STDIN_FILENO, RECORD_LINE_MAX);
}

int stage_parse_cli(const struct cli *cli, int argc, char **argv)
{
	int first, ret;

	log_init(cli->prog);
	ret = cli_parse(cli, argc, argv, &first);
	if (ret >= 0)
		return ret;
	if (first < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[first]);
	return -1;
}

int stage_start(struct stage *st, const struct cli *cli, const char *upstream)
{
	int e;

	if (isatty(STDIN_FILENO))
		return cli_usage_error(cli, "standard input is a terminal: it reads records, for example from %s",
				       upstream);
	if (sig_setup() < 0) {
		log_msg("cannot set up signal handling");
		return SNITCH_EXIT_SOFTWARE;
	}
	if ((e = stage_init(st, cli->prog)) < 0) {
		log_msg("cannot set up the stage: %s", strerror(-e));
		return SNITCH_EXIT_SOFTWARE;
	}
	return -1;
}

void stage_release(struct stage *st)
{
	linereader_release(&st->lr);
	record_release(&st->rec);
	output_release(&st->out);
	buf_release(&st->mail);
	free(st->held);
	st->held = NULL;
	st->nheld = st->held_cap = 0;
	pthread_mutex_destroy(&st->mail_mu);
	if (st->mail_fd >= 0)
		close(st->mail_fd);
	st->mail_fd = -1;
}

/* ---- records from other threads ---- */

void stage_post(struct stage *st, const char *records, size_t len)
{
	uint64_t one = 1;

	pthread_mutex_lock(&st->mail_mu);
	buf_append(&st->mail, records, len);
	pthread_mutex_unlock(&st->mail_mu);
	(void)!write(st->mail_fd, &one, sizeof(one));
}

static void take_mail(struct stage *st)
{
	pthread_mutex_lock(&st->mail_mu);
	if (st->mail.len) {
		buf_append(&st->out.b, st->mail.p, st->mail.len);
		buf_reset(&st->mail);
	}
	pthread_mutex_unlock(&st->mail_mu);
}

void stage_note_format(struct buf *b, const char *name, const char *type,
		       const char *reason, uint64_t count, const char *msg)
{
	if (!strcmp(type, "error")) {
		emit_error_begin(b, name, reason, msg);
	} else {
		emit_begin(b, "lost", clock_real_ns());
		emit_cstr(b, "stage", name);
		emit_cstr(b, "reason", reason);
		emit_u64(b, "count", count);
		emit_u64(b, "total", count);
		emit_cstr(b, "message", msg);
	}
	emit_end(b);
}

static void post_note(struct stage *st, const char *type, const char *code,
		      uint64_t count, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_limited("%s", msg);
	stage_note_format(&b, st->name, type, code, count, msg);
	if (!b.oom)
		stage_post(st, b.p, b.len);
	buf_release(&b);
}

void stage_post_error(struct stage *st, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	post_note(st, "error", code, 0, fmt, ap);
	va_end(ap);
}

void stage_post_lost(struct stage *st, const char *reason, uint64_t count,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	post_note(st, "lost", reason, count, fmt, ap);
	va_end(ap);
}

void stage_error(struct stage *st, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_limited("%s", msg);
	stage_note_format(&st->out.b, st->name, "error", code, 0, msg);
}

/* ---- confirmations (docs/reliability.md) ---- */

uint64_t stage_hold(struct stage *st)
{
	if (!st->ack)
		return st->line_off;
	if (st->nheld == st->held_cap) {
		size_t cap = st->held_cap ? st->held_cap * 2 : 64;
		uint64_t *p = realloc(st->held, cap * sizeof(*p));

		if (!p) {
			/* a held line it cannot name: it confirms nothing more */
			st->held_lost = true;
			return st->line_off;
		}
		st->held = p;
		st->held_cap = cap;
	}
	/* lines come in order: the list stays sorted */
	st->held[st->nheld++] = st->line_off;
	st->held_gen++;
	return st->line_off;
}

void stage_unhold(struct stage *st, uint64_t off)
{
	size_t lo = 0, hi = st->nheld;

	if (!st->ack || !st->held)
		return;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->held[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < st->nheld && st->held[lo] == off) {
		memmove(st->held + lo, st->held + lo + 1, (st->nheld - lo - 1) * sizeof(*st->held));
		st->nheld--;
		st->held_gen++;
	}
}

void stage_own_kept(struct stage *st)
{
	st->own_kept = true;
}

void stage_set_kept(struct stage *st, uint64_t off)
{
	__atomic_store_n(&st->kept, off, __ATOMIC_RELEASE);
}

void stage_put_ack(struct stage *st, struct buf *b, uint64_t kept, bool force)
{
	uint64_t k = st->own_kept ? kept : st->in_off;

	if (!st->ack || st->held_lost || st->nheld > STAGE_ACK_HELD_MAX)
		return;
	if (!force && st->acked_any && st->in_off == st->acked_in && k == st->acked_kept &&
	    st->held_gen == st->acked_gen)
		return;
	buf_puts(b, STAGE_ACK_PREFIX);
	buf_put_u64(b, st->in_off);
	buf_puts(b, ",\"kept\":");
	buf_put_u64(b, k);
	if (st->nheld) {
		buf_puts(b, ",\"held\":[");
		for (size_t i = 0; i < st->nheld; i++) {
			if (i)
				buf_putc(b, ',');
			buf_put_u64(b, st->held[i]);
		}
		buf_putc(b, ']');
	}
	buf_puts(b, "}\n");
	st->acked_any = true;
	st->acked_in = st->in_off;
	st->acked_kept = k;
	st->acked_gen = st->held_gen;
}

/*
 * {"type":"seek","in":N[,"quiet":Q]}: the supervisor replays; the next
 * line begins at offset N, and lines before Q had their output passed on
 * already.
 */
static void seek(struct stage *st, const char *line, size_t len, bool first)
{
	uint64_t in, quiet;

	if (record_parse(&st->rec, line, len, NULL) < 0 ||
	    record_get_u64(&st->rec, "in", &in) < 0)
		return;
	st->in_off = in;
	if (record_get_u64(&st->rec, "quiet", &quiet) == 0)
		st->quiet_below = quiet;
	if (first) {
		st->start_off = in;
		if (st->own_kept && !__atomic_load_n(&st->kept, __ATOMIC_ACQUIRE))
			stage_set_kept(st, in);
	}
}

/* ---- input ---- */

static void report(struct stage *st, const char *code, const char *what,
		   const char *line, size_t len, const size_t *offset,
		   size_t length)
{
	uint64_t lineno = st->lr.lineno;
	struct buf *b = &st->out.b;
	size_t at = b->len;
	char msg[256];

	if (offset)
		snprintf(msg, sizeof(msg), "line %llu: %s at byte %zu",
			 (unsigned long long)lineno, what, *offset);
	else
		snprintf(msg, sizeof(msg), "line %llu: %s",
			 (unsigned long long)lineno, what);
	log_limited("%s", msg);
	emit_error_begin(b, st->name, code, msg);
	emit_u64(b, "line", lineno);
	if (offset)
		emit_u64(b, "offset", *offset);
	if (line)
		emit_str(b, "input", line, len < QUOTE_MAX ? len : QUOTE_MAX);
	else
		emit_u64(b, "length", length);
	emit_end(b);
	if (st->ops->on_own_error && !b->oom)
		st->ops->on_own_error(st->ctx, st, code, msg, b->p + at, b->len - at - 1);
}

static void handle(struct stage *st, const char *line, size_t len)
{
	struct json_error err = { 0, "out of memory" };
	uint64_t v;

	if (record_parse(&st->rec, line, len, &err) < 0) {
		if (json_skip_ws(line, len, 0) == len)
			report(st, "malformed_input", "empty line", line, len, NULL, 0);
		else
			report(st, "malformed_input", err.what, line, len, &err.offset, 0);
		return;
	}
	if (record_get_u64(&st->rec, "v", &v) == 0 && v != RECORD_VERSION) {
		if (!st->warned_version) {
			struct buf *b = &st->out.b;
			size_t at = b->len;
			char msg[160];

			st->warned_version = true;
			snprintf(msg, sizeof(msg),
				 "line %llu: record version %llu is not understood; such records pass through unchanged",
				 (unsigned long long)st->lr.lineno, (unsigned long long)v);

			log_msg("%s", msg);
			stage_note_format(b, st->name, "error", "unsupported_version", 0, msg);
			if (st->ops->on_own_error && !b->oom)
				st->ops->on_own_error(st->ctx, st, "unsupported_version", msg,
						      b->p + at, b->len - at - 1);
		}
		record_write(&st->rec, &st->out.b);
		return;
	}
	st->ops->on_record(st->ctx, st, line, len);
}

/* Read once and hand on every whole line. 0, or a negative errno. */
static int read_input(struct stage *st)
{
	ssize_t n = linereader_fill(&st->lr);
	const char *line;
	size_t len;

	if (n < 0 && n != -EAGAIN && n != -EINTR && n != -ENOBUFS)
		return (int)n;
	st->batch++;
	for (;;) {
		enum line_status ls = linereader_next(&st->lr, &line, &len);
		uint64_t start = st->in_off;

		if (ls == LINE_AGAIN || ls == LINE_EOF)
			return 0;
		/* with its newline (one more for a last line without one) */
		st->in_off += len + 1;
		if (ls == LINE_TOO_LONG) {
			char what[128];

			snprintf(what, sizeof(what),
				 "line of %zu bytes is longer than the %u accepted",
				 len, RECORD_LINE_MAX);
			report(st, "line_too_long", what, NULL, 0, NULL, len);
			continue;
		}
		if (st->ack && len >= sizeof(STAGE_SEEK_PREFIX) - 1 &&
		    !memcmp(line, STAGE_SEEK_PREFIX, sizeof(STAGE_SEEK_PREFIX) - 1)) {
			seek(st, line, len, st->lr.lineno == st->seeks + 1);
			st->seeks++;
			continue;
		}
		st->line_off = start;
		if (start < st->quiet_below) {
			/* replayed: its output went on before */
			size_t at = st->out.b.len;

			handle(st, line, len);
			if (st->out.b.len > at)
				st->out.b.len = at;
		} else {
			handle(st, line, len);
		}
	}
}

/* ---- the loop ---- */

/*
 * Go on after a signal? Only after one SIGINT, until the end of input or
 * STAGE_DRAIN_NS: Ctrl-C on a shell pipeline signals every stage at once,
 * and the records already in the pipes are passed on, not dropped.
 */
static bool draining(struct stage *st, uint64_t now)
{
	if (sig_stop != SIGINT || sig_ints > 1)
		return false;
	if (!st->drain_until)
		st->drain_until = now + STAGE_DRAIN_NS;
	return now < st->drain_until;
}

/* Write what is buffered; a closed downstream ends the loop, quietly. */
static int flush(struct stage *st)
{
	if (st->out.b.len > st->out_peak)
		st->out_peak = st->out.b.len;
	if (output_flush(&st->out) == 0) {
		/*
		 * A backlog read at once (a megabyte of input, after the
		 * next stage was slow) leaves the buffer megabytes long:
		 * bench/soak.sh saw snitch-resolve's RSS jump 3.5 MB and
		 * stay. Written out, such a buffer goes back.
		 */
		if (st->out.b.cap > STAGE_OUT_KEEP)
			buf_release(&st->out.b);
		return 0;
	}
	if (st->out.err == -EPIPE) {
		st->out_closed = true;
		return 0;
	}
	return -1;
}

/*
 * The start of a turn: the timer when due, the mail, the ack, and what is
 * buffered written. -1 to go on, else the exit status: downstream closed,
 * a signal (but while draining), or the end of input.
 */
static int turn_begin(struct stage *st, uint64_t now)
{
	const struct stage_ops *ops = st->ops;
	uint64_t kept;

	if (ops->on_timer && now >= st->wake_at) {
		st->wake_at = STAGE_NEVER;
		stage_wake_at(st, ops->on_timer(st->ctx, st, now));
	}
	/* read before the mail: what was posted before it is taken */
	kept = __atomic_load_n(&st->kept, __ATOMIC_ACQUIRE);
	take_mail(st);
	stage_put_ack(st, &st->out.b, kept, st->out.b.len != 0);
	if (flush(st) < 0) {
		log_msg("cannot write standard output: %s", strerror(-st->out.err));
		return SNITCH_EXIT_IO;
	}
	if (st->out_closed || (sig_stop && !draining(st, now)))
		return SNITCH_EXIT_OK;
	if (st->lr.eof && (!ops->on_eof || ops->on_eof(st->ctx, st, now)))
		return SNITCH_EXIT_OK;
	return -1;
}

/* How long to wait: until the timer or the end of a drain; NULL, no limit. */
static struct timespec *wait_for(const struct stage *st, uint64_t now, struct timespec *ts)
{
	uint64_t at = st->wake_at, wait;

	if (st->wake_at == STAGE_NEVER && !st->drain_until)
		return NULL;
	if (st->drain_until && st->drain_until < at)
		at = st->drain_until;
	wait = at > now ? at - now : 0;
	ts->tv_sec = (time_t)(wait / 1000000000ULL);
	ts->tv_nsec = (long)(wait % 1000000000ULL);
	return ts;
}

/*
 * Once a minute, before a wait, the heap's free pages go back to the
 * system: a stage that runs for months then holds what it uses, not the
 * most it ever held (bench/soak.sh found snitch-resolve's heap three
 * quarters free: 2.4 of 3.3 MB, docs/reliability.md). A walk of the free
 * chunks: well under a millisecond for these heaps.
 */
static void trim_heap(struct stage *st, uint64_t now)
{
	if (now - st->trimmed_at >= STAGE_TRIM_NS) {
		st->trimmed_at = now;
		heap_trim();
	}
}

/* What the wait woke for: the mail's eventfd (fds[0]), the stage's own
 * descriptors (extra after it), the input (at in, or -1). */
static int turn_polled(struct stage *st, struct pollfd *fds, int extra, int in)
{
	if (fds[0].revents) {
		uint64_t posts;

		/* reset the eventfd; the mail itself is taken at the top */
		(void)!read(st->mail_fd, &posts, sizeof(posts));
	}
	if (extra && st->ops->on_fds) {
		bool any = false;

		for (int i = 1; i <= extra; i++)
			any |= fds[i].revents != 0;
		if (any)
			st->ops->on_fds(st->ctx, st, fds + 1, extra);
	}
	if (in >= 0 && fds[in].revents) {
		int e = read_input(st);

		if (e < 0) {
			log_msg("cannot read standard input: %s", strerror(-e));
			return SNITCH_EXIT_IO;
		}
	}
	return -1;
}

int stage_run(struct stage *st, const struct stage_ops *ops, void *ctx)
{
	st->ops = ops;
	st->ctx = ctx;
	for (;;) {
		struct pollfd fds[2 + STAGE_FDS_MAX];
		uint64_t now = clock_mono_ns();
		int n = 0, extra = 0, in = -1, rc;
		struct timespec ts;

		if ((rc = turn_begin(st, now)) >= 0)
			return rc;
		fds[n++] = (struct pollfd){ .fd = st->mail_fd, .events = POLLIN };
		if (ops->poll_fds)
			extra = ops->poll_fds(ctx, st, fds + n, STAGE_FDS_MAX);
		n += extra;
		if (!st->lr.eof && !st->pause_input) {
			in = n;
			fds[n++] = (struct pollfd){ .fd = st->lr.fd, .events = POLLIN };
		}
		trim_heap(st, now);
		rc = ppoll(fds, (nfds_t)n, wait_for(st, now, &ts), &sig_waitmask);
		if (rc < 0) {
			if (sig_wait_again(errno))
				continue;
			log_msg("poll: %s", strerror(errno));
			return SNITCH_EXIT_SOFTWARE;
		}
		if (rc > 0 && (rc = turn_polled(st, fds, extra, in)) >= 0)
			return rc;
	}
}

int stage_finish(struct stage *st, int ret)
{
	uint64_t kept = __atomic_load_n(&st->kept, __ATOMIC_ACQUIRE);

	take_mail(st);
	stage_put_ack(st, &st->out.b, kept, true);
	if (flush(st) < 0) {
		log_msg("cannot write standard output: %s", strerror(-st->out.err));
		if (ret == SNITCH_EXIT_OK)
			ret = SNITCH_EXIT_IO;
	}
	return ret;
}
