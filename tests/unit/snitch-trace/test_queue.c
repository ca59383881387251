/* SPDX-License-Identifier: MIT */
/* snitch-trace's output queue: bounded, whole records, in order, never waiting. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "test.h"
#include "trace.h"

static void add(struct output *o, const char *rec)
{
	buf_puts(&o->b, rec);
}

int main(void)
{
	struct output out;
	struct outq q;
	uint64_t v;
	char got[256];
	int p[2];
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	/* sizes */
	CHECK(outq_parse_size("256M", &v) == 0 && v == 256ULL << 20);
	CHECK(outq_parse_size("64K", &v) == 0 && v == 64ULL << 10);
	CHECK(outq_parse_size("1G", &v) == 0 && v == 1ULL << 30);
	CHECK(outq_parse_size("2MiB", &v) == 0 && v == 2ULL << 20);
	CHECK(outq_parse_size("3mb", &v) == 0 && v == 3ULL << 20);
	CHECK(outq_parse_size("1000", &v) == 0 && v == 1000);
	CHECK(outq_parse_size("1000B", &v) == 0 && v == 1000);
	CHECK(outq_parse_size("", &v) == -EINVAL);
	CHECK(outq_parse_size("M", &v) == -EINVAL);
	CHECK(outq_parse_size("12x", &v) == -EINVAL);
	CHECK(outq_parse_size("-1", &v) == -EINVAL);
	CHECK(outq_parse_size("99999999999999999999", &v) == -ERANGE);
	CHECK(outq_parse_size("99999999999G", &v) == -ERANGE);

	/* a queue of 20 bytes on a pipe: records that do not fit are dropped whole */
	CHECK(pipe(p) == 0);
	output_init(&out, p[1]);
	outq_init(&q, &out, 20);
	CHECK_EQ_INT(outq_nonblock(&q), 1);
	CHECK(fcntl(p[1], F_GETFL) & O_NONBLOCK);
	add(&out, "aaaaaaa\n");		/* 8 */
	CHECK_EQ_INT(outq_trim(&q, 0), 0);
	{
		size_t at = out.b.len;

		add(&out, "bbbbbbb\n");	/* 16 */
		add(&out, "ccccccc\n");	/* 24: over */
		add(&out, "ddd\n");
		CHECK_EQ_INT(outq_trim(&q, at), 2);
	}
	CHECK_EQ_INT(outq_len(&q), 16);
	CHECK_EQ_INT(q.dropped, 2);
	CHECK_EQ_INT(q.peak, 16);
	CHECK(!outq_full(&q));
	add(&out, "eeee\n");		/* 21: full, kept (trim not asked) */
	CHECK(outq_full(&q));

	/* written in order; the pipe takes all: the queue is empty */
	CHECK_EQ_INT(outq_write(&q), 0);
	CHECK_EQ_INT(outq_len(&q), 0);
	n = read(p[0], got, sizeof(got));
	CHECK_MEM(got, n > 0 ? (size_t)n : 0, "aaaaaaa\nbbbbbbb\neeee\n");

	/* a full pipe: the write returns at once, what is left stays queued */
	{
		static char big[1 << 16];
		size_t total = 0;

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\n';
		q.limit = 1 << 22;
		for (int i = 0; i < 8; i++)
			buf_append(&out.b, big, sizeof(big));
		CHECK_EQ_INT(outq_write(&q), 0);
		CHECK(outq_len(&q) > 0);
		CHECK(outq_len(&q) < 8 * sizeof(big));
		/* bounded: nobody reads, so the flush gives up at its deadline */
		CHECK_EQ_INT(outq_flush(&q, 0), -ETIMEDOUT);
		while ((n = read(p[0], got, sizeof(got))) > 0) {
			total += (size_t)n;
			if (outq_write(&q) < 0)
				break;
			if (!outq_len(&q) && total >= 8 * sizeof(big))
				break;
		}
		CHECK_EQ_INT(total, 8 * sizeof(big));
		CHECK_EQ_INT(outq_len(&q), 0);
	}

	/* a closed reader: the error is kept, the queue emptied */
	close(p[0]);
	add(&out, "ffff\n");
	CHECK_EQ_INT(outq_write(&q), -EPIPE);
	CHECK_EQ_INT(outq_len(&q), 0);
	outq_restore(&q);
	CHECK(!(fcntl(p[1], F_GETFL) & O_NONBLOCK));
	close(p[1]);
	output_release(&out);

	/* after a stall, an empty queue gives its memory back */
	{
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		static char chunk[1 << 16];

		output_init(&out, fd);
		outq_init(&q, &out, 64 << 20);
		CHECK_EQ_INT(outq_nonblock(&q), 0);	/* not a pipe: left as it is */
		memset(chunk, 'y', sizeof(chunk));
		for (int i = 0; i < 128; i++)
			buf_append(&out.b, chunk, sizeof(chunk));
		CHECK(out.b.cap >= 8 << 20);
		CHECK_EQ_INT(outq_write(&q), 0);
		CHECK_EQ_INT(outq_len(&q), 0);
		CHECK_EQ_INT(out.b.cap, 0);
		add(&out, "after\n");
		CHECK_EQ_INT(outq_len(&q), 6);
		CHECK_EQ_INT(outq_write(&q), 0);
		output_release(&out);
		close(fd);
	}
	TEST_MAIN_END("test_queue");
}
