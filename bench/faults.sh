#!/usr/bin/env bash
# bench/faults.sh [STAGE] [STOP_S]: a stage stopped under load.
#
# Runs the whole pipeline (snitch run, with files of its own) under
# FAULTS_RATE new TCP connections a second on loopback (default 500,
# build/tests/connburst), stops STAGE (default snitch-store) with SIGSTOP
# for STOP_S seconds (default 60), then lets it go on (SIGCONT), and waits
# for the log to catch up. Back-pressure then reaches snitch-trace's ring
# buffer: what it could not keep must be counted in lost records, never
# dropped silently. Checks that every socket of the load reached the last
# stage (the live feed, snitch tail) or was counted lost, and that the
# SQLite log caught up after SIGCONT.
# Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
stage=${1:-snitch-store}
stop_s=${2:-60}
rate=${FAULTS_RATE:-500}
before=10
after=20
bin=${FAULTS_BIN:-$top/bin}
SNITCH=$bin/snitch
BURST=$top/build/tests/connburst
[ -x "$SNITCH" ] && [ -x "$BURST" ] || { echo "faults: build first: make all build/tests/connburst" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "faults: needs root ('snitch run' does)" >&2; exit 1; }
case $stop_s$rate in *[!0-9]*) echo "faults: STOP_S and FAULTS_RATE are whole numbers" >&2; exit 2 ;; esac

work=$(mktemp -d /tmp/snitch-faults.XXXXXX)
chmod 755 "$work"	# the stages run as the user snitch (docs/security.md)
run_pid=
spid=
cleanup() {
	[ -z "$spid" ] || kill -CONT "$spid" 2>/dev/null || true
	if [ -n "$run_pid" ] && kill "$run_pid" 2>/dev/null; then
		timeout 60 tail --pid="$run_pid" -f /dev/null || kill -KILL "$run_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export SNITCH_CONF=$work/etc/snitch.conf SNITCH_RUN_DIR=$work/run \
	SNITCH_DB=$work/lib/snitch.db SNITCH_STATE=$work/lib/state.json \
	SNITCH_LOG_DIR=$work/log SNITCH_NO_DESKTOP=1 SNITCH_WRITE_LIMIT_S=1

"$SNITCH" run > "$work/run.out" 2> "$work/run.err" 3>&- &
run_pid=$!
for _ in $(seq 300); do
	grep -q 'counting TCP' "$work/run.err" 2>/dev/null &&
		spid=$(jq -r --arg n "$stage" '.stages[] | select(.name == $n) | .pid' "$work/run/status.json" 2>/dev/null) &&
		[ -n "$spid" ] && [ "$spid" != null ] && break
	spid=
	kill -0 "$run_pid" 2>/dev/null || { echo "faults: snitch run ended:" >&2; cat "$work/run.err" >&2; exit 1; }
	sleep 0.2
done
[ -n "$spid" ] || { echo "faults: no stage '$stage' in the pipeline" >&2; exit 2; }

# every flow of the load as it reaches the last stage (the live feed: a
# socket is a sock_cookie there); a reader that falls behind is told
# what it missed (reason reader_slow)
"$SNITCH" tail --type flow --where name=connburst > "$work/feed" 2> "$work/feed.err" &
tail_pid=$!
sleep 1
secs=$((before + stop_s + after))
"$BURST" "$rate" "$secs" > "$work/burst" &
bpid=$!
sleep "$before"
kill -STOP "$spid"
echo "# $(date -u +%FT%TZ): $stage (pid $spid) stopped for $stop_s s under $rate connections/s"
sleep "$stop_s"
kill -CONT "$spid"
cont=$(date +%s)
echo "# $(date -u +%FT%TZ): $stage goes on"

# caught up: the log holds rows of the load from the last 3 s (checked
# each second while the load goes on, and after)
q() { sqlite3 "$SNITCH_DB" "$1" 2>/dev/null || echo 0; }
exe=$(readlink -f "$BURST")
caught=
for _ in $(seq 120); do
	since_ns=$(( ($(date +%s) - 3) * 1000000000 ))
	n=$(q "SELECT COUNT(*) FROM connections c JOIN executables e ON e.id = c.exe_id WHERE e.path = '$exe' AND c.last_ns >= $since_ns")
	[ "${n:-0}" -gt 0 ] && { caught=$(( $(date +%s) - cont )); break; }
	sleep 1
done
wait "$bpid"
pid=$(jq .pid "$work/burst")
conns=$(jq .connections "$work/burst")
sleep 2
kill -TERM "$run_pid"
wait "$tail_pid" 2>/dev/null || true
wait "$run_pid" && run_status=0 || run_status=$?
run_pid=

# the load's sockets that reached the end of the pipeline, and what was
# counted lost: by the stages (the log's events) and by the feed
seen=$(grep -F "\"pid\":$pid," "$work/feed" | grep -o '"sock_cookie":[0-9]*' | sort -u | wc -l)
lost=$(q "SELECT COALESCE(SUM(count), 0) FROM events WHERE type = 'lost'")
lost_by=$(sqlite3 -separator ' ' "$SNITCH_DB" "SELECT stage, code, SUM(count) FROM events WHERE type = 'lost' GROUP BY stage, code" 2>/dev/null | tr '\n' ';')
missed=$(grep -F '"reader_slow"' "$work/feed" | jq -s 'map(.count) | add // 0')
rows=$(q "SELECT COUNT(*) FROM connections c JOIN executables e ON e.id = c.exe_id WHERE e.path = '$exe'")
want=$((conns * 2))
missing=$((want > seen ? want - seen : 0))
lost=$((lost + missed))
echo "faults: $conns connections ($want sockets) in $secs s; $stage stopped $stop_s s"
echo "faults: $seen sockets reached the last stage, $missing not; $lost records counted lost (${lost_by:-none}; live feed: $missed); $rows rows of the load in the log"
echo "faults: caught up ${caught:-NOT within 120} s after SIGCONT; snitch run exit $run_status"
if [ -z "$caught" ] || [ "$missing" -gt "$lost" ] || [ "$run_status" -ne 0 ]; then
	echo "faults: FAIL: $([ -z "$caught" ] && echo 'no catch-up; ')$([ "$missing" -gt "$lost" ] && echo "$((missing - lost)) sockets neither logged nor counted lost")"
	exit 1
fi
echo "faults: every socket was logged or counted lost, and the log caught up"
