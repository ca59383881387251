/* SPDX-License-Identifier: MIT */
/*
 * A DNS server for tests: answers A queries for the names it is given,
 * and PTR queries for their addresses.
 *   dnsd ADDR PORT NAME=IPV4[/N]...
 * NAME=IPV4/N answers with N addresses from IPV4 up (a message longer
 * than the 512 bytes snitch-trace captures, for N over 29 or so).
 * Other names get NXDOMAIN. Over UDP and TCP, on the same port. Prints
 * "ready" once bound; exits after 60 s.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

/* The answer to the query q (n bytes) into r (2048 bytes); its length, 0 for none. */
static size_t answer(int argc, char **argv, const unsigned char *q, ssize_t n, unsigned char *r)
{
	char name[256] = "";
	size_t off = 12, nl = 0, end;
	unsigned qtype;
	struct in_addr ip = { 0 };
	int found = 0;
	unsigned count = 1;

	if (n < 17)
		return 0;
	while (off < (size_t)n && q[off] && nl < sizeof(name) - 64) {
		unsigned len = q[off++];
		if (off + len > (size_t)n)
			break;
		if (nl)
			name[nl++] = '.';
		memcpy(name + nl, q + off, len);
		nl += len;
		off += len;
	}
	name[nl] = '\0';
	end = off + 5;		/* zero label, qtype, qclass */
	if (end > (size_t)n)
		return 0;
	qtype = (unsigned)q[off + 1] << 8 | q[off + 2];
	const char *ptr = NULL;	/* the name to answer a PTR query with */

	for (int i = 3; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		unsigned char b[4];
		char rev[64], addr[32];
		unsigned many = 1;

		if (!eq)
			continue;
		snprintf(addr, sizeof(addr), "%s", eq + 1);
		if (strchr(addr, '/')) {
			many = (unsigned)atoi(strchr(addr, '/') + 1);
			*strchr(addr, '/') = '\0';
		}
		if (inet_pton(AF_INET, addr, b) != 1 || many < 1 || many > 100)
			continue;
		if ((size_t)(eq - argv[i]) == nl && !strncmp(argv[i], name, nl)) {
			memcpy(&ip, b, 4);
			count = many;
			found = 1;
		}
		snprintf(rev, sizeof(rev), "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
		if (qtype == 12 && !strcmp(rev, name)) {
			ptr = argv[i];
			found = 2;
		}
	}
	memcpy(r, q, end);
	r[2] = 0x81;		/* response, recursion desired */
	r[3] = found ? 0x80 : 0x83;	/* recursion available; NXDOMAIN */
	r[6] = 0;
	r[7] = found == 2 ? 1 : found == 1 && qtype == 1 ? (unsigned char)count : 0;
	memset(r + 8, 0, 4);
	if (found == 2) {
		/* PTR: the name, as labels, from "name=addr" */
		unsigned char rr[12] = { 0xc0, 12, 0, 12, 0, 1, 0, 0, 0x01, 0x2c, 0, 0 };
		size_t rd = end + 12, len = strcspn(ptr, "=");
		const char *lab = ptr;

		while (lab < ptr + len && rd + 64 < 2048) {
			size_t l = strcspn(lab, ".=");
			r[rd++] = (unsigned char)l;
			memcpy(r + rd, lab, l);
			rd += l;
			lab += l + (lab[l] == '.');
			if (lab[-1] != '.' && lab[-1] != '\0' && l == 0)
				break;
		}
		r[rd++] = 0;
		rr[10] = (unsigned char)((rd - end - 12) >> 8);
		rr[11] = (unsigned char)(rd - end - 12);
		memcpy(r + end, rr, 12);
		end = rd;
	} else if (found && qtype == 1) {
		for (unsigned k = 0; k < count; k++) {
			unsigned char rr[16] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4 };
			uint32_t next = htonl(ntohl(ip.s_addr) + k);

			memcpy(rr + 12, &next, 4);	/* TTL 300 */
			memcpy(r + end, rr, 16);
			end += 16;
		}
	}
	return end;
}

/* A query over TCP (RFC 1035 §4.2.2: a 2-byte length before each message), answered so. */
static void serve_tcp(int argc, char **argv, int c)
{
	unsigned char q[514], r[2050];
	ssize_t n = 0, k;
	size_t len, end;

	while (n < 2 || n < 2 + (q[0] << 8 | q[1])) {
		k = read(c, q + n, sizeof(q) - (size_t)n);
		if (k <= 0)
			return;
		n += k;
		if ((size_t)n == sizeof(q))
			break;
	}
	len = (size_t)(q[0] << 8 | q[1]);
	if (len + 2 > (size_t)n || !(end = answer(argc, argv, q + 2, (ssize_t)len, r + 2)))
		return;
	r[0] = (unsigned char)(end >> 8);
	r[1] = (unsigned char)end;
	/* a name that begins "split": the answer in two segments, cut after
	 * its question, as a long answer over a small MSS comes */
	if (len > 18 && q[2 + 12] == 5 && !memcmp(q + 2 + 13, "split", 5)) {
		int one = 1;

		(void)setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		(void)write(c, r, 2 + 40);
		usleep(100000);
		(void)write(c, r + 42, end - 40);
		return;
	}
	(void)write(c, r, end + 2);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), tfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (argc < 3 || fd < 0 || tfd < 0 || inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
		fprintf(stderr, "usage: dnsd ADDR PORT NAME=IPV4...\n");
		return 2;
	}
	a.sin_port = htons((unsigned short)atoi(argv[2]));
	(void)setsockopt(tfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || bind(tfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(tfd, 16) < 0) {
		perror("dnsd: bind");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	alarm(60);
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = tfd, .events = POLLIN } };
		unsigned char q[512], r[2048];
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t n;
		size_t end;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents) {
			int c = accept(tfd, NULL, NULL);

			if (c >= 0) {
				serve_tcp(argc, argv, c);
				close(c);
			}
		}
		if (!p[0].revents)
			continue;
		n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if ((end = answer(argc, argv, q, n, r)))
			(void)sendto(fd, r, end, 0, (struct sockaddr *)&from, flen);
	}
}
