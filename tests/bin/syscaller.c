/* SPDX-License-Identifier: MIT */
/*
 * A known number of system calls, for the syscall counters' test and
 * bench (tests/20-trace.bats, bench/syscalls.sh):
 *   syscaller [--pause-ms MS] CALL N [CALL N]...   make N calls of each CALL, in order,
 *                                                  pausing MS between groups; prints
 *                                                  {"pid":...,"made":{"socket":8,...}}: every
 *                                                  call of those it made (connect's socket too)
 *   syscaller --time CALL N                        make N calls as fast as it can;
 *                                                  prints {"pid":...,"ns_per_call":...}
 * CALL: socket (an AF_INET datagram socket, closed at once), connect (a
 * UDP socket connected to 127.0.0.1 port 9: no packet is sent), setuid
 * (to the current uid), getppid. Made with syscall(2): libc adds none.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int usock = -1;
static struct sockaddr_in peer;
static const char *const names[] = { "socket", "connect", "setuid", "getppid" };
static unsigned long made[4];

static int one(const char *call)
{
	if (!strcmp(call, "socket")) {
		long fd = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
		made[0]++;
		if (fd < 0)
			return -1;
		close((int)fd);
	} else if (!strcmp(call, "connect")) {
		if (usock < 0) {
			usock = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			made[0]++;
		}
		made[1]++;
		if (syscall(SYS_connect, usock, (struct sockaddr *)&peer, sizeof(peer)) < 0)
			return -1;
	} else if (!strcmp(call, "setuid")) {
		made[2]++;
		if (syscall(SYS_setuid, getuid()) < 0)
			return -1;
	} else if (!strcmp(call, "getppid")) {
		made[3]++;
		(void)syscall(SYS_getppid);
	} else {
		return -2;
	}
	return 0;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long pause_ms = 0;
	int i = 1;
	bool timed = false;

	if (argc > 2 && !strcmp(argv[1], "--pause-ms")) {
		pause_ms = strtol(argv[2], NULL, 10);
		i = 3;
	} else if (argc > 1 && !strcmp(argv[1], "--time")) {
		timed = true;
		i = 2;
	}
	if (argc <= i || (argc - i) % 2) {
		fprintf(stderr, "usage: syscaller [--pause-ms MS | --time] CALL N [CALL N]...\n");
		return 2;
	}
	peer.sin_family = AF_INET;
	peer.sin_port = htons(9);
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (; i < argc; i += 2) {
		long n = strtol(argv[i + 1], NULL, 10);
		double t0 = now_ns();

		for (long k = 0; k < n; k++) {
			int r = one(argv[i]);

			if (r == -2) {
				fprintf(stderr, "syscaller: unknown call '%s'\n", argv[i]);
				return 2;
			}
			if (r < 0) {
				perror(argv[i]);
				return 1;
			}
		}
		if (timed) {
			printf("{\"pid\":%d,\"ns_per_call\":%.2f}\n", (int)getpid(),
			       (now_ns() - t0) / (double)(n ? n : 1));
			return 0;
		}
		if (pause_ms && i + 2 < argc)
			usleep((useconds_t)pause_ms * 1000);
	}
	printf("{\"pid\":%d,\"made\":{", (int)getpid());
	for (int k = 0, first = 1; k < 4; k++) {
		if (!made[k])
			continue;
		printf("%s\"%s\":%lu", first ? "" : ",", names[k], made[k]);
		first = 0;
	}
	printf("}}\n");
	return 0;
}
