/* SPDX-License-Identifier: MIT */
/* lib/fdio.c: whole reads and writes across short transfers, end of file and errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
#include "test.h"

/* A child that writes n bytes of a known pattern in pieces of step, then exits. */
static pid_t writer(int fd, size_t n, size_t step)
{
	pid_t pid = fork();

	if (pid == 0) {
		char piece[4096];

		for (size_t off = 0; off < n; off += step) {
			size_t k = n - off < step ? n - off : step;

			for (size_t i = 0; i < k; i++)
				piece[i] = (char)('a' + (off + i) % 26);
			if (write(fd, piece, k) != (ssize_t)k)
				_exit(1);
			usleep(1000);
		}
		_exit(0);
	}
	return pid;
}

static bool pattern(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (char)('a' + i % 26))
			return false;
	return true;
}

static void test_read_full(void)
{
	static char got[8192];
	int p[2];
	pid_t pid;

	/* pieces of 100 bytes: read_full waits for all it asked for */
	CHECK(pipe(p) == 0);
	pid = writer(p[1], 5000, 100);
	close(p[1]);
	CHECK_EQ_INT(read_full(p[0], got, 3000), 3000);
	CHECK(pattern(got, 3000));
	/* then end of file before the size: what there was */
	CHECK_EQ_INT(read_full(p[0], got, sizeof(got)), 2000);
	CHECK_EQ_INT(read_full(p[0], got, sizeof(got)), 0);
	close(p[0]);
	waitpid(pid, NULL, 0);
	/* an error before any byte: the errno */
	CHECK_EQ_INT(read_full(-1, got, 10), -EBADF);
}

static void test_read_to_buf(void)
{
	struct buf b = BUF_INIT;
	int p[2];
	pid_t pid;

	/* more than one read's chunk (64 KiB), in pieces */
	CHECK(pipe(p) == 0);
	pid = writer(p[1], 200000, 4096);
	close(p[1]);
	CHECK_EQ_INT(read_to_buf(p[0], &b), 0);
	CHECK_EQ_INT(b.len, 200000);
	CHECK(pattern(b.p, b.len));
	close(p[0]);
	waitpid(pid, NULL, 0);
	CHECK_EQ_INT(read_to_buf(-1, &b), -EBADF);
	buf_release(&b);
}

static void test_write_all(void)
{
	static char big[300000], got[300000];
	int p[2];
	pid_t pid;
	ssize_t n;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	/* more than a pipe holds, to a non-blocking end: it waits, and all arrives */
	CHECK(pipe(p) == 0);
	CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		_exit(write_all(p[1], big, sizeof(big)) == 0 ? 0 : 1);
	}
	close(p[1]);
	n = read_full(p[0], got, sizeof(got));
	CHECK_EQ_INT(n, (ssize_t)sizeof(got));
	CHECK(pattern(got, sizeof(got)));
	close(p[0]);
	{
		int st = 0;

		waitpid(pid, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	CHECK_EQ_INT(write_all(-1, "x", 1), -EBADF);
}

int main(void)
{
	test_read_full();
	test_read_to_buf();
	test_write_all();
	TEST_MAIN_END("test_fdio");
}
