/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_TERMSAFE_H
#define SNITCH_TERMSAFE_H

#include <stddef.h>

#include "buf.h"

/*
 * Text that a terminal shows and never interprets. Process names, command
 * lines, paths and domains are chosen by whoever runs a program, so none
 * of their bytes may reach a terminal as a control: a name holding
 * "\e]0;title\a" must show as those characters, not retitle the window.
 *
 * termsafe_append() appends s[0, len) to out with:
 *   - printable ASCII as it is, except the backslash, doubled ("\\"), so
 *     that what is shown escaped cannot be faked by the text itself;
 *   - ESC as "\e", TAB, LF and CR as "\t", "\n", "\r", the other C0
 *     controls and DEL as "\xNN";
 *   - the C1 controls (U+0080..U+009F, encoded as valid UTF-8) as "\xNN"
 *     with their code point ("\x9b" for CSI);
 *   - the characters that reorder or break lines without being seen (the
 *     bidirectional embeddings, overrides and isolates U+202A..U+202E,
 *     U+2066..U+2069, U+200E, U+200F, U+061C, and U+2028, U+2029) as
 *     "\uNNNN";
 *   - every other valid UTF-8 sequence as it is;
 *   - each byte that does not start a valid UTF-8 sequence (a stray
 *     continuation byte, an overlong form, a surrogate, a sequence cut
 *     short) as U+FFFD.
 * The result is valid UTF-8 holding no C0, C1 or DEL byte. NUL bytes in s
 * are shown as "\x00".
 */
void termsafe_append(struct buf *out, const void *s, size_t len);

/*
 * The same into a fixed buffer: at most size - 1 bytes and a NUL, never
 * cutting an escape or a UTF-8 sequence in two. Returns out.
 */
char *termsafe_str(char *out, size_t size, const void *s, size_t len);

/*
 * A JSON text (one record line, without its newline) with the same
 * meaning and nothing a terminal acts on, for snitch tail: control
 * characters, C1 controls and the hidden movers above become \u00XX or
 * \uXXXX escapes (JSON allows any character escaped, so the value is
 * unchanged; only inside strings can such characters be), and each byte of
 * invalid UTF-8 becomes \ufffd. Valid JSON in, the same JSON value out.
 */
void termsafe_json(struct buf *out, const void *s, size_t len);

#endif
