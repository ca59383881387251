/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_STAGE_H
#define SNITCH_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linereader.h"
#include "output.h"
#include "record.h"

/*
 * The input side of a stage that filters records, with design.md's rules
 * for bad input in one place: a malformed line (not one JSON object, or
 * empty) and an over-long line are said on stderr with their line number
 * and in an error record, then skipped; a record of another major version
 * passes through unchanged, said once. Every other record is handed to
 * the stage, parsed.
 */
struct stage_in {
	const char *stage;
	struct linereader lr;
	struct record rec;
	struct output *out;
	uint64_t batch;		/* counts reads: "once per input batch" work */
	bool warned_version;
};

int stage_in_init(struct stage_in *si, const char *stage, int fd,
		  struct output *out);
void stage_in_release(struct stage_in *si);

/*
 * Called for each record to process; si->rec holds it, parsed. line and
 * len are its text, for a stage that keeps a copy.
 */
typedef void (*stage_record_fn)(void *ctx, struct stage_in *si,
				const char *line, size_t len);

/*
 * Read once from the input and handle every whole line. Returns 0, or a
 * negative errno when reading failed. si->lr.eof tells the end of input.
 */
int stage_in_read(struct stage_in *si, stage_record_fn fn, void *ctx);

#endif
