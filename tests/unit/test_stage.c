/* SPDX-License-Identifier: MIT */
/* The stage kit (lib/stage.c) run for real, on pipes in place of stdin/stdout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "ancestry.h"
#include "clock.h"
#include "exitcode.h"
#include "log.h"
#include "sig.h"
#include "stage.h"
#include "test.h"

struct probe {
	int records, own_errors, bad_records, eofs, timers;
	int copies;		/* each record written this many times (0: once) */
	char last_code[64];
	bool done;
	uint64_t timer_at;
};

static void on_record(void *ctx, struct stage *st, const char *line, size_t len)
{
	struct probe *p = ctx;

	(void)line;
	(void)len;
	p->records++;
	for (int i = 0; i < (p->copies ? p->copies : 1); i++)
		record_write(&st->rec, &st->out.b);
}

static void on_own_error(void *ctx, struct stage *st, const char *code, const char *msg,
			 const char *rec, size_t rec_len)
{
	struct probe *p = ctx;

	(void)st;
	(void)msg;
	/* the record as written, for a stage that keeps it */
	if (rec_len < 2 || rec[0] != '{' || rec[rec_len - 1] != '}' ||
	    !memmem(rec, rec_len, code, strlen(code)))
		p->bad_records++;
	p->own_errors++;
	snprintf(p->last_code, sizeof(p->last_code), "%s", code);
}

static uint64_t on_timer(void *ctx, struct stage *st, uint64_t now)
{
	struct probe *p = ctx;

	(void)st;
	p->timers++;
	p->done = true;
	p->timer_at = now;
	return STAGE_NEVER;
}

static bool on_eof(void *ctx, struct stage *st, uint64_t now)
{
	struct probe *p = ctx;

	(void)st;
	(void)now;
	p->eofs++;
	return p->done;
}

static const struct stage_ops ops = {
	.on_record = on_record,
	.on_timer = on_timer,
	.on_eof = on_eof,
	.on_own_error = on_own_error,
};

static int saved_in = -1, saved_out = -1;

/* stdin from a pipe holding 'input' (closed unless keep_open), stdout to a pipe. */
static void plumb(const char *input, bool keep_open, int *in_w, int *out_r)
{
	int in[2], out[2];

	CHECK(pipe(in) == 0 && pipe(out) == 0);
	(void)fcntl(out[0], F_SETPIPE_SZ, 1 << 20);
	(void)fcntl(in[1], F_SETPIPE_SZ, 1 << 20);
	CHECK(write(in[1], input, strlen(input)) == (ssize_t)strlen(input));
	if (saved_in < 0) {
		saved_in = dup(STDIN_FILENO);
		saved_out = dup(STDOUT_FILENO);
	}
	fflush(stdout);
	dup2(in[0], STDIN_FILENO);
	dup2(out[1], STDOUT_FILENO);
	close(in[0]);
	close(out[1]);
	if (keep_open) {
		*in_w = in[1];
	} else {
		close(in[1]);
		*in_w = -1;
	}
	*out_r = out[0];
}

static void unplumb(void)
{
	dup2(saved_in, STDIN_FILENO);
	dup2(saved_out, STDOUT_FILENO);
}

static size_t slurp(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return n;
}

/* Good records go to the stage; bad lines are said, counted, and skipped. */
static void test_input_rules(void)
{
	struct stage st;
	struct probe p = { 0 };
	char out[8192];
	int in_w, out_r, ret;

	plumb("{\"v\":1,\"type\":\"flow\",\"n\":1}\n"
	      "{\"v\":1,\"type\":\"flow\",\"n\":2}\n"
	      "not json\n"
	      "{\"v\":2,\"type\":\"flow\",\"n\":3}\n"
	      "{\"v\":2,\"type\":\"flow\",\"n\":4}\n"
	      "{\"v\":1,\"type\":\"exec\",\"n\":5}\n", false, &in_w, &out_r);
	CHECK(stage_init(&st, "test-stage") == 0);
	p.done = true;		/* nothing owed at the end */
	ret = stage_run(&st, &ops, &p);
	ret = stage_finish(&st, ret);
	unplumb();
	CHECK_EQ_INT(ret, SNITCH_EXIT_OK);
	CHECK_EQ_INT(p.records, 3);
	/* one malformed line, one "version not understood" (said once) */
	CHECK_EQ_INT(p.own_errors, 2);
	CHECK_EQ_INT(p.bad_records, 0);
	CHECK(!strcmp(p.last_code, "unsupported_version"));
	CHECK_EQ_INT(p.eofs, 1);
	slurp(out_r, out, sizeof(out));
	CHECK(strstr(out, "\"code\":\"malformed_input\"") != NULL);
	CHECK(strstr(out, "\"line\":3") != NULL);
	CHECK(strstr(out, "\"stage\":\"test-stage\"") != NULL);
	/* both version-2 records pass through unchanged */
	CHECK(strstr(out, "{\"v\":2,\"type\":\"flow\",\"n\":3}\n") != NULL);
	CHECK(strstr(out, "{\"v\":2,\"type\":\"flow\",\"n\":4}\n") != NULL);
	CHECK(strstr(out, "\"n\":5}") != NULL);
	close(out_r);
	stage_release(&st);
}

/* At the end of input the loop goes on until the stage owes nothing. */
static void test_eof_waits_for_timer(void)
{
	struct stage st;
	struct probe p = { 0 };
	uint64_t t0 = clock_mono_ns();
	int in_w, out_r, ret;

	plumb("{\"v\":1,\"type\":\"flow\"}\n", false, &in_w, &out_r);
	CHECK(stage_init(&st, "test-stage") == 0);
	stage_wake_at(&st, t0 + 100 * 1000000ULL);
	ret = stage_run(&st, &ops, &p);
	ret = stage_finish(&st, ret);
	unplumb();
	CHECK_EQ_INT(ret, SNITCH_EXIT_OK);
	CHECK_EQ_INT(p.records, 1);
	CHECK_EQ_INT(p.timers, 1);
	CHECK(p.timer_at >= t0 + 100 * 1000000ULL);
	CHECK(p.eofs >= 2);		/* asked at EOF, and again after the timer */
	close(out_r);
	stage_release(&st);
}

struct poster {
	struct stage *st;
	int in_w, out_r;
	bool seen_before_eof;
};

/* A worker thread posts an error; the loop must write it while input is open. */
static void *poster_main(void *arg)
{
	struct poster *ps = arg;
	struct pollfd pf = { .fd = ps->out_r, .events = POLLIN };

	usleep(50 * 1000);
	stage_post_error(ps->st, "worker_failed", "worker %d could not do it", 7);
	ps->seen_before_eof = poll(&pf, 1, 2000) == 1;
	close(ps->in_w);
	return NULL;
}

static void test_post_from_thread(void)
{
	struct stage st;
	struct probe p = { .done = true };
	struct poster ps;
	pthread_t t;
	char out[4096];
	int ret;

	plumb("", true, &ps.in_w, &ps.out_r);
	CHECK(stage_init(&st, "test-stage") == 0);
	ps.st = &st;
	CHECK(pthread_create(&t, NULL, poster_main, &ps) == 0);
	ret = stage_run(&st, &ops, &p);
	ret = stage_finish(&st, ret);
	pthread_join(t, NULL);
	unplumb();
	CHECK_EQ_INT(ret, SNITCH_EXIT_OK);
	CHECK(ps.seen_before_eof);
	slurp(ps.out_r, out, sizeof(out));
	CHECK(strstr(out, "\"type\":\"error\"") != NULL);
	CHECK(strstr(out, "\"code\":\"worker_failed\"") != NULL);
	CHECK(strstr(out, "worker 7 could not do it") != NULL);
	close(ps.out_r);
	stage_release(&st);
}

/* A closed downstream ends the loop quietly, with status 0. */
static void test_epipe_quiet(void)
{
	struct stage st;
	struct probe p = { 0 };
	int in_w, out_r, ret;

	plumb("{\"v\":1,\"type\":\"flow\"}\n", true, &in_w, &out_r);
	close(out_r);
	CHECK(stage_init(&st, "test-stage") == 0);
	ret = stage_run(&st, &ops, &p);
	CHECK(st.out_closed);
	ret = stage_finish(&st, ret);
	unplumb();
	CHECK_EQ_INT(ret, SNITCH_EXIT_OK);
	CHECK_EQ_INT(p.records, 1);
	CHECK_EQ_INT(p.eofs, 0);	/* it ended before its input did */
	close(in_w);
	stage_release(&st);
}

/* A stage of the kit that holds records with "hold":1 until the end of input. */
struct holder {
	uint64_t held[4], offs[4];
	int nheld, records;
};

static void hold_record(void *ctx, struct stage *st, const char *line, size_t len)
{
	struct holder *h = ctx;
	uint64_t hold = 0;

	(void)line;
	(void)len;
	if (h->records < 4)
		h->offs[h->records] = stage_line_offset(st);
	h->records++;
	if (record_get_u64(&st->rec, "hold", &hold) == 0 && hold && h->nheld < 4) {
		h->held[h->nheld++] = stage_hold(st);
		return;
	}
	record_write(&st->rec, &st->out.b);
}

static bool hold_eof(void *ctx, struct stage *st, uint64_t now)
{
	struct holder *h = ctx;

	(void)now;
	while (h->nheld) {
		buf_puts(&st->out.b, "{\"v\":1,\"type\":\"flow\",\"released\":true}\n");
		stage_unhold(st, h->held[--h->nheld]);
	}
	return true;
}

static const struct stage_ops hold_ops = {
	.on_record = hold_record,
	.on_eof = hold_eof,
};

#define L1 "{\"v\":1,\"type\":\"flow\",\"n\":1}\n"
#define L2 "{\"v\":1,\"type\":\"flow\",\"n\":2,\"hold\":1}\n"
#define L3 "{\"v\":1,\"type\":\"flow\",\"n\":3}\n"

/*
 * Under snitch run (SNITCH_ACK=1): an ack first, then after the outputs
 * an ack of the input offsets, never past a held record; seek lines set
 * the offset, quiet drops the output of lines before it; a stage with its own kept offset says that one.
 */
static void test_acks(void)
{
	char out[8192], want[256];
	struct holder h = { 0 };
	struct stage st;
	int in_w, out_r, ret;
	const size_t a = strlen(L1), b = strlen(L2), c = strlen(L3);

	setenv("SNITCH_ACK", "1", 1);
	plumb(L1 L2 L3, false, &in_w, &out_r);
	CHECK(stage_init(&st, "test-stage") == 0);
	CHECK(st.ack);
	CHECK(getenv("SNITCH_ACK") == NULL);	/* not for what it starts */
	ret = stage_finish(&st, stage_run(&st, &hold_ops, &h));
	unplumb();
	CHECK_EQ_INT(ret, SNITCH_EXIT_OK);
	CHECK_EQ_INT(h.records, 3);
	slurp(out_r, out, sizeof(out));
	/* the first line: this stage confirms */
	CHECK(!strncmp(out, "{\"type\":\"ack\",\"in\":0,\"kept\":0}\n", 31));
	/* all read, the second held: confirmed but for it, after the others' output */
	snprintf(want, sizeof(want), L3 "{\"type\":\"ack\",\"in\":%zu,\"kept\":%zu,\"held\":[%zu]}\n",
		 a + b + c, a + b + c, a);
	CHECK(strstr(out, want) != NULL);
	/* released at the end, then confirmed with nothing held */
	snprintf(want, sizeof(want), "\"released\":true}\n{\"type\":\"ack\",\"in\":%zu,\"kept\":%zu}\n",
		 a + b + c, a + b + c);
	CHECK(strstr(out, want) != NULL);
	close(out_r);
	stage_release(&st);

	/* a replay from 1000: the first two lines passed on already (quiet) */
	setenv("SNITCH_ACK", "1", 1);
	snprintf(want, sizeof(want), "{\"type\":\"seek\",\"in\":1000,\"quiet\":%zu}\n" L1 L3 L1,
		 1000 + a + c);
	plumb(want, false, &in_w, &out_r);
	memset(&h, 0, sizeof(h));
	CHECK(stage_init(&st, "test-stage") == 0);
	stage_own_kept(&st);
	ret = stage_finish(&st, stage_run(&st, &hold_ops, &h));
	unplumb();
	CHECK_EQ_INT(ret, SNITCH_EXIT_OK);
	CHECK_EQ_INT(h.records, 3);
	/* each line's offset, from the seek on */
	CHECK(h.offs[0] == 1000 && h.offs[1] == 1000 + a && h.offs[2] == 1000 + a + c);
	CHECK(stage_in_offset(&st) == 1000 + a + c + a);
	slurp(out_r, out, sizeof(out));
	CHECK(strstr(out, "\"n\":3") == NULL);
	CHECK(strstr(out, "\"n\":1") != NULL && strstr(strstr(out, "\"n\":1") + 1, "\"n\":1") == NULL);
	/* its own kept offset: where its replay began, until it says more */
	snprintf(want, sizeof(want), "{\"type\":\"ack\",\"in\":%zu,\"kept\":1000}\n", 1000 + a + c + a);
	CHECK(strstr(out, want) != NULL);
	close(out_r);
	stage_set_kept(&st, 1000 + a);
	{
		struct buf ab = BUF_INIT;

		stage_put_ack(&st, &ab, st.kept, true);
		snprintf(want, sizeof(want), "{\"type\":\"ack\",\"in\":%zu,\"kept\":%zu}\n",
			 1000 + a + c + a, 1000 + a);
		CHECK(ab.len == strlen(want) && !memcmp(ab.p, want, ab.len));
		buf_release(&ab);
	}
	stage_release(&st);
}

static void test_ancestry_keys(void)
{
	static const char *const names[] = { "pid", "exe_path" };
	const char *keys[NLEVELS * 2];
	char text[NLEVELS * 2][ANCESTRY_KEY_MAX];

	ancestry_keys(keys, text, names, 2);
	CHECK(!strcmp(keys[0], "pid"));
	CHECK(!strcmp(keys[1], "exe_path"));
	CHECK(!strcmp(keys[2], "parent_pid"));
	CHECK(!strcmp(keys[3], "parent_exe_path"));
	CHECK(!strcmp(keys[4], "gparent_pid"));
	CHECK(!strcmp(keys[5], "gparent_exe_path"));
	CHECK(!strcmp(ancestry[LEVEL_GPARENT].role, "grandparent"));
}

/* A backlog: all of it goes on, and no buffer it filled stays large. */
static void test_burst_buffer_freed(void)
{
	static char in[900 * 1024], out[1 << 20];
	struct stage st;
	struct probe p = { 0 };
	size_t n = 0, lines = 0;
	int in_w, out_r, ret;

	while (n + 64 < sizeof(in))
		n += (size_t)snprintf(in + n, sizeof(in) - n, "{\"v\":1,\"type\":\"flow\",\"n\":%zu}\n", lines++);
	plumb(in, false, &in_w, &out_r);
	CHECK(stage_init(&st, "test-stage") == 0);
	p.done = true;
	ret = stage_finish(&st, stage_run(&st, &ops, &p));
	unplumb();
	CHECK_EQ_INT(ret, SNITCH_EXIT_OK);
	CHECK_EQ_INT(p.records, lines);
	CHECK(slurp(out_r, out, sizeof(out)) == n && !memcmp(in, out, n));
	/* the input is read a chunk at a time (lib/linereader.c) and each
	 * written out before the next: no buffer larger than it may keep */
	CHECK(st.out_peak > 0 && st.out_peak <= STAGE_OUT_KEEP);
	CHECK(st.out.b.cap <= STAGE_OUT_KEEP);
	close(out_r);
	stage_release(&st);
}

/*
 * A stage that writes far more than it reads (snitch-store's rows, a
 * batch): the output buffer that grew past STAGE_OUT_KEEP for one read's
 * worth goes back once written.
 */
static void test_large_output_freed(void)
{
	static char in[8192], out[1 << 20];
	struct stage st;
	struct probe p = { .copies = 100, .done = true };
	size_t n = 0, lines = 0, line_len;
	int in_w, out_r, ret;

	while (n + 64 < sizeof(in))
		n += (size_t)snprintf(in + n, sizeof(in) - n, "{\"v\":1,\"type\":\"flow\",\"n\":%zu}\n", 100 + lines++);
	/* (every line as long: n has three digits) */
	line_len = n / lines;
	plumb(in, false, &in_w, &out_r);
	CHECK(stage_init(&st, "test-stage") == 0);
	ret = stage_finish(&st, stage_run(&st, &ops, &p));
	unplumb();
	CHECK_EQ_INT(ret, SNITCH_EXIT_OK);
	CHECK(slurp(out_r, out, sizeof(out)) == lines * 100 * line_len);
	CHECK(st.out_peak > STAGE_OUT_KEEP);
	CHECK(st.out.b.cap <= STAGE_OUT_KEEP);
	close(out_r);
	stage_release(&st);
}

int main(void)
{
	log_init("test_stage");
	CHECK(sig_setup() == 0);
	test_input_rules();
	test_eof_waits_for_timer();
	test_post_from_thread();
	test_epipe_quiet();
	test_acks();
	test_ancestry_keys();
	test_burst_buffer_freed();
	test_large_output_freed();
	TEST_MAIN_END("test_stage");
}
