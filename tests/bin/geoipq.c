/* SPDX-License-Identifier: MIT */
/*
 * lib/geoip from the shell, for the tests: "ADDR RESULT" a line for each
 * address given (or read a line each from stdin), RESULT a country code,
 * a label, or "-" with the errno name when there is none:
 *   geoipq [--db PATH] ADDR...       (--db: else SNITCH_GEOIP_DB, the default)
 *   geoipq --describe [--db PATH]    the database's type and date
 *   geoipq --bench N [--db PATH] ADDR...   ns a lookup over N rounds
 * Exit 0, 1 when the database does not open (its errno on stderr; with
 * no database at all it answers with labels only), 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "geoip.h"

static void show(const struct geoip *g, const char *addr)
{
	char out[GEOIP_CODE_SIZE];
	const char *c;

	errno = 0;
	c = geoip_country(g, addr, out);
	if (c)
		printf("%s %s\n", addr, c);
	else
		printf("%s - %s\n", addr, errno == EINVAL ? "EINVAL" :
		       errno == ENOENT ? "ENOENT" : errno == EIO ? "EIO" : "other");
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *db = NULL;
	struct geoip *g;
	long rounds = 0;
	int i = 1, rc, describe = 0;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			db = argv[++i];
		else if (!strcmp(argv[i], "--describe"))
			describe = 1;
		else if (!strcmp(argv[i], "--bench") && i + 1 < argc)
			rounds = strtol(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: geoipq [--db PATH] [--describe] [--bench N] [ADDR...]\n");
			return 2;
		}
	}
	rc = geoip_open(&g, db);
	if (rc == -ENOENT && !describe && rounds == 0) {
		/* as snitch does: labels still, and no countries */
		fprintf(stderr, "geoipq: no database at '%s': labels only\n",
			geoip_db_path(db));
	} else if (rc < 0) {
		fprintf(stderr, "geoipq: cannot open '%s': %s\n", geoip_db_path(db),
			strerror(-rc));
		return 1;
	}
	if (describe) {
		char buf[128];

		printf("%s\n", geoip_describe(g, buf, sizeof(buf)));
	} else if (rounds > 0 && i < argc) {
		char out[GEOIP_CODE_SIZE];
		long found = 0;
		double t0 = now_ns();

		for (long r = 0; r < rounds; r++)
			for (int j = i; j < argc; j++)
				found += geoip_country(g, argv[j], out) != NULL;
		printf("%.0f ns a lookup (%ld found)\n",
		       (now_ns() - t0) / ((double)rounds * (argc - i)), found);
	} else if (i < argc) {
		for (; i < argc; i++)
			show(g, argv[i]);
	} else {
		char line[256];

		while (fgets(line, sizeof(line), stdin)) {
			line[strcspn(line, "\n")] = '\0';
			show(g, line);
		}
	}
	geoip_close(g);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
