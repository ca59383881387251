/* SPDX-License-Identifier: MIT */
/*
 * snitch tui: the connection log in the terminal. A sidebar of groupings
 * (the process, its parent and grandparent by executable, name, command
 * line and sha256; the user; ports and addresses; domain; country;
 * container; time) beside a table of the selected one with the bytes sent
 * and received in the time range; filters on rows make a breadcrumb.
 * Read-only through the query core (query/query.h): any user who may read
 * the database may run it. The live tab reads the running snitch's feed.
 */
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "exitcode.h"
#include "feed.h"
#include "geoip.h"
#include "log.h"
#include "record.h"
#include "termsafe.h"
#include "cmd/snitch-top/tty.h"
#include "tui.h"

#define PROG "snitch tui"
#define NS 1000000000ULL
#define MS 1000000ULL
#define LIVE_DRAW_NS (250 * MS)
#define DEFAULT_DB "/var/lib/snitch/snitch.db"

static volatile sig_atomic_t quit_signal;

static void on_quit(int signo)
{
	quit_signal = signo;
}

/* ---- the live feed: cmd/snitch-top/feedclient.c ---- */

static void live_disconnect(struct tui *t)
{
	feed_client_close(&t->feed);
	if (t->live_state == LIVE_CONNECTED)
		t->live_state = LIVE_NONE;
}

static void live_connect(struct tui *t)
{
	int e = feed_client_connect(&t->feed);

	if (e == -ENOMEM)
		return;
	if (e < 0) {
		t->live_state = e == -EACCES || e == -EPERM ? LIVE_DENIED : LIVE_NONE;
		if (t->live_state == LIVE_DENIED)
			snprintf(t->feed.denied, sizeof(t->feed.denied),
				 "Permission denied: the live feed is for root and the group %s "
				 "(sudo usermod -aG %s $USER, then log in again). Its socket:",
				 FEED_GROUP, FEED_GROUP);
		return;
	}
	t->live_state = LIVE_CONNECTED;
}

static void live_read(struct tui *t)
{
	char msg[sizeof(t->feed.denied)];

	switch (feed_client_read(&t->feed, &t->model, 30 * MS)) {
	case FEED_READ_DENIED:
		/* the refusal is shown: inert first */
		termsafe_str(msg, sizeof(msg), t->feed.denied, strlen(t->feed.denied));
		snprintf(t->feed.denied, sizeof(t->feed.denied), "%s", msg);
		t->live_state = LIVE_DENIED;
		break;
	case FEED_READ_ENDED:
		if (t->live_state == LIVE_CONNECTED)
			t->live_state = LIVE_NONE;
		break;
	case FEED_READ_MORE:
		break;
	}
}

/* ---- keys ---- */

/*
 * The state changed: query once the keys already typed are read (holding
 * Down through the sidebar asks for the last grouping only). A key that
 * acts on the rows runs a pending query first (flush).
 */
static void requery(struct tui *t)
{
	t->dirty = true;
}

static void flush(struct tui *t)
{
	if (!t->dirty)
		return;
	t->dirty = false;
	/* a long range of a big log may take a moment: say so at once */
	t->busy = true;
	view_draw(t);
	t->busy = false;
	(void)tui_query(t);
}

static void edit_key(struct tui *t, int c)
{
	switch (tty_edit_key(t->edit, sizeof(t->edit), c)) {
	case TTY_EDIT_ENTER:
		snprintf(t->search, sizeof(t->search), "%s", t->edit);
		t->editing = false;
		t->sel = t->scroll = 0;
		tui_resort(t);
		break;
	case TTY_EDIT_CANCEL:
		t->editing = false;
		break;
	case TTY_EDIT_MORE:
		break;
	}
}

static void move_sel(struct tui *t, long d)
{
	if (t->focus_side) {
		long g = (long)t->grouping + d;

		if (g < 0)
			g = 0;
		if (g >= (long)tui_ngroupings)
			g = (long)tui_ngroupings - 1;
		if ((size_t)g != t->grouping) {
			t->grouping = (size_t)g;
			t->sel = t->scroll = 0;
			requery(t);
		}
		return;
	}
	if (!t->nvis)
		return;
	if (d < 0 && (size_t)-d > t->sel)
		t->sel = 0;
	else if (d > 0 && t->sel + (size_t)d >= t->nvis)
		t->sel = t->nvis - 1;
	else
		t->sel = (size_t)((long)t->sel + d);
}

/* Keys that work in every view, the live feed too: 1 handled, 0 quit,
 * -1 not one of them. */
static int global_key(struct tui *t, int c)
{
	switch (c) {
	case 'q':
	case 'Q':
		return 0;
	case '?':
		t->help = true;
		return 1;
	case 'u':
		t->units = (t->units + 1) % UNITS_COUNT;
		return 1;
	case 'U':
		t->units = (t->units + UNITS_COUNT - 1) % UNITS_COUNT;
		return 1;
	case '/':
		t->editing = true;
		snprintf(t->edit, sizeof(t->edit), "%s", t->search);
		return 1;
	case 27:
		flush(t);
		if (t->search[0]) {
			t->search[0] = '\0';
			tui_resort(t);
		}
		return 1;
	case 'l':
		t->live = !t->live;
		if (t->live && t->feed.fd < 0) {
			live_connect(t);
			t->next_try_ns = clock_mono_ns() + NS;
		}
		return 1;
	}
	return -1;
}

/* Enter, space, f: filter by the selected row (e: exclude it); from the
 * side panel, back to the table. */
static void filter_key(struct tui *t, int c)
{
	if (t->focus_side && c != 'e') {
		t->focus_side = false;
		return;
	}
	if (tui_push_filter(t, c == 'e') < 0) {
		t->msg_error = true;
		return;
	}
	t->sel = t->scroll = 0;
	t->search[0] = '\0';
	requery(t);
	/* next, pick what to see of what is left */
	t->focus_side = true;
}

/* t and T: the next and the previous range; h and H: step it back and
 * forward in time. */
static void range_key(struct tui *t, int c)
{
	if (c == 't' || c == 'T') {
		t->range = (t->range + (c == 't' ? 1 : tui_nranges - 1)) % tui_nranges;
		t->back = 0;
	} else if (!tui_ranges[t->range].ns) {
		snprintf(t->msg, sizeof(t->msg), "the range is all time: t picks a range to step through");
		return;
	} else if (c == 'H' && !t->back) {
		snprintf(t->msg, sizeof(t->msg), "already at the newest range (h goes back)");
		return;
	} else {
		t->back = c == 'h' ? t->back + 1 : t->back - 1;
	}
	t->sel = t->scroll = 0;
	requery(t);
}

/* The keys of the table and its side panel. */
static void browse_key(struct tui *t, int c)
{
	long page = view_table_rows();

	switch (c) {
	case KEY_UP:
	case 'k':
		move_sel(t, -1);
		break;
	case KEY_DOWN:
	case 'j':
		move_sel(t, 1);
		break;
	case KEY_PPAGE:
		move_sel(t, -page);
		break;
	case KEY_NPAGE:
		move_sel(t, page);
		break;
	case KEY_HOME:
	case 'g':
		move_sel(t, -1000000);
		break;
	case KEY_END:
	case 'G':
		move_sel(t, 1000000);
		break;
	case KEY_LEFT:
		t->focus_side = true;
		break;
	case KEY_RIGHT:
		t->focus_side = false;
		break;
	case '\t':
		t->focus_side = !t->focus_side;
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
	case ' ':
	case 'f':
	case 'e':
		filter_key(t, c);
		break;
	case KEY_BACKSPACE:
	case 127:
	case 8:
	case 'F':
		if (tui_pop_filter(t)) {
			t->sel = t->scroll = 0;
			requery(t);
		} else {
			snprintf(t->msg, sizeof(t->msg), "no filter to remove");
		}
		break;
	case 't':
	case 'T':
	case 'h':
	case 'H':
		range_key(t, c);
		break;
	case 's':
		t->sort = (t->sort + 1) % TS_COUNT;
		tui_resort(t);
		break;
	case 'r':
		t->anchor_ns = (int64_t)clock_real_ns();
		requery(t);
		break;
	}
}

/* Returns false to quit. */
static bool on_key(struct tui *t, int c)
{
	int g;

	if (t->help) {
		t->help = false;
		return c != 'q';
	}
	if (t->editing) {
		flush(t);
		edit_key(t, c);
		return true;
	}
	if (c != ERR && c != KEY_RESIZE)
		t->msg[0] = '\0', t->msg_error = false;
	if ((g = global_key(t, c)) >= 0)
		return g;
	if (t->live)
		return true;
	if (c != KEY_UP && c != 'k' && c != KEY_DOWN && c != 'j' && c != KEY_LEFT && c != KEY_RIGHT &&
	    c != '\t' && c != 't' && c != 'T' && c != 'h' && c != 'H' && c != 'r')
		flush(t);
	browse_key(t, c);
	return true;
}

/*
 * Until q, a signal or the terminal goes: keys as they are pressed, the
 * live feed as it comes (the live tab drawn at most four times a second),
 * a connection to it tried again every second while it is missing.
 */
static void loop(struct tui *t)
{
	uint64_t last_draw;
	bool live_changed = false;

	(void)tui_query(t);
	view_draw(t);
	last_draw = clock_mono_ns();
	while (!quit_signal) {
		struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
				       { .fd = t->feed.fd, .events = POLLIN } };
		uint64_t now = clock_mono_ns();
		bool redraw = false;
		int c;

		if (t->live && t->feed.fd < 0 && t->live_state != LIVE_DENIED && now >= t->next_try_ns) {
			live_connect(t);
			t->next_try_ns = now + NS;
			live_changed = true;
		}
		(void)poll(p, t->feed.fd >= 0 ? 2 : 1, t->live ? 250 : 5000);
		if (p[1].revents && t->feed.fd >= 0) {
			live_read(t);
			live_changed = true;
		}
		if (p[0].revents & (POLLHUP | POLLERR))
			break;
		while ((c = getch()) != ERR) {
			redraw = true;
			if (c == KEY_RESIZE)
				continue;
			if (!on_key(t, c))
				return;
		}
		flush(t);
		/* the live tab: at most four times a second, however fast the feed */
		now = clock_mono_ns();
		if (t->live && live_changed && now - last_draw >= LIVE_DRAW_NS)
			redraw = true;
		if (redraw) {
			view_draw(t);
			last_draw = now;
			if (t->live)
				live_changed = false;
		}
	}
}

/*
 * The terminal checked, the database opened read-only, the live feed's
 * socket named: -1, or the exit status.
 */
static int tui_open(struct tui *t, const char *db, const char *run_dir, const char *sock)
{
	static char path[4200];
	struct q_meta meta;
	char err[512];
	int r;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		log_msg("needs a terminal (for the log as text: snitch-query)");
		return SNITCH_EXIT_USAGE;
	}
	feed_sock_path(path, sizeof(path), run_dir, sock);
	t->feed.sock = path;
	t->feed.fd = -1;
	t->db_path = db;
	/* q_open's message names the file; q_meta's does not */
	if ((r = q_open(&t->db, db, 0, err, sizeof(err))) < 0) {
		q_access_hint(db, r, err, sizeof(err));
		log_msg("%s", err);
		return exit_status_of(r);
	}
	if ((r = q_meta(t->db, &meta, err, sizeof(err))) < 0) {
		log_msg("cannot read '%s': %s", db, err);
		q_close(t->db);
		return exit_status_of(r);
	}
	model_init(&t->model);
	feed_client_countries(&t->model, &t->geo);
	t->anchor_ns = (int64_t)clock_real_ns();
	t->sort = TS_TOTAL;
	return -1;
}

static void tui_close(struct tui *t)
{
	live_disconnect(t);
	tui_free_rows(t);
	while (tui_pop_filter(t))
		;
	model_release(&t->model);
	geoip_close(t->geo);
	q_close(t->db);
}

int main(int argc, char **argv)
{
	static struct tui tui;
	struct tui *t = &tui;
	const char *db = DEFAULT_DB, *run_dir = "/run/snitch", *sock = NULL, *range = "1d";
	const struct cli_opt opts[] = {
		{ .name = "db", .type = CLI_STRING, .value = &db, .metavar = "FILE", .env = "SNITCH_DB",
		  .help = "the connection log (read only)" },
		{ .name = "range", .type = CLI_STRING, .value = &range, .metavar = "R",
		  .help = "the time range to start with: 1m 5m 15m 1h 6h 1d 7d 30d 1y all (default 1d)" },
		{ .name = "max-raw-rows", .type = CLI_UINT, .value = &t->max_raw_rows, .metavar = "N",
		  .max = UINT64_MAX / 2,
		  .help = "refuse a view that would read more than N raw rows (local port; range "
			  "edges no rollup covers), to answer keys quickly; 0: no limit" },
		{ .name = "run-dir", .type = CLI_STRING, .value = &run_dir, .metavar = "DIR",
		  .env = "SNITCH_RUN_DIR", .help = "snitch's run directory, where the live feed's socket is" },
		{ .name = "events-sock", .type = CLI_STRING, .value = &sock, .metavar = "PATH",
		  .env = "SNITCH_EVENTS_SOCK", .help = "the live feed's socket (default: DIR/events.sock)" },
	};
	static const int exit_codes[] = {
		SNITCH_EXIT_OK, SNITCH_EXIT_USAGE, SNITCH_EXIT_NOPERM, SNITCH_EXIT_UNAVAILABLE,
		SNITCH_EXIT_IO, SNITCH_EXIT_SOFTWARE, -1,
	};
	const struct cli cli = {
		.prog = PROG,
		.usage = "[OPTION]...",
		.summary =
			"Browse the connection log in the terminal: a sidebar of groupings (the\n"
			"process, its parent and its grandparent by executable, name, command line or\n"
			"sha256; user; local and remote port and address; domain; country; container;\n"
			"time) beside a table of the selected one with the bytes sent and received in\n"
			"the time range. Filters on rows show as a breadcrumb. It only reads the\n"
			"database: any user who may read it (root, or the group it is given to:\n"
			"SNITCH_GROUP, docs/operations.md) may run it. The live tab shows the running\n"
			"snitch's feed (root or the group snitch).\n"
			"\n"
			"Keys: Up/Down move, Left/Right/Tab sidebar or table; Enter, space or f filter\n"
			"on the selected row, e exclude it, Backspace or F remove the last filter;\n"
			"t/T time range (1m 5m 15m 1h 6h 1d 7d 30d 1y all), h/H one range back/forward\n"
			"in history; u/U units (SI, binary, bytes); / search, Esc clears it; s sort;\n"
			"l live tab; r refresh; ? help; q quit. Names and command lines are shown with\n"
			"their control characters escaped (\\e, \\x9b) and invalid UTF-8 as U+FFFD.\n"
			"NO_COLOR turns colours off.",
		.examples =
			"  snitch tui                       # as root or a reader of the database\n"
			"  snitch tui --range 7d\n"
			"  snitch-tui --db /tmp/copy.db --range all\n",
		.opts = opts,
		.nopts = sizeof(opts) / sizeof(opts[0]),
		.exit_codes = exit_codes,
	};
	int first, ret;

	log_init(PROG);
	t->max_raw_rows = Q_VIEW_MAX_RAW_ROWS;
	ret = cli_parse(&cli, argc, argv, &first);
	if (ret >= 0)
		return ret;
	if (first < argc)
		return cli_usage_error(&cli, "unexpected argument '%s'", argv[first]);
	t->range = tui_nranges;
	for (size_t i = 0; i < tui_nranges; i++)
		if (!strcmp(range, tui_ranges[i].name))
			t->range = i;
	if (t->range == tui_nranges)
		return cli_usage_error(&cli, "--range: '%s' is not one of 1m 5m 15m 1h 6h 1d 7d 30d 1y all", range);
	if ((ret = tui_open(t, db, run_dir, sock)) >= 0)
		return ret;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_quit);
	signal(SIGTERM, on_quit);
	signal(SIGHUP, on_quit);
	setlocale(LC_ALL, "");
	if (view_init(t) < 0) {
		log_msg("cannot use the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
		return SNITCH_EXIT_UNAVAILABLE;
	}
	loop(t);
	view_end();
	tui_close(t);
	return SNITCH_EXIT_OK;
}
