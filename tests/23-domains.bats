#!/usr/bin/env bats
# Domains that do not depend on seeing DNS: the name a TCP client asked
# for, read from the first bytes it sent (TLS SNI, HTTP Host) by
# snitch-resolve, with domain_source saying where each domain came from.
# Real clients (curl, openssl s_client) against real local servers
# (openssl s_server, python3 -m http.server) on free loopback ports.

load helper

free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind((__import__("sys").argv[1], 0)); print(s.getsockname()[1])' "${1:-127.0.0.1}"
}

setup() {
	need_bpf
	d=$BATS_TEST_TMPDIR
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj /CN=test -keyout "$d/key.pem" -out "$d/cert.pem" -days 1 2> /dev/null
}

teardown() {
	stop_started ${server:-}
}

# tls_server ADDR PORT [ip netns exec NS]: openssl s_server answering with
# a page, in the background; its pid in $server.
tls_server() {
	local addr=$1 port=$2 i
	shift 2
	"$@" openssl s_server -accept "$addr:$port" -cert "$d/cert.pem" -key "$d/key.pem" \
		-www -quiet > "$d/server.out" 2>&1 3>&- &
	server=$!
	for i in $(seq 1 50); do
		"$@" /usr/bin/python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' \
			"$addr" "$port" 2> /dev/null && return 0
		sleep 0.1
	done
	echo "openssl s_server did not start" >&2
	cat "$d/server.out" >&2
	return 1
}

# The records of a client process (pid in $d/NAME.pid) to port P, as an array.
flows_of() {
	jq -c -s --argjson pid "$(cat "$d/$1.pid")" --argjson p "$2" \
		'map(select(.type == "flow" and .pid == $pid and .rport == $p))' "$d/out"
}

@test "curl to an IP address with an SNI no DNS lookup produced: the flow's domain is the SNI" {
	port=$(free_port)
	tls_server 127.0.0.1 "$port"
	pipeline_start "$d/out"
	cp /usr/bin/curl "$d/curl-sni"
	"$d/curl-sni" -sk -o /dev/null --resolve "Secret.Example:$port:127.0.0.1" "https://Secret.Example:$port/" 3>&- &
	echo $! > "$d/curl-sni.pid"
	wait $! || true
	# openssl s_client, asking for another name
	cp /usr/bin/openssl "$d/openssl-cli"
	echo | "$d/openssl-cli" s_client -connect "127.0.0.1:$port" -servername other.name.test > /dev/null 2>&1 3>&- &
	echo $! > "$d/openssl-cli.pid"
	wait $! || true
	sleep 0.5
	pipeline_stop
	recs=$(flows_of curl-sni "$port")
	echo "$recs" | jq -c '.[] | {phase, domain, domain_source, outcome}'
	# the first record is written before any byte is sent; every later one
	# names what the client asked for
	jq -e 'length >= 2 and .[0].phase == "new" and .[-1].phase == "end"
		and all(.[1:][]; .domain == "secret.example" and .domain_source == "sni")' <<< "$recs"
	recs=$(flows_of openssl-cli "$port")
	jq -e 'length >= 2 and all(.[1:][]; .domain == "other.name.test" and .domain_source == "sni")' <<< "$recs"
	# the hello records: one per client connection, parsed, the same socket
	jq -e -s --argjson pid "$(cat "$d/curl-sni.pid")" --argjson p "$port" '
		map(select(.type == "hello" and .pid == $pid and .rport == $p))
		| length == 1 and .[0].hello_status == "found" and .[0].domain == "secret.example"
		  and .[0].payload_bytes > 100 and .[0].raddr == "127.0.0.1"' "$d/out"
	# and no DNS record named it
	run jq -s 'map(select(.type == "dns" and .qname == "secret.example")) | length' "$d/out"
	[ "$output" -eq 0 ]
	# the server's accepted sockets send first data too: never copied
	jq -e -s --argjson s "$server" 'all(.[]; .type != "hello" or .pid != $s)' "$d/out"
}

@test "plain HTTP: the domain is the Host header of the first request" {
	port=$(free_port)
	(cd "$d" && exec /usr/bin/python3 -m http.server -b 127.0.0.1 "$port" > /dev/null 2>&1 3>&-) &
	server=$!
	for _ in $(seq 1 50); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.1
	done
	pipeline_start "$d/out"
	cp /usr/bin/curl "$d/curl-http"
	"$d/curl-http" -s -o /dev/null --resolve "web.test:$port:127.0.0.1" "http://web.test:$port/" 3>&- &
	echo $! > "$d/curl-http.pid"
	wait $! || true
	sleep 0.5
	pipeline_stop
	recs=$(flows_of curl-http "$port")
	echo "$recs" | jq -c '.[] | {phase, domain, domain_source}'
	jq -e 'length >= 2 and all(.[1:][]; .domain == "web.test" and .domain_source == "http_host")' <<< "$recs"
	# the server's side answers; it asked for nothing
	jq -e -s --argjson p "$port" 'map(select(.type == "flow" and .lport == $p and .phase == "end")) | length >= 1 and all(.[]; .domain_source != "http_host")' "$d/out"
}

@test "SNI and DNS disagree: domain is the SNI, dns_domain what DNS said, both kept" {
	need_cmd ip
	dns_ns_start dns.name.test=127.0.0.5
	port=$(free_port)
	tls_server 127.0.0.5 "$port" ip netns exec "$DNS_NS"
	pipeline_start "$d/out"
	cp /usr/bin/curl "$d/curl-mismatch"
	# curl looks up dns.name.test, connects there, and asks for asked.test
	ip netns exec "$DNS_NS" "$d/curl-mismatch" -sk -o /dev/null \
		--connect-to "asked.test:443:dns.name.test:$port" "https://asked.test/" 3>&- &
	echo $! > "$d/curl-mismatch.pid"
	wait $! || true
	sleep 0.5
	pipeline_stop
	recs=$(flows_of curl-mismatch "$port")
	echo "$recs" | jq -c '.[] | {phase, domain, domain_source, dns_domain}'
	jq -e 'length >= 2 and .[0].domain == "dns.name.test" and .[0].domain_source == "dns_process"
		and all(.[1:][]; .domain == "asked.test" and .domain_source == "sni" and .dns_domain == "dns.name.test")' <<< "$recs"
}

@test "QUIC: the server name in a client's first Initial packet names its UDP flow, over IPv4 and IPv6, its ClientHello whole or in two frames" {
	need_cmd jq
	pipeline_start "$d/out"
	cp "$SNITCH_TEST_BIN/quicinit" "$d/quic-client"
	# a client's first Initial, sealed as RFC 9001 says, as any client sends
	# it (no server: what matters is what left the socket)
	"$d/quic-client" Video.Example.COM 127.0.0.1 443 > "$d/c4" 3>&-
	SPLIT=1 "$d/quic-client" h3.example.net ::1 8443 > "$d/c6" 3>&-
	# a DNS-sized datagram and a short one to 443: no hello
	/usr/bin/python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"\xc3\x00\x00\x00\x01" + b"\x00" * 100, ("127.0.0.1", 443))' 3>&-
	sleep 0.5
	pipeline_stop
	for c in c4:443:video.example.com c6:8443:h3.example.net; do
		IFS=: read -r f port name <<< "$c"
		read -r pid lport < "$d/$f"
		recs=$(jq -c -s --argjson pid "$pid" --argjson p "$port" \
			'map(select(.type == "flow" and .pid == $pid and .rport == $p))' "$d/out")
		echo "$recs" | jq -c '.[] | {phase, proto, domain, domain_source}'
		jq -e --arg n "$name" --argjson lp "$lport" 'length >= 2 and .[0].phase == "new" and
			all(.[]; .proto == "udp" and .lport == $lp) and
			all(.[1:][]; .domain == $n and .domain_source == "sni")' <<< "$recs"
		jq -e -s --argjson pid "$pid" --arg n "$name" '
			map(select(.type == "hello" and .pid == $pid)) | length == 1 and
			.[0].proto == "udp" and .[0].hello_status == "found" and .[0].domain == $n and
			.[0].payload_bytes == 1200 and .[0].payload_truncated == false' "$d/out"
	done
	# one hello per socket, and none for what is not an Initial of 1200 bytes
	[ "$(jq -s 'map(select(.type == "hello" and .proto == "udp")) | length' "$d/out")" -eq 2 ]
}

@test "snitch-resolve: a QUIC hello whose packet was changed or is not an Initial names nothing" {
	pkt=$("$SNITCH_TEST_BIN/quicinit" changed.example | base64 -w0)
	bad=$("$SNITCH_TEST_BIN/quicinit" changed.example | /usr/bin/python3 -c 'import sys
b = bytearray(sys.stdin.buffer.read()); b[300] ^= 1; sys.stdout.buffer.write(b)' | base64 -w0)
	in=$(for p in "$pkt" "$bad" "$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | base64 -w0)"; do
		jq -cn --arg p "$p" '{v:1, type:"hello", sock_cookie:9, pid:1, netns:1, proto:"udp",
			raddr:"192.0.2.1", rport:443, payload_b64:$p, payload_bytes:1200, payload_truncated:false}'
	done)
	run --separate-stderr "$RESOLVE" <<< "$in"
	[ "$status" -eq 0 ]
	jq -e -s '.[0].hello_status == "found" and .[0].domain == "changed.example" and .[0].domain_source == "sni"
		and .[1].hello_status == "malformed" and .[1].domain == null
		and .[2].hello_status == "absent" and .[2].domain == null' <<< "$output"
}

@test "--no-hello: no hello records, and domains from DNS only" {
	port=$(free_port)
	tls_server 127.0.0.1 "$port"
	mkfifo "$d/out2.fifo"
	"$RESOLVE" < "$d/out2.fifo" > "$d/out2" 2> "$d/out2.err" 3>&- &
	RESOLVE_PID=$!
	trace_start "$d/out2.fifo" --no-hello
	curl -sk -o /dev/null --resolve "nohello.test:$port:127.0.0.1" "https://nohello.test:$port/" 3>&- || true
	sleep 0.5
	pipeline_stop
	run jq -s 'map(select(.type == "hello")) | length' "$d/out2"
	[ "$output" -eq 0 ]
	run jq -s 'map(select(.domain == "nohello.test")) | length' "$d/out2"
	[ "$output" -eq 0 ]
	# the connection itself was seen
	jq -e -s --argjson p "$port" 'any(.[]; .type == "flow" and .rport == $p)' "$d/out2"
}

@test "the hello example in docs/records.md is what snitch-resolve reads from its payload" {
	ex=$(awk '/^```json$/ { on = 1; next } /^```$/ { on = 0 } on' "$SNITCH_TOP/docs/records.md" | grep '"type":"hello"')
	run --separate-stderr "$RESOLVE" <<< "$(jq -c 'del(.domain, .domain_source, .hello_status)' <<< "$ex")"
	[ "$status" -eq 0 ]
	got=$(head -1 <<< "$output")
	[ "$(jq -S . <<< "$got")" = "$(jq -S . <<< "$ex")" ]
}

@test "snitch-resolve: a hello it cannot read is passed on, marked, and names nothing" {
	in='{"v":1,"type":"hello","sock_cookie":7,"pid":1,"netns":1,"proto":"tcp","raddr":"192.0.2.1","rport":443,"payload_b64":"FgMBAAUBAAA=","payload_bytes":8,"payload_truncated":false}
{"v":1,"type":"hello","sock_cookie":8,"pid":1,"netns":1,"proto":"tcp","raddr":"192.0.2.1","rport":443,"payload_b64":"not base64!","payload_bytes":8,"payload_truncated":false}
{"v":1,"type":"flow","phase":"end","sock_cookie":7,"pid":1,"netns":1,"raddr":"192.0.2.1","rport":443}'
	run --separate-stderr "$RESOLVE" <<< "$in"
	[ "$status" -eq 0 ]
	jq -e -s '.[0].hello_status == "cut" and .[0].domain == null
		and .[1].hello_status == "malformed" and .[1].domain == null
		and .[2].domain == null and .[2].domain_source == null and .[2].dns_domain == null' <<< "$output"
}

@test "an IPv6 socket to a v4-mapped address sends IPv4: its first bytes are read too" {
	port=$(free_port)
	pipeline_start "$d/out"
	timeout 10 /usr/bin/python3 -c '
import socket, sys
port = int(sys.argv[1])
srv = socket.socket(socket.AF_INET6)
srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
srv.bind(("::", port)); srv.listen(1)
c = socket.socket(socket.AF_INET6); c.connect(("::ffff:127.0.0.1", port))
c.sendall(b"GET / HTTP/1.1\r\nHost: mapped.test\r\n\r\n")
a, _ = srv.accept(); a.recv(100); a.close(); c.close()' "$port" 3>&-
	sleep 0.5
	pipeline_stop
	cookie=$(jq -s --argjson p "$port" 'map(select(.type == "hello" and .rport == $p and .raddr == "::ffff:127.0.0.1" and .domain == "mapped.test")) | .[0].sock_cookie' "$d/out")
	[ "$cookie" != null ]
	jq -e -s --argjson c "$cookie" 'map(select(.type == "flow" and .sock_cookie == $c and .phase == "end")) | length == 1 and .[0].domain == "mapped.test" and .[0].domain_source == "http_host"' "$d/out"
}
