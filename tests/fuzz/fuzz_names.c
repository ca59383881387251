/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for snitch-resolve's readers of the files that name
 * containers (cmd/snitch-resolve/names_parse.c): any bytes as Docker's
 * config.v2.json, c/storage's containers.json (for the id of its first
 * entry, and for a fixed one), an OCI config.json, and as a directory or
 * file name of the kubelet's. Seeds: tests/fixtures/containers/. The
 * files are written by container users and by anyone who can name a pod.
 * Invariants: no crash or undefined behaviour; every field found is
 * NUL-ended, fits its array, is not empty, and renders as JSON that the
 * record library reads back to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "names.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void field(bool have, const char *v, size_t size)
{
	static struct buf b, back;
	static struct record r;
	size_t len;

	if (!have)
		return;
	len = strnlen(v, size);
	if (len == 0 || len == size)
		abort();
	buf_reset(&b);
	buf_puts(&b, "{\"f\":");
	json_put_str(&b, v, len);
	buf_putc(&b, '}');
	buf_reset(&back);
	if (record_parse(&r, b.p, b.len, NULL) < 0 || record_get_str(&r, "f", &back) < 0 ||
	    back.len != len || memcmp(back.p, v, len))
		abort();
}

static void check(const struct container_names *n)
{
	field(n->have_name, n->name, sizeof(n->name));
	field(n->have_image, n->image, sizeof(n->image));
	field(n->have_pod_namespace, n->pod_namespace, sizeof(n->pod_namespace));
	field(n->have_pod_name, n->pod_name, sizeof(n->pod_name));
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *text = (const char *)data;
	struct container_names n;
	char *s = malloc(size + 1);
	const char *id;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	names_init(&n);
	(void)names_from_docker_config(&n, text, size);
	check(&n);
	names_init(&n);
	(void)names_from_oci_config(&n, text, size);
	check(&n);
	/* the first "id" in the text, as a container would be looked up */
	names_init(&n);
	if ((id = strstr(s, "\"id\":\""))) {
		char want[128];
		size_t l = strcspn(id + 6, "\"");

		if (l < sizeof(want)) {
			memcpy(want, id + 6, l);
			want[l] = '\0';
			(void)names_from_storage_list(&n, text, size, want);
			check(&n);
		}
	}
	names_init(&n);
	(void)names_from_storage_list(&n, text, size, "0123456789abcdef");
	check(&n);
	/* a name of /var/log/pods or /var/log/containers: up to a NUL */
	names_init(&n);
	(void)names_from_pod_dir(&n, s, "3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b");
	check(&n);
	names_init(&n);
	(void)names_from_container_log(&n, s, "0123456789abcdef");
	check(&n);
	free(s);
	return 0;
}
