/* SPDX-License-Identifier: MIT */
/*
 * snitch-query: the connection log's sums, from the command line, through
 * the query core (query/query.h): totals, groups, series. NDJSON on a
 * pipe, an aligned table on a terminal. Read-only: it never blocks
 * snitch-store, and works for any user who may read the database.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "exitcode.h"
#include "log.h"
#include "query/query.h"
#include "units.h"

#define PROG "snitch-query"
#define DEFAULT_DB "/var/lib/snitch/snitch.db"

struct opts {
	const char *db;
	const char *since, *from, *until;
	const char *group_by, *series;
	const char *where_help, *exclude_help, *drill;
	enum q_field drill_field;	/* --drill's field and value, as parsed */
	const char *drill_value;
	uint64_t top;
	bool json, bytes, executables, raw;
};

static const int exit_codes[] = {
	SNITCH_EXIT_OK, SNITCH_EXIT_USAGE, SNITCH_EXIT_NOPERM, SNITCH_EXIT_IO,
	SNITCH_EXIT_SOFTWARE, -1,
};

/* ---- output ---- */

static void human_time(char *out, size_t size, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0 || !gmtime_r(&t, &tm)) {
		snprintf(out, size, "-");
		return;
	}
	strftime(out, size, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* The cells of a table, row after row; print_table() aligns them. */
static char **cells;
static size_t ncells, capcells;

static void cell(const char *s)
{
	if (ncells == capcells) {
		capcells = capcells ? capcells * 2 : 64;
		if (!(cells = realloc(cells, capcells * sizeof(*cells)))) {
			log_msg("out of memory");
			exit(SNITCH_EXIT_SOFTWARE);
		}
	}
	if (!(cells[ncells++] = strdup(s ? s : "(none)"))) {
		log_msg("out of memory");
		exit(SNITCH_EXIT_SOFTWARE);
	}
}

/* A byte count as a cell: KiB, MiB... or, with exact, every byte. */
static void cell_bytes(uint64_t n, bool exact)
{
	char v[64];

	units_bytes(n, exact ? UNITS_BYTES : UNITS_BINARY, v, sizeof(v));
	cell(v);
}

static void cell_u64(uint64_t n)
{
	char v[32];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)n);
	cell(v);
}

/* Print the cells as rows of ncols; the columns of right[] to the right. */
static void print_table(size_t ncols, const bool *right)
{
	size_t w[16] = { 0 };

	for (size_t i = 0; i < ncells; i++) {
		size_t l = strlen(cells[i]);

		if (l > w[i % ncols])
			w[i % ncols] = l;
	}
	for (size_t i = 0; i < ncols; i++)
		if (w[i] > 72)
			w[i] = 72;	/* a long command line does not push the numbers away */
	for (size_t i = 0; i < ncells; i++) {
		size_t c = i % ncols;
		bool last = c == ncols - 1;

		if (right[c])
			printf("%*s", (int)w[c], cells[i]);
		else if (last)
			fputs(cells[i], stdout);
		else
			printf("%-*s", (int)w[c], cells[i]);
		fputs(last ? "\n" : "  ", stdout);
		free(cells[i]);
	}
	ncells = 0;
}

static void write_json(struct buf *b)
{
	buf_putc(b, '\n');
	fwrite(b->p, 1, b->len, stdout);
	b->len = 0;
}

static void print_totals(const struct q_totals *t, bool json, bool exact)
{
	static const bool right[] = { false, true };
	struct buf b = BUF_INIT;
	char v[64];

	if (json) {
		q_json_totals(&b, t);
		write_json(&b);
		buf_release(&b);
		return;
	}
	cell("sent");
	cell_bytes(t->sent, exact);
	cell("received");
	cell_bytes(t->received, exact);
	cell("connections");
	cell_u64(t->connections);
	cell("events");
	cell_u64(t->events);
	cell("executables");
	cell_u64(t->executables);
	cell("new executables");
	cell_u64(t->new_executables);
	cell("first seen");
	human_time(v, sizeof(v), t->first_ns);
	cell(v);
	cell("last seen");
	human_time(v, sizeof(v), t->last_ns);
	cell(v);
	print_table(2, right);
}

/* A verdict as a table cell: "3/70", "not found", "" for none. */
static void vt_cell(bool known, const struct q_vt *vt)
{
	char v[64];

	if (!known)
		return;
	if (!vt)
		cell("");
	else if (vt->status && !strcmp(vt->status, "known") && vt->flagged >= 0 && vt->engines >= 0) {
		snprintf(v, sizeof(v), "%lld/%lld", (long long)vt->flagged, (long long)vt->engines);
		cell(v);
	} else
		cell(vt->status && !strcmp(vt->status, "not_found") ? "not found" : "error");
}

static void print_rows(const struct q_rows *r, bool json, bool exact)
{
	static const bool right[] = { false, true, true, true, true, false, false };
	static const bool right_vt[] = { false, false, true, true, true, true, false, false };
	struct buf b = BUF_INIT;
	bool vt = false;
	char v[64];

	if (json) {
		for (size_t i = 0; i < r->n; i++) {
			q_json_row(&b, r->field, &r->v[i]);
			write_json(&b);
		}
		buf_release(&b);
		return;
	}
	/* rows of a sha256 field of a version 5 log: a VirusTotal column */
	for (size_t i = 0; i < r->n; i++)
		vt = vt || r->v[i].vt_known;
	cell(q_field_name(r->field));
	if (vt)
		cell("virustotal");
	cell("sent");
	cell("received");
	cell("connections");
	cell("events");
	cell("first seen");
	cell("last seen");
	for (size_t i = 0; i < r->n; i++) {
		const struct q_row *x = &r->v[i];

		cell(x->other ? "(other)" : x->key);
		if (vt)
			vt_cell(true, x->vt_known ? x->vt : NULL);
		cell_bytes(x->sent, exact);
		cell_bytes(x->received, exact);
		cell_u64(x->connections);
		cell_u64(x->events);
		human_time(v, sizeof(v), x->first_ns);
		cell(v);
		human_time(v, sizeof(v), x->last_ns);
		cell(v);
	}
	print_table(vt ? 8 : 7, vt ? right_vt : right);
}

static void print_series(const struct q_series *s, bool json, bool exact)
{
	static const bool right[] = { false, false, true, true, true };
	struct buf b = BUF_INIT;
	char v[64];

	if (json) {
		for (size_t i = 0; i < s->n; i++) {
			q_json_point(&b, s->field, &s->v[i]);
			write_json(&b);
		}
		buf_release(&b);
		return;
	}
	cell("bucket");
	cell(s->field == QF_NONE ? "" : q_field_name(s->field));
	cell("sent");
	cell("received");
	cell("connections");
	for (size_t i = 0; i < s->n; i++) {
		const struct q_point *p = &s->v[i];

		human_time(v, sizeof(v), p->bucket_ns);
		cell(v);
		cell(s->field == QF_NONE ? "" : p->other ? "(other)" : p->key);
		cell_bytes(p->sent, exact);
		cell_bytes(p->received, exact);
		cell_u64(p->connections);
	}
	print_table(5, right);
}

static void print_exes(const struct q_exes *e, bool json, bool exact)
{
	static const bool right[] = { false, false, true, true, false, false };
	static const bool right_vt[] = { false, false, false, true, true, false, false };
	struct buf b = BUF_INIT;
	bool vt = false;
	char v[64];

	if (json) {
		for (size_t i = 0; i < e->n; i++) {
			q_json_exe(&b, &e->v[i]);
			write_json(&b);
		}
		buf_release(&b);
		return;
	}
	for (size_t i = 0; i < e->n; i++)
		for (size_t j = 0; j < e->v[i].nhashes; j++)
			vt = vt || e->v[i].hashes[j].vt_known;
	cell("exe");
	cell("sha256");
	if (vt)
		cell("virustotal");
	cell("sent");
	cell("received");
	cell("first seen");
	cell("last seen");
	for (size_t i = 0; i < e->n; i++) {
		for (size_t j = 0; j < e->v[i].nhashes; j++) {
			const struct q_hash *h = &e->v[i].hashes[j];

			cell(j ? "" : e->v[i].path);
			cell(h->sha256);
			if (vt)
				vt_cell(true, h->vt);
			units_bytes(j ? 0 : e->v[i].sent, exact ? UNITS_BYTES : UNITS_BINARY, v, sizeof(v));
			cell(j ? "" : v);
			units_bytes(j ? 0 : e->v[i].received, exact ? UNITS_BYTES : UNITS_BINARY, v, sizeof(v));
			cell(j ? "" : v);
			human_time(v, sizeof(v), h->first_ns);
			cell(v);
			human_time(v, sizeof(v), h->last_ns);
			cell(v);
		}
	}
	print_table(vt ? 7 : 6, vt ? right_vt : right);
}

/* ---- options ---- */

/*
 * --where and --exclude repeat, which the option table does not: they are
 * taken out of argv first (both "--where F=V" and "--where=F=V").
 */
static int take_filters(int *argc, char **argv, struct q_spec *s, const struct cli *cli)
{
	int w = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];
		bool ex = false;
		char *v = NULL, err[256];

		if (!strcmp(a, "--")) {
			while (i < *argc)
				argv[w++] = argv[i++];
			break;
		}
		if (!strcmp(a, "--where") || !strcmp(a, "--exclude")) {
			ex = a[2] == 'e';
			if (i + 1 >= *argc)
				return cli_usage_error(cli, "option '%s' requires an argument", a);
			v = argv[++i];
		} else if (!strncmp(a, "--where=", 8)) {
			v = argv[i] + 8;
		} else if (!strncmp(a, "--exclude=", 10)) {
			ex = true;
			v = argv[i] + 10;
		} else {
			argv[w++] = argv[i];
			continue;
		}
		if (q_spec_add_filter(s, v, ex, err, sizeof(err)) < 0)
			return cli_usage_error(cli, "--%s: %s", ex ? "exclude" : "where", err);
	}
	*argc = w;
	argv[w] = NULL;
	return -1;
}

/*
 * The query the options ask for, into s (its filters are in already):
 * -1, or the exit status of a usage error, said.
 */
static int spec_from_opts(const struct cli *cli, struct opts *o, struct q_spec *s)
{
	int64_t now = (int64_t)clock_real_ns();

	if (o->since && (o->from || o->until))
		return cli_usage_error(cli, "--since and --from/--until: give one or the other");
	if (o->from || o->until) {
		if (o->from && q_parse_time(o->from, &s->from_ns) < 0)
			return cli_usage_error(cli, "--from: '%s' is not a time (ISO 8601 or seconds since the epoch)", o->from);
		if (o->until && q_parse_time(o->until, &s->until_ns) < 0)
			return cli_usage_error(cli, "--until: '%s' is not a time (ISO 8601 or seconds since the epoch)", o->until);
		if (!o->until)
			s->until_ns = now + 1;
		if (s->until_ns <= s->from_ns)
			return cli_usage_error(cli, "--until is not after --from");
	} else if (q_parse_since(o->since ? o->since : "1h", now, &s->from_ns) < 0) {
		return cli_usage_error(cli, "--since: '%s' is not a duration (1m, 5m, 15m, 1h, 6h, 1d, 7d, 30d, 1y or all)",
				       o->since);
	}
	if (o->group_by && (s->group_by = q_field_parse(o->group_by)) == QF_NONE)
		return cli_usage_error(cli, "--group-by: unknown field '%s'", o->group_by);
	if (o->series && q_parse_duration(o->series, &s->bucket_ns) < 0)
		return cli_usage_error(cli, "--series: '%s' is not a bucket size (1m, 5m, 1h, 1d...)", o->series);
	if (o->series && s->bucket_ns < 1000000000)
		return cli_usage_error(cli, "--series: '%s' is shorter than a second", o->series);
	if (o->drill && q_field_value(o->drill, &o->drill_field, &o->drill_value) < 0)
		return cli_usage_error(cli, "--drill: '%s' is not FIELD=VALUE of a known field", o->drill);
	s->top = (size_t)o->top;
	s->raw_only = o->raw;
	return -1;
}

/* Ask the log and print the answer: 0, or a negative errno with err set. */
static int answer(struct q_db *db, const struct opts *o, struct q_spec *s, char *err, size_t errsize)
{
	int r;

	if (o->drill) {
		struct q_drill d;
		struct buf b = BUF_INIT;

		if ((r = q_drill(db, s, o->drill_field, o->drill_value, &d, err, errsize)) == 0) {
			q_json_drill(&b, &d);
			write_json(&b);
			buf_release(&b);
			q_drill_free(&d);
		}
	} else if (o->executables) {
		struct q_exes e;

		if ((r = q_executables(db, s, &e, err, errsize)) == 0) {
			print_exes(&e, o->json, o->bytes);
			q_exes_free(&e);
		}
	} else if (o->series) {
		struct q_series se;

		if (s->group_by != QF_NONE && !s->top)
			s->top = 10;
		if ((r = q_series(db, s, &se, err, errsize)) == 0) {
			print_series(&se, o->json, o->bytes);
			q_series_free(&se);
		}
	} else if (s->group_by != QF_NONE) {
		struct q_rows rows;

		if ((r = q_group(db, s, &rows, err, errsize)) == 0) {
			print_rows(&rows, o->json, o->bytes);
			q_rows_free(&rows);
		}
	} else {
		struct q_totals t;

		if ((r = q_totals(db, s, &t, err, errsize)) == 0)
			print_totals(&t, o->json, o->bytes);
	}
	return r;
}

int main(int argc, char **argv)
{
	struct opts o = { .db = DEFAULT_DB, .since = NULL };
	const struct cli_opt opts[] = {
		{ .name = "db", .type = CLI_STRING, .value = &o.db, .metavar = "FILE", .env = "SNITCH_DB",
		  .help = "the database snitch-store writes (read only)" },
		{ .name = "since", .type = CLI_STRING, .value = &o.since, .metavar = "AGO",
		  .help = "the last 1m, 5m, 15m, 1h (the default), 6h, 1d, 7d, 30d, 1y (any N with s m h d w y), or all" },
		{ .name = "from", .type = CLI_STRING, .value = &o.from, .metavar = "TIME",
		  .help = "from TIME: ISO 8601 (2026-12-01, 2026-12-01T08:00Z, ...+01:00) or seconds since the epoch" },
		{ .name = "until", .type = CLI_STRING, .value = &o.until, .metavar = "TIME",
		  .help = "until TIME (excluded; default: now)" },
		{ .name = "group-by", .type = CLI_STRING, .value = &o.group_by, .metavar = "FIELD",
		  .help = "sums per value of FIELD (the fields are listed below)" },
		{ .name = "where", .type = CLI_STRING, .value = &o.where_help, .metavar = "F=V",
		  .help = "only rows whose field F is V (repeat: all must hold; F= is none)" },
		{ .name = "exclude", .type = CLI_STRING, .value = &o.exclude_help, .metavar = "F=V",
		  .help = "leave out rows whose field F is V (repeat)" },
		{ .name = "top", .type = CLI_UINT, .value = &o.top, .metavar = "N", .min = 0, .max = 1000000,
		  .help = "the N largest groups and the rest summed as \"other\" (0: all; series: 10)" },
		{ .name = "series", .type = CLI_STRING, .value = &o.series, .metavar = "BUCKET",
		  .help = "a time series in buckets of BUCKET (1m, 5m, 1h, 1d...), per group with --group-by" },
		{ .name = "drill", .type = CLI_STRING, .value = &o.drill, .metavar = "F=V",
		  .help = "one group in depth: its domains, addresses, ports, parents, users, sha256 values (one JSON object)" },
		{ .name = "executables", .type = CLI_FLAG, .value = &o.executables,
		  .help = "every executable seen, with its sha256 values over time" },
		{ .name = "json", .type = CLI_FLAG, .value = &o.json,
		  .help = "NDJSON even on a terminal (the default on a pipe)" },
		{ .name = "bytes", .type = CLI_FLAG, .value = &o.bytes,
		  .help = "exact byte counts in the table, not KiB, MiB, GiB" },
		{ .name = "raw", .type = CLI_FLAG, .value = &o.raw,
		  .help = "answer from the raw connections table only, not the rollups (a check, and bench/query.sh's baseline)" },
	};
	const struct cli cli = {
		.prog = PROG,
		.usage = "[--since AGO | --from TIME [--until TIME]] [--group-by FIELD] [--where F=V]... "
			 "[--exclude F=V]... [--top N] [--series BUCKET] [--json] [--bytes] [--db FILE]",
		.summary =
			"Sums of the connection log snitch-store writes: bytes sent and received,\n"
			"connections (rows: one per connection and write window), events (records),\n"
			"executables and new executables of the range; or per value of a field; or\n"
			"as a time series. One JSON object per line when standard output is not a\n"
			"terminal (fields: docs/schema.md, \"snitch-query output\"), else a table.\n"
			"It opens the database read-only and never blocks snitch-store; any user\n"
			"who may read the database may run it (docs/operations.md).\n"
			"\n"
			"Fields: exe, name, cmdline, sha256, parent_exe, parent_name, parent_cmdline,\n"
			"parent_sha256, gparent_exe, gparent_name, gparent_cmdline, gparent_sha256,\n"
			"user (uid), lport, rport, laddr, raddr, country, domain, netns, container\n"
			"(runtime:id), container_name, image, pod_namespace, pod_name, proto, app (a\n"
			"Flatpak app id, snap name or AppImage), script (the script an interpreter\n"
			"runs), outcome (connected, accepted, refused, timeout, unreachable, reset,\n"
			"...; none for most datagrams: \"outcome=\"). lport is not in the rollups:\n"
			"grouping or filtering by it reads the raw rows of the range.",
		.examples =
			"  snitch-query --since 1h --group-by exe\n"
			"  snitch-query --since 30d --group-by domain --where exe=/usr/bin/curl --top 20\n"
			"  snitch-query --since 7d --group-by script --where name=python3\n"
			"  snitch-query --since 1d --group-by pod_name --where pod_namespace=default\n"
			"  snitch-query --from 2026-11-01 --until 2026-12-01 --group-by country --exclude country=private\n"
			"  snitch-query --since 1d --series 1h --group-by exe --top 5 --json | jq -c .\n"
			"  snitch-query --since all --executables\n"
			"  snitch-query --since 30d --drill exe=/usr/bin/curl --top 10 | jq .domains\n"
			"  snitch-query --since 7d --group-by exe --where outcome=refused\n"
			"  snitch-query --since 7d --group-by raddr --where domain=example.org | jq -r .raddr\n",
		.opts = opts,
		.nopts = sizeof(opts) / sizeof(opts[0]),
		.exit_codes = exit_codes,
	};
	struct q_spec s;
	struct q_db *db = NULL;
	char err[512];
	int ret, r, first;

	log_init(PROG);
	/* a reader that goes away (| head) ends the output, not the process by signal */
	signal(SIGPIPE, SIG_IGN);
	q_spec_init(&s);
	if ((ret = take_filters(&argc, argv, &s, &cli)) >= 0)
		return ret;
	if ((ret = cli_parse(&cli, argc, argv, &first)) >= 0)
		return ret;
	if (first < argc)
		return cli_usage_error(&cli, "unexpected argument '%s'", argv[first]);
	if ((ret = spec_from_opts(&cli, &o, &s)) >= 0)
		return ret;
	if (!o.json)
		o.json = !isatty(STDOUT_FILENO);
	if ((r = q_open(&db, o.db, 0, err, sizeof(err))) < 0) {
		q_access_hint(o.db, r, err, sizeof(err));
		log_msg("%s", err);
		return exit_status_of(r);
	}
	r = answer(db, &o, &s, err, sizeof(err));
	q_close(db);
	ret = SNITCH_EXIT_OK;
	if (r < 0) {
		log_msg("cannot query '%s': %s", o.db, err);
		ret = exit_status_of(r);
	}
	free(cells);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			log_msg("cannot write the output: %s", strerror(errno));
		return errno == EPIPE ? ret : SNITCH_EXIT_IO;
	}
	return ret;
}
