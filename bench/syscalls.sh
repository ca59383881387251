#!/usr/bin/env bash
# bench/syscalls.sh [ROUNDS] [CALLS]: the cost of counting system calls
# in the kernel (snitch-trace --syscalls). A tight loop of a counted call
# (setuid to the current uid, in the default list) and of a call not
# counted (getppid), each CALLS times (default 2,000,000), timed by the
# program itself, with snitch-trace running without --syscalls (the
# baseline: nothing hooks system calls), with --syscalls kexec_load (the
# hook attached, a call nobody makes counted: what the tracepoint alone
# costs) and with --syscalls default, alternated ROUNDS times (default 5).
# Prints the median ns per call and the median of the per-round ratios
# (with / without). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
calls=${2:-2000000}
TRACE=$(pwd)/bin/snitch-trace
CALLER=$(pwd)/build/tests/syscaller
[ -x "$TRACE" ] && [ -x "$CALLER" ] || { echo "syscalls: build first: make all build/tests/syscaller" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "syscalls: needs root (BPF)" >&2; exit 1; }
work=$(mktemp -d)
tp=
stop_trace() {
	[ -n "$tp" ] || return 0
	kill -INT "$tp" 2>/dev/null || true
	wait "$tp" 2>/dev/null || true
	tp=
}
trap 'stop_trace; rm -rf "$work"' EXIT

start_trace() {
	"$TRACE" --no-dns "$@" > /dev/null 2> "$work/err" &
	tp=$!
	for _ in $(seq 100); do grep -q 'counting TCP' "$work/err" && return 0; sleep 0.1; done
	echo "syscalls: snitch-trace did not start:" >&2
	cat "$work/err" >&2
	exit 1
}

ns_per_call() { "$CALLER" --time "$1" "$calls" | jq .ns_per_call; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "# $(date -u +%F) $(uname -sr), $(nproc) cpus; $rounds rounds of $calls calls each"
for call in setuid getppid; do
	: > "$work/base"; : > "$work/hook"; : > "$work/with"; : > "$work/rhook"; : > "$work/ratio"
	for _ in $(seq "$rounds"); do
		start_trace
		b=$(ns_per_call "$call")
		stop_trace
		start_trace --syscalls kexec_load
		h=$(ns_per_call "$call")
		stop_trace
		start_trace --syscalls default
		w=$(ns_per_call "$call")
		stop_trace
		echo "$b" >> "$work/base"
		echo "$h" >> "$work/hook"
		echo "$w" >> "$work/with"
		awk -v b="$b" -v w="$h" 'BEGIN { printf "%.4f\n", w / b }' >> "$work/rhook"
		awk -v b="$b" -v w="$w" 'BEGIN { printf "%.4f\n", w / b }' >> "$work/ratio"
	done
	what=$([ "$call" = setuid ] && echo "counted" || echo "not counted")
	printf '%-8s (%s by default): ns/call %s without, %s hook only, %s with --syscalls default; ratios %s hook only, %s default (rounds: %s)\n' \
		"$call" "$what" "$(median < "$work/base")" "$(median < "$work/hook")" "$(median < "$work/with")" \
		"$(median < "$work/rhook")" "$(median < "$work/ratio")" "$(tr '\n' ' ' < "$work/ratio" | sed 's/ $//')"
done
