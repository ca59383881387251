/* SPDX-License-Identifier: MIT */
/* The terminal shared by snitch top and snitch tui: tty.h. */
#include <langinfo.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "json.h"
#include "tty.h"

#define LINE_W 1024

SCREEN *tty_open(bool *utf8, bool *color)
{
	const char *nc = getenv("NO_COLOR");
	const char *cs = nl_langinfo(CODESET);
	SCREEN *screen;

	*utf8 = cs && !strcmp(cs, "UTF-8");
	screen = newterm(NULL, stdout, stdin);
	if (!screen)
		return NULL;
	set_term(screen);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	*color = has_colors() && !(nc && *nc);
	if (*color) {
		start_color();
		use_default_colors();
	}
	return screen;
}

void tty_close(SCREEN *screen)
{
	endwin();
	if (screen)
		delscreen(screen);
}

/* The next character of p (at most len bytes) as a code point; *l its length (0: invalid). */
static uint32_t decode(const unsigned char *p, size_t len, size_t *l)
{
	*l = utf8_seq_len(p, len);
	if (*l == 2)
		return (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	if (*l == 3)
		return (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
	if (*l == 4)
		return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
		       (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	return p[0];
}

void tty_put(bool utf8, int y, int x, int w, const char *s, enum tty_how how, bool strict)
{
	wchar_t wc[LINE_W + 2];
	unsigned char cw[LINE_W + 2];
	const wchar_t ell = utf8 ? 0x2026 : L'~';
	const unsigned char *p = (const unsigned char *)s;
	const uint32_t mark = utf8 ? 0xfffd : '?';
	size_t len = strlen(s), n = 0, from = 0, to;
	int total = 0, shown;

	if (w <= 0)
		return;
	for (size_t i = 0; i < len && n < LINE_W;) {
		size_t l;
		uint32_t c = decode(p + i, len - i, &l);
		int cwid;

		i += l ? l : 1;
		/* termsafe left no control; anything odd still shows as a mark */
		if (!l || c < 0x20 || c == 0x7f || (strict && c >= 0x80 && c < 0xa0))
			c = mark;
		if (!utf8 && c >= 0x80)
			c = '?';
		cwid = c < 0x80 ? 1 : wcwidth((wchar_t)c);
		if (cwid < (strict ? 1 : 0) || cwid > 2) {
			c = mark;
			cwid = 1;
		}
		wc[n] = (wchar_t)c;
		cw[n++] = (unsigned char)cwid;
		total += cwid;
	}
	to = n;
	shown = total;
	if (total > w) {
		if (how == TTY_CUT_LEFT) {
			while (from < to && shown + 1 > w)
				shown -= cw[from++];
		} else {
			while (to > from && shown + 1 > w)
				shown -= cw[--to];
		}
		shown++;	/* the ellipsis */
	}
	move(y, x);
	if (how == TTY_RIGHT)
		for (int k = shown; k < w; k++)
			addch(' ');
	if (total > w && how == TTY_CUT_LEFT)
		addnwstr(&ell, 1);
	if (to > from)
		addnwstr(wc + from, (int)(to - from));
	if (total > w && how != TTY_CUT_LEFT)
		addnwstr(&ell, 1);
	if (how != TTY_RIGHT)
		for (int k = shown; k < w; k++)
			addch(' ');
}

enum tty_edit tty_edit_key(char *edit, size_t size, int c)
{
	size_t n = strlen(edit);

	if (c == '\n' || c == '\r' || c == KEY_ENTER)
		return TTY_EDIT_ENTER;
	if (c == 27)
		return TTY_EDIT_CANCEL;
	if (c == KEY_BACKSPACE || c == 127 || c == 8) {
		/* a whole UTF-8 character */
		while (n && ((unsigned char)edit[n - 1] & 0xc0) == 0x80)
			n--;
		if (n)
			n--;
		edit[n] = '\0';
	} else if (c == 21) {		/* Ctrl-U */
		edit[0] = '\0';
	} else if (c >= 0x20 && c < 0x100 && c != 0x7f && n + 1 < size) {
		edit[n] = (char)c;
		edit[n + 1] = '\0';
	}
	return TTY_EDIT_MORE;
}
