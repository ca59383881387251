#!/usr/bin/env bash
# bench/exeburst.sh [RATE] [SECONDS]: RATE new executables a second for
# SECONDS (default 1,000 a second for 10 s) through the whole pipeline.
#
# Runs 'snitch run' (every stage, as installed: trace, resolve, hash,
# store --tee, notify, as the user snitch) against a test desktop (Xvfb, a
# D-Bus session bus and dunst), makes RATE x SECONDS copies of a test
# program (build/tests/exeburst), each with bytes of its own at the end so
# each is a new file with its own sha256, and starts them at RATE a
# second; each sends one 100-byte UDP datagram to loopback and exits.
# When the log has stopped growing, snitch is stopped and this counts, for
# the copies: the executables in the SQLite log (with a sha256, 100 bytes
# sent), the new_executable lines of exe.log, the records every stage
# counted lost, and the desktop notifications. Passes when every copy is
# in the log or the log counts at least as many records lost as are
# missing (nothing lost silently), each logged one has its 100 bytes, every logged one is in exe.log, and the
# notifications stay within snitch-notify's limit (10 a minute, then one
# summary). Needs root (BPF). The figures go to docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
rate=${1:-1000}
secs=${2:-10}
n=$((rate * secs))
port=5397
BURST=$top/build/tests/exeburst
BENCH=exeburst BENCH_KEEP=${EXEBURST_KEEP:-}
source bench/desktop-run.bash
desktop_run_setup build/tests/exeburst
"$BURST" make "$work/bin" "$n"
desktop_watch "$work/monitor" || exit 1

desktop_run_start
notes_before=$(notify_calls "$work/monitor")

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
declare -A cpu0
for p in $(pgrep -P "$run_pid") "$run_pid"; do cpu0[$p]=$(ticks "$p"); done

t0=$(date +%s%N)
spawn=$("$BURST" spawn "$work/bin" "$n" "$rate" "$port")
t1=$(date +%s%N)

# the log of the copies: until it stops growing for 5 s (at most 120 s)
logged() {
	sqlite3 "file:$SNITCH_DB?mode=ro" "SELECT count(DISTINCT e.path) FROM connections c
		JOIN executables e ON e.id = c.exe_id WHERE e.path LIKE '$work/bin/e%'" 2>/dev/null || echo 0
}
last=-1 same=0 waited=0
while [ "$same" -lt 5 ] && [ "$waited" -lt 120 ]; do
	sleep 1
	waited=$((waited + 1))
	now=$(logged)
	if [ "$now" = "$last" ]; then same=$((same + 1)); else same=0 last=$now; fi
done
settled_s=$((waited - same))
cpu=$(for p in $(pgrep -P "$run_pid") "$run_pid"; do
	printf '%s %s\n' "$(basename "$(readlink "/proc/$p/exe")")" $(($(ticks "$p") - ${cpu0[$p]:-0}))
done | awk '{ printf "%s%s %.1f s", (NR > 1 ? ", " : ""), $1, $2 / 100 }')
desktop_run_stop
sleep 0.5
desktop_unwatch

q() { sqlite3 "file:$SNITCH_DB?mode=ro" "$1"; }
in_log=$(q "SELECT count(DISTINCT e.path) FROM connections c JOIN executables e ON e.id = c.exe_id
	WHERE e.path LIKE '$work/bin/e%'")
hashed=$(q "SELECT count(DISTINCT e.path) FROM connections c JOIN executables e ON e.id = c.exe_id
	WHERE e.path LIKE '$work/bin/e%' AND length(e.sha256) = 64")
sent=$(q "SELECT coalesce(sum(c.send_bytes), 0) FROM connections c JOIN executables e ON e.id = c.exe_id
	WHERE e.path LIKE '$work/bin/e%'")
lost=$(q "SELECT coalesce(sum(count), 0) FROM events WHERE type = 'lost'")
lost_by=$(q "SELECT coalesce(stage, '?') || ' ' || coalesce(code, '?') || ' ' || sum(count) FROM events
	WHERE type = 'lost' GROUP BY stage, code" | paste -sd ';' | sed 's/;/; /g')
exelog=$(grep -c " new_executable $work/bin/e" "$work/log/exe.log" || true)
notes=$(($(notify_calls "$work/monitor") - notes_before))
missing=$((n - in_log))
minutes=$(((t1 - t0) / 60000000000 + settled_s / 60 + 1))

echo "# $(date -u +%FT%TZ) $(uname -sr), $(nproc) cpus; $rate new executables a second for $secs s ($n), one 100-byte UDP datagram each"
echo "started: $spawn (asked: $n in $secs s)"
echo "in the log: $in_log of $n executables ($hashed with a sha256), $sent bytes sent (100 each: $((in_log * 100))); settled ${settled_s} s after the last start"
echo "exe.log: $exelog new_executable lines of the copies"
echo "lost, as the stages counted it: $lost${lost_by:+ ($lost_by)}"
echo "desktop notifications during the burst: $notes (snitch-notify's limit: 10 a minute, then a summary; $minutes minute(s))"
echo "CPU during the burst and until settled: $cpu"
ok=1
if [ "$missing" -gt "$lost" ]; then
	echo "FAIL: $missing executables are not in the log, and only $lost records were counted lost"; ok=0
fi
if [ "$sent" -ne $((in_log * 100)) ] && [ "$lost" -eq 0 ]; then
	echo "FAIL: the logged executables sent $sent bytes, not $((in_log * 100)): bytes logged under no executable or another"; ok=0
fi
if [ "$exelog" -lt "$in_log" ]; then
	echo "FAIL: exe.log has $exelog of the $in_log logged executables"; ok=0
fi
if [ "$notes" -gt $((minutes * 11)) ]; then
	echo "FAIL: $notes notifications in $minutes minute(s): not rate-limited"; ok=0
fi
if [ "$ok" = 1 ]; then
	echo "exeburst: passed ($([ "$missing" -eq 0 ] && echo "every one logged" || echo "$missing not logged, $lost records counted lost"))"
else
	exit 1
fi
