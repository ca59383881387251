/* SPDX-License-Identifier: MIT */
/*
 * What a process is: its executable's path in its own mount namespace, its
 * name, its command line, its user. Read from /proc once per process,
 * keyed by (pid, start time), so that records of a process that has since
 * exited still resolve, and a reused pid is never taken for another.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmdline.h"
#include "fdio.h"
#include "fileid.h"
#include "json.h"
#include "resolve.h"

/* /proc/PID/stat has the start in clock ticks: 10 ms here; allow three. */
#define START_SLACK_NS (30ULL * 1000 * 1000)
/* executables' paths remembered; beyond, the ones known are kept */
#define PATHS_MAX 65536
/* the bytes of a proc_facts that are its key: start_ns, then pid */
#define PROC_KEY_LEN (offsetof(struct proc_facts, pid) + sizeof(uint32_t) - \
		      offsetof(struct proc_facts, start_ns))

/* Where render() writes, before the blocks get an allocation of their size. */
static struct buf render_tmp;

/* An executable's identity, the key of the path cache. */
struct path_key {
	uint64_t dev, ino;
};

struct path_ent {
	struct path_key key;
	char *path;
	UT_hash_handle hh;
};

struct procs {
	const struct resolve_opts *o;
	struct proc_facts *tab;		/* by (start_ns, pid) */
	struct lru lru;			/* the same entries, oldest first */
	uint64_t boot_to_real;
	uint64_t ns_per_tick;
	struct path_ent *paths;		/* by (dev, ino) */
	char *scratch;			/* --cmdline-max + 1 bytes, for read_cmdline() */
};

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct procs *procs_new(const struct resolve_opts *o)
{
	struct procs *p = calloc(1, sizeof(*p));
	long hz = sysconf(_SC_CLK_TCK);

	if (!p)
		return NULL;
	p->o = o;
	lru_init(&p->lru);
	/* the same offset snitch-trace uses for start times */
	p->boot_to_real = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME);
	p->ns_per_tick = 1000000000ULL / (uint64_t)(hz > 0 ? hz : 100);
	return p;
}

static void facts_free(struct proc_facts *f)
{
	free(f->exe_path);
	free(f->fileless_path);
	free(f->name_exe);
	free(f->script_path);
	free(f->appimage);
	free(f->name);
	free(f->cmdline);
	free(f->blocks);
	free(f);
}

void procs_free(struct procs *p)
{
	struct proc_facts *f, *fn;
	struct path_ent *e, *en;

	if (!p)
		return;
	HASH_ITER(hh, p->tab, f, fn) {
		HASH_DEL(p->tab, f);
		facts_free(f);
	}
	HASH_ITER(hh, p->paths, e, en) {
		HASH_DEL(p->paths, e);
		free(e->path);
		free(e);
	}
	buf_release(&render_tmp);
	free(p->scratch);
	free(p);
}

static void drop(struct procs *p, struct proc_facts *f);

static void evict(struct procs *p)
{
	struct lru_node *n;

	while (HASH_COUNT(p->tab) > p->o->cache_size && (n = lru_oldest(&p->lru)))
		drop(p, lru_entry(n, struct proc_facts, lru));
}

/* ---- the inode -> path cache ---- */

static struct path_ent *path_find(struct procs *p, uint64_t dev, uint64_t ino)
{
	struct path_key k = { .dev = dev, .ino = ino };
	struct path_ent *e;

	HASH_FIND(hh, p->paths, &k, sizeof(k), e);
	return e;
}

const char *procs_path_of(struct procs *p, uint64_t dev, uint64_t ino)
{
	struct path_ent *e = path_find(p, dev, ino);

	return e ? e->path : NULL;
}

static void remember_path(struct procs *p, uint64_t dev, uint64_t ino,
			  const char *path)
{
	struct path_ent *e = path_find(p, dev, ino);

	if (e) {
		if (strcmp(e->path, path)) {
			char *c = strdup(path);
			if (c) {
				free(e->path);
				e->path = c;
			}
		}
		return;
	}
	if (HASH_COUNT(p->paths) >= PATHS_MAX)
		return;		/* full enough: keep what is there */
	e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path))) {
		free(e);
		return;
	}
	e->key.dev = dev;
	e->key.ino = ino;
	HASH_ADD(hh, p->paths, key, sizeof(e->key), e);
	if (!table_added(e, hh)) {
		free(e->path);
		free(e);
	}
}

void procs_learn_path(struct procs *p, uint64_t dev, uint64_t ino, const char *path)
{
	remember_path(p, dev, ino, path);
}

/* ---- reading /proc ---- */

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read_full(fd, buf, size);
	close(fd);
	return n < 0 ? 0 : n;	/* opened, then nothing to read: empty */
}

/* Field 22 of /proc/PID/stat, as realtime ns; 0 if it cannot be read. */
static uint64_t proc_start(struct procs *p, const char *dir)
{
	char path[64], line[1024], *rp;
	unsigned long long ticks = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stat", dir);
	n = read_file(path, line, sizeof(line) - 1);
	if (n <= 0)
		return 0;
	line[n] = '\0';
	rp = strrchr(line, ')');	/* the name may hold spaces and ')' */
	if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			  &ticks) != 1)
		return 0;
	return ticks * p->ns_per_tick + p->boot_to_real;
}

static bool read_uid(const char *dir, uint32_t *uid)
{
	char path[64], text[4096], *u;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/status", dir);
	n = read_file(path, text, sizeof(text) - 1);
	if (n <= 0)
		return false;
	text[n] = '\0';
	u = strstr(text, "\nUid:");
	return u && sscanf(u + 5, "%u", uid) == 1;
}

/*
 * The part of an exe link's text that is the path inside the process's
 * own root. The kernel writes both links (exe and root) relative to the
 * reader's root when it can reach them from there, and otherwise - the
 * process is in another mount namespace, and our root is not the root of
 * ours (snitch in a chroot or a container, the process in a container
 * of its own) - from the root of the process's mount namespace, which
 * then holds the process's root as a prefix: /var/tmp/x/root/tmp/prog
 * for /tmp/prog in a process whose root is /var/tmp/x/root. That prefix
 * is cut. A process whose executable lies outside its root (it chrooted
 * after exec) keeps the text as read; the check in its root then fails.
 */
static const char *inside_root(const char *dir, const char *target)
{
	char link[64], root[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "%s/root", dir);
	n = readlink(link, root, sizeof(root) - 1);
	if (n <= 1 || root[0] != '/')
		return target;		/* "/" or unreadable: nothing to cut */
	root[n] = '\0';
	if (strncmp(target, root, (size_t)n) || target[n] != '/')
		return target;
	return target + n;
}

/* path and suffix, in buf */
static const char *link_text(const char *path, const char *suffix, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s", path, suffix);
	return buf;
}

/*
 * The executable's path as the process sees it, checked: the path, looked
 * up in the process's own root, must still name a file whose identity we
 * record (the caller compares it with the kernel's).
 */
static void read_exe(struct proc_facts *f, const char *dir)
{
	char link[64], buf[PATH_MAX], full[PATH_MAX + 64];
	static const char deleted[] = " (deleted)";
	const char *target;
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(link, sizeof(link), "%s/exe", dir);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* the running image, whatever its path says now */
	if (stat(link, &st) == 0) {
		f->have_run = true;
		f->run_dev = (uint64_t)st.st_dev;
		f->run_ino = (uint64_t)st.st_ino;
	}
	/* a replaced or removed executable: the path may now name another
	 * file, or none; the check below tells which */
	if ((size_t)n > sizeof(deleted) - 1 &&
	    !strcmp(buf + n - (sizeof(deleted) - 1), deleted)) {
		buf[n - (sizeof(deleted) - 1)] = '\0';
		f->exe_deleted = true;
	}
	/*
	 * A program run from a memfd (runc runs itself so; fexecve of an
	 * unlinked copy) has no path: the link names the memfd
	 * ("/memfd:NAME (deleted)"), which is its name.
	 */
	if (!strncmp(buf, "/memfd:", 7)) {
		f->fileless_path = strdup(link_text(buf, deleted, full, sizeof(full)));
		return;
	}
	target = inside_root(dir, buf);
	f->exe_path = strdup(target);
	if (f->exe_deleted)
		f->fileless_path = strdup(link_text(target, deleted, full, sizeof(full)));
	snprintf(full, sizeof(full), "%s/root%s", dir, target);
	fd = open(full, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		f->have_exe = true;
		f->exe_dev = (uint64_t)st.st_dev;
		f->exe_ino = (uint64_t)st.st_ino;
		/* btrfs: records are then compared by inode only */
		f->exe_btrfs = fileid_on_btrfs(fd);
	}
	close(fd);
}

/*
 * Read into the cache's scratch buffer, kept from one process to the next,
 * then copied to an allocation of its own size: the cache keeps command
 * lines for up to --cache-size processes, and a buffer of --cmdline-max
 * bytes each grew snitch-resolve by 13.2 MB per 1,000 processes
 * (docs/performance.md, memory footprint). Cutting such a buffer down to
 * fit instead (realloc) left a free remainder after every command line,
 * which the next long-lived allocations were scattered into: the heap
 * grew past twice what it held as processes came and went (bench/soak.sh,
 * docs/reliability.md).
 */
static void read_cmdline(struct procs *p, struct proc_facts *f, const char *dir)
{
	size_t max = p->o->cmdline_max;
	char path[64];
	ssize_t n;

	if (!p->scratch && !(p->scratch = malloc(max + 1)))
		return;
	snprintf(path, sizeof(path), "%s/cmdline", dir);
	n = read_file(path, p->scratch, max + 1);
	if (n < 0)
		return;
	if ((size_t)n > max) {
		n = (ssize_t)max;
		f->cmdline_cut = true;
	}
	while (n > 0 && p->scratch[n - 1] == '\0')
		n--;			/* the terminator of the last argument */
	if (!(f->cmdline = malloc((size_t)n + 1))) {
		f->cmdline_cut = false;
		return;
	}
	memcpy(f->cmdline, p->scratch, (size_t)n);
	f->cmdline[n] = '\0';
	f->have_cmdline = true;		/* empty for kernel threads and zombies */
	f->cmdline_len = (size_t)n;
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/*
 * The kernel keeps 15 bytes of a name: when comm is cut, the name of the
 * program (argv[0] or the executable) it is the start of is the real one.
 */
static char *full_name(const struct proc_facts *f, const char *comm, size_t len)
{
	if (len == 15) {
		const char *cands[2] = {
			f->have_cmdline && f->cmdline_len ? base(f->cmdline) : NULL,
			f->exe_path ? base(f->exe_path) : NULL,
		};
		for (int i = 0; i < 2; i++)
			if (cands[i] && strlen(cands[i]) > len &&
			    !strncmp(cands[i], comm, len) && !strchr(cands[i], ' '))
				return strdup(cands[i]);
	}
	return strndup(comm, len);
}

/* Where a name that is a command is looked up, in the process's root. */
static const char *const command_dirs[] = {
	"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
};

/* Does the file begin with "#!": a script, run by an interpreter? */
static bool is_script(const char *path)
{
	char head[2];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	bool yes;

	if (fd < 0)
		return false;
	yes = read(fd, head, 2) == 2 && head[0] == '#' && head[1] == '!';
	close(fd);
	return yes;
}

/*
 * The path of the executable a process's name names, in the command
 * directories of its root, if that is not the executable it runs: a
 * program calling itself "sshd" (prctl(PR_SET_NAME), or argv[0]) to look
 * like it. Its own executable under another name (a link) is no disguise,
 * nor is a script's name: an interpreter running a script takes it.
 */
static char *other_exe(const struct proc_facts *f, const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    !f->have_run || (f->exe_path && !strcmp(base(f->exe_path), name)))
		return NULL;
	for (size_t i = 0; i < sizeof(command_dirs) / sizeof(command_dirs[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/root%s/%s", dir, command_dirs[i], name) >=
		    (int)sizeof(path))
			continue;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
			continue;
		if ((uint64_t)st.st_dev == f->run_dev && (uint64_t)st.st_ino == f->run_ino)
			return NULL;
		if (is_script(path))
			return NULL;
		snprintf(path, sizeof(path), "%s/%s", command_dirs[i], name);
		return strdup(path);
	}
	return NULL;
}

/* A disguise: the name first, then argv[0]'s last part. */
static void read_name_exe(struct proc_facts *f, const char *dir)
{
	f->name_exe = other_exe(f, dir, f->name);
	if (!f->name_exe && f->have_cmdline && f->cmdline_len &&
	    (!f->name || strcmp(base(f->cmdline), f->name)))
		f->name_exe = other_exe(f, dir, base(f->cmdline));
}

/* Programs that run a script named in their arguments: the executable's
 * name without its version ("python3.11" is a "python") */
static const char *const interpreters[] = {
	"python", "perl", "ruby", "node", "nodejs", "php", "lua", "luajit", "tclsh", "wish",
	"Rscript", "pwsh", "sh", "bash", "dash", "zsh", "ksh", "mksh", "fish", "csh", "tcsh",
};

static bool is_interpreter(const char *name)
{
	size_t n = strlen(name);

	while (n && ((name[n - 1] >= '0' && name[n - 1] <= '9') || name[n - 1] == '.'))
		n--;
	for (size_t i = 0; i < sizeof(interpreters) / sizeof(interpreters[0]); i++)
		if (strlen(interpreters[i]) == n && !strncmp(name, interpreters[i], n))
			return true;
	return false;
}

/* Options after which the program's text is an argument, not a file. */
static bool is_inline_code(const char *arg)
{
	static const char *const opts[] = { "-c", "-e", "-E", "-m", "-r", "--eval", "--command" };

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strcmp(arg, opts[i]))
			return true;
	return false;
}

/*
 * An interpreter's script: its first argument that is no option and names
 * a regular file in its root (an absolute path) or its working directory.
 * The path is given as the process sees it, made absolute from its working
 * directory when it was relative. "python3 -c CODE", "sh -c CMD" and
 * "perl -e CODE" run no script file.
 */
static void read_script(struct proc_facts *f, const char *dir)
{
	char path[PATH_MAX], cwd[PATH_MAX], link[64];
	const char *arg, *end;
	struct stat st;
	ssize_t n;

	if (!f->exe_path || !is_interpreter(base(f->exe_path)) || !f->have_cmdline)
		return;
	end = f->cmdline + f->cmdline_len;
	arg = memchr(f->cmdline, '\0', f->cmdline_len);	/* past argv[0] */
	for (; arg && ++arg < end; arg = memchr(arg, '\0', (size_t)(end - arg))) {
		if (!strcmp(arg, "--"))
			continue;
		if (is_inline_code(arg))
			return;
		if (*arg == '-' || !*arg)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/%s", dir, *arg == '/' ? "root" : "cwd", arg) >=
		    (int)sizeof(path))
			return;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;	/* an option's value, or gone */
		f->script_dev = (uint64_t)st.st_dev;
		f->script_ino = (uint64_t)st.st_ino;
		if (*arg == '/') {
			f->script_path = strdup(arg);
			return;
		}
		snprintf(link, sizeof(link), "%s/cwd", dir);
		n = readlink(link, cwd, sizeof(cwd) - 1);
		if (n <= 0)
			return;
		cwd[n] = '\0';
		if (snprintf(path, sizeof(path), "%s/%s", inside_root(dir, cwd),
			     !strncmp(arg, "./", 2) ? arg + 2 : arg) < (int)sizeof(path))
			f->script_path = strdup(path);
		return;
	}
}

/* How much of /proc/PID/environ is read for APPIMAGE: the runtime's own
 * variables come early, a desktop session's whole environment rarely
 * passes 16 KiB */
#define ENVIRON_MAX (64 * 1024)
#define MOUNT_RANDOM 6		/* the random letters ending the mount's name */

static void read_appimage(struct proc_facts *f, const char *dir)
{
	const char *m, *v, *slash, *name, *b;
	size_t vlen, prefix;
	char path[64], *env;
	ssize_t n;

	if (!f->exe_path || !(m = strstr(f->exe_path, "/.mount_")))
		return;
	name = m + 8;
	slash = strchr(name, '/');
	if (!slash || (size_t)(slash - name) <= MOUNT_RANDOM)
		return;		/* not the runtime's mount */
	prefix = (size_t)(slash - name) - MOUNT_RANDOM;
	if (!(env = malloc(ENVIRON_MAX)))
		return;
	snprintf(path, sizeof(path), "%s/environ", dir);
	n = read_file(path, env, ENVIRON_MAX);
	if (n > 0 && (v = environ_value(env, (size_t)n, "APPIMAGE", &vlen)) &&
	    vlen > 1 && vlen < PATH_MAX && v[0] == '/' && !memchr(v, '\0', vlen)) {
		/* the variable names the file whose name the mount begins with */
		b = memrchr(v, '/', vlen) + 1;
		if ((size_t)(v + vlen - b) >= prefix && !memcmp(b, name, prefix))
			f->appimage = strndup(v, vlen);
	}
	free(env);
	if (!f->appimage)
		f->appimage = strndup(name, prefix);
}

/* '"PREFIXname":', after a comma when comma */
static void put_member(struct buf *b, const char *prefix, const char *name, bool comma)
{
	if (comma)
		buf_putc(b, ',');
	buf_putc(b, '"');
	buf_puts(b, prefix);
	buf_puts(b, name);
	buf_puts(b, "\":");
}

static void put_str_or_null(struct buf *b, const char *s)
{
	if (s)
		json_put_cstr(b, s);
	else
		buf_puts(b, "null");
}

static void render(struct proc_facts *f)
{
	struct buf *b = &render_tmp;

	buf_reset(b);
	for (int l = 0; l < NLEVELS; l++) {
		const char *pre = ancestry[l].prefix;

		f->block_at[l] = (uint32_t)b->len;
		put_member(b, pre, "name", false);
		put_str_or_null(b, f->name);
		put_member(b, pre, "cmdline", true);
		if (f->have_cmdline)
			cmdline_json(b, f->cmdline, f->cmdline_len, f->cmdline_cut);
		else
			buf_puts(b, "null");
		put_member(b, pre, "user", true);
		buf_puts(b, f->have_uid ? user_json(f->uid) : "null");
		put_member(b, pre, "name_exe", true);
		put_str_or_null(b, f->name_exe);
		put_member(b, pre, "script_path", true);
		put_str_or_null(b, f->script_path);
		put_member(b, pre, "script_dev", true);
		if (f->script_path)
			buf_put_u64(b, f->script_dev);
		else
			buf_puts(b, "null");
		put_member(b, pre, "script_ino", true);
		if (f->script_path)
			buf_put_u64(b, f->script_ino);
		else
			buf_puts(b, "null");
	}
	f->block_at[NLEVELS] = (uint32_t)b->len;
	free(f->blocks);
	f->blocks = NULL;
	/* without memory, or past 4 GiB: the levels are left out, as for a
	 * process gone before it was seen; the scratch buffer starts afresh
	 * (its oom would otherwise stay, and no process would render again) */
	if (b->oom || b->len > UINT32_MAX || !(f->blocks = malloc(b->len))) {
		buf_release(b);
		return;
	}
	memcpy(f->blocks, b->p, b->len);
	/* a burst of huge command lines leaves no huge buffer behind */
	buf_shrink(b, 64 << 10);
}

/*
 * A process read too late - a zombie, whose exe link and command line are
 * gone, or one that exited between the reading of its exe link and the
 * check of the path it gave - runs an executable whose path may be known
 * from other processes: take it, and the full name it gives a cut comm.
 */
bool procs_adopt_path(struct procs *p, struct proc_facts *f, uint64_t dev, uint64_t ino)
{
	const char *path;
	char *copy;

	if ((f->exe_path && (f->have_exe || f->exe_deleted)) ||
	    !(path = procs_path_of(p, dev, ino)) || !(copy = strdup(path)))
		return false;
	free(f->exe_path);
	f->exe_path = copy;
	f->have_exe = true;
	f->exe_dev = dev;
	f->exe_ino = ino;
	if (f->name && strlen(f->name) == 15) {
		char *full = full_name(f, f->name, 15);

		if (full) {
			free(f->name);
			f->name = full;
		}
	}
	render(f);
	return true;
}

static void drop(struct procs *p, struct proc_facts *f)
{
	HASH_DEL(p->tab, f);
	lru_remove(&f->lru);
	facts_free(f);
}

/*
 * The name is the kernel's (comm) of the record that first named the
 * process; a later record with another comm (an exec read late: the facts
 * are the new program's, the first comm the shell's; or a prctl rename)
 * names it from then on.
 */
void procs_name(struct proc_facts *f, const char *comm, size_t comm_len)
{
	char *name;

	if (!comm || !comm_len || (f->name && !strncmp(f->name, comm, comm_len) &&
				   (f->name[comm_len] == '\0' || comm_len == 15)))
		return;
	if (!(name = full_name(f, comm, comm_len)))
		return;
	free(f->name);
	f->name = name;
	/* a new name may be another program's: looked up while the
	 * process lives (its root), else kept as it was */
	if (f->have_run) {
		char dir[32];

		snprintf(dir, sizeof(dir), "/proc/%u", f->pid);
		if (access(dir, F_OK) == 0) {
			free(f->name_exe);
			read_name_exe(f, dir);
		}
	}
	render(f);
}

bool procs_alive(struct procs *p, uint32_t pid, uint64_t start_ns)
{
	char dir[32];
	uint64_t started;

	snprintf(dir, sizeof(dir), "/proc/%u", pid);
	started = proc_start(p, dir);
	return started && (!start_ns || (started <= start_ns + START_SLACK_NS &&
					  started + START_SLACK_NS >= start_ns));
}

struct proc_facts *procs_get(struct procs *p, uint32_t pid, uint64_t start_ns,
			     const char *comm, size_t comm_len, bool reread)
{
	struct proc_facts *f, probe;
	char dir[32], c[32];
	uint64_t started;

	if (pid == 0)
		return NULL;
	snprintf(dir, sizeof(dir), "/proc/%u", pid);
	if (!start_ns) {
		/* a record without a start time: the process living now */
		start_ns = proc_start(p, dir);
		if (!start_ns)
			return NULL;
	}
	probe.start_ns = start_ns;
	probe.pid = pid;
	HASH_FIND(hh, p->tab, &probe.start_ns, PROC_KEY_LEN, f);
	if (f) {
		if (!reread || !proc_start(p, dir)) {
			lru_touch(&p->lru, &f->lru);
			f->used_ns = now_ns(CLOCK_MONOTONIC);
			return f;
		}
		drop(p, f);	/* it lives: read it anew */
	}
	started = proc_start(p, dir);
	if (!started)
		return NULL;	/* gone */
	if (started > start_ns + START_SLACK_NS ||
	    started + START_SLACK_NS < start_ns)
		return NULL;	/* the pid is another process's now */

	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->pid = pid;
	f->start_ns = start_ns;
	read_exe(f, dir);
	read_cmdline(p, f, dir);
	f->have_uid = read_uid(dir, &f->uid);
	if (!comm || !comm_len) {
		char path[64];
		ssize_t n;

		snprintf(path, sizeof(path), "%s/comm", dir);
		n = read_file(path, c, sizeof(c) - 1);
		comm_len = n > 0 ? (size_t)n - (c[n - 1] == '\n') : 0;
		comm = c;
	}
	if (comm_len)
		f->name = full_name(f, comm, comm_len);
	read_name_exe(f, dir);
	read_script(f, dir);
	read_appimage(f, dir);
	if (f->have_exe && f->exe_path)
		remember_path(p, f->exe_dev, f->exe_ino, f->exe_path);
	render(f);
	HASH_ADD(hh, p->tab, start_ns, PROC_KEY_LEN, f);
	if (!table_added(f, hh)) {
		facts_free(f);
		return NULL;
	}
	lru_push(&p->lru, &f->lru);
	f->used_ns = now_ns(CLOCK_MONOTONIC);
	evict(p);
	return f;
}

/*
 * The cache is ordered by use, so the idle are at its old end. One that
 * lives is kept (its next record finds it) and goes to the new end, to be
 * looked at again after idle_ns; one that has exited is forgotten: a
 * record can still name it (a socket it left to a child), but the fd scan
 * gives such a socket to its living holder, and the cache would otherwise
 * grow with every short-lived process until it is full (cache_size).
 */
size_t procs_expire(struct procs *p, uint64_t now_ns, uint64_t idle_ns, size_t max)
{
	struct lru_node *n;
	size_t gone = 0;

	while (max-- && (n = lru_oldest(&p->lru))) {
		struct proc_facts *f = lru_entry(n, struct proc_facts, lru);

		if (f->used_ns + idle_ns > now_ns)
			break;
		if (procs_alive(p, f->pid, f->start_ns)) {
			lru_touch(&p->lru, &f->lru);
			f->used_ns = now_ns;
		} else {
			drop(p, f);
			gone++;
		}
	}
	return gone;
}

size_t procs_paths_count(const struct procs *p)
{
	return HASH_COUNT(p->paths);
}

size_t procs_count(const struct procs *p)
{
	return HASH_COUNT(p->tab);
}
