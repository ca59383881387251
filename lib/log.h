/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_LOG_H
#define SNITCH_LOG_H

#include <stdarg.h>

/*
 * Diagnostics on stderr, for cmd/ code only (library code returns errors
 * and never prints). Messages follow docs/architecture.md ("Conventions"): "tool: what 'subject': why",
 * lowercase, no final full stop.
 */

void log_init(const char *prog);

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vmsg(const char *fmt, va_list ap);

/*
 * Like log_msg(), but at most LOG_BURST lines per second; the number of
 * lines held back is said once the next line gets through.
 */
#define LOG_BURST 20
void log_limited(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
