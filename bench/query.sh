#!/usr/bin/env bash
# bench/query.sh [ROWS] [DAYS]: build a log of ROWS connections rows (default
# 10,000,000) over DAYS days (365) with snitch-store itself, fed by
# build/tests/querygen (a few hundred executables, thousands of domains and
# addresses, a long tail; fake timestamps ending now), then time each view
# snitch-query and snitch-web offer: p50 and p95 of REPS runs (9) from the
# rollups, and the same answer from the raw table (--raw, a GROUP BY over
# connections: p50 of up to 3 runs) in the same run, as a ratio; the answers
# are compared too. Targets: every view's p95 <= 300 ms, >= 10x the raw
# GROUP BY for 30 d and 1 y; the rollups <= 25% of the database.
# QUERY_BENCH_DB=FILE reuses (or keeps) the database between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
days=${2:-365}
reps=${REPS:-9}
STORE=$(pwd)/bin/snitch-store
QUERY=$(pwd)/bin/snitch-query
GEN=$(pwd)/build/tests/querygen
for b in "$STORE" "$QUERY" "$GEN"; do
	[ -x "$b" ] || { echo "query: build first: make all build/tests/querygen" >&2; exit 1; }
done
work=$(mktemp -d /tmp/snitch-qbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
db=${QUERY_BENCH_DB:-$work/bench.db}

now() { date +%s%N; }
ms() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e6 }'; }

echo "# $(date -u +%FT%TZ) $(uname -sr), $(nproc) cpus, SQLite $(sqlite3 --version | cut -d' ' -f1)"
if [ ! -s "$db" ]; then
	t0=$(now)
	# one-second windows: the writer works while records are still read
	"$GEN" "$rows" "$days" | "$STORE" --db "$db" --write-limit-s 1 --retention-days $(( days + 30 ))
	t1=$(now)
	sqlite3 "$db" 'pragma wal_checkpoint(truncate)' > /dev/null
	echo "query: built $rows records over $days days in $(awk -v ns=$(( t1 - t0 )) 'BEGIN { printf "%.0f", ns / 1e9 }') s ($(awk -v n="$rows" -v ns=$(( t1 - t0 )) 'BEGIN { printf "%.0f", n / (ns / 1e9) }') records/s with the rollups)"
fi
n=$(sqlite3 "$db" 'select count(*) from connections')
size=$(stat -c %s "$db")
sqlite3 "$db" "select name, sum(pgsize) from dbstat group by name" > "$work/sizes" 2>/dev/null || true
ru=$(awk -F'|' '$1 ~ /^rollup_/ { s += $2 } END { print s + 0 }' "$work/sizes")
echo "query: $n connections rows, database $(( size / 1048576 )) MiB; rollups $(( ru / 1048576 )) MiB ($(awk -v r="$ru" -v s="$size" 'BEGIN { printf "%.1f", 100 * r / (s - r) }')% added to the rest)"
awk -F'|' '$1 ~ /^rollup_/ { printf "query:   %s %d MiB\n", $1, $2 / 1048576 }' "$work/sizes"
for t in rollup_minute rollup_hour rollup_day; do
	echo "query:   $t $(sqlite3 "$db" "select count(*) from $t") rows"
done

exe=$(sqlite3 "$db" "select e.path from rollup_day r join executables e on e.id = r.exe_id group by e.path order by sum(send_bytes) desc limit 1 offset 3")
dom=$(sqlite3 "$db" "select d.name from rollup_day r join domains d on d.id = r.domain_id group by d.name order by sum(send_bytes) desc limit 1 offset 5")

# label|arguments (the time range in them)
views=(
	"overview totals 1h|--since 1h"
	"overview totals 1d|--since 1d"
	"overview totals 30d|--since 30d"
	"overview totals 1y|--since 1y"
	"overview top exe 1h|--since 1h --group-by exe --top 10"
	"overview top exe 1d|--since 1d --group-by exe --top 10"
	"overview top exe 30d|--since 30d --group-by exe --top 10"
	"overview top exe 1y|--since 1y --group-by exe --top 10"
	"overview series 1h|--since 1h --series 1m --group-by exe --top 5"
	"overview series 1d|--since 1d --series 15m --group-by exe --top 5"
	"overview series 30d|--since 30d --series 1d --group-by exe --top 5"
	"overview series 1y|--since 1y --series 7d --group-by exe --top 5"
)
for f in exe name cmdline sha256 parent_exe parent_name parent_cmdline parent_sha256 \
	gparent_exe gparent_name gparent_cmdline gparent_sha256 user lport rport laddr raddr \
	country domain netns container proto outcome; do
	views+=("group-by $f 30d|--since 30d --group-by $f --top 20")
done
views+=(
	"group-by domain 1y|--since 1y --group-by domain --top 20"
	"drill-down exe 30d|--since 30d --drill exe=$exe --top 20"
	"drill-down exe 1y|--since 1y --drill exe=$exe --top 20"
	"filtered series 30d|--since 30d --series 1d --where domain=$dom"
	"filtered series 1y|--since 1y --series 7d --where domain=$dom --exclude rport=53"
	"executables 1y|--since 1y --executables"
)

# time_runs N ARGS...: the run times in ns, sorted, in $work/t (and the CPU
# times, user + system, in $work/cpu); output in $work/out
time_runs() {
	local k=$1 i t0 t1
	shift
	: > "$work/t"
	: > "$work/cpu"
	for i in $(seq "$k"); do
		t0=$(now)
		/usr/bin/time -f '%U %S' -o "$work/time" "$QUERY" --db "$db" --json "$@" > "$work/out"
		t1=$(now)
		echo $(( t1 - t0 )) >> "$work/t"
		awk '{ printf "%.0f\n", ($1 + $2) * 1e9 }' "$work/time" >> "$work/cpu"
	done
	sort -n -o "$work/t" "$work/t"
	sort -n -o "$work/cpu" "$work/cpu"
}
# nearest-rank percentile of the sorted file
pct() { awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; print v[i] }' "${2:-$work/t}"; }

# "--since D" as --from/--until of one fixed end, so that every run of a
# view, rollups or raw, reads the same range
end=$(date +%s)
pin() {
	local a out=() since=
	for a in "$@"; do
		if [ "$since" = 1 ]; then
			out+=(--from "$(( end - $(dur "$a") ))" --until "$end")
			since=
		elif [ "$a" = --since ]; then
			since=1
		else
			out+=("$a")
		fi
	done
	printf '%s\n' "${out[@]}"
}
dur() {
	case $1 in
	*h) echo $(( ${1%h} * 3600 )) ;;
	*d) echo $(( ${1%d} * 86400 )) ;;
	*y) echo $(( ${1%y} * 365 * 86400 )) ;;
	esac
}

echo "# wall-clock ms (p50, p95 of $reps runs), CPU ms (user + system, p50), the raw GROUP BY's p50; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %8s %8s %8s %10s %10s %8s %s\n' view p50_ms p95_ms cpu_ms raw_p50_ms raw_cpu_ms ratio answer
fail=0
for v in "${views[@]}"; do
	label=${v%%|*}
	read -r -a args <<< "${v#*|}"
	mapfile -t args < <(pin "${args[@]}")
	time_runs "$reps" "${args[@]}"
	p50=$(pct 50) p95=$(pct 95) cpu=$(pct 50 "$work/cpu")
	mv "$work/out" "$work/fast"
	# the raw GROUP BY: once, and twice more when it is quick
	time_runs 1 --raw "${args[@]}"
	if [ "$(cat "$work/t")" -lt 3000000000 ]; then
		cp "$work/t" "$work/t1"
		cp "$work/cpu" "$work/cpu1"
		time_runs 2 --raw "${args[@]}"
		sort -n -o "$work/t" "$work/t" "$work/t1"
		sort -n -o "$work/cpu" "$work/cpu" "$work/cpu1"
	fi
	raw=$(pct 50) rawcpu=$(pct 50 "$work/cpu")
	# the same answer (series and groups compared whole; time-relative
	# ranges moved on by a few ms between the runs, so only the sums)
	same=same
	if ! diff -q <(jq -S -c 'del(.first_ns, .last_ns)' "$work/fast") \
		<(jq -S -c 'del(.first_ns, .last_ns)' "$work/out") > /dev/null; then
		same=DIFFERENT
		fail=1
	fi
	printf '%-28s %8s %8s %8s %10s %10s %8s %s\n' "$label" "$(ms "$p50")" "$(ms "$p95")" "$(ms "$cpu")" \
		"$(ms "$raw")" "$(ms "$rawcpu")" "$(awk -v a="$raw" -v b="$p50" 'BEGIN { printf "%.1fx", a / b }')" "$same"
	echo "$label|$p50|$p95|$raw|$cpu" >> "$work/results"
done
awk -F'|' '{ n++; if ($3 <= 300e6) ok++; if ($5 <= 300e6) c++ } END { printf "query: %d of %d views with p95 <= 300 ms (%d with p50 CPU time <= 300 ms)\n", ok, n, c }' "$work/results"
awk -F'|' '$1 ~ /(30d|1y)$/ && $1 !~ /lport/ { n++; if ($4 / $2 >= 10) ok++ } END { printf "query: %d of %d 30d/1y views (lport aside) >= 10x the raw GROUP BY\n", ok, n }' "$work/results"
exit $fail
