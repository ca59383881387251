/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for snitch-store's rows and CSV log
 * (cmd/snitch-store/rows.c: batch_add, csv_write_batch).
 *
 * The input is read two ways. Split at 0x1f bytes, its pieces are the
 * path, name, domain, remote address and two arguments of a flow record
 * made from the record contract's example; split at newlines, each line
 * that is a record is merged into the same batch. Invariants: no crash or
 * undefined behaviour; the CSV has one line per row, each of exactly the
 * 25 columns, with no NUL; and the first row's path, name, command line,
 * remote address and domain are the pieces, less the commas, line ends
 * and NULs the writer drops.
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

/* What the CSV writer keeps of bytes: all but , \n \r and NUL. */
static void stripped(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ',' && s[i] != '\n' && s[i] != '\r' && s[i] != '\0')
			buf_putc(b, s[i]);
}

static void expect_field(const char *line, size_t len, int col, const struct buf *want)
{
	const char *p = line, *end = line + len, *c;

	for (int i = 0; i < col; i++)
		p = memchr(p, ',', (size_t)(end - p)) + 1;
	c = memchr(p, ',', (size_t)(end - p));
	if (!c || (size_t)(c - p) != want->len ||
	    (want->len && memcmp(p, want->p, want->len) != 0)) {
		if (getenv("FUZZ_CSV_DEBUG"))
			fprintf(stderr, "column %d of '%.*s' is not '%.*s'\n", col, (int)len, line,
				(int)want->len, want->p);
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
	static struct buf want[6], csv, line;
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
			const char *l = csv.p + pos, *nl = memchr(l, '\n', csv.len - pos);
			size_t len, commas = 0;

			if (!nl)
				abort();	/* every row ends its line */
			len = (size_t)(nl - l);
			for (size_t i = 0; i < len; i++)
				commas += l[i] == ',';
			if (commas != COLUMNS - 1)
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
				expect_field(l, len, C_PATH, &want[0]);
				expect_field(l, len, C_NAME, &want[1]);
				expect_field(l, len, C_DOMAIN, &want[2]);
				expect_field(l, len, C_RADDR, &want[3]);
				expect_field(l, len, C_CMDLINE, &want[4]);
			}
			lines++;
			pos += len + 1;
		}
		if (lines != batch_rows(b))
			abort();
	}
out:
	batch_free(b);
	return 0;
}
