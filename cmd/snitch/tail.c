/* SPDX-License-Identifier: MIT */
/*
 * snitch tail: the live feed (publish.c) on standard output, as it comes,
 * one record a line, optionally only some types and some field values.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "exitcode.h"
#include "feed.h"
#include "linereader.h"
#include "log.h"
#include "output.h"
#include "record.h"
#include "snitch.h"
#include "termsafe.h"

#define FILTERS_MAX 32

struct where {
	const char *key;
	const char *value;
};

struct tail {
	const char *types[FILTERS_MAX];
	int ntypes;
	struct where where[FILTERS_MAX];
	int nwhere;
	struct record rec;
	struct buf val;
};

static void tail_help(void)
{
	printf("Usage: snitch [OPTION]... tail [--type TYPE]... [--where FIELD=VALUE]...\n"
	       "Print the live feed of a running snitch: every record that reaches its last\n"
	       "stage, as NDJSON, one record a line, as it comes (for jq). Needs root or\n"
	       "membership of the group '%s'. A reader that falls behind misses records and\n"
	       "is told how many in a lost record (reason reader_slow). Characters a terminal\n"
	       "would obey (C0 and C1 controls, bidirectional overrides) and invalid UTF-8\n"
	       "are written as JSON escapes (\\u009b, \\ufffd): the same JSON value. The\n"
	       "lost records that tell this reader what it missed pass every filter.\n"
	       "\n"
	       "  -t, --type TYPE         only records of this type (flow, exec, dns, lost,\n"
	       "                          error, ...); repeat for several\n"
	       "  -w, --where FIELD=VALUE only records whose top-level FIELD is VALUE (a string\n"
	       "                          as it reads, a number or true/false/null as written);\n"
	       "                          repeat: all must match\n"
	       "  -h, --help              show this help\n"
	       "The feed's socket is $SNITCH_EVENTS_SOCK, else RUN_DIR/events.sock.\n"
	       "\n"
	       "Exit status:\n"
	       "  0  the feed ended (snitch stopped), or standard output was closed\n"
	       "  2  bad option\n"
	       "  3  permission denied\n"
	       "  4  no snitch is running\n"
	       "  5  writing the output failed\n"
	       "\n"
	       "Examples:\n"
	       "  sudo snitch tail --type flow | jq -c '{name, raddr, send_bytes}'\n"
	       "  sudo snitch tail --type flow --where name=curl --where rport=443\n"
	       "  snitch tail --type lost --type error      # as a member of the group snitch\n",
	       FEED_GROUP);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "snitch tail: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'snitch tail --help' for more information.\n");
	return SNITCH_EXIT_USAGE;
}

/* The feed's word that this reader missed records: shown whatever the filters. */
static bool told_missed(const char *line, size_t len, const char *type)
{
	static const char reason[] = "\"reason\":\"reader_slow\"", stage[] = "\"stage\":\"snitch\"";

	return !strcmp(type, "lost") && memmem(line, len, reason, sizeof(reason) - 1) &&
	       memmem(line, len, stage, sizeof(stage) - 1);
}

static bool wanted(struct tail *t, const char *line, size_t len)
{
	char type[32];

	if (record_peek_type(line, len, type, sizeof(type)) == 0 && told_missed(line, len, type))
		return true;
	if (t->ntypes) {
		bool any = false;

		if (record_peek_type(line, len, type, sizeof(type)) < 0)
			return false;
		for (int i = 0; i < t->ntypes && !any; i++)
			any = !strcmp(type, t->types[i]);
		if (!any)
			return false;
	}
	if (!t->nwhere)
		return true;
	if (record_parse(&t->rec, line, len, NULL) < 0)
		return false;
	for (int i = 0; i < t->nwhere; i++) {
		const struct record_member *m = record_find(&t->rec, t->where[i].key);
		const char *v = t->where[i].value;

		if (!m)
			return false;
		if (m->type == JSON_STRING) {
			buf_reset(&t->val);
			if (record_member_str(&t->rec, m, &t->val) < 0 ||
			    t->val.len != strlen(v) || (t->val.len && memcmp(t->val.p, v, t->val.len)))
				return false;
		} else if (m->val_len != strlen(v) || memcmp(record_val(&t->rec, m), v, m->val_len)) {
			return false;
		}
	}
	return true;
}

/* The options into t: -1 when all is well, else an exit status. */
static int tail_options(struct tail *t, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "where", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+t:w:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (t->ntypes == FILTERS_MAX)
				return usage_error("more than %s --type options", "32");
			if (!*optarg)
				return usage_error("--type needs a record type%s", "");
			t->types[t->ntypes++] = optarg;
			break;
		case 'w': {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg)
				return usage_error("--where '%s': expected FIELD=VALUE", optarg);
			if (t->nwhere == FILTERS_MAX)
				return usage_error("more than %s --where options", "32");
			*eq = '\0';
			t->where[t->nwhere].key = optarg;
			t->where[t->nwhere++].value = eq + 1;
			break;
		}
		case 'h':
			tail_help();
			return SNITCH_EXIT_OK;
		default:
			if (optopt)
				fprintf(stderr, "snitch tail: option '-%c' %s\n", optopt,
					strchr("tw", optopt) ? "needs a value" : "is unknown");
			else
				fprintf(stderr, "snitch tail: option '%s' is unknown or needs a value\n",
					argv[optind - 1]);
			fprintf(stderr, "Try 'snitch tail --help' for more information.\n");
			return SNITCH_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return -1;
}

/* The live feed's socket, or -1 with *ret the exit status, each failure
 * told in words a user can act on. */
static int tail_connect(const struct opts *o, int *ret)
{
	char path[4200];
	int fd;

	feed_sock_path(path, sizeof(path), o->run_dir, getenv("SNITCH_EVENTS_SOCK"));
	fd = feed_connect(path);
	if (fd >= 0)
		return fd;
	*ret = SNITCH_EXIT_UNAVAILABLE;
	if (fd == -ECONNREFUSED && running_pid(o)) {
		log_msg("snitch is starting: its live feed '%s' lets readers in once snitch-trace traces; try again in a moment",
			path);
	} else if (fd == -ENOENT || fd == -ECONNREFUSED) {
		log_msg("no snitch is running: there is no live feed at '%s'; start one with 'sudo snitch start' (or 'sudo snitch run')",
			path);
	} else if (fd == -EACCES || fd == -EPERM) {
		log_msg("permission denied: '%s' is for root and the group '%s' (sudo usermod -aG %s $USER)",
			path, FEED_GROUP, FEED_GROUP);
		*ret = SNITCH_EXIT_NOPERM;
	} else {
		log_msg("cannot connect to the live feed '%s': %s", path, strerror(-fd));
	}
	return -1;
}

/* What was gathered, out before waiting for more: for jq, and for whoever
 * waits on a line. -1 and *ret set when it cannot go (a closed pipe ends
 * quietly). */
static int tail_flush(struct buf *out, int *ret)
{
	int e;

	if (!out->len)
		return 0;
	if ((e = write_all(STDOUT_FILENO, out->p, out->len)) < 0) {
		if (e != -EPIPE) {
			log_msg("cannot write the output: %s", strerror(-e));
			*ret = SNITCH_EXIT_IO;
		}
		return -1;
	}
	buf_reset(out);
	return 0;
}

/* The feed's wanted records, made safe for a terminal, to standard output. */
static int tail_copy(struct tail *t, struct linereader *lr)
{
	struct buf out = BUF_INIT;
	bool first = true;
	char msg[512];
	int ret = SNITCH_EXIT_OK;

	for (;;) {
		const char *line;
		size_t len;
		enum line_status st = linereader_next(lr, &line, &len);
		ssize_t n;

		if (st == LINE_EOF)
			break;
		if (st == LINE_TOO_LONG)
			continue;
		if (st == LINE_AGAIN) {
			if (tail_flush(&out, &ret) < 0)
				goto out;
			n = linereader_fill(lr);
			if (n < 0 && n != -EINTR) {
				log_msg("reading the live feed: %s", strerror((int)-n));
				ret = SNITCH_EXIT_IO;
				break;
			}
			continue;
		}
		if (first && feed_is_denial(line, len, msg, sizeof(msg))) {
			log_msg("permission denied by the live feed: %s", msg);
			ret = SNITCH_EXIT_NOPERM;
			goto out;
		}
		first = false;
		if (wanted(t, line, len)) {
			/* the same JSON, with nothing a terminal would obey */
			termsafe_json(&out, line, len);
			buf_putc(&out, '\n');
		}
	}
	(void)tail_flush(&out, &ret);
out:
	buf_release(&out);
	return ret;
}

int cmd_tail(const struct opts *o, int argc, char **argv)
{
	struct tail t = { .ntypes = 0 };
	struct linereader lr;
	int fd, ret;

	if ((ret = tail_options(&t, argc, argv)) >= 0)
		return ret;
	signal(SIGPIPE, SIG_IGN);
	if ((fd = tail_connect(o, &ret)) < 0)
		return ret;
	record_init(&t.rec);
	if (linereader_init(&lr, fd, RECORD_LINE_MAX) < 0) {
		log_msg("out of memory");
		close(fd);
		return SNITCH_EXIT_SOFTWARE;
	}
	ret = tail_copy(&t, &lr);
	linereader_release(&lr);
	record_release(&t.rec);
	buf_release(&t.val);
	close(fd);
	return ret;
}
