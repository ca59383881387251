/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for snitch-store's rows and CSV log
 * (cmd/snitch-store/rows.c: batch_add, csv_write_batch).
 *
 * The input is read two ways. Split at 0x1f bytes, its pieces are the
 * path, name, domain, remote address and two arguments of a flow record
 * made from the record contract's example; split at newlines, each line
 * that is a record is merged into the same batch. Invariants: no crash or
 * undefined behaviour; the CSV, read as RFC 4180 says, has one record
 * per row, each of exactly the 25 fields, with no NUL; and the first
 * row's path, name, command line, remote address and domain are the
 * pieces exactly, less the NULs the writer drops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "json.h"
#include "record.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define COLUMNS 25
enum { C_PATH = 4, C_NAME = 5, C_CMDLINE = 6, C_RADDR = 22, C_DOMAIN = 23 };

static const char example[] =
	"{\"v\":1,\"type\":\"flow\",\"ts_ns\":1763822400123456789,\"from_ns\":1763822400020000000,"
	"\"to_ns\":1763822400120000000,\"pid\":4242,\"uid\":1000,\"netns\":4026531840,"
	"\"family\":\"inet\",\"proto\":\"tcp\",\"laddr\":\"192.0.2.10\",\"lport\":48812,"
	"\"rport\":443,\"send_bytes\":517,\"recv_bytes\":5123,\"parent_exe_path\":\"/usr/bin/bash\","
	"\"parent_name\":\"bash\",\"parent_cmdline\":[\"-bash\"],\"container_runtime\":\"\","
	"\"container_id\":\"\",\"exe_sha256\":"
	"\"58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef2593\"}";

/* What the CSV writer keeps of bytes: all but NUL. */
static void stripped(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\0')
			buf_putc(b, s[i]);
}

/*
 * One CSV record from *pos, as RFC 4180 reads it: its fields into f[]
 * (unquoted), their number returned; -1 when it is not well-formed (a
 * quote inside an unquoted field, text after a closing quote, no line
 * end at the end).
 */
static int csv_record(const char *p, size_t len, size_t *pos, struct buf *f, int max)
{
	size_t i = *pos;
	int nf = 0;

	for (;;) {
		if (nf == max)
			return -1;
		buf_reset(&f[nf]);
		if (i < len && p[i] == '"') {
			for (i++;; i++) {
				if (i >= len)
					return -1;
				if (p[i] == '"') {
					if (i + 1 < len && p[i + 1] == '"')
						i++;
					else
						break;
				}
				buf_putc(&f[nf], p[i]);
			}
			i++;
		} else {
			for (; i < len && p[i] != ',' && p[i] != '\n'; i++) {
				if (p[i] == '"' || p[i] == '\r')
					return -1;
				buf_putc(&f[nf], p[i]);
			}
		}
		nf++;
		if (i >= len)
			return -1;	/* every row ends its line */
		if (p[i] == '\n') {
			*pos = i + 1;
			return nf;
		}
		if (p[i] != ',')
			return -1;
		i++;
	}
}

static void expect_field(const struct buf *got, int col, const struct buf *want)
{
	if (got->len != want->len || (want->len && memcmp(got->p, want->p, want->len) != 0)) {
		if (getenv("FUZZ_CSV_DEBUG"))
			fprintf(stderr, "column %d is '%.*s', not '%.*s'\n", col, (int)got->len,
				got->p, (int)want->len, want->p);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const struct store_opts opts = {
		.ignore_ports = "5353", .ignore_domains = "ignored.example",
		.ignore_ips = "203.0.113.0/24 2001:db8::/32",
	};
	static struct filters *filters;
	static struct record r;
	static struct buf want[6], csv, line, field[COLUMNS + 1];
	static int fd = -1;
	const char *piece[6] = { "", "", "", "", "", "" };
	size_t plen[6] = { 0 }, np = 0;
	const char *in = (const char *)data, *end = in + size;
	struct batch *b;
	bool first;
	ssize_t n;

	if (!filters) {
		char err[256];

		filters = filters_new(&opts, err, sizeof(err));
		fd = memfd_create("fuzz-csv", 0);
		if (!filters || fd < 0)
			abort();
	}
	/* the pieces, at most six */
	for (const char *p = in; p <= end && np < 6;) {
		const char *us = memchr(p, 0x1f, (size_t)(end - p));
		size_t l = us ? (size_t)(us - p) : (size_t)(end - p);

		piece[np] = p;
		plen[np++] = l;
		p += l + 1;
	}
	b = batch_new();
	if (!b)
		return 0;
	/* the record as the stage before snitch-store writes it: the
	 * example, then the pieces as members */
	buf_reset(&line);
	buf_append(&line, example, sizeof(example) - 2);	/* less its } */
	buf_puts(&line, ",\"exe_path\":");
	json_put_str(&line, piece[0], plen[0]);
	buf_puts(&line, ",\"name\":");
	json_put_str(&line, piece[1], plen[1]);
	buf_puts(&line, ",\"domain\":");
	json_put_str(&line, piece[2], plen[2]);
	buf_puts(&line, ",\"raddr\":");
	json_put_str(&line, piece[3], plen[3]);
	buf_puts(&line, ",\"cmdline\":[");
	json_put_str(&line, piece[4], plen[4]);
	buf_putc(&line, ',');
	json_put_str(&line, piece[5], plen[5]);
	buf_puts(&line, "]}");
	if (line.oom)
		goto out;
	if (record_parse(&r, line.p, line.len, NULL) != 0)
		abort();
	first = batch_add(b, &opts, filters, &r, 10000000000ULL) == 1;

	for (const char *p = in; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (record_parse(&r, p, l, NULL) == 0)
			(void)batch_add(b, &opts, filters, &r, 1000000000ULL);
		p += l + 1;
	}

	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0 || csv_write_batch(fd, b) < 0)
		abort();
	buf_reset(&csv);
	if (buf_reserve(&csv, (size_t)lseek(fd, 0, SEEK_CUR)) < 0)
		abort();
	n = pread(fd, csv.p, csv.cap, 0);
	if (n < 0)
		abort();
	csv.len = (size_t)n;

	{
		size_t lines = 0;

		if (memchr(csv.p, '\0', csv.len))
			abort();
		for (size_t pos = 0; pos < csv.len;) {
			if (csv_record(csv.p, csv.len, &pos, field, COLUMNS + 1) != COLUMNS)
				abort();
			if (lines == 0 && first) {
				for (int i = 0; i < 6; i++) {
					buf_reset(&want[i]);
					if (i == 4) {
						stripped(&want[4], piece[4], plen[4]);
						buf_putc(&want[4], ' ');
						stripped(&want[4], piece[5], plen[5]);
					} else if (i < 4) {
						stripped(&want[i], piece[i], plen[i]);
					}
				}
				expect_field(&field[C_PATH], C_PATH, &want[0]);
				expect_field(&field[C_NAME], C_NAME, &want[1]);
				expect_field(&field[C_DOMAIN], C_DOMAIN, &want[2]);
				expect_field(&field[C_RADDR], C_RADDR, &want[3]);
				expect_field(&field[C_CMDLINE], C_CMDLINE, &want[4]);
			}
			lines++;
		}
		if (lines != batch_rows(b))
			abort();
	}
out:
	batch_free(b);
	return 0;
}
