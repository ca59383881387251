/* SPDX-License-Identifier: MIT */
/* The records snitch-trace writes (records.c), whole, as docs/records.md gives them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "test.h"
#include "trace.h"

static struct output out;

/* What the last write_*() wrote, then nothing. */
static const char *took(void)
{
	static char got[4096];
	size_t n = out.b.len < sizeof(got) - 1 ? out.b.len : sizeof(got) - 1;

	memcpy(got, out.b.p, n);
	got[n] = '\0';
	out.b.len = 0;
	return got;
}

#define CHECK_REC(want)                         \
	do {                                    \
		const char *got_ = took();      \
		CHECK_MEM(got_, strlen(got_), want); \
	} while (0)

static const struct clocks clk = { .boot_to_real = 1000 };

static void fill_ident(struct ident *id)
{
	memset(id, 0, sizeof(*id));
	id->proc[0] = (struct proc_ident){ .pid = 42, .exe_dev = (8U << 20) | 1, .start_boot_ns = 5,
					   .exe_ino = 77, .comm = "curl" };
	id->proc[1] = (struct proc_ident){ .pid = 41, .start_boot_ns = 4, .comm = "bash" };
	/* proc[2]: not known, so nulls */
	id->uid = 1000;
	id->gid = 100;
	id->cgroup_id = 9;
	id->netns = 4026531840U;
	id->mntns = 4026531841U;
}

#define IDENT_JSON                                                                              \
	"\"pid\":42,\"start_ns\":1005,\"comm\":\"curl\",\"exe_dev\":2049,\"exe_ino\":77,"      \
	"\"parent_pid\":41,\"parent_start_ns\":1004,\"parent_comm\":\"bash\",\"parent_exe_dev\":null," \
	"\"parent_exe_ino\":null,"                                                             \
	"\"gparent_pid\":null,\"gparent_start_ns\":null,\"gparent_comm\":null,"                \
	"\"gparent_exe_dev\":null,\"gparent_exe_ino\":null,"                                   \
	"\"uid\":1000,\"gid\":100,\"cgroup_id\":9,\"netns\":4026531840,\"mntns\":4026531841"

static void test_exec(void)
{
	struct ev_exec e;

	memset(&e, 0, sizeof(e));
	fill_ident(&e.id);
	strcpy(e.filename, "/usr/bin/curl");
	write_exec(&out, &clk, &e, 7);
	CHECK_REC("{\"v\":1,\"type\":\"exec\",\"ts_ns\":7," IDENT_JSON ",\"filename\":\"/usr/bin/curl\"}\n");
}

static void test_flow(void)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	f.key.cookie = 12;
	f.addr = (struct flow_addr){ .family = AF_INET, .sock_type = SOCK_DGRAM, .proto = 17,
				     .lport = 5000, .rport = 53 };
	inet_pton(AF_INET, "127.0.0.1", f.addr.laddr);
	inet_pton(AF_INET, "192.0.2.1", f.addr.raddr);
	fill_ident(&f.id);
	f.have_id = true;
	f.shared = 43;
	f.pending = (struct flow_counts){ .send_bytes = 100, .recv_bytes = 200, .send_calls = 1,
					  .recv_calls = 2 };
	f.from_ns = 50;
	write_flow(&out, &clk, &f, "update", 60);
	CHECK_REC("{\"v\":1,\"type\":\"flow\",\"ts_ns\":60,\"phase\":\"update\",\"sock_cookie\":12,"
		  "\"from_ns\":50,\"to_ns\":60," IDENT_JSON ",\"family\":\"inet\",\"sock_type\":\"dgram\","
		  "\"proto\":\"udp\",\"laddr\":\"127.0.0.1\",\"lport\":5000,\"raddr\":\"192.0.2.1\","
		  "\"rport\":53,\"outcome\":null,\"holders\":[42,43],\"send_bytes\":100,"
		  "\"recv_bytes\":200,\"send_calls\":1,\"recv_calls\":2}\n");
	/* the counts were taken: the next interval starts from zero, at 60 */
	CHECK_EQ_INT(f.pending.send_bytes, 0);
	CHECK_EQ_INT(f.from_ns, 60);

	/* no owner known, a TCP flow (no call counts), an outcome */
	f.have_id = false;
	f.tcp = true;
	f.outcome = "refused";
	f.addr.sock_type = SOCK_STREAM;
	f.addr.proto = 6;
	write_flow(&out, &clk, &f, "end", 70);
	CHECK_REC("{\"v\":1,\"type\":\"flow\",\"ts_ns\":70,\"phase\":\"end\",\"sock_cookie\":12,"
		  "\"from_ns\":60,\"to_ns\":70,"
		  "\"pid\":null,\"start_ns\":null,\"comm\":null,\"exe_dev\":null,\"exe_ino\":null,"
		  "\"parent_pid\":null,\"parent_start_ns\":null,\"parent_comm\":null,"
		  "\"parent_exe_dev\":null,\"parent_exe_ino\":null,"
		  "\"gparent_pid\":null,\"gparent_start_ns\":null,\"gparent_comm\":null,"
		  "\"gparent_exe_dev\":null,\"gparent_exe_ino\":null,"
		  "\"uid\":null,\"gid\":null,\"cgroup_id\":null,\"netns\":null,\"mntns\":null,"
		  "\"family\":\"inet\",\"sock_type\":\"stream\",\"proto\":\"tcp\",\"laddr\":\"127.0.0.1\","
		  "\"lport\":5000,\"raddr\":\"192.0.2.1\",\"rport\":53,\"outcome\":\"refused\","
		  "\"holders\":null,\"send_bytes\":0,\"recv_bytes\":0,\"send_calls\":null,"
		  "\"recv_calls\":null}\n");
}

static void test_dns(void)
{
	struct ev_dns e;

	memset(&e, 0, sizeof(e));
	e.cookie = 3;
	e.pid = 42;
	e.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::53", e.server);
	memcpy(e.data, "abc", 3);
	e.len = 3;
	e.sent = 1;
	write_dns(&out, &e, 8);
	CHECK_REC("{\"v\":1,\"type\":\"dns\",\"ts_ns\":8,\"sock_cookie\":3,\"pid\":42,\"netns\":null,"
		  "\"server\":\"2001:db8::53\",\"direction\":\"sent\",\"payload_b64\":\"YWJj\","
		  "\"payload_bytes\":3,\"payload_truncated\":false}\n");
}

static void test_hello(void)
{
	struct ev_hello e;

	memset(&e, 0, sizeof(e));
	e.cookie = 4;
	e.netns = 9;
	e.family = AF_INET;
	e.proto = IPPROTO_TCP;
	e.rport = 443;
	inet_pton(AF_INET, "192.0.2.7", e.raddr);
	memcpy(e.data, "\x16\x03\x01", 3);
	e.len = 3;
	e.truncated = 1;
	write_hello(&out, &e, 9);
	CHECK_REC("{\"v\":1,\"type\":\"hello\",\"ts_ns\":9,\"sock_cookie\":4,\"pid\":null,\"netns\":9,"
		  "\"proto\":\"tcp\",\"raddr\":\"192.0.2.7\",\"rport\":443,\"payload_b64\":\"FgMB\","
		  "\"payload_bytes\":3,\"payload_truncated\":true}\n");
}

static void test_syscalls(void)
{
	static const char *const names[] = { "connect", "execve", "setuid" };
	const uint64_t delta[] = { 3, 0, 1 };
	struct ident id;

	fill_ident(&id);
	write_syscalls(&out, &clk, &id, names, delta, 3, 100, 200);
	CHECK_REC("{\"v\":1,\"type\":\"syscalls\",\"ts_ns\":200,\"from_ns\":100,\"to_ns\":200,"
		  IDENT_JSON ",\"syscalls\":{\"connect\":3,\"setuid\":1}}\n");
}

int main(void)
{
	output_init(&out, -1);
	test_exec();
	test_flow();
	test_dns();
	test_hello();
	test_syscalls();
	buf_release(&out.b);
	TEST_MAIN_END("snitch-trace records");
}
