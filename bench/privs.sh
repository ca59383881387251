#!/usr/bin/env bash
# bench/privs.sh [RECORDS] [ROUNDS]: what the stages' seccomp filters
# (lib/privs.c, docs/security.md) cost. RECORDS (default 300,000) flow
# records naming this shell and its parents run through
# snitch-resolve | snitch-hash | snitch-store, ROUNDS times (default 5),
# alternately with the filters (the default) and without
# (SNITCH_SECCOMP=off), each stage still dropping its capabilities; it
# reports the median ratio of the times (filtered / unfiltered; 1.00 is
# free). Run as root, the stages keep root's uid (SNITCH_USER=root), as
# the tests do.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300000}
rounds=${2:-5}
BIN=$(pwd)/bin
[ -x "$BIN/snitch-store" ] || { echo "privs: build first: make" >&2; exit 1; }
work=$(mktemp -d /tmp/snitch-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export SNITCH_USER=root

. bench/proc.bash

p0=$$; p1=$(ppid_of $p0); p2=$(ppid_of "$p1")
read -r a0 s0 d0 i0 <<< "$(ident $p0)"
read -r a1 s1 d1 i1 <<< "$(ident "$p1")"
read -r a2 s2 d2 i2 <<< "$(ident "$p2")"
. bench/example.bash
example=$(flow_example)
echo "$example" | jq -c --argjson t "$(now)" \
	--argjson a "[$a0,$s0,$d0,$i0,$a1,$s1,$d1,$i1,$a2,$s2,$d2,$i2]" \
	'.ts_ns = $t | .to_ns = $t | .from_ns = ($t - 1000000000)
	 | .pid = $a[0] | .start_ns = $a[1] | .exe_dev = $a[2] | .exe_ino = $a[3]
	 | .parent_pid = $a[4] | .parent_start_ns = $a[5] | .parent_exe_dev = $a[6] | .parent_exe_ino = $a[7]
	 | .gparent_pid = $a[8] | .gparent_start_ns = $a[9] | .gparent_exe_dev = $a[10] | .gparent_exe_ino = $a[11]
	 | .lport = "@PORT@"' |
	awk -v n="$n" '{ p = index($0, "\"@PORT@\""); a = substr($0, 1, p - 1);
		b = substr($0, p + 8); for (i = 0; i < n; i++) print a (1024 + i % 60000) b }' > "$work/records"

# one run: its time in ns; every record's bytes must be in the log
want=$(( n * $(jq -r '.send_bytes' <<< "$example") ))
run() {
	local t0 t1 got
	rm -f "$work"/db*
	t0=$(now)
	"$BIN/snitch-resolve" < "$work/records" 2>> "$work/err" | "$BIN/snitch-hash" 2>> "$work/err" |
		"$BIN/snitch-store" --db "$work/db" 2>> "$work/err" > /dev/null
	t1=$(now)
	got=$(sqlite3 "$work/db" 'SELECT sum(send_bytes) FROM connections')
	[ "$got" = "$want" ] || { echo "privs: $got bytes in the log, not $want" >&2; exit 1; }
	echo $((t1 - t0))
}

ratios=()
for r in $(seq "$rounds"); do
	on=$(run)
	off=$(SNITCH_SECCOMP=off run)
	ratios+=("$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }')")
	echo "privs: round $r: with the filters $((on / 1000000)) ms, without $((off / 1000000)) ms" >&2
done
if grep -a 'seccomp refused' "$work/err"; then
	echo "privs: a filter refused a call the stages make" >&2
	exit 1
fi
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "privs: $n records through snitch-resolve | snitch-hash | snitch-store, $rounds rounds:" \
	"time with the seccomp filters / without, median $median (${ratios[*]})"
