/* SPDX-License-Identifier: MIT */
/*
 * The one thread that talks to VirusTotal: it takes the queue in order,
 * one request at a time and at most one per --request-limit-s, and posts
 * the verdicts (and its errors) to the stage's mailbox, so the stream
 * never waits for the network. The key goes in the x-apikey header and
 * nowhere else: not in a URL, a message or a record.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
/* SHA256_* as snitch-store uses them (see cmd/snitch-hash/sha256.c) */
#define OPENSSL_API_COMPAT 0x10100000L
#include <openssl/sha.h>

#include "atomicfile.h"
#include "clock.h"
#include "emit.h"
#include "fileid.h"
#include "log.h"
#include "stage.h"
#include "vtclient.h"

#define NS 1000000000ULL

enum outcome {
	OUT_DONE,	/* a verdict: the entry is done */
	OUT_NEXT,	/* it moved on a step: next, at the front of the queue */
	OUT_LATER,	/* asked again after the others (an analysis not done) */
	OUT_RETRY,	/* the network or the server failed: again, after a back-off */
	OUT_QUOTA,	/* 429: again, after a back-off */
	OUT_UNAUTH,	/* 401: asked no more */
	OUT_STOP,	/* the stage is stopping: asked again at the next start */
};

/* What the worker needs of an entry, copied out of the lock. */
struct job {
	char sha[65];
	enum vt_step step;
	uint64_t dev, ino;
	int64_t pid;
	char path[PATH_MAX];
	char name[256];
	char analysis[256];
	char upload_url[2048];
	bool has_path, has_name;
};

struct verdict {
	const char *status;	/* "known", "not_found", "error" */
	const struct vt_counts *c;
	const char *reason;
	bool uploaded;
};

static bool stopping(struct vt *vt)
{
	return __atomic_load_n(&vt->stop, __ATOMIC_RELAXED);
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;

	if (b->len + n > VT_BODY_MAX)
		return 0;	/* a report is never that large: the transfer fails */
	buf_append(b, p, n);
	return b->oom ? 0 : n;
	(void)size;
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	return stopping(ctx) ? 1 : 0;
}

/* "scheme://host[:port]" of url, for comparing origins. */
static void origin_of(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://");
	size_t n;

	if (!p) {
		snprintf(out, size, "%s", url);
		return;
	}
	p += 3;
	n = strcspn(p, "/?#");
	snprintf(out, size, "%.*s", (int)(p - url + n), url);
}

struct file_src {
	int fd;
	off_t off, size;
};

static size_t read_src(char *p, size_t size, size_t n, void *ctx)
{
	struct file_src *f = ctx;
	ssize_t r;

	do
		r = pread(f->fd, p, size * n, f->off);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return CURL_READFUNC_ABORT;
	f->off += r;
	return (size_t)r;
}

static int seek_src(void *ctx, curl_off_t off, int origin)
{
	struct file_src *f = ctx;

	if (origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	f->off = (off_t)off;
	return CURL_SEEKFUNC_OK;
}

/*
 * One request: GET url, or POST the file as a form's "file" part, named
 * after its hash (no path, no name). Returns the HTTP status, or -1 with
 * why (curl's message) when there was none. The body is in vt->body.
 */
static long request(struct vt *vt, const char *url, struct file_src *file, const char *sha,
		    char *why, size_t whysize)
{
	char origin[512], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL;
	curl_mime *mime = NULL;
	CURL *c = vt->curl;
	long code = -1;
	CURLcode r;

	origin_of(url, origin, sizeof(origin));
	/* the key only to the API's own origin (an upload URL may be elsewhere) */
	if (!strcmp(origin, vt->api_origin))
		hdr = curl_slist_append(hdr, vt->key_header);
	hdr = curl_slist_append(hdr, "accept: application/json");
	hdr = curl_slist_append(hdr, "Expect:");
	if (!hdr) {
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	buf_reset(&vt->body);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "snitch-vt/" SNITCH_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &vt->body);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, vt);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)vt->o->timeout_s);
	if (vt->o->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, vt->o->ca_file);
	if (file) {
		curl_mimepart *part;

		mime = curl_mime_init(c);
		part = curl_mime_addpart(mime);
		curl_mime_name(part, "file");
		curl_mime_filename(part, sha);
		curl_mime_type(part, "application/octet-stream");
		curl_mime_data_cb(part, file->size, read_src, seek_src, NULL, file);
		curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
		/* a large file takes long: only a stalled one times out */
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)vt->o->timeout_s);
	} else {
		curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)vt->o->timeout_s);
	}
	vt->requests++;
	r = curl_easy_perform(c);
	if (r == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	else
		snprintf(why, whysize, "%s", errbuf[0] ? errbuf : curl_easy_strerror(r));
	/* the next request waits its turn, whatever this one did */
	vt->next_at = clock_mono_ns() + vt->o->request_limit_s * NS;
	curl_slist_free_all(hdr);
	curl_mime_free(mime);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_MIMEPOST, NULL);
	if (r == CURLE_OK && vt->body.oom) {
		snprintf(why, whysize, "out of memory for the answer");
		return -1;
	}
	return code;
}

static void post_verdict(struct vt *vt, const struct job *j, const struct verdict *v)
{
	struct buf b = BUF_INIT;

	snprintf(vt->last_status, sizeof(vt->last_status), "%s", v->status);
	emit_begin(&b, "verdict", clock_real_ns());
	emit_str(&b, "sha256", j->sha, 64);
	emit_cstr(&b, "status", v->status);
	if (v->c) {
		emit_u64(&b, "malicious", v->c->malicious);
		emit_u64(&b, "suspicious", v->c->suspicious);
		emit_u64(&b, "undetected", v->c->undetected);
		emit_u64(&b, "harmless", v->c->harmless);
		emit_u64(&b, "engines", v->c->engines);
		if (v->c->date_s)
			emit_u64(&b, "analysis_ns", v->c->date_s * NS);
		else
			emit_null(&b, "analysis_ns");
		emit_key(&b, "link");
		buf_putc(&b, '"');
		buf_puts(&b, vt->o->gui_url);
		buf_putc(&b, '/');
		buf_append(&b, j->sha, 64);
		buf_putc(&b, '"');
	} else {
		static const char *const nulls[] = {
			"malicious", "suspicious", "undetected", "harmless", "engines",
			"analysis_ns", "link",
		};

		for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
			emit_null(&b, nulls[i]);
	}
	emit_cstr_or_null(&b, "reason", v->reason);
	emit_bool(&b, "uploaded", v->uploaded);
	emit_cstr_or_null(&b, "name", j->has_name ? j->name : NULL);
	emit_cstr_or_null(&b, "exe_path", j->has_path ? j->path : NULL);
	emit_end(&b);
	if (b.oom)
		stage_post_lost(vt->st, "out_of_memory", 1, "a verdict was not written: out of memory");
	else
		stage_post(vt->st, b.p, b.len);
	buf_release(&b);
}

/* The answers every request shares: quota, key, outage. */
static enum outcome common(struct vt *vt, long code, const char *what, const char *why)
{
	char ecode[64];

	if (code == 401) {
		vt_parse_error_code(vt->body.p, vt->body.len, ecode, sizeof(ecode));
		stage_post_error(vt->st, "vt_unauthorized",
				 "VirusTotal refused the API key (HTTP 401%s%s): no more requests until snitch-vt is restarted with a good key",
				 ecode[0] ? ", " : "", ecode);
		return OUT_UNAUTH;
	}
	if (code == 429)
		return OUT_QUOTA;
	if (code < 0 || code >= 500 || code == 408) {
		snprintf(vt->outage_why, sizeof(vt->outage_why), "%s: %s", what,
			 code < 0 ? why : code >= 500 ? "server error" : "request timeout");
		if (code > 0) {
			size_t n = strlen(vt->outage_why);

			snprintf(vt->outage_why + n, sizeof(vt->outage_why) - n, " (HTTP %ld)", code);
		}
		return OUT_RETRY;
	}
	return OUT_DONE;
}

/* An answer the job cannot use: an error verdict and an error record. */
static enum outcome bad_answer(struct vt *vt, const struct job *j, const char *what,
			       long code, const char *why)
{
	char reason[512], ecode[64] = "";
	struct verdict v = { .status = "error", .reason = reason };

	if (code == 200) {
		snprintf(reason, sizeof(reason), "malformed answer to %s: %s", what, why);
		stage_post_error(vt->st, "vt_malformed", "VirusTotal's answer to %s about %.64s is malformed: %s",
				 what, j->sha, why);
	} else {
		vt_parse_error_code(vt->body.p, vt->body.len, ecode, sizeof(ecode));
		snprintf(reason, sizeof(reason), "%s: HTTP %ld%s%s", what, code, ecode[0] ? " " : "",
			 ecode);
	}
	post_verdict(vt, j, &v);
	return OUT_DONE;
}

static enum outcome lookup(struct vt *vt, struct job *j)
{
	char url[4096], why[256] = "";
	struct vt_counts c;
	enum outcome o;
	long code;

	snprintf(url, sizeof(url), "%s/files/%s", vt->o->api_url, j->sha);
	code = request(vt, url, NULL, NULL, why, sizeof(why));
	if (code != 200 && code != 404 && (o = common(vt, code, "GET /files", why)) != OUT_DONE)
		return o;
	if (code == 200) {
		if (vt_parse_file(vt->body.p, vt->body.len, j->sha, &c, why, sizeof(why)) < 0)
			return bad_answer(vt, j, "GET /files", code, why);
		post_verdict(vt, j, &(struct verdict){ .status = "known", .c = &c });
		return OUT_DONE;
	}
	if (code == 404) {
		if (vt->o->upload && j->dev | j->ino) {
			j->step = STEP_UPLOAD;
			return OUT_NEXT;
		}
		post_verdict(vt, j, &(struct verdict){
			.status = "not_found",
			.reason = vt->o->upload ? "unknown to VirusTotal; not uploaded: no device and inode known"
						: "unknown to VirusTotal; not uploaded (--upload is off)",
		});
		return OUT_DONE;
	}
	return bad_answer(vt, j, "GET /files", code, why);
}

/*
 * Open the executable named by (dev, ino): through the process while it
 * lives, else its path, and only if what opened is that very file.
 */
static int open_exe(const struct job *j, struct stat *st, char *why, size_t whysize)
{
	char proc[64];
	const char *cand[2] = { NULL, NULL };
	int err = ENOENT;

	if (j->pid > 0) {
		snprintf(proc, sizeof(proc), "/proc/%lld/exe", (long long)j->pid);
		cand[0] = proc;
	}
	if (j->has_path)
		cand[1] = j->path;
	for (int i = 0; i < 2; i++) {
		bool btrfs;
		int fd;

		if (!cand[i])
			continue;
		fd = open(cand[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (fstat(fd, st) == 0 && S_ISREG(st->st_mode) &&
		    fileid_matches(fd, st, j->dev, j->ino, &btrfs))
			return fd;
		close(fd);
		err = ESTALE;
	}
	snprintf(why, whysize, "the executable (device %llu, inode %llu) cannot be opened: %s",
		 (unsigned long long)j->dev, (unsigned long long)j->ino,
		 err == ESTALE ? "another file is there now" : strerror(err));
	return -1;
}

/* Is the content of fd still the hash asked about? */
static bool same_content(int fd, const char *sha)
{
	unsigned char d[SHA256_DIGEST_LENGTH], chunk[1 << 16];
	char hex[65];
	SHA256_CTX c;
	off_t off = 0;
	ssize_t n;

	SHA256_Init(&c);
	while ((n = pread(fd, chunk, sizeof(chunk), off)) > 0 || (n < 0 && errno == EINTR)) {
		if (n > 0) {
			SHA256_Update(&c, chunk, (size_t)n);
			off += n;
		}
	}
	if (n < 0)
		return false;
	SHA256_Final(d, &c);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return !memcmp(hex, sha, 64);
}

static enum outcome not_uploaded(struct vt *vt, const struct job *j, const char *why)
{
	char reason[512];

	snprintf(reason, sizeof(reason), "unknown to VirusTotal; not uploaded: %s", why);
	post_verdict(vt, j, &(struct verdict){ .status = "not_found", .reason = reason });
	return OUT_DONE;
}

static enum outcome upload(struct vt *vt, struct job *j)
{
	char url[4096], why[256] = "", id[256];
	struct file_src src = { .fd = -1 };
	struct stat st;
	enum outcome o;
	long code;

	src.fd = open_exe(j, &st, why, sizeof(why));
	if (src.fd < 0)
		return not_uploaded(vt, j, why);
	if ((uint64_t)st.st_size > VT_UPLOAD_MAX) {
		close(src.fd);
		snprintf(why, sizeof(why), "%lld bytes, over the %llu MiB VirusTotal takes",
			 (long long)st.st_size, VT_UPLOAD_MAX >> 20);
		return not_uploaded(vt, j, why);
	}
	if (!same_content(src.fd, j->sha)) {
		close(src.fd);
		return not_uploaded(vt, j, "its content changed since it was hashed");
	}
	if ((uint64_t)st.st_size > VT_DIRECT_UPLOAD_MAX && !j->upload_url[0]) {
		/* a large file goes to a URL of its own, asked for first */
		close(src.fd);
		snprintf(url, sizeof(url), "%s/files/upload_url", vt->o->api_url);
		code = request(vt, url, NULL, NULL, why, sizeof(why));
		if (code != 200)
			return (o = common(vt, code, "GET /files/upload_url", why)) != OUT_DONE ? o :
				bad_answer(vt, j, "GET /files/upload_url", code, why);
		if (vt_parse_upload_url(vt->body.p, vt->body.len, j->upload_url,
					sizeof(j->upload_url), why, sizeof(why)) < 0)
			return bad_answer(vt, j, "GET /files/upload_url", code, why);
		return OUT_NEXT;
	}
	if (j->upload_url[0])
		snprintf(url, sizeof(url), "%s", j->upload_url);
	else
		snprintf(url, sizeof(url), "%s/files", vt->o->api_url);
	j->upload_url[0] = '\0';	/* one use */
	src.size = st.st_size;
	code = request(vt, url, &src, j->sha, why, sizeof(why));
	close(src.fd);
	if (code != 200)
		return (o = common(vt, code, "POST /files", why)) != OUT_DONE ? o :
			bad_answer(vt, j, "POST /files", code, why);
	if (vt_parse_upload(vt->body.p, vt->body.len, id, sizeof(id), why, sizeof(why)) < 0)
		return bad_answer(vt, j, "POST /files", code, why);
	log_msg("uploaded %.64s (%lld bytes) to VirusTotal; its analysis is polled every %llu s",
		j->sha, (long long)st.st_size, (unsigned long long)vt->o->request_limit_s);
	snprintf(j->analysis, sizeof(j->analysis), "%s", id);
	j->step = STEP_POLL;
	return OUT_NEXT;
}

static enum outcome poll_analysis(struct vt *vt, struct job *j)
{
	char url[4096], why[256] = "";
	struct vt_counts c;
	enum outcome o;
	bool done;
	long code;

	snprintf(url, sizeof(url), "%s/analyses/%s", vt->o->api_url, j->analysis);
	code = request(vt, url, NULL, NULL, why, sizeof(why));
	if (code != 200)
		return (o = common(vt, code, "GET /analyses", why)) != OUT_DONE ? o :
			bad_answer(vt, j, "GET /analyses", code, why);
	if (vt_parse_analysis(vt->body.p, vt->body.len, &done, &c, why, sizeof(why)) < 0)
		return bad_answer(vt, j, "GET /analyses", code, why);
	if (!done)
		return OUT_LATER;
	post_verdict(vt, j, &(struct verdict){ .status = "known", .c = &c, .uploaded = true });
	return OUT_DONE;
}

static void copy_job(const struct vt_entry *e, struct job *j)
{
	memset(j, 0, sizeof(*j));
	memcpy(j->sha, e->sha, 65);
	j->step = e->step;
	j->dev = e->dev;
	j->ino = e->ino;
	j->pid = e->pid;
	if (e->path && strlen(e->path) < sizeof(j->path)) {
		strcpy(j->path, e->path);
		j->has_path = true;
	}
	if (e->name) {
		snprintf(j->name, sizeof(j->name), "%s", e->name);
		j->has_name = true;
	}
	if (e->analysis)
		snprintf(j->analysis, sizeof(j->analysis), "%s", e->analysis);
	if (e->upload_url)
		snprintf(j->upload_url, sizeof(j->upload_url), "%s", e->upload_url);
}

static uint64_t backoff_ns(const struct vt *vt)
{
	uint64_t s = vt->o->request_limit_s;

	for (unsigned i = 0; i < vt->fails && s < vt->o->max_backoff_s; i++)
		s *= 2;
	return (s < vt->o->max_backoff_s ? s : vt->o->max_backoff_s) * NS;
}

/* Under the lock: what the outcome means for the entry and the worker. */
static void settle(struct vt *vt, struct vt_entry *e, const struct job *j, enum outcome o)
{
	uint64_t now = clock_mono_ns();

	vt->dirty = true;
	if (o != OUT_RETRY && o != OUT_QUOTA && o != OUT_STOP) {
		if (vt->outage || vt->quota)
			log_msg("VirusTotal answers again");
		vt->fails = 0;
		vt->outage = vt->quota = false;
	}
	switch (o) {
	case OUT_DONE:
		vt_entry_done(e, vt->last_status, clock_real_ns());
		return;
	case OUT_NEXT:
	case OUT_LATER:
		e->step = j->step;
		(void)vt_entry_set(&e->analysis, j->analysis[0] ? j->analysis : NULL);
		(void)vt_entry_set(&e->upload_url, j->upload_url[0] ? j->upload_url : NULL);
		vt_queue_push(&vt->s, e, o == OUT_NEXT);
		return;
	case OUT_RETRY:
		vt->fails++;
		vt->next_at = now + backoff_ns(vt);
		if (!vt->outage)
			stage_post_error(vt->st, "vt_unavailable",
					 "VirusTotal cannot be reached (%s): retrying, %llu s from now and less often after",
					 vt->outage_why, (unsigned long long)(backoff_ns(vt) / NS));
		else
			log_limited("VirusTotal still cannot be reached (%s): next try in %llu s",
				    vt->outage_why, (unsigned long long)(backoff_ns(vt) / NS));
		vt->outage = true;
		vt_queue_push(&vt->s, e, true);
		return;
	case OUT_QUOTA:
		vt->fails++;
		vt->next_at = now + backoff_ns(vt);
		if (!vt->quota)
			stage_post_error(vt->st, "vt_quota",
					 "VirusTotal says the API key's quota is used up (HTTP 429): waiting %llu s, and longer while it lasts",
					 (unsigned long long)(backoff_ns(vt) / NS));
		else
			log_limited("VirusTotal quota still used up: next try in %llu s",
				    (unsigned long long)(backoff_ns(vt) / NS));
		vt->quota = true;
		vt_queue_push(&vt->s, e, true);
		return;
	case OUT_UNAUTH:
		vt->unauthorized = true;
		vt_queue_push(&vt->s, e, true);
		return;
	case OUT_STOP:
		vt_queue_push(&vt->s, e, true);
		return;
	}
}

static void *worker(void *arg)
{
	struct vt *vt = arg;

	pthread_mutex_lock(&vt->mu);
	while (!vt->stop) {
		struct vt_entry *e;
		enum outcome o;
		struct job j;
		uint64_t now = clock_mono_ns();

		if (vt->unauthorized || !vt->s.qhead) {
			pthread_cond_wait(&vt->cv, &vt->mu);
			continue;
		}
		if (now < vt->next_at) {
			struct timespec ts;

			ts.tv_sec = (time_t)(vt->next_at / NS);
			ts.tv_nsec = (long)(vt->next_at % NS);
			pthread_cond_timedwait(&vt->cv, &vt->mu, &ts);
			continue;
		}
		e = vt_queue_pop(&vt->s);
		vt->in_flight = e;
		copy_job(e, &j);
		pthread_mutex_unlock(&vt->mu);

		switch (j.step) {
		case STEP_LOOKUP: o = lookup(vt, &j); break;
		case STEP_UPLOAD: o = upload(vt, &j); break;
		default: o = poll_analysis(vt, &j); break;
		}
		if (stopping(vt) && (o == OUT_RETRY || o == OUT_QUOTA))
			o = OUT_STOP;	/* cut short by the stop, not the network */

		pthread_mutex_lock(&vt->mu);
		settle(vt, e, &j, o);
		vt->in_flight = NULL;
		pthread_mutex_unlock(&vt->mu);
		vt_save(vt);
		pthread_mutex_lock(&vt->mu);
	}
	pthread_mutex_unlock(&vt->mu);
	return NULL;
}

int vt_start(struct vt *vt)
{
	pthread_condattr_t ca;
	char header[600];
	int r;

	origin_of(vt->o->api_url, vt->api_origin, sizeof(vt->api_origin));
	snprintf(header, sizeof(header), "x-apikey: %s", vt->key);
	vt->key_header = strdup(header);
	explicit_bzero(header, sizeof(header));
	if (!vt->key_header || !(vt->curl = curl_easy_init()))
		return -ENOMEM;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vt->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((r = pthread_create(&vt->th, NULL, worker, vt)) != 0)
		return -r;
	vt->started = true;
	return 0;
}

void vt_stop(struct vt *vt)
{
	pthread_mutex_lock(&vt->mu);
	__atomic_store_n(&vt->stop, true, __ATOMIC_RELAXED);
	pthread_cond_signal(&vt->cv);
	pthread_mutex_unlock(&vt->mu);
	if (vt->started)
		pthread_join(vt->th, NULL);
	vt->started = false;
	if (vt->curl)
		curl_easy_cleanup(vt->curl);
	vt->curl = NULL;
	if (vt->key_header) {
		explicit_bzero(vt->key_header, strlen(vt->key_header));
		free(vt->key_header);
		vt->key_header = NULL;
	}
}

int vt_save(struct vt *vt)
{
	struct buf b = BUF_INIT;
	uint64_t keep = 0, now = clock_real_ns(), span = vt->o->recheck_days * 86400ULL * NS;
	int r = 0;

	pthread_mutex_lock(&vt->save_mu);
	pthread_mutex_lock(&vt->mu);
	if (!vt->dirty) {
		pthread_mutex_unlock(&vt->mu);
		pthread_mutex_unlock(&vt->save_mu);
		return 0;
	}
	if (now > span)
		keep = now - span;
	vt_state_format(&vt->s, vt->in_flight, keep, &b);
	vt->dirty = false;
	pthread_mutex_unlock(&vt->mu);
	r = b.oom ? -ENOMEM : atomic_write_file(vt->o->state, b.p ? b.p : "", b.len, 0600, NULL, 0);
	if (r < 0) {
		pthread_mutex_lock(&vt->mu);
		vt->dirty = true;
		pthread_mutex_unlock(&vt->mu);
		if (!vt->save_failing)
			stage_post_error(vt->st, "state_write", "cannot write the state '%s': %s; it is kept in memory and written again",
					 vt->o->state, strerror(-r));
		vt->save_failing = true;
	} else {
		vt->save_failing = false;
	}
	pthread_mutex_unlock(&vt->save_mu);
	buf_release(&b);
	return r;
}
