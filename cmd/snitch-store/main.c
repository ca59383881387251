/* SPDX-License-Identifier: MIT */
/*
 * snitch-store: the durable connection log. Records are merged per write
 * window into connections rows; each window is written in one SQLite
 * transaction by a writer thread (and to the CSV log),
 * so a slow disk does not hold up the records that --tee passes on. With
 * --emit-rows, the rows of each committed window go out as row records,
 * for snitch-remote.
 */
#include <errno.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "privs.h"
#include "cli.h"
#include "clock.h"
#include "emit.h"
#include "exitcode.h"
#include "log.h"
#include "perms.h"
#include "sig.h"
#include "stage.h"
#include "store.h"

/* Windows waiting while the disk is full; past this the oldest is dropped. */
#define PENDING_MAX 360

/* ---- records from the threads: through the stage's mailbox ---- */

static struct stage *the_stage;

/*
 * snitch-store's own error and lost records, from any thread, waiting for
 * the next window to take them into the events table.
 */
static pthread_mutex_t own_mu = PTHREAD_MUTEX_INITIALIZER;
static struct batch own_events;

/* Keep the record text of one of our own errors or losses for the events table. */
static void own_event(const char *type, const char *code, uint64_t count, const char *msg,
		      const char *rec, size_t len)
{
	pthread_mutex_lock(&own_mu);
	(void)events_add(&own_events, clock_real_ns(), type, STAGE, code,
			 strcmp(type, "lost") ? INT_NULL : (int64_t)count, msg, rec, len);
	pthread_mutex_unlock(&own_mu);
}

/* An error or lost record of ours: written once, posted and kept. */
static void note(const char *type, const char *code, uint64_t count, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_limited("%s", msg);
	stage_note_format(&b, STAGE, type, code, count, msg);
	if (!b.oom) {
		stage_post(the_stage, b.p, b.len);
		own_event(type, code, count, msg, b.p, b.len - 1);	/* without its newline */
	}
	buf_release(&b);
}

void note_error(const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note("error", code, 0, fmt, ap);
	va_end(ap);
}

void note_lost(const char *reason, uint64_t count, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note("lost", reason, count, fmt, ap);
	va_end(ap);
}

static void window_free(struct batch *b)
{
	if (b) {
		events_free(b);
		verdicts_free(b);
	}
	batch_free(b);
}

/* ---- the writer thread ---- */

struct writer {
	const struct store_opts *opt;
	const struct file_perms *perms;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch *head, *tail;
	size_t queued;
	bool stop;
	struct db *db;
	int csv_fd;
	uint64_t next_retention;
	bool failing;			/* a write failure is being reported */
	const char *run_id;		/* under snitch run: SNITCH_RUN_ID */
	pthread_t thread;
};

/* Under snitch run: the run's marks go with each window (replay_marks). */
static void set_run(struct writer *w, uint64_t *mark)
{
	int r;

	*mark = 0;
	if (!w->run_id || !w->db)
		return;
	if ((r = db_set_run(w->db, w->run_id, mark)) != SQLITE_OK)
		note_error("db_write", "cannot read or write the replay mark in '%s': %s; a replay after a crash may log records twice",
			   w->opt->db, sqlite3_errstr(r));
}

static void reopen_fresh(struct writer *w, const char *why)
{
	char moved[4200], err[512];

	db_close(w->db);
	uint64_t mark;

	w->db = db_open(w->opt->db, w->perms, moved, sizeof(moved), err, sizeof(err));
	set_run(w, &mark);
	if (moved[0])
		note_error("db_corrupt", "the database '%s' is corrupt (%s): moved to '%s', a new one started",
			   w->opt->db, why, moved);
	else if (!w->db)
		note_error("db_open", "cannot open the database '%s': %s", w->opt->db, err);
}

/* Write one window everywhere. 0: done; -1: try again later. */
static int write_batch(struct writer *w, struct batch *b)
{
	char err[512];
	int r;

	if (!w->db) {
		reopen_fresh(w, "it could not be opened");
		if (!w->db)
			return -1;
	}
	r = db_write(w->db, b, err, sizeof(err));
	if ((r & 0xff) == SQLITE_CORRUPT || (r & 0xff) == SQLITE_NOTADB) {
		reopen_fresh(w, err);
		if (!w->db)
			return -1;
		r = db_write(w->db, b, err, sizeof(err));
	}
	if (r != SQLITE_OK) {
		if (!w->failing) {
			w->failing = true;
			note_error((r & 0xff) == SQLITE_FULL ? "disk_full" : "db_write",
				   "cannot write to the database '%s': %s; the rows are kept and written when it works again",
				   w->opt->db, err);
		}
		return -1;
	}
	if (w->failing) {
		w->failing = false;
		log_msg("the database '%s' takes writes again", w->opt->db);
	}
	if (w->csv_fd >= 0 && (r = csv_write_batch(w->csv_fd, b)) < 0)
		note_error("csv_write", "cannot write the CSV log '%s': %s",
			   w->opt->csv, strerror(-r));
	if (w->opt->emit_rows && b->rows) {
		/* committed: the same rows, for snitch-remote's copy */
		struct buf rows = BUF_INIT;

		batch_emit_rows(b, clock_real_ns(), &rows);
		if (rows.oom)
			note_lost("out_of_memory", batch_rows(b),
				  "%zu rows were not passed on for the remote log: out of memory", batch_rows(b));
		else
			stage_post(the_stage, rows.p, rows.len);
		buf_release(&rows);
	}
	if (b->lost_rows)
		note_lost("out_of_memory", b->lost_rows, "%llu records were not logged: out of memory",
			  (unsigned long long)b->lost_rows);
	/* committed, rows posted: the supervisor may forget this input */
	if (b->has_off)
		stage_set_kept(the_stage, b->in_off);
	return 0;
}

static void retain(struct writer *w)
{
	uint64_t now = clock_real_ns(), keep = w->opt->retention_days * 86400ULL * 1000000000ULL;
	uint64_t deleted;
	char err[512];

	if (!w->db || now < keep)
		return;
	if (db_retain(w->db, now - keep, &deleted, err, sizeof(err)) != SQLITE_OK)
		note_error("retention", "cannot delete old rows from '%s': %s", w->opt->db, err);
	else if (deleted)
		log_msg("retention: deleted %llu rows older than %llu days",
			(unsigned long long)deleted, (unsigned long long)w->opt->retention_days);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	unsigned failures = 0;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct batch *b;
		uint64_t now = clock_mono_ns();

		if (now >= w->next_retention) {
			pthread_mutex_unlock(&w->mu);
			retain(w);
			pthread_mutex_lock(&w->mu);
			w->next_retention = clock_mono_ns() +
					    w->opt->retention_every_s * 1000000000ULL;
		}
		b = w->head;
		if (!b) {
			struct timespec ts;

			if (w->stop)
				break;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;	/* wakes for the retention pass too */
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
			continue;
		}
		pthread_mutex_unlock(&w->mu);
		if (write_batch(w, b) < 0) {
			/* the disk is full or the database broken: the window
			 * stays first in line; at exit, a few more tries */
			failures++;
			if (w->stop && failures > 5) {
				pthread_mutex_lock(&w->mu);
				for (struct batch *x = w->head; x; x = x->qnext)
					note_lost("db_unwritable", batch_rows(x),
						  "%zu rows were not written at exit: the database does not take writes",
						  batch_rows(x));
				while ((b = w->head)) {
					w->head = b->qnext;
					window_free(b);
				}
				break;
			}
			sleep(1);
			pthread_mutex_lock(&w->mu);
			continue;
		}
		failures = 0;
		pthread_mutex_lock(&w->mu);
		w->head = b->qnext;
		if (!w->head)
			w->tail = NULL;
		w->queued--;
		window_free(b);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void writer_submit(struct writer *w, struct batch *b)
{
	pthread_mutex_lock(&w->mu);
	if (w->queued >= PENDING_MAX && w->head) {
		/* a disk full for hours: keep the newest windows */
		struct batch *old = w->head->qnext;

		if (old) {
			w->head->qnext = old->qnext;
			if (w->tail == old)
				w->tail = w->head;
			note_lost("db_backlog", batch_rows(old),
				  "%zu rows were dropped: %d windows waited for the database", batch_rows(old),
				  PENDING_MAX);
			window_free(old);
			w->queued--;
		}
	}
	b->qnext = NULL;
	if (w->tail)
		w->tail->qnext = b;
	else
		w->head = b;
	w->tail = b;
	w->queued++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/*
 * Open the database (and the CSV log) and start the writer thread.
 * Returns -1, or the exit status when it cannot.
 */
static int writer_start(struct writer *w, const struct store_opts *o,
			const struct file_perms *perms, const char *run_id, uint64_t *mark)
{
	char err[512], moved[4200];
	int ret;

	if ((ret = perms_mkdirs_for(o->db, perms)) < 0) {
		log_msg("cannot make the directory of '%s': %s", o->db, strerror(-ret));
		return SNITCH_EXIT_IO;
	}
	w->opt = o;
	w->perms = perms;
	w->csv_fd = -1;
	w->run_id = run_id;
	w->db = db_open(o->db, perms, moved, sizeof(moved), err, sizeof(err));
	if (!w->db) {
		log_msg("cannot open the database '%s': %s", o->db, err);
		return SNITCH_EXIT_IO;
	}
	set_run(w, mark);
	if (moved[0])
		note_error("db_corrupt", "the database '%s' was corrupt: moved to '%s', a new one started",
			   o->db, moved);
	if (o->csv) {
		struct stat st;
		bool fresh = stat(o->csv, &st) < 0;

		w->csv_fd = open(o->csv, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (w->csv_fd < 0) {
			log_msg("cannot open the CSV log '%s': %s", o->csv, strerror(errno));
			return SNITCH_EXIT_IO;
		}
		if (fresh)
			perms_apply(perms, o->csv, false);
	}
	pthread_mutex_init(&w->mu, NULL);
	{
		/* its waits by the monotonic clock: a wall clock stepped back
		 * an hour must not hold the writer an hour */
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&w->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	w->next_retention = 0;		/* at start, then hourly */
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		log_msg("cannot start the writer thread");
		return SNITCH_EXIT_SOFTWARE;
	}
	return -1;
}

/* Let the writer write what is queued, then close what it wrote to. */
static void writer_stop(struct writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	db_close(w->db);
	if (w->csv_fd >= 0)
		close(w->csv_fd);
}

/* ---- the main loop ---- */

struct store {
	const struct store_opts *opt;
	struct stage st;
	struct filters *filters;
	struct batch *batch;
	struct writer w;
	uint64_t window_ns;
	uint64_t last_off;		/* input offset of the last window submitted */
	uint64_t mark;			/* a replay: input below is committed already */
};

static void on_record(void *ctx, struct stage *st, const char *line, size_t len)
{
	struct store *s = ctx;

	(void)line;
	(void)len;
	if (s->opt->tee)
		record_write(&st->rec, &st->out.b);
	/* replayed, and committed by the last instance: passed on, not logged */
	if (stage_line_offset(st) < s->mark)
		return;
	if (events_add_record(s->batch, &st->rec, line, len) == -ENOMEM)
		note_lost("out_of_memory", 1, "an error or lost record was not logged: out of memory");
	if (verdicts_add_record(s->batch, &st->rec) == -ENOMEM)
		note_lost("out_of_memory", 1, "a verdict record was not logged: out of memory");
	(void)batch_add(s->batch, s->opt, s->filters, &st->rec, s->window_ns);
}

/* The kit's errors about the input (malformed lines): logged as well. */
static void on_own_error(void *ctx, struct stage *st, const char *code, const char *msg,
			 const char *rec, size_t len)
{
	(void)ctx;
	(void)st;
	own_event("error", code, 0, msg, rec, len);
}

static void close_window(struct store *s)
{
	struct batch *b = s->batch;

	pthread_mutex_lock(&own_mu);
	events_move(b, &own_events);
	pthread_mutex_unlock(&own_mu);
	b->in_off = stage_in_offset(&s->st);
	b->has_off = s->st.ack;
	/* an empty window still confirms its input, after those before it */
	if (!b->rows && !b->lost_rows && !b->events && !b->verdicts &&
	    (!b->has_off || b->in_off == s->last_off))
		return;
	s->last_off = b->in_off;
	s->batch = batch_new();
	if (!s->batch) {
		s->batch = b;	/* keep merging into it */
		return;
	}
	writer_submit(&s->w, b);
}

static uint64_t on_timer(void *ctx, struct stage *st, uint64_t now)
{
	struct store *s = ctx;

	(void)st;
	close_window(s);
	return now + s->window_ns;
}

static const struct stage_ops store_ops = {
	.on_record = on_record,
	.on_timer = on_timer,
	.on_own_error = on_own_error,
};

static int run(struct store *s)
{
	int ret;

	stage_wake_at(&s->st, clock_mono_ns() + s->window_ns);
	ret = stage_run(&s->st, &store_ops, s);
	/* EOF, SIGINT, SIGTERM or a closed output: the open window is written */
	close_window(s);
	return ret;
}

static const int exit_codes[] = {
	SNITCH_EXIT_OK, SNITCH_EXIT_USAGE, SNITCH_EXIT_UNAVAILABLE, SNITCH_EXIT_IO,
	SNITCH_EXIT_SOFTWARE, -1,
};

int main(int argc, char **argv)
{
	struct store_opts o = {
		.db = "/var/lib/snitch/snitch.db",
		.write_limit_s = 10,
		.retention_days = 30,
		.retention_every_s = 3600,
		.mode = "0640",
	};
	const struct cli_opt opts[] = {
		{ .name = "db", .type = CLI_STRING, .value = &o.db, .metavar = "FILE",
		  .env = "SNITCH_DB", .help = "the SQLite database (made, with its directory, if missing)" },
		{ .name = "write-limit-s", .type = CLI_UINT, .value = &o.write_limit_s,
		  .metavar = "S", .env = "SNITCH_WRITE_LIMIT_S", .min = 1, .max = 86400,
		  .help = "merge records into one row per connection per S-second window" },
		{ .name = "retention-days", .type = CLI_UINT, .value = &o.retention_days,
		  .metavar = "D", .env = "SNITCH_RETENTION_DAYS", .min = 1, .max = 36500,
		  .help = "delete rows older than D days, and what only they referenced" },
		{ .name = "retention-every-s", .type = CLI_UINT, .value = &o.retention_every_s,
		  .metavar = "S", .env = "SNITCH_RETENTION_EVERY_S", .min = 1, .max = 86400,
		  .help = "delete them every S seconds, and at start" },
		{ .name = "tee", .type = CLI_FLAG, .value = &o.tee, .env = "SNITCH_STORE_TEE",
		  .help = "pass every input record on to standard output" },
		{ .name = "csv", .type = CLI_STRING, .value = &o.csv, .metavar = "FILE",
		  .env = "SNITCH_CSV", .help = "also append each row to a CSV log" },
		{ .name = "log-exec", .type = CLI_FLAG, .value = &o.log_exec, .env = "SNITCH_LOG_EXEC",
		  .help = "log every exec as a connection with port -1" },
		{ .name = "no-addresses", .type = CLI_FLAG, .value = &o.no_addresses,
		  .env = "SNITCH_NO_ADDRESSES", .help = "do not log local and remote addresses" },
		{ .name = "no-cmdlines", .type = CLI_FLAG, .value = &o.no_cmdlines,
		  .env = "SNITCH_NO_CMDLINES", .help = "do not log command lines" },
		{ .name = "no-ports", .type = CLI_FLAG, .value = &o.no_ports,
		  .env = "SNITCH_NO_PORTS", .help = "do not log ports" },
		{ .name = "ignore-ports", .type = CLI_STRING, .value = &o.ignore_ports, .metavar = "LIST",
		  .env = "SNITCH_IGNORE_PORTS", .help = "leave out connections with these local or remote ports" },
		{ .name = "ignore-domains", .type = CLI_STRING, .value = &o.ignore_domains, .metavar = "LIST",
		  .env = "SNITCH_IGNORE_DOMAINS", .help = "leave out these domains and their subdomains" },
		{ .name = "ignore-ips", .type = CLI_STRING, .value = &o.ignore_ips, .metavar = "LIST",
		  .env = "SNITCH_IGNORE_IPS", .help = "leave out remote addresses in these IPs or CIDR ranges" },
		{ .name = "ignore-sha256", .type = CLI_STRING, .value = &o.ignore_sha256, .metavar = "LIST",
		  .env = "SNITCH_IGNORE_SHA256", .help = "leave out connections of executables with these hashes" },
		{ .name = "emit-rows", .type = CLI_FLAG, .value = &o.emit_rows,
		  .env = "SNITCH_STORE_EMIT_ROWS",
		  .help = "write each committed row as a row record, for snitch-remote" },
		PERMS_CLI_OPTS(&o.owner, &o.group, &o.mode),
	};
	const struct cli cli = {
		.prog = STAGE,
		.usage = "[OPTION]... < RECORDS",
		.summary =
			"Log the flow records it reads (docs/records.md) in an SQLite database: one row\n"
			"per connection identity (executable, parent and grandparent, user, protocol,\n"
			"addresses, ports, domain, namespace, container) per --write-limit-s window,\n"
			"with bytes summed, the window written in one transaction (docs/schema.md).\n"
			"The error and lost records it reads, and its own, go to the events table.\n"
			"Optionally also to a CSV log; with --emit-rows each committed row goes out as\n"
			"a row record, which snitch-remote copies to PostgreSQL or MariaDB. Lists are\n"
			"space-separated. A crash loses at most the open window.",
		.examples =
			"  sudo snitch-trace | snitch-resolve | snitch-hash | snitch-store\n"
			"  snitch-store --db ./log.db --tee < records.jsonl | snitch-notify\n"
			"  snitch-store --ignore-ports '53 123' --ignore-domains 'example.com' --ignore-ips '10.0.0.0/8'\n"
			"  ... | snitch-store --tee --emit-rows | snitch-remote --tee --remote 'postgresql://snitch@logs.example/snitch'\n"
			"  sqlite3 /var/lib/snitch/snitch.db 'select * from connections limit 5'\n"
			"  sqlite3 /var/lib/snitch/snitch.db 'select stage, code, message from events'\n",
		.opts = opts,
		.nopts = sizeof(opts) / sizeof(opts[0]),
		.exit_codes = exit_codes,
	};
	struct store s;
	struct file_perms perms = { 0 };
	char err[512];
	uint64_t mark = 0;
	int ret;

	if ((ret = stage_parse_cli(&cli, argc, argv)) >= 0)
		return ret;
	if (perms_parse(&perms, o.owner, o.group, o.mode, err, sizeof(err)) < 0)
		return cli_usage_error(&cli, "%s", err);
	memset(&s, 0, sizeof(s));
	s.opt = &o;
	s.window_ns = o.write_limit_s * 1000000000ULL;
	s.filters = filters_new(&o, err, sizeof(err));
	if (!s.filters)
		return cli_usage_error(&cli, "invalid ignore list: %s", err);
	if ((ret = stage_start(&s.st, &cli, "snitch-trace")) >= 0) {
		filters_free(s.filters);
		return ret;
	}
	the_stage = &s.st;

	/* what could not start is freed as well: a leak checker sees none */
	if (!(s.batch = batch_new())) {
		log_msg("out of memory");
		ret = SNITCH_EXIT_SOFTWARE;
		goto out;
	}
	/*
	 * No capability at all, as the user snitch, before the database is
	 * opened: what it makes is its own (CAP_CHOWN only to give it to
	 * --owner or --group). It writes files, never runs or starts a
	 * program, never opens a socket.
	 */
	if (privs_drop(&(const struct privs){
		    .caps = perms.set_owner ? PRIVS_OWNER_CAPS : 0,
		    .allow = PRIVS_OPEN_WRITE | PRIVS_THREADS }) < 0) {
		ret = SNITCH_EXIT_NOPERM;
		goto out;
	}
	if (s.st.ack)
		stage_own_kept(&s.st);
	if ((ret = writer_start(&s.w, &o, &perms, s.st.ack ? getenv("SNITCH_RUN_ID") : NULL,
				&mark)) >= 0)
		goto out;
	/* a replay: what the last instance committed is not logged again */
	s.mark = mark;

	ret = run(&s);

	writer_stop(&s.w);
	ret = stage_finish(&s.st, ret);
out:
	window_free(s.batch);
	events_free(&own_events);
	filters_free(s.filters);
	stage_release(&s.st);
	return ret;
}
