/* SPDX-License-Identifier: MIT */
/* snitch-vt: reading VirusTotal's answers (vtjson.c), and the state file (state.c). */
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "vt.h"

#define SHA "1111111111111111111111111111111111111111111111111111111111111111"
#define OTHER "2222222222222222222222222222222222222222222222222222222222222222"

static int parse_file(const char *body, struct vt_counts *c, char *why)
{
	return vt_parse_file(body, strlen(body), SHA, c, why, 128);
}

static void test_file(void)
{
	struct vt_counts c;
	char why[128];

	CHECK_EQ_INT(parse_file("{\"data\":{\"id\":\"" SHA "\",\"attributes\":{\"last_analysis_date\":1763822000,"
				"\"last_analysis_stats\":{\"harmless\":1,\"type-unsupported\":4,\"suspicious\":2,"
				"\"malicious\":3,\"undetected\":60,\"timeout\":\"x\"}}}}", &c, why), 0);
	CHECK_EQ_INT(c.malicious, 3);
	CHECK_EQ_INT(c.suspicious, 2);
	CHECK_EQ_INT(c.undetected, 60);
	CHECK_EQ_INT(c.harmless, 1);
	CHECK_EQ_INT(c.engines, 70);	/* every number in the stats; not the string */
	CHECK_EQ_INT(c.date_s, 1763822000);
	/* another file's report, a count missing, a negative or huge count, no JSON */
	CHECK(parse_file("{\"data\":{\"id\":\"" OTHER "\",\"attributes\":{\"last_analysis_stats\":"
			 "{\"harmless\":1,\"suspicious\":2,\"malicious\":3,\"undetected\":60}}}}", &c, why) < 0);
	CHECK(strstr(why, "another file") != NULL);
	CHECK(parse_file("{\"data\":{\"id\":\"" SHA "\",\"attributes\":{\"last_analysis_stats\":"
			 "{\"harmless\":1,\"suspicious\":2,\"undetected\":60}}}}", &c, why) < 0);
	CHECK(strstr(why, "'malicious'") != NULL);
	CHECK(parse_file("{\"data\":{\"id\":\"" SHA "\",\"attributes\":{\"last_analysis_stats\":"
			 "{\"harmless\":1,\"suspicious\":-2,\"malicious\":3,\"undetected\":60}}}}", &c, why) < 0);
	CHECK(parse_file("{\"data\":{\"id\":\"" SHA "\",\"attributes\":{\"last_analysis_stats\":"
			 "{\"harmless\":1,\"suspicious\":2,\"malicious\":300000000,\"undetected\":60}}}}", &c, why) < 0);
	CHECK(parse_file("{\"data\":", &c, why) < 0);
	CHECK(strstr(why, "not JSON") != NULL);
	CHECK(parse_file("[1]", &c, why) < 0);
	CHECK(parse_file("{} x", &c, why) < 0);
	/* the last of a repeated key counts, as in jq */
	CHECK_EQ_INT(parse_file("{\"data\":{\"id\":\"" OTHER "\",\"id\":\"" SHA "\",\"attributes\":{\"last_analysis_stats\":"
				"{\"harmless\":0,\"suspicious\":0,\"malicious\":9,\"malicious\":1,\"undetected\":1}}}}",
				&c, why), 0);
	CHECK_EQ_INT(c.malicious, 1);
	CHECK_EQ_INT(c.date_s, 0);
}

static void test_analysis_upload(void)
{
	const char *queued = "{\"data\":{\"attributes\":{\"status\":\"queued\",\"stats\":{}}}}";
	const char *done = "{\"data\":{\"attributes\":{\"status\":\"completed\",\"date\":5,"
			   "\"stats\":{\"malicious\":1,\"suspicious\":0,\"undetected\":2,\"harmless\":0}}}}";
	char why[128], id[64], url[128], code[32];
	struct vt_counts c;
	bool fin = true;

	CHECK_EQ_INT(vt_parse_analysis(queued, strlen(queued), &fin, &c, why, sizeof(why)), 0);
	CHECK(!fin);
	CHECK_EQ_INT(vt_parse_analysis(done, strlen(done), &fin, &c, why, sizeof(why)), 0);
	CHECK(fin);
	CHECK_EQ_INT(c.malicious, 1);
	CHECK_EQ_INT(c.engines, 3);
	CHECK_EQ_INT(c.date_s, 5);

#define UP(s) vt_parse_upload(s, strlen(s), id, sizeof(id), why, sizeof(why))
	CHECK_EQ_INT(UP("{\"data\":{\"type\":\"analysis\",\"id\":\"NjY0=:x-_\"}}"), 0);
	CHECK(!strcmp(id, "NjY0=:x-_"));
	CHECK(UP("{\"data\":{\"id\":\"../../files\"}}") < 0);	/* it goes into a URL path */
	CHECK(UP("{\"data\":{\"id\":\"a\\u002fb\"}}") < 0);
	CHECK(UP("{\"data\":{\"id\":\"" SHA SHA "\"}}") < 0);	/* longer than id[] */
#undef UP
#define URL(s) vt_parse_upload_url(s, strlen(s), url, sizeof(url), why, sizeof(why))
	CHECK_EQ_INT(URL("{\"data\":\"https://up.example/x?y=1\"}"), 0);
	CHECK(!strcmp(url, "https://up.example/x?y=1"));
	CHECK(URL("{\"data\":\"http://up.example/x\"}") < 0);
	CHECK(URL("{\"data\":\"https://up.example/a b\"}") < 0);
	CHECK(URL("{\"data\":\"https:///x\"}") < 0);
#undef URL
	vt_parse_error_code("{\"error\":{\"code\":\"QuotaExceededError\"}}", 39, code, sizeof(code));
	CHECK(!strcmp(code, "QuotaExceededError"));
	vt_parse_error_code("oops", 4, code, sizeof(code));
	CHECK(!code[0]);
}

static void test_state(void)
{
	struct vt_state s, t;
	struct vt_entry *a, *b, *c;
	struct buf out = BUF_INIT;
	size_t bad;

	vt_state_init(&s);
	a = vt_state_add(&s, SHA);
	b = vt_state_add(&s, OTHER);
	c = vt_state_add(&s, "3333333333333333333333333333333333333333333333333333333333333333");
	CHECK(a && b && c && vt_state_find(&s, SHA) == a);
	vt_entry_done(a, "known", 100);
	b->dev = 7, b->ino = 8, b->pid = 9;
	vt_entry_set(&b->path, "/usr/bin/a\nb");
	vt_queue_push(&s, b, false);
	vt_queue_push(&s, c, true);	/* c first */
	vt_queue_push(&s, c, false);	/* queued already: nothing */
	CHECK_EQ_INT(s.queued, 2);
	vt_state_format(&s, NULL, 50, &out);
	/* done ones older than keep are left out */
	vt_state_init(&t);
	CHECK_EQ_INT(vt_state_parse(&t, out.p, out.len, &bad), 0);
	CHECK_EQ_INT(bad, 0);
	CHECK(vt_state_find(&t, SHA) && vt_state_find(&t, SHA)->checked_ns == 100 &&
	      !strcmp(vt_state_find(&t, SHA)->status, "known") && !vt_state_find(&t, SHA)->pending);
	CHECK_EQ_INT(t.queued, 2);
	CHECK(t.qhead && t.qhead->sha[0] == '3');
	CHECK(t.qhead->qnext && !strcmp(t.qhead->qnext->path, "/usr/bin/a\nb"));
	CHECK_EQ_INT(t.qhead->qnext->ino, 8);
	CHECK_EQ_INT(t.qhead->qnext->pid, 9);
	vt_state_release(&t);
	/* a done entry older than keep is not written */
	buf_reset(&out);
	vt_state_format(&s, NULL, 200, &out);
	CHECK(!memmem(out.p, out.len, SHA, 64));
	/* damaged lines are skipped and counted */
	vt_state_init(&t);
	CHECK_EQ_INT(vt_state_parse(&t, "{\"sha256\":\"x\"}\nnot json\n{\"sha256\":\"" SHA "\",\"checked_ns\":1}\n",
				    strlen("{\"sha256\":\"x\"}\nnot json\n{\"sha256\":\"" SHA "\",\"checked_ns\":1}\n"),
				    &bad), 0);
	CHECK_EQ_INT(bad, 2);
	CHECK(vt_state_find(&t, SHA) != NULL);
	vt_state_release(&t);
	vt_state_release(&s);
	buf_release(&out);
}

int main(void)
{
	test_file();
	test_analysis_upload();
	test_state();
	TEST_MAIN_END("snitch-vt vtjson, state");
}
