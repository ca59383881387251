#!/usr/bin/env bash
# bench/web.sh: snitch-web's memory and answer times while it serves the
# API calls its pages make over bench/query.sh's log (QUERY_BENCH_DB, a
# log that bench/query.sh built and kept): the overview of each range,
# every group-by field over 30 days, the biggest ones over a year,
# drill-downs, and Explore with filters over months. Prints each call's
# HTTP status and time, then snitch-web's peak RSS (VmHWM; the target is
# 20 MB). A 400 is an answer too: a query the server refuses to run.
set -euo pipefail
cd "$(dirname "$0")/.."
db=${QUERY_BENCH_DB:?"set QUERY_BENCH_DB to a log bench/query.sh built"}
WEB=$(pwd)/bin/snitch-web
[ -x "$WEB" ] || { echo "web: build first: make all" >&2; exit 1; }
[ -s "$db" ] || { echo "web: no log at $db" >&2; exit 1; }
port=${WEB_BENCH_PORT:-5197}
work=$(mktemp -d /tmp/snitch-wbench.XXXXXX)
root=()
[ "$(id -u)" != 0 ] || root=(--allow-root)
"$WEB" --db "$db" --listen "127.0.0.1:$port" "${root[@]}" > "$work/log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

# the HTTP status of a GET (000: no answer within 30 s)
get() { curl -s -m 30 -o "$work/out" -w '%{http_code}' -H "Host: localhost:$port" "http://127.0.0.1:$port$1" || true; }
for _ in $(seq 50); do
	[ "$(get /api/meta 2> /dev/null)" = 200 ] && break
	sleep 0.1
done
[ "$(get /api/meta)" = 200 ] || { echo "web: snitch-web did not answer:" >&2; cat "$work/log" >&2; exit 1; }

exe=$(sqlite3 "$db" "select e.path from rollup_day r join executables e on e.id = r.exe_id group by e.path order by sum(send_bytes) desc limit 1 offset 3")
echo "# $(date -u +%FT%TZ) $(uname -sr), $(nproc) cpus; $(sqlite3 "$db" 'select count(*) from connections') rows; VmRSS at start $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status") kB"
printf '%-52s %6s %8s %10s\n' call status ms rss_kB
call() {
	local t0 t1 code
	t0=$(date +%s%N)
	code=$(get "$2")
	t1=$(date +%s%N)
	printf '%-52s %6s %8d %10s\n' "$1" "$code" $(( (t1 - t0) / 1000000 )) \
		"$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")" | tee -a "$work/calls"
}
for r in 1h 1d 30d 1y; do
	call "summary $r" "/api/summary?range=$r"
	call "series by exe $r" "/api/series?range=$r&group=exe"
	call "group exe $r" "/api/group?range=$r&group=exe"
	call "executables $r" "/api/executables?range=$r"
done
for f in exe name cmdline sha256 parent_exe parent_name gparent_exe user lport rport laddr raddr \
	country domain netns container proto outcome; do
	call "group $f 30d" "/api/group?range=30d&group=$f"
done
for f in raddr country domain; do
	call "group $f 1y" "/api/group?range=1y&group=$f"
done
call "drill exe 30d" "/api/drill?range=30d&field=exe&value=$exe"
call "drill exe 1y" "/api/drill?range=1y&field=exe&value=$exe"
# the value most traffic has: its drill-down reads most of the range
call "drill user 1000 30d" "/api/drill?range=30d&field=user&value=1000"
call "drill rport 443 30d" "/api/drill?range=30d&field=rport&value=443"
call "drill user 1000 1y" "/api/drill?range=1y&field=user&value=1000"
call "explore domain, rport 443, 1y" "/api/group?range=1y&group=domain&f=rport:443"
call "explore raddr, user 1000, 30d" "/api/group?range=30d&group=raddr&f=user:1000"
call "explore exe, not tcp, 1y" "/api/group?range=1y&group=exe&x=proto:tcp"
call "series by domain, user 1000, 1y" "/api/series?range=1y&group=domain&f=user:1000"
call "group lport 1y (too many raw rows)" "/api/group?range=1y&group=lport"
awk '{ n[$(NF - 2)]++; if ($(NF - 1) > max) max = $(NF - 1) } END { for (c in n) printf "web: %d calls answered %s\n", n[c], c; printf "web: slowest %d ms\n", max }' "$work/calls"
echo "web: peak RSS (VmHWM) $(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status") kB (target 20 MB)"
