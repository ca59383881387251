#!/usr/bin/env bash
# bench/connburst.sh [RATE] [SECONDS] [refused]: new TCP connections at
# RATE per second (default 20,000) for SECONDS (default 10) while
# snitch-trace runs; every connection must appear in its output (both
# sockets: the client's and the accepted one) or be counted in a lost
# record. With "refused", connects to a port nobody listens on: every
# attempt must appear with outcome "refused" (one socket each) or be
# counted lost. CONNBURST_PIPE=1: snitch-trace writes into a pipe (read by
# cat), as in a pipeline, not into a file; CONNBURST_TRACE=PATH runs
# another snitch-trace (an older build, to compare). Its CPU time is
# reported. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-20000}
secs=${2:-10}
mode=${3:-}
case $mode in ""|refused) ;; *) echo "connburst: unknown mode '$mode' (refused)" >&2; exit 2 ;; esac
TRACE=${CONNBURST_TRACE:-$(pwd)/bin/snitch-trace}
BURST=$(pwd)/build/tests/connburst
[ -x "$TRACE" ] && [ -x "$BURST" ] || { echo "connburst: build first: make all build/tests/connburst" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "connburst: needs root (BPF)" >&2; exit 1; }
work=$(mktemp -d /dev/shm/snitch-connburst.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ -n "${CONNBURST_PIPE:-}" ]; then
	"$TRACE" 2> "$work/err" > >(cat > "$work/out") &
else
	"$TRACE" > "$work/out" 2> "$work/err" &
fi
tp=$!
for i in $(seq 100); do grep -q 'counting TCP' "$work/err" && break; sleep 0.1; done
"$BURST" "$rate" "$secs" $mode > "$work/burst"
sleep 1
# utime + stime, in clock ticks
cpu=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$tp/stat")
kill -INT "$tp"
wait "$tp"
sleep 0.5	# the pipe's reader writes the last of it

pid=$(jq .pid "$work/burst")
conns=$(jq .connections "$work/burst")
secs_run=$(jq .seconds "$work/burst")
# distinct sockets of the burst process that appeared, from any record
# (refused: only the records that say so)
seen=$(grep -F "\"pid\":$pid," "$work/out" | grep -F '"type":"flow"' |
	grep -F "${mode:+\"outcome\":\"$mode\"}" |
	grep -o '"sock_cookie":[0-9]*' | sort -u | wc -l)
lost=$(jq -s '[.[] | select(.type == "lost" and (.reason | startswith("ringbuf_full_flow")))] | map(.count) | add // 0' \
	<(grep -F '"type":"lost"' "$work/out"))
per=2
[ -z "$mode" ] || per=1	# an attempt has no accepted socket
want=$((conns * per))
missing=$((want > seen ? want - seen : 0))
echo "connburst: $conns ${mode:+$mode }connections in $secs_run s ($(awk -v c="$conns" -v s="$secs_run" 'BEGIN { printf "%.0f", c / s }')/s), $want sockets"
echo "connburst: snitch-trace used $(awk -v t="$cpu" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }') s of CPU${CONNBURST_PIPE:+ (output into a pipe)}"
echo "connburst: $seen sockets appeared in the output, $missing did not; $lost flow events counted lost"
if [ "$missing" -le "$lost" ]; then
	echo "connburst: every connection appeared or was counted lost"
else
	echo "connburst: FAIL: $missing sockets neither appeared nor were counted lost"
	exit 1
fi
