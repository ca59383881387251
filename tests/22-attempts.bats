#!/usr/bin/env bats
# Connection attempts that never carried a byte are flows too: refused,
# timed out, unreachable, reset, and a UDP send that got an ICMP error
# back. One tracer watches every scenario (setup_file); each runs from its
# own copy of a real client (curl, socat), so its identity is exact.
#
# Network: a client namespace (10.200.0.1, SYN retries 1) routed through a
# router namespace (10.200.0.2, forwarding on) where 10.201.0.1 is a
# blackhole (silence: a timeout); 10.201.0.2 is on the client's link, where
# nobody answers ARP (ICMP host unreachable from the client's own kernel).

load helper

CLI_ADDR=10.200.0.1
RTR_ADDR=10.200.0.2
BLACKHOLE=10.201.0.1
UNREACH=10.201.0.2

# A free TCP or UDP port on loopback: bound, then closed, so nobody listens.
free_port() {
	/usr/bin/python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET,
                  socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM)
s.bind((sys.argv[2], 0)); print(s.getsockname()[1])' "$1" "$2"
}

# ns_up: the two namespaces and the routes above.
ns_up() {
	local id=$$-$RANDOM
	CLI_NS=snitch-att-c-$id RTR_NS=snitch-att-r-$id
	ip netns add "$CLI_NS"
	ip netns add "$RTR_NS"
	ip -n "$CLI_NS" link add veth0 type veth peer name veth1 netns "$RTR_NS"
	ip -n "$CLI_NS" link set lo up
	ip -n "$RTR_NS" link set lo up
	ip -n "$CLI_NS" addr add "$CLI_ADDR/24" dev veth0
	ip -n "$RTR_NS" addr add "$RTR_ADDR/24" dev veth1
	ip -n "$CLI_NS" link set veth0 up
	ip -n "$RTR_NS" link set veth1 up
	ip -n "$CLI_NS" route add default via "$RTR_ADDR"
	ip netns exec "$RTR_NS" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$RTR_NS" route add blackhole "$BLACKHOLE/32"
	# nobody answers ARP for it on the link: after one ARP request the
	# neighbour entry fails and the client's own kernel sends ICMP host
	# unreachable to the socket, in timer context, as on a LAN
	ip -n "$CLI_NS" route add "$UNREACH/32" dev veth0
	ip netns exec "$CLI_NS" sysctl -qw net.ipv4.neigh.veth0.mcast_solicit=1 \
		net.ipv4.neigh.veth0.ucast_solicit=0 net.ipv4.neigh.veth0.app_solicit=0 \
		net.ipv4.neigh.veth0.retrans_time_ms=200
	# the kernel gives up after one retransmitted SYN: about 3 s
	ip netns exec "$CLI_NS" sysctl -qw net.ipv4.tcp_syn_retries=1
	echo "$CLI_NS $RTR_NS" > "$BATS_FILE_TMPDIR/netns"
}

ns_down() {
	local ns
	[ -f "$BATS_FILE_TMPDIR/netns" ] || return 0
	for ns in $(cat "$BATS_FILE_TMPDIR/netns"); do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -f "$BATS_FILE_TMPDIR/netns"
}

# run_client NAME PROGRAM ARGS...: a copy of PROGRAM named NAME, run in the
# background and waited for; its pid in $d/NAME.pid.
run_client() {
	local name=$1 prog=$2 pid
	shift 2
	cp "$prog" "$d/$name"
	"$d/$name" "$@" > "$d/$name.out" 2> "$d/$name.err" 3>&- &
	pid=$!
	echo "$pid" > "$d/$name.pid"
	local rc=0
	wait "$pid" || rc=$?
	echo "$rc" > "$d/$name.status"
}

# The milliseconds from the moment a client exited until a line matching
# the grep pattern P shows up in the tracer's output (at most 5 s),
# written to $d/NAME.latency_ms. grep, not jq: the poll itself must cost
# little next to 100 ms on a loaded machine.
latency() {
	local name=$1 pattern=$2 t0 i
	t0=$(date +%s%N)
	for i in $(seq 1 1000); do
		grep -q -- "$pattern" "$d/trace.out" && break
		sleep 0.005
	done
	echo $(( ($(date +%s%N) - t0) / 1000000 )) > "$d/$name.latency_ms"
}

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0	# the tests say why they cannot run
	local d=$BATS_FILE_TMPDIR port
	ns_up
	# a server that accepts one connection and resets it (SO_LINGER 0)
	/usr/bin/python3 -c 'import socket, struct, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
s.settimeout(20)
c, _ = s.accept()
time.sleep(0.2)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()' > "$d/rst.port" 2> "$d/rst.err" 3>&- &
	echo $! > "$d/rst.server.pid"
	for _ in $(seq 1 100); do [ -s "$d/rst.port" ] && break; sleep 0.05; done

	trace_start "$d/trace.out"
	echo "$TRACE_PID" > "$d/trace.pid"

	port=$(free_port tcp 127.0.0.1)
	echo "$port" > "$d/refused.port"
	run_client curl-refused /usr/bin/curl -s --max-time 5 "http://127.0.0.1:$port/"
	latency refused "\"pid\":$(cat "$d/curl-refused.pid"),.*\"outcome\":\"refused\""

	port=$(free_port tcp ::1)
	echo "$port" > "$d/refused6.port"
	run_client curl-refused6 /usr/bin/curl -s --max-time 5 "http://[::1]:$port/"

	# the kernel's own timeout (SYN retries), and the application's
	cp /usr/bin/curl "$d/curl-timeout"
	cp /usr/bin/curl "$d/curl-gaveup"
	cp /usr/bin/curl "$d/curl-unreach"
	ip netns exec "$CLI_NS" sh -c '
		"$1/curl-timeout" -s --connect-timeout 10 "http://$2:80/" & echo $! > "$1/curl-timeout.pid"
		"$1/curl-gaveup" -s --connect-timeout 1 "http://$2:81/" & echo $! > "$1/curl-gaveup.pid"
		"$1/curl-unreach" -s --connect-timeout 5 "http://$3:80/" & echo $! > "$1/curl-unreach.pid"
		for c in timeout gaveup unreach; do
			rc=0; wait "$(cat "$1/curl-$c.pid")" || rc=$?; echo "$rc" > "$1/curl-$c.status"
		done' sh "$d" "$BLACKHOLE" "$UNREACH" 3>&- || true

	# connected, then reset by the server before a byte went either way
	run_client socat-reset /usr/bin/socat -u "TCP:127.0.0.1:$(cat "$d/rst.port")" STDOUT

	# a connected UDP socket sends 3 bytes to a closed port: ICMP port
	# unreachable comes back
	port=$(free_port udp 127.0.0.1)
	echo "$port" > "$d/udp.port"
	printf 'hi\n' > "$d/udp.in"
	cp /usr/bin/socat "$d/socat-udp"
	"$d/socat-udp" -u "OPEN:$d/udp.in" "UDP:127.0.0.1:$port" 2> "$d/socat-udp.err" 3>&- &
	echo $! > "$d/socat-udp.pid"
	wait $! || true

	sleep 0.3
	trace_stop
	echo "$TRACE_STATUS" > "$d/trace.status"
	wait "$(cat "$d/rst.server.pid")" 2>/dev/null || true
	ns_down
}

teardown_file() {
	stop_started
	ns_down
	true
}

# The records of the process whose pid is in $d/NAME.pid, as a JSON array.
records_of() {
	local d=$BATS_FILE_TMPDIR
	jq -c -s --argjson pid "$(cat "$d/$1.pid")" 'map(select(.type == "flow" and .pid == $pid))' "$d/trace.out"
}

# check_attempt NAME OUTCOME RADDR RPORT: NAME's one TCP attempt is a "new"
# and an "end" record with OUTCOME, no byte, the address it tried, and
# the copy's exact identity.
check_attempt() {
	local name=$1 outcome=$2 raddr=$3 rport=$4 d=$BATS_FILE_TMPDIR recs
	need_bpf
	[ "$(cat "$d/trace.status")" -eq 0 ]
	recs=$(records_of "$name")
	echo "$name: $recs"
	jq -e --arg o "$outcome" --arg a "$raddr" --argjson p "$rport" \
		--argjson ino "$(stat -c %i "$d/$name")" --argjson dev "$(stat -c %d "$d/$name")" \
		--arg comm "$name" --argjson uid "$(id -u)" '
		length == 2 and .[0].phase == "new" and .[1].phase == "end"
		and all(.[]; .outcome == $o and .proto == "tcp" and .raddr == $a and .rport == $p
			and .send_bytes == 0 and .recv_bytes == 0
			and .exe_ino == $ino and .exe_dev == $dev and .comm == $comm
			and .uid == $uid and (.parent_pid | type) == "number"
			and (.start_ns | type) == "number")
		and .[0].sock_cookie == .[1].sock_cookie' <<< "$recs"
}

@test "a refused TCP connect (closed port on 127.0.0.1) is a flow with outcome refused and the exact identity" {
	check_attempt curl-refused refused 127.0.0.1 "$(cat "$BATS_FILE_TMPDIR/refused.port")"
	[ "$(cat "$BATS_FILE_TMPDIR/curl-refused.status")" -eq 7 ]
}

@test "a refused TCP connect over IPv6 (::1)" {
	check_attempt curl-refused6 refused ::1 "$(cat "$BATS_FILE_TMPDIR/refused6.port")"
}

@test "a refused connect is on the tracer's output within 100 ms" {
	need_bpf
	ms=$(cat "$BATS_FILE_TMPDIR/refused.latency_ms")
	echo "seen ${ms} ms after curl exited"
	[ "$ms" -lt 100 ]
}

@test "a connect to a blackhole address: the kernel's SYN retries run out, outcome timeout" {
	check_attempt curl-timeout timeout "$BLACKHOLE" 80
}

@test "a connect the application gives up (curl --connect-timeout 1) is outcome timeout" {
	check_attempt curl-gaveup timeout "$BLACKHOLE" 81
	# curl's own timeout (28): the kernel had not given up yet
	[ "$(cat "$BATS_FILE_TMPDIR/curl-gaveup.status")" -eq 28 ]
}

@test "a connect answered by ICMP host unreachable is outcome unreachable" {
	check_attempt curl-unreach unreachable "$UNREACH" 80
	# curl: "could not connect" (7), not its own timeout (28)
	[ "$(cat "$BATS_FILE_TMPDIR/curl-unreach.status")" -eq 7 ]
}

@test "the parent of an attempt in a network namespace is the shell that ran it, in that namespace" {
	need_bpf
	d=$BATS_FILE_TMPDIR
	recs=$(records_of curl-unreach)
	jq -e --argjson sh "$(stat -L -c %i /bin/sh)" 'all(.[]; .parent_exe_ino == $sh and .parent_comm == "sh")' <<< "$recs"
	# its netns is not ours
	jq -e --argjson n "$(stat -L -c %i /proc/self/ns/net)" 'all(.[]; .netns != $n)' <<< "$recs"
}

@test "a connection reset by the server before any byte: new connected, end reset, 0 bytes" {
	need_bpf
	d=$BATS_FILE_TMPDIR
	recs=$(records_of socat-reset)
	echo "$recs"
	jq -e --argjson ino "$(stat -c %i "$d/socat-reset")" --argjson p "$(cat "$d/rst.port")" '
		(map(select(.phase == "new")) | length == 1 and .[0].outcome == "connected")
		and last.phase == "end" and last.outcome == "reset"
		and all(.[]; .send_bytes == 0 and .recv_bytes == 0 and .exe_ino == $ino and .rport == $p)' <<< "$recs"
	# the server's side was accepted
	jq -e -s --argjson p "$(cat "$d/rst.port")" \
		'any(.[]; .type == "flow" and .lport == $p and .phase == "new" and .outcome == "accepted")' "$d/trace.out"
}

@test "a connected UDP send that got ICMP port unreachable back is outcome refused, its bytes counted" {
	need_bpf
	d=$BATS_FILE_TMPDIR
	recs=$(records_of socat-udp)
	echo "$recs"
	jq -e --argjson ino "$(stat -c %i "$d/socat-udp")" --argjson p "$(cat "$d/udp.port")" '
		any(.[]; .outcome == "refused") and (map(.send_bytes) | add) == 3
		and all(.[]; .proto == "udp" and .rport == $p and .exe_ino == $ino)' <<< "$recs"
}

@test "an ordinary connection is outcome connected, datagram flows without an error have null" {
	need_bpf
	d=$BATS_FILE_TMPDIR
	# the reset server's python was accepted; a TCP connect that worked
	jq -e -s 'any(.[]; .type == "flow" and .proto == "tcp" and .outcome == "connected")' "$d/trace.out"
	jq -e -s 'all(.[]; .type != "flow" or has("outcome"))' "$d/trace.out"
}

@test "snitch-store logs an attempt: a connections row with its outcome and 0 bytes" {
	need_bpf
	d=$BATS_FILE_TMPDIR
	"$RESOLVE" < "$d/trace.out" 2> /dev/null | "$STORE" --db "$BATS_TEST_TMPDIR/log.db" 2> "$BATS_TEST_TMPDIR/store.err"
	run sqlite3 "$BATS_TEST_TMPDIR/log.db" "SELECT c.outcome, c.send_bytes, c.recv_bytes, c.proto, e.path FROM connections c JOIN executables e ON e.id = c.exe_id WHERE c.rport = $(cat "$d/refused.port") AND c.outcome IS NOT NULL"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "refused|0|0|tcp|$d/curl-refused" ]
	run sqlite3 "$BATS_TEST_TMPDIR/log.db" "SELECT DISTINCT outcome FROM connections WHERE outcome IN ('timeout', 'unreachable', 'reset') ORDER BY 1"
	[ "$output" = "$(printf 'reset\ntimeout\nunreachable')" ]
	run sqlite3 "$BATS_TEST_TMPDIR/log.db" "PRAGMA user_version"
	[ "$output" -ge 6 ]
}

@test "snitch-store adds the outcome column to an older log, whose rows keep NULL" {
	db=$BATS_TEST_TMPDIR/old.db
	sqlite3 "$db" "PRAGMA user_version = 2; CREATE TABLE connections (window_start_ns INTEGER NOT NULL, window_end_ns INTEGER NOT NULL, first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, send_bytes INTEGER NOT NULL, recv_bytes INTEGER NOT NULL, events INTEGER NOT NULL, exe_id INTEGER, parent_exe_id INTEGER, gparent_exe_id INTEGER, uid INTEGER, family TEXT, proto TEXT, lport INTEGER, rport INTEGER, laddr_id INTEGER, raddr_id INTEGER, domain_id INTEGER, netns INTEGER, container_id INTEGER); INSERT INTO connections (window_start_ns, window_end_ns, first_ns, last_ns, send_bytes, recv_bytes, events) VALUES ($((NOW - 10000000000)), $((NOW - 1)), $((NOW - 10000000000)), $((NOW - 1)), 5, 6, 1); CREATE TABLE executables (id INTEGER PRIMARY KEY, path TEXT, name TEXT, cmdline TEXT, sha256 TEXT); CREATE TABLE domains (id INTEGER PRIMARY KEY, name TEXT NOT NULL); CREATE TABLE addresses (id INTEGER PRIMARY KEY, addr TEXT NOT NULL); CREATE TABLE containers (id INTEGER PRIMARY KEY, name TEXT NOT NULL); CREATE TABLE events (ts_ns INTEGER NOT NULL, type TEXT NOT NULL, stage TEXT, code TEXT, count INTEGER, message TEXT, record TEXT NOT NULL);"
	store_flow "$NOW" 0 0 '. + {outcome: "refused"}' | "$STORE" --db "$db"
	run sqlite3 "$db" "SELECT send_bytes, quote(outcome) FROM connections ORDER BY window_start_ns"
	[ "$output" = "$(printf "5|NULL\n0|'refused'")" ]
}

@test "snitch-notify: a first attempt by a new executable is news, worded as an attempt" {
	need_bpf
	d=$BATS_FILE_TMPDIR
	logs=$BATS_TEST_TMPDIR/logs
	mkdir -p "$logs"
	"$RESOLVE" < "$d/trace.out" 2> /dev/null |
		"$NOTIFY" --no-desktop --state "$BATS_TEST_TMPDIR/state.json" --log-dir "$logs" 2> "$BATS_TEST_TMPDIR/notify.err"
	cat "$logs/exe.log"
	grep -q "new_executable $d/curl-refused name=curl-refused .* outcome=refused" "$logs/exe.log"
	grep -q "new_executable $d/curl-refused6 name=curl-refused6 .* outcome=refused" "$logs/exe.log"
	# (the clients run by `ip netns exec` are in another mount namespace:
	# snitch-resolve cannot name their file once they are gone, and
	# snitch-notify knows executables by path)
	# one that connected says no outcome
	grep "new_executable $d/socat-reset " "$logs/exe.log" | grep -vq outcome=
}
