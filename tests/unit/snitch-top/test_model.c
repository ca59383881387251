/* SPDX-License-Identifier: MIT */
/* snitch top's model: sums, rates, connections, listening ports, sorting, filters, safety. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "test.h"
#include "units.h"

static struct top_model m;

static void add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void add(const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	model_add_line(&m, line, (size_t)n);
}

#define FLOW_FIELDS "{\"v\":1,\"type\":\"flow\",\"ts_ns\":1763822400000000000,\"phase\":\"%s\",\"sock_cookie\":%d,\"pid\":%d," \
	"\"proto\":\"tcp\",\"lport\":%d,\"raddr\":\"%s\",\"rport\":%d,\"send_bytes\":%d,\"recv_bytes\":%d," \
	"\"exe_path\":\"%s\",\"name\":\"%s\",\"parent_name\":\"bash\",\"gparent_name\":\"sshd\"," \
	"\"cmdline\":[\"%s\",\"-x\"],\"domain\":%s"
#define FLOW FLOW_FIELDS "}"
#define FLOW_OUTCOME(o) FLOW_FIELDS ",\"outcome\":\"" o "\"}"

static const struct top_exe *exe_named(const char *name)
{
	for (size_t i = 0; i < m.nexe; i++)
		if (!strcmp(m.exe[i].name, name))
			return &m.exe[i];
	return NULL;
}

static void test_sums_and_rates(void)
{
	const struct top_exe *c, *s;

	model_set_listening(&m, "tcp", 8080, true);
	add(FLOW, "new", 1, 10, 40000, "127.0.0.1", 8080, 0, 0, "/usr/bin/curl", "curl", "curl", "null");
	add(FLOW, "update", 1, 10, 40000, "127.0.0.1", 8080, 100, 2000, "/usr/bin/curl", "curl", "curl",
	    "\"example.org\"");
	add(FLOW, "update", 2, 20, 8080, "127.0.0.1", 40000, 2000, 100, "/usr/sbin/srv", "srv", "srv", "null");
	model_tick(&m);
	add(FLOW, "end", 1, 10, 40000, "127.0.0.1", 8080, 5, 7, "/usr/bin/curl", "curl", "curl", "null");
	add(FLOW, "new", 3, 11, 40002, "192.0.2.1", 443, 0, 0, "/usr/bin/curl", "curl", "curl", "null");
	add("{\"v\":1,\"type\":\"lost\",\"stage\":\"snitch\",\"reason\":\"reader_slow\",\"count\":12,\"total\":12}");
	add("{\"v\":1,\"type\":\"exec\",\"pid\":5}");
	add("not json");
	c = exe_named("curl");
	s = exe_named("srv");
	CHECK(c && s);
	if (!c || !s)
		return;
	CHECK_EQ_INT(c->send, 105);
	CHECK_EQ_INT(c->recv, 2007);
	CHECK_EQ_INT(c->conns, 2);		/* two sockets */
	CHECK_EQ_INT(c->rate_send, 100);	/* the last whole second */
	CHECK_EQ_INT(c->tick_send, 5);
	CHECK_EQ_INT(s->conns, 0);		/* its socket was open before: no "new" */
	CHECK_EQ_INT(s->nlisten, 1);		/* its connection used a listening port */
	CHECK_EQ_INT(s->listen[0], 8080);
	CHECK_EQ_INT(c->nlisten, 0);
	CHECK_EQ_INT(m.missed, 12);
	CHECK_EQ_INT(m.flows, 5);
	model_tick(&m);
	CHECK_EQ_INT(c->rate_send, 5);
	CHECK_EQ_INT(c->rate_recv, 7);
	CHECK_EQ_INT(s->rate_send, 0);
}

static void test_events(void)
{
	const struct top_event *ev[8];
	size_t n = model_events(&m, NULL, ev, 8);

	CHECK_EQ_INT(n, 3);
	/* newest first; one row per socket, its bytes summed, the domain once known */
	CHECK_MEM(ev[0]->remote, strlen(ev[0]->remote), "192.0.2.1:443");
	CHECK_MEM(ev[2]->remote, strlen(ev[2]->remote), "example.org:8080");
	CHECK_EQ_INT(ev[2]->send, 105);
	CHECK(ev[2]->ended);
	CHECK_MEM(ev[2]->parent, strlen(ev[2]->parent), "bash");
	CHECK_MEM(ev[2]->gparent, strlen(ev[2]->gparent), "sshd");
	CHECK_MEM(ev[2]->cmdline, strlen(ev[2]->cmdline), "curl -x");
	CHECK_EQ_INT(model_events(&m, "SRV", ev, 8), 1);
	CHECK_EQ_INT(model_events(&m, "example", ev, 8), 1);
}

static void test_sort_and_filter(void)
{
	size_t order[16], n;

	n = model_exes(&m, SORT_NAME, NULL, order);
	CHECK_EQ_INT(n, 2);
	CHECK(!strcmp(m.exe[order[0]].name, "curl"));
	n = model_exes(&m, SORT_SEND, NULL, order);
	CHECK(!strcmp(m.exe[order[0]].name, "curl"));	/* 5 B/s against 0 */
	n = model_exes(&m, SORT_RECV, NULL, order);
	CHECK(!strcmp(m.exe[order[0]].name, "curl"));
	n = model_exes(&m, SORT_TOTAL, NULL, order);
	CHECK(!strcmp(m.exe[order[0]].name, "curl"));	/* 2112 against 2100 */
	n = model_exes(&m, SORT_TOTAL, "sbin", order);
	CHECK_EQ_INT(n, 1);
	CHECK(!strcmp(m.exe[order[0]].name, "srv"));
}

static void test_escapes_stored_inert(void)
{
	const struct top_exe *x;
	const struct top_event *ev[1];

	add(FLOW, "new", 9, 99, 1, "10.0.0.1", 2, 1, 1, "/tmp/\\u001b]0;t\\u0007", "\\u001b[2J", "\\u001b]52;c;aGk=\\u0007",
	    "\"\\u009bx.example\"");
	x = exe_named("\\e[2J");
	CHECK(x != NULL);
	if (x)
		CHECK_MEM(x->exe, strlen(x->exe), "/tmp/\\e]0;t\\x07");
	CHECK_EQ_INT(model_events(&m, NULL, ev, 1), 1);
	CHECK_MEM(ev[0]->cmdline, strlen(ev[0]->cmdline), "\\e]52;c;aGk=\\x07 -x");
	CHECK_MEM(ev[0]->remote, strlen(ev[0]->remote), "\\x9bx.example:2");
}

static void test_country(void)
{
	const struct top_event *ev[1];

	add("{\"v\":1,\"type\":\"flow\",\"phase\":\"new\",\"sock_cookie\":77,\"pid\":7,\"raddr\":\"2001:db8::1\","
	    "\"rport\":443,\"name\":\"wget\",\"country\":\"DE\",\"domain\":null}");
	CHECK_EQ_INT(model_events(&m, NULL, ev, 1), 1);
	CHECK_MEM(ev[0]->remote, strlen(ev[0]->remote), "[2001:db8::1]:443");
	CHECK_MEM(ev[0]->country, strlen(ev[0]->country), "DE");
	CHECK_EQ_INT(model_events(&m, "de", ev, 1), 1);		/* the filter sees the country */
}

static const char *fake_country(void *ctx, const char *addr, char out[3])
{
	(void)ctx;
	if (!strcmp(addr, "203.0.113.9"))
		return strcpy(out, "NL");
	return !strcmp(addr, "127.0.0.1") ? "loopback" : NULL;
}

/* Without a country member: the lookup's code, never its label. */
static void test_country_lookup(void)
{
	const struct top_event *ev[1];

	m.country_of = fake_country;
	add(FLOW, "new", 501, 8, 40100, "203.0.113.9", 443, 0, 0, "/usr/bin/curl", "curl", "curl", "null");
	CHECK_EQ_INT(model_events(&m, NULL, ev, 1), 1);
	CHECK_MEM(ev[0]->country, strlen(ev[0]->country), "NL");
	add(FLOW, "new", 502, 8, 40101, "127.0.0.1", 443, 0, 0, "/usr/bin/curl", "curl", "curl", "null");
	CHECK_EQ_INT(model_events(&m, NULL, ev, 1), 1);
	CHECK_MEM(ev[0]->country, strlen(ev[0]->country), "");
	m.country_of = NULL;
}

/* The cells both live views draw (snitch top, snitch tui): one formatter. */
static void test_cells(void)
{
	struct top_event e = { .first_ns = 3723000000000ULL, .lport = 5353, .send = 1536,
			       .recv = 3, .remote = "example.org:443", .country = "DE" };
	struct top_cells c;

	setenv("TZ", "UTC", 1);
	tzset();
	model_cells(&e, UNITS_BINARY, &c);
	CHECK_MEM(c.time, strlen(c.time), "01:02:03");
	CHECK_MEM(c.lport, strlen(c.lport), "5353");
	CHECK_MEM(c.sent, strlen(c.sent), "1.5 KiB");
	CHECK_MEM(c.recv, strlen(c.recv), "3 B");
	CHECK_MEM(c.remote, strlen(c.remote), "example.org:443 (DE)");
	e.lport = 0;
	e.country[0] = '\0';
	model_cells(&e, UNITS_BYTES, &c);
	CHECK_MEM(c.lport, strlen(c.lport), "-");
	CHECK_MEM(c.sent, strlen(c.sent), "1536");
	CHECK_MEM(c.remote, strlen(c.remote), "example.org:443");
	/* an attempt that got nowhere says so */
	snprintf(e.outcome, sizeof(e.outcome), "refused");
	model_cells(&e, UNITS_BYTES, &c);
	CHECK_MEM(c.remote, strlen(c.remote), "example.org:443 [refused]");
	snprintf(e.country, sizeof(e.country), "NL");
	model_cells(&e, UNITS_BYTES, &c);
	CHECK_MEM(c.remote, strlen(c.remote), "example.org:443 (NL) [refused]");
}

/* The outcome of a flow, when it is news: kept, searchable; connected is not shown. */
static void test_outcome(void)
{
	const struct top_event *ev[4];

	add(FLOW_OUTCOME("connected"), "end", 40, 50, 40010, "192.0.2.9", 443, 1, 1, "/usr/bin/x", "x", "x", "null");
	CHECK_EQ_INT(model_events(&m, NULL, ev, 1), 1);
	CHECK_MEM(ev[0]->outcome, strlen(ev[0]->outcome), "");
	add(FLOW_OUTCOME("refused"), "end", 41, 50, 0, "192.0.2.9", 8443, 0, 0, "/usr/bin/x", "x", "x", "null");
	CHECK_EQ_INT(model_events(&m, NULL, ev, 1), 1);
	CHECK_MEM(ev[0]->outcome, strlen(ev[0]->outcome), "refused");
	CHECK_EQ_INT(model_events(&m, "refused", ev, 4), 1);
	/* a later record of it without one keeps it */
	add(FLOW, "end", 41, 50, 0, "192.0.2.9", 8443, 0, 0, "/usr/bin/x", "x", "x", "null");
	CHECK_EQ_INT(model_events(&m, "refused", ev, 4), 1);
}

int main(void)
{
	model_init(&m);
	test_sums_and_rates();
	test_events();
	test_sort_and_filter();
	test_escapes_stored_inert();
	test_country();
	test_country_lookup();
	test_cells();
	test_outcome();
	model_release(&m);
	TEST_MAIN_END("snitch-top model");
}
