/* SPDX-License-Identifier: MIT */
/*
 * querygen ROWS DAYS [END_S]: flow records for bench/query.sh, in time
 * order over DAYS days ending at END_S (default: now), each its own
 * connection (a fresh local port), so snitch-store makes about one row of
 * each. The shape of a real log: a few hundred executables, of which a few
 * make most of the traffic; thousands of domains and addresses with a
 * long tail; most traffic to 443; parents and grandparents; a few users,
 * namespaces and containers; some executables change hash mid-way.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NEXES 300
#define NDOMAINS 5000
#define NPARENTS 20

static uint64_t seed = 0x5eed;

static double unif(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(seed >> 11) / 9007199254740992.0;
}

/* 0..n-1, skewed towards 0: the long tail */
static unsigned skew(unsigned n, double power)
{
	unsigned v = (unsigned)(n * pow(unif(), power));

	return v < n ? v : n - 1;
}

int main(int argc, char **argv)
{
	static const char *const parents[NPARENTS] = {
		"/usr/bin/bash", "/usr/lib/systemd/systemd", "/usr/sbin/sshd", "/usr/bin/zsh",
		"/usr/bin/gnome-shell", "/usr/bin/tmux", "/usr/sbin/cron", "/usr/bin/python3.11",
		"/usr/bin/make", "/usr/bin/node", "/usr/sbin/containerd-shim", "/usr/bin/fish",
		"/usr/bin/sudo", "/usr/libexec/gvfsd", "/usr/bin/dbus-daemon", "/usr/bin/kitty",
		"/usr/bin/code", "/usr/sbin/NetworkManager", "/usr/bin/env", "/usr/bin/sh",
	};
	static const int rports[] = { 443, 443, 443, 443, 443, 443, 80, 53, 22, 8080, 993, 5222 };
	unsigned long long rows, days, end_s, start_ns, span_ns;

	if (argc < 3) {
		fprintf(stderr, "usage: querygen ROWS DAYS [END_S]\n");
		return 2;
	}
	rows = strtoull(argv[1], NULL, 10);
	days = strtoull(argv[2], NULL, 10);
	end_s = argc > 3 ? strtoull(argv[3], NULL, 10) : (unsigned long long)time(NULL);
	if (!rows || !days)
		return 2;
	span_ns = days * 86400ULL * 1000000000ULL;
	start_ns = end_s * 1000000000ULL - span_ns;
	for (unsigned long long i = 0; i < rows; i++) {
		unsigned long long t = start_ns + (unsigned long long)((double)span_ns * ((double)i / (double)rows));
		unsigned exe = skew(NEXES, 3.0);
		/* mostly the same parent for an executable, and grandparent for a parent */
		unsigned par = unif() < 0.9 ? exe * 7 % NPARENTS : skew(NPARENTS, 2.0);
		unsigned gpar = unif() < 0.9 ? par % 5 : skew(5, 1.5);
		/* each executable talks to its own corner of the domains */
		unsigned dom = (exe * 37 + skew(400, 6.0)) % NDOMAINS;
		unsigned addr = dom * 2 + (unsigned)(unif() * 2);
		unsigned uid = exe % 7 == 0 ? 0 : exe % 5 == 0 ? 1001 : 1000;
		/* a tenth of the executables get a new hash half-way */
		unsigned ver = exe % 10 == 3 && i > rows / 2;
		unsigned cont = exe % 13 == 0 ? 1 + exe % 10 : 0;
		/* a server's port: mostly 443 */
		int rport = dom % 23 == 0 ? 53 : dom % 17 == 0 ? 80 : dom % 29 == 0 ? 22 :
			    unif() < 0.98 ? 443 : rports[skew(sizeof(rports) / sizeof(rports[0]), 1.0)];
		unsigned long long sent = (unsigned long long)(200 + 1e6 * pow(unif(), 8));
		unsigned long long recv = (unsigned long long)(500 + 5e7 * pow(unif(), 10));
		char cid[16] = "";

		if (cont)
			snprintf(cid, sizeof(cid), "c%u", cont);

		printf("{\"v\":1,\"type\":\"flow\",\"phase\":\"end\",\"ts_ns\":%llu,\"from_ns\":%llu,\"to_ns\":%llu,"
		       "\"pid\":%u,\"comm\":\"app%u\",\"uid\":%u,"
		       "\"exe_path\":\"/usr/bin/app%u\",\"name\":\"app%u\",\"cmdline\":[\"app%u\",\"--mode\",\"%u\"],"
		       "\"exe_sha256\":\"%056x%08x\","
		       "\"parent_exe_path\":\"%s\",\"parent_name\":\"p%u\",\"parent_cmdline\":[\"p%u\"],"
		       "\"parent_exe_sha256\":\"%064x\","
		       "\"gparent_exe_path\":\"%s\",\"gparent_name\":\"g%u\",\"gparent_cmdline\":[\"g%u\"],"
		       "\"family\":\"inet\",\"proto\":\"%s\",\"laddr\":\"192.168.1.%u\",\"lport\":%u,"
		       "\"raddr\":\"%u.%u.%u.%u\",\"rport\":%d,\"domain\":\"d%u.example%u.com\","
		       "\"netns\":%u,\"container_runtime\":\"%s\",\"container_id\":\"%s\","
		       "\"send_bytes\":%llu,\"recv_bytes\":%llu}\n",
		       t, t - 2000000000ULL, t, 1000 + exe, exe, uid,
		       exe, exe, exe, exe % 3,
		       exe, ver,
		       parents[par], par, par, par + 1,
		       parents[gpar], gpar, gpar,
		       rport == 53 ? "udp" : "tcp", 10 + uid % 3, 32768 + (unsigned)(i % 28000),
		       11 + addr % 200, (addr / 200) % 250, addr % 251, 1 + addr % 253, rport, dom, dom % 50,
		       cont ? 4026532000U + cont : 4026531840U, cont ? "docker" : "", cid,
		       sent, recv);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
