/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "linereader.h"
#include "test.h"

/* Feed 'data' through a pipe in chunks of 'chunk' bytes; collect results. */
struct seen {
	int ok, too_long;
	size_t last_len;
	char first[64];
	uint64_t lines;
};

static struct seen feed(const char *data, size_t n, size_t chunk, size_t max)
{
	struct linereader lr;
	struct seen s = { 0 };
	int fds[2];
	size_t off = 0;

	CHECK(pipe(fds) == 0);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
	CHECK(linereader_init(&lr, fds[0], max) == 0);
	for (;;) {
		const char *line;
		size_t len;
		enum line_status st;

		if (off < n) {
			size_t k = n - off < chunk ? n - off : chunk;
			CHECK(write(fds[1], data + off, k) == (ssize_t)k);
			off += k;
		}
		if (off == n && fds[1] >= 0) {
			close(fds[1]);
			fds[1] = -1;
		}
		(void)linereader_fill(&lr);
		while ((st = linereader_next(&lr, &line, &len)) == LINE_OK ||
		       st == LINE_TOO_LONG) {
			if (st == LINE_OK) {
				if (!s.ok)
					snprintf(s.first, sizeof(s.first), "%.*s",
						 (int)(len < 63 ? len : 63), line);
				s.ok++;
			} else {
				s.too_long++;
			}
			s.last_len = len;
		}
		if (st == LINE_EOF)
			break;
	}
	s.lines = lr.lineno;
	linereader_release(&lr);
	close(fds[0]);
	return s;
}

/*
 * A backlog waiting in the pipe is read a chunk at a time: the pages of
 * the buffer past one chunk are never touched unless a line is that long
 * (one read of all the room there was put a megabyte in RSS for good).
 */
static void test_backlog_in_chunks(void)
{
	static char line[100];
	struct linereader lr;
	const char *l;
	size_t len, lines = 0, k;
	int fds[2];
	ssize_t n;

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	CHECK(pipe(fds) == 0);
	CHECK(fcntl(fds[1], F_SETPIPE_SZ, 1 << 20) >= 1 << 20);
	for (k = 0; k < 5000; k++)	/* 500 KB waiting */
		CHECK(write(fds[1], line, sizeof(line)) == (ssize_t)sizeof(line));
	close(fds[1]);
	CHECK(linereader_init(&lr, fds[0], 1 << 20) == 0);
	while ((n = linereader_fill(&lr)) > 0) {
		CHECK(n <= 64 * 1024);
		CHECK(lr.end <= 64 * 1024 + sizeof(line));
		while (linereader_next(&lr, &l, &len) == LINE_OK)
			lines++;
	}
	CHECK_EQ_INT(lines, 5000);
	linereader_release(&lr);
	close(fds[0]);
}

int main(void)
{
	struct seen s;

	test_backlog_in_chunks();

	s = feed("a\nbb\n\nccc", 9, 1, 16);
	CHECK_EQ_INT(s.ok, 4);			/* the empty line counts */
	CHECK_EQ_INT(s.last_len, 3);		/* last line, no newline */
	CHECK(strcmp(s.first, "a") == 0);
	CHECK_EQ_INT(s.lines, 4);

	s = feed("a\nbb\n", 5, 100, 16);
	CHECK_EQ_INT(s.ok, 2);

	s = feed("", 0, 1, 16);
	CHECK_EQ_INT(s.ok, 0);

	/* a line of exactly max bytes is fine; one more byte is too long */
	s = feed("0123456789abcdef\n0123456789abcdefX\nok\n", 38, 3, 16);
	CHECK_EQ_INT(s.ok, 2);
	CHECK_EQ_INT(s.too_long, 1);
	CHECK_EQ_INT(s.lines, 3);

	/* a long line that arrives in many reads is skipped, not buffered */
	{
		size_t n = 3 * 65536 + 100;
		char *big = malloc(n + 4);
		memset(big, 'x', n);
		memcpy(big + n, "\nz\n", 3);
		s = feed(big, n + 3, 4096, 1000);
		CHECK_EQ_INT(s.too_long, 1);
		CHECK_EQ_INT(s.last_len, 1);
		CHECK_EQ_INT(s.ok, 1);
		CHECK(strcmp(s.first, "z") == 0);
		/* the same without a final newline, cut by the end of input */
		s = feed(big, n, 65536, 1000);
		CHECK_EQ_INT(s.too_long, 1);
		CHECK_EQ_INT(s.last_len, n);
		free(big);
	}
	TEST_MAIN_END("test_linereader");
}
