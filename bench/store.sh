#!/usr/bin/env bash
# bench/store.sh [RECORDS]: flow records into SQLite, in records/s (target
# >= 200,000), beside `cat` in the same run; and the database's size per
# million connections rows. Two streams, among 50 executables, 200 domains
# and 1,000 addresses:
#   typical: 4 records per connection and window (a connection sends a
#            record every interval; a window holds several), so 4 records
#            merge into each row
#   worst:   every record its own row (each a new connection)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
STORE=$(pwd)/bin/snitch-store
[ -x "$STORE" ] || { echo "store: build first: make" >&2; exit 1; }
work=$(mktemp -d /tmp/snitch-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

now() { date +%s%N; }
. bench/example.bash
example=$(flow_example)
line=$(echo "$example" | jq -c --argjson t "$(now)" '.ts_ns = $t | .to_ns = $t | .from_ns = ($t - 1000000000)
	| .exe_path = "@EXE@" | .raddr = "@ADDR@" | .domain = "@DOM@" | .lport = "@PORT@"')
# fill the placeholders in the order they stand in the line
gen() {
echo "$line" | awk -v n="$n" -v per="$1" '{
	line = $0; np = 0
	while (match(line, /"@[A-Z]+@"/)) {
		order[++np] = substr(line, RSTART + 2, RLENGTH - 4)
		piece[np] = substr(line, 1, RSTART - 1)
		line = substr(line, RSTART + RLENGTH)
	}
	for (j = 0; j < n; j++) {
		i = int(j / per)	# the connection: "per" records each
		out = ""
		for (k = 1; k <= np; k++) {
			f = order[k]
			if (f == "EXE") v = "\"/usr/bin/tool" (i % 50) "\""
			else if (f == "ADDR") v = "\"198.51." int(i % 1000 / 250) "." (i % 250) "\""
			else if (f == "DOM") v = "\"host" (i % 200) ".example\""
			else v = i
			out = out piece[k] v
		}
		print out line
	}
}'
}
run() {
	local label=$1 per=$2 t0 t1 ns ns_cat rows size rate rate_cat
	gen "$per" > "$work/records"
	cat "$work/records" > /dev/null
	t0=$(now); cat "$work/records" > /dev/null; t1=$(now)
	ns_cat=$((t1 - t0))
	rm -f "$work"/bench.db*
	t0=$(now)
	# one-second windows: the writer thread works while records are still read
	"$STORE" --db "$work/bench.db" --write-limit-s 1 --retention-days 36500 < "$work/records"
	t1=$(now)
	ns=$((t1 - t0))
	rows=$(sqlite3 "$work/bench.db" 'select count(*) from connections')
	[ "$rows" -le "$n" ] && [ "$(sqlite3 "$work/bench.db" 'select sum(events) from connections')" -eq "$n" ] ||
		{ echo "store: records went missing" >&2; exit 1; }
	sqlite3 "$work/bench.db" 'pragma wal_checkpoint(truncate)' > /dev/null
	size=$(stat -c %s "$work/bench.db")
	rate=$(awk -v n="$n" -v ns="$ns" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
	rate_cat=$(awk -v n="$n" -v ns="$ns_cat" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
	echo "store $label: $n flow records of $(( $(stat -c %s "$work/records") / n )) bytes into $rows rows: snitch-store $rate records/s, cat $rate_cat records/s"
	echo "store $label ratio: $(awk -v a="$rate" 'BEGIN { printf "%.2f", a / 200000 }') of the 200,000 records/s target; $(awk -v a="$rate" -v b="$rate_cat" 'BEGIN { printf "%.3f", a / b }') of cat"
	[ "$per" -ne 1 ] || echo "store: database $(awk -v s="$size" -v r="$rows" 'BEGIN { printf "%.1f MB per million connections rows (%.0f bytes a row, indexes included)", s / r, s / r }')"
}

echo "# $(date -u +%F) $(uname -sr), $(nproc) cpus, SQLite $(sqlite3 --version | cut -d' ' -f1)"
run typical 4
run worst 1
