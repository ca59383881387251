/* SPDX-License-Identifier: MIT */
/*
 * quicinit HOST [ADDR PORT]: a QUIC client's first Initial packet, a
 * ClientHello naming HOST sealed as RFC 9001 says (quicseal.h), written
 * to standard output, or sent from a connected UDP socket to ADDR PORT
 * (then "PID LPORT" on standard output). SPLIT=1: the ClientHello in two
 * CRYPTO frames, the second half first, as some browsers send it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "quicseal.h"

int main(int argc, char **argv)
{
	static const uint8_t dcid[8] = { 0xc1, 0xd2, 0xe3, 0xf4, 0x05, 0x16, 0x27, 0x38 };
	uint8_t ch[600], frames[1200], pkt[1300];
	size_t chl, fl = 0, n, half;
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr_storage me;
	socklen_t ml = sizeof(me);
	int fd;

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: quicinit HOST [ADDR PORT]\n");
		return 2;
	}
	chl = qs_client_hello(ch, argv[1]);
	half = chl / 2;
	if (getenv("SPLIT") && atoi(getenv("SPLIT"))) {
		fl += qs_crypto_frame(frames + fl, half, ch + half, chl - half);
		fl += qs_crypto_frame(frames + fl, 0, ch, half);
	} else {
		fl += qs_crypto_frame(frames, 0, ch, chl);
	}
	if (!(n = qs_seal(pkt, dcid, sizeof(dcid), frames, fl, 0))) {
		fprintf(stderr, "quicinit: cannot seal the packet\n");
		return 1;
	}
	if (argc == 2)
		return fwrite(pkt, 1, n, stdout) == n ? 0 : 1;
	if (inet_pton(AF_INET, argv[2], &a4.sin_addr) == 1) {
		a4.sin_port = htons((uint16_t)atoi(argv[3]));
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0)
			return perror("quicinit"), 1;
	} else if (inet_pton(AF_INET6, argv[2], &a6.sin6_addr) == 1) {
		a6.sin6_port = htons((uint16_t)atoi(argv[3]));
		fd = socket(AF_INET6, SOCK_DGRAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a6, sizeof(a6)) < 0)
			return perror("quicinit"), 1;
	} else {
		fprintf(stderr, "quicinit: not an address: %s\n", argv[2]);
		return 2;
	}
	if (send(fd, pkt, n, 0) != (ssize_t)n || getsockname(fd, (struct sockaddr *)&me, &ml) < 0)
		return perror("quicinit"), 1;
	printf("%d %u\n", (int)getpid(),
	       ntohs(me.ss_family == AF_INET ? ((struct sockaddr_in *)&me)->sin_port :
					       ((struct sockaddr_in6 *)&me)->sin6_port));
	fflush(stdout);
	/* linger: snitch-resolve reads /proc/PID of the sender */
	usleep(1500000);
	close(fd);
	return 0;
}
