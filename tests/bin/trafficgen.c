/* SPDX-License-Identifier: MIT */
/*
 * Test traffic with known byte counts, one scenario per run:
 *
 *   trafficgen SCENARIO [LABEL...]
 *
 * (labels are ignored: they give tests a command line to look for)
 * Every process taking part prints one JSON line on stdout when it is
 * done: {"scenario", "role", "pid", "send_bytes", "recv_bytes", "netns",
 * "mntns", "ppid", "gppid"}, the bytes being what its own system calls
 * reported. snitch-trace's counts for that pid must equal them exactly.
 * All traffic stays on loopback; every wait is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *scenario;
static uint64_t sent, rcvd;
static char buf[1 << 16];

static void die(const char *what)
{
	fprintf(stderr, "trafficgen %s: %s: %s\n", scenario, what, strerror(errno));
	exit(1);
}

static uint64_t ns_ino(const char *name)
{
	char p[64];
	struct stat st;

	snprintf(p, sizeof(p), "/proc/self/ns/%s", name);
	return stat(p, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static long ppid_of(long pid)
{
	char p[64], line[512];
	long ppid = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
	f = fopen(p, "r");
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f)) {
		char *rp = strrchr(line, ')');
		if (rp)
			sscanf(rp + 2, "%*c %ld", &ppid);
	}
	fclose(f);
	return ppid;
}

static void report(const char *role)
{
	char line[512];
	long pp = getppid();
	int n = snprintf(line, sizeof(line),
			 "{\"scenario\":\"%s\",\"role\":\"%s\",\"pid\":%d,\"send_bytes\":%llu,\"recv_bytes\":%llu,"
			 "\"netns\":%llu,\"mntns\":%llu,\"ppid\":%ld,\"gppid\":%ld}\n",
			 scenario, role, getpid(), (unsigned long long)sent,
			 (unsigned long long)rcvd, (unsigned long long)ns_ino("net"),
			 (unsigned long long)ns_ino("mnt"), pp, ppid_of(pp));

	/* one write: lines of several processes do not interleave */
	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		exit(1);
}

/* ---- helpers ---- */

static void fill(size_t n)
{
	for (size_t i = 0; i < n && i < sizeof(buf); i++)
		buf[i] = (char)('a' + i % 26);
}

static int wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms);
}

static void send_all(int fd, size_t n)
{
	fill(sizeof(buf));
	while (n > 0) {
		ssize_t w = send(fd, buf, n < sizeof(buf) ? n : sizeof(buf), MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("send");
		}
		sent += (uint64_t)w;
		n -= (size_t)w;
	}
}

/* Read until EOF (or 10 s of silence). */
static void recv_eof(int fd)
{
	for (;;) {
		ssize_t r;

		if (wait_readable(fd, 10000) <= 0)
			die("recv: timed out");
		r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("recv");
		}
		if (r == 0)
			return;
		rcvd += (uint64_t)r;
	}
}

static socklen_t loopback(int family, struct sockaddr_storage *ss, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (void *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons((uint16_t)port);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (void *)ss;
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons((uint16_t)port);
	return sizeof(*a);
}

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		die("getsockname");
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
}

/*
 * Run 'server' in a child that makes its own socket (so its accepted
 * connections are its own), and return its port once it listens.
 */
static pid_t start_server(int family, int type, void (*server)(int fd),
			  int *port)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		struct sockaddr_storage ss;
		socklen_t len = loopback(family, &ss, 0);
		int fd = socket(family, type, 0);
		int one = 1;

		if (fd < 0)
			die("socket");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, len) < 0)
			die("bind");
		if (type == SOCK_STREAM && listen(fd, 128) < 0)
			die("listen");
		one = port_of(fd);
		if (write(p[1], &one, sizeof(one)) != sizeof(one))
			die("write");
		close(p[0]);
		close(p[1]);
		server(fd);
		report("server");
		exit(0);
	}
	close(p[1]);
	if (read(p[0], port, sizeof(*port)) != sizeof(*port))
		die("server did not start");
	close(p[0]);
	return pid;
}

static int connect_to(int family, int type, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, &ss, port);
	int fd = socket(family, type, 0);

	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&ss, len) < 0)
		die("connect");
	return fd;
}

static int finish(pid_t server)
{
	int st;

	if (waitpid(server, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	return 0;
}

/* ---- TCP ---- */

#define TCP_UP 100003
#define TCP_DOWN 54321

/* Read the client's bytes to EOF, answer TCP_DOWN bytes, close. */
static void tcp_echo_server(int lfd)
{
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		die("accept");
	close(lfd);
	recv_eof(fd);
	send_all(fd, TCP_DOWN);
	close(fd);
}

static int tcp_basic(int family)
{
	int port, fd;
	pid_t srv = start_server(family, SOCK_STREAM, tcp_echo_server, &port);

	fd = connect_to(family, SOCK_STREAM, port);
	send_all(fd, TCP_UP);
	shutdown(fd, SHUT_WR);
	recv_eof(fd);
	close(fd);
	report("client");
	return finish(srv);
}

/* Every way of sending, and of receiving, in turn. */
static void tcp_calls_server(int lfd)
{
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		die("accept");
	close(lfd);
	for (int i = 0;; i++) {
		ssize_t r;
		struct iovec iov[2] = { { buf, 1000 }, { buf + 1000, sizeof(buf) - 1000 } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

		if (wait_readable(fd, 10000) <= 0)
			die("timed out");
		switch (i % 5) {
		case 0: r = read(fd, buf, 777); break;
		case 1: r = recv(fd, buf, 1500, 0); break;
		case 2: r = recvfrom(fd, buf, 3000, 0, NULL, NULL); break;
		case 3: r = recvmsg(fd, &m, 0); break;
		default: r = readv(fd, iov, 2); break;
		}
		if (r < 0)
			die("receive");
		if (r == 0)
			break;
		rcvd += (uint64_t)r;
	}
	for (int i = 0; i < 5; i++) {
		ssize_t w = write(fd, buf, 1111 + (size_t)i);
		if (w < 0)
			die("write");
		sent += (uint64_t)w;
	}
	close(fd);
}

static int tcp_calls(void)
{
	int port, fd;
	pid_t srv = start_server(AF_INET, SOCK_STREAM, tcp_calls_server, &port);

	fd = connect_to(AF_INET, SOCK_STREAM, port);
	fill(sizeof(buf));
	for (int i = 0; i < 50; i++) {
		struct iovec iov[3] = { { buf, 100 }, { buf, 200 }, { buf, (size_t)i } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 3 };
		ssize_t w;

		switch (i % 5) {
		case 0: w = send(fd, buf, 1000 + (size_t)i, 0); break;
		case 1: w = sendto(fd, buf, 2000, 0, NULL, 0); break;
		case 2: w = sendmsg(fd, &m, 0); break;
		case 3: w = write(fd, buf, 333); break;
		default: w = writev(fd, iov, 3); break;
		}
		if (w < 0)
			die("send");
		sent += (uint64_t)w;
	}
	shutdown(fd, SHUT_WR);
	recv_eof(fd);
	close(fd);
	report("client");
	return finish(srv);
}

static int tcp_sendfile(void)
{
	char path[] = "/tmp/trafficgen-sendfile-XXXXXX";
	int port, fd, file = mkstemp(path);
	pid_t srv = start_server(AF_INET, SOCK_STREAM, tcp_echo_server, &port);
	off_t off = 0;
	size_t total = 3 * sizeof(buf) + 12345;

	if (file < 0)
		die("mkstemp");
	unlink(path);
	fill(sizeof(buf));
	for (size_t done = 0; done < total;) {
		size_t n = total - done < sizeof(buf) ? total - done : sizeof(buf);
		if (write(file, buf, n) != (ssize_t)n)
			die("write");
		done += n;
	}
	fd = connect_to(AF_INET, SOCK_STREAM, port);
	while ((size_t)off < total) {
		ssize_t w = sendfile(fd, file, &off, total - (size_t)off);
		if (w <= 0)
			die("sendfile");
		sent += (uint64_t)w;
	}
	shutdown(fd, SHUT_WR);
	recv_eof(fd);
	close(fd);
	close(file);
	report("client");
	return finish(srv);
}

/* Receive with splice: socket -> pipe -> read. */
static void splice_server(int lfd)
{
	int fd = accept(lfd, NULL, NULL), p[2];

	if (fd < 0 || pipe(p) < 0)
		die("accept");
	close(lfd);
	for (;;) {
		ssize_t n;

		if (wait_readable(fd, 10000) <= 0)
			die("timed out");
		n = splice(fd, NULL, p[1], NULL, 65536, SPLICE_F_MOVE);
		if (n < 0)
			die("splice from socket");
		if (n == 0)
			break;
		rcvd += (uint64_t)n;
		while (n > 0) {
			ssize_t r = read(p[0], buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf));
			if (r <= 0)
				die("read pipe");
			n -= r;
		}
	}
	send_all(fd, TCP_DOWN);
	close(fd);
}

/* Send with splice: write -> pipe -> socket. */
static int tcp_splice(void)
{
	int port, fd, p[2];
	pid_t srv = start_server(AF_INET, SOCK_STREAM, splice_server, &port);

	if (pipe(p) < 0)
		die("pipe");
	fd = connect_to(AF_INET, SOCK_STREAM, port);
	fill(sizeof(buf));
	for (int i = 0; i < 20; i++) {
		size_t n = 30000 + (size_t)i;
		if (write(p[1], buf, n) != (ssize_t)n)
			die("write pipe");
		while (n > 0) {
			ssize_t w = splice(p[0], NULL, fd, NULL, n, SPLICE_F_MOVE);
			if (w <= 0)
				die("splice to socket");
			sent += (uint64_t)w;
			n -= (size_t)w;
		}
	}
	shutdown(fd, SHUT_WR);
	recv_eof(fd);
	close(fd);
	report("client");
	return finish(srv);
}

static void uring_recv_all(struct io_uring *ring, int fd)
{
	for (;;) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		struct io_uring_cqe *cqe;
		int res;

		io_uring_prep_recv(sqe, fd, buf, sizeof(buf), 0);
		io_uring_submit(ring);
		if (io_uring_wait_cqe(ring, &cqe) < 0)
			die("io_uring wait");
		res = cqe->res;
		io_uring_cqe_seen(ring, cqe);
		if (res < 0) {
			errno = -res;
			die("io_uring recv");
		}
		if (res == 0)
			return;
		rcvd += (uint64_t)res;
	}
}

static void uring_send_all(struct io_uring *ring, int fd, size_t n)
{
	fill(sizeof(buf));
	while (n > 0) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		struct io_uring_cqe *cqe;
		int res;

		io_uring_prep_send(sqe, fd, buf, n < sizeof(buf) ? n : sizeof(buf), 0);
		io_uring_submit(ring);
		if (io_uring_wait_cqe(ring, &cqe) < 0)
			die("io_uring wait");
		res = cqe->res;
		io_uring_cqe_seen(ring, cqe);
		if (res <= 0) {
			errno = -res;
			die("io_uring send");
		}
		sent += (uint64_t)res;
		n -= (size_t)res;
	}
}

static void uring_server(int lfd)
{
	struct io_uring ring;
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0 || io_uring_queue_init(8, &ring, 0) < 0)
		die("io_uring setup");
	close(lfd);
	uring_recv_all(&ring, fd);
	uring_send_all(&ring, fd, TCP_DOWN);
	close(fd);
}

static int tcp_uring(void)
{
	struct io_uring ring;
	int port, fd;
	pid_t srv = start_server(AF_INET, SOCK_STREAM, uring_server, &port);

	if (io_uring_queue_init(8, &ring, 0) < 0)
		die("io_uring setup");
	fd = connect_to(AF_INET, SOCK_STREAM, port);
	uring_send_all(&ring, fd, TCP_UP);
	shutdown(fd, SHUT_WR);
	uring_recv_all(&ring, fd);
	close(fd);
	report("client");
	return finish(srv);
}

#define SHORT_CONNS 100

static void short_server(int lfd)
{
	for (int i = 0; i < SHORT_CONNS; i++) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			die("accept");
		recv_eof(fd);
		send_all(fd, 500 + (size_t)i);
		close(fd);
	}
}

static int tcp_short(void)
{
	int port;
	pid_t srv = start_server(AF_INET, SOCK_STREAM, short_server, &port);

	for (int i = 0; i < SHORT_CONNS; i++) {
		int fd = connect_to(AF_INET, SOCK_STREAM, port);

		send_all(fd, 1000 + (size_t)i);
		shutdown(fd, SHUT_WR);
		recv_eof(fd);
		close(fd);
	}
	report("client");
	return finish(srv);
}

/* A process that sends and exits at once, without closing. */
static int tcp_exit(void)
{
	int port, fd, st;
	pid_t srv = start_server(AF_INET, SOCK_STREAM, tcp_echo_server, &port);
	pid_t child = fork();

	if (child == 0) {
		fd = connect_to(AF_INET, SOCK_STREAM, port);
		send_all(fd, TCP_UP);
		report("sender");
		_exit(0);
	}
	waitpid(child, &st, 0);
	return finish(srv);
}

/* A slow drip over many intervals: 10 bytes every 200 ms, 3 s. */
static int tcp_drip(void)
{
	int port, fd;
	pid_t srv = start_server(AF_INET, SOCK_STREAM, tcp_echo_server, &port);

	fd = connect_to(AF_INET, SOCK_STREAM, port);
	for (int i = 0; i < 15; i++) {
		send_all(fd, 10);
		usleep(200 * 1000);
	}
	shutdown(fd, SHUT_WR);
	recv_eof(fd);
	close(fd);
	report("client");
	return finish(srv);
}

/* ---- UDP ---- */

#define DGRAMS 40

static size_t dgram_size(int i)
{
	return 100 + (size_t)i * 37;
}

static void udp_server(int fd)
{
	struct sockaddr_storage from;
	socklen_t len;

	for (int i = 0; i < DGRAMS; i++) {
		ssize_t r, w;

		if (wait_readable(fd, 10000) <= 0)
			die("timed out");
		len = sizeof(from);
		r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
		if (r < 0)
			die("recvfrom");
		rcvd += (uint64_t)r;
		w = sendto(fd, buf, (size_t)r / 2 + 1, 0, (struct sockaddr *)&from, len);
		if (w < 0)
			die("sendto");
		sent += (uint64_t)w;
	}
}

/* One datagram of size bytes to the server at to, and its echo back. */
static void udp_exchange(int fd, const struct sockaddr *to, socklen_t tolen, size_t size)
{
	ssize_t w = sendto(fd, buf, size, 0, to, tolen), r;

	if (w < 0)
		die("sendto");
	sent += (uint64_t)w;
	if (wait_readable(fd, 10000) <= 0)
		die("timed out");
	r = recv(fd, buf + 4096, sizeof(buf) - 4096, 0);
	if (r < 0)
		die("recv");
	rcvd += (uint64_t)r;
}

static int udp_basic(int family)
{
	struct sockaddr_storage ss;
	int port, fd = socket(family, SOCK_DGRAM, 0);
	pid_t srv = start_server(family, SOCK_DGRAM, udp_server, &port);
	socklen_t len = loopback(family, &ss, port);

	if (fd < 0)
		die("socket");
	fill(sizeof(buf));
	for (int i = 0; i < DGRAMS; i++)
		udp_exchange(fd, (struct sockaddr *)&ss, len, dgram_size(i));
	close(fd);
	report("client");
	return finish(srv);
}

/*
 * One socket, two peers, a datagram to each in turn, and a pause past the
 * tracer's interval halfway: snitch-trace counts a UDP socket's first
 * peer in the socket's own storage, moved to its flow table at each
 * drain, and the other peer in the flow table at once.
 */
static int udp_peers(int family)
{
	struct sockaddr_storage a, b;
	int pa, pb, fd = socket(family, SOCK_DGRAM, 0);
	pid_t sa = start_server(family, SOCK_DGRAM, udp_server, &pa);
	pid_t sb = start_server(family, SOCK_DGRAM, udp_server, &pb);
	socklen_t la = loopback(family, &a, pa), lb = loopback(family, &b, pb);

	if (fd < 0)
		die("socket");
	fill(sizeof(buf));
	for (int i = 0; i < 2 * DGRAMS; i++) {
		if (i == DGRAMS)
			usleep(1500 * 1000);
		udp_exchange(fd, (const struct sockaddr *)(i % 2 ? &b : &a), i % 2 ? lb : la,
			     dgram_size(i / 2));
	}
	close(fd);
	report("client");
	return finish(sa) | finish(sb);
}

static void mmsg_server(int fd)
{
	struct mmsghdr msgs[8];
	struct iovec iov[8];
	int got = 0;

	while (got < DGRAMS) {
		int n;

		for (int i = 0; i < 8; i++) {
			iov[i] = (struct iovec){ buf + i * 4096, 4096 };
			msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		if (wait_readable(fd, 10000) <= 0)
			die("timed out");
		n = recvmmsg(fd, msgs, 8, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN)
				continue;
			die("recvmmsg");
		}
		for (int i = 0; i < n; i++)
			rcvd += msgs[i].msg_len;
		got += n;
	}
}

static int udp_mmsg(void)
{
	struct sockaddr_storage ss;
	int port, fd = socket(AF_INET, SOCK_DGRAM, 0);
	pid_t srv = start_server(AF_INET, SOCK_DGRAM, mmsg_server, &port);
	socklen_t len = loopback(AF_INET, &ss, port);
	struct mmsghdr msgs[8];
	struct iovec iov[8];

	if (fd < 0)
		die("socket");
	fill(sizeof(buf));
	for (int b = 0; b < DGRAMS / 8; b++) {
		int n;

		for (int i = 0; i < 8; i++) {
			iov[i] = (struct iovec){ buf, dgram_size(b * 8 + i) };
			msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &ss, .msg_namelen = len,
								 .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		n = sendmmsg(fd, msgs, 8, 0);
		if (n != 8)
			die("sendmmsg");
		for (int i = 0; i < n; i++)
			sent += msgs[i].msg_len;
		usleep(20000);	/* let the receiver keep up: no drops */
	}
	close(fd);
	report("client");
	return finish(srv);
}

/* ---- ICMP, raw IP, AF_PACKET ---- */

#define PINGS 20

static int ping(int family)
{
	int proto = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	int fd = socket(family, SOCK_DGRAM, proto), got = 0;
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, &ss, 0);

	if (fd < 0)
		die("ping socket (is net.ipv4.ping_group_range set?)");
	for (int i = 0; i < PINGS; i++) {
		unsigned char pkt[256];
		size_t n = 8 + 16 + (size_t)i;
		ssize_t w;

		memset(pkt, 0x5a, sizeof(pkt));
		pkt[0] = family == AF_INET6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
		pkt[1] = 0;
		pkt[6] = 0;
		pkt[7] = (unsigned char)i;
		w = sendto(fd, pkt, n, 0, (struct sockaddr *)&ss, len);
		if (w < 0)
			die("sendto");
		sent += (uint64_t)w;
	}
	while (got < PINGS && wait_readable(fd, 5000) > 0) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0)
			die("recv");
		rcvd += (uint64_t)r;
		got++;
	}
	if (got < PINGS)
		die("replies missing");
	close(fd);
	report("both");
	return 0;
}

/* Read everything that arrives until 300 ms of quiet. */
static void drain_quiet(int fd)
{
	while (wait_readable(fd, 300) > 0) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0)
			die("recv");
		rcvd += (uint64_t)r;
	}
}

static int raw_icmp(void)
{
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, &ss, 0);

	if (fd < 0)
		die("raw socket");
	for (int i = 0; i < PINGS; i++) {
		unsigned char pkt[64] = { ICMP_ECHO, 0, 0, 0, 0x12, 0x34, 0, (unsigned char)i };
		unsigned sum = 0;

		for (int k = 0; k < 64; k += 2)
			sum += (unsigned)pkt[k] << 8 | pkt[k + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		sum = ~sum & 0xffff;
		pkt[2] = (unsigned char)(sum >> 8);
		pkt[3] = (unsigned char)sum;
		ssize_t w = sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, len);
		if (w < 0)
			die("sendto");
		sent += (uint64_t)w;
	}
	drain_quiet(fd);	/* our requests, looped back, and the replies */
	close(fd);
	report("both");
	return 0;
}

static int raw_ip(int family)
{
	int fd = socket(family, SOCK_RAW, 253);	/* RFC 3692 experimentation */
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, &ss, 0);

	if (fd < 0)
		die("raw socket");
	fill(sizeof(buf));
	for (int i = 0; i < 25; i++) {
		ssize_t w = sendto(fd, buf, 50 + (size_t)i * 10, 0, (struct sockaddr *)&ss, len);
		if (w < 0)
			die("sendto");
		sent += (uint64_t)w;
	}
	drain_quiet(fd);	/* raw sockets of this protocol get them back */
	close(fd);
	report("both");
	return 0;
}

#define ETHERTYPE_TEST 0x88b5	/* IEEE 802 local experimental */

/* How the frames scenarios set their sockets up. */
enum frames_mode {
	FRAMES_PLAIN,
	FRAMES_BYPASS,	/* sent past the queueing discipline (PACKET_QDISC_BYPASS) */
	FRAMES_RING,	/* received into an mmap ring (PACKET_RX_RING), never read */
};

/*
 * 30 frames of growing size on lo, sent on one packet socket and received
 * on another. Bypass and ring keep their sockets 1.5 s longer, for an fd
 * scan to find them; a ring's frames are not read, so the report has only
 * those sent.
 */
static int frames(enum frames_mode mode)
{
	int lo = (int)if_nametoindex("lo");
	int tx = socket(AF_PACKET, SOCK_RAW, 0);
	int rx = socket(AF_PACKET, SOCK_RAW, htons(ETHERTYPE_TEST));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = lo,
				   .sll_protocol = htons(ETHERTYPE_TEST) };
	struct tpacket_req req = { .tp_block_size = 4096, .tp_block_nr = 16,
				   .tp_frame_size = 2048, .tp_frame_nr = 32 };
	int got = 0, one = 1;

	if (tx < 0 || rx < 0 || !lo)
		die("packet socket");
	if (mode == FRAMES_BYPASS &&
	    setsockopt(tx, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0)
		die("PACKET_QDISC_BYPASS");
	if (mode == FRAMES_RING && setsockopt(rx, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0)
		die("PACKET_RX_RING");
	if (bind(rx, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		die("bind");
	for (int i = 0; i < 30; i++) {
		unsigned char f[1514];
		size_t n = 14 + 46 + (size_t)i * 11;
		ssize_t w;

		memset(f, 0, 12);			/* to and from 00:00:00:00:00:00 */
		f[12] = ETHERTYPE_TEST >> 8;
		f[13] = ETHERTYPE_TEST & 0xff;
		memset(f + 14, 'p', n - 14);
		w = sendto(tx, f, n, 0, (struct sockaddr *)&sll, sizeof(sll));
		if (w < 0)
			die("sendto");
		sent += (uint64_t)w;
	}
	while (mode != FRAMES_RING && got < 30 && wait_readable(rx, 5000) > 0) {
		ssize_t r = recv(rx, buf, sizeof(buf), 0);
		if (r < 0)
			die("recv");
		rcvd += (uint64_t)r;
		got++;
	}
	if (mode != FRAMES_RING && got < 30)
		die("frames missing");
	if (mode != FRAMES_PLAIN)
		usleep(1500000);
	close(tx);
	close(rx);
	report("both");
	return 0;
}

static int packet(void)
{
	return frames(FRAMES_PLAIN);
}

static int packet_bypass(void)
{
	return frames(FRAMES_BYPASS);
}

static int packet_ring(void)
{
	return frames(FRAMES_RING);
}

/* ---- a burst of new flows, for the lost test ---- */

static int burst(void)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, &ss, 9);	/* discard port: nobody listens */

	for (int i = 0; i < 3000; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		if (fd < 0)
			die("socket");
		if (sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) == 1)
			sent++;
		close(fd);
	}
	report("burst");
	return 0;
}

/*
 * TRAFFICGEN_LINGER_MS: stay alive that long after the traffic, so that a
 * test on a loaded machine still finds the process in /proc.
 */
static int linger(int rc)
{
	const char *ms = getenv("TRAFFICGEN_LINGER_MS");

	if (ms && *ms)
		usleep((useconds_t)strtoul(ms, NULL, 10) * 1000);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int);
		int arg;
	} table[] = {
		{ "tcp4", tcp_basic, AF_INET }, { "tcp6", tcp_basic, AF_INET6 },
		{ "udp4", udp_basic, AF_INET }, { "udp6", udp_basic, AF_INET6 },
		{ "udppeers4", udp_peers, AF_INET }, { "udppeers6", udp_peers, AF_INET6 },
		{ "ping4", ping, AF_INET }, { "ping6", ping, AF_INET6 },
		{ "rawip4", raw_ip, AF_INET }, { "rawip6", raw_ip, AF_INET6 },
	};
	static const struct {
		const char *name;
		int (*fn)(void);
	} plain[] = {
		{ "calls", tcp_calls }, { "sendfile", tcp_sendfile }, { "splice", tcp_splice },
		{ "uring", tcp_uring }, { "short", tcp_short }, { "exit", tcp_exit },
		{ "drip", tcp_drip }, { "mmsg", udp_mmsg }, { "rawicmp", raw_icmp },
		{ "packet", packet }, { "packetbypass", packet_bypass },
		{ "packetring", packet_ring }, { "burst", burst },
	};

	if (argc < 2) {
		fprintf(stderr, "usage: trafficgen SCENARIO [LABEL...]\n");
		return 2;
	}
	scenario = argv[1];
	signal(SIGPIPE, SIG_IGN);
	alarm(60);	/* no scenario may hang a test run */
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(scenario, table[i].name))
			return linger(table[i].fn(table[i].arg));
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (!strcmp(scenario, plain[i].name))
			return linger(plain[i].fn());
	fprintf(stderr, "trafficgen: unknown scenario '%s'\n", scenario);
	return 2;
}
