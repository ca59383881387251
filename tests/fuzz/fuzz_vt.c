/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for snitch-vt's reading of VirusTotal's answers
 * (cmd/snitch-vt/vtjson.c): any bytes as the body of each kind of answer.
 * Seeds: tests/fuzz/vt/. Invariants: no crash or undefined behaviour; a
 * failure always says why; counts stay within range and the engines
 * count is at least the four named ones; an analysis id holds only
 * characters a URL path takes; an upload URL is https:// without spaces.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vt.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const char sha[] = "1111111111111111111111111111111111111111111111111111111111111111";

static void check_counts(const struct vt_counts *c)
{
	if (c->malicious > 100000 || c->suspicious > 100000 || c->undetected > 100000 ||
	    c->harmless > 100000)
		abort();
	if (c->engines < c->malicious + c->suspicious + c->undetected + c->harmless)
		abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *body = (const char *)data;
	char why[256], id[256], url[2048], code[64];
	struct vt_counts c;
	bool done;

	why[0] = '\0';
	if (vt_parse_file(body, size, sha, &c, why, sizeof(why)) == 0)
		check_counts(&c);
	else if (!why[0])
		abort();
	why[0] = '\0';
	if (vt_parse_analysis(body, size, &done, &c, why, sizeof(why)) == 0) {
		if (done)
			check_counts(&c);
	} else if (!why[0]) {
		abort();
	}
	if (vt_parse_upload(body, size, id, sizeof(id), why, sizeof(why)) == 0) {
		if (!id[0] || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=:") !=
		    strlen(id))
			abort();
	}
	if (vt_parse_upload_url(body, size, url, sizeof(url), why, sizeof(why)) == 0) {
		if (strncmp(url, "https://", 8))
			abort();
		for (const char *p = url; *p; p++)
			if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
				abort();
	}
	vt_parse_error_code(body, size, code, sizeof(code));
	if (strlen(code) >= sizeof(code))
		abort();
	return 0;
}
