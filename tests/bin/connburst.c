/* SPDX-License-Identifier: MIT */
/*
 * New TCP connections at a steady rate, for bench/connburst.sh:
 *   connburst RATE SECONDS [refused]
 * A thread accepts and closes; the main thread connects and closes, to
 * 127.0.0.x for x in 1..250 so that TIME_WAIT does not use up the
 * ephemeral ports. Prints {"pid", "connections", "seconds"} at the end.
 * With "refused", the port is bound but not listening: every connect is
 * answered by a RST, and "connections" counts the refused ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int lfd;
static volatile int done;
static unsigned long accepted;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *acceptor(void *arg)
{
	(void)arg;
	while (!done) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		accepted++;
		close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	double rate, secs, start, t;
	unsigned long made = 0, failed = 0;
	pthread_t th;
	int one = 1;
	bool refused;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "refused"))) {
		fprintf(stderr, "usage: connburst RATE SECONDS [refused]\n");
		return 2;
	}
	refused = argc == 4;
	rate = atof(argv[1]);
	secs = atof(argv[2]);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_ANY);
	/* refused: the port is held, bound, so that nobody else listens on it */
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (!refused && listen(lfd, 4096) < 0) ||
	    getsockname(lfd, (struct sockaddr *)&a, &len) < 0) {
		perror("connburst: listen");
		return 1;
	}
	if (!refused)
		pthread_create(&th, NULL, acceptor, NULL);
	start = now();
	while ((t = now() - start) < secs) {
		/* pace: connections made so far follow rate * elapsed */
		if ((double)made > rate * t) {
			struct timespec ts = { 0, 50000 };
			nanosleep(&ts, NULL);
			continue;
		}
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		a.sin_addr.s_addr = htonl(0x7f000001 + (uint32_t)(made % 250));
		if (refused && fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
		    errno == ECONNREFUSED) {
			made++;
			close(fd);
			continue;
		}
		if (refused || fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			failed++;
			if (fd >= 0)
				close(fd);
			if (failed > 1000) {
				perror("connburst: connect");
				return 1;
			}
			continue;
		}
		made++;
		close(fd);
	}
	t = now() - start;
	usleep(200000);
	done = 1;
	shutdown(lfd, SHUT_RDWR);
	if (!refused)
		pthread_join(th, NULL);
	printf("{\"pid\":%d,\"connections\":%lu,\"accepted\":%lu,\"failed\":%lu,\"seconds\":%.2f}\n",
	       (int)getpid(), made, accepted, failed, t);
	return 0;
}
