/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for snitch-metrics: any bytes as record lines, counted
 * by the exporter (few series, so that "other" and expiry are reached),
 * then both expositions made; and the bytes as one label value. What comes
 * out must be an exposition a scraper reads: every label value quoted,
 * escaped (\\, \", \n only), valid UTF-8, and each sample on one line.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "metrics.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* A label value from just after its opening quote; returns past its closing one. */
static const char *check_value(const char *p, const char *end)
{
	while (p < end) {
		size_t n;

		if (*p == '"')
			return p + 1;
		if (*p == '\n')
			abort();
		if (*p == '\\') {
			if (p + 1 >= end || (p[1] != '\\' && p[1] != '"' && p[1] != 'n'))
				abort();
			p += 2;
			continue;
		}
		n = utf8_seq_len((const unsigned char *)p, (size_t)(end - p));
		if (!n)
			abort();
		p += n;
	}
	abort();
}

static void check_exposition(const struct buf *b)
{
	const char *p = b->p, *end = b->p + b->len;

	if (!b->len || end[-1] != '\n')
		abort();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (*p != '#') {
			/* name{k="v",...} value */
			while (p < nl && *p != '{' && *p != ' ')
				p++;
			if (p < nl && *p == '{') {
				p++;
				while (p < nl && *p != '}') {
					const char *eq = memchr(p, '=', (size_t)(nl - p));

					if (!eq || eq[1] != '"')
						abort();
					p = check_value(eq + 2, end);
					if (p > nl)
						abort();	/* a value ran over its line */
					if (*p == ',')
						p++;
				}
				if (p >= nl)
					abort();
				p++;
			}
			if (p >= nl || *p != ' ')
				abort();
		}
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const struct exporter_opts o = {
		.labels = ~0u, .subnet_v4 = 24, .subnet_v6 = 48, .max_series = 4,
		.ttl_ns = 1000, .status_file = NULL,
	};
	struct exporter *e = exporter_new(&o);
	struct record r;
	struct buf out = BUF_INIT;
	const char *s = (const char *)data, *end = s + size;
	uint64_t now = 1;

	if (!e)
		abort();
	record_init(&r);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);

		if (record_parse(&r, s, len, NULL) == 0)
			exporter_record(e, &r, now);
		now += 300;
		if (now % 900 == 1)
			exporter_tick(e, now);
		s += len + 1;
	}
	exporter_flush(e, now);
	exporter_render(e, &out, false);
	check_exposition(&out);
	buf_reset(&out);
	exporter_render(e, &out, true);
	check_exposition(&out);

	/* the input as one label value, quoted */
	buf_reset(&out);
	buf_puts(&out, "m{l=\"");
	label_escape(&out, (const char *)data, size);
	buf_puts(&out, "\"} 1\n");
	check_exposition(&out);

	buf_release(&out);
	record_release(&r);
	exporter_free(e);
	return 0;
}
