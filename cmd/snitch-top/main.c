/* SPDX-License-Identifier: MIT */
/*
 * snitch top: the live feed of a running snitch (lib/feed.h) in the
 * terminal, refreshed once a second: traffic per executable above the
 * newest flows. Reads the feed and nothing else; with --start it runs its
 * own `snitch run` for as long as it runs.
 *
 * Everything a process chose (its name, command line, path, the domains it
 * looked up) has been through lib/termsafe.h before it is stored
 * (model.c): no byte of it reaches the terminal as a control.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "exitcode.h"
#include "feed.h"
#include "feedclient.h"
#include "geoip.h"
#include "log.h"
#include "model.h"
#include "self.h"
#include "top.h"
#include "tty.h"

#define PROG "snitch top"
#define NS 1000000000ULL
#define MS 1000000ULL
#define START_WAIT_NS (30 * NS)

static volatile sig_atomic_t quit_signal;

static void on_quit(int signo)
{
	quit_signal = signo;
}

/* ---- the feed: feedclient.c ---- */

/* Connect once; sets t->state. Returns the negative errno of a failure. */
static int try_connect(struct top *t)
{
	int e = feed_client_connect(&t->feed);

	if (e < 0) {
		if (e == -ENOMEM)
			return e;
		t->state = e == -EACCES || e == -EPERM ? TOP_DENIED : TOP_NO_SNITCH;
		if (t->state == TOP_DENIED)
			snprintf(t->feed.denied, sizeof(t->feed.denied),
				 "permission denied: '%s' is for root and the group '%s' (sudo usermod -aG %s $USER)",
				 t->feed.sock, FEED_GROUP, FEED_GROUP);
		return e;
	}
	t->state = TOP_CONNECTED;
	t->connected_ns = clock_mono_ns();
	return 0;
}

/* Read what the feed holds now, for at most 50 ms. */
static void read_feed(struct top *t)
{
	switch (feed_client_read(&t->feed, &t->live, 50 * MS)) {
	case FEED_READ_DENIED:
		t->state = TOP_DENIED;
		break;
	case FEED_READ_ENDED:
		t->state = TOP_NO_SNITCH;
		t->feed_ended = true;
		break;
	case FEED_READ_MORE:
		break;
	}
}

/* ---- the listening ports, from /proc/net ---- */

static void read_listening(struct top_model *m, const char *file, const char *proto,
			   const char *state)
{
	FILE *f = fopen(file, "re");
	char line[512];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char local[64], remote[64], st[8];
		const char *lc, *rc;

		if (sscanf(line, " %*s %63s %63s %7s", local, remote, st) != 3 || strcmp(st, state))
			continue;
		lc = strrchr(local, ':');
		rc = strrchr(remote, ':');
		if (!lc || !rc || strtoul(rc + 1, NULL, 16) != 0)
			continue;
		model_set_listening(m, proto, (uint16_t)strtoul(lc + 1, NULL, 16), true);
	}
	fclose(f);
}

static void refresh_listening(struct top_model *m)
{
	memset(m->listen_tcp, 0, sizeof(m->listen_tcp));
	memset(m->listen_udp, 0, sizeof(m->listen_udp));
	read_listening(m, "/proc/net/tcp", "tcp", "0A");
	read_listening(m, "/proc/net/tcp6", "tcp", "0A");
	read_listening(m, "/proc/net/udp", "udp", "07");
	read_listening(m, "/proc/net/udp6", "udp", "07");
}

/* ---- --start: a pipeline of its own ---- */

static int start_snitch(struct top *t, const char *bin_dir)
{
	const char *log_dir = getenv("SNITCH_LOG_DIR");
	char snitch[PATH_MAX + 16], log_path[PATH_MAX];
	int logfd;
	pid_t pid;

	if (!log_dir || !*log_dir)
		log_dir = "/var/log/snitch";
	snprintf(snitch, sizeof(snitch), "%s/snitch", bin_dir);
	snprintf(log_path, sizeof(log_path), "%s/snitch.log", log_dir);
	(void)mkdir(log_dir, 0750);
	logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (logfd < 0)
		logfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	snprintf(t->start_log, sizeof(t->start_log), "%.500s", log_path);
	pid = fork();
	if (pid < 0) {
		log_msg("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

		/* away from the terminal (its Ctrl-C is top's), and gone with top */
		(void)setsid();
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
		    dup2(logfd, STDOUT_FILENO) < 0 || dup2(logfd, STDERR_FILENO) < 0)
			_exit(SNITCH_EXIT_IO);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execl(snitch, "snitch", "run", (char *)NULL);
		fprintf(stderr, "snitch top: cannot run '%s': %s\n", snitch, strerror(errno));
		_exit(SNITCH_EXIT_UNAVAILABLE);
	}
	close(logfd);
	t->child = pid;
	t->child_started_ns = clock_mono_ns();
	return 0;
}

static void stop_snitch(struct top *t)
{
	uint64_t deadline = clock_mono_ns() + 60 * NS;
	int status;

	if (t->child <= 0)
		return;
	fprintf(stderr, "snitch top: stopping the snitch it started (pid %d)\n", (int)t->child);
	kill(t->child, SIGTERM);
	while (waitpid(t->child, &status, WNOHANG) == 0) {
		struct timespec ts = { 0, 50 * 1000000L };

		if (clock_mono_ns() > deadline) {
			kill(t->child, SIGKILL);
			(void)waitpid(t->child, &status, 0);
			break;
		}
		nanosleep(&ts, NULL);
	}
	t->child = 0;
}

/* ---- keys ---- */

static void pause_toggle(struct top *t)
{
	t->paused = !t->paused;
	free(t->frozen.exe);
	t->frozen.exe = NULL;
	if (!t->paused)
		return;
	/* a copy to show: the feed is still read, so nothing is missed */
	t->frozen = t->live;
	t->frozen.exe = NULL;
	t->frozen.nexe = t->frozen.cap = 0;
	if (t->live.nexe && (t->frozen.exe = malloc(t->live.nexe * sizeof(*t->live.exe)))) {
		memcpy(t->frozen.exe, t->live.exe, t->live.nexe * sizeof(*t->live.exe));
		t->frozen.nexe = t->frozen.cap = t->live.nexe;
	}
}

/* Returns false to quit. */
static bool on_key(struct top *t, int c)
{
	if (t->help) {
		t->help = false;
		return c != 'q';
	}
	if (t->editing) {
		switch (tty_edit_key(t->edit, sizeof(t->edit), c)) {
		case TTY_EDIT_ENTER:
			snprintf(t->filter, sizeof(t->filter), "%s", t->edit);
			t->editing = false;
			break;
		case TTY_EDIT_CANCEL:
			t->editing = false;
			break;
		case TTY_EDIT_MORE:
			break;
		}
		return true;
	}
	switch (c) {
	case 'q':
	case 'Q':
		return false;
	case 's':
		t->sort = (enum top_sort)((t->sort + 1) % SORT_COUNT);
		break;
	case 'p':
	case ' ':
		pause_toggle(t);
		break;
	case 'u':
		t->units = (t->units + 1) % UNITS_COUNT;
		break;
	case '/':
		t->editing = true;
		snprintf(t->edit, sizeof(t->edit), "%s", t->filter);
		break;
	case 27:
		t->filter[0] = '\0';
		break;
	case '?':
	case 'h':
		t->help = true;
		break;
	}
	return true;
}

/*
 * Until q, a signal or the terminal goes: the feed read as it comes, a
 * key as it is pressed, the rates once a second, the screen drawn when any
 * of them changed it; no snitch yet, or it went: connect again every
 * second.
 */
static void loop(struct top *t)
{
	uint64_t next_tick = clock_mono_ns() + NS, next_try = 0;

	refresh_listening(&t->live);
	view_draw(t);
	while (!quit_signal) {
		struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
				       { .fd = t->feed.fd, .events = POLLIN } };
		uint64_t now = clock_mono_ns();
		bool redraw = false;
		int c;

		if (t->child > 0 && waitpid(t->child, &c, WNOHANG) == t->child) {
			t->child = 0;
			t->child_died = true;
			redraw = true;
		}
		if (t->feed.fd < 0 && now >= next_try) {
			/* no snitch yet, or it went: look again every second */
			if (try_connect(t) == 0)
				redraw = true;
			if (t->state == TOP_DENIED)
				break;
			next_try = now + NS;
		}
		(void)poll(p, t->feed.fd >= 0 ? 2 : 1, (int)((next_tick > now ? next_tick - now : 0) / MS) + 1);
		if (p[1].revents && t->feed.fd >= 0)
			read_feed(t);
		if (t->state == TOP_DENIED)
			break;
		if (p[0].revents & (POLLHUP | POLLERR))
			break;
		while ((c = getch()) != ERR) {
			if (c == KEY_RESIZE) {
				redraw = true;
				continue;
			}
			if (!on_key(t, c))
				return;
			redraw = true;
		}
		now = clock_mono_ns();
		if (now >= next_tick) {
			model_tick(&t->live);
			refresh_listening(&t->live);
			next_tick += NS;
			if (next_tick < now)
				next_tick = now + NS;
			redraw = true;
		}
		if (redraw)
			view_draw(t);
	}
}

int main(int argc, char **argv)
{
	static struct top top;
	struct top *t = &top;
	const char *run_dir = "/run/snitch", *sock = NULL, *bin_dir = NULL;
	bool start = false;
	char self[PATH_MAX], dir[PATH_MAX];
	const struct cli_opt opts[] = {
		{ .name = "start", .type = CLI_FLAG, .value = &start,
		  .help = "when no snitch runs, run one (as root) for as long as top runs" },
		{ .name = "run-dir", .type = CLI_STRING, .value = &run_dir, .metavar = "DIR",
		  .env = "SNITCH_RUN_DIR", .help = "snitch's run directory, where the feed's socket is" },
		{ .name = "events-sock", .type = CLI_STRING, .value = &sock, .metavar = "PATH",
		  .env = "SNITCH_EVENTS_SOCK", .help = "the live feed's socket (default: DIR/events.sock)" },
		{ .name = "bin-dir", .type = CLI_STRING, .value = &bin_dir, .metavar = "DIR",
		  .env = "SNITCH_BIN_DIR", .help = "--start: where snitch is (default: beside snitch-top)" },
	};
	static const int exit_codes[] = {
		SNITCH_EXIT_OK, SNITCH_EXIT_USAGE, SNITCH_EXIT_NOPERM, SNITCH_EXIT_UNAVAILABLE,
		SNITCH_EXIT_SOFTWARE, -1,
	};
	const struct cli cli = {
		.prog = "snitch top",
		.usage = "[OPTION]...",
		.summary =
			"Show what a running snitch sees, live, refreshed once a second: traffic per\n"
			"executable (connections opened, send and receive rates, totals since top\n"
			"started, the listening ports its connections used) above the newest\n"
			"connections (time, name, parent, grandparent, local port, remote domain or\n"
			"address, bytes sent and received), with the remote's country when known (the\n"
			"record's, else the country database's: $SNITCH_GEOIP_DB) and, for a\n"
			"connection that was refused, timed out, unreachable or reset, that outcome in\n"
			"brackets ([refused]; / filters on it too). It reads the live feed, so it needs\n"
			"root or membership of the group snitch.\n"
			"\n"
			"Keys: s sort (send rate, receive rate, total, name), p pause, / filter (Enter\n"
			"applies, Esc cancels; Esc clears it), u units (SI, binary, bytes), ? help, q quit.\n"
			"Names and command lines are shown with their control characters escaped\n"
			"(\\e, \\x9b) and invalid UTF-8 as U+FFFD. NO_COLOR turns colours off.",
		.examples =
			"  sudo snitch top\n"
			"  sudo snitch top --start          # no snitch running: run one meanwhile\n"
			"  snitch top                       # as a member of the group snitch\n",
		.opts = opts,
		.nopts = sizeof(opts) / sizeof(opts[0]),
		.exit_codes = exit_codes,
	};
	char path[4200];
	int first, ret, e;

	log_init(PROG);
	ret = cli_parse(&cli, argc, argv, &first);
	if (ret >= 0)
		return ret;
	if (first < argc)
		return cli_usage_error(&cli, "unexpected argument '%s'", argv[first]);
	if (self_exe(self, dir) < 0)
		return SNITCH_EXIT_SOFTWARE;
	if (!bin_dir || !*bin_dir)
		bin_dir = dir;
	feed_sock_path(path, sizeof(path), run_dir, sock);
	t->feed.sock = path;
	t->feed.fd = -1;
	model_init(&t->live);
	/* no database, no countries: top goes on without them */
	feed_client_countries(&t->live, &t->geo);
	t->sort = SORT_TOTAL;
	t->started_real_ns = clock_real_ns();

	e = try_connect(t);
	if (t->state == TOP_DENIED) {
		log_msg("%s", t->feed.denied);
		return SNITCH_EXIT_NOPERM;
	}
	if (e < 0 && start) {
		if (geteuid() != 0) {
			log_msg("--start runs the monitor, which needs root: 'sudo snitch top --start'");
			return SNITCH_EXIT_NOPERM;
		}
		if (start_snitch(t, bin_dir) < 0)
			return SNITCH_EXIT_SOFTWARE;
	}

	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_quit);
	signal(SIGTERM, on_quit);
	signal(SIGHUP, on_quit);
	setlocale(LC_ALL, "");
	if (view_init(t) < 0) {
		log_msg("cannot use the terminal: TERM=%s is unknown to terminfo, or standard output is no terminal",
			getenv("TERM") ? getenv("TERM") : "");
		stop_snitch(t);
		return SNITCH_EXIT_UNAVAILABLE;
	}
	loop(t);
	view_end(t);
	feed_client_close(&t->feed);
	stop_snitch(t);
	if (t->state == TOP_DENIED) {
		log_msg("%s", t->feed.denied);
		ret = SNITCH_EXIT_NOPERM;
	} else {
		ret = SNITCH_EXIT_OK;
	}
	free(t->frozen.exe);
	model_release(&t->live);
	geoip_close(t->geo);
	return ret;
}
