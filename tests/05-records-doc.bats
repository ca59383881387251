#!/usr/bin/env bats
# docs/records.md is the contract between stages: its examples must be
# valid, survive the record library, and look like what the tools emit.

load helper

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

@test "fields of stages not built yet are marked planned, and only those" {
	for f in exe_path; do
		[ -x "$SNITCH_BIN/snitch-resolve" ] && continue
		grep -q "^| \`$f\` .*snitch-resolve \*(planned)\*" "$DOC"
	done
	# a type written by a built tool is not marked planned
	! grep -q '^| `[a-z]*` | snitch-trace \*(planned)' "$DOC"
}

@test "flow, exec, dns and lost examples have the fields snitch-trace writes" {
	need_bpf
	need_cmd ip
	cp "$GEN" "$BATS_TEST_TMPDIR/gen"
	dns_ns_start shape.test=192.0.2.33
	trace_start "$BATS_TEST_TMPDIR/t.out" --ringbuf-kb 4
	"$BATS_TEST_TMPDIR/gen" tcp4 > /dev/null
	ip netns exec "$DNS_NS" "$SNITCH_TEST_BIN/dnsq" shape.test > /dev/null
	"$BATS_TEST_TMPDIR/gen" burst > /dev/null	# overflows the small ring buffer
	sleep 0.3
	trace_stop
	dns_ns_stop
	out=$BATS_TEST_TMPDIR/t.out
	flow=$(jq -c 'select(.type == "flow" and .proto == "tcp" and .comm == "gen" and .phase == "end")' "$out" | head -1)
	exec=$(jq -c 'select(.type == "exec" and .comm == "gen")' "$out" | head -1)
	dns=$(jq -c 'select(.type == "dns" and .qname == "shape.test")' "$out" | head -1)
	lost=$(jq -c 'select(.type == "lost")' "$out" | head -1)
	[ -n "$flow" ] && [ -n "$exec" ] && [ -n "$dns" ] && [ -n "$lost" ]
	[ "$(echo "$flow" | shape)" = "$(example_of flow | shape)" ]
	[ "$(echo "$exec" | shape)" = "$(example_of exec | shape)" ]
	[ "$(echo "$dns" | shape)" = "$(example_of dns | shape)" ]
	[ "$(echo "$lost" | shape)" = "$(example_of lost | shape)" ]
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
