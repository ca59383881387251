/* SPDX-License-Identifier: MIT */
/*
 * snitch: the monitor as one service. Reads /etc/snitch/snitch.conf, makes
 * the data directories, and runs the pipeline of stage tools under a
 * supervisor (super.c), in the foreground or as a daemon; reports its
 * status; writes a systemd unit.
 */
#include <dirent.h>
#include <linux/capability.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "exitcode.h"
#include "feed.h"
#include "json.h"
#include "log.h"
#include "perms.h"
#include "privs.h"
#include "record.h"
#include "self.h"
#include "sig.h"
#include "snitch.h"

#define DEFAULT_CONFIG "/etc/snitch/snitch.conf"
#define DEFAULT_UNIT "/etc/systemd/system/snitch.service"
#define START_WAIT_MS 20000

static char self_dir[PATH_MAX], self_path[PATH_MAX];

static const char *env_or(const char *key, const char *def)
{
	const char *v = getenv(key);

	return v && *v ? v : def;
}

/* ---- the pid file: a lock held while snitch runs ---- */

static void pid_path(const struct opts *o, char *out, size_t size)
{
	snprintf(out, size, "%s/snitch.pid", o->run_dir);
}

/*
 * The pid of the running snitch, or 0 if none runs. The pid file is
 * locked for as long as its snitch lives, so a stale file (after a crash
 * or a reboot) is told apart from a live one without guessing from pids.
 */
pid_t running_pid(const struct opts *o)
{
	char path[4200], text[32] = "";
	uint64_t pid = 0;
	ssize_t n;
	int fd;

	pid_path(o, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);	/* nobody holds it: stale */
		return 0;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n > 0)
		text[n] = '\0';
	text[strcspn(text, "\n")] = '\0';
	if (cli_parse_u64(text, 1, INT_MAX, &pid) < 0)
		return -1;	/* locked but not yet written: starting */
	return (pid_t)pid;
}

/*
 * Take the pid file; the descriptor stays open (and locked) until exit.
 * Unlike the other files snitch writes, it is written in place, not with
 * atomic_write_file(): the lock belongs to its inode, and a file renamed
 * over it would be one nobody holds. A reader that finds it locked and
 * still empty takes snitch to be starting (running_pid).
 */
static int take_pid_file(const struct opts *o, char *err, size_t errsize)
{
	char path[4200], text[32];
	struct stat held, named;
	int fd, n;

	pid_path(o, path, sizeof(path));
	for (int tries = 0;; tries++) {
		if (tries == 100) {
			snprintf(err, errsize, "cannot take the pid file '%s': it is replaced as fast as it is locked",
				 path);
			return -1;
		}
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			snprintf(err, errsize, "cannot open the pid file '%s': %s", path, strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			pid_t pid = running_pid(o);

			snprintf(err, errsize, "snitch runs already (pid %d; pid file '%s')", (int)pid, path);
			close(fd);
			return -1;
		}
		/* a snitch that stopped between our open and our lock unlinked
		 * the file we hold: the lock must be on the file the path names */
		if (fstat(fd, &held) == 0 && stat(path, &named) == 0 &&
		    held.st_dev == named.st_dev && held.st_ino == named.st_ino)
			break;
		close(fd);
	}
	n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)n, 0) != n) {
		snprintf(err, errsize, "cannot write the pid file '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void drop_pid_file(const struct opts *o, int fd)
{
	char path[4200];

	pid_path(o, path, sizeof(path));
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/status.json", o->run_dir);
	(void)unlink(path);
	close(fd);
}

/* ---- set-up shared by run and start ---- */

/* The configuration file into the environment; 0 or an exit status. */
static int read_config(const char *path)
{
	char err[512];

	if (config_load(path, err, sizeof(err)) < 0) {
		log_msg("%s", err);
		return SNITCH_EXIT_USAGE;
	}
	return 0;
}

/* The configuration, written first when create and missing. */
static int load_config(const struct opts *o, bool create)
{
	char err[512];
	int r;

	if (create) {
		r = config_write_default(o->config, o->bin_dir, err, sizeof(err));
		if (r < 0)
			log_msg("cannot write the default configuration (running with the defaults): %s",
				err);
		else if (r == 0)
			log_msg("wrote the default configuration '%s'", o->config);
	}
	return read_config(o->config);
}

/*
 * The configuration for a command any user may run (status, tail, top,
 * tui, web): the file may be root's alone (it can hold secrets, and snitch
 * makes /etc/snitch 0700), and then the defaults do, with a line saying
 * so when say. A file that can be read must be right. 0 or an exit status.
 */
static int load_reader_config(const char *path, bool say)
{
	if (access(path, R_OK) < 0 && errno != ENOENT) {
		if (say)
			log_msg("cannot read '%s': %s (going on with the defaults)", path,
				strerror(errno));
		return 0;
	}
	return read_config(path);
}

/*
 * A directory the stages write to becomes the stage user's, and so do the
 * files in it that root made (a database of an older snitch, which ran
 * every stage as root): not a directory anyone may write to (/tmp), nor
 * another user's.
 */
static void give_dir(const char *dir, const struct passwd *pw)
{
	struct stat st;
	struct dirent *e;
	DIR *d;

	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & S_IWOTH))
		return;
	if (chown(dir, pw->pw_uid, pw->pw_gid) < 0) {
		log_msg("cannot give '%s' to user %s: %s", dir, pw->pw_name, strerror(errno));
		return;
	}
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_uid == 0 && strcmp(e->d_name, "snitch.log"))
			(void)fchownat(dirfd(d), e->d_name, pw->pw_uid, pw->pw_gid,
				       AT_SYMLINK_NOFOLLOW);
	}
	closedir(d);
}

/*
 * The user the stages run as (--user, SNITCH_USER), passed to them in
 * SNITCH_USER: "" when snitch does not run as root, when it is root, or
 * when there is no such user (said; make install and make run make it).
 */
static const struct passwd *stage_user(const struct opts *o)
{
	const struct passwd *pw = NULL;

	if (geteuid() == 0 && *o->user && strcmp(o->user, "root")) {
		errno = 0;
		pw = getpwnam(o->user);
		if (!pw)
			log_msg("no user '%s': the stages run as root, each with only the capabilities it needs (make install makes the user; or set SNITCH_USER=root)",
				o->user);
		else if (!privs_have(CAP_SETUID) || !privs_have(CAP_SETGID)) {
			/* a container given only the stages' own capabilities */
			log_msg("no CAP_SETUID and CAP_SETGID to become user '%s': the stages run as root, each with only the capabilities it needs",
				o->user);
			pw = NULL;
		}
	}
	(void)setenv("SNITCH_USER", pw ? pw->pw_name : "", 1);
	return pw;
}

/* The directories the stages write to, with the configured permissions. */
static int make_dirs(const struct opts *o)
{
	const char *files[] = {
		env_or("SNITCH_DB", "/var/lib/snitch/snitch.db"),
		env_or("SNITCH_STATE", "/var/lib/snitch/state.json"),
	};
	const char *log_dir = env_or("SNITCH_LOG_DIR", "/var/log/snitch");
	struct file_perms p, run = { 0 };
	const struct passwd *pw;
	char err[512];
	int r;

	if (perms_parse(&p, getenv("SNITCH_OWNER"), getenv("SNITCH_GROUP"),
			env_or("SNITCH_MODE", "0640"), err, sizeof(err)) < 0) {
		log_msg("%s (SNITCH_OWNER, SNITCH_GROUP, SNITCH_MODE)", err);
		return SNITCH_EXIT_USAGE;
	}
	for (size_t i = 0; i < 2; i++) {
		if ((r = perms_mkdirs_for(files[i], &p)) < 0) {
			log_msg("cannot make the directory of '%s': %s", files[i], strerror(-r));
			return SNITCH_EXIT_IO;
		}
	}
	/* the run directory is for anyone to read: snitch status */
	run.mode = 0644;
	if ((r = perms_mkdirs(log_dir, &p)) < 0 || (r = perms_mkdirs(o->run_dir, &run)) < 0) {
		log_msg("cannot make '%s' or '%s': %s", log_dir, o->run_dir, strerror(-r));
		return SNITCH_EXIT_IO;
	}
	if ((pw = stage_user(o))) {
		for (size_t i = 0; i < 2; i++) {
			char dir[4096], *slash;

			snprintf(dir, sizeof(dir), "%s", files[i]);
			if ((slash = strrchr(dir, '/')) && slash != dir) {
				*slash = '\0';
				give_dir(dir, pw);
			}
		}
		give_dir(log_dir, pw);
	}
	return 0;
}

static int cmd_run(const struct opts *o, int ready_fd)
{
	char err[4400];
	int fd, ret;

	fd = take_pid_file(o, err, sizeof(err));
	if (fd < 0) {
		log_msg("%s", err);
		if (ready_fd >= 0) {
			unsigned char c = SNITCH_EXIT_PARTIAL;
			(void)!write(ready_fd, &c, 1);
		}
		return SNITCH_EXIT_PARTIAL;
	}
	ret = supervise(o, ready_fd);
	drop_pid_file(o, fd);
	return ret;
}

/* ---- start, stop, status ---- */

static int cmd_start(const struct opts *o)
{
	const char *log_dir = env_or("SNITCH_LOG_DIR", "/var/log/snitch");
	char log_path[4200];
	unsigned char code = 0;
	int ready[2], logfd;
	pid_t pid = running_pid(o), child;

	if (pid) {
		printf("snitch runs already (pid %d)\n", (int)pid);
		return SNITCH_EXIT_OK;
	}
	snprintf(log_path, sizeof(log_path), "%s/snitch.log", log_dir);
	logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (logfd < 0) {
		log_msg("cannot open '%s': %s", log_path, strerror(errno));
		return SNITCH_EXIT_IO;
	}
	if (pipe2(ready, O_CLOEXEC) < 0) {
		log_msg("pipe: %s", strerror(errno));
		return SNITCH_EXIT_SOFTWARE;
	}
	fflush(NULL);
	child = fork();
	if (child < 0) {
		log_msg("fork: %s", strerror(errno));
		return SNITCH_EXIT_SOFTWARE;
	}
	if (child == 0) {
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

		close(ready[0]);
		(void)setsid();
		if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
		    dup2(logfd, STDOUT_FILENO) < 0 || dup2(logfd, STDERR_FILENO) < 0)
			_exit(SNITCH_EXIT_IO);
		close(devnull);
		close(logfd);
		if (sig_setup() < 0)
			_exit(SNITCH_EXIT_SOFTWARE);
		_exit(cmd_run(o, ready[1]));
	}
	close(ready[1]);
	close(logfd);
	for (;;) {
		struct pollfd p = { .fd = ready[0], .events = POLLIN };
		int r = poll(&p, 1, START_WAIT_MS);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			log_msg("snitch (pid %d) did not say it started within %d s; see '%s'",
				(int)child, START_WAIT_MS / 1000, log_path);
			return SNITCH_EXIT_SOFTWARE;
		}
		n = read(ready[0], &code, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1)
			code = SNITCH_EXIT_SOFTWARE;
		break;
	}
	close(ready[0]);
	if (code) {
		log_msg("snitch could not start (status %d); see '%s'", code, log_path);
		return code;
	}
	printf("snitch started (pid %d); its messages go to %s\n", (int)child, log_path);
	return SNITCH_EXIT_OK;
}

static bool lock_free(const struct opts *o)
{
	return running_pid(o) == 0;
}

static int cmd_stop(const struct opts *o)
{
	pid_t pid = running_pid(o);
	uint64_t deadline;

	if (!pid) {
		printf("snitch is not running\n");
		return SNITCH_EXIT_OK;
	}
	if (pid < 0) {
		log_msg("snitch is starting: its pid file has no pid yet; try again");
		return SNITCH_EXIT_PARTIAL;
	}
	if (kill(pid, SIGTERM) < 0) {
		log_msg("cannot stop snitch (pid %d): %s", (int)pid, strerror(errno));
		return errno == EPERM ? SNITCH_EXIT_NOPERM : SNITCH_EXIT_SOFTWARE;
	}
	deadline = clock_mono_ns() + (o->stop_timeout_s + 10) * 1000000000ULL;
	while (!lock_free(o)) {
		struct timespec ts = { 0, 50 * 1000000L };

		if (clock_mono_ns() > deadline) {
			log_msg("snitch (pid %d) did not stop in %" PRIu64 " s", (int)pid,
				o->stop_timeout_s + 10);
			return SNITCH_EXIT_SOFTWARE;
		}
		nanosleep(&ts, NULL);
	}
	printf("snitch stopped (pid %d)\n", (int)pid);
	return SNITCH_EXIT_OK;
}

static void print_age(uint64_t ns)
{
	uint64_t s = ns / 1000000000ULL;

	if (s < 120)
		printf("%" PRIu64 " s", s);
	else if (s < 7200)
		printf("%" PRIu64 " min", s / 60);
	else if (s < 172800)
		printf("%" PRIu64 " h %" PRIu64 " min", s / 3600, s / 60 % 60);
	else
		printf("%" PRIu64 " days", s / 86400);
}

/* The first lines: state, uptime, restarts and errors, and a stale status. */
static void status_header(struct record *r, pid_t pid, uint64_t now)
{
	struct buf state = BUF_INIT;
	uint64_t ts = 0, started = 0, restarts = 0, errors = 0;

	(void)record_get_u64(r, "ts_ns", &ts);
	(void)record_get_u64(r, "started_ns", &started);
	(void)record_get_u64(r, "restarts", &restarts);
	(void)record_get_u64(r, "errors", &errors);
	(void)record_get_str(r, "state", &state);
	printf("snitch is %s: pid %d, up ",
	       state.len == 8 && !memcmp(state.p, "starting", 8) ? "starting (traffic is counted once snitch-trace has attached)" :
	       state.len == 8 && !memcmp(state.p, "stopping", 8) ? "stopping" : "running", (int)pid);
	print_age(now > started ? now - started : 0);
	printf(", %" PRIu64 " restarts of stages, %" PRIu64 " errors\n", restarts, errors);
	if (now > ts + 5000000000ULL) {
		printf("  (this status is ");
		print_age(now - ts);
		printf(" old: the supervisor may be stuck)\n");
	}
	buf_release(&state);
}

/* One line per stage; false if one is down. */
static bool status_stages(struct record *r)
{
	const struct record_member *m = record_find(r, "stages");
	struct buf name = BUF_INIT, last = BUF_INIT;
	bool all_alive = true;
	struct record st;

	record_init(&st);
	printf("\n  %-15s %8s  %-10s %10s %12s\n", "STAGE", "PID", "STATE", "RECORDS/S", "RECORDS");
	for (size_t pos = 0, a, b; m && m->type == JSON_ARRAY &&
	     json_array_next(record_val(r, m), m->val_len, &pos, &a, &b);) {
		uint64_t spid = 0, rate = 0, recs = 0, restart_in = 0;
		const struct record_member *al;
		bool alive;

		if (record_parse(&st, record_val(r, m) + a, b - a, NULL) < 0)
			continue;
		buf_reset(&name);
		buf_reset(&last);
		(void)record_get_str(&st, "name", &name);
		(void)record_get_str(&st, "last_exit", &last);
		(void)record_get_u64(&st, "pid", &spid);
		(void)record_get_u64(&st, "records_per_s", &rate);
		(void)record_get_u64(&st, "records", &recs);
		(void)record_get_u64(&st, "restart_in_ms", &restart_in);
		al = record_find(&st, "alive");
		alive = al && al->type == JSON_TRUE;
		all_alive &= alive;
		printf("  %-15.*s %8" PRIu64 "  %-10s %10" PRIu64 " %12" PRIu64, (int)name.len,
		       name.p ? name.p : "", spid, alive ? "running" : "down", rate, recs);
		if (!alive && restart_in)
			printf("  restarts in %.1f s", (double)restart_in / 1000);
		if (last.len)
			printf("  (last: %.*s)", (int)last.len, last.p);
		putchar('\n');
	}
	record_release(&st);
	buf_release(&name);
	buf_release(&last);
	return all_alive;
}

/* What was lost, by reason, and the live feed's readers. */
static void status_lost_and_feed(struct record *r)
{
	const struct record_member *m = record_find(r, "lost");
	struct buf name = BUF_INIT;
	struct record st;

	record_init(&st);
	if (m && m->type == JSON_OBJECT && record_parse(&st, record_val(r, m), m->val_len, NULL) == 0) {
		printf("\n  lost records: %s\n", st.n ? "" : "none");
		for (size_t i = 0; i < st.n; i++) {
			buf_reset(&name);
			if (buf_reserve(&name, st.m[i].key_len + 1) < 0)
				break;
			name.len = json_unescape(st.line + st.m[i].key_off, st.m[i].key_len, name.p);
			printf("    %-40.*s %12.*s\n", (int)name.len, name.p, (int)st.m[i].val_len,
			       record_val(&st, &st.m[i]));
		}
	}
	m = record_find(r, "feed");
	if (m && m->type == JSON_OBJECT && record_parse(&st, record_val(r, m), m->val_len, NULL) == 0) {
		uint64_t readers = 0, missed = 0;

		buf_reset(&name);
		(void)record_get_str(&st, "socket", &name);
		(void)record_get_u64(&st, "readers", &readers);
		(void)record_get_u64(&st, "missed", &missed);
		printf("\n  live feed: %.*s, %" PRIu64 " reader%s now, %" PRIu64
		       " records missed by slow readers\n", (int)name.len, name.p ? name.p : "",
		       readers, readers == 1 ? "" : "s", missed);
	}
	record_release(&st);
	buf_release(&name);
}

static int cmd_status(const struct opts *o)
{
	char path[4200], chunk[8192];
	struct buf text = BUF_INIT;
	pid_t pid = running_pid(o);
	struct record r;
	ssize_t n;
	int fd, ret = SNITCH_EXIT_OK;

	if (!pid) {
		if (o->json)
			printf("{\"v\":1,\"type\":\"status\",\"state\":\"stopped\"}\n");
		else
			printf("snitch is not running (no live pid file '%s/snitch.pid')\n",
			       o->run_dir);
		return SNITCH_EXIT_UNAVAILABLE;
	}
	snprintf(path, sizeof(path), "%s/status.json", o->run_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("snitch is starting (pid %d): no status yet\n", (int)pid);
		return SNITCH_EXIT_PARTIAL;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&text, chunk, (size_t)n);
	close(fd);
	if (o->json) {
		fwrite(text.p, 1, text.len, stdout);
		buf_release(&text);
		return SNITCH_EXIT_OK;
	}
	record_init(&r);
	while (text.len && text.p[text.len - 1] == '\n')
		text.len--;
	if (!text.p || record_parse(&r, text.p, text.len, NULL) < 0) {
		log_msg("'%s' is not valid JSON", path);
		ret = SNITCH_EXIT_SOFTWARE;
	} else {
		status_header(&r, pid, clock_real_ns());
		if (!status_stages(&r))
			ret = SNITCH_EXIT_PARTIAL;
		status_lost_and_feed(&r);
	}
	record_release(&r);
	buf_release(&text);
	return ret;
}

/* ---- the systemd unit ---- */

/*
 * ProtectSystem=strict leaves only the unit's own directories writable;
 * data moved elsewhere in the configuration needs a ReadWritePaths=.
 * KEY names a file (its directory is added) or, with is_dir, a directory.
 */
static void add_rw_path(struct buf *b, const char *key, bool is_dir)
{
	static const char *const own[] = { "/var/lib/snitch", "/var/log/snitch",
					   "/run/snitch", "/var/cache/snitch", "/etc/snitch" };
	const char *v = getenv(key), *end;
	size_t len;

	if (!v || *v != '/')
		return;
	end = is_dir ? v + strlen(v) : strrchr(v, '/');
	len = (size_t)(end - v);
	while (len > 1 && v[len - 1] == '/')
		len--;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		size_t n = strlen(own[i]);

		if (len >= n && !strncmp(v, own[i], n) && (len == n || v[n] == '/'))
			return;
	}
	if (!len)
		len = 1;
	for (const char *t = b->p, *e = b->p + b->len; t && t < e;) {
		const char *sp = memchr(t, ' ', (size_t)(e - t));
		size_t tl = (size_t)((sp ? sp : e) - t);

		if (tl == len + 1 && !memcmp(t + 1, v, len))
			return;		/* there already */
		t = sp ? sp + 1 : e;
	}
	buf_puts(b, b->len ? " -" : "-");
	buf_append(b, v, len);
}

/*
 * The unit's template, systemd/snitch.service.in, embedded by the Makefile
 * (build/snitch.service.h, one string): make install fills it with the
 * installed paths, snitch systemd with its own and the configured data's.
 */
static const char unit_template[] =
#include "snitch.service.h"
	;

struct unit_var {
	const char *name;
	const char *value;	/* NULL: the line is left out */
};

/*
 * The template with each @NAME@ replaced by its value, as make install's
 * sed does; a line holding a placeholder without a value is left out (the
 * ReadWritePaths= line when no data is kept elsewhere). An '@' that does
 * not open a known name stays (@clock, @debug).
 */
static void unit_fill(struct buf *out, const struct unit_var *vars, size_t nvars)
{
	for (const char *line = unit_template, *next; *line; line = next) {
		size_t start = out->len;
		const char *p = line;

		next = strchrnul(line, '\n');
		if (*next)
			next++;
		while (p < next) {
			const char *at = memchr(p, '@', (size_t)(next - p)), *end;
			const struct unit_var *v = NULL;

			if (!at) {
				buf_append(out, p, (size_t)(next - p));
				break;
			}
			buf_append(out, p, (size_t)(at - p));
			end = memchr(at + 1, '@', (size_t)(next - at - 1));
			for (size_t i = 0; end && !v && i < nvars; i++)
				if (strlen(vars[i].name) == (size_t)(end - at - 1) &&
				    !memcmp(vars[i].name, at + 1, (size_t)(end - at - 1)))
					v = &vars[i];
			if (!v) {
				buf_putc(out, '@');
				p = at + 1;
			} else if (!v->value) {
				out->len = start;
				break;
			} else {
				buf_puts(out, v->value);
				p = end + 1;
			}
		}
	}
}

/*
 * The unit's Documentation=: in a build tree (bin/, or build/san/bin/ for
 * make test SANITIZE=1) its README (no manual page to verify); installed,
 * as make install writes it.
 */
static void unit_doc(char *doc, size_t size)
{
	snprintf(doc, size, "%s/../README.md", self_dir);
	if (access(doc, R_OK) == 0)
		snprintf(doc, size, "file://%s/../README.md", self_dir);
	else if (snprintf(doc, size, "%s/../../../README.md", self_dir) > 0 && access(doc, R_OK) == 0)
		snprintf(doc, size, "file://%s/../../../README.md", self_dir);
	else
		snprintf(doc, size, "man:snitch(1) file://%s/../share/doc/snitch/README.md", self_dir);
}

/* The unit to path, or to standard output for "-": 0, or -1 with errno set. */
static int unit_write(const char *path, const struct buf *unit)
{
	bool out = !strcmp(path, "-");
	FILE *f = out ? stdout : fopen(path, "we");
	int e;

	if (!f)
		return -1;
	if (fwrite(unit->p, 1, unit->len, f) != unit->len) {
		e = errno;
		if (!out)
			fclose(f);
		errno = e;
		return -1;
	}
	return (out ? fflush(f) : fclose(f)) != 0 ? -1 : 0;
}

/*
 * ReadWritePaths= needs the data directories to exist when the service
 * starts; and the service, the user snitch, cannot write the
 * configuration: both made now, as root.
 */
static void unit_prepare(const struct opts *o)
{
	const struct passwd *pw;
	char err[4400];

	(void)make_dirs(o);
	/* the unit's supervisor is the user too: a run directory of its own */
	if (strcmp(o->run_dir, "/run/snitch") && (pw = stage_user(o)))
		give_dir(o->run_dir, pw);
	if (config_write_default(o->config, o->bin_dir, err, sizeof(err)) < 0)
		log_msg("cannot write the default configuration: %s", err);
}

static int cmd_systemd(const struct opts *o)
{
	char option[PATH_MAX + 16] = "", doc[PATH_MAX + 64], timeout[24], writer[PATH_MAX + 16];
	struct buf rw = BUF_INIT, unit = BUF_INIT;
	struct unit_var vars[] = {
		{ "WRITER", writer },
		{ "DOCUMENTATION", doc },
		{ "CONFIG", o->config },
		{ "BINDIR", self_dir },
		{ "CONFIG_OPTION", option },
		{ "TIMEOUT_STOP_SEC", timeout },
		{ "READ_WRITE_PATHS", NULL },
	};
	int ret = SNITCH_EXIT_OK;

	add_rw_path(&rw, "SNITCH_DB", false);
	add_rw_path(&rw, "SNITCH_STATE", false);
	add_rw_path(&rw, "SNITCH_SPOOL", false);
	add_rw_path(&rw, "SNITCH_CSV", false);
	add_rw_path(&rw, "SNITCH_LOG_DIR", true);
	add_rw_path(&rw, "SNITCH_RUN_DIR", true);
	buf_putc(&rw, '\0');
	if (rw.len > 1 && !rw.oom)
		vars[sizeof(vars) / sizeof(vars[0]) - 1].value = rw.p;
	if (strcmp(o->config, DEFAULT_CONFIG))
		snprintf(option, sizeof(option), " --config %s", o->config);
	unit_doc(doc, sizeof(doc));
	snprintf(timeout, sizeof(timeout), "%" PRIu64, o->stop_timeout_s + 10);
	snprintf(writer, sizeof(writer), "'%s systemd'", self_path);
	unit_fill(&unit, vars, sizeof(vars) / sizeof(vars[0]));
	if (rw.oom || unit.oom)
		errno = ENOMEM;
	if (rw.oom || unit.oom || unit_write(o->unit, &unit) < 0) {
		log_msg("cannot write '%s': %s", o->unit, strerror(errno));
		ret = SNITCH_EXIT_IO;
	} else if (strcmp(o->unit, "-")) {
		if (geteuid() == 0)
			unit_prepare(o);
		fprintf(stderr, "snitch: wrote '%s'; enable it with:\n"
			"  systemctl daemon-reload && systemctl enable --now snitch\n", o->unit);
	}
	buf_release(&rw);
	buf_release(&unit);
	return ret;
}

/* The live feed's socket: the option, else in the run directory. */
static char events_sock_buf[4200];

static void set_events_sock(struct opts *o)
{
	if (o->events_sock && *o->events_sock && o->events_sock != events_sock_buf)
		return;
	feed_sock_path(events_sock_buf, sizeof(events_sock_buf), o->run_dir, NULL);
	o->events_sock = events_sock_buf;
}

/*
 * The index of the command word: the first operand, past the options
 * (and the values of those that take one).
 */
static int find_command(int argc, char **argv)
{
	static const char *const with_value[] = { "-c", "--config", "--run-dir", "--bin-dir",
		"--stop-timeout-s", "--unit", "--events-sock", "--events-queue-kb" };
	int i;

	for (i = 1; i < argc; i++) {
		bool skip = false;

		if (!strcmp(argv[i], "--"))
			return i + 1;
		if (argv[i][0] != '-' || !argv[i][1])
			return i;
		for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
			skip |= !strcmp(argv[i], with_value[k]);
		if (skip)
			i++;
	}
	return i;
}

/*
 * snitch tail, top and tui: the options before the command are
 * snitch's (the configuration, the run directory), those after it the
 * viewer's. top and tui are programs of their own, snitch-top and
 * snitch-tui, beside snitch: the supervisor does not link a terminal
 * library.
 */
static int run_viewer(const struct cli *cli, struct opts *o, int sub, int argc, char **argv)
{
	char path[PATH_MAX + 16];
	int first, ret;

	ret = cli_parse(cli, sub, argv, &first);
	if (ret >= 0)
		return ret;
	if (first < sub)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[first]);
	/* a member of the group snitch reads the feed at its default place */
	if ((ret = load_reader_config(o->config, false)) != 0)
		return ret;
	ret = cli_parse(cli, sub, argv, &first);
	if (ret >= 0)
		return ret;
	if (o->events_sock && *o->events_sock)
		setenv("SNITCH_EVENTS_SOCK", o->events_sock, 1);
	if (!strcmp(argv[sub], "tail"))
		return cmd_tail(o, argc - sub, argv + sub);
	snprintf(path, sizeof(path), "%s/snitch-%s", o->bin_dir ? o->bin_dir : self_dir,
		 !strcmp(argv[sub], "tui") ? "tui" : "top");
	setenv("SNITCH_RUN_DIR", o->run_dir, 1);
	if (o->config)
		setenv("SNITCH_CONF", o->config, 1);
	argv[sub] = path;
	execv(path, argv + sub);
	log_msg("cannot run '%s': %s", path, strerror(errno));
	return errno == ENOENT ? SNITCH_EXIT_UNAVAILABLE : SNITCH_EXIT_NOPERM;
}

/*
 * snitch web [OPTION]...: snitch-web, from $SNITCH_BIN_DIR or beside
 * snitch, with the same options and the settings of the configuration
 * file ($SNITCH_CONF or /etc/snitch/snitch.conf: SNITCH_DB,
 * SNITCH_WEB_LISTEN...; the environment and the options win). It takes no
 * root (snitch-web refuses it), so it is handed over at once.
 */
static int cmd_web(int argc, char **argv)
{
	const char *dir = getenv("SNITCH_BIN_DIR"), *conf = getenv("SNITCH_CONF");
	char path[PATH_MAX + 16];
	int ret;

	if ((ret = load_reader_config(conf && *conf ? conf : DEFAULT_CONFIG, true)) != 0)
		return ret;

	if (!dir || !*dir)
		dir = self_dir;
	snprintf(path, sizeof(path), "%s/snitch-web", dir);
	argv[0] = path;
	(void)argc;
	execv(path, argv);
	log_msg("cannot run '%s': %s", path, strerror(errno));
	return errno == ENOENT ? SNITCH_EXIT_UNAVAILABLE : SNITCH_EXIT_SOFTWARE;
}

static const int exit_codes[] = {
	SNITCH_EXIT_OK, SNITCH_EXIT_PARTIAL, SNITCH_EXIT_USAGE, SNITCH_EXIT_NOPERM,
	SNITCH_EXIT_UNAVAILABLE, SNITCH_EXIT_IO, SNITCH_EXIT_SOFTWARE, -1,
};

/* snitch config: the default configuration, every setting commented. */
static int cmd_config(const struct opts *o)
{
	struct buf text = BUF_INIT;
	char err[512];
	int ret;

	if (config_default_text(o->bin_dir, &text, err, sizeof(err)) < 0) {
		log_msg("%s", err);
		return SNITCH_EXIT_SOFTWARE;
	}
	ret = fwrite(text.p, 1, text.len, stdout) == text.len && fflush(stdout) == 0 ?
	      SNITCH_EXIT_OK : SNITCH_EXIT_IO;
	buf_release(&text);
	return ret;
}

/*
 * The configuration file's settings, then the options again (they may
 * name the file's keys); for a command that runs snitch, its directories
 * made. -1, or an exit status.
 */
static int settings(const struct cli *cli, struct opts *o, const char *cmd, int argc, char **argv)
{
	bool runs = !strcmp(cmd, "run") || !strcmp(cmd, "start") || !strcmp(cmd, "restart");
	int ret, first;

	set_events_sock(o);
	ret = strcmp(cmd, "status") ? load_config(o, runs) : load_reader_config(o->config, true);
	if (ret != 0)
		return ret;
	if ((ret = cli_parse(cli, argc, argv, &first)) >= 0)
		return ret;
	if (!runs)
		return -1;
	set_events_sock(o);
	ret = make_dirs(o);
	return ret ? ret : -1;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.config = DEFAULT_CONFIG,
		.run_dir = "/run/snitch",
		.unit = DEFAULT_UNIT,
		.stop_timeout_s = SNITCH_STOP_TIMEOUT_S,
		.events_queue_kb = 4096,
		.user = "snitch",
	};
	const struct cli_opt opts[] = {
		{ .name = "config", .short_name = 'c', .type = CLI_STRING, .value = &o.config,
		  .metavar = "FILE", .env = "SNITCH_CONF",
		  .help = "the configuration file (run and start write it, commented, when missing)" },
		{ .name = "run-dir", .type = CLI_STRING, .value = &o.run_dir, .metavar = "DIR",
		  .env = "SNITCH_RUN_DIR", .help = "where the pid file and status.json are" },
		{ .name = "bin-dir", .type = CLI_STRING, .value = &o.bin_dir, .metavar = "DIR",
		  .env = "SNITCH_BIN_DIR", .help = "where the stage tools are (default: beside snitch)" },
		{ .name = "stop-timeout-s", .type = CLI_UINT, .value = &o.stop_timeout_s,
		  .metavar = "S", .env = "SNITCH_STOP_TIMEOUT_S", .min = 1, .max = 3600,
		  .help = "when stopping, kill a stage that has not exited after S seconds" },
		{ .name = "unit", .type = CLI_STRING, .value = &o.unit, .metavar = "FILE",
		  .help = "systemd: where to write the unit ('-': standard output)" },
		{ .name = "json", .type = CLI_FLAG, .value = &o.json,
		  .help = "status: print status.json as it is" },
		{ .name = "events-sock", .type = CLI_STRING, .value = &o.events_sock, .metavar = "PATH",
		  .env = "SNITCH_EVENTS_SOCK",
		  .help = "the live feed's socket (default: RUN_DIR/events.sock)" },
		{ .name = "events-queue-kb", .type = CLI_UINT, .value = &o.events_queue_kb,
		  .metavar = "KB", .env = "SNITCH_EVENTS_QUEUE_KB", .min = 16, .max = 1048576,
		  .help = "what the live feed holds for a slow reader before it misses records" },
		{ .name = "user", .type = CLI_STRING, .value = &o.user, .metavar = "NAME",
		  .env = "SNITCH_USER",
		  .help = "the stages run as this user, each with only the capabilities it needs "
			  "(docs/security.md; root: root's uid, still only those capabilities)" },
	};
	const struct cli cli = {
		.prog = PROG,
		.usage = "[OPTION]... run|start|stop|restart|status|systemd|config|help\n"
			 "[OPTION]... tail [--type TYPE]... [--where FIELD=VALUE]...\n"
			 "[OPTION]... top [--start]\n"
			 "[OPTION]... tui [--range R] [--db FILE]\n"
			 "web [SNITCH-WEB-OPTION]...",
		.summary =
			"Run the monitor: snitch-trace | snitch-resolve | snitch-hash | snitch-store --tee\n"
			"| snitch-notify (with snitch-vt before snitch-store when SNITCH_VT_API_KEY_FILE\n"
			"or SNITCH_VT_API_KEY is set, snitch-store --emit-rows | snitch-remote --tee\n"
			"before snitch-notify when SNITCH_REMOTE is set, and snitch-metrics --tee when\n"
			"SNITCH_METRICS_LISTEN is set), each stage supervised. A stage that dies is restarted at once\n"
			"(backing off to 30 s if it keeps dying), alone: the others keep running and\n"
			"nothing they hold is lost; the failure goes to error.log and the desktop.\n"
			"Settings come from the configuration file, KEY=value lines that are also a\n"
			"systemd EnvironmentFile (the environment wins over it).\n"
			"\n"
			"Commands:\n"
			"  run      run in the foreground; Ctrl-C or SIGTERM stops it cleanly\n"
			"  start    run in the background; messages go to $SNITCH_LOG_DIR/snitch.log\n"
			"  stop     stop it, waiting until every stage has flushed and exited\n"
			"  restart  stop, then start\n"
			"  status   whether it runs; each stage's pid, records per second and losses\n"
			"           (exit 0: all stages up, 1: a stage is down, 4: not running)\n"
			"  systemd  write a hardened systemd unit that runs 'snitch run'\n"
			"  config   print the default configuration: every setting, commented\n"
			"  tail     print the live feed, the records reaching the last stage, as\n"
			"           NDJSON ('snitch tail --help'); root or the group snitch\n"
			"  top      per-executable traffic and recent connections, live, in the\n"
			"           terminal ('snitch top --help')\n"
			"  web      serve the log to a browser (snitch-web, its options after 'web';\n"
			"           not as root: run it as yourself)\n"
			"  tui      browse the connection log in the terminal: grouped, filtered,\n"
			"           by time range ('snitch tui --help'); any reader of the database\n"
			"  help     show this help",
		.examples =
			"  sudo snitch run\n"
			"  sudo snitch start && snitch status\n"
			"  sudo snitch tail --type flow | jq -c '{name, raddr, send_bytes}'\n"
			"  sudo snitch top\n"
			"  snitch web    # then open http://localhost:5100/\n"
			"  snitch tui                       # as a member of the database's group\n"
			"  sudo snitch systemd && sudo systemctl enable --now snitch\n"
			"  SNITCH_DB=/tmp/t.db SNITCH_LOG_DIR=/tmp/logs sudo -E snitch run --config /dev/null\n",
		.opts = opts,
		.nopts = sizeof(opts) / sizeof(opts[0]),
		.exit_codes = exit_codes,
	};
	const char *cmd;
	int first, ret, sub;

	log_init(PROG);
	/* where the other tools are: beside this one */
	if (self_exe(self_path, self_dir) < 0)
		return SNITCH_EXIT_SOFTWARE;
	/* tail and top have options of their own, after the command */
	sub = find_command(argc, argv);
	if (sub < argc && (!strcmp(argv[sub], "tail") || !strcmp(argv[sub], "top") ||
			   !strcmp(argv[sub], "tui")))
		return run_viewer(&cli, &o, sub, argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "web"))
		return cmd_web(argc - 1, argv + 1);
	ret = cli_parse(&cli, argc, argv, &first);
	if (ret >= 0)
		return ret;
	if (first >= argc)
		return cli_usage_error(&cli, "no command: expected run, start, stop, restart, status, systemd, config, web or help");
	if (first + 1 < argc)
		return cli_usage_error(&cli, "unexpected argument '%s'", argv[first + 1]);
	cmd = argv[first];
	if (!strcmp(cmd, "help")) {
		cli_help(&cli);
		return SNITCH_EXIT_OK;
	}
	if (strcmp(cmd, "run") && strcmp(cmd, "start") && strcmp(cmd, "stop") &&
	    strcmp(cmd, "restart") && strcmp(cmd, "status") && strcmp(cmd, "systemd") &&
	    strcmp(cmd, "config"))
		return cli_usage_error(&cli, "unknown command '%s'", cmd);

	if (!o.bin_dir)
		o.bin_dir = self_dir;
	if (!strcmp(cmd, "config"))
		return cmd_config(&o);
	if ((ret = settings(&cli, &o, cmd, argc, argv)) >= 0)
		return ret;
	if (!strcmp(cmd, "systemd"))
		return cmd_systemd(&o);
	if (!strcmp(cmd, "status"))
		return cmd_status(&o);
	if (!strcmp(cmd, "stop"))
		return cmd_stop(&o);
	if (!strcmp(cmd, "restart")) {
		ret = cmd_stop(&o);
		return ret ? ret : cmd_start(&o);
	}
	if (!strcmp(cmd, "start"))
		return cmd_start(&o);
	if (sig_setup() < 0) {
		log_msg("cannot set up signal handling");
		return SNITCH_EXIT_SOFTWARE;
	}
	return cmd_run(&o, -1);
}
