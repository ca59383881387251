#!/usr/bin/env bats
# docs/records.md is the contract between stages: its examples must be
# valid, survive the record library, and look like what the tools emit.

load helper

# whatever a test started stops, whatever happened
teardown() {
	stop_started
}

setup() {
	DOC=$SNITCH_TOP/docs/records.md
	EXAMPLES=$BATS_TEST_TMPDIR/examples.jsonl
	awk '/^```json$/ { on = 1; next } /^```$/ { on = 0 } on' "$DOC" > "$EXAMPLES"
}

# field names and JSON types of one record, sorted
shape() {
	jq -c 'to_entries | map("\(.key):\(.value | type)") | sort'
}

example_of() {
	jq -c --arg t "$1" 'select(.type == $t)' "$EXAMPLES"
}

@test "every example line is one valid JSON record with v and type" {
	[ "$(wc -l < "$EXAMPLES")" -ge 7 ]
	run jq -e -s 'all(.[]; .v == 1 and (.type | type) == "string")' "$EXAMPLES"
	[ "$status" -eq 0 ]
}

@test "every example line round-trips through the record library byte for byte" {
	run --separate-stderr "$RECORD_TOOL" roundtrip < "$EXAMPLES"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$EXAMPLES")" ]
}

@test "every record type in the table has exactly one example, and no more" {
	types=$(sed -n '/^| type | written by/,/^$/p' "$DOC" | grep -o '^| `[a-z]*`' | tr -dc 'a-z\n' | sort)
	[ -n "$types" ]
	run jq -r .type "$EXAMPLES"
	[ "$(echo "$output" | sort)" = "$types" ]
}

@test "no field is left marked planned once its stage is built" {
	for t in snitch-trace snitch-resolve snitch-hash; do
		[ -x "$SNITCH_BIN/$t" ] || continue
		! grep -q "$t \*(planned)\*" "$DOC" || false
	done
}

# The same keys, and the same JSON types wherever neither value is null
# (a field documented "or null" may be null in a real record).
same_shape() {
	jq -e -n --argjson a "$1" --argjson b "$2" \
		'($a | keys) == ($b | keys) and
		 all($a | keys[]; . as $k | ($a[$k] | type) == ($b[$k] | type) or $a[$k] == null or $b[$k] == null)' > /dev/null ||
	{ echo "shapes differ:"; diff <(echo "$1" | shape | tr ',' '\n') <(echo "$2" | shape | tr ',' '\n'); return 1; }
}

@test "flow, exec, dns, lost and stats examples have the fields the pipeline writes" {
	need_bpf
	need_cmd ip
	cp "$GEN" "$BATS_TEST_TMPDIR/gen"
	dns_ns_start shape.test=127.0.0.5
	pipeline_start "$BATS_TEST_TMPDIR/t.out" --stats-s 1
	# it stays a second after its traffic: resolved from /proc even on a
	# loaded machine, so that its command line is there to check
	TRAFFICGEN_LINGER_MS=1000 "$BATS_TEST_TMPDIR/gen" tcp4 > /dev/null
	ip netns exec "$DNS_NS" "$SNITCH_TEST_BIN/dnsq" shape.test send > /dev/null
	sleep 0.3
	pipeline_stop
	dns_ns_stop
	"$HASH" < "$BATS_TEST_TMPDIR/t.out" > "$BATS_TEST_TMPDIR/h.out"
	out=$BATS_TEST_TMPDIR/h.out
	exec=$(jq -c 'select(.type == "exec" and .comm == "gen")' "$out" | head -1)
	# the flow of that process (its forked server may be gone before it
	# is seen, and rightly have no command line)
	flow=$(jq -c --argjson pid "$(jq .pid <<< "$exec")" \
		'select(.type == "flow" and .pid == $pid and .proto == "tcp" and .phase == "end")' "$out" | head -1)
	dns=$(jq -c 'select(.type == "dns" and .direction == "received" and .qname == "shape.test")' "$out" | head -1)
	stats=$(jq -c 'select(.type == "stats" and .stage == "snitch-resolve")' "$out" | head -1)
	tstats=$(jq -c 'select(.type == "stats" and .stage == "snitch-trace")' "$out" | tail -1)
	[ -n "$flow" ]
	[ -n "$exec" ]
	[ -n "$dns" ]
	[ -n "$stats" ]
	[ -n "$tstats" ]
	same_shape "$flow" "$(example_of flow)"
	same_shape "$exec" "$(example_of exec)"
	same_shape "$dns" "$(example_of dns)"
	same_shape "$stats" "$(example_of stats)"
	# snitch-trace's stats (its one at exit) are as the line in the text
	same_shape "$tstats" "$(grep -o '{"v":1,"type":"stats",[^`]*"stage":"snitch-trace"[^`]*}' "$DOC")"
	# and the values that make them worth having are there
	echo "flow: $flow"
	jq -c 'select(.type == "error")' "$out"
	echo "$flow" | jq -e '.exe_path != null and .cmdline != null and .exe_sha256 != null and .container_runtime == ""'
	# a domain from the dns record, on the UDP flow that followed it
	jq -e -s 'map(select(.type == "flow" and .raddr == "127.0.0.5" and .domain == "shape.test")) | length >= 1' "$out"
}

@test "the dns example's qname, qtype, rcode and answers are what snitch-resolve decodes from its payload" {
	# the example's text, not jq's rewriting of it (ts_ns is beyond a double)
	ex=$(grep '^{"v":1,"type":"dns",' "$EXAMPLES")
	[[ "$ex" == *',"qname":'* ]]
	run --separate-stderr "$RESOLVE" <<< "${ex%%,\"qname\":*}}"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(grep '"type":"dns"' <<< "$output")" = "$ex" ]
}

@test "the lost example has the fields snitch-trace writes" {
	need_bpf
	cp "$GEN" "$BATS_TEST_TMPDIR/gen"
	trace_start "$BATS_TEST_TMPDIR/t.out" --ringbuf-kb 4
	"$BATS_TEST_TMPDIR/gen" burst > /dev/null	# overflows the small ring buffer
	sleep 0.3
	trace_stop
	lost=$(jq -c 'select(.type == "lost")' "$BATS_TEST_TMPDIR/t.out" | head -1)
	[ -n "$lost" ]
	same_shape "$lost" "$(example_of lost)"
}

@test "hash example has the fields snitch-hash --json writes" {
	run --separate-stderr "$HASH" --json /bin/ls
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | shape)" = "$(example_of hash | shape)" ]
}

@test "error example has the fields of a real hash_failed record" {
	d=$(open_tmpdir)
	cp /bin/true "$d/gone"
	rec=$(record_for "$d/gone" '+ {pid: 2147483647}')
	rm -f "$d/gone"
	run --separate-stderr "$HASH" --stream <<< "$rec"
	rm -rf "$d"
	[ "$status" -eq 0 ]
	real=$(echo "$output" | jq -c 'select(.type == "error" and .code == "hash_failed")')
	[ -n "$real" ]
	[ "$(echo "$real" | shape)" = "$(example_of error | shape)" ]
}

@test "modified example has the fields of a real modified record" {
	cp /bin/true "$BATS_TEST_TMPDIR/tool"
	stream_start "$HASH" --stream
	stream_send "$(record_for "$BATS_TEST_TMPDIR/tool")"
	wait_lines "$STREAM_OUT" 1
	printf 'x' >> "$BATS_TEST_TMPDIR/tool"
	stream_send "$(record_for "$BATS_TEST_TMPDIR/tool")"
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	real=$(jq -c 'select(.type == "modified")' "$STREAM_OUT")
	[ -n "$real" ]
	[ "$(echo "$real" | shape)" = "$(example_of modified | shape)" ]
}

@test "row example has the fields of a real row record of snitch-store --emit-rows" {
	t=$(( $(date +%s) * 1000000000 ))
	flow=$(example_of flow | jq -c --argjson t "$t" '.ts_ns = $t | .from_ns = $t | .to_ns = $t')
	run --separate-stderr "$STORE" --db "$BATS_TEST_TMPDIR/s.db" --emit-rows <<< "$flow"
	[ "$status" -eq 0 ]
	real=$(echo "$output" | jq -c 'select(.type == "row")')
	[ "$(echo "$real" | wc -l)" -eq 1 ]
	same_shape "$real" "$(example_of row)"
	# references of every kind, with their ids, as the example has them
	echo "$real" | jq -e '.exe_id != null and .exe_path != null and .parent_exe_id != null and .raddr_id != null and .domain_id != null'
}
