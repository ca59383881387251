#!/usr/bin/env bash
# Benchmarks of snitch-hash, as ratios against a baseline measured in the
# same run (the machine is shared; wall-clock figures alone mean little).
#   1. hashing a 1 GiB file from the page cache, against
#      `openssl speed -bytes 1048576 sha256` (single core); target >= 0.90
#   2. stream pass-through with a warm cache of flow records shaped as in
#      docs/records.md, in records/s (target >= 300,000), beside `cat`
# Usage: bench/hash.sh [RECORDS]    (default 1,000,000 records)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
HASH=$top/bin/snitch-hash
[ -x "$HASH" ] || { echo "bench: build first: make" >&2; exit 1; }
n=${1:-1000000}
work=$(mktemp -d /tmp/snitch-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

now() { date +%s%N; }
# best (shortest) of 3 runs of a command, in ns
best3() {
	local best=0 t0 t1 i
	for i in 1 2 3; do
		t0=$(now)
		"$@"
		t1=$(now)
		if [ $best -eq 0 ] || [ $((t1 - t0)) -lt $best ]; then best=$((t1 - t0)); fi
	done
	echo $best
}

echo "# $(date -u +%F) $(uname -sr), $(nproc) cpus, $(openssl version | cut -d' ' -f1-2)"

# --- 1. file hashing against openssl speed --------------------------------
head -c 1073741824 /dev/urandom > "$work/gib"
cat "$work/gib" > /dev/null			# into the page cache
openssl_kbs=$(openssl speed -bytes 1048576 -seconds 3 sha256 2>/dev/null |
	awk '$1 == "sha256" { sub(/k$/, "", $2); print $2 }')
openssl_mbs=$(awk -v k="$openssl_kbs" 'BEGIN { printf "%.0f", k / 1000 }')
ns=$(best3 sh -c "'$HASH' '$work/gib' > /dev/null")
ours_mbs=$(awk -v ns="$ns" 'BEGIN { printf "%.0f", 1073741824 / (ns / 1e9) / 1e6 }')
ns_sum=$(best3 sh -c "sha256sum '$work/gib' > /dev/null")
sum_mbs=$(awk -v ns="$ns_sum" 'BEGIN { printf "%.0f", 1073741824 / (ns / 1e9) / 1e6 }')
ratio1=$(awk -v a="$ours_mbs" -v b="$openssl_mbs" 'BEGIN { printf "%.2f", a / b }')
echo "hash 1 GiB: snitch-hash $ours_mbs MB/s, openssl speed $openssl_mbs MB/s, sha256sum $sum_mbs MB/s"
echo "hash ratio: $ratio1 of openssl speed (target >= 0.90)"
rm -f "$work/gib"

# --- 2. stream pass-through, warm cache ------------------------------------
. bench/example.bash
example=$(flow_example)
# the example, naming real executables (with paths, as after snitch-resolve)
line=$(echo "$example" | jq -c \
	--argjson a "$(stat -L -c '[%d,%i]' /bin/true)" \
	--argjson b "$(stat -L -c '[%d,%i]' /bin/sh)" \
	--argjson c "$(stat -L -c '[%d,%i]' /bin/ls)" \
	'.exe_dev = $a[0] | .exe_ino = $a[1] | .exe_path = "/bin/true"
	 | .parent_exe_dev = $b[0] | .parent_exe_ino = $b[1] | .parent_exe_path = "/bin/sh"
	 | .gparent_exe_dev = $c[0] | .gparent_exe_ino = $c[1] | .gparent_exe_path = "/bin/ls"')
# vary pid and ports per record, as a real stream would: split the line
# at two placeholders once, then print the pieces around the numbers
echo "$line" | jq -c '.pid = "@PID@" | .lport = "@PORT@"' |
	awk -v n="$n" '{ p = index($0, "\"@PID@\""); a = substr($0, 1, p - 1);
		rest = substr($0, p + 7); q = index(rest, "\"@PORT@\"");
		b = substr(rest, 1, q - 1); c = substr(rest, q + 8);
		for (i = 0; i < n; i++)
			print a (10000 + i % 50000) b (1024 + i % 60000) c }' > "$work/records"
bytes=$(stat -c %s "$work/records")
cat "$work/records" > /dev/null
ns_cat=$(best3 sh -c "cat '$work/records' > /dev/null")
ns_hash=$(best3 sh -c "'$HASH' --stream < '$work/records' > /dev/null")
# check the output once: every record got its three hashes
got=$("$HASH" --stream < "$work/records" | grep -c '"gparent_exe_sha256":"[0-9a-f]\{64\}"' || true)
[ "$got" -eq "$n" ] || { echo "bench: only $got of $n records got their hashes" >&2; exit 1; }
rate_cat=$(awk -v n="$n" -v ns="$ns_cat" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
rate_hash=$(awk -v n="$n" -v ns="$ns_hash" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
echo "stream: $n records of $((bytes / n)) bytes: snitch-hash $rate_hash records/s, cat $rate_cat records/s"
echo "stream ratio: $(awk -v a="$rate_hash" 'BEGIN { printf "%.2f", a / 300000 }') of the 300,000 records/s target; $(awk -v a="$rate_hash" -v b="$rate_cat" 'BEGIN { printf "%.3f", a / b }') of cat"
