/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: runs snitch-trace | snitch-resolve | snitch-hash |
 * [snitch-vt |] snitch-store --tee [| snitch-remote --tee]
 * [| snitch-metrics --tee] | snitch-notify, with itself in every pipe
 * (snitch-vt only when a VirusTotal key is set, snitch-remote only when
 * SNITCH_REMOTE names a server, snitch-metrics only when
 * SNITCH_METRICS_LISTEN says where to serve).
 *
 * Each stage's standard output is read by the supervisor and written, in
 * whole lines, to the next stage's standard input. That costs a copy, and
 * buys what a shell pipeline cannot give:
 *
 * - A stage that dies is restarted alone, at once (later if it keeps
 *   dying), and the others never see it: the supervisor holds both ends
 *   of every stage's input pipe, so upstream never gets EPIPE and records
 *   not yet read wait in the pipe for the new process; downstream never
 *   gets EOF. A record the dead stage had half written is dropped and
 *   counted, never passed on as a broken line. snitch-trace keeps its BPF
 *   programs and snitch-store its open window through a restart of any
 *   other stage.
 * - The records per second of every stage, and the loss and error records
 *   that flow to the last stage, are counted for `snitch status`
 *   (run_dir/status.json, rewritten every second); lines are classified
 *   by their "type" member through the record library.
 * - A failure is written as an error (or lost) record that enters the
 *   stream at one point, snitch-store's input, between two whole lines
 *   (it is no process's record: snitch-resolve and snitch-hash have
 *   nothing to add to it, and one of them may be the stage that is down).
 *   From there it flows down like any other: snitch-store logs it,
 *   snitch-notify shows it (docs/architecture.md).
 * - The records that reach the last stage are also published on the live
 *   feed (publish.c): a unix socket any number of readers (snitch tail,
 *   snitch top) connect to. Its writes are non-blocking and each reader's
 *   queue is bounded, so no reader ever holds the pipeline back.
 * - Shutdown is in order: SIGTERM to snitch-trace, which flushes and
 *   exits; each next stage then gets EOF once it has read everything
 *   before it. Nothing accepted is lost on the way out.
 *
 * The stages run in their own process group, so a Ctrl-C at the terminal
 * reaches only the supervisor, which then stops them in that order.
 */
#include <errno.h>
#include <malloc.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ack.h"
#include "atomicfile.h"
#include "buf.h"
#include "clock.h"
#include "emit.h"
#include "exitcode.h"
#include "feed.h"
#include "heap.h"
#include "log.h"
#include "privs.h"
#include "perms.h"
#include "publish.h"
#include "ready.h"
#include "record.h"
#include "ring.h"
#include "sig.h"
#include "snitch.h"

#define NS 1000000000ULL
#define MS 1000000ULL
#define HIGH_WATER (8u << 20)		/* stop reading a stage whose next is this far behind */
#define LONG_LINE ((size_t)RECORD_LINE_MAX + 2)	/* past this a line is passed on as it comes */
#define PIPE_BYTES (1 << 20)
#define READY_CHILD_FD 3		/* SNITCH_READY_FD in the first stage */
#define READY_MAX_NS (15 * NS)		/* snitch-trace not tracing by then: started all the same */
#define QUEUE_KEEP (256u << 10)		/* an empty queue keeps at most this */
#define RATE_SLOTS 10			/* records per second: over the last 10 s */
#define RESTART_MIN_NS (100 * MS)
#define RESTART_MAX_NS (30 * NS)
#define STABLE_NS (30 * NS)		/* a stage that ran this long starts afresh */
#define READY_NS (2 * NS)		/* up this long: started */
#define RETAIN_MAX (64u << 20)		/* input kept for a replay, per stage */
#define HOLD_MAX (64u << 20)		/* output held until its ack, per stage */
#define ACK_KEEP (2u << 20)		/* hold keeps this much memory when empty */
#define TRIM_NS (60 * NS)		/* ret's memory follows its most kept in this long */

/* Where the supervisor's own records enter the stream. */
#define INJECT_AT ST_STORE

/* A byte queue: appended at the end, written from the head. */
struct queue {
	struct buf b;
	size_t head;
};

struct stage {
	const char *name;
	const char *args[3];		/* its options */
	char path[4096];
	pid_t pid;			/* 0: not running */
	int pidfd;
	int in_r, in_w;			/* its standard input; both ends kept */
	int out_r;			/* its standard output; -1 for the last */
	int ready_r;			/* the first stage's SNITCH_READY_FD pipe, or -1 */
	bool out_open;
	struct queue q;			/* lines waiting to go into in_w */
	struct buf partial;		/* the line it is writing, not yet whole */
	bool long_line;			/* part of an over-long line went on already */
	bool close_in;			/* stopping: close its input once q is empty */
	uint64_t started_ns, restart_at, backoff_ns, term_at, kill_at;
	uint64_t records;		/* whole lines it wrote */
	uint64_t rate_mark[RATE_SLOTS];
	uint64_t starts, cut;
	char last_exit[160];
	/*
	 * Confirmations (docs/reliability.md): every stage but the first
	 * says, in ack lines, up to where its input is done with. The
	 * input written to it since is kept in ret, to be replayed to its
	 * next instance; what it wrote since its last ack waits in hold.
	 */
	bool ack;
	bool confirms;			/* this instance's first line was an ack */
	bool kit;			/* an instance of it confirmed: replays go to it */
	struct ring ret;		/* its input from offset ret.base on */
	size_t q_replay;		/* bytes at q's head that are a replay (in ret already) */
	struct buf hold;
	bool unsafe;			/* hold went on before its ack (over HOLD_MAX) */
	uint64_t ack_in, ack_kept;	/* its last ack */
	uint64_t *held;			/* ... and the lines it held then */
	size_t nheld, held_cap;
	uint64_t unprot, unprot_end;	/* lines dropped from ret over RETAIN_MAX */
	uint64_t replayed;		/* bytes replayed to its new instances */
};

struct super {
	const struct opts *o;
	struct stage st[STAGES_MAX];
	int n;				/* stages in the pipeline; the last is snitch-notify */
	int devnull;
	bool stopping;
	int fatal;			/* an exit status that ends it all, or -1 */
	uint64_t started_real_ns, next_status, rate_tick, next_trim;
	unsigned rate_slot;
	int ready_fd;
	uint64_t ready_at;		/* up this long, and ... */
	bool source_ready;		/* ... snitch-trace said it traces: started */
	uint64_t ready_cap;		/* started without its word from here on */
	bool started;
	/* counted from the records that reach snitch-notify */
	struct lost { char key[96]; uint64_t count; } lost[64];
	size_t nlost;
	uint64_t errors, restarts;
	struct record rec;
	struct buf tmp;
	struct buf own;			/* its own records, until a line boundary */
	struct feed feed;		/* the live feed */
	char status_path[4200];
	char run_id[33];		/* SNITCH_RUN_ID: this run, for snitch-store's marks */
};

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void describe_exit(int status, char *out, size_t size)
{
	if (WIFEXITED(status))
		snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, size, "was killed by signal %d (%s)", WTERMSIG(status),
			 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
	else
		snprintf(out, size, "stopped (status 0x%x)", status);
}

/* ---- records the supervisor writes, into snitch-notify's input ---- */

static void inject_error(struct super *s, const char *code, const struct stage *about,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void inject_error(struct super *s, const char *code, const struct stage *about,
			 const char *fmt, ...)
{
	struct buf *b = &s->own;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg("%s", msg);
	emit_error_begin(b, PROG, code, msg);
	if (about) {
		emit_cstr(b, "process", about->name);
		if (about->pid)
			emit_u64(b, "pid", (uint64_t)about->pid);
	}
	emit_end(b);
}

static void count_lost(struct super *s, const char *stage, const char *reason, uint64_t n)
{
	char key[96];

	snprintf(key, sizeof(key), "%s %s", stage, reason);
	for (size_t i = 0; i < s->nlost; i++) {
		if (!strcmp(s->lost[i].key, key)) {
			s->lost[i].count += n;
			return;
		}
	}
	if (s->nlost < sizeof(s->lost) / sizeof(s->lost[0])) {
		snprintf(s->lost[s->nlost].key, sizeof(s->lost[0].key), "%s", key);
		s->lost[s->nlost++].count = n;
	}
}

static void inject_lost(struct super *s, const char *reason, uint64_t count, const char *msg)
{
	struct buf *b = &s->own;

	emit_begin(b, "lost", clock_real_ns());
	emit_cstr(b, "stage", PROG);
	emit_cstr(b, "reason", reason);
	emit_u64(b, "count", count);
	emit_u64(b, "total", count);
	emit_cstr(b, "message", msg);
	emit_end(b);
}

/* A line on its way to the last stage: count the errors and losses. */
static void watch_line(struct super *s, const char *line, size_t len)
{
	uint64_t count = 0;
	char type[16];

	if (record_peek_type(line, len, type, sizeof(type)) < 0)
		return;
	if (!strcmp(type, "error")) {
		s->errors++;
		return;
	}
	if (strcmp(type, "lost") || record_parse(&s->rec, line, len, NULL) < 0)
		return;
	if (record_get_u64(&s->rec, "count", &count) == 0 && count) {
		char stage[64] = "", reason[64] = "";

		buf_reset(&s->tmp);
		if (record_get_str(&s->rec, "stage", &s->tmp) == 0 && !s->tmp.oom)
			snprintf(stage, sizeof(stage), "%.*s", (int)s->tmp.len, s->tmp.p);
		buf_reset(&s->tmp);
		if (record_get_str(&s->rec, "reason", &s->tmp) == 0 && !s->tmp.oom)
			snprintf(reason, sizeof(reason), "%.*s", (int)s->tmp.len, s->tmp.p);
		if (stage[0] && reason[0])
			count_lost(s, stage, reason, count);
	}
}

/* ---- moving lines ---- */

static size_t queued(const struct queue *q)
{
	return q->b.len - q->head;
}

/* Lines on their way from stage i to the last stage: counted and published. */
static void watch_lines(struct super *s, int i, const char *p, size_t len)
{
	const char *end = p + len, *nl;

	if (i + 1 != s->n - 1)
		return;
	for (const char *l = p; l < end && (nl = memchr(l, '\n', (size_t)(end - l))); l = nl + 1) {
		watch_line(s, l, (size_t)(nl - l));
		feed_publish(&s->feed, l, (size_t)(nl - l) + 1);
	}
}

/* Whole lines of stage i for stage i + 1 (none after the last). */
static void forward(struct super *s, int i, const char *p, size_t len, bool watch)
{
	if (i + 1 >= s->n)
		return;
	if (watch)
		watch_lines(s, i, p, len);
	buf_append(&s->st[i + 1].q.b, p, len);
}

/* What stage i wrote since its last ack goes on. */
static void release_hold(struct super *s, int i)
{
	struct stage *st = &s->st[i];
	struct queue *q = i + 1 < s->n ? &s->st[i + 1].q : NULL;

	if (!st->hold.len)
		return;
	if (q && !queued(q) && !q->b.oom) {
		/* the next stage has nothing waiting: the buffers change places */
		struct buf t = q->b;

		watch_lines(s, i, st->hold.p, st->hold.len);
		q->b = st->hold;
		q->head = 0;
		st->hold = t;
		st->hold.len = 0;
	} else {
		forward(s, i, st->hold.p, st->hold.len, true);
		buf_reset(&st->hold);
	}
	if (st->hold.cap > ACK_KEEP)
		buf_release(&st->hold);
}

static size_t retained(const struct stage *st)
{
	return st->ret.len;
}

/* Input below off is done with: no replay needs it. */
static void retain_from(struct stage *st, uint64_t off)
{
	ring_drop_to(&st->ret, off);
}

/* n bytes written to stage i's input: kept until confirmed, within RETAIN_MAX. */
static void retain(struct stage *st, const char *p, size_t n)
{
	uint64_t cut, lines = 0;

	if (ring_append(&st->ret, p, n) < 0) {
		/* no memory to keep them: a replay can have neither them nor
		 * what was kept before them */
		for (uint64_t l = st->ret.base; l < ring_end(&st->ret); l = ring_find(&st->ret, l, '\n') + 1)
			lines++;
		for (const char *l = p, *nl; (nl = memchr(l, '\n', (size_t)(p + n - l))); l = nl + 1)
			lines++;
		ring_free(&st->ret);
		st->ret.base += n;	/* the stream goes on past them */
		st->unprot += lines;
		st->unprot_end = st->ret.base;
		return;
	}
	if (retained(st) <= RETAIN_MAX)
		return;
	/* the oldest go, in whole lines, down to RETAIN_MAX - 1 MiB */
	cut = ring_find(&st->ret, ring_end(&st->ret) - (RETAIN_MAX - (1u << 20)), '\n');
	if (cut < ring_end(&st->ret))
		cut++;
	for (uint64_t l = st->ret.base; l < cut; l = ring_find(&st->ret, l, '\n') + 1)
		lines++;
	retain_from(st, cut);
	st->unprot += lines;
	st->unprot_end = st->ret.base;
}

static bool parse_num(const char **p, const char *end, uint64_t *v)
{
	const char *q = *p;

	*v = 0;
	if (q >= end || *q < '0' || *q > '9')
		return false;
	for (; q < end && *q >= '0' && *q <= '9'; q++)
		*v = *v * 10 + (uint64_t)(*q - '0');
	*p = q;
	return true;
}

static bool parse_lit(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n))
		return false;
	*p += n;
	return true;
}

/*
 * {"type":"ack","in":N,"kept":K[,"held":[H,...]]}: stage i's output up to
 * here derives from its input below N (but the lines at H), which needs
 * no replay below K.
 */
static void take_ack(struct super *s, int i, const char *line, size_t len)
{
	struct stage *st = &s->st[i];
	const char *p = line + strlen(STAGE_ACK_PREFIX), *end = line + len;
	uint64_t in, kept, low;

	if (!parse_num(&p, end, &in) || !parse_lit(&p, end, ",\"kept\":") ||
	    !parse_num(&p, end, &kept))
		return;
	/*
	 * A new instance acks before it has read the seek line of its
	 * replay: what it says then is about less than the last ack did.
	 */
	if (in < st->ack_in)
		return;
	if (parse_lit(&p, end, ",\"held\":[")) {
		size_t want = 1;
		uint64_t h;

		for (const char *c = p; c < end && *c != ']'; c++)
			want += *c == ',';
		if (want > st->held_cap) {
			uint64_t *n = realloc(st->held, want * sizeof(*n));

			if (!n)
				return;	/* no memory for it: as if it had not come */
			st->held = n;
			st->held_cap = want;
		}
		st->nheld = 0;
		while (st->nheld < want && parse_num(&p, end, &h)) {
			st->held[st->nheld++] = h;
			if (!parse_lit(&p, end, ","))
				break;
		}
	} else {
		st->nheld = 0;
	}
	release_hold(s, i);
	st->unsafe = false;
	st->ack_in = in;
	st->ack_kept = kept;
	low = st->nheld && st->held[0] < kept ? st->held[0] : kept;
	retain_from(st, low);
	if (st->unprot && low >= st->unprot_end)
		st->unprot = 0;
}

/* One whole line of stage i (with its newline). */
static void take_line(struct super *s, int i, const char *p, size_t len)
{
	struct stage *from = &s->st[i];
	bool is_ack = from->ack && len > sizeof(STAGE_ACK_PREFIX) - 1 &&
		      !memcmp(p, STAGE_ACK_PREFIX, sizeof(STAGE_ACK_PREFIX) - 1);

	if (from->ack && !from->confirms && !is_ack) {
		/* not a stage of the kit (a stand-in): relayed as it writes */
		from->ack = false;
		ring_free(&from->ret);
	}
	if (!from->ack) {
		forward(s, i, p, len, !from->long_line);
		from->records++;
		return;
	}
	if (is_ack) {
		from->confirms = from->kit = true;
		take_ack(s, i, p, len - 1);
		return;
	}
	buf_append(&from->hold, p, len);
	from->records++;
	if (from->hold.len > HOLD_MAX) {
		/* no ack for too long: on it goes, and a replay may repeat it */
		release_hold(s, i);
		from->unsafe = true;
	}
}

/*
 * Bytes read from stage i: whole lines go on to stage i + 1 (held until
 * their ack when stage i confirms). A line that spans two reads waits in
 * 'partial' and goes on whole, once; the supervisor's own records reach
 * a queue only between lines (deliver_own()).
 */
static void take_output(struct super *s, int i, const char *p, size_t n)
{
	struct stage *from = &s->st[i];
	const char *end = p + n, *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		size_t len = (size_t)(nl - p) + 1;	/* with its newline */

		if (from->partial.len) {
			/* the line began in an earlier read: finish it there */
			buf_append(&from->partial, p, len);
			take_line(s, i, from->partial.p, from->partial.len);
			from->partial.len = 0;
		} else {
			take_line(s, i, p, len);
		}
		from->long_line = false;
		p = nl + 1;
	}
	buf_append(&from->partial, p, (size_t)(end - p));
	if (from->partial.len > LONG_LINE) {
		/* longer than any stage accepts: the next stage reports it */
		if (from->ack)
			buf_append(&from->hold, from->partial.p, from->partial.len);
		else
			forward(s, i, from->partial.p, from->partial.len, false);
		from->partial.len = 0;
		from->long_line = true;
	}
}

/*
 * The supervisor's own records join the stream at INJECT_AT's input, but
 * never inside a line: not while the stage before is in the middle of an
 * over-long one, which goes on in pieces.
 */
static void deliver_own(struct super *s)
{
	if (!s->own.len || s->st[INJECT_AT - 1].long_line)
		return;
	buf_append(&s->st[INJECT_AT].q.b, s->own.p, s->own.len);
	buf_reset(&s->own);
}

/* Read what stage i wrote. Returns false at EOF. */
static bool read_output(struct super *s, int i, size_t max)
{
	struct stage *st = &s->st[i];
	char chunk[65536];

	while (max) {
		ssize_t n = read(st->out_r, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		take_output(s, i, chunk, (size_t)n);
		max = (size_t)n < max ? max - (size_t)n : 0;
	}
	return true;
}

static void write_input(struct super *s, int i)
{
	struct stage *st = &s->st[i];
	struct queue *q = &st->q;

	while (queued(q) && st->in_w >= 0) {
		ssize_t n = write(st->in_w, q->b.p + q->head, queued(q));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN) {
				inject_error(s, "relay_failed", st, "cannot write to %s: %s; its input is dropped",
					     st->name, strerror(errno));
				q->head = q->b.len;
				st->q_replay = 0;
			}
			break;
		}
		if (st->ack) {
			size_t r = (size_t)n < st->q_replay ? (size_t)n : st->q_replay;

			st->q_replay -= r;
			if ((size_t)n > r)
				retain(st, q->b.p + q->head + r, (size_t)n - r);
		}
		q->head += (size_t)n;
	}
	if (q->head == q->b.len) {
		q->b.len = 0;
		q->head = 0;
		/* drained after a burst: its memory goes back (bench/soak.sh
		 * saw the supervisor keep each queue's high-water mark) */
		if (q->b.cap > QUEUE_KEEP)
			buf_release(&q->b);
	} else if (q->head > (1u << 20) && q->head > q->b.len / 2) {
		memmove(q->b.p, q->b.p + q->head, queued(q));
		q->b.len -= q->head;
		q->head = 0;
	}
}

static void close_input(struct stage *st)
{
	if (st->in_w >= 0)
		close(st->in_w);
	if (st->in_r >= 0)
		close(st->in_r);
	st->in_w = st->in_r = -1;
}

/* ---- starting and losing stages ---- */

static int make_input(struct super *s, int i)
{
	struct stage *st = &s->st[i];
	int p[2];

	if (i == 0) {
		st->in_r = dup(s->devnull);
		st->in_w = -1;
		return st->in_r < 0 ? -errno : 0;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	(void)fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
	(void)fcntl(p[1], F_SETFL, O_NONBLOCK);
	st->in_r = p[0];
	st->in_w = p[1];
	return 0;
}

static void put_seek(struct buf *b, uint64_t in, uint64_t quiet)
{
	buf_puts(b, STAGE_SEEK_PREFIX);
	buf_put_u64(b, in);
	buf_puts(b, ",\"quiet\":");
	buf_put_u64(b, quiet);
	buf_puts(b, "}\n");
}

/*
 * Stage i died: its next instance gets, on a new pipe, the input it had
 * not confirmed, then what was waiting. The lines it held (and had not
 * written) first, each after a seek line that gives its offset; then
 * everything from its kept offset, with "quiet" up to its last ack: the
 * output of those lines went on already (snitch-store's window).
 */
static int replay_input(struct super *s, int i)
{
	struct stage *st = &s->st[i];
	struct queue *q = &st->q;
	uint64_t end = ring_end(&st->ret), from = st->ack_kept;
	size_t fresh = q->head + st->q_replay, nheld = 0;
	struct buf r = BUF_INIT;
	int e;

	for (size_t k = 0; k < st->nheld; k++) {
		uint64_t h = st->held[k], nl;

		if (h < st->ret.base || h >= from || h >= end)
			continue;
		if ((nl = ring_find(&st->ret, h, '\n')) == end)
			continue;
		put_seek(&r, h, 0);
		ring_copy(&st->ret, h, (size_t)(nl + 1 - h), &r);
		nheld++;
	}
	if (from < st->ret.base)
		from = st->ret.base;	/* older ones were dropped: counted */
	if (from > end)
		from = end;
	put_seek(&r, from, st->ack_in);
	ring_copy(&st->ret, from, (size_t)(end - from), &r);
	st->replayed += r.len;
	log_msg("%s: replaying %zu held records and %" PRIu64 " bytes from offset %" PRIu64
		" (%" PRIu64 " of them passed on already) to its next instance",
		st->name, nheld, end - from, from, st->ack_in > from ? st->ack_in - from : 0);
	buf_append(&r, q->b.p + fresh, q->b.len - fresh);
	if (r.oom) {
		buf_release(&r);
		return -ENOMEM;
	}
	st->q_replay = r.len - (q->b.len - fresh);
	buf_release(&q->b);
	q->b = r;
	q->head = 0;
	/* what the old pipe holds is in the replay */
	close_input(st);
	if ((e = make_input(s, i)) < 0)
		return e;
	return 0;
}

/*
 * In the child: its own process group, plain signals, its input and output
 * pipes (its output /dev/null when it has none), descriptor 3 the ready
 * pipe of the source, the environment that is its own; then the stage.
 */
static _Noreturn void exec_stage(struct super *s, struct stage *st, int out_w, int rdy_w)
{
	char *argv[4] = { (char *)st->name, (char *)st->args[0], (char *)st->args[1], NULL };
	sigset_t none;

	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(st->in_r, STDIN_FILENO) < 0 ||
	    dup2(out_w >= 0 ? out_w : s->devnull, STDOUT_FILENO) < 0)
		_exit(SNITCH_EXIT_SOFTWARE);
	(void)unsetenv(READY_FD_ENV);
	(void)unsetenv("NOTIFY_SOCKET");	/* the supervisor is the service */
	if (rdy_w >= 0) {
		/* as descriptor 3, open across the exec */
		if (rdy_w == READY_CHILD_FD ? fcntl(rdy_w, F_SETFD, 0) < 0 :
		    dup2(rdy_w, READY_CHILD_FD) < 0)
			_exit(SNITCH_EXIT_SOFTWARE);
		(void)setenv(READY_FD_ENV, "3", 1);
		close_range(READY_CHILD_FD + 1, ~0U, 0);
	} else {
		close_range(3, ~0U, 0);
	}
	/* the VirusTotal key is snitch-vt's alone */
	if (strcmp(st->name, "snitch-vt"))
		(void)unsetenv("SNITCH_VT_API_KEY");
	if (st->ack) {
		(void)setenv("SNITCH_ACK", "1", 1);
		(void)setenv("SNITCH_RUN_ID", s->run_id, 1);
	} else {
		(void)unsetenv("SNITCH_ACK");
	}
	execv(st->path, argv);
	fprintf(stderr, "%s: cannot run '%s': %s\n", PROG, st->path, strerror(errno));
	_exit(errno == ENOENT ? SNITCH_EXIT_UNAVAILABLE : SNITCH_EXIT_NOPERM);
}

static int start_stage(struct super *s, int i)
{
	struct stage *st = &s->st[i];
	int out[2] = { -1, -1 }, rdy[2] = { -1, -1 };
	pid_t pid;

	/* the last stage writes only its acks */
	if (i != s->n - 1 || st->ack) {
		if (pipe2(out, O_CLOEXEC) < 0)
			return -errno;
		(void)fcntl(out[1], F_SETPIPE_SZ, PIPE_BYTES);
	}
	/* the source says when it traces (lib/ready.h) */
	if (i == 0 && !s->started && pipe2(rdy, O_CLOEXEC) < 0) {
		int e = errno;

		if (out[0] >= 0)
			close(out[0]), close(out[1]);
		return -e;
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		if (out[0] >= 0)
			close(out[0]), close(out[1]);
		if (rdy[0] >= 0)
			close(rdy[0]), close(rdy[1]);
		return -e;
	}
	if (pid == 0)
		exec_stage(s, st, out[1], rdy[1]);
	if (out[1] >= 0) {
		close(out[1]);
		(void)fcntl(out[0], F_SETFL, O_NONBLOCK);
	}
	if (rdy[1] >= 0) {
		close(rdy[1]);
		(void)fcntl(rdy[0], F_SETFL, O_NONBLOCK);
		if (st->ready_r >= 0)
			close(st->ready_r);
		st->ready_r = rdy[0];
	}
	st->out_r = out[0];
	st->out_open = out[0] >= 0;
	st->pid = pid;
	st->confirms = false;
	st->pidfd = pidfd_open_(pid);
	st->started_ns = clock_mono_ns();
	st->restart_at = 0;
	st->starts++;
	if (st->starts > 1)
		s->restarts++;
	s->next_status = 0;
	return 0;
}

/*
 * A confirming stage died while running: what it had not confirmed is
 * replayed to the next one it starts, and what cannot be is told.
 */
static void replay_after_death(struct super *s, int i, int status)
{
	struct stage *st = &s->st[i];
	int e;

	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		/* what it wrote after its last ack is written again by the next */
		buf_reset(&st->hold);
		st->partial.len = 0;
		st->long_line = false;
	}
	if (st->unsafe)
		inject_error(s, "replay_repeats", st,
			     "%s wrote %u MiB without a confirmation, passed on before it died: its replay repeats records",
			     st->name, HOLD_MAX >> 20);
	st->unsafe = false;
	if (st->unprot) {
		char msg[200];

		snprintf(msg, sizeof(msg),
			 "%s died with more than %u MiB of input not confirmed: the oldest %" PRIu64 " records cannot be replayed",
			 st->name, RETAIN_MAX >> 20, st->unprot);
		inject_lost(s, "replay_overflow", st->unprot, msg);
		st->unprot = 0;
	}
	if ((e = replay_input(s, i)) < 0)
		inject_error(s, "replay_failed", st, "cannot replay the input of %s: %s",
			     st->name, strerror(-e));
}

/* A record it was writing when it stopped: cut off, and told as lost. */
static void drop_cut_record(struct super *s, int i)
{
	struct stage *st = &s->st[i];
	char msg[160];

	if (!st->partial.len && !st->long_line)
		return;
	if (st->long_line && i + 1 < s->n)
		buf_putc(&s->st[i + 1].q.b, '\n');	/* end what went on */
	st->partial.len = 0;
	st->long_line = false;
	st->cut++;
	if (s->stopping)
		return;
	snprintf(msg, sizeof(msg), "a record %s was writing when it stopped was cut off and dropped",
		 st->name);
	inject_lost(s, "stage_died", 1, msg);
}

/*
 * Not while stopping: restart it after a delay that doubles while it
 * keeps dying soon after a start, or stop all when it cannot run as
 * configured (it will not on a second try).
 */
static void after_death(struct super *s, int i, int status, const char *how, uint64_t now)
{
	struct stage *st = &s->st[i];
	uint64_t ran = now - st->started_ns;
	bool fatal_code;

	fatal_code = WIFEXITED(status) &&
		     (WEXITSTATUS(status) == SNITCH_EXIT_USAGE ||
		      WEXITSTATUS(status) == SNITCH_EXIT_NOPERM ||
		      (WEXITSTATUS(status) == SNITCH_EXIT_UNAVAILABLE && st->starts == 1 &&
		       ran < READY_NS));
	if (fatal_code) {
		log_msg("%s %s: it cannot run as configured (its message is above); stopping",
			st->name, how);
		s->fatal = WEXITSTATUS(status);
		return;
	}
	if (ran >= STABLE_NS)
		st->backoff_ns = RESTART_MIN_NS;
	else
		st->backoff_ns = st->backoff_ns ? st->backoff_ns * 2 : RESTART_MIN_NS;
	if (st->backoff_ns > RESTART_MAX_NS)
		st->backoff_ns = RESTART_MAX_NS;
	st->restart_at = now + st->backoff_ns;
	inject_error(s, "stage_died", st, "%s %s after %.1f s; restarting it in %.1f s",
		     st->name, how, (double)ran / NS, (double)st->backoff_ns / NS);
}

static void lost_stage(struct super *s, int i, int status)
{
	struct stage *st = &s->st[i];
	char how[96];

	/* what it wrote before it died still goes on */
	if (st->out_open) {
		while (read_output(s, i, SIZE_MAX))
			;
		close(st->out_r);
		st->out_r = -1;
		st->out_open = false;
	}
	if (st->ack && st->kit && !s->stopping)
		replay_after_death(s, i, status);
	release_hold(s, i);
	drop_cut_record(s, i);
	if (st->pidfd >= 0)
		close(st->pidfd);
	st->pidfd = -1;
	describe_exit(status, how, sizeof(how));
	snprintf(st->last_exit, sizeof(st->last_exit), "%s", how);
	st->pid = 0;
	s->next_status = 0;	/* snitch status shows it at once */
	if (!s->stopping) {
		after_death(s, i, status, how, clock_mono_ns());
		return;
	}
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		log_msg("%s %s while stopping", st->name, how);
	if (i + 1 < s->n)
		s->st[i + 1].close_in = true;
}

static void reap(struct super *s)
{
	for (int i = 0; i < s->n; i++) {
		struct stage *st = &s->st[i];
		int status;

		if (st->pid > 0 && waitpid(st->pid, &status, WNOHANG) == st->pid)
			lost_stage(s, i, status);
	}
}

/* ---- status ---- */

/* Memory the supervisor's buffers for stage st hold, used or not. */
static size_t stage_buffers(const struct stage *st)
{
	return st->q.b.cap + st->partial.cap + st->hold.cap + st->ret.cap +
	       st->held_cap * sizeof(*st->held);
}

/*
 * Where the supervisor's memory is: its buffers (the stages', the live
 * feed's readers', its own) and what malloc holds, in its heap and in
 * mappings of their own (every block over M_MMAP_THRESHOLD).
 */
static void put_memory(const struct super *s, struct buf *b)
{
	struct heap_use h = heap_use();
	size_t bufs = s->tmp.cap + s->own.cap + s->feed.tmp.cap;

	for (int i = 0; i < s->n; i++)
		bufs += stage_buffers(&s->st[i]);
	for (int i = 0; i < s->feed.n; i++)
		bufs += s->feed.r[i]->q.cap;
	emit_key(b, "memory");
	buf_puts(b, "{\"buffer_bytes\":");
	buf_put_u64(b, bufs);
	emit_u64(b, "heap_bytes", h.held);
	emit_u64(b, "heap_used_bytes", h.used);
	emit_u64(b, "mapped_bytes", h.mapped);
	buf_putc(b, '}');
}

static void write_status(struct super *s)
{
	static const struct file_perms status_perms = { .mode = 0644 };
	uint64_t now_real = clock_real_ns(), now = clock_mono_ns();
	struct buf b = BUF_INIT;

	emit_begin(&b, "status", now_real);
	emit_u64(&b, "pid", (uint64_t)getpid());
	emit_u64(&b, "started_ns", s->started_real_ns);
	emit_cstr(&b, "state", s->stopping ? "stopping" : s->started ? "running" : "starting");
	emit_u64(&b, "restarts", s->restarts);
	emit_u64(&b, "errors", s->errors);
	emit_key(&b, "stages");
	buf_putc(&b, '[');
	for (int i = 0; i < s->n; i++) {
		struct stage *st = &s->st[i];
		unsigned oldest = (s->rate_slot + 1) % RATE_SLOTS;
		uint64_t span = s->rate_tick ? RATE_SLOTS - 1 : 0;
		/* the last stage writes nothing on: the records it was given */
		const struct stage *counted = i == s->n - 1 ? &s->st[i - 1] : st;
		uint64_t recs = counted->records, mark = counted->rate_mark[oldest];

		if (i)
			buf_putc(&b, ',');
		buf_puts(&b, "{\"name\":");
		json_put_cstr(&b, st->name);
		emit_u64(&b, "pid", (uint64_t)st->pid);
		emit_bool(&b, "alive", st->pid > 0);
		emit_u64(&b, "starts", st->starts);
		/* records it wrote (snitch-notify: records it was given) */
		emit_u64(&b, "records", recs);
		emit_u64(&b, "records_per_s", span && recs >= mark ? (recs - mark) / span : 0);
		emit_u64(&b, "queued_bytes", queued(&st->q));
		emit_u64(&b, "cut_records", st->cut);
		emit_u64(&b, "unconfirmed_bytes", retained(st));
		emit_u64(&b, "replayed_bytes", st->replayed);
		emit_u64(&b, "buffer_bytes", stage_buffers(st));
		emit_cstr(&b, "last_exit", st->last_exit);
		emit_u64(&b, "restart_in_ms",
			 st->restart_at > now ? (st->restart_at - now) / MS : 0);
		buf_putc(&b, '}');
	}
	buf_putc(&b, ']');
	put_memory(s, &b);
	emit_key(&b, "lost");
	buf_putc(&b, '{');
	for (size_t i = 0; i < s->nlost; i++) {
		if (i)
			buf_putc(&b, ',');
		json_put_cstr(&b, s->lost[i].key);
		buf_putc(&b, ':');
		buf_put_u64(&b, s->lost[i].count);
	}
	buf_putc(&b, '}');
	if (s->feed.lfd >= 0) {
		emit_key(&b, "feed");
		buf_puts(&b, "{\"socket\":");
		json_put_cstr(&b, s->feed.path);
		emit_u64(&b, "readers", (uint64_t)s->feed.n);
		emit_u64(&b, "connections", s->feed.accepted);
		emit_u64(&b, "published", s->feed.published);
		emit_u64(&b, "refused", s->feed.refused);
		emit_u64(&b, "missed", s->feed.missed);
		buf_putc(&b, '}');
	}
	emit_end(&b);
	if (b.oom)
		goto out;
	/*
	 * run-time state rewritten every second (in /run): no fsync, see
	 * ATOMIC_NO_SYNC. For anyone to read, whatever the umask (the unit's
	 * is 0027): snitch status, and snitch-metrics, which serves it as
	 * the user nobody.
	 */
	(void)atomic_write_file(s->status_path, b.p, b.len, 0644, &status_perms, ATOMIC_NO_SYNC);
out:
	buf_release(&b);
}

/* ---- the loop ---- */

/* Once a second: the rates, the kept input's memory, status.json. */
static void tick(struct super *s, uint64_t now)
{
	if (now >= s->rate_tick + NS) {
		s->rate_slot = (s->rate_slot + 1) % RATE_SLOTS;
		for (int i = 0; i < s->n; i++)
			s->st[i].rate_mark[s->rate_slot] = s->st[i].records;
		s->rate_tick = now;
	}
	if (now >= s->next_trim) {
		for (int i = 0; i < s->n; i++)
			ring_trim(&s->st[i].ret);
		s->next_trim = now + TRIM_NS;
	}
	write_status(s);
	s->next_status = now + NS;
}

static void signal_ready(struct super *s, int code)
{
	unsigned char c = (unsigned char)code;

	if (s->ready_fd < 0)
		return;
	(void)!write(s->ready_fd, &c, 1);
	close(s->ready_fd);
	s->ready_fd = -1;
}

static bool all_gone(const struct super *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->st[i].pid > 0)
			return false;
	return true;
}

/*
 * systemd's readiness protocol (sd_notify(3)): one datagram to the
 * socket $NOTIFY_SOCKET names ('@': an abstract one), under a unit of
 * Type=notify. Without the variable, nothing.
 */
static void notify_systemd(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t n = path ? strlen(path) : 0;
	int fd;

	if (n < 2 || n >= sizeof(a.sun_path) || (path[0] != '/' && path[0] != '@'))
		return;
	memcpy(a.sun_path, path, n);
	if (path[0] == '@')
		a.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&a,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0)
		log_msg("cannot tell systemd '%s' on '%s': %s", msg, path, strerror(errno));
	close(fd);
}

static void begin_stop(struct super *s, const char *why)
{
	uint64_t now = clock_mono_ns(), t = s->o->stop_timeout_s * NS;

	if (s->stopping)
		return;
	s->stopping = true;
	log_msg("stopping (%s): each stage flushes and exits in turn", why);
	notify_systemd("STOPPING=1");
	for (int i = 0; i < s->n; i++) {
		s->st[i].restart_at = 0;
		s->st[i].kill_at = now + t;
	}
	if (s->st[0].pid > 0) {
		kill(s->st[0].pid, SIGTERM);
	} else {
		s->st[1].close_in = true;
	}
	/* stages that are down pass the end on */
	for (int i = 1; i + 1 < s->n; i++)
		if (s->st[i].pid <= 0)
			s->st[i + 1].close_in = true;
}

/* The first stage's word that it traces (lib/ready.h), or its end. */
static void read_ready(struct super *s, struct stage *st)
{
	char c;
	ssize_t n = read(st->ready_r, &c, 1);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 1)
		s->source_ready = true;
	close(st->ready_r);
	st->ready_r = -1;
}

/*
 * Up READY_NS without a stage that cannot run, and snitch-trace traces:
 * from here on traffic is seen. snitch start returns, and the live feed
 * lets readers in.
 */
static void start_done(struct super *s)
{
	char err[4400];

	s->started = true;
	if (!s->source_ready)
		log_msg("%s has not said within %llu s that it traces; going on without its word",
			s->st[0].name, READY_MAX_NS / NS);
	if (feed_listen(&s->feed, err, sizeof(err)) < 0)
		log_msg("no live feed: %s", err);
	log_msg("started: traffic is counted from here on%s%s",
		s->feed.listening ? "; the live feed is open on " : "",
		s->feed.listening ? s->feed.path : "");
	signal_ready(s, 0);
	notify_systemd("READY=1");
}

/* What a descriptor polled for a stage is. */
enum stage_fd { FD_OUTPUT, FD_INPUT, FD_PIDFD, FD_READY };

struct polled {
	struct pollfd p[4 * STAGES_MAX + 1 + FEED_READERS_MAX];
	int who[4 * STAGES_MAX];
	enum stage_fd kind[4 * STAGES_MAX];
	int n;
};

static void poll_add(struct polled *pl, int fd, short events, int who, enum stage_fd kind)
{
	pl->p[pl->n] = (struct pollfd){ .fd = fd, .events = events };
	pl->who[pl->n] = who;
	pl->kind[pl->n++] = kind;
}

/*
 * A stage's timers: its restart when due, closing its input once drained
 * and killing it when it outlives the stop timeout. *next: the earliest
 * restart to come.
 */
static void stage_timers(struct super *s, int i, uint64_t now, uint64_t *next)
{
	struct stage *st = &s->st[i];

	if (!s->stopping && !st->pid && st->restart_at && now >= st->restart_at) {
		int e = start_stage(s, i);

		if (e < 0) {
			inject_error(s, "stage_start", st, "cannot start %s: %s", st->name,
				     strerror(-e));
			st->restart_at = now + RESTART_MAX_NS;
		}
	}
	if (!s->stopping && st->restart_at && st->restart_at < *next)
		*next = st->restart_at;
	if (s->stopping && st->close_in && !queued(&st->q) && st->in_r >= 0)
		close_input(st);
	if (s->stopping && st->pid > 0 && now >= st->kill_at) {
		log_msg("%s did not stop in %" PRIu64 " s: killing it", st->name,
			s->o->stop_timeout_s);
		kill(st->pid, SIGKILL);
		st->kill_at = UINT64_MAX;
	}
}

/* A stage's descriptors to wait on. Its output is read only while the next
 * stage's queue is under HIGH_WATER: back-pressure. */
static void stage_poll(struct super *s, int i, struct polled *pl)
{
	struct stage *st = &s->st[i];

	if (st->out_open && (i + 1 >= s->n || queued(&s->st[i + 1].q) < HIGH_WATER))
		poll_add(pl, st->out_r, POLLIN, i, FD_OUTPUT);
	if (queued(&st->q) && st->in_w >= 0)
		poll_add(pl, st->in_w, POLLOUT, i, FD_INPUT);
	if (st->pid > 0 && st->pidfd >= 0)
		poll_add(pl, st->pidfd, POLLIN, i, FD_PIDFD);
	if (st->ready_r >= 0)
		poll_add(pl, st->ready_r, POLLIN, i, FD_READY);
}

/* What the stages' descriptors said (a pidfd is for reap()). */
static void stage_events(struct super *s, const struct polled *pl)
{
	for (int k = 0; k < pl->n; k++) {
		struct stage *st = &s->st[pl->who[k]];

		if (!pl->p[k].revents)
			continue;
		if (pl->kind[k] == FD_OUTPUT && !read_output(s, pl->who[k], 1u << 20)) {
			/* its output closed: it is gone, or going */
			close(st->out_r);
			st->out_r = -1;
			st->out_open = false;
		}
		if (pl->kind[k] == FD_INPUT)
			write_input(s, pl->who[k]);
		if (pl->kind[k] == FD_READY)
			read_ready(s, st);
	}
}

static int loop(struct super *s)
{
	while (!all_gone(s) || !s->stopping) {
		struct polled pl = { .n = 0 };
		uint64_t now = clock_mono_ns(), next = now + 250 * MS;
		struct timespec ts;
		int r, nfeed;

		if (sig_stop && !s->stopping)
			begin_stop(s, "signal");
		if (s->fatal >= 0 && !s->stopping)
			begin_stop(s, "a stage cannot run");
		for (int i = 0; i < s->n; i++) {
			stage_timers(s, i, now, &next);
			stage_poll(s, i, &pl);
		}
		nfeed = feed_poll_fds(&s->feed, pl.p + pl.n, 1 + FEED_READERS_MAX);
		if (!s->started && !s->stopping && now >= s->ready_at &&
		    (s->source_ready || now >= s->ready_cap))
			start_done(s);
		if (now >= s->next_status)
			tick(s, now);
		if (s->next_status < next)
			next = s->next_status;
		now = clock_mono_ns();
		ts.tv_sec = next > now ? (time_t)((next - now) / NS) : 0;
		ts.tv_nsec = next > now ? (long)((next - now) % NS) : 0;
		r = ppoll(pl.p, (nfds_t)(pl.n + nfeed), &ts, &sig_waitmask);
		if (r < 0 && !sig_wait_again(errno)) {
			log_msg("poll: %s", strerror(errno));
			return SNITCH_EXIT_SOFTWARE;
		}
		if (r > 0) {
			feed_on_poll(&s->feed, pl.p + pl.n, nfeed);
			stage_events(s, &pl);
		}
		reap(s);
		deliver_own(s);
		/* new lines go on at once, without waiting for POLLOUT */
		for (int i = 0; i < s->n; i++)
			if (queued(&s->st[i].q) && s->st[i].in_w >= 0)
				write_input(s, i);
		feed_flush(&s->feed);
	}
	write_status(s);
	return s->fatal >= 0 ? s->fatal : SNITCH_EXIT_OK;
}

static bool env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v;
}

/*
 * The stages, in order: snitch-vt only when a VirusTotal key is set;
 * snitch-remote only when a remote log is set, and then snitch-store
 * hands it the rows it committed.
 */
static void plan_pipeline(struct super *s)
{
	bool with_remote = env_set("SNITCH_REMOTE");
	bool with_vt = env_set("SNITCH_VT_API_KEY") || env_set("SNITCH_VT_API_KEY_FILE");
	bool with_metrics = env_set("SNITCH_METRICS_LISTEN");
	struct { const char *name, *a0, *a1; } plan[STAGES_MAX] = {
		{ "snitch-trace", NULL, NULL },
		{ "snitch-resolve", NULL, NULL },
		{ "snitch-hash", NULL, NULL },
		{ "snitch-vt", NULL, NULL },
		{ "snitch-store", "--tee", with_remote ? "--emit-rows" : NULL },
		{ "snitch-remote", "--tee", NULL },
		{ "snitch-metrics", "--tee", NULL },
		{ "snitch-notify", NULL, NULL },
	};

	s->n = 0;
	for (int i = 0; i < STAGES_MAX; i++) {
		if (!plan[i].name || (!strcmp(plan[i].name, "snitch-remote") && !with_remote) ||
		    (!strcmp(plan[i].name, "snitch-vt") && !with_vt))
			continue;
		if (!strcmp(plan[i].name, "snitch-metrics") && !with_metrics)
			continue;
		s->st[s->n].name = plan[i].name;
		s->st[s->n].args[0] = plan[i].a0;
		s->st[s->n].args[1] = plan[i].a1;
		/* every stage after the first confirms its input */
		s->st[s->n].ack = s->n > 0;
		s->n++;
	}
}

/* "snitch-trace | snitch-resolve | ... --tee | snitch-notify" */
static void describe_pipeline(const struct super *s, struct buf *b)
{
	buf_reset(b);
	for (int i = 0; i < s->n; i++) {
		if (i)
			buf_puts(b, " | ");
		buf_puts(b, s->st[i].name);
		for (int a = 0; a < 2 && s->st[i].args[a]; a++) {
			buf_putc(b, ' ');
			buf_puts(b, s->st[i].args[a]);
		}
	}
}

/* A random id for this run (status.json, the live feed's hello). */
static void make_run_id(char *id, size_t size)
{
	unsigned char rnd[16];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		snprintf(id, size, "%016llx%08x",
			 (unsigned long long)clock_real_ns(), (unsigned)getpid());
	else
		for (size_t k = 0; k < sizeof(rnd) && 2 * k + 3 <= size; k++)
			snprintf(id + 2 * k, 3, "%02x", rnd[k]);
}

/* Each stage's program, and the pipe to its input: 0, or an exit status. */
static int prepare_stages(struct super *s)
{
	for (int i = 0; i < s->n; i++)
		s->st[i].pidfd = s->st[i].out_r = s->st[i].ready_r =
			s->st[i].in_r = s->st[i].in_w = -1;
	for (int i = 0; i < s->n; i++) {
		struct stage *st = &s->st[i];
		struct stat sb;
		int e;

		snprintf(st->path, sizeof(st->path), "%s/%s", s->o->bin_dir, st->name);
		if (stat(st->path, &sb) < 0 || !(sb.st_mode & S_IXUSR)) {
			log_msg("cannot find the stage '%s': %s (set SNITCH_BIN_DIR or --bin-dir)",
				st->path, strerror(errno ? errno : EACCES));
			signal_ready(s, SNITCH_EXIT_UNAVAILABLE);
			return SNITCH_EXIT_UNAVAILABLE;
		}
		if ((e = make_input(s, i)) < 0) {
			log_msg("cannot make a pipe: %s", strerror(-e));
			return SNITCH_EXIT_SOFTWARE;
		}
	}
	return 0;
}

/*
 * From here on the supervisor only starts stages, and its bounding set
 * is theirs: what snitch-trace needs to load (CAP_BPF, CAP_PERFMON,
 * CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_RESOURCE), what snitch-resolve,
 * snitch-hash and snitch-vt keep (CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE),
 * what each stage needs to become its user (CAP_SETUID, CAP_SETGID,
 * CAP_SETPCAP), and CAP_KILL to stop stages that are another user.
 * Gone: CAP_CHOWN (unless SNITCH_OWNER or SNITCH_GROUP give the files to
 * another owner), CAP_DAC_OVERRIDE, CAP_FOWNER and the other 30.
 */
static int keep_starting_caps(void)
{
	bool give = env_set("SNITCH_OWNER") || env_set("SNITCH_GROUP");

	if (geteuid() != 0)
		return 0;
	return privs_caps(PRIVS_CAP(CAP_BPF) | PRIVS_CAP(CAP_PERFMON) | PRIVS_CAP(CAP_SYS_ADMIN) |
			  PRIVS_CAP(CAP_NET_ADMIN) | PRIVS_CAP(CAP_SYS_RESOURCE) |
			  PRIVS_CAP(CAP_DAC_READ_SEARCH) | PRIVS_CAP(CAP_SYS_PTRACE) |
			  PRIVS_CAP(CAP_SETUID) | PRIVS_CAP(CAP_SETGID) | PRIVS_CAP(CAP_SETPCAP) |
			  PRIVS_CAP(CAP_KILL) | (give ? PRIVS_OWNER_CAPS : 0));
}

static void super_free(struct super *s)
{
	for (int i = 0; i < s->n; i++) {
		close_input(&s->st[i]);
		if (s->st[i].ready_r >= 0)
			close(s->st[i].ready_r);
		buf_release(&s->st[i].q.b);
		buf_release(&s->st[i].partial);
		ring_free(&s->st[i].ret);
		buf_release(&s->st[i].hold);
		free(s->st[i].held);
	}
	feed_close(&s->feed);
	if (s->devnull >= 0)
		close(s->devnull);
	record_release(&s->rec);
	buf_release(&s->tmp);
	buf_release(&s->own);
	free(s);
}

int supervise(const struct opts *o, int ready_fd)
{
	struct super *s = calloc(1, sizeof(*s));
	int ret;

	if (!s) {
		log_msg("out of memory");
		return SNITCH_EXIT_SOFTWARE;
	}
	/*
	 * The queues, the replay buffers and the held output grow to a
	 * stage's backlog (megabytes) and are freed once it has caught up.
	 * glibc raises its mmap threshold to the largest chunk freed, so
	 * that such buffers came from the heap and their memory stayed:
	 * bench/soak.sh saw the supervisor go from 22 to 61 MB at one
	 * backlog and keep it. A fixed threshold keeps them mapped, and
	 * freeing one gives its memory back.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	s->o = o;
	s->fatal = -1;
	s->ready_fd = ready_fd;
	s->started_real_ns = clock_real_ns();
	record_init(&s->rec);
	s->feed.lfd = -1;
	snprintf(s->status_path, sizeof(s->status_path), "%s/status.json", o->run_dir);
	make_run_id(s->run_id, sizeof(s->run_id));
	s->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (s->devnull < 0) {
		log_msg("cannot open /dev/null: %s", strerror(errno));
		free(s);
		return SNITCH_EXIT_SOFTWARE;
	}
	plan_pipeline(s);
	if ((ret = prepare_stages(s)) != 0) {
		super_free(s);
		return ret;
	}
	if (o->events_sock && *o->events_sock) {
		char err[4400];

		if (feed_open(&s->feed, o->events_sock, FEED_GROUP, o->events_queue_kb << 10,
			      err, sizeof(err)) < 0)
			log_msg("no live feed: %s", err);
	}
	if (keep_starting_caps() < 0) {
		signal_ready(s, SNITCH_EXIT_NOPERM);
		super_free(s);
		return SNITCH_EXIT_NOPERM;
	}
	/* the last stage first: each is reading before anything reaches it */
	for (int i = s->n - 1; i >= 0; i--) {
		int e = start_stage(s, i);

		if (e < 0) {
			log_msg("cannot start %s: %s", s->st[i].name, strerror(-e));
			s->fatal = SNITCH_EXIT_SOFTWARE;
			break;
		}
	}
	s->ready_at = clock_mono_ns() + READY_NS;
	s->ready_cap = clock_mono_ns() + READY_MAX_NS;
	describe_pipeline(s, &s->tmp);
	log_msg("pid %d: running %.*s", (int)getpid(), (int)s->tmp.len, s->tmp.p);

	ret = loop(s);
	if (ret == 0)
		log_msg("stopped: every stage has written what it held and exited");
	else
		log_msg("stopped with exit status %d", ret);

	signal_ready(s, ret ? ret : SNITCH_EXIT_SOFTWARE);
	super_free(s);
	return ret;
}
