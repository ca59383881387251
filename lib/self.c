/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "self.h"

int self_exe(char path[PATH_MAX], char dir[PATH_MAX])
{
	ssize_t n = readlink("/proc/self/exe", path, PATH_MAX - 1);

	if (n <= 0) {
		log_msg("cannot find my own executable: %s", strerror(errno));
		return -1;
	}
	path[n] = '\0';
	memcpy(dir, path, (size_t)n + 1);
	*strrchr(dir, '/') = '\0';
	return 0;
}
