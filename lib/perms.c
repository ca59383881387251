/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perms.h"

int perms_parse(struct file_perms *p, const char *owner, const char *group,
		const char *mode, char *err, size_t errsize)
{
	char *end;
	unsigned long m;

	errno = 0;
	m = strtoul(mode, &end, 8);
	if (!*mode || *end || errno || m > 07777) {
		snprintf(err, errsize, "invalid value '%s' for --mode: expected an octal mode such as 0640",
			 mode);
		return -1;
	}
	p->mode = (mode_t)m;
	p->uid = (uid_t)-1;
	p->gid = (gid_t)-1;
	p->set_owner = false;
	if (owner && *owner) {
		struct passwd *pw = getpwnam(owner);

		if (!pw) {
			snprintf(err, errsize, "invalid value '%s' for --owner: no such user", owner);
			return -1;
		}
		p->uid = pw->pw_uid;
		p->gid = pw->pw_gid;
		p->set_owner = true;
	}
	if (group && *group) {
		struct group *gr = getgrnam(group);

		if (!gr) {
			snprintf(err, errsize, "invalid value '%s' for --group: no such group", group);
			return -1;
		}
		p->gid = gr->gr_gid;
		p->set_owner = true;
	}
	return 0;
}

void perms_apply(const struct file_perms *p, const char *path, bool dir)
{
	mode_t m;

	if (!p)
		return;
	m = p->mode;
	if (dir)
		m |= (m & 0444) >> 2;	/* x where r is */
	(void)chmod(path, m);
	if (p->set_owner)
		(void)chown(path, p->uid, p->gid);
}

void perms_apply_fd(const struct file_perms *p, int fd)
{
	if (!p)
		return;
	/* owner first: a chown by root may clear set-id bits of the mode */
	if (p->set_owner)
		(void)fchown(fd, p->uid, p->gid);
	(void)fchmod(fd, p->mode);
}

int perms_mkdirs(const char *path, const struct file_perms *p)
{
	char tmp[4096];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (!n)
		return 0;
	memcpy(tmp, path, n + 1);
	for (char *s = tmp + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(tmp, 0700) == 0)
				perms_apply(p, tmp, true);
			else if (errno != EEXIST)
				return -errno;
			*s = c;
			if (!c)
				break;
		}
	}
	return 0;
}

int perms_mkdirs_for(const char *file, const struct file_perms *p)
{
	char tmp[4096];
	char *slash;

	if (strlen(file) >= sizeof(tmp))
		return -ENAMETOOLONG;
	strcpy(tmp, file);
	slash = strrchr(tmp, '/');
	if (!slash || slash == tmp)
		return 0;
	*slash = '\0';
	return perms_mkdirs(tmp, p);
}
