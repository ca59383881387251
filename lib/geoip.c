/* SPDX-License-Identifier: MIT */
/* The country of an address, from a MaxMind DB, or the label of its range. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <maxminddb.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "geoip.h"

struct geoip {
	MMDB_s mmdb;
};

struct range4 {
	uint32_t net;
	uint8_t bits;
	const char *label;
};

struct range6 {
	uint8_t net[16];
	uint8_t bits;
	const char *label;
};

/*
 * RFC 6890's special-purpose registries, in the words of geoip.h. First
 * match wins: 192.0.0.0/24 is listed after nothing it overlaps.
 */
static const struct range4 ranges4[] = {
	{ 0x00000000, 8, "unspecified" },	/* "this network" */
	{ 0x7f000000, 8, "loopback" },
	{ 0x0a000000, 8, "private" },
	{ 0xac100000, 12, "private" },
	{ 0xc0a80000, 16, "private" },
	{ 0xa9fe0000, 16, "link-local" },
	{ 0x64400000, 10, "cgnat" },		/* RFC 6598 */
	{ 0xe0000000, 4, "multicast" },
	{ 0xc0000200, 24, "documentation" },	/* TEST-NET-1 */
	{ 0xc6336400, 24, "documentation" },	/* TEST-NET-2 */
	{ 0xcb007100, 24, "documentation" },	/* TEST-NET-3 */
	{ 0xc0000000, 24, "reserved" },		/* IETF protocol assignments */
	{ 0xc6120000, 15, "reserved" },		/* benchmarking, RFC 2544 */
	{ 0xf0000000, 4, "reserved" },		/* class E and the broadcast */
};

static const struct range6 ranges6[] = {
	{ { 0 }, 128, "unspecified" },
	{ { [15] = 1 }, 128, "loopback" },
	{ { 0xfc }, 7, "private" },		/* unique local, RFC 4193 */
	{ { 0xfe, 0x80 }, 10, "link-local" },
	{ { 0xff }, 8, "multicast" },
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, "documentation" },
	{ { 0x3f, 0xff }, 20, "documentation" },	/* RFC 9637 */
};

/* NAT64's well-known prefix (RFC 6052), 64:ff9b::/96 */
static const uint8_t nat64_prefix[12] = { 0x00, 0x64, 0xff, 0x9b };

static bool prefix_matches(const uint8_t *a, const uint8_t *net, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, net, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ net[whole]) & (uint8_t)(0xff00 >> rest)) == 0;
}

static const char *label4(uint32_t a)
{
	for (size_t i = 0; i < sizeof(ranges4) / sizeof(ranges4[0]); i++) {
		uint32_t mask = ranges4[i].bits ? ~0u << (32 - ranges4[i].bits) : 0;

		if ((a & mask) == ranges4[i].net)
			return ranges4[i].label;
	}
	return NULL;
}

static const char *label6(const uint8_t *a)
{
	for (size_t i = 0; i < sizeof(ranges6) / sizeof(ranges6[0]); i++)
		if (prefix_matches(a, ranges6[i].net, ranges6[i].bits))
			return ranges6[i].label;
	/* global unicast is 2000::/3; the rest is unassigned or reserved */
	if ((a[0] & 0xe0) != 0x20)
		return "reserved";
	return NULL;
}

/*
 * addr as text to an address: 4 (in4 set) or 6 (in6 set), 0 when it is
 * none. An IPv6 zone ("fe80::1%eth0", an interface's name or index) is
 * cut off; IPv4 has none.
 */
static int parse(const char *addr, struct in_addr *in4, struct in6_addr *in6)
{
	/* the longest IPv6 text, a '%' and an interface name */
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE];
	size_t len = strnlen(addr, sizeof(buf));
	char *zone;

	if (len == 0 || len == sizeof(buf))
		return 0;
	if (inet_pton(AF_INET, addr, in4) == 1)
		return 4;
	memcpy(buf, addr, len + 1);
	zone = strchr(buf, '%');
	if (zone) {
		size_t n = strlen(zone + 1);

		if (n == 0 || n >= IF_NAMESIZE || strchr(zone + 1, '%'))
			return 0;
		*zone = '\0';
	}
	if (inet_pton(AF_INET6, buf, in6) == 1)
		return 6;
	return 0;
}

/* The database's code for the entry: 0, or -ENOENT, -EIO. */
static int entry_code(MMDB_entry_s *entry, char out[GEOIP_CODE_SIZE])
{
	/*
	 * GeoIP2 and GeoLite2 (and DB-IP's own files) say country.iso_code,
	 * with registered_country when the place is not known (anycast,
	 * satellite); ip-location-db's files say country_code.
	 */
	static const char *const paths[][3] = {
		{ "country", "iso_code", NULL },
		{ "country_code", NULL, NULL },
		{ "registered_country", "iso_code", NULL },
	};
	bool corrupt = false;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		MMDB_entry_data_s data;
		int rc = MMDB_aget_value(entry, &data, paths[i]);

		if (rc != MMDB_SUCCESS) {
			/* a path that is not there, or not a map, is no error */
			if (rc != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR &&
			    rc != MMDB_INVALID_LOOKUP_PATH_ERROR)
				corrupt = true;
			continue;
		}
		if (!data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING ||
		    data.data_size != 2)
			continue;
		/* ZZ: user-assigned, the databases' "unknown" */
		if (data.utf8_string[0] < 'A' || data.utf8_string[0] > 'Z' ||
		    data.utf8_string[1] < 'A' || data.utf8_string[1] > 'Z' ||
		    memcmp(data.utf8_string, "ZZ", 2) == 0)
			continue;
		out[0] = data.utf8_string[0];
		out[1] = data.utf8_string[1];
		out[2] = '\0';
		return 0;
	}
	return corrupt ? -EIO : -ENOENT;
}

static const char *lookup(const struct geoip *g, const struct sockaddr *sa,
			  char out[GEOIP_CODE_SIZE])
{
	MMDB_lookup_result_s res;
	int mmdb_error, rc;

	if (!g) {
		errno = ENOENT;
		return NULL;
	}
	res = MMDB_lookup_sockaddr(&g->mmdb, sa, &mmdb_error);
	if (mmdb_error != MMDB_SUCCESS) {
		/* an IPv6 address in an IPv4-only database is not in it */
		errno = mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR ?
			ENOENT : EIO;
		return NULL;
	}
	if (!res.found_entry) {
		errno = ENOENT;
		return NULL;
	}
	rc = entry_code(&res.entry, out);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	return out;
}

const char *geoip_country(const struct geoip *g, const char *addr,
			  char out[GEOIP_CODE_SIZE])
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	const char *label;

	switch (addr ? parse(addr, &sin.sin_addr, &sin6.sin6_addr) : 0) {
	case 4:
		break;
	case 6:
		if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr) ||
		    memcmp(sin6.sin6_addr.s6_addr, nat64_prefix, 12) == 0) {
			memcpy(&sin.sin_addr, sin6.sin6_addr.s6_addr + 12, 4);
			break;
		}
		label = label6(sin6.sin6_addr.s6_addr);
		if (label)
			return label;
		return lookup(g, (const struct sockaddr *)&sin6, out);
	default:
		errno = EINVAL;
		return NULL;
	}
	label = label4(ntohl(sin.sin_addr.s_addr));
	if (label)
		return label;
	return lookup(g, (const struct sockaddr *)&sin, out);
}

const char *geoip_db_path(const char *path)
{
	const char *env;

	if (path)
		return path;
	env = secure_getenv(GEOIP_ENV);
	if (env && *env)
		return env;
	return GEOIP_DEFAULT_PATH;
}

int geoip_open(struct geoip **gp, const char *path)
{
	struct geoip *g;
	struct stat st;
	int fd, rc;

	*gp = NULL;
	path = geoip_db_path(path);
	/*
	 * libmaxminddb says only "cannot open": ask first, for the errno a
	 * caller acts on (ENOENT: go on without countries).
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = fstat(fd, &st);
	/* libmaxminddb cannot map an empty file: an I/O error, it says */
	rc = rc < 0 ? -errno : S_ISREG(st.st_mode) && st.st_size > 0 ? 0 : -EINVAL;
	(void)close(fd);
	if (rc < 0)
		return rc;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	switch (MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb)) {
	case MMDB_SUCCESS:
		*gp = g;
		return 0;
	case MMDB_FILE_OPEN_ERROR:
		rc = errno ? -errno : -EIO;
		break;
	case MMDB_OUT_OF_MEMORY_ERROR:
		rc = -ENOMEM;
		break;
	case MMDB_IO_ERROR:
		rc = -EIO;
		break;
	default:	/* metadata, format or data not a MaxMind DB's */
		rc = -EINVAL;
		break;
	}
	free(g);
	return rc;
}

void geoip_close(struct geoip *g)
{
	if (!g)
		return;
	MMDB_close(&g->mmdb);
	free(g);
}

const char *geoip_describe(const struct geoip *g, char *buf, size_t size)
{
	time_t t;
	struct tm tm;
	char date[16] = "";

	if (size == 0)
		return buf;
	if (!g) {
		snprintf(buf, size, "none");
		return buf;
	}
	t = (time_t)g->mmdb.metadata.build_epoch;
	if (gmtime_r(&t, &tm))
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	snprintf(buf, size, "%s %s",
		 g->mmdb.metadata.database_type ? g->mmdb.metadata.database_type : "?",
		 date);
	return buf;
}
