/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>

#include "clock.h"
#include "log.h"

static const char *prog_name = "snitch";

void log_init(const char *prog)
{
	prog_name = prog;
}

void log_vmsg(const char *fmt, va_list ap)
{
	char line[4096];
	int n = snprintf(line, sizeof(line), "%s: ", prog_name);

	if (n < 0)
		return;
	(void)vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* one fputs: lines of concurrent writers do not interleave */
	fprintf(stderr, "%s\n", line);
}

void log_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(fmt, ap);
	va_end(ap);
}

void log_limited(const char *fmt, ...)
{
	static uint64_t window;
	static unsigned count;
	static uint64_t held;
	uint64_t now = clock_mono_ns() / 1000000000ULL;
	va_list ap;

	if (now != window) {
		window = now;
		count = 0;
	}
	if (count >= LOG_BURST) {
		held++;
		return;
	}
	count++;
	if (held) {
		log_msg("%llu more messages were held back (at most %d a second)",
			(unsigned long long)held, LOG_BURST);
		held = 0;
	}
	va_start(ap, fmt);
	log_vmsg(fmt, ap);
	va_end(ap);
}
