/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for snitch top's model (cmd/snitch-top/model.c): any
 * bytes as lines of the live feed. No crash or undefined behaviour, and
 * every text it keeps for the screen is inert (valid UTF-8, no C0, DEL or
 * C1 control), whatever the records held.
 */
#include <stdlib.h>
#include <string.h>

#include "inert.h"
#include "json.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

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
		check_inert(m.exe[order[i]].exe, strlen(m.exe[order[i]].exe));
		check_inert(m.exe[order[i]].name, strlen(m.exe[order[i]].name));
	}
	free(order);
	n = model_events(&m, NULL, ev, TOP_EVENTS_MAX);
	for (size_t i = 0; i < n; i++) {
		check_inert(ev[i]->name, strlen(ev[i]->name));
		check_inert(ev[i]->parent, strlen(ev[i]->parent));
		check_inert(ev[i]->gparent, strlen(ev[i]->gparent));
		check_inert(ev[i]->remote, strlen(ev[i]->remote));
		check_inert(ev[i]->country, strlen(ev[i]->country));
		check_inert(ev[i]->cmdline, strlen(ev[i]->cmdline));
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
