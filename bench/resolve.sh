#!/usr/bin/env bash
# bench/resolve.sh [RECORDS]: snitch-resolve's throughput with warm caches,
# against `cat` in the same run (target >= 300,000 records/s). The records
# are docs/records.md's flow example naming three living processes (this
# shell, its parent and grandparent), to an address a dns record named.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
RESOLVE=$(pwd)/bin/snitch-resolve
[ -x "$RESOLVE" ] || { echo "resolve: build first: make" >&2; exit 1; }
work=$(mktemp -d /tmp/snitch-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

best3() {
	local best=0 t0 t1 i
	for i in 1 2 3; do
		t0=$(now); "$@"; t1=$(now)
		if [ $best -eq 0 ] || [ $((t1 - t0)) -lt $best ]; then best=$((t1 - t0)); fi
	done
	echo $best
}

. bench/proc.bash

p0=$$; p1=$(ppid_of $p0); p2=$(ppid_of "$p1")
read -r a0 s0 d0 i0 <<< "$(ident $p0)"
read -r a1 s1 d1 i1 <<< "$(ident "$p1")"
read -r a2 s2 d2 i2 <<< "$(ident "$p2")"
. bench/example.bash
example=$(flow_example)
line=$(echo "$example" | jq -c \
	--argjson a "[$a0,$s0,$d0,$i0,$a1,$s1,$d1,$i1,$a2,$s2,$d2,$i2]" \
	'.pid = $a[0] | .start_ns = $a[1] | .exe_dev = $a[2] | .exe_ino = $a[3]
	 | .parent_pid = $a[4] | .parent_start_ns = $a[5] | .parent_exe_dev = $a[6] | .parent_exe_ino = $a[7]
	 | .gparent_pid = $a[8] | .gparent_start_ns = $a[9] | .gparent_exe_dev = $a[10] | .gparent_exe_ino = $a[11]
	 | .lport = "@PORT@"')
{
	echo "{\"v\":1,\"type\":\"dns\",\"pid\":$p0,\"netns\":4026531840,\"qname\":\"example.org\",\"qtype\":\"A\",\"rcode\":0,\"answers\":[{\"addr\":\"198.51.100.7\",\"ttl_s\":300}]}"
	echo "$line" | awk -v n="$n" '{ p = index($0, "\"@PORT@\""); a = substr($0, 1, p - 1);
		b = substr($0, p + 8); for (i = 0; i < n; i++) print a (1024 + i % 60000) b }'
} > "$work/records"
bytes=$(stat -c %s "$work/records")
cat "$work/records" > /dev/null
ns_cat=$(best3 sh -c "cat '$work/records' > /dev/null")
ns_res=$(best3 sh -c "'$RESOLVE' < '$work/records' > /dev/null")
# every flow got its process, parents and domain
"$RESOLVE" < "$work/records" | tail -n 2 | head -1 > "$work/last"
jq -e '.exe_path != null and .cmdline != null and .parent_exe_path != null and .gparent_name != null and .domain == "example.org"' "$work/last" > /dev/null ||
	{ echo "resolve: a record did not resolve: $(cut -c1-300 "$work/last")" >&2; exit 1; }
rate_cat=$(awk -v n="$n" -v ns="$ns_cat" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
rate=$(awk -v n="$n" -v ns="$ns_res" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
echo "# $(date -u +%F) $(uname -sr), $(nproc) cpus"
out_bytes=$(wc -c < "$work/last")
echo "resolve: $n records of $((bytes / n)) bytes, $out_bytes bytes out: snitch-resolve $rate records/s, cat $rate_cat records/s"
echo "resolve ratio: $(awk -v a="$rate" 'BEGIN { printf "%.2f", a / 300000 }') of the 300,000 records/s target; $(awk -v a="$rate" -v b="$rate_cat" 'BEGIN { printf "%.3f", a / b }') of cat"
