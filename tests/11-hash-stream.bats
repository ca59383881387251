#!/usr/bin/env bats
# snitch-hash in a stream: hashes added, everything else untouched.

load helper

# whatever a test started stops, whatever happened
teardown() {
	stop_started
}

@test "fixture records get the hashes of the process, parent and grandparent" {
	cd "$BATS_TEST_TMPDIR"
	cp /bin/true a; cp /bin/ls b; cp /bin/cat c
	rec=$(jq -cn --argjson a "$(stat -c '[%d,%i]' a)" --argjson b "$(stat -c '[%d,%i]' b)" \
		--argjson c "$(stat -c '[%d,%i]' c)" --arg d "$PWD" '{v:1, type:"flow",
		exe_dev:$a[0], exe_ino:$a[1], exe_path:"\($d)/a",
		parent_exe_dev:$b[0], parent_exe_ino:$b[1], parent_exe_path:"\($d)/b",
		gparent_exe_dev:$c[0], gparent_exe_ino:$c[1], gparent_exe_path:"\($d)/c"}')
	run --separate-stderr "$HASH" --stream <<< "$rec"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.exe_sha256, .parent_exe_sha256, .gparent_exe_sha256] | @tsv')" = \
	  "$(printf '%s\t%s\t%s' "$(sha_of a)" "$(sha_of b)" "$(sha_of c)")" ]
	# and nothing else changed
	[ "$(echo "$output" | jq -cS 'del(.exe_sha256, .parent_exe_sha256, .gparent_exe_sha256)')" = "$(echo "$rec" | jq -cS .)" ]
}

@test "an interpreter's script is hashed by its path beside the interpreter; a file at that path that is not it is not" {
	cd "$BATS_TEST_TMPDIR"
	cp /bin/true interp
	printf 'print("hello")\n' > job.py
	printf 'print("other")\n' > other.py
	rec=$(jq -cn --argjson a "$(stat -c '[%d,%i]' interp)" --argjson s "$(stat -c '[%d,%i]' job.py)" \
		--argjson o "$(stat -c '[%d,%i]' other.py)" --arg d "$PWD" '
		{v:1, type:"flow", exe_dev:$a[0], exe_ino:$a[1], exe_path:"\($d)/interp",
		 script_path:"\($d)/job.py", script_dev:$s[0], script_ino:$s[1]},
		{v:1, type:"flow", exe_dev:$a[0], exe_ino:$a[1], exe_path:"\($d)/interp",
		 script_path:"\($d)/job.py", script_dev:$o[0], script_ino:$o[1]},
		{v:1, type:"flow", exe_dev:$a[0], exe_ino:$a[1], exe_path:"\($d)/interp",
		 script_path:null, script_dev:null, script_ino:null}')
	run --separate-stderr "$HASH" --stream <<< "$rec"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -sr 'map(select(.type == "flow"))[0] | [.exe_sha256, .script_sha256] | @tsv')" = \
	  "$(printf '%s\t%s' "$(sha_of interp)" "$(sha_of job.py)")" ]
	# the path names another file than the script named: no hash, an error
	echo "$output" | jq -e -s 'map(select(.type == "flow"))[1] | .script_sha256 == null and .exe_sha256 != null'
	echo "$output" | jq -e -s 'any(.[]; .type == "error" and .code == "hash_failed")'
	# no script: no script_sha256
	echo "$output" | jq -e -s 'map(select(.type == "flow"))[2] | has("script_sha256") | not'
}

@test "stream mode is the default when stdin is not a terminal" {
	run --separate-stderr "$HASH" <<< "$(record_for /bin/ls)"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .exe_sha256)" = "$(sha_of /bin/ls)" ]
}

@test "the acceptance example: unknown types and nested values pass through" {
	printf '{"v":1,"type":"other","keep":[1,{"a":null}]}\n' | "$HASH" --stream | jq -e '.keep[1].a == null'
}

@test "unknown fields and types come out equal, byte for byte" {
	cat > "$BATS_TEST_TMPDIR/in" <<'IN'
{"v":1,"type":"other","keep":[1,{"a":null}],"s":"\u00e9\ud83d\ude00\udcff","n":-1.5e+300}
{"v":1,"type":"dns","qname":"example.org","answers":[{"addr":"192.0.2.1","ttl_s":1}]}
{ "v" : 1 , "type" : "spaced" , "x" : { } }
{"type":"no version","big":123456789012345678901234567890}
IN
	record_for /bin/ls '+ {zzz: {deep: [true, false, null]}}' >> "$BATS_TEST_TMPDIR/in"
	run --separate-stderr "$HASH" --stream < "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | head -4)" = "$(head -4 "$BATS_TEST_TMPDIR/in")" ]
	[ "$(echo "$output" | jq -cS 'del(.exe_sha256)')" = "$(jq -cS . "$BATS_TEST_TMPDIR/in")" ]
}

@test "malformed lines each give an error record, and later records still come out" {
	f=$BATS_TEST_TMPDIR/in
	{
		echo '{"v":1,"type":"first"}'
		echo '{"v":1,"type":'                       # truncated JSON
		head -c 300 /dev/urandom | tr -d '\n'; echo  # binary garbage
		head -c 2097152 /dev/zero | tr '\0' 'x'; echo  # a 2 MiB line
		echo ''                                     # an empty line
		echo '[1,2]'                                # JSON, not an object
		echo '{"v":1,"type":"last"}'
	} > "$f"
	run --separate-stderr "$HASH" --stream < "$f"
	[ "$status" -eq 0 ]
	# every output line is valid JSON
	echo "$output" | jq -e . > /dev/null
	[ "$(echo "$output" | jq -r 'select(.type != "error") | .type' | tr '\n' ' ')" = "first last " ]
	errors=$(echo "$output" | jq -c 'select(.type == "error") | [.code, .line]')
	[ "$(echo "$errors" | tr '\n' ' ')" = '["malformed_input",2] ["malformed_input",3] ["line_too_long",4] ["malformed_input",5] ["malformed_input",6] ' ]
	echo "$output" | jq -e -s 'map(select(.code == "line_too_long"))[0].length == 2097152'
	# and each is said on stderr with its line number
	[[ "$stderr" == *"snitch-hash: line 2: unexpected end of input at byte 14"* ]]
	[[ "$stderr" == *"snitch-hash: line 5: empty line"* ]]
}

@test "a line of exactly 1 MiB is accepted" {
	pad=$(head -c $((1048576 - 32)) /dev/zero | tr '\0' 'y')
	line="{\"v\":1,\"type\":\"big\",\"p\":\"$pad\"}"
	[ "${#line}" -le 1048576 ]
	run --separate-stderr "$HASH" --stream <<< "$line"
	[ "$status" -eq 0 ]
	[ "$output" = "$line" ]
}

@test "a path that is not UTF-8 survives the JSON escaping and is hashed" {
	name=$(printf 'bad\377name\001')
	cp /bin/true "$BATS_TEST_TMPDIR/$name"
	rec=$(stat -c '{"v":1,"type":"flow","exe_dev":%d,"exe_ino":%i}' "$BATS_TEST_TMPDIR/$name")
	# the path as the record library writes it: \udcff for the byte 0xff
	rec=${rec%\}},\"exe_path\":\"$BATS_TEST_TMPDIR/bad\\udcffname\\u0001\"}
	run --separate-stderr "$HASH" --stream <<< "$rec"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .exe_sha256)" = "$(sha_of /bin/true)" ]
	# the library decodes the path back to the exact bytes
	[ "$(echo "$output" | "$RECORD_TOOL" get exe_path | od -An -tx1 | tr -d ' \n')" = \
	  "$(printf '%s' "$BATS_TEST_TMPDIR/$name" | od -An -tx1 | tr -d ' \n')" ]
}

@test "a file that cannot be hashed: null hash, and an error record saying why" {
	cp /bin/true "$BATS_TEST_TMPDIR/gone"
	rec=$(record_for "$BATS_TEST_TMPDIR/gone")
	rm "$BATS_TEST_TMPDIR/gone"
	run --separate-stderr "$HASH" --stream <<< "$rec"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s 'map(select(.type == "flow"))[0].exe_sha256 == null'
	echo "$output" | jq -e -s --arg p "$BATS_TEST_TMPDIR/gone" \
		'map(select(.type == "error"))[0] | .code == "hash_failed" and .path == $p and .errno == "ENOENT" and (.message | contains("No such file"))'
	[[ "$stderr" == *"cannot hash executable"* ]]
}

@test "a path whose inode is not the record's is not hashed" {
	rec=$(stat -c '{"v":1,"type":"flow","exe_dev":%d,"exe_ino":%i,"exe_path":"/bin/ls"}' /bin/cat)
	run --separate-stderr "$HASH" --stream <<< "$rec"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s 'map(select(.type == "flow"))[0].exe_sha256 == null'
	echo "$output" | jq -e -s 'map(select(.type == "error"))[0] | .code == "hash_failed" and .errno == "ESTALE" and (.message | contains("not the executable named"))'
}

@test "a record hashed already, or without an identity, passes unchanged" {
	in='{"v":1,"type":"flow","exe_dev":1,"exe_ino":2,"exe_sha256":"0000000000000000000000000000000000000000000000000000000000000000"}
{"v":1,"type":"flow","pid":1,"exe_dev":null,"exe_ino":null}
{"v":1,"type":"flow","exe_path":"/bin/ls"}'
	run --separate-stderr "$HASH" --stream <<< "$in"
	[ "$status" -eq 0 ]
	[ "$output" = "$in" ]
}

@test "a record of another major version passes unchanged, said once" {
	in='{"v":2,"type":"flow","exe_dev":1,"exe_ino":2}
{"v":2,"type":"flow","exe_dev":1,"exe_ino":3}'
	run --separate-stderr "$HASH" --stream <<< "$in"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c 'select(.type == "flow")')" = "$(echo "$in" | jq -c .)" ]
	[ "$(echo "$output" | jq -r 'select(.type == "error") | .code')" = "unsupported_version" ]
}

@test "a slow first hash does not hold up other executables; one executable keeps its order" {
	cd "$BATS_TEST_TMPDIR"
	truncate -s 3G big
	cp /bin/true small
	{
		record_for big '+ {seq: 1}'
		record_for small '+ {seq: 2}'
		record_for big '+ {seq: 3}'
		record_for small '+ {seq: 4}'
	} > in
	run --separate-stderr "$HASH" --stream --jobs 2 < in
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .seq | tr '\n' ' ')" = "2 4 1 3 " ]
	[ "$(echo "$output" | jq -r 'select(.seq == 3) | .exe_sha256')" = "$(sha_of big)" ]
}

@test "a hash slower than --timeout-s: null hash and hash_timeout, the stream goes on" {
	cd "$BATS_TEST_TMPDIR"
	truncate -s 8G big
	{ record_for big '+ {seq: 1}'; record_for /bin/true '+ {seq: 2}'; } > in
	run --separate-stderr timeout 60 "$HASH" --stream --timeout-s 1 < in
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s 'map(select(.seq == 1))[0].exe_sha256 == null'
	echo "$output" | jq -e -s 'map(select(.seq == 2))[0].exe_sha256 != null'
	echo "$output" | jq -e -s 'map(select(.type == "error"))[0].code == "hash_timeout"'
}

@test "SIGTERM while a hash runs: held records come out, exit 0" {
	cd "$BATS_TEST_TMPDIR"
	truncate -s 50G huge
	stream_start "$HASH" --stream
	stream_send "$(record_for huge)"
	sleep 0.5
	kill -TERM "$STREAM_PID"
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	jq -e -s 'map(select(.type == "flow"))[0].exe_sha256 == null' "$STREAM_OUT"
	jq -e -s 'map(select(.type == "error"))[0].code == "hash_interrupted"' "$STREAM_OUT"
}

@test "SIGINT with records buffered: they are flushed, exit 0" {
	stream_start "$HASH" --stream
	stream_send '{"v":1,"type":"a"}' '{"v":1,"type":"b"}'
	wait_lines "$STREAM_OUT" 2
	kill -INT "$STREAM_PID"
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	[ "$(jq -r .type "$STREAM_OUT" | tr '\n' ' ')" = "a b " ]
}

@test "output is flushed while input stays open" {
	stream_start "$HASH" --stream
	stream_send "$(record_for /bin/ls)"
	# wait_lines gives up after ~10 s; a stage that held output until EOF fails
	wait_lines "$STREAM_OUT" 1
	stream_stop
	[ "$(jq -r .exe_sha256 "$STREAM_OUT")" = "$(sha_of /bin/ls)" ]
}

@test "a closed downstream ends it quietly with status 0" {
	for i in $(seq 1 20000); do echo '{"v":1,"type":"x"}'; done > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr bash -c "'$HASH' --stream < '$BATS_TEST_TMPDIR/in' | head -1; exit \${PIPESTATUS[0]}"
	[ "$status" -eq 0 ]
	[ "$output" = '{"v":1,"type":"x"}' ]
	[ -z "$stderr" ]
}

@test "every output line is valid JSON whatever the input bytes" {
	head -c 200000 /dev/urandom > "$BATS_TEST_TMPDIR/noise"
	run --separate-stderr "$HASH" --stream < "$BATS_TEST_TMPDIR/noise"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	echo "$output" | jq -e -s 'all(.[]; .type == "error")'
}
