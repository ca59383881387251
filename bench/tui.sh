#!/usr/bin/env bash
# bench/tui.sh [ROWS] [DAYS]: how fast snitch tui answers a key, measured
# from outside as a user sees it: tmux send-keys, then capture-pane until
# the screen has changed, holds the answer (not "reading the log...") and
# is still (polled every few ms), on a log of
# ROWS records (default 1,000,000) over DAYS days (365) built as
# bench/query.sh builds it (build/tests/querygen | snitch-store).
# QUERY_BENCH_DB=FILE reuses (or keeps) the database, e.g. bench/query.sh's.
# Keys: every grouping of the sidebar (Down) for the ranges 1h, 1d, 30d and
# 1y (t), a filter on the top row and its removal (Enter, Backspace), one
# range back and forward (h, H). Target: p95 <= 300 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
days=${2:-365}
STORE=$(pwd)/bin/snitch-store
TUI=$(pwd)/bin/snitch-tui
GEN=$(pwd)/build/tests/querygen
for b in "$STORE" "$TUI" "$GEN"; do
	[ -x "$b" ] || { echo "tui: build first: make all build/tests/querygen" >&2; exit 1; }
done
command -v tmux > /dev/null || { echo "tui: needs tmux" >&2; exit 1; }
work=$(mktemp -d /tmp/snitch-tuibench.XXXXXX)
TM="tmux -L snitch-tuibench-$$ -f /dev/null"
trap '$TM kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
db=${QUERY_BENCH_DB:-$work/bench.db}

echo "# $(date -u +%FT%TZ) $(uname -sr), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ! -s "$db" ]; then
	"$GEN" "$rows" "$days" | "$STORE" --db "$db" --write-limit-s 1 --retention-days $(( days + 30 ))
	sqlite3 "$db" 'pragma wal_checkpoint(truncate)' > /dev/null
fi
echo "tui: $(sqlite3 "$db" 'select count(*) from connections') connections rows, $(( $(stat -c %s "$db") / 1048576 )) MiB"

now() { date +%s%N; }

# press KEY...: send the keys, then wait until the screen differs from
# before and stays the same for 20 ms; prints the milliseconds.
press() {
	local before after t0 t1 deadline
	before=$($TM capture-pane -p)
	t0=$(now)
	deadline=$(( t0 + 20000000000 ))
	$TM send-keys "$@"
	while :; do
		after=$($TM capture-pane -p)
		# the answer: a new screen, not the "reading the log..." of the wait
		[ "$after" != "$before" ] && [[ "$after" != *"reading the log..."* ]] && break
		[ "$(now)" -lt "$deadline" ] || { echo "tui: no answer to '$*' in 20 s" >&2; break; }
	done
	t1=$(now)
	# still for 20 ms: the whole screen was drawn
	while sleep 0.02; do
		before=$after
		after=$($TM capture-pane -p)
		[ "$after" = "$before" ] && break
		t1=$(now)
	done
	echo "$(( (t1 - t0) / 1000000 ))"
}

$TM new-session -d -x 120 -y 40 "env LC_ALL=C.UTF-8 TERM=xterm-256color $TUI --db '$db' --range 1h"
# settled: the screen shows the table of grouping GROUP and no query runs
settle() {
	local s
	for _ in $(seq 300); do
		s=$($TM capture-pane -p)
		[[ "$s" == *"│$1 "* && "$s" == *TOTAL* && "$s" != *"reading the log..."* ]] && return 0
		sleep 0.1
	done
	echo "tui: the screen did not settle on '$1'" >&2
}

settle "Process executable"
: > "$work/times"
: > "$work/slow"
$TM send-keys Left
# ranges go 1m 5m 15m 1h 6h 1d 7d 30d 1y all: t presses to the next one timed
for step in 1h:0 1d:2 30d:2 1y:1; do
	range=${step%%:*}
	for _ in $(seq "${step#*:}"); do press t > /dev/null; done
	$TM capture-pane -p | head -1 | grep -q "last $range" ||
		{ echo "tui: not at range $range:" >&2; $TM capture-pane -p | head -1 >&2; }
	for g in $(seq 20); do
		ms=$(press Down)
		echo "$ms" >> "$work/times"
		echo "$ms $range Down to grouping $(( g + 1 ))" >> "$work/slow"
	done
	for _ in $(seq 20); do $TM send-keys Up; done
	settle "Process executable"
	$TM send-keys Right
	for k in Enter BSpace h H; do
		ms=$(press $k)
		echo "$ms" >> "$work/times"
		echo "$ms $range $k" >> "$work/slow"
		if [ "$k" = Enter ]; then $TM send-keys Right; fi
	done
	$TM send-keys Left
done
sort -n "$work/times" | awk '{ v[NR] = $1 } END {
	p50 = v[int(NR * 0.5 + 0.5)]; p95 = v[int(NR * 0.95 + 0.5)]
	printf "tui: %d keys, p50 %d ms, p95 %d ms, max %d ms (target p95 <= 300 ms)\n", NR, p50, p95, v[NR] }'
echo "tui: slowest:"
sort -rn "$work/slow" | head -5 | sed 's/^/tui:   /'
for range in 1h 1d 30d 1y; do
	awk -v r="$range" '$2 == r { print $1 }' "$work/slow" | sort -n | awk -v r="$range" '{ v[NR] = $1 } END {
		printf "tui:   range %s: %d keys, p50 %d ms, p95 %d ms, max %d ms\n", r, NR,
			v[int(NR * 0.5 + 0.5)], v[int(NR * 0.95 + 0.5)], v[NR] }'
done
