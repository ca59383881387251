/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "record.h"

void record_init(struct record *r)
{
	memset(r, 0, sizeof(*r));
}

void record_release(struct record *r)
{
	if (!r)
		return;
	free(r->m);
	free(r->e);
	buf_release(&r->text);
	memset(r, 0, sizeof(*r));
}

static int add_member(struct record *r, const struct record_member *m)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct record_member *p = realloc(r->m, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		r->m = p;
		r->cap = cap;
	}
	r->m[r->n++] = *m;
	return 0;
}

static int bad(struct json_error *err, size_t off, const char *what)
{
	if (err) {
		err->offset = off;
		err->what = what;
	}
	return -EINVAL;
}

int record_peek_type(const char *line, size_t len, char *out, size_t size)
{
	size_t i = json_skip_ws(line, len, 0);

	if (i >= len || line[i] != '{')
		return -EINVAL;
	i = json_skip_ws(line, len, i + 1);
	while (i < len && line[i] == '"') {
		size_t k = i, v;
		enum json_type t;
		bool esc, is_type;

		if (json_scan_string(line, len, &i, &esc, NULL) < 0)
			return -EINVAL;
		is_type = !esc && i - k == 6 && !memcmp(line + k, "\"type\"", 6);

		i = json_skip_ws(line, len, i);
		if (i >= len || line[i] != ':')
			return -EINVAL;
		i = json_skip_ws(line, len, i + 1);
		v = i;
		if (json_scan_value(line, len, &i, &t, &esc, NULL) < 0)
			return -EINVAL;
		if (is_type) {
			size_t n = i - v - 2;

			if (t != JSON_STRING || esc || n >= size)
				return -ENOENT;
			memcpy(out, line + v + 1, n);
			out[n] = '\0';
			return 0;
		}
		i = json_skip_ws(line, len, i);
		if (i >= len || line[i] != ',')
			break;
		i = json_skip_ws(line, len, i + 1);
	}
	return -ENOENT;
}

int record_parse(struct record *r, const char *line, size_t len,
		 struct json_error *err)
{
	size_t i;

	r->line = line;
	r->len = len;
	r->n = 0;
	r->ne = 0;
	r->appended = 0;
	r->oom = 0;
	buf_reset(&r->text);
	r->text.oom = 0;

	if (len >= UINT32_MAX)
		return bad(err, 0, "too long");	/* offsets are 32-bit */
	i = json_skip_ws(line, len, 0);
	if (i >= len)
		return bad(err, i, "empty line");
	if (line[i] != '{')
		return bad(err, i, "not a JSON object");
	i = json_skip_ws(line, len, i + 1);
	if (i < len && line[i] == '}')
		goto closed;
	for (;;) {
		struct record_member m;
		enum json_type t;
		bool esc;
		size_t k;

		if (i >= len)
			return bad(err, i, "unexpected end of input");
		if (line[i] != '"')
			return bad(err, i, "expected a string key");
		k = i;
		if (json_scan_string(line, len, &i, &esc, err) < 0)
			return -EINVAL;
		m.key_off = (uint32_t)(k + 1);
		m.key_len = (uint32_t)(i - k - 2);
		m.key_escaped = esc;
		i = json_skip_ws(line, len, i);
		if (i >= len || line[i] != ':')
			return bad(err, i, "expected ':'");
		i = json_skip_ws(line, len, i + 1);
		k = i;
		if (json_scan_value(line, len, &i, &t, &esc, err) < 0)
			return -EINVAL;
		m.val_off = (uint32_t)k;
		m.val_len = (uint32_t)(i - k);
		m.type = (uint8_t)t;
		m.val_escaped = esc;
		if (add_member(r, &m) < 0)
			return -ENOMEM;
		i = json_skip_ws(line, len, i);
		if (i < len && line[i] == ',') {
			i = json_skip_ws(line, len, i + 1);
			continue;
		}
		if (i < len && line[i] == '}')
			break;
		return bad(err, i, i < len ? "expected ',' or '}'"
					   : "unexpected end of input");
	}
closed:
	r->close_off = i;
	i = json_skip_ws(line, len, i + 1);
	if (i != len)
		return bad(err, i, "trailing characters after the object");
	return 0;
}

/* Does member m's key equal key[0, klen)? */
static bool key_eq(const struct record *r, const struct record_member *m,
		   const char *key, size_t klen)
{
	if (!m->key_escaped)
		return m->key_len == klen &&
		       memcmp(r->line + m->key_off, key, klen) == 0;
	/* An escaped key decodes to at most key_len bytes. */
	if (m->key_len < klen)
		return false;
	char tmp[256];
	if (m->key_len > sizeof(tmp))
		return false;	/* longer than any key this project reads */
	size_t n = json_unescape(r->line + m->key_off, m->key_len, tmp);
	return n == klen && memcmp(tmp, key, klen) == 0;
}

static const struct record_member *find_n(const struct record *r,
					  const char *key, size_t klen)
{
	for (size_t i = r->n; i-- > 0;)
		if (key_eq(r, &r->m[i], key, klen))
			return &r->m[i];
	return NULL;
}

const struct record_member *record_find(const struct record *r,
					const char *key)
{
	return find_n(r, key, strlen(key));
}

void record_find_many(const struct record *r, const char *const *keys,
		      size_t nkeys, const struct record_member **out)
{
	/*
	 * Most members match none of the keys: bucket the keys by length so
	 * a member is compared only with the few keys of its own length.
	 */
	enum { MAXLEN = 40, PERLEN = 8 };
	uint8_t bylen[MAXLEN + 1][PERLEN];
	uint8_t nlen[MAXLEN + 1] = { 0 };
	uint32_t klen[64];
	bool slow = false;

	if (nkeys > 64)
		nkeys = 64;
	for (size_t j = 0; j < nkeys; j++) {
		out[j] = NULL;
		klen[j] = (uint32_t)strlen(keys[j]);
		if (klen[j] > MAXLEN || nlen[klen[j]] == PERLEN)
			slow = true;
		else
			bylen[klen[j]][nlen[klen[j]]++] = (uint8_t)j;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct record_member *m = &r->m[i];
		const char *key = r->line + m->key_off;

		if (slow || m->key_escaped) {
			for (size_t j = 0; j < nkeys; j++)
				if (key_eq(r, m, keys[j], klen[j]))
					out[j] = m;
			continue;
		}
		if (m->key_len > MAXLEN)
			continue;
		for (unsigned x = 0; x < nlen[m->key_len]; x++) {
			size_t j = bylen[m->key_len][x];

			if (memcmp(key, keys[j], m->key_len) == 0)
				out[j] = m;	/* later occurrences win */
		}
	}
}

/* 0 if m is a number; else why not, as the typed reads return it. */
static int member_number(const struct record_member *m)
{
	if (!m)
		return -ENOENT;
	if (m->type == JSON_NULL)
		return -ENODATA;
	return m->type == JSON_NUMBER ? 0 : -EINVAL;
}

int record_member_u64(const struct record *r, const struct record_member *m,
		      uint64_t *out)
{
	int ret = member_number(m);

	if (ret < 0)
		return ret;
	if (r->line[m->val_off] == '-')
		return -ERANGE;
	return json_number_u64(record_val(r, m), m->val_len, out);
}

int record_member_i64(const struct record *r, const struct record_member *m,
		      int64_t *out)
{
	int ret = member_number(m);

	return ret < 0 ? ret : json_number_i64(record_val(r, m), m->val_len, out);
}

int record_member_str(const struct record *r, const struct record_member *m,
		      struct buf *out)
{
	size_t n;

	if (!m)
		return -ENOENT;
	if (m->type == JSON_NULL)
		return -ENODATA;
	if (m->type != JSON_STRING)
		return -EINVAL;
	n = m->val_len - 2;
	if (!m->val_escaped) {
		buf_append(out, r->line + m->val_off + 1, n);
		return out->oom ? -ENOMEM : 0;
	}
	if (buf_reserve(out, n) < 0)
		return -ENOMEM;
	out->len += json_unescape(r->line + m->val_off + 1, n,
				  out->p + out->len);
	return 0;
}

int record_get_u64(const struct record *r, const char *key, uint64_t *out)
{
	return record_member_u64(r, record_find(r, key), out);
}

int record_get_i64(const struct record *r, const char *key, int64_t *out)
{
	return record_member_i64(r, record_find(r, key), out);
}

int record_get_str(const struct record *r, const char *key, struct buf *out)
{
	return record_member_str(r, record_find(r, key), out);
}

bool record_member_is(const struct record *r, const struct record_member *m,
		      const char *s)
{
	size_t n = strlen(s);

	return m && m->type == JSON_STRING && !m->val_escaped &&
	       m->val_len == n + 2 &&
	       memcmp(r->line + m->val_off + 1, s, n) == 0;
}

static int add_edit(struct record *r, size_t off, size_t end,
		    size_t text_off)
{
	if (r->text.oom) {
		r->oom = 1;
		return -ENOMEM;
	}
	if (r->ne >= RECORD_EDITS_MAX) {
		r->oom = 1;
		return -E2BIG;
	}
	if (r->ne == r->ecap) {
		size_t cap = r->ecap ? r->ecap * 2 : 8;
		struct record_edit *p = realloc(r->e, cap * sizeof(*p));
		if (!p) {
			r->oom = 1;
			return -ENOMEM;
		}
		r->e = p;
		r->ecap = cap;
	}
	r->e[r->ne++] = (struct record_edit){
		.off = (uint32_t)off,
		.end = (uint32_t)end,
		.text_off = (uint32_t)text_off,
		.text_len = (uint32_t)(r->text.len - text_off),
	};
	return 0;
}

/*
 * Start an edit for key: returns where its text begins in r->text, after
 * writing the member prefix when the key is new. *m is the member replaced,
 * or NULL. RECORD_NEW_KEY as *m on entry means the caller knows the key is
 * absent, and spares the search.
 */
static size_t edit_begin(struct record *r, const char *key,
			 const struct record_member **m)
{
	size_t start = r->text.len;

	if (*m != RECORD_NEW_KEY)
		*m = record_find(r, key);
	else
		*m = NULL;
	if (!*m) {
		if (r->n > 0 || r->appended > 0)
			buf_putc(&r->text, ',');
		json_put_cstr(&r->text, key);
		buf_putc(&r->text, ':');
	}
	return start;
}

static int edit_end(struct record *r, const struct record_member *m,
		    size_t start)
{
	int ret;

	if (m)
		return add_edit(r, m->val_off, m->val_off + m->val_len, start);
	ret = add_edit(r, r->close_off, r->close_off, start);
	if (ret == 0)
		r->appended++;
	return ret;
}

static int put_raw(struct record *r, const char *key,
		   const struct record_member *m, const char *json, size_t len)
{
	size_t start = edit_begin(r, key, &m);

	buf_append(&r->text, json, len);
	return edit_end(r, m, start);
}

int record_set_raw(struct record *r, const char *key, const char *json,
		   size_t len)
{
	return put_raw(r, key, NULL, json, len);
}

int record_add_raw(struct record *r, const char *key, const char *json,
		   size_t len)
{
	return put_raw(r, key, RECORD_NEW_KEY, json, len);
}

int record_add_members(struct record *r, const char *text, size_t len)
{
	size_t start = r->text.len;
	int ret;

	if (len == 0)
		return 0;
	if (r->n > 0 || r->appended > 0)
		buf_putc(&r->text, ',');
	buf_append(&r->text, text, len);
	ret = add_edit(r, r->close_off, r->close_off, start);
	if (ret == 0)
		r->appended++;
	return ret;
}

int record_set_str(struct record *r, const char *key, const void *s,
		   size_t len)
{
	const struct record_member *m = NULL;
	size_t start = edit_begin(r, key, &m);

	json_put_str(&r->text, s, len);
	return edit_end(r, m, start);
}

int record_set_u64(struct record *r, const char *key, uint64_t v)
{
	const struct record_member *m = NULL;
	size_t start = edit_begin(r, key, &m);

	buf_put_u64(&r->text, v);
	return edit_end(r, m, start);
}

int record_set_null(struct record *r, const char *key)
{
	return record_set_raw(r, key, "null", 4);
}

void record_write(const struct record *r, struct buf *out)
{
	size_t order[RECORD_EDITS_MAX], n = r->ne, pos = 0;
	const struct record_edit *e = r->e;

	if (n == 0) {
		buf_append(out, r->line, r->len);
		buf_putc(out, '\n');
		return;
	}
	/* Insertion sort by offset, stable, so appends keep their order. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		while (j > 0 && e[order[j - 1]].off > e[i].off) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	if (buf_reserve(out, r->len + r->text.len + 1) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct record_edit *x = &e[order[i]];

		buf_append(out, r->line + pos, x->off - pos);
		buf_append(out, r->text.p + x->text_off, x->text_len);
		pos = x->end;
	}
	buf_append(out, r->line + pos, r->len - pos);
	buf_putc(out, '\n');
}
