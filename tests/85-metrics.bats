#!/usr/bin/env bats
# snitch-metrics: the Prometheus exporter stage. A real Prometheus scrapes
# it while real processes move known bytes; counts from synthetic records
# are exact; the series are bounded; what strangers name is escaped.

load helper

METRICS=$SNITCH_BIN/snitch-metrics

teardown() {
	stop_started ${PROM_PID:-}
	[ -z "${DNS_NS:-}" ] || dns_ns_stop
	# a snitch run: SIGTERM, its stop timeout, then SIGKILL
	if [ -n "${RUN_PID:-}" ] && kill "$RUN_PID" 2>/dev/null; then
		for _ in $(seq 1 250); do
			kill -0 "$RUN_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$RUN_PID" 2>/dev/null || true
		wait "$RUN_PID" 2>/dev/null || true
	fi
	[ -z "${RUN_D:-}" ] || rm -rf "$RUN_D"
}

# metrics_start ARGS...: snitch-metrics on a port of its choosing, fed
# through stream_send; MPORT is its port.
metrics_start() {
	local i
	stream_start "$METRICS" --listen 127.0.0.1:0 --status-file '' "$@"
	for i in $(seq 100); do
		# (the file may not be there yet: the stage opens it as it starts)
		MPORT=$(sed -n 's/.*serving \/metrics on port \([0-9]*\).*/\1/p' "$STREAM_ERR" 2>/dev/null || true)
		[ -n "$MPORT" ] && return 0
		running "$STREAM_PID" || break
		sleep 0.1
	done
	cat "$STREAM_ERR" >&2
	return 1
}

scrape() {
	curl -sf --max-time 10 "http://127.0.0.1:$MPORT/metrics"
}

# value SERIES: the value of the series written exactly so, or nothing.
value() {
	scrape | awk -v s="$1" 'index($0, s " ") == 1 { print $NF }'
}

# wait_value SERIES WANT: until the series has that value (at most 20 s).
wait_value() {
	local i v
	for i in $(seq 200); do
		v=$(value "$1")
		[ "$v" = "$2" ] && return 0
		sleep 0.1
	done
	echo "$1 is '$v', not '$2'; the metric's series:" >&2
	scrape | grep -F "${1%%\{*}" >&2
	return 1
}

# A loopback TCP port nobody listens on.
free_port() {
	local p i
	for i in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		[ -z "$(ss -Hltn "sport = :$p")" ] && { echo "$p"; return 0; }
	done
	return 1
}

# prom_start TARGET_PORT: a Prometheus on loopback scraping it every second.
prom_start() {
	local d=$BATS_TEST_TMPDIR/prom i try
	mkdir -p "$d/data"
	cat > "$d/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  evaluation_interval: 1s
	scrape_configs:
	  - job_name: snitch
	    static_configs:
	      - targets: ['127.0.0.1:$1']
	EOF
	for try in 1 2 3; do
		PROM_PORT=$(free_port)
		prometheus --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/data" \
			--web.listen-address="127.0.0.1:$PROM_PORT" > "$d/log" 2>&1 3>&- &
		PROM_PID=$!
		for i in $(seq 300); do
			curl -sf --max-time 2 "http://127.0.0.1:$PROM_PORT/-/ready" > /dev/null && return 0
			running "$PROM_PID" || break
			sleep 0.1
		done
		kill "$PROM_PID" 2>/dev/null || true
		wait "$PROM_PID" 2>/dev/null || true
	done
	cat "$d/log" >&2
	return 1
}

# prom_query EXPR: the value of an instant query's first result, or nothing.
prom_query() {
	curl -sf --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty'
}

# prom_wait EXPR WANT: until Prometheus answers WANT (at most 30 s).
prom_wait() {
	local i v
	for i in $(seq 150); do
		v=$(prom_query "$1")
		[ "$v" = "$2" ] && return 0
		sleep 0.2
	done
	echo "Prometheus: $1 is '$v', not '$2'" >&2
	return 1
}

flow_rec() {	# flow_rec EXE RADDR PROTO SEND RECV [PHASE] [COOKIE] [PID] [RPORT]
	printf '{"v":1,"type":"flow","phase":"%s","sock_cookie":%s,"pid":%s,"exe_path":"%s","name":"n","raddr":"%s","rport":%s,"proto":"%s","send_bytes":%s,"recv_bytes":%s,"send_calls":null,"recv_calls":null}\n' \
		"${6:-update}" "${7:-1}" "${8:-1}" "$1" "$2" "${9:-443}" "$3" "$4" "$5"
}

@test "--help has examples; bad --labels, --listen and --max-series are one line naming them, exit 2" {
	run "$METRICS" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Examples:"*"snitch-metrics --tee"* ]]
	run --separate-stderr "$METRICS" --labels 'exe pid' < /dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"'pid' is not a label of --labels"* ]]
	run --separate-stderr "$METRICS" --listen localhost:80x < /dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"'localhost:80x' is not an address to listen on"* ]]
	run --separate-stderr "$METRICS" --max-series 0 < /dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--max-series"* ]]
	if [ "$(id -u)" -eq 0 ]; then
		run --separate-stderr "$METRICS" --listen 127.0.0.1:0 --user no-such-user-here < /dev/null
		[ "$status" -eq 3 ]
		[[ "$stderr" == *"cannot run as user 'no-such-user-here'"*"no such user"* ]]
	fi
}

@test "a real Prometheus scrapes it while a process moves known bytes: exactly those bytes under its executable" {
	need_bpf
	need_cmd prometheus promtool curl
	d=$(open_tmpdir)
	gen=$d/gen-metrics
	cp "$GEN" "$gen"
	mkfifo "$d/trace.fifo"
	# snitch-trace | snitch-resolve | snitch-hash | snitch-metrics, for real
	stream_start sh -c "'$SNITCH_BIN/snitch-resolve' < '$d/trace.fifo' | '$SNITCH_BIN/snitch-hash' |
		exec '$METRICS' --listen 127.0.0.1:0 --status-file '' --tee"
	trace_start "$d/trace.fifo"
	for i in $(seq 100); do
		# (the file may not be there yet: the stage opens it as it starts)
		MPORT=$(sed -n 's/.*serving \/metrics on port \([0-9]*\).*/\1/p' "$STREAM_ERR" 2>/dev/null || true)
		[ -n "$MPORT" ] && break
		sleep 0.1
	done
	[ -n "$MPORT" ]
	prom_start "$MPORT"
	TRAFFICGEN_LINGER_MS=1000 "$gen" tcp4 > "$d/report"
	want_sent=$(jq -s 'map(.send_bytes) | add' "$d/report")
	want_recv=$(jq -s 'map(.recv_bytes) | add' "$d/report")
	[ "$want_sent" -gt 0 ]
	[ "$want_recv" -gt 0 ]
	prom_wait "sum(snitch_network_sent_bytes_total{exe=\"$gen\"})" "$want_sent"
	prom_wait "sum(snitch_network_received_bytes_total{exe=\"$gen\"})" "$want_recv"
	# two processes (client and server), one executable, TCP to loopback
	[ "$(prom_query "sum(snitch_connections_total{exe=\"$gen\",proto=\"tcp\",remote_subnet=\"127.0.0.0/24\"})")" -ge 1 ]
	[ "$(prom_query 'up{job="snitch"}')" = 1 ]
	# the scrape in the text format passes promtool's lint
	scrape > "$d/scrape.txt"
	promtool check metrics < "$d/scrape.txt"
	grep -q "^snitch_network_sent_bytes_total{exe=\"$gen\"," "$d/scrape.txt"
	# every query of the dashboard runs on the real data
	jq -r '[.. | .expr? // empty] | .[]' "$SNITCH_TOP/deploy/grafana/snitch.json" |
		sed -e 's/\$__rate_interval/1m/g' -e 's/\$instance/.*/g' | while read -r q; do
			curl -sf --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$q" |
				jq -e '.status == "success"' > /dev/null || { echo "failed: $q"; exit 1; }
		done
	rm -rf "$d"
}

@test "OpenMetrics when the scraper asks for it; text 0.0.4 otherwise; /healthz; 404 elsewhere" {
	need_cmd curl
	metrics_start --labels 'exe proto'
	stream_send "$(flow_rec /bin/a 192.0.2.1 tcp 5 6)"
	wait_value 'snitch_network_sent_bytes_total{exe="/bin/a",proto="tcp"}' 5
	run curl -sf -D "$BATS_TEST_TMPDIR/h" -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5' \
		"http://127.0.0.1:$MPORT/metrics"
	[ "$status" -eq 0 ]
	grep -qi '^content-type: application/openmetrics-text; version=1.0.0' "$BATS_TEST_TMPDIR/h"
	[ "$(tail -1 <<< "$output")" = "# EOF" ]
	grep -qx '# TYPE snitch_network_sent_bytes counter' <<< "$output"
	grep -qx 'snitch_network_sent_bytes_total{exe="/bin/a",proto="tcp"} 5' <<< "$output"
	run curl -sf -D "$BATS_TEST_TMPDIR/h" "http://127.0.0.1:$MPORT/metrics"
	grep -qi '^content-type: text/plain; version=0.0.4' "$BATS_TEST_TMPDIR/h"
	grep -qx '# TYPE snitch_network_sent_bytes_total counter' <<< "$output"
	! grep -q '# EOF' <<< "$output" || false
	[ "$(curl -sf "http://127.0.0.1:$MPORT/healthz")" = ok ]
	# run as root, it serves as the user nobody
	if [ "$(id -u)" -eq 0 ]; then
		[ "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$STREAM_PID/status")" = 65534655346553465534 ]
		grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$STREAM_PID/status"
	fi
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/nothing")" = 404 ]
}

@test "50,000 remote subnets: --max-series series plus \"other\", and the dropped counter is right" {
	need_cmd curl
	metrics_start --labels 'remote_subnet' --max-series 1000 --tee
	# 50,000 distinct /24 networks, 3 bytes sent each
	awk 'BEGIN { for (i = 0; i < 50000; i++)
		printf "{\"v\":1,\"type\":\"flow\",\"phase\":\"update\",\"raddr\":\"10.%d.%d.7\",\"proto\":\"udp\",\"send_bytes\":3,\"recv_bytes\":0}\n", int(i / 256), i % 256 }' >&"$STREAM_FD"
	wait_value 'snitch_records_total{type="flow"}' 50000
	scrape > "$BATS_TEST_TMPDIR/s"
	[ "$(grep -c '^snitch_network_sent_bytes_total{' "$BATS_TEST_TMPDIR/s")" -eq 1001 ]
	grep -qx 'snitch_network_sent_bytes_total{remote_subnet="other"} 147000' "$BATS_TEST_TMPDIR/s"
	grep -qx 'snitch_network_sent_bytes_total{remote_subnet="10.0.0.0/24"} 3' "$BATS_TEST_TMPDIR/s"
	grep -qx 'snitch_metrics_series{metric="snitch_network_sent_bytes_total"} 1001' "$BATS_TEST_TMPDIR/s"
	grep -qx 'snitch_metrics_series_dropped_total{metric="snitch_network_sent_bytes_total"} 49000' "$BATS_TEST_TMPDIR/s"
	# the bytes are all there: admitted plus other
	[ "$(awk '/^snitch_network_sent_bytes_total\{/ { s += $NF } END { print s }' "$BATS_TEST_TMPDIR/s")" -eq 150000 ]
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	# --tee passed every record on
	[ "$(wc -l < "$STREAM_OUT")" -eq 50000 ]
}

@test "a series unseen for --series-ttl-s goes; one that stays never goes back" {
	need_cmd curl
	metrics_start --labels 'exe' --series-ttl-s 2
	stream_send "$(flow_rec /bin/stays 192.0.2.1 tcp 10 0)" "$(flow_rec /bin/goes 192.0.2.1 tcp 7 0)"
	wait_value 'snitch_network_sent_bytes_total{exe="/bin/goes"}' 7
	for i in $(seq 1 8); do
		stream_send "$(flow_rec /bin/stays 192.0.2.1 tcp 10 0)"
		sleep 0.5
	done
	[ "$(value 'snitch_network_sent_bytes_total{exe="/bin/stays"}')" = 90 ]
	[ -z "$(value 'snitch_network_sent_bytes_total{exe="/bin/goes"}')" ]
	[ "$(value 'snitch_metrics_series_expired_total{metric="snitch_network_sent_bytes_total"}')" = 1 ]
	# it comes back from zero, as a new series
	stream_send "$(flow_rec /bin/goes 192.0.2.1 tcp 1 0)"
	wait_value 'snitch_network_sent_bytes_total{exe="/bin/goes"}' 1
}

@test "new executables: each file once, by device and inode, else by path" {
	need_cmd curl
	metrics_start --labels exe
	f() { printf '{"v":1,"type":"flow","phase":"new","exe_path":"%s"%s,"send_bytes":0,"recv_bytes":0}\n' "$@"; }
	stream_send "$(f /bin/a ',"exe_dev":1,"exe_ino":10')" "$(f /bin/a ',"exe_dev":1,"exe_ino":10')" \
		"$(f /bin/a ',"exe_dev":1,"exe_ino":11')" "$(f /bin/c '')" "$(f /bin/c '')" \
		'{"v":1,"type":"exec","pid":3,"exe_path":"/bin/d","exe_dev":1,"exe_ino":12}' \
		'{"v":1,"type":"flow","phase":"new","exe_path":null,"send_bytes":0,"recv_bytes":0}'
	wait_value 'snitch_records_total{type="flow"}' 6
	# /bin/a twice (replaced: a new inode), /bin/c; an exec is not traffic
	[ "$(value snitch_new_executables_total)" = 3 ]
}

@test "dns records count exactly by process, query type and direction, waiting for the socket's flow" {
	need_cmd curl
	metrics_start --labels 'exe'
	dns() { printf '{"v":1,"type":"dns","sock_cookie":%s,"pid":%s,"qtype":%s%s}\n' "$1" "$2" "$3" "${4:-}"; }
	# socket 50 known first; socket 60 learnt after its answer; pid 70 only by pid
	stream_send "$(flow_rec /bin/dig 127.0.0.53 udp 0 0 new 50 5 53)" \
		"$(dns 50 5 '"A"')" "$(dns 50 5 '"A"')" "$(dns 50 5 '"AAAA"')" \
		"$(dns 50 5 '"A"' ',"direction":"sent"')" \
		"$(dns 60 6 '"MX"')" "$(flow_rec /bin/mail 127.0.0.53 udp 0 0 new 60 6 53)" \
		'{"v":1,"type":"exec","pid":7,"exe_path":"/bin/byexec"}' "$(dns 70 7 '"TXT"')" \
		"$(dns 80 8 null)"
	wait_value 'snitch_records_total{type="dns"}' 7
	wait_value 'snitch_dns_queries_total{exe="",qtype="",direction="received"}' 1
	scrape > "$BATS_TEST_TMPDIR/s"
	grep '^snitch_dns' "$BATS_TEST_TMPDIR/s" | sort > "$BATS_TEST_TMPDIR/dns"
	diff - "$BATS_TEST_TMPDIR/dns" <<-'EOF'
	snitch_dns_queries_total{exe="",qtype="",direction="received"} 1
	snitch_dns_queries_total{exe="/bin/byexec",qtype="TXT",direction="received"} 1
	snitch_dns_queries_total{exe="/bin/dig",qtype="A",direction="received"} 2
	snitch_dns_queries_total{exe="/bin/dig",qtype="A",direction="sent"} 1
	snitch_dns_queries_total{exe="/bin/dig",qtype="AAAA",direction="received"} 1
	snitch_dns_queries_total{exe="/bin/mail",qtype="MX",direction="received"} 1
	EOF
}

@test "real DNS queries and answers through snitch-trace | snitch-resolve | snitch-metrics count exactly under the client" {
	need_bpf
	need_cmd curl
	d=$(open_tmpdir)
	cp "$SNITCH_TEST_BIN/dnsq" "$d/dnsq-metrics"
	dns_ns_start m1.test=192.0.2.31
	mkfifo "$d/trace.fifo"
	stream_start sh -c "'$SNITCH_BIN/snitch-resolve' < '$d/trace.fifo' |
		exec '$METRICS' --listen 127.0.0.1:0 --status-file '' --labels exe --tee"
	trace_start "$d/trace.fifo"
	for i in $(seq 100); do
		# (the file may not be there yet: the stage opens it as it starts)
		MPORT=$(sed -n 's/.*serving \/metrics on port \([0-9]*\).*/\1/p' "$STREAM_ERR" 2>/dev/null || true)
		[ -n "$MPORT" ] && break
		sleep 0.1
	done
	pids=
	for i in 1 2 3 4 5; do
		# (alive a while after its query: snitch-resolve names it from /proc)
		pids="$pids $(DNSQ_LINGER_MS=800 ip netns exec "$DNS_NS" "$d/dnsq-metrics" m1.test | cut -d' ' -f1)"
	done
	want=5
	for i in $(seq 100); do
		[ "$(value "snitch_dns_queries_total{exe=\"$d/dnsq-metrics\",qtype=\"A\",direction=\"received\"}")" = 5 ] &&
			[ "$(value "snitch_dns_queries_total{exe=\"$d/dnsq-metrics\",qtype=\"A\",direction=\"sent\"}")" = 5 ] && break
		# a machine busy enough to fill the tracer's ring buffer loses
		# events, and says so: then the count is what reached the exporter
		if grep -q '"reason":"ringbuf_full_dns"' "$STREAM_OUT"; then
			echo "# the tracer lost dns events (ringbuf_full_dns): counting what came" >&3
			want=
			sleep 3
			break
		fi
		sleep 0.2
	done
	for dir in sent received; do
		came=$(jq -s --arg dir "$dir" --arg pids "$pids" '($pids | split(" ") | map(select(. != "") | tonumber)) as $p
			| map(select(.type == "dns" and .direction == $dir and .qtype == "A" and (.pid as $x | $p | index($x)))) | length' "$STREAM_OUT")
		[ "$came" = "${want:-$came}" ] || { echo "$came $dir dns records of the clients came, not $want"; false; }
		wait_value "snitch_dns_queries_total{exe=\"$d/dnsq-metrics\",qtype=\"A\",direction=\"$dir\"}" "$came"
	done
	# nothing else under it: queries of type A, and their answers
	[ "$(scrape | grep -c "^snitch_dns_queries_total{exe=\"$d/dnsq-metrics\"")" -eq 2 ]
	rm -rf "$d"
}

@test "syscalls records count exactly per executable and system call" {
	need_cmd curl
	metrics_start --labels 'exe container_name'
	sc() { printf '{"v":1,"type":"syscalls","pid":%s,"exe_path":"%s","container_name":"%s","syscalls":%s}\n' "$@"; }
	stream_send "$(sc 1 /bin/a web '{"connect":3,"execve":1}')" "$(sc 2 /bin/a web '{"connect":4,"mount":0}')" \
		"$(sc 3 /bin/b '' '{"setuid":2,"bad":-1,"x":"y"}')" "$(sc 4 /bin/b '' '{"cl\"o\u00e9":5}')"
	wait_value 'snitch_records_total{type="syscalls"}' 4
	scrape | grep '^snitch_syscalls_total' | sort > "$BATS_TEST_TMPDIR/s"
	diff - "$BATS_TEST_TMPDIR/s" <<-'EOF'
	snitch_syscalls_total{exe="/bin/a",container_name="web",syscall="connect"} 7
	snitch_syscalls_total{exe="/bin/a",container_name="web",syscall="execve"} 1
	snitch_syscalls_total{exe="/bin/a",container_name="web",syscall="mount"} 0
	snitch_syscalls_total{exe="/bin/b",container_name="",syscall="cl\"oé"} 5
	snitch_syscalls_total{exe="/bin/b",container_name="",syscall="setuid"} 2
	EOF
}

@test "names a stranger chose are escaped and cut; promtool accepts the scrape" {
	need_cmd curl promtool
	metrics_start --labels 'exe name remote_subnet proto'
	long=$(printf 'x%.0s' $(seq 300))
	stream_send \
		'{"v":1,"type":"flow","exe_path":"/tmp/a\"b\\c\nd","name":"\udcff\u0000é","raddr":"2001:db8:aa:bb::1","proto":"udp","send_bytes":1,"recv_bytes":0,"send_calls":1,"recv_calls":0}' \
		"{\"v\":1,\"type\":\"flow\",\"exe_path\":\"/$long\",\"name\":\"} 1\\n# x\",\"raddr\":\"not an address\",\"proto\":\"tcp\",\"send_bytes\":2,\"recv_bytes\":0}"
	wait_value 'snitch_records_total{type="flow"}' 2
	scrape > "$BATS_TEST_TMPDIR/s"
	promtool check metrics < "$BATS_TEST_TMPDIR/s"
	grep -qxF 'snitch_network_sent_bytes_total{exe="/tmp/a\"b\\c\nd",name="��é",remote_subnet="2001:db8:aa::/48",proto="udp"} 1' "$BATS_TEST_TMPDIR/s"
	grep -qxF "snitch_network_sent_bytes_total{exe=\"/$(printf 'x%.0s' $(seq 255))...\",name=\"} 1\\n# x\",remote_subnet=\"\",proto=\"tcp\"} 2" "$BATS_TEST_TMPDIR/s"
	grep -qxF 'snitch_network_packets_total{exe="/tmp/a\"b\\c\nd",name="��é",remote_subnet="2001:db8:aa::/48",proto="udp",direction="sent"} 1' "$BATS_TEST_TMPDIR/s"
}

@test "snitch's health: losses, errors and restarts from the records; records per stage from status.json" {
	need_cmd curl
	# where the user nobody, which the exporter becomes, can read it
	sd=$(open_tmpdir)
	cat > "$sd/status.json" <<-'EOF'
	{"v":1,"type":"status","ts_ns":1,"pid":9,"stages":[{"name":"snitch-trace","pid":10,"alive":true,"starts":1,"records":1200,"records_per_s":40,"queued_bytes":0},{"name":"snitch-hash","pid":0,"alive":false,"starts":3,"records":77,"records_per_s":0,"queued_bytes":512}],"lost":{}}
	EOF
	metrics_start --labels exe
	kill -TERM "$STREAM_PID"; wait "$STREAM_PID" || true
	stream_start "$METRICS" --listen 127.0.0.1:0 --status-file "$sd/status.json"
	for i in $(seq 100); do
		# (the file may not be there yet: the stage opens it as it starts)
		MPORT=$(sed -n 's/.*serving \/metrics on port \([0-9]*\).*/\1/p' "$STREAM_ERR" 2>/dev/null || true)
		[ -n "$MPORT" ] && break
		sleep 0.1
	done
	stream_send 'not a record' \
		'{"v":1,"type":"lost","stage":"snitch-trace","reason":"ringbuf_full_flow","count":12,"total":12}' \
		'{"v":1,"type":"lost","stage":"snitch-trace","reason":"ringbuf_full_flow","count":3,"total":15}' \
		'{"v":1,"type":"error","stage":"snitch","code":"stage_died","process":"snitch-hash","message":"m"}' \
		'{"v":1,"type":"error","stage":"snitch","code":"stage_died","process":"snitch-hash","message":"m"}' \
		'{"v":1,"type":"stats","stage":"snitch-resolve","ts_ns":1,"interval_s":60,"records":40,"processes_unknown":2}' \
		'{"v":1,"type":"stats","stage":"snitch-trace","ts_ns":1,"interval_s":60,"queue_bytes":900,"queue_peak_bytes":5000,"queue_size":268435456,"queue_full":4}' \
		'{"v":1,"type":"stats","stage":"snitch-trace","ts_ns":2,"interval_s":60,"queue_bytes":100,"queue_peak_bytes":700,"queue_size":268435456,"queue_full":3,"ringbuf_bytes":0,"ringbuf_peak_bytes":8680,"ringbuf_size":1048576,"flow_table_entries":31,"flow_table_max_entries":16384}' \
		'{"v":1,"type":"stats","stage":"snitch-remote","ts_ns":3,"interval_s":60,"rows":1200,"spool_bytes":52000,"spool_peak_bytes":90000}'
	wait_value 'snitch_records_total{type="stats"}' 4
	scrape > "$BATS_TEST_TMPDIR/s"
	promtool check metrics < "$BATS_TEST_TMPDIR/s"
	for l in 'snitch_lost_records_total{stage="snitch-trace",reason="ringbuf_full_flow"} 15' \
		'snitch_errors_total{stage="snitch",code="stage_died"} 2' \
		'snitch_errors_total{stage="snitch-metrics",code="malformed_input"} 1' \
		'snitch_stage_restarts_total{stage="snitch-hash"} 2' \
		'snitch_stage_stats_total{stage="snitch-resolve",counter="records"} 40' \
		'snitch_stage_stats_total{stage="snitch-resolve",counter="processes_unknown"} 2' \
		'snitch_stage_stats_total{stage="snitch-trace",counter="queue_full"} 7' \
		'snitch_stage_stats_level{stage="snitch-trace",level="queue_bytes"} 100' \
		'snitch_stage_stats_level{stage="snitch-trace",level="queue_peak_bytes"} 700' \
		'snitch_stage_stats_level{stage="snitch-trace",level="queue_size"} 268435456' \
		'snitch_stage_stats_level{stage="snitch-trace",level="ringbuf_peak_bytes"} 8680' \
		'snitch_stage_stats_level{stage="snitch-trace",level="ringbuf_size"} 1048576' \
		'snitch_stage_stats_level{stage="snitch-trace",level="flow_table_entries"} 31' \
		'snitch_stage_stats_level{stage="snitch-trace",level="flow_table_max_entries"} 16384' \
		'snitch_stage_stats_level{stage="snitch-remote",level="spool_bytes"} 52000' \
		'snitch_stage_stats_level{stage="snitch-remote",level="spool_peak_bytes"} 90000' \
		'snitch_stage_stats_total{stage="snitch-remote",counter="rows"} 1200' \
		'snitch_stage_up{stage="snitch-trace"} 1' 'snitch_stage_up{stage="snitch-hash"} 0' \
		'snitch_stage_records_total{stage="snitch-trace"} 1200' \
		'snitch_stage_records_per_second{stage="snitch-trace"} 40' \
		'snitch_stage_queued_bytes{stage="snitch-hash"} 512'; do
		grep -qxF "$l" "$BATS_TEST_TMPDIR/s" || { echo "missing: $l"; false; }
	done
	# levels are not summed as counts
	[ "$(grep -c 'snitch_stage_stats_total{stage="snitch-trace"' "$BATS_TEST_TMPDIR/s")" -eq 1 ]
	grep -q '^snitch_metrics_scrape_duration_seconds [0-9.]*$' "$BATS_TEST_TMPDIR/s"
	grep -q '^process_resident_memory_bytes [1-9][0-9]*$' "$BATS_TEST_TMPDIR/s"
	rm -rf "$sd"
}

@test "a slow scraper does not hold up the records" {
	need_cmd curl
	metrics_start --labels 'remote_subnet' --tee
	awk 'BEGIN { for (i = 0; i < 5000; i++)
		printf "{\"v\":1,\"type\":\"flow\",\"raddr\":\"10.%d.%d.7\",\"send_bytes\":1,\"recv_bytes\":0}\n", int(i / 256), i % 256 }' >&"$STREAM_FD"
	wait_value 'snitch_records_total{type="flow"}' 5000
	# one asks for /metrics and never reads; one never ends its request
	exec {never_reads}<>"/dev/tcp/127.0.0.1/$MPORT" {half_asks}<>"/dev/tcp/127.0.0.1/$MPORT"
	printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' >&"$never_reads"
	printf 'GET /metrics HTTP/1.1\r\nHo' >&"$half_asks"
	sleep 0.5
	stream_send "$(flow_rec /bin/after 192.0.2.1 tcp 1 0)"
	for i in $(seq 20); do
		grep -q '/bin/after' "$STREAM_OUT" && break
		sleep 0.1
	done
	grep -q '/bin/after' "$STREAM_OUT"
	# and other scrapers are answered meanwhile
	wait_value 'snitch_records_total{type="flow"}' 5001
	exec {never_reads}>&- {half_asks}>&-
}

# promql_rules FILE: the expressions on stdin as recording rules in FILE,
# Grafana's variables given values.
promql_rules() {
	jq -R -s 'split("\n") | map(select(length > 0)) | to_entries
		| map({record: "snitch:check_\(.key)", expr: (.value | gsub("\\$__rate_interval"; "5m") | gsub("\\$instance"; ".*"))})
		| {groups: [{name: "check", rules: .}]}' > "$1"
}

@test "every PromQL query of deploy/grafana/snitch.json and docs/fleet.md parses (promtool check rules)" {
	need_cmd promtool jq
	dash=$SNITCH_TOP/deploy/grafana/snitch.json
	jq -r '[.. | .expr? // empty] | .[]' "$dash" > "$BATS_TEST_TMPDIR/dash.promql"
	n=$(wc -l < "$BATS_TEST_TMPDIR/dash.promql")
	[ "$n" -ge 15 ]
	promql_rules "$BATS_TEST_TMPDIR/dash.yml" < "$BATS_TEST_TMPDIR/dash.promql"
	run promtool check rules "$BATS_TEST_TMPDIR/dash.yml"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"SUCCESS: $n rules found"* ]]
	# the docs' queries: each line of a ```promql block
	awk '/^```promql$/ { on = 1; next } /^```$/ { on = 0 } on && NF' "$SNITCH_TOP/docs/fleet.md" > "$BATS_TEST_TMPDIR/doc.promql"
	n=$(wc -l < "$BATS_TEST_TMPDIR/doc.promql")
	[ "$n" -ge 8 ]
	promql_rules "$BATS_TEST_TMPDIR/doc.yml" < "$BATS_TEST_TMPDIR/doc.promql"
	run promtool check rules "$BATS_TEST_TMPDIR/doc.yml"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"SUCCESS: $n rules found"* ]]
	# and a broken one would not pass
	echo 'sum by (exe (rate(snitch_network_sent_bytes_total[5m]))' | promql_rules "$BATS_TEST_TMPDIR/bad.yml"
	run promtool check rules "$BATS_TEST_TMPDIR/bad.yml"
	[ "$status" -ne 0 ]
}

@test "snitch run with SNITCH_METRICS_LISTEN: snitch-metrics before snitch-notify, the bytes, the stages and a restart" {
	need_bpf
	need_cmd curl
	RUN_D=$(open_tmpdir)
	MPORT=$(free_port)
	export SNITCH_CONF=/dev/null SNITCH_RUN_DIR=$RUN_D/run SNITCH_DB=$RUN_D/lib/snitch.db \
		SNITCH_STATE=$RUN_D/lib/state.json SNITCH_LOG_DIR=$RUN_D/log SNITCH_NO_DESKTOP=1 \
		SNITCH_STOP_TIMEOUT_S=20 SNITCH_METRICS_LISTEN=127.0.0.1:$MPORT SNITCH_METRICS_LABELS=exe
	# with the unit's umask: status.json must still be readable by nobody
	(umask 0027; exec "$SNITCH_BIN/snitch" run > "$RUN_D/run.out" 2> "$RUN_D/run.err" 3>&-) &
	RUN_PID=$!
	for i in $(seq 150); do
		grep -q 'counting TCP' "$RUN_D/run.err" 2>/dev/null && scrape > /dev/null 2>&1 && break
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -q 'snitch-store --tee | snitch-metrics --tee | snitch-notify' "$RUN_D/run.err"
	cp "$GEN" "$RUN_D/gen-run"
	TRAFFICGEN_LINGER_MS=1000 "$RUN_D/gen-run" udp4 > "$RUN_D/report"
	want=$(jq -s 'map(.send_bytes) | add' "$RUN_D/report")
	wait_value "snitch_network_sent_bytes_total{exe=\"$RUN_D/gen-run\"}" "$want"
	# the stages, from the supervisor's status.json, which the exporter reads as nobody
	[ "$(stat -c %a "$SNITCH_RUN_DIR/status.json")" = 644 ]
	wait_value 'snitch_stage_up{stage="snitch-metrics"}' 1
	[ "$(value 'snitch_stage_up{stage="snitch-hash"}')" = 1 ]
	# a stage killed: the supervisor's record says it, and it is counted
	kill -KILL "$(jq '.stages[] | select(.name == "snitch-hash") | .pid' "$SNITCH_RUN_DIR/status.json")"
	wait_value 'snitch_stage_restarts_total{stage="snitch-hash"}' 1
	wait_value 'snitch_stage_up{stage="snitch-hash"}' 1
}
