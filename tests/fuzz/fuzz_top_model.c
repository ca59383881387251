/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for snitch top's model (cmd/snitch-top/model.c): any
 * bytes as lines of the live feed. No crash or undefined behaviour, and
 * every text it keeps for the screen is inert (valid UTF-8, no C0, DEL or
 * C1 control), whatever the records held.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/*
 * The harness's own check, run on every text of the model for every
 * input, is left out of the coverage instrumentation: instrumented, it
 * was most of the time of a run (perf: a fuzzer at 470 inputs a second).
 */
__attribute__((no_sanitize("coverage")))
static void check_inert(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t n = strlen(p);

	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(u + i, n - i);

		if (!l || u[i] < 0x20 || u[i] == 0x7f)
			abort();
		if (l == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0)
			abort();
		i += l;
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct top_model m;
	static bool ready;
	const struct top_event *ev[TOP_EVENTS_MAX];
	size_t *order, n;
	const char *p = (const char *)data, *end = p + size;

	if (!ready) {
		model_init(&m);
		ready = true;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		model_add_line(&m, p, len);
		p += len + 1;
	}
	model_tick(&m);
	order = malloc((m.nexe + 1) * sizeof(*order));
	if (!order)
		return 0;
	n = model_exes(&m, (enum top_sort)(size % SORT_COUNT), size & 1 ? "a" : NULL, order);
	for (size_t i = 0; i < n; i++) {
		check_inert(m.exe[order[i]].exe);
		check_inert(m.exe[order[i]].name);
	}
	free(order);
	n = model_events(&m, NULL, ev, TOP_EVENTS_MAX);
	for (size_t i = 0; i < n; i++) {
		check_inert(ev[i]->name);
		check_inert(ev[i]->parent);
		check_inert(ev[i]->gparent);
		check_inert(ev[i]->remote);
		check_inert(ev[i]->country);
		check_inert(ev[i]->cmdline);
	}
	/*
	 * A bounded model: start afresh now and then (past 128 executables:
	 * each input sorts them all, and what more of them would reach,
	 * the growth of the table, is reached by then)
	 */
	if (m.nexe > 128) {
		model_release(&m);
		model_init(&m);
	}
	return 0;
}
