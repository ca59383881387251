/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for snitch-resolve's SNI and HTTP Host parser
 * (cmd/snitch-resolve/hello.c): any bytes as the first ones a client sent
 * on a TCP connection, whole and cut at every length the kernel's copy
 * could stop at. Seeds: tests/fuzz/hello/. Invariants: no crash or
 * undefined behaviour; a name is found only with a kind, and is a
 * lowercase host name of at most 253 characters; a cut input never finds
 * a name the whole one does not.
 */
#include <stdlib.h>
#include <string.h>

#include "hello.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check(const struct hello *h, enum hello_status s)
{
	size_t n = strnlen(h->name, sizeof(h->name));

	if (s != h->status || n > HELLO_NAME_MAX)
		abort();
	if (s == HELLO_FOUND) {
		if (h->kind == HELLO_NONE || n == 0 || !hello_source(h->kind))
			abort();
		for (size_t i = 0; i < n; i++) {
			char c = h->name[i];

			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			      c == '-' || c == '_' || c == '.'))
				abort();
		}
		if (h->name[0] == '.' || strstr(h->name, ".."))
			abort();
	} else if (n != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct hello whole, part;
	enum hello_status s = hello_parse(data, size, &whole);

	check(&whole, s);
	/* a prefix: the kernel copies a bounded number of bytes */
	if (size > 1) {
		size_t cut = data[0] % size;

		s = hello_parse(data, cut, &part);
		check(&part, s);
		if (s == HELLO_FOUND && (whole.status != HELLO_FOUND ||
					 strcmp(part.name, whole.name)))
			abort();
	}
	return 0;
}
