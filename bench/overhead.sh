#!/usr/bin/env bash
# bench/overhead.sh [ROUNDS]: loopback TCP throughput with 64-byte
# messages, without and with snitch-trace running (its output drained to
# /dev/null), alternated ROUNDS times (default 4); the median of the
# per-round ratios is reported (target >= 0.97). Both iperf3 (Nagle on,
# as most applications) and sockperf (TCP_NODELAY, a send per message)
# are measured, and sockperf over UDP (target >= 0.95), with the in-kernel
# time per datagram of the counting programs. Also: snitch-trace's CPU time during the runs, its RSS
# (and start-up peak), and the memory of its BPF maps. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-4}
secs=5
TRACE=$(pwd)/bin/snitch-trace
[ -x "$TRACE" ] || { echo "overhead: build first: make" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "overhead: needs root (BPF)" >&2; exit 1; }
for c in iperf3 sockperf; do
	command -v "$c" > /dev/null || { echo "overhead: $c is missing: sudo make deps" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$work"' EXIT

iperf_mbs() {
	iperf3 -s -1 -p 5299 > /dev/null 2>&1 &
	sleep 0.3
	iperf3 -c 127.0.0.1 -p 5299 -l 64 -t "$secs" -J 2>/dev/null |
		jq '.end.sum_received.bits_per_second / 8e6'
	wait
}

. "$(dirname "$0")/loopback.bash"

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

"$TRACE" > /dev/null 2> "$work/err" &
tp=$!
for i in $(seq 100); do grep -q 'counting TCP' "$work/err" && break; sleep 0.1; done
# BPF map memory: the memlock of every map snitch-trace holds
maps_kb=$(for f in /proc/$tp/fdinfo/*; do grep -q '^map_type' "$f" 2>/dev/null && awk '/^memlock/ { print $2 }' "$f"; done |
	awk '{ s += $1 } END { printf "%.0f", s / 1024 }')
kill -STOP "$tp"	# paused while the baselines run: attached, but not reading

echo "# $(date -u +%F) $(uname -sr), $(nproc) cpus; $rounds rounds of $secs s; 64-byte messages over loopback TCP"
cpu_ticks=0
cpu_secs=0
stats_was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
for tool in iperf sockperf sockperf_udp; do
	target=0.97
	[ "$tool" = sockperf_udp ] && target=0.95
	: > "$work/ratios"
	for r in $(seq "$rounds"); do
		# without: the programs must not be attached at all
		kill -CONT "$tp"; kill -INT "$tp"; wait "$tp" || true
		base=$(${tool}_mbs)
		"$TRACE" > /dev/null 2> "$work/err" &
		tp=$!
		for i in $(seq 100); do grep -q 'counting TCP' "$work/err" && break; sleep 0.1; done
		t0=$(ticks "$tp")
		with=$(${tool}_mbs)
		t1=$(ticks "$tp")
		cpu_ticks=$((cpu_ticks + t1 - t0))
		cpu_secs=$((cpu_secs + secs))
		awk -v a="$with" -v b="$base" -v t="$tool" -v r="$r" \
			'BEGIN { printf "%s round %d: without %.1f MB/s, with %.1f MB/s, ratio %.3f\n", t, r, b, a, a / b }'
		awk -v a="$with" -v b="$base" 'BEGIN { print a / b }' >> "$work/ratios"
	done
	echo "$tool: median ratio $(median < "$work/ratios") (target >= $target)"
done
# per datagram, in the kernel: one more run with the kernel's BPF run-time
# statistics on (they cost a clock read per run, so not in the ratios)
sysctl -qw kernel.bpf_stats_enabled=1
sockperf_udp_mbs > /dev/null
prog_stats on_egress on_ingress on_dev_queue on_data_ready | while read -r prog ns runs; do
	printf 'sockperf_udp: %s %.0f ns of BPF per datagram (%d runs)\n' "$prog" "$ns" "$runs"
done
sysctl -qw kernel.bpf_stats_enabled="$stats_was"
rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$tp/status")
hwm_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$tp/status")
kill -INT "$tp"; wait "$tp" || true
hz=$(getconf CLK_TCK)
echo "snitch-trace: $(awk -v t="$cpu_ticks" -v hz="$hz" -v s="$cpu_secs" 'BEGIN { printf "%.2f s of CPU in %d s of traffic (%.1f%% of one core)", t / hz, s, 100 * t / hz / s }')"
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
echo "snitch-trace: RSS $(mb "$rss_kb") after the runs (target <= 8 MB); peak $(mb "$hwm_kb"), at start-up while libbpf reads the kernel's BTF"
echo "snitch-trace: BPF maps ${maps_kb} KB (ring buffer, flow table, socket state)"
