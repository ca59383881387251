/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_STAGE_H
#define SNITCH_STAGE_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ack.h"
#include "linereader.h"
#include "output.h"
#include "record.h"

/*
 * The stage kit: the one loop of every filter stage (snitch-resolve,
 * snitch-hash, snitch-store, snitch-remote, snitch-notify, and any stage
 * written later). It reads records on standard input, calls the stage for
 * each, wakes it when a timer it asked for is due or a descriptor it waits
 * on is ready, flushes standard output before every wait, and stops on
 * SIGTERM, the end of input, or a closed standard output, with the rules of
 * docs/records.md ("How every stage behaves") in one place:
 *
 * - SIGINT (Ctrl-C reaches every stage of a shell pipeline at once) drains:
 *   the stage reads on to the end of its input, so that the records already
 *   in the pipes are passed on, for at most STAGE_DRAIN_NS; SIGTERM or a
 *   second SIGINT stops it at once.
 *
 * - A malformed line (not one JSON object, or empty) and an over-long
 *   line are said on stderr with their line number and in an error
 *   record, then skipped; a record of another major version passes
 *   through unchanged, said once.
 * - Output is flushed before the loop waits: a record is never older than
 *   what one read brought in, well within the 200 ms docs/records.md allows.
 * - A closed downstream (EPIPE) ends the stage like a signal does: it
 *   writes what it holds elsewhere (its window, its state) and exits 0
 *   without a word.
 * - Worker threads hand records (errors, losses, rows) to the loop with
 *   stage_post(): they leave through standard output like every other.
 */

/* After SIGINT, a stage reads its input to the end for at most this long. */
#define STAGE_DRAIN_NS (5000ULL * 1000 * 1000)

/* A deadline that never comes. */
#define STAGE_NEVER UINT64_MAX
/* How often a stage gives its heap's free pages back (malloc_trim) */
#define STAGE_TRIM_NS (60ULL * 1000 * 1000 * 1000)
/* Blocks this large or larger are mapped on their own (stage_init). */
#define STAGE_MMAP_THRESHOLD (64 * 1024)
/* Past this, an output buffer written out is freed (flush in stage.c). */
#define STAGE_OUT_KEEP (256u << 10)
/* Descriptors a stage may add to the wait, beside its input and mailbox. */
#define STAGE_FDS_MAX 16

struct stage {
	const char *name;		/* "snitch-store": in messages and records */
	struct linereader lr;
	struct record rec;		/* the record being handled, parsed */
	struct output out;
	size_t out_peak;		/* the most written out at once */
	uint64_t batch;			/* counts reads: "once per input batch" work */
	uint64_t wake_at;		/* monotonic ns: when on_timer is due */
	uint64_t trimmed_at;		/* monotonic ns: the heap last given back */
	bool pause_input;		/* the stage holds too much: read no more for now */
	bool out_closed;		/* downstream went away (EPIPE) */
	uint64_t drain_until;		/* monotonic ns; 0 until SIGINT */
	bool warned_version;
	/* records from other threads, to go out with the next flush */
	pthread_mutex_t mail_mu;
	struct buf mail;
	int mail_fd;			/* an eventfd: the loop wakes for mail */
	const struct stage_ops *ops;
	void *ctx;
	/*
	 * Under snitch run (SNITCH_ACK=1): where each input line began in the
	 * stream the supervisor wrote, and the confirmations it is owed
	 * (docs/reliability.md, "Nothing accepted is lost").
	 */
	bool ack;
	bool own_kept;			/* the stage says what is kept (stage_set_kept) */
	uint64_t in_off;		/* absolute offset after the last line taken */
	uint64_t line_off;		/* where the line being handled began */
	uint64_t start_off;		/* where this instance's stream began */
	uint64_t quiet_below;		/* lines before: handled, their output dropped */
	uint64_t kept;			/* atomic: input below is durable (own_kept) */
	uint64_t *held;			/* lines the stage holds back, by offset */
	size_t nheld, held_cap;
	uint64_t held_gen, acked_gen, acked_in, acked_kept;
	uint64_t seeks;			/* seek lines taken */
	bool held_lost;			/* no memory to note a held line */
	bool acked_any;
};

struct stage_ops {
	/* A record arrived: st->rec holds it, line and len its text. */
	void (*on_record)(void *ctx, struct stage *st, const char *line, size_t len);
	/*
	 * st->wake_at has come (see stage_wake_at()). Returns when it is due
	 * next, or STAGE_NEVER.
	 */
	uint64_t (*on_timer)(void *ctx, struct stage *st, uint64_t now);
	/*
	 * The input ended. Returns true when the stage owes nothing more; else
	 * the loop goes on (timers and descriptors, no input) and asks again
	 * after each wake-up.
	 */
	bool (*on_eof)(void *ctx, struct stage *st, uint64_t now);
	/* Descriptors to wait on too (at most max); returns how many. */
	int (*poll_fds)(void *ctx, struct stage *st, struct pollfd *fds, int max);
	/* Some of them are ready: fds as poll_fds() filled them, with revents. */
	void (*on_fds)(void *ctx, struct stage *st, struct pollfd *fds, int n);
	/*
	 * The kit reported an error about the input (code, message), written
	 * as the error record rec (rec_len bytes, without its newline; valid
	 * only during the call): for a stage that also logs errors.
	 */
	void (*on_own_error)(void *ctx, struct stage *st, const char *code, const char *msg,
			     const char *rec, size_t rec_len);
};

struct cli;

/*
 * The start of a filter stage's main(): diagnostics named after the tool,
 * the options parsed, no operand taken. Returns -1 to go on, or the exit
 * status to return at once (--help, --version, a bad option).
 */
int stage_parse_cli(const struct cli *cli, int argc, char **argv);

/*
 * Ready to read records: standard input is not a terminal (the message
 * names 'upstream', where records come from), SIGINT and SIGTERM set up,
 * st initialised with the tool's name. Returns -1 to go on, or the exit
 * status to return.
 */
int stage_start(struct stage *st, const struct cli *cli, const char *upstream);

/* Reads standard input, writes standard output. 0, or a negative errno. */
int stage_init(struct stage *st, const char *name);
void stage_release(struct stage *st);

/*
 * Run the loop until a signal, a closed output, or the end of input (and
 * on_eof() says done). Returns an exit status (lib/exitcode.h): OK, or IO
 * when reading failed, SOFTWARE when waiting did. The stage then writes
 * what it holds and calls stage_finish().
 */
int stage_run(struct stage *st, const struct stage_ops *ops, void *ctx);

/*
 * Flush what is left (output and mail) and return the exit status: ret,
 * or IO when standard output failed for another reason than EPIPE.
 */
int stage_finish(struct stage *st, int ret);

/* Ask for on_timer at 'at' (monotonic ns), unless it is due earlier. */
static inline void stage_wake_at(struct stage *st, uint64_t at)
{
	if (at < st->wake_at)
		st->wake_at = at;
}

/*
 * The error (type "error", reason is its code) or lost record (type
 * "lost", count records lost for reason) of stage 'name', appended to b
 * with its newline: the one way the kit and its stages write them.
 */
void stage_note_format(struct buf *b, const char *name, const char *type,
		       const char *reason, uint64_t count, const char *msg);

/* From any thread: whole records (each ending in '\n') for the output. */
void stage_post(struct stage *st, const char *records, size_t len);

/*
 * From any thread: an error record (stage, code, message) posted, and
 * the message said on stderr (rate-limited).
 */
void stage_post_error(struct stage *st, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* From any thread: a lost record (count records lost for reason). */
void stage_post_lost(struct stage *st, const char *reason, uint64_t count,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * From the loop's thread: an error record about the stage's own work,
 * written now and said on stderr (rate-limited).
 */
void stage_error(struct stage *st, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Confirmations under snitch run (docs/reliability.md). The kit confirms
 * by itself, after each flush, the input whose output it has written. A
 * stage that holds a record back to write it later (snitch-hash) says so,
 * from the loop's thread: stage_hold() while handling it (it returns the
 * record's offset) and stage_unhold() once it has written it.
 */
uint64_t stage_hold(struct stage *st);
void stage_unhold(struct stage *st, uint64_t off);

/*
 * For a stage whose work is durable only later (snitch-store: at its
 * commit): stage_own_kept() once before the loop, then, from any thread,
 * stage_set_kept() with the offset (stage_in_offset() at the time) below
 * which everything is durable.
 */
void stage_own_kept(struct stage *st);
void stage_set_kept(struct stage *st, uint64_t off);

/* In on_record: the absolute input offset where the record's line began. */
static inline uint64_t stage_line_offset(const struct stage *st)
{
	return st->line_off;
}

/* The absolute input offset after the last line handled. */
static inline uint64_t stage_in_offset(const struct stage *st)
{
	return st->in_off;
}

/*
 * The confirmation line: the kit appends it; the supervisor reads and
 * strips it. held lists at most STAGE_ACK_HELD_MAX offsets.
 */
#define STAGE_ACK_HELD_MAX 8192
/* Appends the ack line to b when there is something to confirm. */
void stage_put_ack(struct stage *st, struct buf *b, uint64_t kept, bool force);

#endif
