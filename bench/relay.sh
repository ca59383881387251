#!/usr/bin/env bash
# bench/relay.sh [RECORDS] [ROUNDS]: what the supervisor's relay costs.
#
# snitch sits in every pipe between the stages (docs/operations.md). This
# runs RECORDS (default 500,000) flow records of the size snitch-notify
# sees (about 1 KB each) through five stages that are plain `cat`, once as
# a shell pipeline and once under `snitch run`, ROUNDS times (default 3)
# alternated, and reports the median ratio of their rates (relay /
# pipeline; 1.00 would be free) and the supervisor's CPU time per record.
# The real stages run at 180,000-900,000 records a second
# (docs/performance.md), so the relay must be well above that. Needs root.
# RELAY_READERS=N (default 0): N readers of the live feed (snitch tail >
# /dev/null) connected throughout, to measure what publishing costs.
# RELAY_KIT=1: the three middle stages are stages of the stage kit
# (snitch-metrics --tee) instead of cat, so that under snitch run they
# confirm their input (docs/reliability.md, "Nothing accepted is lost"):
# with RELAY_SNITCH set to an older snitch, the ratio of the two runs is
# what the confirmations and the replay buffers cost.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
n=${1:-500000}
rounds=${2:-3}
readers=${RELAY_READERS:-0}
SNITCH=${RELAY_SNITCH:-$top/bin/snitch}
[ -x "$SNITCH" ] || { echo "relay: build first: make" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "relay: needs root ('snitch run' does)" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"	# the stages run as the user snitch (docs/security.md)
run_pid=
trap '[ -z "$run_pid" ] || kill "$run_pid" 2>/dev/null; rm -rf "$work"' EXIT

# one resolved, hashed flow record, as snitch-notify receives it
line=$(jq -cn '{v:1, type:"flow", phase:"update", ts_ns:1763822400123456789, pid:4242,
	start_ns:1763822399900000000, comm:"curl", exe_dev:65024, exe_ino:1315436,
	parent_pid:4100, parent_comm:"bash", parent_exe_dev:65024, parent_exe_ino:1310789,
	gparent_pid:4000, gparent_comm:"sshd", gparent_exe_dev:65024, gparent_exe_ino:1320021,
	uid:1000, netns:4026531840, proto:"tcp", family:"inet", laddr:"192.0.2.10", lport:50412,
	raddr:"198.51.100.7", rport:443, send_bytes:517, recv_bytes:4312,
	exe_path:"/usr/bin/curl", name:"curl", cmdline:["curl","-sO","https://example.org/file"],
	user:"alice", parent_exe_path:"/usr/bin/bash", parent_name:"bash", parent_cmdline:["-bash"],
	gparent_exe_path:"/usr/sbin/sshd", gparent_name:"sshd", gparent_cmdline:["sshd: alice"],
	domain:"example.org",
	exe_sha256:"58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef2593",
	parent_exe_sha256:"25c34e130c601c5610c131710ce7fca96248d6e56bf99e39a3c74072a98db158",
	gparent_exe_sha256:"9ff9a6b1b0d5e6b4f9e0e9c2b1a3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5"}')
printf '%s\n' "$line" > "$work/one"
awk -v n="$n" '{ for (i = 0; i < n; i++) print }' "$work/one" > "$work/records"
bytes=$(stat -c %s "$work/records")

# stages that only pass records on; the first plays snitch-trace, the
# last snitch-notify, which notes when it has them all
mkdir "$work/bin"
printf '#!/bin/sh\nwhile [ ! -e %s/go ]; do sleep 0.05; done\ndate +%%s%%N > %s/start\ncat %s/records\nexec sleep 3600\n' "$work" "$work" "$work" \
	> "$work/bin/snitch-trace"
for t in snitch-resolve snitch-hash snitch-store; do
	if [ "${RELAY_KIT:-0}" = 1 ]; then
		printf '#!/bin/sh\nexec %s --tee --listen 127.0.0.1:0\n' "$top/bin/snitch-metrics" > "$work/bin/$t"
	else
		printf '#!/bin/sh\nexec cat\n' > "$work/bin/$t"
	fi
done
printf '#!/bin/sh\nhead -n %d > /dev/null\ndate +%%s%%N > %s/end\nexec cat > /dev/null\n' "$n" "$work" \
	> "$work/bin/snitch-notify"
chmod 755 "$work"/bin/*

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

pipeline_rate() {
	local t0 t1
	t0=$(date +%s%N)
	cat "$work/records" | "$work/bin/snitch-resolve" | "$work/bin/snitch-hash" |
		"$work/bin/snitch-store" | cat > /dev/null
	t1=$(date +%s%N)
	echo $((n * 1000000000 / (t1 - t0)))
}

relay_rate() {
	local i
	rm -f "$work/start" "$work/end" "$work/go"
	SNITCH_RUN_DIR=$work/run SNITCH_LOG_DIR=$work/log SNITCH_DB=$work/lib/db \
		SNITCH_STATE=$work/lib/state.json SNITCH_CONF=/dev/null \
		"$SNITCH" run --bin-dir "$work/bin" > /dev/null 2> "$work/run.err" &
	run_pid=$!
	tails=
	if [ "$readers" -gt 0 ]; then
		for i in $(seq 1 100); do
			[ -S "$work/run/events.sock" ] && break
			sleep 0.1
		done
		for i in $(seq 1 "$readers"); do
			SNITCH_RUN_DIR=$work/run "$SNITCH" tail > /dev/null 2>&1 &
			tails="$tails $!"
		done
		for i in $(seq 1 100); do
			[ "$(jq -r '.feed.readers // 0' "$work/run/status.json" 2>/dev/null)" = "$readers" ] && break
			sleep 0.1
		done
	fi
	touch "$work/go"
	for i in $(seq 1 600); do
		[ -s "$work/end" ] && break
		sleep 0.1
	done
	[ -s "$work/end" ] || { echo "relay: the records did not come through:" >&2; cat "$work/run.err" >&2; exit 1; }
	ticks=$(awk '{ print $14 + $15 }' "/proc/$run_pid/stat")
	kill -TERM "$run_pid"
	wait "$run_pid" || true
	# shellcheck disable=SC2086
	[ -z "$tails" ] || { kill $tails 2>/dev/null; wait $tails 2>/dev/null; } || true
	run_pid=
	echo $((n * 1000000000 / ($(cat "$work/end") - $(cat "$work/start")))) "$ticks"
}

kind=cat
[ "${RELAY_KIT:-0}" != 1 ] || kind="snitch-metrics --tee (3 middle ones)"
echo "# $(date -u +%F) $(uname -sr), $(nproc) cpus; $n records of $((bytes / n)) bytes through 5 stages of $kind, $rounds rounds, $readers readers of the live feed; $SNITCH"
: > "$work/ratios"
: > "$work/cpu"
hz=$(getconf CLK_TCK)
for r in $(seq 1 "$rounds"); do
	p=$(pipeline_rate)
	read -r s ticks < <(relay_rate)
	awk -v p="$p" -v s="$s" -v r="$r" 'BEGIN { printf "round %d: shell pipeline %d records/s, snitch relay %d records/s, ratio %.2f\n", r, p, s, s / p }'
	awk -v p="$p" -v s="$s" 'BEGIN { print s / p }' >> "$work/ratios"
	awk -v t="$ticks" -v hz="$hz" -v n="$n" 'BEGIN { print t / hz / n * 1e9 }' >> "$work/cpu"
done
echo "relay / pipeline: median ratio $(median < "$work/ratios" | xargs printf "%.2f")"
echo "supervisor CPU: median $(median < "$work/cpu" | xargs printf '%.0f') ns per record (user + system, all four hops)"
