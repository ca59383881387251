/* SPDX-License-Identifier: MIT */
/* uid -> user name, JSON-encoded, cached (NSS lookups can be slow). */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "resolve.h"

#define USERS 1024

struct user_ent {
	uint32_t uid;
	char *json;
	struct user_ent *next;
};

static struct user_ent *users[USERS];

const char *user_json(uint32_t uid)
{
	struct user_ent *e = users[uid % USERS];
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	struct buf b = BUF_INIT;

	for (; e; e = e->next)
		if (e->uid == uid)
			return e->json;
	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
		json_put_cstr(&b, pw.pw_name);
	else
		buf_puts(&b, "null");	/* a uid with no name */
	buf_putc(&b, '\0');
	e = malloc(sizeof(*e));
	if (!e || b.oom) {
		free(e);
		buf_release(&b);
		return "null";
	}
	e->uid = uid;
	e->json = b.p;
	e->next = users[uid % USERS];
	users[uid % USERS] = e;
	return e->json;
}

void users_free(void)
{
	for (size_t i = 0; i < USERS; i++) {
		struct user_ent *e = users[i], *n;
		for (; e; e = n) {
			n = e->next;
			free(e->json);
			free(e);
		}
		users[i] = NULL;
	}
}
