/* SPDX-License-Identifier: MIT */
/*
 * The known executables (state.json): for each executable path, the names
 * it ran under and the sha256 hashes it had; and the paths by name. Loaded
 * with the record library's scanner, written atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "json.h"
#include "notify.h"
#include "record.h"

struct state {
	struct exe_state *tab;	/* by path */
	bool dirty;
};

struct exe_state *state_find(struct state *s, const char *path)
{
	struct exe_state *e;

	HASH_FIND_STR(s->tab, path, e);
	return e;
}

static void exe_free(struct exe_state *e)
{
	for (size_t k = 0; k < e->nnames; k++)
		free(e->names[k]);
	for (size_t k = 0; k < e->nhashes; k++)
		free(e->hashes[k]);
	free(e->names);
	free(e->hashes);
	free(e->path);
	free(e);
}

struct exe_state *state_add(struct state *s, const char *path)
{
	struct exe_state *e = calloc(1, sizeof(*e));

	if (!e || !(e->path = strdup(path))) {
		free(e);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, s->tab, e->path, strlen(e->path), e);
	if (!table_added(e, hh)) {
		exe_free(e);
		return NULL;
	}
	s->dirty = true;
	return e;
}

static bool in_list(char *const *list, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], v))
			return true;
	return false;
}

bool exe_has_name(const struct exe_state *e, const char *name)
{
	return in_list(e->names, e->nnames, name);
}

bool exe_has_hash(const struct exe_state *e, const char *hash)
{
	return in_list(e->hashes, e->nhashes, hash);
}

static int list_add(char ***list, size_t *n, const char *v)
{
	char **l = realloc(*list, (*n + 1) * sizeof(*l));

	if (!l)
		return -ENOMEM;
	*list = l;
	if (!(l[*n] = strdup(v)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* The state and the executable are changed: the caller marks it dirty. */
int exe_add_name(struct exe_state *e, const char *name)
{
	return list_add(&e->names, &e->nnames, name);
}

int exe_add_hash(struct exe_state *e, const char *hash)
{
	return list_add(&e->hashes, &e->nhashes, hash);
}

bool state_dirty(const struct state *s)
{
	return s->dirty;
}

void state_free(struct state *s)
{
	struct exe_state *e, *n;

	if (!s)
		return;
	HASH_ITER(hh, s->tab, e, n) {
		HASH_DEL(s->tab, e);
		exe_free(e);
	}
	free(s);
}

/* The decoded strings of a JSON array, added to the list. */
static int load_list(const char *s, size_t len, char ***list, size_t *n)
{
	struct buf b = BUF_INIT;

	for (size_t pos = 0, start, end; json_array_next(s, len, &pos, &start, &end);) {
		if (s[start] != '"')
			return -EINVAL;
		buf_reset(&b);
		if (buf_reserve(&b, end - start) < 0)
			return -ENOMEM;
		b.len = json_unescape(s + start + 1, end - start - 2, b.p);
		buf_putc(&b, '\0');
		if (!in_list(*list, *n, b.p) && list_add(list, n, b.p) < 0) {
			buf_release(&b);
			return -ENOMEM;
		}
	}
	buf_release(&b);
	return 0;
}

static int load(struct state *st, const char *text, size_t len, char *err,
		size_t errsize)
{
	struct record root, exes, one;
	const struct record_member *m;
	struct buf key = BUF_INIT;
	struct json_error je = { 0, "" };
	int ret = -EINVAL;

	record_init(&root);
	record_init(&exes);
	record_init(&one);
	if (record_parse(&root, text, len, &je) < 0) {
		snprintf(err, errsize, "%s at byte %zu", je.what, je.offset);
		goto out;
	}
	m = record_find(&root, "executables");
	if (!m || m->type != JSON_OBJECT ||
	    record_parse(&exes, record_val(&root, m), m->val_len, NULL) < 0) {
		snprintf(err, errsize, "no \"executables\" object");
		goto out;
	}
	for (size_t i = 0; i < exes.n; i++) {
		const struct record_member *x = &exes.m[i], *names, *hashes;
		struct exe_state *e;

		buf_reset(&key);
		if (buf_reserve(&key, x->key_len + 1) < 0)
			goto out;
		key.len = json_unescape(exes.line + x->key_off, x->key_len, key.p);
		buf_putc(&key, '\0');
		if (x->type != JSON_OBJECT ||
		    record_parse(&one, record_val(&exes, x), x->val_len, NULL) < 0) {
			snprintf(err, errsize, "the entry of '%s' is not an object", key.p);
			goto out;
		}
		e = state_find(st, key.p);
		if (!e && !(e = state_add(st, key.p)))
			goto out;
		names = record_find(&one, "names");
		hashes = record_find(&one, "sha256");
		if ((names && (names->type != JSON_ARRAY ||
			       load_list(record_val(&one, names), names->val_len, &e->names, &e->nnames) < 0)) ||
		    (hashes && (hashes->type != JSON_ARRAY ||
				load_list(record_val(&one, hashes), hashes->val_len, &e->hashes, &e->nhashes) < 0))) {
			snprintf(err, errsize, "the lists of '%s' are not arrays of strings", key.p);
			goto out;
		}
	}
	st->dirty = false;
	ret = 0;
out:
	record_release(&root);
	record_release(&exes);
	record_release(&one);
	buf_release(&key);
	return ret;
}

struct state *state_load(const char *path, char *moved, size_t movedsize,
			 char *err, size_t errsize)
{
	struct state *s = calloc(1, sizeof(*s));
	struct buf text = BUF_INIT;
	char chunk[65536];
	ssize_t n;
	int fd, r;

	moved[0] = '\0';
	if (!s)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return s;	/* none yet: everything is new */
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&text, chunk, (size_t)n);
	close(fd);
	if (!text.oom && load(s, text.p ? text.p : "", text.len, err, errsize) == 0) {
		buf_release(&text);
		return s;
	}
	/* unreadable: keep it for a person to look at, and start afresh */
	r = file_move_aside(path, NULL, moved, movedsize);
	if (r < 0) {
		size_t used = strlen(err);

		snprintf(err + used, errsize - used, "; it cannot be moved aside: %s", strerror(-r));
	}
	buf_release(&text);
	state_free(s);
	s = calloc(1, sizeof(*s));
	return s;
}

static void put_list(struct buf *b, char *const *l, size_t n)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		json_put_cstr(b, l[i]);
	}
	buf_putc(b, ']');
}

struct name_ref {
	const char *name, *path;
};

static int cmp_exe(const void *a, const void *b)
{
	return strcmp((*(struct exe_state *const *)a)->path, (*(struct exe_state *const *)b)->path);
}

static int cmp_name(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->path, y->path);
}

/*
 * The file: executables by path (each with its names and hashes), and the
 * same the other way round, the paths by name, for a person reading it.
 * Both sorted, so that two states compare with diff.
 */
static int render(struct state *s, struct buf *b)
{
	size_t count = HASH_COUNT(s->tab);
	struct exe_state **exes = calloc(count ? count : 1, sizeof(*exes));
	struct name_ref *names = NULL;
	size_t n = 0, nn = 0, cap = 0;

	if (!exes)
		return -ENOMEM;
	for (struct exe_state *e = s->tab; e; e = e->hh.next) {
		exes[n++] = e;
		for (size_t k = 0; k < e->nnames; k++) {
			if (nn == cap) {
				struct name_ref *t = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*t));
				if (!t) {
					free(names);
					free(exes);
					return -ENOMEM;
				}
				names = t;
			}
			names[nn].name = e->names[k];
			names[nn++].path = e->path;
		}
	}
	qsort(exes, n, sizeof(*exes), cmp_exe);
	if (nn)
		qsort(names, nn, sizeof(*names), cmp_name);
	buf_puts(b, "{\"v\":1,\n\"executables\":{");
	for (size_t i = 0; i < n; i++) {
		buf_puts(b, i ? ",\n" : "\n");
		json_put_cstr(b, exes[i]->path);
		buf_puts(b, ":{\"names\":");
		put_list(b, exes[i]->names, exes[i]->nnames);
		buf_puts(b, ",\"sha256\":");
		put_list(b, exes[i]->hashes, exes[i]->nhashes);
		buf_putc(b, '}');
	}
	buf_puts(b, "},\n\"names\":{");
	for (size_t i = 0; i < nn; i++) {
		bool same = i && !strcmp(names[i - 1].name, names[i].name);

		if (same) {
			buf_putc(b, ',');
		} else {
			buf_puts(b, i ? "],\n" : "\n");
			json_put_cstr(b, names[i].name);
			buf_puts(b, ":[");
		}
		json_put_cstr(b, names[i].path);
	}
	buf_puts(b, nn ? "]}}\n" : "}}\n");
	free(names);
	free(exes);
	return 0;
}

int state_save(struct state *s, const char *path, const struct file_perms *perms)
{
	struct buf b = BUF_INIT;
	int ret;

	if (render(s, &b) < 0 || b.oom)
		ret = -ENOMEM;
	else
		ret = atomic_write_file(path, b.p, b.len, 0640, perms, 0);
	if (!ret)
		s->dirty = false;
	buf_release(&b);
	return ret;
}

void state_touch(struct state *s)
{
	s->dirty = true;
}
