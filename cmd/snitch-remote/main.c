/* SPDX-License-Identifier: MIT */
/*
 * snitch-remote: the off-system copy of the connection log. It reads the
 * row records snitch-store --emit-rows writes after each committed window
 * (docs/records.md) and inserts exactly those rows into PostgreSQL or
 * MariaDB, so the remote copy mirrors the local one row for row. The rows
 * wait in a spool file until the server has committed them (remote.c).
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privs.h"
#include "cli.h"
#include "clock.h"
#include "emit.h"
#include "exitcode.h"
#include "json.h"
#include "log.h"
#include "perms.h"
#include "sig.h"
#include "stage.h"
#include "remote.h"

/* Rows are made durable in the spool at most this long after they came. */
#define SPOOL_DELAY_NS (100 * 1000000ULL)
/* Flush at once past this many bytes. */
#define SPOOL_FLUSH_BYTES (1U << 20)
/* Past this much that cannot be written (a full disk), it is dropped. */
#define SPOOL_PENDING_MAX (64U << 20)

struct remote_stage {
	const struct remote_opts *opt;
	struct stage st;
	struct remote *remote;
	char host[256];
	uint64_t run_id, counter;
	bool failing;			/* a spool write failure is being reported */
	struct buf line;
	/* stats records (--stats-s): rows taken in the interval, the spool's
	 * most, and when the next is due (monotonic) */
	uint64_t rows, spool_peak, next_stats;
};

/* The spool's size, and its most since the last stats record. */
static uint64_t spool_level(struct remote_stage *s)
{
	uint64_t n = remote_spool_bytes(s->remote);

	if (n > s->spool_peak)
		s->spool_peak = n;
	return n;
}

/*
 * How far behind the server is: a stats record every --stats-s seconds
 * and at exit (docs/records.md). snitch-metrics shows its *_bytes as
 * levels.
 */
static void write_stats(struct remote_stage *s)
{
	struct buf *b = &s->st.out.b;
	uint64_t now = spool_level(s);

	emit_begin(b, "stats", clock_real_ns());
	emit_cstr(b, "stage", STAGE);
	emit_u64(b, "interval_s", s->opt->stats_s);
	emit_u64(b, "rows", s->rows);
	emit_u64(b, "spool_bytes", now);
	emit_u64(b, "spool_peak_bytes", s->spool_peak);
	emit_end(b);
	s->rows = 0;
	s->spool_peak = now;
	s->next_stats = clock_mono_ns() + s->opt->stats_s * 1000000000ULL;
}

static void flush(struct remote_stage *s)
{
	int r = remote_flush(s->remote);

	if (r == 0) {
		if (s->failing)
			log_msg("the spool '%s' takes writes again", s->opt->spool);
		s->failing = false;
		return;
	}
	if (!s->failing) {
		s->failing = true;
		stage_error(&s->st, "spool_write",
			    "cannot write the spool '%s': %s; the rows are kept and written when it works again",
			    s->opt->spool, strerror(-r));
	}
	/* rows that cannot be kept (no memory for them) are dropped, counted */
	if (r == -ENOMEM || remote_pending(s->remote) > SPOOL_PENDING_MAX) {
		uint64_t n = remote_drop_pending(s->remote);

		stage_post_lost(&s->st, "spool_unwritable", n,
				"%llu rows were not sent to the remote log: the spool cannot be written",
				(unsigned long long)n);
	}
}

static const char *const required[] = {
	"window_start_ns", "window_end_ns", "first_ns", "last_ns", "send_bytes",
	"recv_bytes", "events",
};

/* A row record into the spool: itself, with its host and a unique row_uid. */
static void spool_row(struct remote_stage *s, struct stage *st, const char *line)
{
	const struct record_member *m[7];
	struct buf *b = &s->line;
	char uid[320];
	int n;

	record_find_many(&st->rec, required, 7, m);
	for (int i = 0; i < 7; i++) {
		if (!m[i] || m[i]->type != JSON_NUMBER) {
			stage_error(st, "malformed_row", "line %llu: a row record without '%s': not sent",
				    (unsigned long long)st->lr.lineno, required[i]);
			return;
		}
	}
	n = snprintf(uid, sizeof(uid), "%s:%llu:%llu", s->host,
		     (unsigned long long)s->run_id, (unsigned long long)++s->counter);
	buf_reset(b);
	/* the members added last: they win over any of the same name */
	buf_append(b, line, st->rec.close_off);
	buf_puts(b, ",\"host\":");
	json_put_cstr(b, s->host);
	buf_puts(b, ",\"row_uid\":");
	json_put_str(b, uid, (size_t)n);
	buf_puts(b, "}\n");
	if (b->oom) {
		stage_post_lost(st, "out_of_memory", 1, "a row was not sent to the remote log: out of memory");
		return;
	}
	remote_append(s->remote, b->p, b->len);
}

static void on_record(void *ctx, struct stage *st, const char *line, size_t len)
{
	struct remote_stage *s = ctx;

	(void)len;
	if (s->opt->tee)
		record_write(&st->rec, &st->out.b);
	if (!record_member_is(&st->rec, record_find(&st->rec, "type"), "row"))
		return;
	spool_row(s, st, line);
	s->rows++;
	(void)spool_level(s);
	if (remote_pending(s->remote) >= SPOOL_FLUSH_BYTES)
		flush(s);
	else
		stage_wake_at(st, clock_mono_ns() + SPOOL_DELAY_NS);
}

static uint64_t on_timer(void *ctx, struct stage *st, uint64_t now)
{
	struct remote_stage *s = ctx;

	(void)st;
	flush(s);
	(void)spool_level(s);
	if (now >= s->next_stats)
		write_stats(s);
	/* every second while rows wait, to see the spool's peak, else at
	 * the next stats record */
	if (remote_pending(s->remote) || remote_spool_bytes(s->remote))
		return now + 1000000000ULL < s->next_stats ? now + 1000000000ULL : s->next_stats;
	return s->next_stats;
}

static const struct stage_ops remote_ops = {
	.on_record = on_record,
	.on_timer = on_timer,
};

static const int exit_codes[] = {
	SNITCH_EXIT_OK, SNITCH_EXIT_USAGE, SNITCH_EXIT_IO, SNITCH_EXIT_SOFTWARE, -1,
};

int main(int argc, char **argv)
{
	struct remote_opts o = {
		.table = "connections",
		.retry_s = 30,
		.stats_s = 60,
		.mode = "0640",
	};
	const struct cli_opt opts[] = {
		{ .name = "remote", .type = CLI_STRING, .value = &o.url, .metavar = "URL",
		  .env = "SNITCH_REMOTE", .help = "the server: postgresql://... or mysql://... (INSERT only)" },
		{ .name = "remote-table", .type = CLI_STRING, .value = &o.table, .metavar = "NAME",
		  .env = "SNITCH_REMOTE_TABLE",
		  .help = "the connections table, one per host if they share a server ([A-Za-z_][A-Za-z0-9_]*, at most 63)" },
		{ .name = "host-name", .type = CLI_STRING, .value = &o.host_name, .metavar = "NAME",
		  .env = "SNITCH_HOST_NAME", .help = "the name its rows carry (default: the host name)" },
		{ .name = "spool", .type = CLI_STRING, .value = &o.spool, .metavar = "FILE",
		  .env = "SNITCH_SPOOL",
		  .help = "where rows wait for the server (default: $SNITCH_DB.remote-spool, /var/lib/snitch/snitch.db.remote-spool)" },
		{ .name = "remote-retry-s", .type = CLI_UINT, .value = &o.retry_s,
		  .metavar = "S", .env = "SNITCH_REMOTE_RETRY_S", .min = 1, .max = 3600,
		  .help = "wait at most S seconds between tries when the server is down" },
		{ .name = "tee", .type = CLI_FLAG, .value = &o.tee, .env = "SNITCH_REMOTE_TEE",
		  .help = "pass every input record on to standard output" },
		{ .name = "stats-s", .type = CLI_UINT, .value = &o.stats_s, .metavar = "S",
		  .env = "SNITCH_REMOTE_STATS_S", .min = 1, .max = 86400,
		  .help = "write a stats record (rows taken, spool bytes waiting for the server) every S seconds" },
		{ .name = "schema", .type = CLI_FLAG, .value = &o.print_schema,
		  .help = "print the SQL that makes the tables on the --remote server, for an administrator, and exit" },
		PERMS_CLI_OPTS(&o.owner, &o.group, &o.mode),
	};
	const struct cli cli = {
		.prog = STAGE,
		.usage = "[OPTION]... --remote URL < RECORDS",
		.summary =
			"Copy the rows snitch-store logged to a PostgreSQL or MariaDB server: it reads\n"
			"the row records of snitch-store --emit-rows (docs/records.md) and inserts\n"
			"exactly those rows, with their host and a unique row_uid, and the executables,\n"
			"addresses, domains and containers they name by content-hash id\n"
			"(docs/schema.md). It only ever INSERTs (\"do nothing if present\"), so its role\n"
			"needs the INSERT privilege and nothing else. Rows wait in a spool file until\n"
			"the server has committed them: a server that is down delays nothing else,\n"
			"and when it is back every row is sent, once. Other records pass on with --tee.",
		.examples =
			"  ... | snitch-store --tee --emit-rows | snitch-remote --tee --remote 'postgresql://snitch@logs.example/snitch' | snitch-notify\n"
			"  snitch-remote --remote 'postgresql://snitch@logs.example/snitch' --remote-table conn_laptop < rows.jsonl\n"
			"  snitch-remote --remote 'mysql://admin@logs.example/snitch' --remote-table conn_laptop --schema | mariadb snitch\n"
			"  snitch-remote --remote 'mysql://snitch:secret@logs.example:3306/snitch?socket=/run/mysqld/mysqld.sock' < rows.jsonl\n",
		.opts = opts,
		.nopts = sizeof(opts) / sizeof(opts[0]),
		.exit_codes = exit_codes,
	};
	struct remote_stage s;
	struct file_perms perms = { 0 };
	enum remote_kind kind;
	char err[512], *spool = NULL;
	int ret;

	if ((ret = stage_parse_cli(&cli, argc, argv)) >= 0)
		return ret;
	if (!o.url)
		return cli_usage_error(&cli, "no server: give --remote URL (or SNITCH_REMOTE)");
	if (remote_kind(o.url, &kind) < 0)
		return cli_usage_error(&cli, "'%s' is not a postgresql:// or mysql:// URL", o.url);
	if (!remote_table_valid(o.table))
		return cli_usage_error(&cli, "'%s' is not a table name (a letter or _, then letters, digits, _; at most 63)",
				       o.table);
	if (o.print_schema) {
		fputs(remote_schema(kind, o.table), stdout);
		return fflush(stdout) == 0 && !ferror(stdout) ? SNITCH_EXIT_OK : SNITCH_EXIT_IO;
	}
	if (perms_parse(&perms, o.owner, o.group, o.mode, err, sizeof(err)) < 0)
		return cli_usage_error(&cli, "%s", err);
	if (!o.spool) {
		/* beside the database, where snitch-store kept it before */
		const char *db = getenv("SNITCH_DB");

		if (asprintf(&spool, "%s.remote-spool", db && *db ? db : "/var/lib/snitch/snitch.db") < 0)
			return SNITCH_EXIT_SOFTWARE;
		o.spool = spool;
	}
	memset(&s, 0, sizeof(s));
	s.opt = &o;
	if (o.host_name)
		snprintf(s.host, sizeof(s.host), "%s", o.host_name);
	else if (gethostname(s.host, sizeof(s.host) - 1) < 0)
		strcpy(s.host, "localhost");
	s.run_id = clock_real_ns();
	if ((ret = stage_start(&s.st, &cli, "snitch-store --emit-rows")) >= 0)
		return ret;
	/* the user snitch: its spool (CAP_CHOWN only for --owner, --group), and sockets to the server */
	if (privs_drop(&(const struct privs){
		    .caps = perms.set_owner ? PRIVS_OWNER_CAPS : 0,
		    .allow = PRIVS_OPEN_WRITE | PRIVS_NET | PRIVS_THREADS }) < 0)
		return SNITCH_EXIT_NOPERM;
	if ((ret = perms_mkdirs_for(o.spool, &perms)) < 0) {
		log_msg("cannot make the directory of '%s': %s", o.spool, strerror(-ret));
		return SNITCH_EXIT_IO;
	}
	s.remote = remote_new(&o, kind, &perms, &s.st, err, sizeof(err));
	if (!s.remote) {
		log_msg("%s", err);
		return SNITCH_EXIT_IO;
	}

	s.next_stats = clock_mono_ns() + o.stats_s * 1000000000ULL;
	stage_wake_at(&s.st, s.next_stats);
	ret = stage_run(&s.st, &remote_ops, &s);
	/* EOF, SIGINT, SIGTERM or a closed output: what came is spooled */
	flush(&s);
	if (remote_pending(s.remote)) {
		uint64_t n = remote_drop_pending(s.remote);

		stage_post_lost(&s.st, "spool_unwritable", n,
				"%llu rows were not sent to the remote log: the spool cannot be written",
				(unsigned long long)n);
	}
	remote_drain(s.remote, 3000);
	write_stats(&s);	/* what still waits for the server */
	remote_free(s.remote, 0);
	ret = stage_finish(&s.st, ret);
	stage_release(&s.st);
	buf_release(&s.line);
	free(spool);
	return ret;
}
