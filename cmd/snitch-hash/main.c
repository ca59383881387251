/* SPDX-License-Identifier: MIT */
/*
 * snitch-hash: sha256 of files named on the command line, or of the
 * executables that snitch records name, added to those records.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "exitcode.h"
#include "hash.h"
#include "log.h"
#include "sig.h"

static const char *const watch_modes[] = { "auto", "fanotify", "stat", NULL };

static const int exit_codes[] = {
	SNITCH_EXIT_OK, SNITCH_EXIT_PARTIAL, SNITCH_EXIT_USAGE,
	SNITCH_EXIT_UNAVAILABLE, SNITCH_EXIT_IO, SNITCH_EXIT_SOFTWARE, -1,
};

int main(int argc, char **argv)
{
	struct hash_opts o = {
		.jobs = 2,
		.cache_size = 4096,
		.timeout_s = 30,
		.watch_mode = WATCH_AUTO,
	};
	const struct cli_opt opts[] = {
		{ .name = "stream", .type = CLI_FLAG, .value = &o.stream,
		  .help = "read records on stdin and add hashes (the default without FILEs when stdin is not a terminal)" },
		{ .name = "json", .type = CLI_FLAG, .value = &o.json,
		  .help = "with FILEs: print a \"hash\" record per file instead of sha256sum lines" },
		{ .name = "jobs", .short_name = 'j', .type = CLI_UINT, .value = &o.jobs,
		  .metavar = "N", .env = "SNITCH_HASH_JOBS", .min = 1, .max = 64,
		  .help = "hash up to N executables at once" },
		{ .name = "cache-size", .type = CLI_UINT, .value = &o.cache_size,
		  .metavar = "N", .env = "SNITCH_HASH_CACHE_SIZE", .min = 16, .max = 10000000,
		  .help = "remember the hashes of N executables" },
		{ .name = "watch", .type = CLI_CHOICE, .value = &o.watch_mode,
		  .metavar = "HOW", .env = "SNITCH_HASH_WATCH", .choices = watch_modes,
		  .help = "how changes to hashed executables are noticed: fanotify, or size, mtime and ctime checks" },
		{ .name = "timeout-s", .type = CLI_UINT, .value = &o.timeout_s,
		  .metavar = "S", .env = "SNITCH_HASH_TIMEOUT_S", .min = 1, .max = 86400,
		  .help = "pass a record on with a null hash when its executable takes longer than S seconds to hash" },
	};
	const struct cli cli = {
		.prog = "snitch-hash",
		.usage = "[OPTION]... FILE...\n[OPTION]... [--stream] < RECORDS",
		.summary =
			"With FILEs, print the sha256 of each FILE as sha256sum does ('-' is standard\n"
			"input); `sha256sum -c` reads the output back.\n"
			"\n"
			"Without, read snitch records (docs/records.md) on standard input and add\n"
			"exe_sha256, parent_exe_sha256 and gparent_exe_sha256 to each record that names\n"
			"an executable by exe_dev and exe_ino (and parent_, gparent_ ones). Files are\n"
			"read through /proc/PID/exe while the process lives, else by exe_path, and must\n"
			"have the named device and inode. Hashes are cached by device and inode; a\n"
			"change to a hashed file is noticed, and reported in a \"modified\" record. A\n"
			"file that cannot be hashed gets a null hash and an \"error\" record. Records\n"
			"and fields the stage does not know pass through unchanged.",
		.examples =
			"  snitch-hash /usr/bin/curl /bin/ls\n"
			"  snitch-hash /bin/ls /bin/cat | sha256sum -c -\n"
			"  snitch-hash --json /usr/bin/* | jq -r 'select(.size > 1000000) | .path'\n"
			"  stat -c '{\"v\":1,\"type\":\"exec\",\"exe_dev\":%d,\"exe_ino\":%i,\"exe_path\":\"%n\"}' /bin/ls \\\n"
			"    | snitch-hash | jq -r .exe_sha256\n"
			"  sudo snitch-trace | snitch-hash | jq -c 'select(.type == \"flow\") | {comm, exe_sha256}'\n"
			"  snitch-hash < records.jsonl | jq -c 'select(.type == \"modified\")'\n",
		.opts = opts,
		.nopts = sizeof(opts) / sizeof(opts[0]),
		.exit_codes = exit_codes,
	};
	int first, r;

	log_init(cli.prog);
	r = cli_parse(&cli, argc, argv, &first);
	if (r >= 0)
		return r;
	if (first < argc) {
		if (o.stream)
			return cli_usage_error(&cli, "--stream reads records on standard input and takes no FILE");
		/* one-off runs die of SIGINT like any filter; just ignore SIGPIPE */
		signal(SIGPIPE, SIG_IGN);
		return oneoff_run(&o, argc - first, argv + first);
	}
	if (o.json)
		return cli_usage_error(&cli, "--json needs FILE arguments; records are JSON already");
	if (!o.stream && isatty(STDIN_FILENO))
		return cli_usage_error(&cli, "no FILE given and standard input is a terminal");
	if (sig_setup() < 0) {
		log_msg("cannot set up signal handling");
		return SNITCH_EXIT_SOFTWARE;
	}
	return stream_run(&o);
}
