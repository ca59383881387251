/* SPDX-License-Identifier: MIT */
/*
 * Many new executables at a steady rate, for bench/exeburst.sh:
 *
 *   exeburst make DIR N              N copies of this program, DIR/e00001..,
 *                                    each with its own bytes at the end (so
 *                                    its own sha256); prints nothing
 *   exeburst spawn DIR N RATE PORT   runs DIR/e00001.. "send PORT", RATE a
 *                                    second, while a UDP socket on
 *                                    127.0.0.1:PORT takes what they send;
 *                                    waits for them all and prints
 *                                    {"spawned","failed","seconds"}
 *   exeburst send PORT               one 100-byte UDP datagram to
 *                                    127.0.0.1:PORT, then exits
 *
 * Every wait is bounded: a child that is not done 10 s after the last
 * start is counted failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr, "usage: exeburst make DIR N | spawn DIR N RATE PORT | send PORT\n");
	return 2;
}

static struct sockaddr_in loopback(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int do_send(unsigned port)
{
	struct sockaddr_in a = loopback(port);
	char msg[100];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(msg, 'x', sizeof(msg));
	if (fd < 0 || sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&a, sizeof(a)) != sizeof(msg))
		return 1;
	close(fd);
	return 0;
}

/* The bytes of this program, read once. */
static char *self_image(size_t *len)
{
	static char img[1 << 20];
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	*len = 0;
	while ((n = read(fd, img + *len, sizeof(img) - *len)) > 0)
		*len += (size_t)n;
	close(fd);
	return n == 0 && *len < sizeof(img) ? img : NULL;
}

static int do_make(const char *dir, unsigned long n)
{
	size_t len;
	char *img = self_image(&len);

	if (!img || (mkdir(dir, 0755) < 0 && errno != EEXIST)) {
		perror(dir);
		return 1;
	}
	for (unsigned long i = 1; i <= n; i++) {
		char path[4096], tail[32];
		int fd, tl = snprintf(tail, sizeof(tail), "\nexeburst %05lu\n", i);

		snprintf(path, sizeof(path), "%s/e%05lu", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
		if (fd < 0 || write(fd, img, len) != (ssize_t)len || write(fd, tail, (size_t)tl) != tl ||
		    close(fd) < 0) {
			perror(path);
			return 1;
		}
	}
	return 0;
}

/* Reap what has ended; with block, wait for the rest until deadline. */
static void reap(unsigned long *running, unsigned long *failed, uint64_t deadline)
{
	int st;
	pid_t p;

	while (*running && (p = waitpid(-1, &st, deadline ? 0 : WNOHANG)) != 0) {
		if (p < 0) {
			if (errno == EINTR && (!deadline || mono_ns() < deadline))
				continue;
			break;
		}
		(*running)--;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			(*failed)++;
	}
}

static void on_alarm(int sig)
{
	(void)sig;	/* interrupts a blocked waitpid: the deadline */
}

static int do_spawn(const char *dir, unsigned long n, unsigned long rate, unsigned port)
{
	struct sockaddr_in a = loopback(port);
	unsigned long running = 0, failed = 0;
	uint64_t t0, gap = 1000000000ULL / rate;
	char portarg[16], path[4096];
	int sink = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sigaction sa = { .sa_handler = on_alarm };

	if (sink < 0 || bind(sink, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("the UDP sink");
		return 1;
	}
	snprintf(portarg, sizeof(portarg), "%u", port);
	t0 = mono_ns();
	for (unsigned long i = 1; i <= n; i++) {
		uint64_t at = t0 + (i - 1) * gap, now = mono_ns();
		char *argv[] = { path, "send", portarg, NULL };
		char drain[256];
		pid_t pid;

		if (at > now) {
			struct timespec ts = { .tv_sec = (time_t)((at - now) / 1000000000ULL),
					       .tv_nsec = (long)((at - now) % 1000000000ULL) };

			nanosleep(&ts, NULL);
		}
		snprintf(path, sizeof(path), "%s/e%05lu", dir, i);
		if (posix_spawn(&pid, path, NULL, NULL, argv, environ) == 0)
			running++;
		else
			failed++;
		while (recv(sink, drain, sizeof(drain), 0) > 0)
			;
		reap(&running, &failed, 0);
	}
	/* the rest, for at most 10 s */
	sigaction(SIGALRM, &sa, NULL);
	alarm(10);
	reap(&running, &failed, mono_ns() + 10000000000ULL);
	alarm(0);
	failed += running;
	printf("{\"spawned\":%lu,\"failed\":%lu,\"seconds\":%.2f}\n", n - failed, failed,
	       (double)(mono_ns() - t0) / 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "send"))
		return do_send((unsigned)strtoul(argv[2], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "make"))
		return do_make(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 6 && !strcmp(argv[1], "spawn")) {
		unsigned long rate = strtoul(argv[4], NULL, 10);

		if (!rate)
			return usage();
		return do_spawn(argv[2], strtoul(argv[3], NULL, 10), rate,
				(unsigned)strtoul(argv[5], NULL, 10));
	}
	return usage();
}
