/* SPDX-License-Identifier: MIT */
/* snitch-web's query-string parser: what it takes, what it refuses, and
 * which parameter it names when it refuses. */
#include <errno.h>

#include "params.h"
#include "test.h"

static char bad[64], err[256];

static int parse(const char *qs, struct web_params *p)
{
	return web_params_parse(qs, qs ? strlen(qs) : 0, p, bad, sizeof(bad), err, sizeof(err));
}

/* qs is refused, naming param */
static void refused(const char *qs, const char *param)
{
	struct web_params p;
	int ret = parse(qs, &p);

	CHECK_EQ_INT(ret, -EINVAL);
	if (strcmp(bad, param) || !err[0])
		fprintf(stderr, "'%s': named '%s' (%s), expected '%s'\n", qs, bad, err, param);
	CHECK(!strcmp(bad, param));
	CHECK(err[0] != '\0');
	web_params_release(&p);
}

int main(void)
{
	struct web_params p;

	/* nothing at all: the defaults */
	CHECK_EQ_INT(parse(NULL, &p), 0);
	CHECK(!p.has_range && !p.has_from && p.nfilters == 0 && p.top == 0 && !p.group);
	web_params_release(&p);
	CHECK_EQ_INT(parse("", &p), 0);
	web_params_release(&p);

	/* every parameter, decoded */
	CHECK_EQ_INT(parse("range=30d&group=raddr&top=10&limit=1000&bucket=3600"
			   "&f=exe:%2Fusr%2Fbin%2Fcurl&x=domain:a+b.example&f=raddr:::1"
			   "&field=domain&value=x%3Ay&&", &p), 0);
	CHECK_EQ_INT(p.range_s, 30 * 86400);
	CHECK(p.has_range && !p.range_all);
	CHECK(!strcmp(p.group, "raddr") && !strcmp(p.field, "domain") && !strcmp(p.value, "x:y"));
	CHECK_EQ_INT(p.top, 10);
	CHECK_EQ_INT(p.limit, 1000);
	CHECK_EQ_INT(p.bucket_s, 3600);
	CHECK_EQ_INT(p.nfilters, 3);
	CHECK(!strcmp(p.filters[0].field, "exe") && !strcmp(p.filters[0].value, "/usr/bin/curl") &&
	      !p.filters[0].exclude);
	CHECK(!strcmp(p.filters[1].field, "domain") && !strcmp(p.filters[1].value, "a b.example") &&
	      p.filters[1].exclude);
	/* the value is split at the first ':' only: an IPv6 address stays whole */
	CHECK(!strcmp(p.filters[2].field, "raddr") && !strcmp(p.filters[2].value, "::1"));
	web_params_release(&p);

	CHECK_EQ_INT(parse("range=all", &p), 0);
	CHECK(p.range_all);
	web_params_release(&p);
	CHECK_EQ_INT(parse("from=1700000000&until=1700003600&f=domain:", &p), 0);
	CHECK(p.has_from && p.has_until && p.from_s == 1700000000 && p.until_s == 1700003600);
	CHECK(!strcmp(p.filters[0].value, ""));
	web_params_release(&p);

	refused("range=2h", "range");
	refused("range=1h&range=1h", "range");
	refused("range=1h&from=1", "range");
	refused("from=-1", "from");
	refused("from=12345678901234567890", "from");
	refused("from=10&until=10", "until");
	refused("top=0", "top");
	refused("top=51", "top");
	refused("top=5x", "top");
	refused("top=", "top");
	refused("limit=1001", "limit");
	refused("bucket=604801", "bucket");
	refused("group=Exe", "group");
	refused("group=exe;drop", "group");
	refused("field=", "field");
	refused("f=exe", "f");
	refused("x=:v", "x");
	refused("f=e%zz:v", "f");
	refused("f=exe:a%00b", "f");
	refused("f=exe:%4", "f");
	refused("nope=1", "nope");
	refused("=1", "");
	refused("%ff=1", "%ff");
	refused("a\001b=1", "a?b");
	refused("f=a:1&f=a:2&f=a:3&f=a:4&f=a:5&f=a:6&f=a:7&f=a:8&f=a:9&f=a:10&f=a:11&f=a:12"
		"&f=a:13&f=a:14&f=a:15&f=a:16&x=a:17", "x");
	{
		/* a value past 1 KiB, and a query string past 8 KiB */
		static char big[WEB_MAX_QUERY + 16];

		memcpy(big, "value=", 6);
		memset(big + 6, 'a', WEB_MAX_VALUE + 1);
		big[6 + WEB_MAX_VALUE + 1] = '\0';
		refused(big, "value");
		memset(big + 6, 'a', WEB_MAX_QUERY);
		big[6 + WEB_MAX_QUERY] = '\0';
		refused(big, "");
	}
	TEST_MAIN_END("test_params");
}
