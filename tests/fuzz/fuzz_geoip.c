/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for lib/geoip.c: any bytes as the text of an address,
 * as the records carry it from packets, looked up in the country database
 * make deps installs (when it is there: SNITCH_GEOIP_DB or the default)
 * and in none. Invariants: no crash or undefined behaviour; the answer is
 * a known label or two capital letters, or none with EINVAL, ENOENT or
 * EIO; it is no address (EINVAL) exactly when inet_pton says so; a label
 * needs no database; an IPv4 address and its IPv4-mapped IPv6 form get
 * the same answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geoip.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static struct geoip *db;

static const char *const labels[] = {
	"unspecified", "loopback", "private", "link-local", "cgnat",
	"multicast", "documentation", "reserved",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (geoip_open(&db, NULL) < 0)
		db = NULL;
	fprintf(stderr, "fuzz_geoip: database %s\n", db ? geoip_db_path(NULL) : "none");
	return 0;
}

static bool is_label(const char *s)
{
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (s == labels[i] || strcmp(s, labels[i]) == 0)
			return true;
	return false;
}

/* The answer as text ("-EINVAL" for none), checked on the way. */
static void answer(const struct geoip *g, const char *addr, char *text, size_t size)
{
	char out[GEOIP_CODE_SIZE];
	const char *c;

	memset(out, 0x7f, sizeof(out));
	errno = 0;
	c = geoip_country(g, addr, out);
	if (!c) {
		if (errno != EINVAL && errno != ENOENT && errno != EIO)
			abort();
		snprintf(text, size, "-%d", errno);
		return;
	}
	if (c == out) {
		if (out[0] < 'A' || out[0] > 'Z' || out[1] < 'A' || out[1] > 'Z' ||
		    out[2] != '\0')
			abort();
	} else if (!is_label(c)) {
		abort();
	}
	snprintf(text, size, "%s", c);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char addr[256], with_db[32], without[32], mapped[300], again[32];
	unsigned char bin[16];
	bool v4, v6;

	if (size >= sizeof(addr))
		return 0;
	memcpy(addr, data, size);
	addr[size] = '\0';

	answer(db, addr, with_db, sizeof(with_db));
	answer(NULL, addr, without, sizeof(without));
	/* parsing and labels do not depend on the database */
	if ((strcmp(with_db, "-22") == 0) != (strcmp(without, "-22") == 0))
		abort();
	if (is_label(with_db) && strcmp(with_db, without) != 0)
		abort();
	if (!db && strcmp(with_db, without) != 0)
		abort();

	/* an address exactly when the C library reads one (no zone here) */
	v4 = inet_pton(AF_INET, addr, bin) == 1;
	v6 = inet_pton(AF_INET6, addr, bin) == 1;
	if (!strchr(addr, '%') && (v4 || v6) != (strcmp(without, "-22") != 0))
		abort();

	/* with a zone: an IPv6 address before it */
	if (strchr(addr, '%') && strcmp(without, "-22") != 0) {
		char head[256];

		snprintf(head, sizeof(head), "%.*s", (int)strcspn(addr, "%"), addr);
		if (inet_pton(AF_INET6, head, bin) != 1)
			abort();
	}

	/* ::ffff:a.b.c.d is a.b.c.d */
	if (v4) {
		snprintf(mapped, sizeof(mapped), "::ffff:%s", addr);
		answer(db, mapped, again, sizeof(again));
		if (strcmp(again, with_db) != 0)
			abort();
	}
	return 0;
}
