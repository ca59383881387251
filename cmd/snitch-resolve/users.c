/* SPDX-License-Identifier: MIT */
/* uid -> user name, JSON-encoded, cached (NSS lookups can be slow). */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "resolve.h"

struct user_ent {
	uint32_t uid;
	char *json;
	UT_hash_handle hh;
};

static struct user_ent *users;		/* by uid */

const char *user_json(uint32_t uid)
{
	struct user_ent *e;
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	struct buf b = BUF_INIT;

	HASH_FIND(hh, users, &uid, sizeof(uid), e);
	if (e)
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
	HASH_ADD(hh, users, uid, sizeof(uid), e);
	if (!table_added(e, hh)) {
		free(e);
		buf_release(&b);
		return "null";
	}
	return e->json;
}

void users_free(void)
{
	struct user_ent *e, *n;

	HASH_ITER(hh, users, e, n) {
		HASH_DEL(users, e);
		free(e->json);
		free(e);
	}
}
