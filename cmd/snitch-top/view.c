/* SPDX-License-Identifier: MIT */
/*
 * The screen of snitch top: ncursesw, redrawn whole once a second and
 * after each key. Every text drawn here was made inert by lib/termsafe.h
 * when it was stored (model.c) or is top's own; put() (tty.c) cuts it to
 * its column by display width, never in the middle of a character.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "json.h"
#include "termsafe.h"
#include "tty.h"
#include "top.h"

#define LINE_W 1024

enum { LEFT = TTY_LEFT, RIGHT = TTY_RIGHT, CUT_LEFT = TTY_CUT_LEFT };
enum { PAIR_BAR = 1, PAIR_ACTIVE, PAIR_WARN };

static SCREEN *screen;
static size_t *order;
static size_t order_cap;

int view_init(struct top *t)
{
	screen = tty_open(&t->utf8, &t->color);
	if (!screen)
		return -1;
	if (t->color) {
		init_pair(PAIR_BAR, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_ACTIVE, COLOR_GREEN, -1);
		init_pair(PAIR_WARN, COLOR_YELLOW, -1);
	}
	return 0;
}

void view_end(struct top *t)
{
	(void)t;
	tty_close(screen);
	screen = NULL;
	free(order);
	order = NULL;
	order_cap = 0;
}

/*
 * Draw s (valid UTF-8, inert) in columns [x, x + w) of line y: cut to w
 * by display width (on the right, or on the left for paths), padded.
 */
static void put(const struct top *t, int y, int x, int w, const char *s, int how)
{
	tty_put(t->utf8, y, x, w, s, (enum tty_how)how, false);
}

static void bar(const struct top *t, int y, int w, bool reverse)
{
	attr_t a = t->color && !reverse ? COLOR_PAIR(PAIR_BAR) : A_REVERSE;

	attrset(a);
	move(y, 0);
	for (int k = 0; k < w; k++)
		addch(' ');
}

static const char *sort_name(enum top_sort s)
{
	static const char *const names[] = { "send rate", "receive rate", "total", "name" };

	return s < SORT_COUNT ? names[s] : "?";
}

static void draw_header(struct top *t, const struct top_model *m, int w)
{
	char line[LINE_W], r1[24], r2[24], up[32], f[200];
	uint64_t secs = (clock_real_ns() - t->started_real_ns) / 1000000000ULL;
	const char *unit = t->units == UNITS_SI ? "SI" : t->units == UNITS_BINARY ? "binary" : "bytes";
	int right = w >= 100 ? 16 : 0;

	units_bytes(m->rate_send, t->units, r1, sizeof(r1));
	units_bytes(m->rate_recv, t->units, r2, sizeof(r2));
	snprintf(up, sizeof(up), "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64, secs / 3600, secs / 60 % 60,
		 secs % 60);
	f[0] = '\0';
	if (t->filter[0])
		snprintf(f, sizeof(f), "  filter: %s", t->filter);
	snprintf(line, sizeof(line), "snitch top %s  out %s/s  in %s/s  sort: %s  units: %s%s%s",
		 up, r1, r2, sort_name(t->sort), unit, t->paused ? "  PAUSED" : "", f);
	bar(t, 0, w, false);
	attron(A_BOLD);
	if (right) {
		put(t, 0, 0, w - right, line, LEFT);
		put(t, 0, w - right, right, "? help  q quit", RIGHT);
	} else {
		put(t, 0, 0, w, line, LEFT);
	}
	attrset(A_NORMAL);
}

static void draw_exes(struct top *t, const struct top_model *m, int y, int rows, int w)
{
	int cn = 5, cr = w >= 120 ? 9 : 8, nw = w >= 120 ? 16 : 12, lw = w >= 120 ? 14 : 8;
	int ew = w - (nw + cn + 4 * cr + lw + 7);
	char b[6][32], listen[64], exe[300];
	size_t n;
	int x;

	if (ew < 4)
		ew = 4;
	if (order_cap < m->nexe) {
		size_t *o = realloc(order, (m->nexe + 64) * sizeof(*o));

		if (!o)
			return;
		order = o;
		order_cap = m->nexe + 64;
	}
	n = m->nexe ? model_exes(m, t->sort, t->filter, order) : 0;
	bar(t, y, w, true);
	x = 0;
	put(t, y, x, nw, "NAME", LEFT), x += nw + 1;
	put(t, y, x, cn, "CONNS", RIGHT), x += cn + 1;
	put(t, y, x, cr, t->sort == SORT_SEND ? "*SEND/s" : "SEND/s", RIGHT), x += cr + 1;
	put(t, y, x, cr, t->sort == SORT_RECV ? "*RECV/s" : "RECV/s", RIGHT), x += cr + 1;
	put(t, y, x, cr, t->sort == SORT_TOTAL ? "*SENT" : "SENT", RIGHT), x += cr + 1;
	put(t, y, x, cr, "RECEIVED", RIGHT), x += cr + 1;
	put(t, y, x, lw, "LISTEN", LEFT), x += lw + 1;
	put(t, y, x, w - x, t->sort == SORT_NAME ? "EXECUTABLE (by name)" : "EXECUTABLE", LEFT);
	attrset(A_NORMAL);
	for (int r = 0; r < rows; r++) {
		const struct top_exe *e;
		size_t o = 0;

		move(y + 1 + r, 0);
		clrtoeol();
		if ((size_t)r >= n)
			continue;
		e = &m->exe[order[r]];
		snprintf(b[0], sizeof(b[0]), "%" PRIu64, e->conns);
		units_bytes(e->rate_send, t->units, b[1], sizeof(b[1]));
		units_bytes(e->rate_recv, t->units, b[2], sizeof(b[2]));
		units_bytes(e->send, t->units, b[3], sizeof(b[3]));
		units_bytes(e->recv, t->units, b[4], sizeof(b[4]));
		listen[0] = '\0';
		for (int i = 0; i < e->nlisten && o + 8 < sizeof(listen); i++)
			o += (size_t)snprintf(listen + o, sizeof(listen) - o, "%s%u", i ? "," : "",
					      (unsigned)e->listen[i]);
		snprintf(exe, sizeof(exe), "%s", e->exe[0] ? e->exe : "-");
		x = 0;
		if (t->color && (e->rate_send || e->rate_recv))
			attron(COLOR_PAIR(PAIR_ACTIVE));
		if (e->rate_send || e->rate_recv)
			attron(A_BOLD);
		put(t, y + 1 + r, x, nw, e->name, LEFT), x += nw + 1;
		put(t, y + 1 + r, x, cn, b[0], RIGHT), x += cn + 1;
		put(t, y + 1 + r, x, cr, e->rate_send ? b[1] : "-", RIGHT), x += cr + 1;
		put(t, y + 1 + r, x, cr, e->rate_recv ? b[2] : "-", RIGHT), x += cr + 1;
		put(t, y + 1 + r, x, cr, b[3], RIGHT), x += cr + 1;
		put(t, y + 1 + r, x, cr, b[4], RIGHT), x += cr + 1;
		put(t, y + 1 + r, x, lw, listen, LEFT), x += lw + 1;
		put(t, y + 1 + r, x, w - x, exe, CUT_LEFT);
		attrset(A_NORMAL);
	}
}

static void draw_events(struct top *t, const struct top_model *m, int y, int rows, int w)
{
	const struct top_event *ev[TOP_EVENTS_MAX];
	bool wide = w >= 110;
	int tw = 8, nw = wide ? 14 : 11, pw = wide ? 12 : 9, lw = 5, bw = 8;
	int rw = wide ? 30 : w - (tw + nw + 2 * pw + lw + 2 * bw + 7);
	int cw = wide ? w - (tw + nw + 2 * pw + lw + rw + 2 * bw + 8) : 0;
	size_t n = model_events(m, t->filter, ev, rows > 0 ? (size_t)rows : 0);
	int x;

	if (rw < 6)
		rw = 6;
	bar(t, y, w, true);
	x = 0;
	put(t, y, x, tw, "TIME", LEFT), x += tw + 1;
	put(t, y, x, nw, "NAME", LEFT), x += nw + 1;
	put(t, y, x, pw, "PARENT", LEFT), x += pw + 1;
	put(t, y, x, pw, "GPARENT", LEFT), x += pw + 1;
	put(t, y, x, lw, "LPORT", RIGHT), x += lw + 1;
	put(t, y, x, rw, "REMOTE", LEFT), x += rw + 1;
	put(t, y, x, bw, "SENT", RIGHT), x += bw + 1;
	put(t, y, x, bw, "RECEIVED", RIGHT), x += bw + 1;
	if (cw > 0)
		put(t, y, x, w - x, "COMMAND", LEFT);
	attrset(A_NORMAL);
	for (int r = 0; r < rows; r++) {
		const struct top_event *e;
		struct top_cells c;

		move(y + 1 + r, 0);
		clrtoeol();
		if ((size_t)r >= n)
			continue;
		e = ev[r];
		model_cells(e, t->units, &c);
		if (e->ended)
			attron(A_DIM);
		x = 0;
		put(t, y + 1 + r, x, tw, c.time, LEFT), x += tw + 1;
		put(t, y + 1 + r, x, nw, e->name, LEFT), x += nw + 1;
		put(t, y + 1 + r, x, pw, e->parent, LEFT), x += pw + 1;
		put(t, y + 1 + r, x, pw, e->gparent, LEFT), x += pw + 1;
		put(t, y + 1 + r, x, lw, c.lport, RIGHT), x += lw + 1;
		put(t, y + 1 + r, x, rw, c.remote, LEFT), x += rw + 1;
		put(t, y + 1 + r, x, bw, c.sent, RIGHT), x += bw + 1;
		put(t, y + 1 + r, x, bw, c.recv, RIGHT), x += bw + 1;
		if (cw > 0)
			put(t, y + 1 + r, x, w - x, e->cmdline, LEFT);
		attrset(A_NORMAL);
	}
}

static void draw_waiting(struct top *t, int h, int w)
{
	char line[LINE_W], sock[300];
	int y = 2;

	termsafe_str(sock, sizeof(sock), t->feed.sock, strlen(t->feed.sock));
	if (t->child > 0) {
		snprintf(line, sizeof(line), "Starting snitch (pid %d) for as long as top runs; its messages go to %.400s",
			 (int)t->child, t->start_log);
		put(t, y++, 1, w - 2, line, LEFT);
		put(t, y++, 1, w - 2, "Waiting for its live feed...", LEFT);
	} else {
		if (t->child_died) {
			snprintf(line, sizeof(line), "The snitch that top started has stopped: see %.400s", t->start_log);
			attron(A_BOLD);
			put(t, y++, 1, w - 2, line, LEFT);
			attrset(A_NORMAL);
			y++;
		}
		snprintf(line, sizeof(line), t->feed_ended ?
			 "snitch stopped: its live feed %s closed." :
			 "No snitch is running: there is no live feed at %s.", sock);
		put(t, y++, 1, w - 2, line, LEFT);
		y++;
		put(t, y++, 1, w - 2, "Start one in another terminal:", LEFT);
		put(t, y++, 3, w - 4, "sudo snitch start        (or: sudo snitch run)", LEFT);
		put(t, y++, 1, w - 2, "or quit and let top run its own for as long as it runs:", LEFT);
		put(t, y++, 3, w - 4, "sudo snitch top --start", LEFT);
		y++;
		put(t, y++, 1, w - 2, "Waiting for it; top connects as soon as it starts.  q quits.", LEFT);
	}
	(void)h;
}

static void draw_help(struct top *t, int h, int w)
{
	static const char *const lines[] = {
		"snitch top: keys",
		"",
		"s      sort: send rate, receive rate, total, name",
		"p      pause the screen (the feed is still read)",
		"/      filter: type, Enter applies, Esc cancels",
		"Esc    clear the filter",
		"u      units: SI (kB), binary (KiB), bytes",
		"?      this help",
		"q      quit",
		"",
		"Rates are the last second's. Totals are since",
		"top started. LISTEN: listening ports the",
		"executable's connections used. Escapes in",
		"names show as \\e, \\x9b; bad UTF-8 as U+FFFD.",
		"",
		"Any key closes this help.",
	};
	int n = (int)(sizeof(lines) / sizeof(lines[0])), bw = 56, bh = n + 2;
	int y0 = (h - bh) / 2, x0 = (w - bw) / 2;

	if (bw > w)
		bw = w, x0 = 0;
	if (bh > h)
		bh = h, y0 = 0;
	for (int r = 0; r < bh; r++) {
		attrset(t->color ? COLOR_PAIR(PAIR_BAR) : A_REVERSE);
		move(y0 + r, x0);
		for (int k = 0; k < bw; k++)
			addch(' ');
		if (r > 0 && r - 1 < n && r < bh - 1)
			put(t, y0 + r, x0 + 2, bw - 4, lines[r - 1], LEFT);
	}
	attrset(A_NORMAL);
}

static void draw_footer(struct top *t, const struct top_model *m, int y, int w)
{
	char line[LINE_W], f[300];

	move(y, 0);
	clrtoeol();
	if (t->editing) {
		termsafe_str(f, sizeof(f), t->edit, strlen(t->edit));
		snprintf(line, sizeof(line), "filter: %s_   (Enter applies, Esc cancels)", f);
		attron(A_BOLD);
		put(t, y, 0, w, line, LEFT);
		attrset(A_NORMAL);
		return;
	}
	if (m->missed) {
		snprintf(line, sizeof(line), "%" PRIu64 " records were not shown: top read the feed too slowly",
			 m->missed);
		if (t->color)
			attron(COLOR_PAIR(PAIR_WARN));
		put(t, y, 0, w, line, LEFT);
		attrset(A_NORMAL);
		return;
	}
	snprintf(line, sizeof(line), "%zu executable%s, %" PRIu64 " flows  s sort  p pause  / filter  u units  ? help  q quit",
		 m->nexe, m->nexe == 1 ? "" : "s", m->flows);
	put(t, y, 0, w, line, LEFT);
}

void view_draw(struct top *t)
{
	const struct top_model *m = t->paused ? &t->frozen : &t->live;
	int h, w, exe_rows, ev_rows;

	getmaxyx(stdscr, h, w);
	erase();
	if (h < 6 || w < 30) {
		put(t, 0, 0, w, "too small for top", LEFT);
		put(t, 1, 0, w, "(30x6 at least)", LEFT);
		refresh();
		return;
	}
	draw_header(t, m, w);
	if (t->state != TOP_CONNECTED) {
		draw_waiting(t, h, w);
	} else {
		int avail = h - 4;	/* header, two column bars, footer */

		exe_rows = avail / 2 - 1;
		if ((int)m->nexe < exe_rows)
			exe_rows = m->nexe < 3 ? 3 : (int)m->nexe;
		ev_rows = avail - exe_rows;
		draw_exes(t, m, 1, exe_rows, w);
		draw_events(t, m, 2 + exe_rows, ev_rows, w);
		draw_footer(t, m, h - 1, w);
	}
	if (t->help)
		draw_help(t, h, w);
	refresh();
}
