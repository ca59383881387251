/* SPDX-License-Identifier: MIT */
/*
 * The screen of snitch tui (ncursesw): a header with the range, a
 * breadcrumb of the filters, the sidebar of groupings beside the table of
 * the selected one, a footer; the live tab; the help. Every text drawn was
 * made inert by lib/termsafe.h (data.c, the live model) or is the tui's
 * own; put() (cmd/snitch-top/tty.c) cuts it to its column by display
 * width.
 */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "termsafe.h"
#include "cmd/snitch-top/tty.h"
#include "tui.h"

#define LINE_W 1024
#define NS 1000000000LL

enum { LEFT = TTY_LEFT, RIGHT = TTY_RIGHT, CUT_LEFT = TTY_CUT_LEFT };
enum { PAIR_BAR = 1, PAIR_SEL, PAIR_CRUMB, PAIR_ERR };

static struct tui *cur;
static SCREEN *screen;
static int table_rows = 1;

int view_init(struct tui *t)
{
	cur = t;
	screen = tty_open(&t->utf8, &t->color);
	if (!screen)
		return -1;
	if (t->color) {
		init_pair(PAIR_BAR, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_SEL, COLOR_BLACK, COLOR_YELLOW);
		init_pair(PAIR_CRUMB, COLOR_YELLOW, -1);
		init_pair(PAIR_ERR, COLOR_RED, -1);
	}
	return 0;
}

void view_end(void)
{
	tty_close(screen);
	screen = NULL;
}

int view_table_rows(void)
{
	return table_rows;
}

/* Draw s (valid UTF-8, inert) in [x, x + w) of line y, cut by display width, padded. */
static void put(int y, int x, int w, const char *s, int how)
{
	tty_put(cur->utf8, y, x, w, s, (enum tty_how)how, true);
}

/* s (ASCII words, inert) over up to rows lines of width w from line y, cut at spaces. */
static int wrap(int y, int x, int w, int rows, const char *s)
{
	char line[LINE_W];
	int r;

	for (r = 0; r < rows && *s && w > 0; r++) {
		size_t n = strlen(s), cut = n;

		if (n > (size_t)w) {
			cut = (size_t)w;
			while (cut > 0 && s[cut] != ' ')
				cut--;
			if (!cut)
				cut = (size_t)w;
		}
		if (cut >= sizeof(line))
			cut = sizeof(line) - 1;
		memcpy(line, s, cut);
		line[cut] = '\0';
		put(y + r, x, w, line, LEFT);
		s += cut;
		while (*s == ' ')
			s++;
	}
	return r;
}

static void fill(int y, int x, int w, attr_t a)
{
	attrset(a);
	move(y, x);
	for (int k = 0; k < w; k++)
		addch(' ');
}

static attr_t bar_attr(void)
{
	return cur->color ? COLOR_PAIR(PAIR_BAR) : A_REVERSE;
}

static const char *units_name(int u)
{
	return u == UNITS_SI ? "SI" : u == UNITS_BINARY ? "binary" : "bytes";
}

static const char *sort_name(int s)
{
	static const char *const n[] = { "total", "sent", "received", "connections", "name" };

	return s >= 0 && s < TS_COUNT ? n[s] : "?";
}

/* "last 1d", "1d, 2 back: ... to ..." (history), "all time"; with w >= 100 the times in full. */
static void range_text(const struct tui *t, char *out, size_t size, bool wide)
{
	const struct range *r = &tui_ranges[t->range];
	int64_t until = t->anchor_ns - (int64_t)t->back * r->ns;
	char a[40], b[40];

	if (!r->ns) {
		snprintf(out, size, "range: all time");
		return;
	}
	if (wide) {
		tui_time(until - r->ns, 1, a, sizeof(a));
		tui_time(until, 1, b, sizeof(b));
	} else {
		time_t sec = (time_t)(until / NS);
		struct tm tm;

		localtime_r(&sec, &tm);
		strftime(b, sizeof(b), "%m-%d %H:%M", &tm);
	}
	if (!t->back && wide)
		snprintf(out, size, "range: last %s (since %s)", r->name, a);
	else if (!t->back)
		snprintf(out, size, "range: last %s", r->name);
	else if (wide)
		snprintf(out, size, "range: %s, %u back: %s to %s", r->name, t->back, a, b);
	else
		snprintf(out, size, "range: %s, %u back, to %s", r->name, t->back, b);
}

static void draw_header(struct tui *t, int w)
{
	char line[LINE_W], range[160];
	const char *right = "? help  q quit";

	range_text(t, range, sizeof(range), w >= 100);
	snprintf(line, sizeof(line), "snitch tui  %s  sort: %s  units: %s", range,
		 sort_name(t->sort), units_name(t->units));
	fill(0, 0, w, bar_attr());
	attron(A_BOLD);
	if (w >= 100) {
		put(0, 0, w - 16, line, LEFT);
		put(0, w - 16, 16, right, RIGHT);
	} else {
		put(0, 0, w, line, LEFT);
	}
	attrset(A_NORMAL);
}

/* The breadcrumb: every filter in order, then the search. */
static void draw_crumb(struct tui *t, int y, int w)
{
	struct buf b = { 0 };
	const char *sep = t->utf8 ? " \u203a " : " > ";

	if (!t->nfilters)
		buf_append(&b, "none (all connections)", 22);
	for (size_t i = 0; i < t->nfilters; i++) {
		const struct filt *f = &t->filters[i];
		const struct grouping *g = &tui_groupings[f->grouping];

		if (i)
			buf_append(&b, sep, strlen(sep));
		buf_append(&b, g->narrow, strlen(g->narrow));
		if (g->field == QF_NONE) {
			char a[40], c[40];

			tui_time(f->from_ns, f->until_ns - f->from_ns, a, sizeof(a));
			tui_time(f->until_ns, f->until_ns - f->from_ns, c, sizeof(c));
			buf_printf(&b, " %s to %s", a, c);
		} else {
			char *v = tui_show_value(g->field, f->value);

			buf_puts(&b, f->exclude ? (t->utf8 ? " \u2260 " : " != ") : " = ");
			if (v)
				buf_append(&b, v, strlen(v));
			free(v);
		}
	}
	if (t->search[0]) {
		char s[300];

		termsafe_str(s, sizeof(s), t->search, strlen(t->search));
		buf_printf(&b, "   search: \"%s\"", s);
	}
	buf_append(&b, "", 1);
	move(y, 0);
	clrtoeol();
	if (t->color && t->nfilters)
		attron(COLOR_PAIR(PAIR_CRUMB));
	if (t->nfilters)
		attron(A_BOLD);
	/* too long: the newest filters stay in sight, the oldest are cut */
	put(y, 0, 9, "filters: ", LEFT);
	put(y, 9, w - 9, b.oom ? "(out of memory)" : b.p, CUT_LEFT);
	attrset(A_NORMAL);
	buf_release(&b);
}

static void draw_sidebar(struct tui *t, int y, int rows, int sw, bool wide)
{
	size_t n = tui_ngroupings;

	if (t->grouping < t->side_scroll)
		t->side_scroll = t->grouping;
	if (rows > 0 && t->grouping >= t->side_scroll + (size_t)rows)
		t->side_scroll = t->grouping - (size_t)rows + 1;
	for (int r = 0; r < rows; r++) {
		size_t i = t->side_scroll + (size_t)r;
		char line[64];

		move(y + r, 0);
		attrset(A_NORMAL);
		if (i >= n) {
			put(y + r, 0, sw, "", LEFT);
			continue;
		}
		snprintf(line, sizeof(line), "%s%s", i == t->grouping ? ">" : " ",
			 wide ? tui_groupings[i].label : tui_groupings[i].narrow);
		if (i == t->grouping)
			attrset(t->focus_side ? (t->color ? COLOR_PAIR(PAIR_SEL) | A_BOLD : A_REVERSE | A_BOLD) : A_BOLD);
		put(y + r, 0, sw, line, LEFT);
		attrset(A_NORMAL);
	}
	for (int r = 0; r < rows; r++)
		put(y + r, sw, 1, t->utf8 ? "\u2502" : "|", LEFT);
}

static void draw_table(struct tui *t, int y, int rows, int x, int w)
{
	const struct grouping *g = &tui_groupings[t->grouping];
	int bw = t->units == UNITS_BYTES ? 13 : 9, cw = 7;
	int kw = w - (2 * bw + cw + 3);
	char title[96], a[32], b[32], c[32];

	if (kw < 6)
		kw = 6;
	/* the column header; the sort key marked */
	snprintf(title, sizeof(title), "%s%s", g->label, t->sort == TS_KEY ? " *" : "");
	fill(y, x, w, A_REVERSE);
	attrset(A_REVERSE | A_BOLD);
	put(y, x, kw, title, LEFT);
	put(y, x + kw + 1, bw, t->sort == TS_SENT || t->sort == TS_TOTAL ? "SENT*" : "SENT", RIGHT);
	put(y, x + kw + bw + 2, bw, t->sort == TS_RECEIVED || t->sort == TS_TOTAL ? "RECEIVED*" : "RECEIVED", RIGHT);
	put(y, x + kw + 2 * bw + 3, cw, t->sort == TS_CONNS ? "CONNS*" : "CONNS", RIGHT);
	attrset(A_NORMAL);
	rows -= 2;	/* the column header; the last line: the total */
	table_rows = rows > 1 ? rows : 1;
	if (t->sel < t->scroll)
		t->scroll = t->sel;
	if (rows > 0 && t->sel >= t->scroll + (size_t)rows)
		t->scroll = t->sel - (size_t)rows + 1;
	for (int r = 0; r < rows; r++) {
		size_t i = t->scroll + (size_t)r;
		const struct trow *row;
		bool sel;

		move(y + 1 + r, x);
		clrtoeol();
		if (i >= t->nvis) {
			if (r == 0 && t->qerr[0]) {
				attrset(t->color ? COLOR_PAIR(PAIR_ERR) | A_BOLD : A_BOLD);
				wrap(y + 1, x + 1, w - 2, rows, t->qerr);
				attrset(A_NORMAL);
				break;
			} else if (r == 0 && !t->nvis)
				put(y + 1, x + 1, w - 1, t->nrows ? "nothing matches the search (Esc clears it)" :
					    "no traffic here (t: a longer range; Backspace: drop a filter)", LEFT);
			continue;
		}
		row = &t->rows[t->vis[i]];
		sel = i == t->sel;
		if (sel)
			attrset(!t->focus_side ? (t->color ? COLOR_PAIR(PAIR_SEL) | A_BOLD : A_REVERSE | A_BOLD) : A_BOLD);
		else if (row->other || !row->key)
			attrset(A_DIM);
		units_bytes(row->sent, t->units, a, sizeof(a));
		units_bytes(row->received, t->units, b, sizeof(b));
		snprintf(c, sizeof(c), "%" PRIu64, row->connections);
		fill(y + 1 + r, x, w, sel ? getattrs(stdscr) : A_NORMAL);
		put(y + 1 + r, x, kw, row->shown, g->field == QF_EXE || g->field == QF_PARENT_EXE ||
		    g->field == QF_GPARENT_EXE ? CUT_LEFT : LEFT);
		put(y + 1 + r, x + kw + 1, bw, a, RIGHT);
		put(y + 1 + r, x + kw + bw + 2, bw, b, RIGHT);
		put(y + 1 + r, x + kw + 2 * bw + 3, cw, c, RIGHT);
		attrset(A_NORMAL);
	}
	/* the total of every row (the search only hides some) */
	{
		char tot[96];

		if (t->nvis != t->nrows)
			snprintf(tot, sizeof(tot), "TOTAL %zu rows (%zu hidden)", t->nrows, t->nrows - t->nvis);
		else
			snprintf(tot, sizeof(tot), "TOTAL %zu row%s", t->nrows, t->nrows == 1 ? "" : "s");
		units_bytes(t->sent, t->units, a, sizeof(a));
		units_bytes(t->received, t->units, b, sizeof(b));
		snprintf(c, sizeof(c), "%" PRIu64, t->connections);
		attrset(A_BOLD);
		fill(y + 1 + rows, x, w, A_BOLD);
		put(y + 1 + rows, x, kw, tot, LEFT);
		put(y + 1 + rows, x + kw + 1, bw, a, RIGHT);
		put(y + 1 + rows, x + kw + bw + 2, bw, b, RIGHT);
		put(y + 1 + rows, x + kw + 2 * bw + 3, cw, c, RIGHT);
		attrset(A_NORMAL);
	}
}

static void draw_footer(struct tui *t, int y, int w)
{
	char line[LINE_W], e[300];

	move(y, 0);
	clrtoeol();
	if (t->editing) {
		termsafe_str(e, sizeof(e), t->edit, strlen(t->edit));
		snprintf(line, sizeof(line), "search: %s_   (Enter applies, Esc cancels)", e);
		attron(A_BOLD);
		put(y, 0, w, line, LEFT);
		attrset(A_NORMAL);
		return;
	}
	if (t->busy) {
		attron(A_BOLD);
		put(y, 0, w, "reading the log...", LEFT);
		attrset(A_NORMAL);
		return;
	}
	if (t->msg[0]) {
		if (t->msg_error)
			attron(t->color ? COLOR_PAIR(PAIR_ERR) | A_BOLD : A_BOLD);
		put(y, 0, w, t->msg, LEFT);
		attrset(A_NORMAL);
		return;
	}
	if (t->live)
		snprintf(line, sizeof(line), "l history  u units  / search  ? help  q quit");
	else if (w >= 132)
		snprintf(line, sizeof(line), "Enter filter  e exclude  Bksp unfilter  t/T range  h/H history  "
			 "/ search  s sort  u units  l live  r refresh  ? help  (%.0f ms)", t->query_ms);
	else if (w >= 116)
		snprintf(line, sizeof(line), "Enter filter  e exclude  Bksp unfilter  t/T range  h/H history  "
			 "/ search  s sort  u units  l live  ? help");
	else
		snprintf(line, sizeof(line), "Enter filter  e exclude  Bksp unfilter  t range  h history  "
			 "s sort  ? help");
	put(y, 0, w, line, LEFT);
}

static void draw_live(struct tui *t, int y, int rows, int w)
{
	const struct top_event *ev[TOP_EVENTS_MAX];
	int tw = 8, nw = w >= 110 ? 14 : 11, pw = w >= 110 ? 12 : 9, bw = t->units == UNITS_BYTES ? 11 : 8;
	int rw = w >= 110 ? 30 : w - (tw + nw + pw + 2 * bw + 5);
	int cmw = w >= 110 ? w - (tw + nw + pw + rw + 2 * bw + 6) : 0;
	char line[LINE_W], sock[300];
	size_t n;
	int x;

	termsafe_str(sock, sizeof(sock), t->feed.sock, strlen(t->feed.sock));
	if (t->live_state != LIVE_CONNECTED) {
		int yy = y + 1;

		if (t->live_state == LIVE_DENIED) {
			yy += wrap(yy, 1, w - 2, 4, t->feed.denied);
			put(yy + 1, 3, w - 4, sock, CUT_LEFT);
		} else {
			put(yy++, 1, w - 2, "No snitch is running: there is no live feed at", LEFT);
			put(yy++, 3, w - 4, sock, CUT_LEFT);
			yy++;
			put(yy++, 1, w - 2, "Start one in another terminal:  sudo snitch start", LEFT);
			put(yy++, 1, w - 2, "The tui connects as soon as it runs. l goes back to the history.", LEFT);
		}
		return;
	}
	if (rw < 8)
		rw = 8;
	snprintf(line, sizeof(line), "live feed %s: %" PRIu64 " flow records since the tui connected%s",
		 sock, t->model.flows, t->search[0] ? " (searched)" : "");
	put(y, 0, w, line, LEFT);
	y++, rows--;
	fill(y, 0, w, A_REVERSE);
	attrset(A_REVERSE | A_BOLD);
	x = 0;
	put(y, x, tw, "TIME", LEFT), x += tw + 1;
	put(y, x, nw, "NAME", LEFT), x += nw + 1;
	put(y, x, pw, "PARENT", LEFT), x += pw + 1;
	put(y, x, rw, "REMOTE", LEFT), x += rw + 1;
	put(y, x, bw, "SENT", RIGHT), x += bw + 1;
	put(y, x, bw, "RECEIVED", RIGHT), x += bw + 1;
	if (cmw > 0)
		put(y, x, cmw, "COMMAND", LEFT);
	attrset(A_NORMAL);
	n = model_events(&t->model, t->search, ev, rows > 1 ? (size_t)rows - 1 : 0);
	for (int r = 0; r < rows - 1; r++) {
		const struct top_event *e;
		struct top_cells c;

		move(y + 1 + r, 0);
		clrtoeol();
		if ((size_t)r >= n)
			continue;
		e = ev[r];
		model_cells(e, t->units, &c);
		x = 0;
		put(y + 1 + r, x, tw, c.time, LEFT), x += tw + 1;
		put(y + 1 + r, x, nw, e->name, LEFT), x += nw + 1;
		put(y + 1 + r, x, pw, e->parent, LEFT), x += pw + 1;
		put(y + 1 + r, x, rw, c.remote, LEFT), x += rw + 1;
		put(y + 1 + r, x, bw, c.sent, RIGHT), x += bw + 1;
		put(y + 1 + r, x, bw, c.recv, RIGHT), x += bw + 1;
		if (cmw > 0)
			put(y + 1 + r, x, cmw, e->cmdline, LEFT);
	}
}

static void draw_help(int h, int w)
{
	static const char *const lines[] = {
		"snitch tui: keys",
		"",
		"Up/Down PgUp/PgDn  move; Left/Right/Tab: sidebar or table",
		"Enter space f   filter on the selected row",
		"e               exclude the selected row",
		"Backspace F     remove the last filter",
		"t / T           time range: 1m 5m 15m 1h 6h 1d 7d 30d 1y all",
		"h / H           one range back / forward in history",
		"u / U           units: SI (kB), binary (KiB), bytes",
		"s               sort: total, sent, received, conns, name",
		"/               search the rows (Esc clears it)",
		"l               live tab: the running snitch's feed",
		"r               refresh (the range ends now again)",
		"?               this help        q  quit",
		"",
		"Escapes in names show as \\e, \\x9b; bad UTF-8 as U+FFFD.",
		"Any key closes this help.",
	};
	int n = (int)(sizeof(lines) / sizeof(lines[0])), bw = 64, bh = n + 2;
	int y0, x0;

	if (bw > w)
		bw = w;
	if (bh > h)
		bh = h;
	y0 = (h - bh) / 2;
	x0 = (w - bw) / 2;
	for (int r = 0; r < bh; r++) {
		fill(y0 + r, x0, bw, bar_attr());
		if (r > 0 && r - 1 < n && r < bh - 1)
			put(y0 + r, x0 + 2, bw - 4, lines[r - 1], LEFT);
	}
	attrset(A_NORMAL);
}

void view_draw(struct tui *t)
{
	int h, w, sw;
	bool wide;

	getmaxyx(stdscr, h, w);
	erase();
	if (h < 8 || w < 40) {
		put(0, 0, w, "too small: 40x8 at least", LEFT);
		refresh();
		return;
	}
	wide = w >= 100;
	sw = wide ? 26 : 17;
	draw_header(t, w);
	if (t->live) {
		move(1, 0);
		clrtoeol();
		attron(A_BOLD);
		put(1, 0, w, "LIVE  (l: back to the history)", LEFT);
		attrset(A_NORMAL);
		draw_live(t, 2, h - 3, w);
	} else {
		draw_crumb(t, 1, w);
		draw_sidebar(t, 2, h - 3, sw, wide);
		draw_table(t, 2, h - 3, sw + 1, w - sw - 1);
	}
	draw_footer(t, h - 1, w);
	if (t->help)
		draw_help(h, w);
	refresh();
}
