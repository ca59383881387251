# Sourced by the bench scripts that time traffic over loopback
# (bench/overhead.sh, bench/udp-floor.sh). $secs: each run's length.

# sockperf throughput in MB/s, 64-byte messages: TCP (TCP_NODELAY, a send
# per message) on port 11111, or UDP datagrams on port 11112
sockperf_mbs() {
	local port=11111 proto=--tcp
	[ "${1:-tcp}" = udp ] && port=11112 proto=
	sockperf sr $proto -i 127.0.0.1 -p "$port" > /dev/null 2>&1 &
	local s=$!
	sleep 0.3
	sockperf tp $proto -i 127.0.0.1 -p "$port" -m 64 -t "$secs" 2>&1 |
		awk '/Summary: BandWidth/ { print $5 }'
	kill "$s"
	wait "$s" 2>/dev/null || true
}

# UDP: every datagram is counted in the kernel on its way out and again on
# its way in (the flow table), unlike TCP (its sequence numbers)
sockperf_udp_mbs() { sockperf_mbs udp; }

# the median of the numbers on standard input, one a line
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# The in-kernel time of BPF programs (kernel.bpf_stats_enabled on): "NAME
# ns-per-run runs" for each NAME given, the newest program of each name
# (bpftool here does not say which process holds a program)
prog_stats() {
	local names
	names=$(printf '"%s",' "$@")
	bpftool -j prog show 2>/dev/null | jq -r --argjson n "[${names%,}]" '
		[.[] | select(.name as $x | $n | index($x) != null)] |
		group_by(.name)[] | max_by(.id) |
		"\(.name) \(if (.run_cnt // 0) > 0 then (.run_time_ns / .run_cnt) else 0 end) \(.run_cnt // 0)"'
}
