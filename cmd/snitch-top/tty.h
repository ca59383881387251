/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_TOP_TTY_H
#define SNITCH_TOP_TTY_H

#include <curses.h>
#include <stdbool.h>

/* The terminal of snitch top and snitch tui (ncursesw): tty.c. */

enum tty_how { TTY_LEFT, TTY_RIGHT, TTY_CUT_LEFT };

/*
 * newterm (not initscr: an unknown TERM is an error to report, not an
 * exit), keys one at a time without echo or waiting, no cursor, a short
 * Esc. *utf8: the locale's codeset is UTF-8; *color: colours, unless
 * NO_COLOR (start_color done). NULL: no terminal.
 */
SCREEN *tty_open(bool *utf8, bool *color);
void tty_close(SCREEN *screen);

/*
 * Draw s (valid UTF-8, inert) in columns [x, x + w) of line y, cut to w by
 * display width (on the right, or on the left for TTY_CUT_LEFT) with an
 * ellipsis, padded. strict: C1 codes and zero-width characters show as a
 * mark too.
 */
void tty_put(bool utf8, int y, int x, int w, const char *s, enum tty_how how, bool strict);

enum tty_edit { TTY_EDIT_MORE, TTY_EDIT_ENTER, TTY_EDIT_CANCEL };

/*
 * One key of a line being typed into edit (size bytes): Enter ends it,
 * Esc cancels, Backspace takes off a whole UTF-8 character, Ctrl-U
 * empties it, any other byte from space on is added while it fits.
 */
enum tty_edit tty_edit_key(char *edit, size_t size, int c);

#endif
