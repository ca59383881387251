/* SPDX-License-Identifier: MIT */
/*
 * snitch-metrics: a Prometheus exporter stage. It reads records, counts
 * bytes, connections, DNS messages and system calls per executable,
 * container and pod (exporter.c, bounded in series by registry.c), and
 * serves them on /metrics from its own HTTP thread (http.c); with --tee
 * it passes every record on.
 */
#include <errno.h>
#include <linux/capability.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "privs.h"
#include "cli.h"
#include "clock.h"
#include "exitcode.h"
#include "log.h"
#include "metrics.h"
#include "stage.h"

#define TICK_NS (250 * 1000000ULL)

struct metrics_stage {
	struct stage st;
	struct exporter *e;
	bool tee;
};

static void on_record(void *ctx, struct stage *st, const char *line, size_t len)
{
	struct metrics_stage *m = ctx;

	(void)line;
	(void)len;
	exporter_record(m->e, &st->rec, clock_mono_ns());
	if (m->tee)
		record_write(&st->rec, &st->out.b);
}

static uint64_t on_timer(void *ctx, struct stage *st, uint64_t now)
{
	struct metrics_stage *m = ctx;

	(void)st;
	exporter_tick(m->e, now);
	return now + TICK_NS;
}

static bool on_eof(void *ctx, struct stage *st, uint64_t now)
{
	struct metrics_stage *m = ctx;

	(void)st;
	exporter_flush(m->e, now);
	return true;
}

/* Its own error records (a malformed line) count as the others' do. */
static void on_own_error(void *ctx, struct stage *st, const char *code, const char *msg,
			 const char *rec, size_t rec_len)
{
	struct metrics_stage *m = ctx;
	struct record r;

	(void)st;
	(void)code;
	(void)msg;
	record_init(&r);
	if (record_parse(&r, rec, rec_len, NULL) == 0)
		exporter_record(m->e, &r, clock_mono_ns());
	record_release(&r);
}

static const struct stage_ops metrics_ops = {
	.on_record = on_record,
	.on_timer = on_timer,
	.on_eof = on_eof,
	.on_own_error = on_own_error,
};

static const int exit_codes[] = {
	SNITCH_EXIT_OK, SNITCH_EXIT_USAGE, SNITCH_EXIT_NOPERM, SNITCH_EXIT_UNAVAILABLE,
	SNITCH_EXIT_IO, SNITCH_EXIT_SOFTWARE, -1,
};

/*
 * The user to serve as when --user is not given: SNITCH_USER, or nobody
 * (it never needs root, so SNITCH_USER=root, where the stages keep root's
 * uid, still gives nobody). Not asked for by name: where there is no such
 * user, or no CAP_SETUID to become one (a container given only the
 * stages' capabilities), it stays who it is, with no capability ("").
 */
static const char *default_user(void)
{
	const char *u = getenv("SNITCH_USER");
	const char *user = u && *u && strcmp(u, "root") ? u : "nobody";

	if (geteuid() == 0 && (!getpwnam(user) || !privs_have(CAP_SETUID) ||
			       !privs_have(CAP_SETGID))) {
		log_msg("cannot become user '%s' here: serving as root's uid, with no capability",
			user);
		return "";
	}
	return user;
}

int main(int argc, char **argv)
{
	const char *listen_at = "127.0.0.1:9464";
	const char *labels = "exe name container_runtime container_name pod_namespace pod_name remote_subnet proto";
	const char *status = NULL, *user = NULL;
	uint64_t max_series = 10000, ttl_s = 600, v4 = 24, v6 = 48;
	bool tee = false;
	const struct cli_opt opts[] = {
		{ .name = "listen", .type = CLI_STRING, .value = &listen_at, .metavar = "ADDR:PORT",
		  .env = "SNITCH_METRICS_LISTEN",
		  .help = "serve /metrics and /healthz there (numeric: 127.0.0.1:9464, [::1]:9464, :9464 for every address; port 0 picks one)" },
		{ .name = "labels", .type = CLI_STRING, .value = &labels, .metavar = "LIST",
		  .env = "SNITCH_METRICS_LABELS",
		  .help = "the labels of the per-process metrics, of exe name container_runtime container_name container_image pod_namespace pod_name remote_subnet proto" },
		{ .name = "max-series", .type = CLI_UINT, .value = &max_series, .metavar = "N",
		  .env = "SNITCH_METRICS_MAX_SERIES", .min = 1, .max = 10000000,
		  .help = "at most N series per metric; new label sets then count in one series labelled \"other\"" },
		{ .name = "series-ttl-s", .type = CLI_UINT, .value = &ttl_s, .metavar = "S",
		  .env = "SNITCH_METRICS_SERIES_TTL_S", .max = 100000000,
		  .help = "remove a series S seconds after its last update (0: never)" },
		{ .name = "subnet-v4", .type = CLI_UINT, .value = &v4, .metavar = "BITS",
		  .env = "SNITCH_METRICS_SUBNET_V4", .max = 32,
		  .help = "the remote_subnet label of an IPv4 address: its /BITS network" },
		{ .name = "subnet-v6", .type = CLI_UINT, .value = &v6, .metavar = "BITS",
		  .env = "SNITCH_METRICS_SUBNET_V6", .max = 128,
		  .help = "the remote_subnet label of an IPv6 address: its /BITS network" },
		{ .name = "status-file", .type = CLI_STRING, .value = &status, .metavar = "FILE",
		  .env = "SNITCH_METRICS_STATUS",
		  .help = "the supervisor's status.json, for each stage's records and rate (default: $SNITCH_RUN_DIR/status.json, /run/snitch/status.json)" },
		{ .name = "user", .type = CLI_STRING, .value = &user, .metavar = "NAME",
		  .env = "SNITCH_METRICS_USER",
		  .help = "run as root, become this user once listening (default: $SNITCH_USER unless root, else nobody; '' or root: stay root)" },
		{ .name = "tee", .type = CLI_FLAG, .value = &tee, .env = "SNITCH_METRICS_TEE",
		  .help = "pass every input record on to standard output" },
	};
	const struct cli cli = {
		.prog = STAGE,
		.usage = "[OPTION]... < RECORDS",
		.summary =
			"Serve Prometheus metrics of the records that flow through it: bytes sent and\n"
			"received, packets, connections, DNS queries and answers, system calls, new\n"
			"executables, per executable, container, pod, remote subnet and protocol, and\n"
			"the pipeline's own health (records per stage, losses, errors, restarts).\n"
			"GET /metrics answers in the Prometheus text format 0.0.4, or in OpenMetrics\n"
			"1.0 when the Accept header asks for application/openmetrics-text; GET\n"
			"/healthz answers \"ok\". Each metric holds at most --max-series series: past\n"
			"that, new label sets count in its \"other\" series (docs/metrics.md).",
		.examples =
			"  ... | snitch-store --tee | snitch-metrics --tee | snitch-notify\n"
			"  sudo snitch-trace | snitch-resolve | snitch-hash | snitch-metrics --listen 127.0.0.1:9464\n"
			"  snitch-metrics --labels 'exe container_name pod_namespace pod_name' --max-series 2000 < records.jsonl\n"
			"  curl -s http://127.0.0.1:9464/metrics | grep snitch_network_sent_bytes_total\n",
		.opts = opts,
		.nopts = sizeof(opts) / sizeof(opts[0]),
		.exit_codes = exit_codes,
	};
	struct exporter_opts o = { 0 };
	struct metrics_stage m;
	struct http *h;
	char err[256], *status_default = NULL;
	int ret, fd;

	if ((ret = stage_parse_cli(&cli, argc, argv)) >= 0)
		return ret;
	if (labels_parse(labels, &o.labels, err, sizeof(err)) < 0)
		return cli_usage_error(&cli, "'%s' is not a label of --labels (exe, name, container_runtime, container_name, container_image, pod_namespace, pod_name, remote_subnet, proto)",
				       err);
	if (http_check_listen(listen_at, err, sizeof(err)) < 0)
		return cli_usage_error(&cli, "%s", err);
	if (!status) {
		const char *run = getenv("SNITCH_RUN_DIR");

		if (asprintf(&status_default, "%s/status.json", run && *run ? run : "/run/snitch") < 0)
			return SNITCH_EXIT_SOFTWARE;
		status = status_default;
	}
	o.subnet_v4 = (unsigned)v4;
	o.subnet_v6 = (unsigned)v6;
	o.max_series = (size_t)max_series;
	o.ttl_ns = ttl_s * 1000000000ULL;
	o.status_file = *status ? status : NULL;
	/* (a scrape's answer, one large buffer, is mapped on its own and
	 * given back once sent: stage_init() fixes the mmap threshold) */
	memset(&m, 0, sizeof(m));
	m.tee = tee;
	if ((ret = stage_start(&m.st, &cli, "snitch-store --tee")) >= 0) {
		free(status_default);
		return ret;
	}
	/* what could not start is freed as well: a leak checker sees none */
	m.e = exporter_new(&o);
	if (!m.e) {
		log_msg("out of memory");
		ret = SNITCH_EXIT_SOFTWARE;
		goto out;
	}
	fd = http_listen(listen_at, err, sizeof(err));
	if (fd < 0) {
		log_msg("%s", err);
		ret = SNITCH_EXIT_UNAVAILABLE;
		goto out;
	}
	/* listening: as the user, no capability, nothing written, no process */
	if (privs_drop(&(const struct privs){
		    .user = user ? user : default_user(), .allow = PRIVS_OPEN_READ | PRIVS_LISTEN | PRIVS_THREADS }) < 0) {
		close(fd);
		ret = SNITCH_EXIT_NOPERM;
		goto out;
	}
	h = http_start(fd, m.e, err, sizeof(err));
	if (!h) {
		log_msg("%s", err);
		close(fd);
		ret = SNITCH_EXIT_SOFTWARE;
		goto out;
	}
	log_msg("serving /metrics on port %u (%s)", http_port(h), listen_at);

	stage_wake_at(&m.st, clock_mono_ns() + TICK_NS);
	ret = stage_run(&m.st, &metrics_ops, &m);
	exporter_flush(m.e, clock_mono_ns());
	http_stop(h);
	ret = stage_finish(&m.st, ret);
out:
	stage_release(&m.st);
	exporter_free(m.e);
	free(status_default);
	return ret;
}
