/* SPDX-License-Identifier: MIT */
/*
 * The answers of the VirusTotal v3 API, read without building a tree: the
 * whole body is validated once (lib/json.c, depth-bounded), then members
 * are looked up by key. The text comes from the network (or whoever sits
 * on it): every number is range-checked, every string that goes back into
 * a URL is checked character by character (tests/fuzz/fuzz_vt.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "vt.h"

/* A count larger than this is not an engine count. */
#define COUNT_MAX 100000

struct val {
	const char *p;
	size_t len;
	enum json_type type;
};

static int fail(char *why, size_t whysize, const char *msg)
{
	snprintf(why, whysize, "%s", msg);
	return -EINVAL;
}

/* The whole body is one JSON object. */
static int body_object(const char *body, size_t len, struct val *v, char *why, size_t whysize)
{
	struct json_error err;
	size_t pos = 0;
	enum json_type t;

	if (json_scan_value(body, len, &pos, &t, NULL, &err) < 0) {
		snprintf(why, whysize, "not JSON (byte %zu: %s)", err.offset, err.what);
		return -EINVAL;
	}
	if (t != JSON_OBJECT)
		return fail(why, whysize, "not a JSON object");
	if (json_skip_ws(body, len, pos) != len)
		return fail(why, whysize, "text after the JSON object");
	v->p = body + json_skip_ws(body, len, 0);
	v->len = (size_t)(body + pos - v->p);
	v->type = t;
	return 0;
}

/*
 * The member key of the validated object o (its last occurrence, as jq
 * does): 0, or -ENOENT. Keys with escapes never match.
 */
static int member(const struct val *o, const char *key, struct val *out)
{
	size_t pos = 1, klen = strlen(key);
	int found = -ENOENT;

	if (o->type != JSON_OBJECT)
		return -ENOENT;
	for (;;) {
		size_t kstart, kend, vstart;
		enum json_type t;
		bool esc;

		pos = json_skip_ws(o->p, o->len, pos);
		if (pos >= o->len || o->p[pos] == '}')
			break;
		kstart = pos;
		if (json_scan_string(o->p, o->len, &pos, &esc, NULL) < 0)
			break;
		kend = pos;
		pos = json_skip_ws(o->p, o->len, pos);
		if (pos >= o->len || o->p[pos] != ':')
			break;
		vstart = json_skip_ws(o->p, o->len, pos + 1);
		pos = vstart;
		if (json_scan_value(o->p, o->len, &pos, &t, NULL, NULL) < 0)
			break;
		if (!esc && kend - kstart == klen + 2 && !memcmp(o->p + kstart + 1, key, klen)) {
			out->p = o->p + vstart;
			out->len = pos - vstart;
			out->type = t;
			found = 0;
		}
		pos = json_skip_ws(o->p, o->len, pos);
		if (pos < o->len && o->p[pos] == ',')
			pos++;
	}
	return found;
}

/* Walk a path of keys from o. */
static int path(const struct val *o, const char *const *keys, size_t n, struct val *out)
{
	struct val cur = *o, next;

	for (size_t i = 0; i < n; i++) {
		if (member(&cur, keys[i], &next) < 0)
			return -ENOENT;
		cur = next;
	}
	*out = cur;
	return 0;
}

static int count_of(const struct val *stats, const char *key, uint64_t *out, char *why,
		    size_t whysize)
{
	struct val v;

	if (member(stats, key, &v) < 0 || v.type != JSON_NUMBER ||
	    json_number_u64(v.p, v.len, out) < 0 || *out > COUNT_MAX) {
		snprintf(why, whysize, "no count '%s' in the analysis stats", key);
		return -EINVAL;
	}
	return 0;
}

/* The four counts, and the total of every count the stats hold. */
static int read_stats(const struct val *stats, struct vt_counts *c, char *why, size_t whysize)
{
	size_t pos = 1;

	if (stats->type != JSON_OBJECT)
		return fail(why, whysize, "the analysis stats are not an object");
	if (count_of(stats, "malicious", &c->malicious, why, whysize) < 0 ||
	    count_of(stats, "suspicious", &c->suspicious, why, whysize) < 0 ||
	    count_of(stats, "undetected", &c->undetected, why, whysize) < 0 ||
	    count_of(stats, "harmless", &c->harmless, why, whysize) < 0)
		return -EINVAL;
	c->engines = 0;
	for (;;) {
		size_t vstart;
		enum json_type t;
		uint64_t n;

		pos = json_skip_ws(stats->p, stats->len, pos);
		if (pos >= stats->len || stats->p[pos] == '}')
			break;
		if (json_scan_string(stats->p, stats->len, &pos, NULL, NULL) < 0)
			break;
		pos = json_skip_ws(stats->p, stats->len, pos);
		vstart = json_skip_ws(stats->p, stats->len, pos + 1);
		pos = vstart;
		if (json_scan_value(stats->p, stats->len, &pos, &t, NULL, NULL) < 0)
			break;
		if (t == JSON_NUMBER && json_number_u64(stats->p + vstart, pos - vstart, &n) == 0 &&
		    n <= COUNT_MAX)
			c->engines += n;
		pos = json_skip_ws(stats->p, stats->len, pos);
		if (pos < stats->len && stats->p[pos] == ',')
			pos++;
	}
	return 0;
}

/* An optional date in seconds since the epoch: 0 when absent or odd. */
static uint64_t read_date(const struct val *attrs, const char *key)
{
	struct val v;
	uint64_t s;

	if (member(attrs, key, &v) < 0 || v.type != JSON_NUMBER ||
	    json_number_u64(v.p, v.len, &s) < 0 || s > 1ULL << 40)
		return 0;
	return s;
}

int vt_parse_file(const char *body, size_t len, const char *sha, struct vt_counts *c,
		  char *why, size_t whysize)
{
	static const char *const id_path[] = { "data", "id" };
	static const char *const attr_path[] = { "data", "attributes" };
	struct val root, id, attrs, stats;

	memset(c, 0, sizeof(*c));
	if (body_object(body, len, &root, why, whysize) < 0)
		return -EINVAL;
	if (path(&root, id_path, 2, &id) < 0 || id.type != JSON_STRING)
		return fail(why, whysize, "no data.id");
	/* the id of a file is its sha256, in lowercase hex */
	if (id.len != 66 || memcmp(id.p + 1, sha, 64))
		return fail(why, whysize, "the answer is about another file");
	if (path(&root, attr_path, 2, &attrs) < 0 || attrs.type != JSON_OBJECT)
		return fail(why, whysize, "no data.attributes");
	if (member(&attrs, "last_analysis_stats", &stats) < 0)
		return fail(why, whysize, "no last_analysis_stats");
	if (read_stats(&stats, c, why, whysize) < 0)
		return -EINVAL;
	c->date_s = read_date(&attrs, "last_analysis_date");
	return 0;
}

int vt_parse_analysis(const char *body, size_t len, bool *done, struct vt_counts *c,
		      char *why, size_t whysize)
{
	static const char *const attr_path[] = { "data", "attributes" };
	struct val root, attrs, status, stats;

	memset(c, 0, sizeof(*c));
	*done = false;
	if (body_object(body, len, &root, why, whysize) < 0)
		return -EINVAL;
	if (path(&root, attr_path, 2, &attrs) < 0 || attrs.type != JSON_OBJECT)
		return fail(why, whysize, "no data.attributes");
	if (member(&attrs, "status", &status) < 0 || status.type != JSON_STRING)
		return fail(why, whysize, "no analysis status");
	if (status.len != sizeof("\"completed\"") - 1 || memcmp(status.p, "\"completed\"", status.len))
		return 0;
	if (member(&attrs, "stats", &stats) < 0)
		return fail(why, whysize, "a completed analysis without stats");
	if (read_stats(&stats, c, why, whysize) < 0)
		return -EINVAL;
	c->date_s = read_date(&attrs, "date");
	*done = true;
	return 0;
}

/* A string value, undecoded (escapes refused), into out: 0 or -EINVAL. */
static int plain_string(const struct val *v, char *out, size_t size)
{
	if (v->type != JSON_STRING || v->len < 3 || v->len - 2 >= size)
		return -EINVAL;
	for (size_t i = 1; i + 1 < v->len; i++)
		if (v->p[i] == '\\' || (unsigned char)v->p[i] <= ' ' || (unsigned char)v->p[i] >= 0x7f)
			return -EINVAL;
	memcpy(out, v->p + 1, v->len - 2);
	out[v->len - 2] = '\0';
	return 0;
}

int vt_parse_upload(const char *body, size_t len, char *id, size_t idsize, char *why,
		    size_t whysize)
{
	static const char *const id_path[] = { "data", "id" };
	struct val root, v;

	if (body_object(body, len, &root, why, whysize) < 0)
		return -EINVAL;
	if (path(&root, id_path, 2, &v) < 0 || plain_string(&v, id, idsize) < 0)
		return fail(why, whysize, "no analysis id");
	/* it goes into a URL path: base64url and ':' only */
	for (const char *p = id; *p; p++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=:", *p))
			return fail(why, whysize, "an analysis id with characters a URL path cannot take");
	return 0;
}

int vt_parse_upload_url(const char *body, size_t len, char *url, size_t urlsize, char *why,
			size_t whysize)
{
	struct val root, v;

	if (body_object(body, len, &root, why, whysize) < 0)
		return -EINVAL;
	if (member(&root, "data", &v) < 0 || plain_string(&v, url, urlsize) < 0)
		return fail(why, whysize, "no upload URL");
	if (strncmp(url, "https://", 8) || !url[8] || url[8] == '/')
		return fail(why, whysize, "the upload URL is not https://");
	return 0;
}

void vt_parse_error_code(const char *body, size_t len, char *code, size_t codesize)
{
	static const char *const code_path[] = { "error", "code" };
	char why[8];
	struct val root, v;

	code[0] = '\0';
	if (body_object(body, len, &root, why, sizeof(why)) < 0 ||
	    path(&root, code_path, 2, &v) < 0 || plain_string(&v, code, codesize) < 0)
		code[0] = '\0';
}

bool vt_sha_valid(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}
