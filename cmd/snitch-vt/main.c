/* SPDX-License-Identifier: MIT */
/*
 * snitch-vt: the VirusTotal verdict of every executable the stream names.
 * Each sha256 (process, parent, grandparent) not asked about yet is queued;
 * a worker thread asks the v3 API at most once per --request-limit-s and
 * posts a verdict record when the answer comes. Records pass through at
 * once: the stream never waits for VirusTotal.
 */
#include <errno.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ancestry.h"
#include "cli.h"
#include "clock.h"
#include "exitcode.h"
#include "fdio.h"
#include "log.h"
#include "privs.h"
#include "perms.h"
#include "stage.h"
#include "vtclient.h"

#define NKEYS 6
#define SAVE_EVERY_NS (1000 * 1000000ULL)
#define KEY_MAX 256

enum { K_SHA, K_PID, K_DEV, K_INO, K_PATH, K_NAME };

static const char *const level_names[NKEYS] = {
	"exe_sha256", "pid", "exe_dev", "exe_ino", "exe_path", "name",
};

struct vt_stage {
	struct vt vt;
	struct stage st;
	const char *keys[NLEVELS * NKEYS];
	char key_text[NLEVELS * NKEYS][ANCESTRY_KEY_MAX];
	struct buf tmp;
	uint64_t recheck_ns;
};

/* A string member as a C string in tmp, or NULL. */
static const char *member_cstr(struct vt_stage *s, const struct record_member *m)
{
	buf_reset(&s->tmp);
	if (!m || record_member_str(&s->st.rec, m, &s->tmp) < 0)
		return NULL;
	buf_putc(&s->tmp, '\0');
	if (s->tmp.oom || memchr(s->tmp.p, '\0', s->tmp.len - 1))
		return NULL;
	return s->tmp.p;
}

/* Under the lock: what an upload would need, from the latest record. */
static void note_source(struct vt_stage *s, struct vt_entry *e, const struct record_member **m)
{
	struct record *r = &s->st.rec;
	uint64_t dev, ino;
	int64_t pid;
	const char *str;

	if (record_member_u64(r, m[K_DEV], &dev) == 0 && record_member_u64(r, m[K_INO], &ino) == 0) {
		e->dev = dev;
		e->ino = ino;
	}
	if (record_member_i64(r, m[K_PID], &pid) == 0 && pid > 0)
		e->pid = pid;
	if ((str = member_cstr(s, m[K_PATH])) && *str == '/')
		(void)vt_entry_set(&e->path, str);
	if (!e->name && (str = member_cstr(s, m[K_NAME])))
		(void)vt_entry_set(&e->name, str);
}

static void want(struct vt_stage *s, const char *sha, const struct record_member **m)
{
	struct vt *vt = &s->vt;
	struct vt_entry *e;
	uint64_t now = clock_real_ns();

	pthread_mutex_lock(&vt->mu);
	e = vt_state_find(&vt->s, sha);
	if (e && !e->pending && e->checked_ns && now - e->checked_ns < s->recheck_ns) {
		pthread_mutex_unlock(&vt->mu);
		return;		/* asked, and not yet due again */
	}
	if (!e && !(e = vt_state_add(&vt->s, sha))) {
		pthread_mutex_unlock(&vt->mu);
		stage_post_lost(&s->st, "out_of_memory", 1,
				"an executable was not queued for VirusTotal: out of memory");
		return;
	}
	note_source(s, e, m);
	if (!e->pending) {
		vt_queue_push(&vt->s, e, false);
		vt->dirty = true;
		pthread_cond_signal(&vt->cv);
	}
	pthread_mutex_unlock(&vt->mu);
}

static void on_record(void *ctx, struct stage *st, const char *line, size_t len)
{
	struct vt_stage *s = ctx;
	const struct record_member *m[NLEVELS * NKEYS];

	(void)line, (void)len;
	record_write(&st->rec, &st->out.b);
	record_find_many(&st->rec, s->keys, NLEVELS * NKEYS, m);
	for (int l = 0; l < NLEVELS; l++) {
		const struct record_member *sha = m[l * NKEYS + K_SHA];
		const char *v;
		char hex[65];

		if (!sha || sha->type != JSON_STRING || sha->val_escaped || sha->val_len != 66)
			continue;
		v = record_val(&st->rec, sha) + 1;
		if (!vt_sha_valid(v, 64))
			continue;
		memcpy(hex, v, 64);
		hex[64] = '\0';
		want(s, hex, m + l * NKEYS);
	}
}

static uint64_t on_timer(void *ctx, struct stage *st, uint64_t now)
{
	struct vt_stage *s = ctx;

	(void)st;
	(void)vt_save(&s->vt);
	return now + SAVE_EVERY_NS;
}

static bool on_eof(void *ctx, struct stage *st, uint64_t now)
{
	struct vt_stage *s = ctx;
	bool done;

	(void)st, (void)now;
	if (!s->vt.o->drain)
		return true;	/* what waits is in the state, asked at the next start */
	pthread_mutex_lock(&s->vt.mu);
	done = s->vt.unauthorized || (!s->vt.s.qhead && !s->vt.in_flight);
	pthread_mutex_unlock(&s->vt.mu);
	return done;
}

static const struct stage_ops vt_ops = {
	.on_record = on_record,
	.on_timer = on_timer,
	.on_eof = on_eof,
};

static bool key_valid(const char *k)
{
	if (!*k || strlen(k) > KEY_MAX)
		return false;
	for (; *k; k++)
		if ((unsigned char)*k <= ' ' || (unsigned char)*k >= 0x7f)
			return false;
	return true;
}

/*
 * The key from its file, which only its owner (root, or whoever runs
 * this) may read: 0, or -1 with why.
 */
static int read_key_file(const char *path, char *key, size_t size, char *why, size_t whysize)
{
	struct stat st;
	char text[KEY_MAX + 2];
	ssize_t n;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);

	if (fd < 0) {
		snprintf(why, whysize, "cannot open the key file '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whysize, "the key file '%s' is not a regular file", path);
		goto bad;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, whysize, "the key file '%s' belongs to uid %u: it must be root's", path,
			 (unsigned)st.st_uid);
		goto bad;
	}
	if (st.st_mode & 077) {
		snprintf(why, whysize,
			 "the key file '%s' can be read by others than its owner (mode %04o): chmod 600 it",
			 path, (unsigned)(st.st_mode & 07777));
		goto bad;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0) {
		snprintf(why, whysize, "cannot read the key file '%s': %s", path, strerror(errno));
		return -1;
	}
	text[n] = '\0';
	len = strcspn(text, "\r\n");
	text[len] = '\0';
	if (!key_valid(text) || len >= size) {
		explicit_bzero(text, sizeof(text));
		snprintf(why, whysize, "the key file '%s' does not hold a key (one line of printable characters)",
			 path);
		return -1;
	}
	memcpy(key, text, len + 1);
	explicit_bzero(text, sizeof(text));
	return 0;
bad:
	close(fd);
	return -1;
}

static int load_state(struct vt_stage *s)
{
	const char *path = s->vt.o->state;
	struct buf text = BUF_INIT;
	size_t bad = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		log_msg("cannot read the state '%s': %s", path, strerror(errno));
		return -1;
	}
	r = read_to_buf(fd, &text);
	close(fd);
	if (r < 0) {
		log_msg("cannot read the state '%s': %s", path, strerror(-r));
		buf_release(&text);
		return -1;
	}
	r = vt_state_parse(&s->vt.s, text.p ? text.p : "", text.len, &bad);
	buf_release(&text);
	if (r < 0) {
		log_msg("cannot read the state '%s': %s", path, strerror(-r));
		return -1;
	}
	if (bad)
		stage_error(&s->st, "state_corrupt", "%zu lines of the state '%s' cannot be read: they are asked again",
			    bad, path);
	if (s->vt.s.queued)
		log_msg("%zu executables wait to be asked about (from '%s')", s->vt.s.queued, path);
	return 0;
}

static const int exit_codes[] = {
	SNITCH_EXIT_OK, SNITCH_EXIT_USAGE, SNITCH_EXIT_IO, SNITCH_EXIT_SOFTWARE, -1,
};

/*
 * The API key, from --key-file (SNITCH_VT_API_KEY_FILE) or else
 * $SNITCH_VT_API_KEY, which no child of ours then inherits: -1, or the
 * exit status of a missing or bad key, said.
 */
static int take_key(const struct cli *cli, const struct vt_opts *o, char key[KEY_MAX + 1])
{
	const char *env = getenv("SNITCH_VT_API_KEY");
	char why[512];

	if (o->key_file && *o->key_file) {
		if (read_key_file(o->key_file, key, KEY_MAX + 1, why, sizeof(why)) < 0) {
			log_msg("%s", why);
			return SNITCH_EXIT_USAGE;
		}
	} else {
		if (!env || !*env)
			return cli_usage_error(cli, "no API key: set SNITCH_VT_API_KEY_FILE to a file only root can read, or SNITCH_VT_API_KEY");
		if (!key_valid(env))
			return cli_usage_error(cli, "$SNITCH_VT_API_KEY is not a key (printable characters, no spaces, at most %d)",
					       KEY_MAX);
		snprintf(key, KEY_MAX + 1, "%s", env);
	}
	(void)unsetenv("SNITCH_VT_API_KEY");
	return -1;
}

/*
 * The capabilities kept, started as root: answers from the network are
 * parsed as the user snitch, without capabilities but those --upload
 * needs (read any executable, through any process's /proc/PID/exe), and
 * CAP_DAC_OVERRIDE when it stays root's uid and the state's directory is
 * another user's.
 */
static uint64_t caps_kept(const struct vt_opts *o)
{
	const char *user = getenv("SNITCH_USER");
	char dir[4096], *slash;
	struct stat ds;
	uint64_t keep = 0;

	if (geteuid() != 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s", o->state);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (o->upload)
		keep |= PRIVS_CAP(CAP_DAC_READ_SEARCH) | PRIVS_CAP(CAP_SYS_PTRACE);
	if (stat(dir, &ds) == 0 && ds.st_uid != 0 && (!user || !*user || !strcmp(user, "root")))
		keep |= PRIVS_CAP(CAP_DAC_OVERRIDE);
	return keep;
}

int main(int argc, char **argv)
{
	struct vt_opts o = {
		.api_url = "https://www.virustotal.com/api/v3",
		.gui_url = "https://www.virustotal.com/gui/file",
		.state = "/var/lib/snitch/vt-state.jsonl",
		.request_limit_s = 15,
		.recheck_days = 30,
		.timeout_s = 60,
		.max_backoff_s = 3600,
	};
	const struct cli_opt opts[] = {
		{ .name = "api-key-file", .type = CLI_STRING, .value = &o.key_file, .metavar = "FILE",
		  .env = "SNITCH_VT_API_KEY_FILE",
		  .help = "the file holding the API key, readable by its owner (root) only; else $SNITCH_VT_API_KEY" },
		{ .name = "request-limit-s", .type = CLI_UINT, .value = &o.request_limit_s, .metavar = "S",
		  .env = "SNITCH_VT_REQUEST_LIMIT_S", .min = 1, .max = 86400,
		  .help = "at most one request every S seconds (the free API allows 4 a minute)" },
		{ .name = "recheck-days", .type = CLI_UINT, .value = &o.recheck_days, .metavar = "D",
		  .env = "SNITCH_VT_RECHECK_DAYS", .min = 1, .max = 3650,
		  .help = "ask about a hash again D days after its last verdict" },
		{ .name = "upload", .type = CLI_FLAG, .value = &o.upload, .env = "SNITCH_VT_UPLOAD",
		  .help = "upload executables VirusTotal does not know (their content only), then poll the analysis" },
		{ .name = "state", .type = CLI_STRING, .value = &o.state, .metavar = "FILE",
		  .env = "SNITCH_VT_STATE", .help = "what was asked and what waits, kept across restarts" },
		{ .name = "api-url", .type = CLI_STRING, .value = &o.api_url, .metavar = "URL",
		  .env = "SNITCH_VT_API_URL", .help = "the v3 API (https:// only): a mirror, or a test server" },
		{ .name = "ca-file", .type = CLI_STRING, .value = &o.ca_file, .metavar = "FILE",
		  .env = "SNITCH_VT_CA_FILE", .help = "trust these CA certificates instead of the system's" },
		{ .name = "timeout-s", .type = CLI_UINT, .value = &o.timeout_s, .metavar = "S",
		  .env = "SNITCH_VT_TIMEOUT_S", .min = 1, .max = 600,
		  .help = "a request that takes longer failed (an upload: that stalls this long)" },
		{ .name = "max-backoff-s", .type = CLI_UINT, .value = &o.max_backoff_s, .metavar = "S",
		  .env = "SNITCH_VT_MAX_BACKOFF_S", .min = 1, .max = 86400,
		  .help = "wait at most S seconds between tries while VirusTotal fails or the quota is used up" },
		{ .name = "drain", .type = CLI_FLAG, .value = &o.drain,
		  .help = "at the end of input, wait until every queued hash has its verdict" },
	};
	const struct cli cli = {
		.prog = STAGE,
		.usage = "[OPTION]... < RECORDS",
		.summary =
			"Ask VirusTotal about every executable in the stream: each exe_sha256,\n"
			"parent_exe_sha256 and gparent_exe_sha256 not asked about yet is queued, and\n"
			"asked (GET /api/v3/files/SHA256) at most once every --request-limit-s, in the\n"
			"background; records pass through at once. Each answer is a verdict record\n"
			"(docs/records.md): the engines' counts and a link to the report, or not_found,\n"
			"or error with a reason. A hash is asked once, and again after --recheck-days;\n"
			"the queue is kept in --state across restarts and outages. With --upload, an\n"
			"executable VirusTotal does not know is uploaded (only the file the record\n"
			"names by device and inode, checked against its hash; no path, no command\n"
			"line) and its analysis polled. The API key comes from the file\n"
			"SNITCH_VT_API_KEY_FILE names (mode 0600, root's) or from SNITCH_VT_API_KEY in\n"
			"the environment, never from the command line; it is sent in the x-apikey\n"
			"header and nowhere else.",
		.examples =
			"  ... | snitch-hash | snitch-vt | snitch-store --tee | snitch-notify\n"
			"  SNITCH_VT_API_KEY_FILE=/etc/snitch/vt.key snitch-vt --drain < records.jsonl | jq 'select(.type == \"verdict\")'\n"
			"  snitch-hash --json /usr/bin/curl | jq -c '{v, type, exe_sha256: .sha256, exe_dev: .dev, exe_ino: .ino, exe_path: .path}' | snitch-vt --upload --drain --state /tmp/vt.jsonl\n",
		.opts = opts,
		.nopts = sizeof(opts) / sizeof(opts[0]),
		.exit_codes = exit_codes,
	};
	static struct vt_stage s;
	char key[KEY_MAX + 1];
	int ret;

	if ((ret = stage_parse_cli(&cli, argc, argv)) >= 0)
		return ret;
	if (strncmp(o.api_url, "https://", 8))
		return cli_usage_error(&cli, "--api-url '%s' is not an https:// URL: the key goes nowhere in clear",
				       o.api_url);
	if ((ret = take_key(&cli, &o, key)) >= 0)
		return ret;

	memset(&s, 0, sizeof(s));
	s.vt.o = &o;
	s.vt.st = &s.st;
	s.recheck_ns = o.recheck_days * 86400ULL * 1000000000ULL;
	pthread_mutex_init(&s.vt.mu, NULL);
	pthread_mutex_init(&s.vt.save_mu, NULL);
	vt_state_init(&s.vt.s);
	ancestry_keys(s.keys, s.key_text, level_names, NKEYS);
	if ((ret = stage_start(&s.st, &cli, "snitch-hash")) >= 0)
		return ret;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_msg("cannot set up libcurl");
		return SNITCH_EXIT_SOFTWARE;
	}
	if ((ret = perms_mkdirs_for(o.state, NULL)) < 0) {
		log_msg("cannot make the directory of '%s': %s", o.state, strerror(-ret));
		return SNITCH_EXIT_IO;
	}
	if (load_state(&s) < 0)
		return SNITCH_EXIT_IO;
	if (privs_drop(&(const struct privs){
		    .caps = caps_kept(&o), .allow = PRIVS_OPEN_WRITE | PRIVS_NET | PRIVS_THREADS }) < 0)
		return SNITCH_EXIT_NOPERM;
	s.vt.key = key;
	if ((ret = vt_start(&s.vt)) < 0) {
		log_msg("cannot start the VirusTotal worker: %s", strerror(-ret));
		return SNITCH_EXIT_SOFTWARE;
	}
	explicit_bzero(key, sizeof(key));
	s.vt.key = NULL;
	stage_wake_at(&s.st, clock_mono_ns() + SAVE_EVERY_NS);

	ret = stage_run(&s.st, &vt_ops, &s);
	/* the request under way is cut short; what waits stays in the state */
	vt_stop(&s.vt);
	pthread_mutex_lock(&s.vt.mu);
	s.vt.dirty = true;
	pthread_mutex_unlock(&s.vt.mu);
	(void)vt_save(&s.vt);
	if (s.vt.s.queued)
		log_msg("%zu executables still wait to be asked about: they are kept in '%s'",
			s.vt.s.queued, o.state);
	ret = stage_finish(&s.st, ret);
	stage_release(&s.st);
	vt_state_release(&s.vt.s);
	buf_release(&s.vt.body);
	buf_release(&s.tmp);
	curl_global_cleanup();
	return ret;
}
