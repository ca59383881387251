/* SPDX-License-Identifier: MIT */
/*
 * Stream mode: add exe_sha256, parent_exe_sha256 and gparent_exe_sha256
 * to the records read on stdin.
 *
 * A record whose hashes are all cached goes straight out. Otherwise the
 * missing hashes are queued to worker threads and the record is held
 * until they are known. Held records leave in arrival order among those
 * that share an executable; a record that needs nothing held goes ahead,
 * so one slow hash never holds up the rest of the stream.
 */
#include <errno.h>
#include <linux/capability.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ancestry.h"
#include "cache.h"
#include "clock.h"
#include "emit.h"
#include "exitcode.h"
#include "hash.h"
#include "heap.h"
#include "log.h"
#include "privs.h"
#include "record.h"
#include "sig.h"
#include "stage.h"

#define KEYS_PER_LEVEL 5
/* A failed hash is retried after this long, or at once for another pid. */
#define RETRY_NS (1000ULL * 1000 * 1000)
/* Stop reading input while this much is held, until it drains. */
#define HELD_MAX_BYTES (64U << 20)
/* Give the heap back after a queue of held records this large emptied. */
#define HELD_TRIM_BYTES (256U << 10)
/* Re-hash at most this often in a row for a file that keeps changing. */
#define MAX_ROUNDS 3

enum { K_PID, K_DEV, K_INO, K_PATH, K_SHA };

/*
 * What is hashed: the executable of the process, its parent and its
 * grandparent (the ancestry's levels), and the script the process runs
 * when it is an interpreter (snitch-resolve's script_path), in slot
 * SCRIPT_SLOT. A script is read by its path, never through /proc/PID/exe.
 */
#define NSLOTS (NLEVELS + 1)
#define SCRIPT_SLOT NLEVELS
static const char *const script_keys[KEYS_PER_LEVEL] = {
	"pid", "script_dev", "script_ino", "script_path", "script_sha256",
};

/* The members of one level, in the order of the enum. */
static const char *const level_keys[KEYS_PER_LEVEL] = {
	"pid", "exe_dev", "exe_ino", "exe_path", "exe_sha256",
};

struct held {
	struct held *next;
	uint64_t lineno;
	uint64_t since;			/* monotonic ns when held */
	uint64_t in_off;		/* its input offset, for the kit's confirmations */
	struct exe_entry *ent[NSLOTS];
	bool had_key[NSLOTS];
	size_t len;
	char line[];
};

struct stream {
	const struct hash_opts *opt;
	struct stage st;
	const char *keys[NSLOTS * KEYS_PER_LEVEL];	/* level_keys, for each level */
	char key_text[NSLOTS * KEYS_PER_LEVEL][ANCESTRY_KEY_MAX];
	struct cache cache;
	struct pool *pool;
	struct watch *watch;
	struct held *head, *tail;
	size_t held_bytes;
	size_t held_peak;		/* the most held since the queue was last empty */
	uint64_t epoch;
	uint64_t timeout_ns;
	uint64_t eof_mono;		/* when input ended, 0 before */
	struct buf tmp;
	bool noted_btrfs;
	int noted_mark_err;
};

/* ---- records this stage writes ---- */

static void put_key(struct buf *b, const struct exe_entry *e)
{
	emit_u64(b, "dev", e->key.dev);
	emit_u64(b, "ino", e->key.ino);
}

static void error_record(struct stream *s, const char *code,
			 const char *message)
{
	emit_error_begin(&s->st.out.b, STAGE, code, message);
	emit_end(&s->st.out.b);
}

static void modified_record(struct stream *s, struct exe_entry *e,
			    const char *new_hex)
{
	struct buf *b = &s->st.out.b;

	emit_begin(b, "modified", clock_real_ns());
	emit_cstr_or_null(b, "path", e->path);
	put_key(b, e);
	emit_cstr(b, "old_sha256", e->old_hex);
	emit_cstr_or_null(b, "new_sha256", new_hex);
	emit_cstr(b, "detected_by", e->watched ? "fanotify" : "stat");
	emit_end(b);
}

/* ---- the hash state of one executable ---- */

static void start_job(struct stream *s, struct exe_entry *e)
{
	struct hash_job *job = calloc(1, sizeof(*job));

	if (!job || (e->path && !(job->path = strdup(e->path)))) {
		free(job);
		e->state = ENTRY_FAILED;
		e->failed_mono = clock_mono_ns();
		e->failed_pid = e->pid;
		e->failed_nopath = !e->path;
		return;
	}
	if (e->state == ENTRY_VALID && !e->report_change) {
		/* a re-hash after a change: remember what it was */
		memcpy(e->old_hex, e->hex, sizeof(e->hex));
		e->report_change = true;
	}
	job->owner = e;
	job->key = e->key;
	job->pid = e->pid;
	e->state = ENTRY_PENDING;
	e->dirty = false;
	e->stale = false;
	e->timeout_reported = false;
	pool_submit(s->pool, job);
}

/*
 * Without fanotify, a cached hash is checked against the file's size,
 * mtime and ctime, once per input batch, through the process when it
 * lives and else the path.
 */
static void stat_check(struct stream *s, struct exe_entry *e)
{
	char proc[64];
	struct stat st;
	struct file_sig sig;
	int r = -1;

	if (e->checked_batch == s->st.batch)
		return;
	e->checked_batch = s->st.batch;
	if (e->pid) {
		snprintf(proc, sizeof(proc), "/proc/%u/exe", e->pid);
		r = stat(proc, &st);
		if (r == 0 && ((uint64_t)st.st_ino != e->key.ino))
			r = -1;
	}
	if (r < 0 && e->path) {
		r = stat(e->path, &st);
		if (r == 0 && ((uint64_t)st.st_ino != e->key.ino))
			r = -1;
	}
	if (r < 0)
		return;		/* nothing to look through: keep the hash */
	sig.size = (uint64_t)st.st_size;
	sig.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	sig.ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	if (!file_sig_eq(&sig, &e->sig))
		e->dirty = true;
}

/* Is the entry's hash (or its failure) settled? Starts work it needs. */
static bool entry_prepare(struct stream *s, struct exe_entry *e)
{
	switch (e->state) {
	case ENTRY_NEW:
		start_job(s, e);
		return e->state != ENTRY_PENDING;
	case ENTRY_PENDING:
		return false;
	case ENTRY_VALID:
		if (!e->watched && !e->dirty)
			stat_check(s, e);
		if (e->dirty) {
			start_job(s, e);
			return e->state != ENTRY_PENDING;
		}
		return true;
	case ENTRY_FAILED:
		/*
		 * Again at once for another process, or for a path learnt since:
		 * a process gone before it was read has no path in its first
		 * records when a scan saw its socket before its exec was read
		 */
		if (e->pid == e->failed_pid && !(e->failed_nopath && e->path) &&
		    clock_mono_ns() - e->failed_mono < RETRY_NS)
			return true;
		start_job(s, e);
		return e->state != ENTRY_PENDING;
	}
	return true;
}

static const char *entry_hex(const struct exe_entry *e)
{
	return e->state == ENTRY_VALID && !e->dirty ? e->hex : NULL;
}

/* ---- output of records with their hashes ---- */

/*
 * Add the hashes and write the record. had_key[l]: the record has the
 * level's sha key already (as null), so it is replaced, not added.
 */
static void write_with_hashes(struct stream *s, struct exe_entry **ent,
			      const bool *had_key)
{
	char q[SHA256_HEX_LEN + 2];

	for (int l = 0; l < NSLOTS; l++) {
		const char *hex;
		const char *val = "null";
		size_t len = 4;

		if (!ent[l])
			continue;
		hex = entry_hex(ent[l]);
		if (hex) {
			q[0] = '"';
			memcpy(q + 1, hex, SHA256_HEX_LEN);
			q[SHA256_HEX_LEN + 1] = '"';
			val = q;
			len = sizeof(q);
		}
		if (had_key[l])
			(void)record_set_raw(&s->st.rec, s->keys[l * KEYS_PER_LEVEL + K_SHA], val, len);
		else
			(void)record_add_raw(&s->st.rec, s->keys[l * KEYS_PER_LEVEL + K_SHA], val, len);
	}
	record_write(&s->st.rec, &s->st.out.b);
}

static void hold(struct stream *s, const char *line, size_t len,
		 uint64_t lineno, struct exe_entry **ent, const bool *had_key)
{
	struct held *h = malloc(sizeof(*h) + len);

	if (!h) {
		/* no memory to wait: out it goes, with what is known */
		write_with_hashes(s, ent, had_key);
		return;
	}
	h->next = NULL;
	h->lineno = lineno;
	h->since = clock_mono_ns();
	h->in_off = stage_hold(&s->st);
	h->len = len;
	memcpy(h->line, line, len);
	for (int l = 0; l < NSLOTS; l++) {
		h->ent[l] = ent[l];
		h->had_key[l] = had_key[l];
		if (ent[l])
			ent[l]->held_refs++;
	}
	if (s->tail)
		s->tail->next = h;
	else
		s->head = h;
	s->tail = h;
	s->held_bytes += len;
	if (s->held_bytes > s->held_peak)
		s->held_peak = s->held_bytes;
	stage_wake_at(&s->st, h->since + s->timeout_ns);
}

/* "parent", "grandparent", "script" ("" for the process) */
static const char *slot_role(int slot)
{
	return slot == SCRIPT_SLOT ? "script" : slot ? ancestry[slot].role : "";
}

static void report_unhashed(struct stream *s, struct exe_entry *e, int level,
			    bool interrupted)
{
	char msg[512];
	struct buf *b = &s->st.out.b;

	if (e->timeout_reported)
		return;
	e->timeout_reported = true;
	if (interrupted)
		snprintf(msg, sizeof(msg),
			 "%s%sexecutable (device %llu, inode %llu) was still being hashed at exit: its records pass with a null hash",
			 slot_role(level), level ? " " : "", (unsigned long long)e->key.dev,
			 (unsigned long long)e->key.ino);
	else
		snprintf(msg, sizeof(msg),
			 "%s%sexecutable (device %llu, inode %llu) not hashed within %llu s: its records pass with a null hash meanwhile",
			 slot_role(level), level ? " " : "", (unsigned long long)e->key.dev,
			 (unsigned long long)e->key.ino,
			 (unsigned long long)s->opt->timeout_s);
	log_limited("%s", msg);
	emit_error_begin(b, STAGE, interrupted ? "hash_interrupted" : "hash_timeout",
			 msg);
	put_key(b, e);
	emit_cstr_or_null(b, "path", e->path);
	emit_end(b);
}

/*
 * Release held records whose hashes are settled, in order. A record
 * still held blocks later records of the same executables (epoch marks).
 * 'force' releases everything (at exit), with null for what is unknown.
 */
static void release_ready(struct stream *s, bool force)
{
	uint64_t now = clock_mono_ns();
	struct held **pp = &s->head, *h;

	s->epoch++;
	s->tail = NULL;
	while ((h = *pp)) {
		bool late = force || now - h->since >= s->timeout_ns;
		bool ready = true;

		for (int l = 0; l < NSLOTS; l++) {
			struct exe_entry *e = h->ent[l];

			if (!e)
				continue;
			if (e->block_epoch == s->epoch)
				ready = false;
			else if (!entry_prepare(s, e) && !late)
				ready = false;
		}
		if (!ready) {
			for (int l = 0; l < NSLOTS; l++)
				if (h->ent[l])
					h->ent[l]->block_epoch = s->epoch;
			s->tail = h;
			pp = &h->next;
			continue;
		}
		for (int l = 0; l < NSLOTS; l++)
			if (h->ent[l] && h->ent[l]->state == ENTRY_PENDING)
				report_unhashed(s, h->ent[l], l, force);
		/* it was valid when held; a second parse cannot fail */
		if (record_parse(&s->st.rec, h->line, h->len, NULL) == 0)
			write_with_hashes(s, h->ent, h->had_key);
		for (int l = 0; l < NSLOTS; l++)
			if (h->ent[l])
				h->ent[l]->held_refs--;
		*pp = h->next;
		s->held_bytes -= h->len;
		stage_unhold(&s->st, h->in_off);
		free(h);
	}
	/*
	 * Records held while a large executable was hashed (up to
	 * HELD_MAX_BYTES) are freed, but the C library keeps the heap they
	 * grew: the soak saw a step of 1 MB that stayed. Given back once the
	 * queue is empty after holding more than HELD_TRIM_BYTES.
	 */
	if (!s->head && s->held_peak > HELD_TRIM_BYTES) {
		heap_trim();
		s->held_peak = 0;
	}
}

/* ---- input ---- */

static void on_record(void *ctx, struct stage *st, const char *line,
		      size_t len)
{
	struct stream *s = ctx;
	const struct record_member *m[NSLOTS * KEYS_PER_LEVEL];
	struct exe_entry *ent[NSLOTS] = { NULL };
	bool had_key[NSLOTS] = { false };
	bool need = false, ready = true;

	record_find_many(&st->rec, s->keys, NSLOTS * KEYS_PER_LEVEL, m);
	for (int l = 0; l < NSLOTS; l++) {
		const struct record_member **lm = m + l * KEYS_PER_LEVEL;
		struct exe_key key;
		uint64_t pid = 0;
		struct exe_entry *e;

		if (record_member_u64(&s->st.rec, lm[K_DEV], &key.dev) < 0 ||
		    record_member_u64(&s->st.rec, lm[K_INO], &key.ino) < 0)
			continue;	/* no identity at this level */
		if (lm[K_SHA] && lm[K_SHA]->type == JSON_STRING)
			continue;	/* hashed already, by an earlier stage */
		e = cache_get(&s->cache, &key);
		if (!e)
			continue;	/* out of memory: passed on unhashed */
		if (l != SCRIPT_SLOT && record_member_u64(&s->st.rec, lm[K_PID], &pid) == 0 &&
		    pid > 0 && pid <= UINT32_MAX)
			e->pid = (uint32_t)pid;
		buf_reset(&s->tmp);
		if (record_member_str(&s->st.rec, lm[K_PATH], &s->tmp) == 0 &&
		    s->tmp.len > 0 && !memchr(s->tmp.p, '\0', s->tmp.len)) {
			if (!e->path || strlen(e->path) != s->tmp.len ||
			    memcmp(e->path, s->tmp.p, s->tmp.len)) {
				char *p = strndup(s->tmp.p, s->tmp.len);
				if (p) {
					free(e->path);
					e->path = p;
				}
			}
		}
		ent[l] = e;
		had_key[l] = lm[K_SHA] != NULL;
		need = true;
	}
	if (!need) {
		record_write(&s->st.rec, &s->st.out.b);
		return;
	}
	for (int l = 0; l < NSLOTS; l++) {
		if (!ent[l])
			continue;
		if (!entry_prepare(s, ent[l]) || ent[l]->held_refs)
			ready = false;
	}
	if (ready)
		write_with_hashes(s, ent, had_key);
	else
		hold(s, line, len, st->lr.lineno, ent, had_key);
}

/* ---- completions and modification events ---- */

static void job_done(struct stream *s, struct hash_job *job)
{
	struct exe_entry *e = job->owner;
	bool again = (e->stale || job->changed) && !job->err;

	if (job->have_fid) {
		e->fid = job->fid;
		e->have_fid = true;
	}
	e->watched = job->have_fid;
	if (again && e->rounds < MAX_ROUNDS) {
		/* it changed while we read it: that hash is of nothing real */
		e->rounds++;
		e->state = ENTRY_NEW;
		start_job(s, e);
		return;
	}
	e->rounds = 0;
	if (s->watch && job->mark_err && job->mark_err != s->noted_mark_err &&
	    !job->err) {
		s->noted_mark_err = job->mark_err;
		log_msg("cannot watch '%s' with fanotify: %s; checking size, mtime and ctime of such files instead",
			job->opened ? job->opened : "?", strerror(job->mark_err));
	}
	if (job->btrfs && !s->noted_btrfs) {
		s->noted_btrfs = true;
		log_msg("btrfs: device numbers differ between the kernel and stat() on '%s'; executables there are matched by inode only",
			job->opened ? job->opened : "?");
	}
	if (job->err) {
		char msg[1024];
		struct buf *b = &s->st.out.b;
		/* the same failure again (retried each second while records
		 * of it come): said once, not every second */
		bool said = e->failed_err == job->err && e->failed_pid == job->pid &&
			     e->failed_nopath == !job->path;

		e->state = ENTRY_FAILED;
		e->failed_mono = clock_mono_ns();
		e->failed_pid = job->pid;
		e->failed_nopath = !job->path;
		e->failed_err = job->err;
		if (said && !e->report_change)
			return;
		snprintf(msg, sizeof(msg),
			 "cannot hash executable (device %llu, inode %llu): %s",
			 (unsigned long long)e->key.dev,
			 (unsigned long long)e->key.ino, job->err_msg);
		log_limited("%s", msg);
		emit_error_begin(b, STAGE, "hash_failed", msg);
		put_key(b, e);
		if (job->pid)
			emit_u64(b, "pid", job->pid);
		emit_cstr_or_null(b, "path", job->path);
		emit_errno(b, job->err);
		emit_end(b);
		if (e->report_change) {
			modified_record(s, e, NULL);
			e->report_change = false;
		}
		return;
	}
	memcpy(e->hex, job->hex, sizeof(e->hex));
	e->sig = job->sig;
	e->state = ENTRY_VALID;
	e->failed_err = 0;
	/* a change that came while a job ran past its last round */
	e->dirty = e->stale || job->changed;
	e->stale = false;
	if (e->report_change) {
		if (strcmp(e->old_hex, e->hex) != 0)
			modified_record(s, e, e->hex);
		e->report_change = false;
	}
}

static void on_watch_event(void *ctx, const struct watch_event *ev)
{
	struct stream *s = ctx;
	struct exe_entry *e;

	if (ev->overflow) {
		error_record(s, "watch_overflow",
			     "fanotify event queue overflowed: every watched executable will be hashed again");
		log_msg("fanotify event queue overflowed: every watched executable will be hashed again");
		cache_for_each(&s->cache, e) {
			if (e->state == ENTRY_PENDING)
				e->stale = true;
			else if (e->state == ENTRY_VALID && e->watched)
				e->dirty = true;
		}
		return;
	}
	e = cache_find(&s->cache, &ev->key);
	if (!e)
		return;
	if (e->state == ENTRY_PENDING) {
		if (ev->modify || ev->close_write)
			e->stale = true;
		return;
	}
	if (e->state != ENTRY_VALID)
		return;
	if (ev->modify)
		e->dirty = true;
	/* the writer is done: hash it now, so `modified` needs no new record */
	if (e->dirty && ev->close_write)
		start_job(s, e);
}

static void forget_entry(void *ctx, struct exe_entry *e)
{
	struct stream *s = ctx;

	if (s->watch && e->have_fid)
		watch_forget(s->watch, &e->fid);
}

static void drain_watch(struct stream *s)
{
	int r;

	if (!s->watch)
		return;
	r = watch_drain(s->watch, on_watch_event, s);
	if (r < 0)
		log_limited("reading fanotify events: %s", strerror(-r));
}

static void collect_jobs(struct stream *s)
{
	struct hash_job *j = pool_take_done(s->pool), *next;

	/* events first: a change that raced a job marks it stale */
	drain_watch(s);
	for (; j; j = next) {
		next = j->next;
		job_done(s, j);
		hash_job_free(j);
	}
	release_ready(s, false);
	cache_trim(&s->cache, forget_entry, s);
}

/* When the oldest held record is due, or the last jobs at the end. */
static uint64_t next_due(const struct stream *s)
{
	if (s->head)
		return s->head->since + s->timeout_ns;
	if (s->eof_mono)
		return s->eof_mono + s->timeout_ns;
	return STAGE_NEVER;
}

static uint64_t on_timer(void *ctx, struct stage *st, uint64_t now)
{
	struct stream *s = ctx;

	(void)st;
	(void)now;
	release_ready(s, false);
	return next_due(s);
}

static bool on_eof(void *ctx, struct stage *st, uint64_t now)
{
	struct stream *s = ctx;

	if (!s->eof_mono) {
		s->eof_mono = now;
		release_ready(s, false);
		stage_wake_at(st, next_due(s));
	}
	/* wait for jobs still running (a `modified` may be due), but no
	 * longer than a record would wait for its hash */
	return !s->head && (pool_busy(s->pool) == 0 || now - s->eof_mono >= s->timeout_ns);
}

/* Before each wait: trim the cache, and read no more while too much is held. */
static int poll_fds(void *ctx, struct stage *st, struct pollfd *fds, int max)
{
	struct stream *s = ctx;
	int n = 0;

	(void)max;
	cache_trim(&s->cache, forget_entry, s);
	st->pause_input = s->held_bytes >= HELD_MAX_BYTES;
	fds[n++] = (struct pollfd){ .fd = pool_fd(s->pool), .events = POLLIN };
	if (s->watch)
		fds[n++] = (struct pollfd){ .fd = watch_fd(s->watch), .events = POLLIN };
	return n;
}

static void on_fds(void *ctx, struct stage *st, struct pollfd *fds, int n)
{
	struct stream *s = ctx;

	(void)st;
	if (fds[0].revents)
		collect_jobs(s);
	if (n > 1 && fds[1].revents)
		drain_watch(s);
}

static const struct stage_ops stream_ops = {
	.on_record = on_record,
	.on_timer = on_timer,
	.on_eof = on_eof,
	.poll_fds = poll_fds,
	.on_fds = on_fds,
};

static int setup(struct stream *s, const struct hash_opts *o)
{
	int err = 0;

	memset(s, 0, sizeof(*s));
	s->opt = o;
	s->timeout_ns = o->timeout_s * 1000000000ULL;
	ancestry_keys(s->keys, s->key_text, level_keys, KEYS_PER_LEVEL);
	for (int k = 0; k < KEYS_PER_LEVEL; k++)
		s->keys[SCRIPT_SLOT * KEYS_PER_LEVEL + k] = script_keys[k];
	if (stage_init(&s->st, STAGE) < 0 || cache_init(&s->cache, o->cache_size) < 0) {
		log_msg("out of memory");
		return SNITCH_EXIT_SOFTWARE;
	}
	if (o->watch_mode != WATCH_STAT) {
		s->watch = watch_new(&err);
		if (!s->watch && o->watch_mode == WATCH_FANOTIFY) {
			log_msg("cannot use fanotify: %s", strerror(err));
			return SNITCH_EXIT_UNAVAILABLE;
		}
		if (!s->watch) {
			char msg[256];

			snprintf(msg, sizeof(msg),
				 "fanotify is not available (%s): changes to executables are found by their size, mtime and ctime instead",
				 strerror(err));
			log_msg("%s", msg);
			error_record(s, "watch_unavailable", msg);
		}
	}
	/*
	 * fanotify's group is open (with FAN_REPORT_FID and marks on single
	 * files, any user may since Linux 5.13; before, root): from here on, the user snitch reading any executable
	 * (CAP_DAC_READ_SEARCH) through any process's /proc/PID/exe and root
	 * (CAP_SYS_PTRACE), before the hashing threads start.
	 */
	if (privs_drop(&(const struct privs){
		    .caps = PRIVS_CAP(CAP_DAC_READ_SEARCH) | PRIVS_CAP(CAP_SYS_PTRACE),
		    .allow = PRIVS_OPEN_READ | PRIVS_THREADS | PRIVS_FANOTIFY }) < 0)
		return SNITCH_EXIT_NOPERM;
	s->pool = pool_new((unsigned)o->jobs, s->watch);
	if (!s->pool) {
		log_msg("cannot start hashing threads: %s", strerror(errno));
		return SNITCH_EXIT_SOFTWARE;
	}
	return -1;
}

int stream_run(const struct hash_opts *o)
{
	struct stream s;
	int ret = setup(&s, o);
	bool clean = true;

	if (ret >= 0)
		goto out;
	ret = stage_run(&s.st, &stream_ops, &s);
	/* EOF, a signal or an error: what is held goes out as it stands */
	release_ready(&s, true);
	ret = stage_finish(&s.st, ret);
	clean = pool_free(s.pool, false);
out:
	if (!clean) {
		/* a worker is inside a long hash: do not free what it uses */
		_exit(ret);
	}
	while (s.head) {
		struct held *h = s.head;
		s.head = h->next;
		free(h);
	}
	if (s.watch)
		watch_free(s.watch);
	cache_release(&s.cache);
	stage_release(&s.st);
	buf_release(&s.tmp);
	return ret;
}
