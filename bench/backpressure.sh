#!/usr/bin/env bash
# bench/backpressure.sh [STOP_S] [RATE]: a shell pipeline
#   snitch-trace | snitch-resolve | snitch-hash | snitch-store --tee | cat
# with snitch-store stopped (SIGSTOP) for STOP_S seconds (default 15) under
# a TCP exchange of about 150 kB every 0.1 s (build/tests/trafficgen tcp4)
# and RATE new connections a second (default 200, build/tests/connburst),
# then SIGCONT, and Ctrl-C (SIGINT to the whole group) once the load ends.
# Reports the lost records (by stage and reason), and the bytes of the
# exchanges stored against those they reported. BP_TRACE=PATH runs another
# snitch-trace (an older build, to compare). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
stop_s=${1:-15}
rate=${2:-200}
bin=$top/bin
TRACE=${BP_TRACE:-$bin/snitch-trace}
GEN=$top/build/tests/trafficgen
BURST=$top/build/tests/connburst
[ -x "$TRACE" ] && [ -x "$GEN" ] && [ -x "$BURST" ] ||
	{ echo "backpressure: build first: make all build/tests/trafficgen build/tests/connburst" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "backpressure: needs root (BPF)" >&2; exit 1; }
case $stop_s$rate in *[!0-9]*) echo "backpressure: STOP_S and RATE are whole numbers" >&2; exit 2 ;; esac
work=$(mktemp -d /tmp/snitch-bp.XXXXXX)
pgid=
cleanup() {
	if [ -n "$pgid" ]; then
		kill -CONT -- "-$pgid" 2>/dev/null || true
		kill -TERM -- "-$pgid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
cp "$GEN" "$work/gen-bp"

setsid sh -c 'echo $$ > "$1/pgid"; exec 2> "$1/err";
	"$2" | "$3/snitch-resolve" | "$3/snitch-hash" --stream |
	"$3/snitch-store" --db "$1/s.db" --tee | cat > "$1/out"' \
	sh "$work" "$TRACE" "$bin" < /dev/null 3>&- &
for _ in $(seq 100); do
	grep -q 'counting TCP' "$work/err" 2>/dev/null && break
	sleep 0.1
done
pgid=$(cat "$work/pgid")
spid=$(pgrep -g "$pgid" -x snitch-store)
secs=$((stop_s + 10))
"$BURST" "$rate" "$secs" > "$work/burst" &
bpid=$!
(
	end=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$end" ]; do
		"$work/gen-bp" tcp4 >> "$work/report" 2>/dev/null || true
		sleep 0.1
	done
) &
lpid=$!
sleep 3
kill -STOP "$spid"
echo "# $(date -u +%FT%TZ): snitch-store stopped for $stop_s s ($TRACE)"
sleep "$stop_s"
kill -CONT "$spid"
wait "$bpid" "$lpid"
sleep 2
kill -INT -- "-$pgid"
for _ in $(seq 200); do
	pgrep -g "$pgid" > /dev/null || break
	sleep 0.1
done
pgid=

ex=$(wc -l < "$work/report")
want=$(jq -s 'map(.send_bytes + .recv_bytes) | add' "$work/report")
got=$(sqlite3 "$work/s.db" "SELECT COALESCE(SUM(c.send_bytes + c.recv_bytes), 0) FROM connections c JOIN executables e ON e.id = c.exe_id WHERE e.path = '$work/gen-bp'")
lost=$(jq -r 'select(.type == "lost" and .count > 0) | "\(.stage) \(.reason) \(.count)"' "$work/out" |
	awk '{ s[$1 " " $2] += $3 } END { for (k in s) printf "%s %d; ", k, s[k] }')
peak=$(jq -s 'map(select(.type == "stats" and .stage == "snitch-trace") | .queue_peak_bytes) | max // "n/a"' "$work/out")
echo "backpressure: $ex exchanges, $want bytes reported, $got stored ($((want - got)) missing); connburst $(jq .connections "$work/burst") connections"
echo "backpressure: lost: ${lost:-none}; snitch-trace's queue peak: $peak bytes"
