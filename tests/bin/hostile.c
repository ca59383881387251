/* SPDX-License-Identifier: MIT */
/*
 * A hostile process, for tests/90-hostile.bats:
 *
 *   hostile DIR BYTES [ARGMB]
 *
 * copies itself to DIR/<a name of hostile bytes>, and runs that copy with
 * a command line of hostile arguments (SQL quotes, commas, newlines, an
 * empty argument, control bytes, terminal escapes, invalid UTF-8, HTML)
 * followed by ARGMB (default 1) MiB of 'A's in arguments of 64 KiB (the kernel
 * takes at most 128 KiB in one argument). The copy names itself with
 * prctl(PR_SET_NAME) a comm of such bytes too, connects to a loopback
 * server of the parent's and sends it BYTES bytes, then lives 2 s more
 * (so that snitch-resolve can read its /proc entry).
 *
 * Prints one line of JSON, ASCII only, with the values in hex:
 *   {"pid":N, "send_bytes":N, "recv_bytes":N, "port":N, "exe_hex":"..",
 *    "comm_hex":"..", "argv_hex":["..", ...], "fill_args":N}
 * argv_hex holds the hostile arguments (argv[0] first), not the fill.
 * Every wait is bounded (10 s).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* the file name: no '/' or NUL can be in one */
static const char exe_name[] =
	"it's \"evil\",x\n\x1b[2J\x1b]0;pwned\x07\x01\xff\xfe\x80\xc0\xaf";
/* comm: at most 15 bytes (the kernel cuts the rest) */
static const char comm[] = "a'b\"c,\n\x1b]0;\x07\xff\x80";
static const char *const hostile_args[] = {
	NULL,				/* argv[0]: the path */
	"'); DROP TABLE executables; --",
	"",
	"a,b,\"c\"",
	"line1\nline2\r\n",
	"\x01\x02\x7f",
	"\x1b[2J\x1b[H\x1b]0;pwned title\x07",
	"\x1b]52;c;cHduZWQ=\x07\x1b[31mred",
	"\xff\xfe",
	"lone\x80",
	"overlong\xc0\xaf",
	"\xc2\x9b" "31mC1",
	"<b>bold</b><img src=x onerror=\"window.pwned=1\">&amp;",
	"",
};
#define NHOSTILE (sizeof(hostile_args) / sizeof(hostile_args[0]))
#define FILL_ARG (64 * 1024)

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void hex(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++)
		printf("%02x", (unsigned char)s[i]);
	putchar('"');
}

static int child(int port, unsigned long long bytes)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	static char buf[65536];
	int fd;

	if (prctl(PR_SET_NAME, comm) < 0)
		die("prctl");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	memset(buf, 'x', sizeof(buf));
	while (bytes) {
		size_t n = bytes < sizeof(buf) ? bytes : sizeof(buf);
		ssize_t w = write(fd, buf, n);

		if (w <= 0)
			die("write");
		bytes -= (unsigned long long)w;
	}
	close(fd);
	sleep(2);
	return 0;
}

int main(int argc, char **argv)
{
	const char *s = getenv("HOSTILE_CHILD");
	char path[4096], *fill;
	unsigned long long bytes, got = 0;
	unsigned fill_args;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char **av;
	int lfd, cfd, in, out, status;
	struct stat st;
	pid_t pid;

	if (s)
		return child(atoi(s), strtoull(getenv("HOSTILE_BYTES"), NULL, 10));
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: hostile DIR BYTES [ARGMB]\n");
		return 2;
	}
	bytes = strtoull(argv[2], NULL, 10);
	fill_args = (unsigned)(argc > 3 ? atoi(argv[3]) : 1) * 16;

	/* the copy, at a hostile path */
	snprintf(path, sizeof(path), "%s/%s", argv[1], exe_name);
	in = open("/proc/self/exe", O_RDONLY);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (in < 0 || out < 0 || fstat(in, &st) < 0)
		die("copy");
	for (off_t off = 0; off < st.st_size;)
		if (sendfile(out, in, &off, (size_t)(st.st_size - off)) <= 0)
			die("sendfile");
	close(in);
	close(out);

	/* the server */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0 || getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
		die("listen");

	av = calloc(NHOSTILE + fill_args + 1, sizeof(*av));
	fill = malloc(FILL_ARG);
	if (!av || !fill)
		die("malloc");
	memset(fill, 'A', FILL_ARG - 1);
	fill[FILL_ARG - 1] = '\0';	/* FILL_ARG bytes with its NUL */
	av[0] = path;
	for (size_t i = 1; i < NHOSTILE; i++)
		av[i] = (char *)hostile_args[i];
	for (unsigned i = 0; i < fill_args; i++)
		av[NHOSTILE + i] = fill;

	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char port[16];

		snprintf(port, sizeof(port), "%d", ntohs(sa.sin_port));
		setenv("HOSTILE_CHILD", port, 1);
		setenv("HOSTILE_BYTES", argv[2], 1);
		close(lfd);
		execv(path, av);
		die("execv");
	}

	{
		struct pollfd p = { .fd = lfd, .events = POLLIN };

		if (poll(&p, 1, 10000) != 1)
			die("no connection in 10 s");
	}
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0)
		die("accept");
	for (;;) {
		static char buf[65536];
		struct pollfd p = { .fd = cfd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 10000) != 1)
			die("no data in 10 s");
		n = read(cfd, buf, sizeof(buf));
		if (n < 0)
			die("read");
		if (n == 0)
			break;
		got += (unsigned long long)n;
	}
	close(cfd);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		die("the hostile process failed");
	if (got != bytes) {
		fprintf(stderr, "hostile: received %llu of %llu bytes\n", got, bytes);
		return 1;
	}

	printf("{\"pid\":%d,\"send_bytes\":%llu,\"recv_bytes\":0,\"port\":%d,\"exe_hex\":",
	       (int)pid, bytes, ntohs(sa.sin_port));
	hex(path, strlen(path));
	printf(",\"comm_hex\":");
	hex(comm, strlen(comm));
	printf(",\"argv_hex\":[");
	for (size_t i = 0; i < NHOSTILE; i++) {
		if (i)
			putchar(',');
		hex(av[i], strlen(av[i]));
	}
	printf("],\"fill_args\":%u,\"fill_len\":%d}\n", fill_args, FILL_ARG - 1);
	return 0;
}
