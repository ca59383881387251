/* SPDX-License-Identifier: MIT */
/* snitch-metrics' counters: bounds, "other", expiry, escaping, subnets. */
#include <errno.h>

#include "metrics.h"
#include "test.h"

static void render(struct registry *r, struct buf *b)
{
	buf_reset(b);
	registry_render(r, b, false);
	buf_putc(b, '\0');
}

static void test_bounds_and_other(void)
{
	static const char *const labels[] = { "exe", "direction" };
	struct registry r;
	struct family *f;
	struct buf b = BUF_INIT;

	CHECK_EQ_INT(registry_init(&r, 2, 1000), 0);
	f = registry_family(&r, "t_bytes", "help", FAMILY_COUNTER, labels, 2, 1u << 1);
	CHECK(f != NULL);
	for (int i = 0; i < 5; i++) {
		char exe[8];

		snprintf(exe, sizeof(exe), "/e%d", i);
		label_begin(&r);
		label_add_cstr(&r, f, exe);
		label_add_cstr(&r, f, i % 2 ? "sent" : "received");
		series_add(&r, f, 10 + (uint64_t)i, 100);
	}
	/* the first two stay; the others go to "other", by direction */
	CHECK_EQ_INT(f->count, 2);
	CHECK_EQ_INT(f->dropped, 3);
	CHECK_EQ_INT(family_series(f), 4);
	render(&r, &b);
	CHECK(strstr(b.p, "t_bytes_total{exe=\"/e0\",direction=\"received\"} 10\n") != NULL);
	CHECK(strstr(b.p, "t_bytes_total{exe=\"/e1\",direction=\"sent\"} 11\n") != NULL);
	CHECK(strstr(b.p, "t_bytes_total{exe=\"other\",direction=\"received\"} 26\n") != NULL);
	CHECK(strstr(b.p, "t_bytes_total{exe=\"other\",direction=\"sent\"} 13\n") != NULL);
	CHECK(strstr(b.p, "# TYPE t_bytes_total counter\n") != NULL);

	/* /e0 kept alive; the rest expire at 1000 ns without an update */
	label_begin(&r);
	label_add_cstr(&r, f, "/e0");
	label_add_cstr(&r, f, "received");
	series_add(&r, f, 1, 900);
	CHECK_EQ_INT(registry_expire(&r, 1500), 3);
	CHECK_EQ_INT(f->count, 1);
	CHECK_EQ_INT(f->expired, 3);
	render(&r, &b);
	CHECK(strstr(b.p, "t_bytes_total{exe=\"/e0\",direction=\"received\"} 11\n") != NULL);
	CHECK(strstr(b.p, "other") == NULL);
	/* room again: a new set is its own series */
	label_begin(&r);
	label_add_cstr(&r, f, "/e9");
	label_add_cstr(&r, f, "sent");
	series_add(&r, f, 5, 1600);
	CHECK_EQ_INT(f->count, 2);
	CHECK_EQ_INT(f->dropped, 3);
	/* OpenMetrics: the family without _total, the samples with it */
	buf_reset(&b);
	registry_render(&r, &b, true);
	buf_putc(&b, '\0');
	CHECK(strstr(b.p, "# TYPE t_bytes counter\n") != NULL);
	CHECK(strstr(b.p, "t_bytes_total{exe=\"/e9\",direction=\"sent\"} 5\n") != NULL);
	buf_release(&b);
	registry_release(&r);
}

static void test_escape(void)
{
	struct buf b = BUF_INIT;
	char big[400];

	label_escape(&b, "a\"b\\c\nd", 7);
	CHECK_MEM(b.p, b.len, "a\\\"b\\\\c\\nd");
	buf_reset(&b);
	label_escape(&b, "x\xff\0y\xc3\xa9", 6);
	CHECK_MEM(b.p, b.len, "x\xef\xbf\xbd\xef\xbf\xbdy\xc3\xa9");
	/* cut after 256 bytes, not inside a character */
	memset(big, 'a', sizeof(big));
	big[255] = '\xc3';
	big[256] = '\xa9';
	buf_reset(&b);
	label_escape(&b, big, sizeof(big));
	CHECK_EQ_INT(b.len, 255 + 3);
	CHECK(b.len >= 3 && !memcmp(b.p + b.len - 3, "...", 3));
	buf_release(&b);
}

static void test_subnets(void)
{
	char out[80];
	uint32_t mask;
	char bad[32];

	subnet_of("198.51.100.77", 24, 48, out, sizeof(out));
	CHECK(!strcmp(out, "198.51.100.0/24"));
	subnet_of("198.51.100.77", 20, 48, out, sizeof(out));
	CHECK(!strcmp(out, "198.51.96.0/20"));
	subnet_of("198.51.100.77", 32, 48, out, sizeof(out));
	CHECK(!strcmp(out, "198.51.100.77/32"));
	subnet_of("198.51.100.77", 0, 48, out, sizeof(out));
	CHECK(!strcmp(out, "0.0.0.0/0"));
	subnet_of("2001:db8:aa:bb::1", 24, 48, out, sizeof(out));
	CHECK(!strcmp(out, "2001:db8:aa::/48"));
	subnet_of("2001:db8:aa:bb::1", 24, 56, out, sizeof(out));
	CHECK(!strcmp(out, "2001:db8:aa::/56"));
	subnet_of("2001:db8:aa:bbff::1", 24, 56, out, sizeof(out));
	CHECK(!strcmp(out, "2001:db8:aa:bb00::/56"));
	subnet_of("", 24, 48, out, sizeof(out));
	CHECK(!strcmp(out, ""));
	subnet_of("not an address", 24, 48, out, sizeof(out));
	CHECK(!strcmp(out, ""));

	CHECK_EQ_INT(labels_parse("exe, proto  pod_name", &mask, bad, sizeof(bad)), 0);
	CHECK_EQ_INT(mask, (1u << L_EXE) | (1u << L_PROTO) | (1u << L_POD_NAME));
	CHECK_EQ_INT(labels_parse("exe,pid", &mask, bad, sizeof(bad)), -EINVAL);
	CHECK(!strcmp(bad, "pid"));
}

int main(void)
{
	test_bounds_and_other();
	test_escape();
	test_subnets();
	TEST_MAIN_END("snitch-metrics registry");
}
