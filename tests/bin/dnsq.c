/* SPDX-License-Identifier: MIT */
/*
 * Resolve a name with the C library's resolver and print "PID ADDR...";
 * with "send", then send one datagram to the first address, port 9.
 * DNSQ_LINGER_MS=N: stay N ms before exiting.
 * Built twice by the Makefile: against glibc, and statically against musl,
 * whose resolver is its own: snitch-trace must see both on the wire.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct addrinfo hints, *res, *ai;
	char text[INET6_ADDRSTRLEN];

	if (argc != 2 && !(argc == 3 && !strcmp(argv[2], "send"))) {
		fprintf(stderr, "usage: dnsq NAME [send]\n");
		return 2;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(argv[1], NULL, &hints, &res) != 0) {
		printf("%d\n", (int)getpid());
		return 1;
	}
	printf("%d", (int)getpid());
	for (ai = res; ai; ai = ai->ai_next) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, text, sizeof(text));
		printf(" %s", text);
	}
	printf("\n");
	if (argc == 3) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in to = *(struct sockaddr_in *)res->ai_addr;

		to.sin_port = htons(9);
		if (fd < 0 || sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) != 1)
			return 1;
		close(fd);
	}
	freeaddrinfo(res);
	/* DNSQ_LINGER_MS: stay a while, so that /proc still names this
	 * process when snitch-resolve reads it on a busy machine */
	fflush(stdout);
	if (getenv("DNSQ_LINGER_MS"))
		usleep((useconds_t)atoi(getenv("DNSQ_LINGER_MS")) * 1000);
	return 0;
}
