/* SPDX-License-Identifier: MIT */
/*
 * Byte counts as a person reads them, the same in every view (snitch-query's
 * table, snitch top, snitch tui): SI (kB, MB), binary (KiB, MiB) or exact.
 */
#ifndef SNITCH_UNITS_H
#define SNITCH_UNITS_H

#include <stddef.h>
#include <stdint.h>

enum { UNITS_SI, UNITS_BINARY, UNITS_BYTES, UNITS_COUNT };

/*
 * v bytes into out: "512 B", "1.5 KiB", "15 MiB" (one decimal under 10),
 * or with UNITS_BYTES the exact number alone.
 */
void units_bytes(uint64_t v, int units, char *out, size_t size);

#endif
