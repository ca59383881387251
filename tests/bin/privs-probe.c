/* SPDX-License-Identifier: MIT */
/*
 * privs-probe GROUPS ACTION: drops with lib/privs.c the way a stage does
 * (the user from SNITCH_USER, no capability kept, the seccomp groups
 * named: read,write,net,listen,threads,fork or none), then tries ACTION
 * and prints "allowed" or "refused: <errno name>", exit 0 either way
 * (1 when the drop itself failed). For tests/62-privs.bats.
 *   exec       execve /bin/true
 *   fork       fork a child
 *   thread     start a thread
 *   open-read  open /etc/hostname read-only
 *   open-write create a file in $TMPDIR (or /tmp)
 *   socket     an AF_INET datagram socket
 *   ptrace     ptrace(PTRACE_ATTACH) on the parent
 *   setuid     setresuid to nobody's uid
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privs.h"

static void *nothing(void *arg)
{
	return arg;
}

static unsigned int groups(const char *s)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} g[] = {
		{ "read", PRIVS_OPEN_READ }, { "write", PRIVS_OPEN_WRITE }, { "net", PRIVS_NET },
		{ "listen", PRIVS_LISTEN }, { "threads", PRIVS_THREADS }, { "fork", PRIVS_FORK },
	};
	unsigned int allow = 0;
	char *copy = strdup(s), *tok, *save;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++)
			if (!strcmp(tok, g[i].name))
				allow |= g[i].bit;
	free(copy);
	return allow;
}

static int try(const char *what)
{
	char path[4096];
	const char *tmp = getenv("TMPDIR");
	pthread_t th;
	pid_t pid;
	int fd, r;

	if (!strcmp(what, "exec")) {
		char *argv[] = { "true", NULL };

		execv("/bin/true", argv);
		return -errno;
	}
	if (!strcmp(what, "fork")) {
		pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0)
			_exit(0);
		(void)waitpid(pid, NULL, 0);
		return 0;
	}
	if (!strcmp(what, "thread")) {
		if ((r = pthread_create(&th, NULL, nothing, NULL)) != 0)
			return -r;
		pthread_join(th, NULL);
		return 0;
	}
	if (!strcmp(what, "open-read")) {
		if ((fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC)) < 0)
			return -errno;
		close(fd);
		return 0;
	}
	if (!strcmp(what, "open-write")) {
		snprintf(path, sizeof(path), "%s/privs-probe.%d", tmp && *tmp ? tmp : "/tmp",
			 (int)getpid());
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
			return -errno;
		close(fd);
		unlink(path);
		return 0;
	}
	if (!strcmp(what, "socket")) {
		if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
			return -errno;
		close(fd);
		return 0;
	}
	if (!strcmp(what, "ptrace"))
		return ptrace(PTRACE_ATTACH, getppid(), NULL, NULL) < 0 ? -errno : 0;
	if (!strcmp(what, "setuid"))
		return setresuid(65534, 65534, 65534) < 0 ? -errno : 0;
	fprintf(stderr, "privs-probe: unknown action '%s'\n", what);
	exit(2);
}

int main(int argc, char **argv)
{
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: privs-probe GROUPS ACTION\n");
		return 2;
	}
	if (privs_drop(&(const struct privs){ .allow = groups(argv[1]) }) < 0)
		return 1;
	r = try(argv[2]);
	if (r == 0)
		printf("allowed\n");
	else
		printf("refused: %s\n", strerrorname_np(-r));
	return 0;
}
