#!/usr/bin/env bats
# snitch-vt against a stand-in for the VirusTotal v3 API (tests/vtstub.py):
# HTTPS on loopback, with a CA made here, answering known, malicious,
# unknown, 401, 429, 500, slow and malformed, and logging every request it
# was sent (method, path, headers, what an upload held).

load helper

VT=$SNITCH_BIN/snitch-vt
KEY=test-key-0123456789abcdef
# answers, by hash
KNOWN=1111111111111111111111111111111111111111111111111111111111111111
MAL=2222222222222222222222222222222222222222222222222222222222222222
UNKNOWN=3333333333333333333333333333333333333333333333333333333333333333
FIVE=4444444444444444444444444444444444444444444444444444444444444444
QUOTA=5555555555555555555555555555555555555555555555555555555555555555
SLOW=6666666666666666666666666666666666666666666666666666666666666666
BAD=7777777777777777777777777777777777777777777777777777777777777777

setup_file() {
	local d=$BATS_FILE_TMPDIR/pki
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 \
		-subj /CN=snitch-test-ca 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout "$d/srv.key" -out "$d/srv.csr" \
		-subj /CN=127.0.0.1 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$d/ext"
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-out "$d/srv.pem" -days 2 -extfile "$d/ext" 2>/dev/null
	export PKI=$d
	desktop_setup_file
}

teardown_file() {
	desktop_teardown_file
}

setup() {
	D=$BATS_TEST_TMPDIR
	STUB_PID=
}

teardown() {
	stop_started $STUB_PID
}

# stub_start PLAN-JSON: the stand-in, on a free port; sets API and STUB_LOG.
stub_start() {
	local i
	echo "$1" > "$D/plan.json"
	STUB_LOG=$D/stub.log
	: > "$STUB_LOG"
	python3 "$SNITCH_TOP/tests/vtstub.py" "$PKI/srv.pem" "$PKI/srv.key" "$KEY" "$D/plan.json" \
		"$STUB_LOG" "$D/stub.port" 2> "$D/stub.err" 3>&- &
	STUB_PID=$!
	for i in $(seq 1 100); do
		[ -s "$D/stub.port" ] && break
		sleep 0.05
	done
	[ -s "$D/stub.port" ] || { cat "$D/stub.err"; return 1; }
	API=https://127.0.0.1:$(cat "$D/stub.port")/api/v3
}

# snitch-vt against the stand-in, one request a second, state in $D.
vt() {
	SNITCH_VT_API_KEY=${VT_KEY:-$KEY} "$VT" --api-url "$API" --ca-file "$PKI/ca.pem" \
		--state "$D/vt-state.jsonl" --request-limit-s 1 --timeout-s 2 "$@"
}

# rec SHA [PARENT-SHA [GPARENT-SHA]] [jq-extra]: a hashed flow record
rec() {
	jq -cn --arg a "$1" --arg b "${2:-}" --arg c "${3:-}" '{v:1, type:"flow", pid:4242,
		comm:"curl", name:"curl", exe_sha256:$a,
		parent_exe_sha256:(if $b == "" then null else $b end),
		gparent_exe_sha256:(if $c == "" then null else $c end)}'"${4:+ | $4}"
}

# requests the stand-in was sent for one path
asked() {
	jq -c --arg p "$1" 'select(.path == $p)' "$STUB_LOG" | wc -l
}

# none CMD...: fails when CMD succeeds (a bare '! CMD' never fails a bats test)
none() {
	! "$@"
}

verdict_of() {
	jq -c --arg s "$1" 'select(.type == "verdict" and .sha256 == $s)' "$2"
}

@test "--help shows the options, their variables and examples; no key, a key readable by others, http:// are refused" {
	run "$VT" --help
	[ "$status" -eq 0 ]
	for w in --api-key-file --request-limit-s --recheck-days --upload --state --api-url --ca-file \
		SNITCH_VT_API_KEY_FILE SNITCH_VT_API_KEY SNITCH_VT_REQUEST_LIMIT_S 'Examples:' 'Exit status:'; do
		[[ "$output" == *"$w"* ]] || { echo "missing $w"; false; }
	done
	# the key is never an option: it would show in the process list
	run "$VT" --api-key x < /dev/null
	[ "$status" -eq 2 ]
	run env -u SNITCH_VT_API_KEY -u SNITCH_VT_API_KEY_FILE "$VT" < /dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"no API key"* ]]
	echo "$KEY" > "$D/key"
	chmod 644 "$D/key"
	run --separate-stderr "$VT" --api-key-file "$D/key" --state "$D/s" < /dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"'$D/key' can be read by others than its owner (mode 0644): chmod 600 it"* ]]
	[[ "$stderr" != *"$KEY"* ]]
	chmod 600 "$D/key"
	run "$VT" --api-key-file "$D/key" --api-url http://127.0.0.1:1/api/v3 --state "$D/s" < /dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"not an https:// URL"* ]]
	run "$VT" --api-key-file "$D/key" --request-limit-s 0 < /dev/null
	[ "$status" -eq 2 ]
}

@test "known, malicious and unknown: one GET each at most one a second, verdict records, the key only in x-apikey" {
	stub_start "{\"$KNOWN\":[\"known\"],\"$MAL\":[\"malicious\"]}"
	{
		rec "$KNOWN" "$MAL" "$UNKNOWN"
		rec "$MAL" "$KNOWN"			# asked already: not again
		rec "$UNKNOWN" '' '' '. + {exe_dev: 1, exe_ino: 2, exe_path: "/x"}'
		rec "$KNOWN"
	} > "$D/in"
	run --separate-stderr vt --drain < "$D/in"
	echo "$output"; echo "$stderr"; cat "$STUB_LOG"
	[ "$status" -eq 0 ]
	# the records first, unchanged, then the verdicts
	[ "$(head -n 4 <<< "$output")" = "$(cat "$D/in")" ]
	echo "$output" > "$D/out"
	[ "$(jq -c 'select(.type == "verdict")' "$D/out" | wc -l)" -eq 3 ]
	verdict_of "$KNOWN" "$D/out" | jq -e --arg s "$KNOWN" '.status == "known" and .malicious == 0
		and .suspicious == 0 and .undetected == 66 and .harmless == 0 and .engines == 70
		and .analysis_ns == 1763822000000000000 and .uploaded == false and .reason == null
		and .link == "https://www.virustotal.com/gui/file/\($s)" and .name == "curl"'
	verdict_of "$MAL" "$D/out" | jq -e '.status == "known" and .malicious == 3 and .engines == 70'
	# not uploaded: --upload is off
	verdict_of "$UNKNOWN" "$D/out" | jq -e '.status == "not_found" and .malicious == null and .link == null
		and (.reason | test("--upload is off"))'
	# the shape docs/records.md gives: the same fields, of the same types
	# where neither is null (a field "or null")
	ex=$(awk '/^```json$/ { on = 1; next } /^```$/ { on = 0 } on' "$SNITCH_TOP/docs/records.md" |
		jq -c 'select(.type == "verdict")')
	for s in "$MAL" "$UNKNOWN"; do
		jq -e -n --argjson a "$(verdict_of "$s" "$D/out")" --argjson b "$ex" '($a | keys_unsorted) == ($b | keys_unsorted)
			and all($a | keys[]; . as $k | ($a[$k] | type) == ($b[$k] | type) or $a[$k] == null or $b[$k] == null)'
	done
	# exactly one request per hash, in the order they came, at least 1 s apart
	[ "$(jq -r .path "$STUB_LOG")" = "/api/v3/files/$KNOWN
/api/v3/files/$MAL
/api/v3/files/$UNKNOWN" ]
	jq -se '[.[].t] | [range(1; length) as $i | .[$i] - .[$i - 1]] | all(. >= 0.95)' "$STUB_LOG"
	[ "$(jq -c 'select(.method == "POST")' "$STUB_LOG" | wc -l)" -eq 0 ]
	# the key in the x-apikey header, and nowhere else
	jq -se --arg k "$KEY" 'all(.[]; .headers["x-apikey"] == $k)' "$STUB_LOG"
	[ "$(grep -o "$KEY" "$STUB_LOG" | wc -l)" -eq 3 ]
	[[ "$output" != *"$KEY"* && "$stderr" != *"$KEY"* ]]
	none grep -q "$KEY" "$D/vt-state.jsonl"
	# a second run asks nothing: the state knows them
	run --separate-stderr vt --drain < "$D/in"
	[ "$status" -eq 0 ]
	[ "$(wc -l < "$STUB_LOG")" -eq 3 ]
	[ "$(jq -c 'select(.type == "verdict")' <<< "$output" | wc -l)" -eq 0 ]
}

@test "500, 429 and a timeout: retried with back-off, said once each, and the verdict comes after" {
	stub_start "{\"$FIVE\":[\"500\",\"known\"],\"$QUOTA\":[\"429\",\"known\"],\"$SLOW\":[\"slow\",\"known\"]}"
	rec "$FIVE" "$QUOTA" "$SLOW" > "$D/in"
	run --separate-stderr vt --drain < "$D/in"
	echo "$output"; echo "$stderr"; cat "$STUB_LOG"
	[ "$status" -eq 0 ]
	echo "$output" > "$D/out"
	for s in "$FIVE" "$QUOTA" "$SLOW"; do
		verdict_of "$s" "$D/out" | jq -e '.status == "known"'
		[ "$(asked "/api/v3/files/$s")" -eq 2 ]
	done
	# each failure said once, as an error record and on stderr
	[ "$(jq -c 'select(.type == "error" and .code == "vt_quota")' "$D/out" | wc -l)" -eq 1 ]
	jq -c 'select(.type == "error" and .code == "vt_quota")' "$D/out" | jq -e '.message | test("HTTP 429")'
	[ "$(jq -c 'select(.type == "error" and .code == "vt_unavailable")' "$D/out" | wc -l)" -eq 2 ]
	jq -se 'map(select(.code == "vt_unavailable") | .message) |
		any(test("HTTP 500")) and any(test("[Tt]imeout|timed out"))' "$D/out"
	[[ "$stderr" == *"VirusTotal answers again"* ]]
	# the back-off: 2 s after the first failure, not the 1 s of the rate limit
	jq -se --arg p "/api/v3/files/$FIVE" 'map(select(.path == $p) | .t) | .[1] - .[0] >= 1.9' "$STUB_LOG"
	jq -se --arg p "/api/v3/files/$QUOTA" 'map(select(.path == $p) | .t) | .[1] - .[0] >= 1.9' "$STUB_LOG"
}

@test "a name that does not resolve: said once, retried, the hash kept waiting" {
	API=https://snitch-vt-test.invalid/api/v3
	stream_start vt
	stream_send "$(rec "$KNOWN")"
	# the second try, 2 s after the first, is on stderr only
	for i in $(seq 1 150); do
		grep -q 'still cannot be reached' "$STREAM_ERR" && break
		sleep 0.1
	done
	stream_stop
	grep -q 'still cannot be reached' "$STREAM_ERR"
	[ "$STREAM_STATUS" -eq 0 ]
	cat "$STREAM_OUT"
	[ "$(grep -c '"code":"vt_unavailable"' "$STREAM_OUT")" -eq 1 ]
	jq -c 'select(.code == "vt_unavailable")' "$STREAM_OUT" | jq -e '.message | test("resolve|Resolving")'
	jq -c --arg s "$KNOWN" 'select(.sha256 == $s)' "$D/vt-state.jsonl" | jq -e .pending
}

@test "a malformed answer is an error record and an error verdict" {
	stub_start "{\"$BAD\":[\"malformed\"]}"
	rec "$BAD" > "$D/in"
	run --separate-stderr vt --drain < "$D/in"
	[ "$status" -eq 0 ]
	echo "$output" > "$D/out"
	jq -c 'select(.type == "error")' "$D/out" | jq -e '.code == "vt_malformed" and (.message | test("malicious"))'
	verdict_of "$BAD" "$D/out" | jq -e '.status == "error" and .malicious == null and (.reason | test("malformed"))'
	[ "$(asked "/api/v3/files/$BAD")" -eq 1 ]
}

@test "401: one request, said once, asked no more; the queue waits in the state for a good key" {
	stub_start '{}'
	rec "$KNOWN" "$MAL" "$UNKNOWN" > "$D/in"
	VT_KEY=wrong-key run --separate-stderr vt --drain < "$D/in"
	echo "$output"; echo "$stderr"; cat "$STUB_LOG"
	[ "$status" -eq 0 ]
	[ "$(wc -l < "$STUB_LOG")" -eq 1 ]
	[ "$(jq -c 'select(.type == "error" and .code == "vt_unauthorized")' <<< "$output" | wc -l)" -eq 1 ]
	[ "$(grep -c 'refused the API key' <<< "$stderr")" -eq 1 ]
	[ "$(jq -c 'select(.pending)' "$D/vt-state.jsonl" | wc -l)" -eq 3 ]
	# the next start, with a good key and no input, asks all three, in order
	run --separate-stderr vt --drain < /dev/null
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.type == "verdict")' <<< "$output" | wc -l)" -eq 3 ]
	[ "$(tail -n 3 "$STUB_LOG" | jq -r .path)" = "/api/v3/files/$KNOWN
/api/v3/files/$MAL
/api/v3/files/$UNKNOWN" ]
	[ "$(jq -c 'select(.pending)' "$D/vt-state.jsonl" | wc -l)" -eq 0 ]
}

@test "records pass through at once while VirusTotal is slow; a stop cuts the request short and keeps it" {
	stub_start "{\"$SLOW\":[\"slow\"]}"
	stream_start vt --timeout-s 30
	stream_send "$(rec "$SLOW")"
	sleep 0.5
	stream_send "$(rec "$KNOWN")"
	wait_lines "$STREAM_OUT" 2
	# the request hangs at the stand-in: the records did not wait for it
	[ "$(asked "/api/v3/files/$SLOW")" -eq 1 ]
	none grep -q verdict "$STREAM_OUT"
	start=$(date +%s%N)
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	# stopped at once, not after the 30 s the answer takes
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ]
	jq -c --arg s "$SLOW" 'select(.sha256 == $s)' "$D/vt-state.jsonl" | jq -e .pending
	jq -c --arg s "$KNOWN" 'select(.sha256 == $s)' "$D/vt-state.jsonl" | jq -e .pending
}

@test "state survives a restart with requests pending: each hash asked once in all" {
	stub_start '{}'
	stream_start vt
	stream_send "$(rec "$KNOWN" "$MAL" "$UNKNOWN")" "$(rec "$FIVE" "$QUOTA")"
	# two answered, three waiting
	for i in $(seq 1 100); do
		[ "$(grep -c '"type":"verdict"' "$STREAM_OUT")" -ge 2 ] && break
		sleep 0.05
	done
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	done_before=$(grep -c '"type":"verdict"' "$STREAM_OUT")
	[ "$done_before" -ge 2 ]
	[ "$done_before" -lt 5 ]
	grep -q 'still wait to be asked about' "$STREAM_ERR"
	[ "$(jq -c 'select(.pending)' "$D/vt-state.jsonl" | wc -l)" -eq $((5 - done_before)) ]
	# restarted with all five in its input again: only those pending are asked
	{ rec "$KNOWN" "$MAL" "$UNKNOWN"; rec "$FIVE" "$QUOTA"; } > "$D/in"
	run --separate-stderr vt --drain < "$D/in"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"$((5 - done_before)) executables wait to be asked about"* ]]
	[ "$(jq -c 'select(.type == "verdict")' <<< "$output" | wc -l)" -eq $((5 - done_before)) ]
	# each of the five asked exactly once, over both runs
	[ "$(jq -r .path "$STUB_LOG" | sort | uniq -c | awk '$1 != 1' | wc -l)" -eq 0 ]
	[ "$(wc -l < "$STUB_LOG")" -eq 5 ]
	# and asked again once --recheck-days have passed (the state ages)
	jq -c 'if .checked_ns then .checked_ns -= 2 * 86400 * 1000000000 else . end' "$D/vt-state.jsonl" > "$D/aged"
	cp "$D/aged" "$D/vt-state.jsonl"
	run --separate-stderr vt --drain --recheck-days 1 <<< "$(rec "$KNOWN")"
	[ "$status" -eq 0 ]
	[ "$(asked "/api/v3/files/$KNOWN")" -eq 2 ]
}

# an executable unknown to the stand-in (and to VirusTotal): unique bytes
new_tool() {
	cp /bin/true "$D/$1"
	head -c 64 /dev/urandom >> "$D/$1"
}

tool_rec() {
	stat -c '{"v":1,"type":"exec","pid":0,"exe_dev":%d,"exe_ino":%i}' "$D/$1" |
		jq -c --arg p "$D/$1" --arg s "$(sha_of "$D/$1")" '. + {exe_path: $p, name: "tool", exe_sha256: $s}'
}

@test "--upload: the file named by device and inode, its bytes only, named by its hash; the analysis polled" {
	stub_start '{"_upload_verdict": "malicious"}'
	new_tool tool
	sha=$(sha_of "$D/tool")
	run --separate-stderr vt --drain --upload <<< "$(tool_rec tool)"
	echo "$output"; echo "$stderr"; cat "$STUB_LOG"
	[ "$status" -eq 0 ]
	jq -c 'select(.type == "verdict")' <<< "$output" | jq -e --arg s "$sha" '.sha256 == $s and
		.status == "known" and .uploaded == true and .malicious == 3 and .engines == 70'
	[ "$(jq -r '"\(.method) \(.path)"' "$STUB_LOG")" = "GET /api/v3/files/$sha
POST /api/v3/files
GET /api/v3/analyses/an-${sha:0:16}
GET /api/v3/analyses/an-${sha:0:16}" ]
	jq -c 'select(.method == "POST")' "$STUB_LOG" | jq -e --arg s "$sha" --argjson n "$(stat -c %s "$D/tool")" \
		'.file_sha256 == $s and .file_len == $n and .filename == $s'
	# no path, no name went out
	none grep -q -e "$D" -e '"tool"' "$STUB_LOG"
}

@test "--upload: a file replaced at its path, or changed in place, is not uploaded" {
	stub_start '{}'
	new_tool moved
	r1=$(tool_rec moved)
	new_tool other
	mv "$D/other" "$D/moved"		# another inode at the path now
	new_tool changed
	r2=$(tool_rec changed)
	head -c 16 /dev/urandom >> "$D/changed"	# same inode, other bytes
	run --separate-stderr vt --drain --upload <<< "$r1"$'\n'"$r2"
	echo "$output"; cat "$STUB_LOG"
	[ "$status" -eq 0 ]
	[ "$(jq -c 'select(.method == "POST")' "$STUB_LOG" | wc -l)" -eq 0 ]
	jq -c 'select(.type == "verdict")' <<< "$output" > "$D/v"
	[ "$(jq -c 'select(.status == "not_found" and .uploaded == false)' "$D/v" | wc -l)" -eq 2 ]
	jq -c 'select(.exe_path | endswith("/moved"))' "$D/v" | jq -e '.reason | test("another file")'
	jq -c 'select(.exe_path | endswith("/changed"))' "$D/v" | jq -e '.reason | test("content changed")'
}

@test "--upload: a file over 32 MiB goes to the upload URL, whole" {
	stub_start '{}'
	cp /bin/true "$D/big"
	head -c $((33 << 20)) /dev/urandom >> "$D/big"
	sha=$(sha_of "$D/big")
	run --separate-stderr vt --drain --upload --timeout-s 20 <<< "$(tool_rec big)"
	echo "$output"; echo "$stderr"
	[ "$status" -eq 0 ]
	jq -r '"\(.method) \(.path)"' "$STUB_LOG" | head -n 3 > "$D/reqs"
	[ "$(cat "$D/reqs")" = "GET /api/v3/files/$sha
GET /api/v3/files/upload_url
POST /upload/big" ]
	jq -c 'select(.method == "POST")' "$STUB_LOG" | jq -e --arg s "$sha" --argjson n "$(stat -c %s "$D/big")" \
		'.file_sha256 == $s and .file_len == $n'
	jq -c 'select(.type == "verdict")' <<< "$output" | jq -e '.uploaded == true and .status == "known"'
}

@test "a flagged verdict: a notification naming the program and the engines, and the executables' vt_ columns in SQLite" {
	need_cmd sqlite3
	stub_start "{\"$MAL\":[\"malicious\"],\"$KNOWN\":[\"known\"]}"
	{ rec "$MAL" "$KNOWN" '' '. + {exe_path: "/usr/bin/curl"}'; } > "$D/in"
	vt --drain < "$D/in" > "$D/out" 2> /dev/null
	# snitch-store: the verdicts table, and the columns of the executables of that hash
	"$SNITCH_BIN/snitch-store" --db "$D/t.db" < "$D/out" 2> /dev/null
	printf '%s\n' "$(store_flow "$NOW" 10 20 '. + {exe_sha256: "'"$MAL"'"}')" |
		"$SNITCH_BIN/snitch-store" --db "$D/t.db" 2> /dev/null
	[ "$(sqlite3 "$D/t.db" 'PRAGMA user_version')" -ge 5 ]
	[ "$(sqlite3 "$D/t.db" "SELECT DISTINCT vt_status, vt_malicious, vt_engines, vt_link FROM executables WHERE sha256 = '$MAL'")" = \
		"known|3|70|https://www.virustotal.com/gui/file/$MAL" ]
	[ "$(sqlite3 "$D/t.db" "SELECT count(*) FROM verdicts")" -eq 2 ]
	# snitch-notify: only the flagged one
	need_desktop
	desktop_mark
	"$SNITCH_BIN/snitch-notify" --user nobody --bus "$DESKTOP_BUS" --state "$D/state.json" \
		--log-dir "$D/log" < <(jq -c 'select(.type == "verdict")' "$D/out") 2> /dev/null
	run desktop_since_mark
	echo "$output"
	[ "${#lines[@]}" -eq 1 ]
	[ "${lines[0]}" = "VirusTotal: curl flagged by 3 of 70 engines"$'\t'"/usr/bin/curl sha256 $MAL https://www.virustotal.com/gui/file/$MAL" ]
	grep -q " flagged /usr/bin/curl name=curl sha256=$MAL malicious=3 suspicious=0 engines=70" "$D/log/exe.log"
}

@test "snitch config never shows the key; snitch run adds snitch-vt only with a key, and only it gets the key" {
	run env SNITCH_VT_API_KEY="$KEY" "$SNITCH_BIN/snitch" config
	[ "$status" -eq 0 ]
	[[ "$output" != *"$KEY"* ]]
	[[ "$output" == *"#SNITCH_VT_API_KEY_FILE="$'\n'* ]]
	need_bpf
	need_cmd sqlite3
	stub_start '{}'
	d=$(open_tmpdir)
	cp "$SNITCH_TEST_BIN/trafficgen" "$d/vt-gen-$$"
	sha=$(sha_of "$d/vt-gen-$$")
	(
		export SNITCH_CONF=/dev/null SNITCH_RUN_DIR=$d/run SNITCH_DB=$d/lib/snitch.db \
			SNITCH_STATE=$d/lib/state.json SNITCH_LOG_DIR=$d/log SNITCH_WRITE_LIMIT_S=1 \
			SNITCH_NO_DESKTOP=1 SNITCH_STOP_TIMEOUT_S=20 SNITCH_VT_API_KEY=$KEY \
			SNITCH_VT_API_URL=$API SNITCH_VT_CA_FILE=$PKI/ca.pem SNITCH_VT_STATE=$d/lib/vt.jsonl \
			SNITCH_VT_REQUEST_LIMIT_S=1
		"$SNITCH_BIN/snitch" run > "$d/run.out" 2> "$d/run.err" 3>&- &
		pid=$!
		for i in $(seq 1 150); do
			grep -q 'counting TCP' "$d/run.err" 2>/dev/null && break
			sleep 0.1
		done
		"$d/vt-gen-$$" tcp4 > /dev/null
		for i in $(seq 1 100); do
			grep -q "/api/v3/files/$sha" "$STUB_LOG" && break
			sleep 0.1
		done
		# the key: in no command line, and in the environment of snitch-vt alone
		"$SNITCH_BIN/snitch" status --json > "$d/status.json"
		: > "$d/env.check"
		[ "$(jq '.stages | length' "$d/status.json")" -eq 6 ] || echo "not 6 stages" >> "$d/env.check"
		for p in $(jq -r '.stages[].pid' "$d/status.json"); do
			name=$(jq -r --argjson p "$p" '.stages[] | select(.pid == $p) | .name' "$d/status.json")
			if tr '\0' ' ' < "/proc/$p/cmdline" | grep -q "$KEY"; then
				echo "the key is in the command line of $name" >> "$d/env.check"
			fi
			if [ "$name" != snitch-vt ] && tr '\0' '\n' < "/proc/$p/environ" | grep -q SNITCH_VT_API_KEY=; then
				echo "the key is in the environment of $name" >> "$d/env.check"
			fi
			# the stage that reads the network's answers holds no capability (no --upload)
			if [ "$name" = snitch-vt ] && ! grep -qx $'CapEff:\t0000000000000000' "/proc/$p/status"; then
				echo "snitch-vt holds capabilities: $(grep Cap "/proc/$p/status")" >> "$d/env.check"
			fi
		done
		# the verdict reaches the database in its next window
		for i in $(seq 1 100); do
			n=$(sqlite3 "$d/lib/snitch.db" "SELECT count(*) FROM executables
				WHERE sha256 = '$sha' AND vt_status IS NOT NULL" 2>/dev/null || echo 0)
			[ "${n:-0}" -gt 0 ] && break
			sleep 0.1
		done
		kill -TERM "$pid"
		wait "$pid"
	)
	cat "$d/run.err"
	cat "$d/env.check"
	[ ! -s "$d/env.check" ]
	grep -q 'running snitch-trace | snitch-resolve | snitch-hash | snitch-vt | snitch-store --tee | snitch-notify' "$d/run.err"
	[ "$(asked "/api/v3/files/$sha")" -eq 1 ]
	[ "$(sqlite3 "$d/lib/snitch.db" "SELECT DISTINCT vt_status FROM executables WHERE sha256 = '$sha'")" = not_found ]
	rm -rf "$d"
}
