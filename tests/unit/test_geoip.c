/* SPDX-License-Identifier: MIT */
/*
 * lib/geoip: the labels of special ranges (at their edges), bad input,
 * opening errors, and lookups in a small MaxMind DB written here, in both
 * layouts the library reads (country.iso_code and country_code).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "geoip.h"
#include "test.h"

static char dir[] = "/tmp/test_geoip.XXXXXX";

/* --- a MaxMind DB writer, just enough for the tests --------------------
 * The format: a binary search tree on the address bits (24-bit records,
 * two a node), 16 zero bytes, the data section, then the metadata map
 * after the marker "\xAB\xCD\xEFMaxMind.com".
 */
#define MAX_NODES 4096
#define NO_RECORD UINT32_MAX
#define DATA_FLAG 0x80000000u

static uint32_t tree[MAX_NODES][2];
static uint32_t node_count;
static uint8_t data[4096];
static size_t data_len;

static void put_byte(uint8_t *buf, size_t *len, uint8_t b)
{
	buf[(*len)++] = b;
}

static void put_str(uint8_t *buf, size_t *len, const char *s)
{
	size_t n = strlen(s);

	put_byte(buf, len, 0x40 | (uint8_t)n);	/* type 2, utf8_string; n < 29 */
	memcpy(buf + *len, s, n);
	*len += n;
}

static void put_map(uint8_t *buf, size_t *len, unsigned pairs)
{
	put_byte(buf, len, 0xe0 | (uint8_t)pairs);	/* type 7 */
}

/*
 * Unsigned integer of type 5 (uint16, in 2 bytes), 6 (uint32) or 9
 * (uint64), in 4 bytes: a reader refuses more bytes than the type holds.
 */
static void put_uint(uint8_t *buf, size_t *len, unsigned type, uint32_t v)
{
	uint8_t size = type == 5 ? 2 : 4;

	if (type <= 7) {
		put_byte(buf, len, (uint8_t)(type << 5) | size);
	} else {
		put_byte(buf, len, size);	/* extended: the type follows */
		put_byte(buf, len, (uint8_t)(type - 7));
	}
	for (int shift = (size - 1) * 8; shift >= 0; shift -= 8)
		put_byte(buf, len, (uint8_t)(v >> shift));
}

static uint32_t new_node(void)
{
	tree[node_count][0] = tree[node_count][1] = NO_RECORD;
	return node_count++;
}

/* Point the prefix (bits of a 128-bit address) at data offset off. */
static void tree_insert(const uint8_t *addr, unsigned bits, size_t off)
{
	uint32_t node = 0;

	for (unsigned i = 0; i < bits; i++) {
		unsigned bit = (addr[i / 8] >> (7 - i % 8)) & 1;

		if (i == bits - 1) {
			tree[node][bit] = DATA_FLAG | (uint32_t)off;
		} else {
			if (tree[node][bit] == NO_RECORD)
				tree[node][bit] = new_node();
			node = tree[node][bit];
		}
	}
}

static void insert(const char *prefix, unsigned bits, const uint8_t *rec, size_t n)
{
	uint8_t a[16] = { 0 };

	if (strchr(prefix, ':')) {
		CHECK(inet_pton(AF_INET6, prefix, a) == 1);
	} else {
		/* IPv4 in an IPv6 tree: ::a.b.c.d */
		CHECK(inet_pton(AF_INET, prefix, a + 12) == 1);
		bits += 96;
	}
	tree_insert(a, bits, data_len);
	memcpy(data + data_len, rec, n);
	data_len += n;
}

/* {"K1": {"K2": "V"}} or, with K2 NULL, {"K1": "V"} */
static void insert_entry(const char *prefix, unsigned bits, const char *k1,
			 const char *k2, const char *v)
{
	uint8_t rec[128];
	size_t n = 0;

	put_map(rec, &n, 1);
	put_str(rec, &n, k1);
	if (k2) {
		put_map(rec, &n, 1);
		put_str(rec, &n, k2);
	}
	put_str(rec, &n, v);
	insert(prefix, bits, rec, n);
}

static int write_db(const char *path)
{
	uint8_t meta[512];
	size_t m = 0;
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	for (uint32_t i = 0; i < node_count; i++) {
		for (int side = 0; side < 2; side++) {
			uint32_t r = tree[i][side];

			if (r == NO_RECORD)
				r = node_count;		/* no data */
			else if (r & DATA_FLAG)
				r = node_count + 16 + (r & ~DATA_FLAG);
			fputc((r >> 16) & 0xff, f);
			fputc((r >> 8) & 0xff, f);
			fputc(r & 0xff, f);
		}
	}
	for (int i = 0; i < 16; i++)
		fputc(0, f);
	fwrite(data, 1, data_len, f);
	fwrite("\xab\xcd\xefMaxMind.com", 1, 14, f);
	put_map(meta, &m, 9);
	put_str(meta, &m, "binary_format_major_version");
	put_uint(meta, &m, 5, 2);
	put_str(meta, &m, "binary_format_minor_version");
	put_uint(meta, &m, 5, 0);
	put_str(meta, &m, "build_epoch");
	put_uint(meta, &m, 9, 1780272000);	/* 2026-06-01 */
	put_str(meta, &m, "database_type");
	put_str(meta, &m, "snitch-test");
	put_str(meta, &m, "description");
	put_map(meta, &m, 1);
	put_str(meta, &m, "en");
	put_str(meta, &m, "made by test_geoip");
	put_str(meta, &m, "ip_version");
	put_uint(meta, &m, 5, 6);
	put_str(meta, &m, "languages");
	put_byte(meta, &m, 1);			/* array (extended 11) of 1 */
	put_byte(meta, &m, 11 - 7);
	put_str(meta, &m, "en");
	put_str(meta, &m, "node_count");
	put_uint(meta, &m, 6, node_count);
	put_str(meta, &m, "record_size");
	put_uint(meta, &m, 5, 24);
	fwrite(meta, 1, m, f);
	return fclose(f) == 0 ? 0 : -1;
}

static void build_db(const char *path)
{
	/* {"country_code": 840}: a number, type 5 (uint16) */
	static const uint8_t number[] = {
		0xe1, 0x4c, 'c', 'o', 'u', 'n', 't', 'r', 'y', '_', 'c', 'o', 'd', 'e',
		0xa2, 0x03, 0x48,
	};

	node_count = 0;
	data_len = 0;
	new_node();
	/* GeoIP2 / GeoLite2 layout */
	insert_entry("8.8.8.0", 24, "country", "iso_code", "US");
	insert_entry("2a00::", 16, "country", "iso_code", "DE");
	/* ip-location-db layout */
	insert_entry("1.1.1.0", 24, "country_code", NULL, "AU");
	insert_entry("2400:cb00::", 32, "country_code", NULL, "JP");
	/* only where it is registered */
	insert_entry("9.9.9.0", 24, "registered_country", "iso_code", "CH");
	/* no usable code: unknown, lowercase, too long, not a string */
	insert_entry("5.5.5.0", 24, "country", "iso_code", "ZZ");
	insert_entry("6.6.6.0", 24, "country_code", NULL, "us");
	insert_entry("7.7.7.0", 24, "country_code", NULL, "USA");
	insert_entry("3.3.3.0", 24, "country_code", NULL, "U");
	insert_entry("2.2.2.0", 24, "country", NULL, "US");	/* not a map */
	insert("4.4.4.0", 24, number, sizeof(number));
	/* a range that the labels take before the database is asked */
	insert_entry("10.0.0.0", 8, "country_code", NULL, "XX");
	CHECK(write_db(path) == 0);
}

/* --- the tests ---------------------------------------------------------- */

static const char *country(const struct geoip *g, const char *addr)
{
	static char out[GEOIP_CODE_SIZE];
	const char *c;

	errno = 0;
	c = geoip_country(g, addr, out);
	/* a code is out itself; a label a constant string */
	if (c && c[0] >= 'A' && c[0] <= 'Z')
		CHECK(c == out);
	return c ? c : "(null)";
}

/* NULL and errno e */
static bool none(const struct geoip *g, const char *addr, int e)
{
	char out[GEOIP_CODE_SIZE];

	errno = 0;
	return geoip_country(g, addr, out) == NULL && errno == e;
}

#define CHECK_LABEL(g, addr, want)                                             \
	do {                                                                   \
		const char *got_ = country(g, addr);                           \
		test_checks++;                                                 \
		if (strcmp(got_, want) != 0) {                                 \
			test_failures++;                                       \
			fprintf(stderr, "%s:%d: %s is '%s', expected '%s'\n",  \
				__FILE__, __LINE__, addr, got_, want);         \
		}                                                              \
	} while (0)

static void test_labels(void)
{
	/* every range at both edges; no database needed */
	static const char *const in[][2] = {
		{ "0.0.0.0", "unspecified" }, { "0.255.255.255", "unspecified" },
		{ "127.0.0.1", "loopback" }, { "127.255.255.255", "loopback" },
		{ "10.0.0.0", "private" }, { "10.255.255.255", "private" },
		{ "172.16.0.0", "private" }, { "172.31.255.255", "private" },
		{ "192.168.0.0", "private" }, { "192.168.255.255", "private" },
		{ "169.254.0.0", "link-local" }, { "169.254.255.255", "link-local" },
		{ "100.64.0.0", "cgnat" }, { "100.127.255.255", "cgnat" },
		{ "224.0.0.0", "multicast" }, { "239.255.255.255", "multicast" },
		{ "192.0.2.0", "documentation" }, { "192.0.2.255", "documentation" },
		{ "198.51.100.7", "documentation" }, { "203.0.113.255", "documentation" },
		{ "192.0.0.8", "reserved" }, { "198.18.0.0", "reserved" },
		{ "198.19.255.255", "reserved" }, { "240.0.0.0", "reserved" },
		{ "255.255.255.255", "reserved" },
		{ "::", "unspecified" }, { "::1", "loopback" },
		{ "fc00::", "private" }, { "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private" },
		{ "fe80::", "link-local" }, { "febf:ffff::1", "link-local" },
		{ "fe80::1%eth0", "link-local" }, { "fe80::1%2", "link-local" },
		{ "fe80::1%a23456789012345", "link-local" },
		{ "ff00::", "multicast" }, { "ff02::fb", "multicast" },
		{ "2001:db8::", "documentation" }, { "2001:db8:ffff::1", "documentation" },
		{ "3fff::", "documentation" }, { "3fff:fff:ffff::", "documentation" },
		{ "::2", "reserved" }, { "fec0::1", "reserved" }, { "fe00::", "reserved" },
		{ "100::1", "reserved" }, { "4000::", "reserved" }, { "1fff:ffff::", "reserved" },
		{ "e000::", "reserved" },
		/* NAT64's local-use prefix (RFC 8215): no IPv4 inside is assumed */
		{ "64:ff9b:1::8.8.8.8", "reserved" },
		/* IPv4 inside IPv6: labelled as the IPv4 address */
		{ "::ffff:10.1.2.3", "private" }, { "::ffff:127.0.0.1", "loopback" },
		{ "::ffff:100.100.1.1", "cgnat" }, { "::ffff:7f00:1", "loopback" },
		{ "64:ff9b::192.168.1.1", "private" }, { "64:ff9b::a9fe:1", "link-local" },
	};
	/* just outside a range: looked up, so with no database unknown */
	static const char *const out[] = {
		"1.0.0.0", "126.255.255.255", "128.0.0.0", "9.255.255.255", "11.0.0.0",
		"172.15.255.255", "172.32.0.0", "192.167.255.255", "192.169.0.0",
		"169.253.255.255", "169.255.0.0", "100.63.255.255", "100.128.0.0",
		"223.255.255.255", "192.0.1.255", "192.0.3.0", "198.51.99.255",
		"198.51.101.0", "203.0.112.255", "203.0.114.0", "192.0.1.0",
		"198.17.255.255", "198.20.0.0",
		"2000::", "3ffe:ffff::", "2001:db7:ffff::", "2001:db9::", "3fff:1000::",
		"2a00:1450::1", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8",
	};

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		CHECK_LABEL(NULL, in[i][0], in[i][1]);
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		test_checks++;
		if (!none(NULL, out[i], ENOENT)) {
			test_failures++;
			fprintf(stderr, "%s:%d: %s is '%s', expected none (ENOENT)\n",
				__FILE__, __LINE__, out[i], country(NULL, out[i]));
		}
	}
}

static void test_bad_input(void)
{
	char longer[300];
	static const char *const bad[] = {
		"", " ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "01.2.3.4",
		" 1.2.3.4", "1.2.3.4 ", "1.2.3.4\n", "[::1]", "::1::", ":::", "1::2::3",
		"fe80::1%", "1.2.3.4%eth0", "example.org", "0x7f.0.0.1", "127.1",
		"::ffff:1.2.3", "12345::", "g::1", "1.2.3.4/24", "::1/128",
		"fe80::1%a23456789012345x",	/* longer than an interface name */
		"fe80::1%eth0%eth1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_checks++;
		if (!none(NULL, bad[i], EINVAL)) {
			test_failures++;
			fprintf(stderr, "%s:%d: '%s' is taken as an address ('%s')\n",
				__FILE__, __LINE__, bad[i], country(NULL, bad[i]));
		}
	}
	CHECK(none(NULL, NULL, EINVAL));
	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	CHECK(none(NULL, longer, EINVAL));
	/* the longest IPv6 text still is one */
	CHECK_LABEL(NULL, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "multicast");
	CHECK_LABEL(NULL, "0000:0000:0000:0000:0000:0000:0000:0001", "loopback");
}

static void test_path(void)
{
	CHECK(strcmp(geoip_db_path("/x/y.mmdb"), "/x/y.mmdb") == 0);
	CHECK(unsetenv(GEOIP_ENV) == 0);
	CHECK(strcmp(geoip_db_path(NULL), GEOIP_DEFAULT_PATH) == 0);
	CHECK(strcmp(GEOIP_DEFAULT_PATH, "/var/cache/snitch/country.mmdb") == 0);
	CHECK(setenv(GEOIP_ENV, "", 1) == 0);
	CHECK(strcmp(geoip_db_path(NULL), GEOIP_DEFAULT_PATH) == 0);
	CHECK(setenv(GEOIP_ENV, "/opt/GeoLite2-Country.mmdb", 1) == 0);
	CHECK(strcmp(geoip_db_path(NULL), "/opt/GeoLite2-Country.mmdb") == 0);
	CHECK(strcmp(geoip_db_path("/x"), "/x") == 0);
	CHECK(unsetenv(GEOIP_ENV) == 0);
}

static void test_open_errors(void)
{
	char path[256], buf[64];
	struct geoip *g = (struct geoip *)&g;
	FILE *f;

	snprintf(path, sizeof(path), "%s/missing.mmdb", dir);
	CHECK_EQ_INT(geoip_open(&g, path), -ENOENT);
	CHECK(g == NULL);
	CHECK(setenv(GEOIP_ENV, path, 1) == 0);
	CHECK_EQ_INT(geoip_open(&g, NULL), -ENOENT);
	CHECK(unsetenv(GEOIP_ENV) == 0);
	CHECK_EQ_INT(geoip_open(&g, dir), -EINVAL);

	snprintf(path, sizeof(path), "%s/empty.mmdb", dir);
	f = fopen(path, "we");
	CHECK(f && fclose(f) == 0);
	CHECK_EQ_INT(geoip_open(&g, path), -EINVAL);

	snprintf(path, sizeof(path), "%s/text.mmdb", dir);
	f = fopen(path, "we");
	CHECK(f != NULL);
	for (int i = 0; f && i < 1000; i++)
		fprintf(f, "not a database %d\n", i);
	CHECK(f && fclose(f) == 0);
	CHECK_EQ_INT(geoip_open(&g, path), -EINVAL);

	/* a marker and no metadata after it */
	f = fopen(path, "we");
	CHECK(f != NULL);
	if (f) {
		fwrite("\0\0\0\0\0\0\xab\xcd\xefMaxMind.com", 1, 20, f);
		CHECK(fclose(f) == 0);
	}
	CHECK_EQ_INT(geoip_open(&g, path), -EINVAL);
	CHECK(g == NULL);

	if (geteuid() != 0) {
		CHECK(chmod(path, 0) == 0);
		CHECK_EQ_INT(geoip_open(&g, path), -EACCES);
	}
	geoip_close(NULL);
	CHECK(strcmp(geoip_describe(NULL, buf, sizeof(buf)), "none") == 0);
}

static void test_lookups(void)
{
	char path[256], buf[64];
	struct geoip *g = NULL;

	snprintf(path, sizeof(path), "%s/test.mmdb", dir);
	build_db(path);
	CHECK_EQ_INT(geoip_open(&g, path), 0);
	if (!g)
		return;
	CHECK(strcmp(geoip_describe(g, buf, sizeof(buf)), "snitch-test 2026-06-01") == 0);
	geoip_describe(g, buf, 5);
	CHECK(strcmp(buf, "snit") == 0);

	CHECK_LABEL(g, "8.8.8.8", "US");
	CHECK_LABEL(g, "8.8.8.0", "US");
	CHECK_LABEL(g, "8.8.8.255", "US");
	CHECK(none(g, "8.8.9.0", ENOENT));
	CHECK(none(g, "8.8.7.255", ENOENT));
	CHECK_LABEL(g, "1.1.1.1", "AU");
	CHECK_LABEL(g, "2400:cb00::1", "JP");
	CHECK(none(g, "2400:cb01::1", ENOENT));
	CHECK_LABEL(g, "2a00:1450:4001::200e", "DE");
	CHECK_LABEL(g, "9.9.9.9", "CH");
	/* IPv4 in IPv6 is looked up as IPv4 */
	CHECK_LABEL(g, "::ffff:8.8.8.4", "US");
	CHECK_LABEL(g, "::ffff:101:101", "AU");
	CHECK_LABEL(g, "64:ff9b::8.8.8.8", "US");
	/* ::8.8.8.8 is where the IPv4 tree begins, but not an IPv4 address */
	CHECK_LABEL(g, "::8.8.8.8", "reserved");
	/* entries without a usable code */
	CHECK(none(g, "5.5.5.5", ENOENT));
	CHECK(none(g, "6.6.6.6", ENOENT));
	CHECK(none(g, "7.7.7.7", ENOENT));
	CHECK(none(g, "4.4.4.4", ENOENT));
	CHECK(none(g, "3.3.3.3", ENOENT));
	CHECK(none(g, "2.2.2.2", ENOENT));
	/* labels come first, whatever the database says */
	CHECK_LABEL(g, "10.1.2.3", "private");
	CHECK_LABEL(g, "::ffff:10.1.2.3", "private");
	CHECK(none(g, "8.8.8", EINVAL));
	geoip_close(g);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_labels();
	test_bad_input();
	test_path();
	test_open_errors();
	test_lookups();
	if (test_failures) {
		fprintf(stderr, "test_geoip: the files are kept in %s\n", dir);
	} else {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_geoip: cannot remove %s\n", dir);
	}
	TEST_MAIN_END("test_geoip");
}
