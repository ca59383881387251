/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>

#include "units.h"

void units_bytes(uint64_t v, int units, char *out, size_t size)
{
	static const char *const si[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	static const char *const bin[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = (double)v, base = units == UNITS_BINARY ? 1024 : 1000;
	int i = 0;

	if (units == UNITS_BYTES) {
		snprintf(out, size, "%" PRIu64, v);
		return;
	}
	while (d >= base && i < 5) {
		d /= base;
		i++;
	}
	if (i == 0)
		snprintf(out, size, "%" PRIu64 " B", v);
	else
		snprintf(out, size, d < 10 ? "%.1f %s" : "%.0f %s", d,
			 units == UNITS_BINARY ? bin[i] : si[i]);
}
