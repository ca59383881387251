#!/usr/bin/env bats
# snitch-query: its answers equal SQL sums over the raw table, its errors,
# and reading while snitch-store writes, as a user who may only read.

load helper

QUERY=$SNITCH_BIN/snitch-query
STORE=$SNITCH_BIN/snitch-store
DAY=$(( 86400 * 1000000000 ))
HOUR=$(( 3600 * 1000000000 ))

q() { sqlite3 "$DB" "$@"; }

setup() {
	DB=$BATS_TEST_TMPDIR/db/snitch.db
}

teardown() {
	stop_started
}

# A log of a few days: executables, domains, addresses, ports, users, some
# NULLs, several windows a day and rows of more than one rollup bucket.
make_log() {
	local i t
	for i in $(seq 0 59); do
		t=$(( NOW - (i % 6) * DAY - (i % 5) * HOUR - i * 7000000000 ))
		store_flow "$t" $(( 100 + i * 13 )) $(( 1000 + i * 101 )) "
			.exe_path = \"/usr/bin/tool$(( i % 4 ))\" | .name = \"tool$(( i % 4 ))\"
			| .domain = (if $i % 7 == 0 then null else \"host$(( i % 5 )).example\" end)
			| .raddr = \"198.51.100.$(( i % 9 ))\" | .rport = $(( i % 3 == 0 ? 53 : 443 ))
			| .proto = (if $i % 3 == 0 then \"udp\" else \"tcp\" end)
			| .lport = $(( 40000 + i )) | .uid = (if $i % 11 == 0 then null else $(( 1000 + i % 2 )) end)
			| .app_kind = (if $i % 4 == 1 then \"flatpak\" else \"\" end)
			| .app = (if $i % 4 == 1 then \"org.example.Tool$(( i % 3 ))\" else \"\" end)
			| .script_path = (if $i % 4 == 2 then \"/opt/s$(( i % 2 )).py\" else null end)
			| .outcome = (if $i % 6 == 0 then \"refused\" elif $i % 6 == 1 then null
				elif $i % 6 == 2 then \"timeout\" else \"connected\" end)
			| if $i % 5 == 1 then .container_runtime = \"containerd\" | .container_id = (\"c1\" * 32)
				| .container_name = \"web\" | .container_image = \"nginx:1.25\"
				| .pod_namespace = \"shop\" | .pod_name = \"web-7d9f\" | .pod_uid = \"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\"
			  elif $i % 5 == 2 then .container_runtime = \"docker\" | .container_id = (\"d2\" * 32)
				| .container_name = \"db-1\" | .container_image = \"postgres:16\"
				| .pod_namespace = \"\" | .pod_name = \"\" | .pod_uid = \"\"
			  else . end"
	done > "$BATS_TEST_TMPDIR/in"
	"$STORE" --db "$DB" < "$BATS_TEST_TMPDIR/in"
}

# The sums snitch-query gives per value, as "key|sent|received|connections".
query_sums() {
	"$QUERY" --db "$DB" "$@" | jq -r --arg f "$F" '[(.[$f] // "NULL" | tostring), .sent, .received, .connections] | join("|")' | sort
}

@test "group-by each field, piped: NDJSON whose sums equal GROUP BY over the raw table" {
	make_log
	declare -A expr=(
		[exe]="e.path" [name]="e.name" [sha256]="e.sha256" [parent_exe]="p.path"
		[user]="c.uid" [lport]="c.lport" [rport]="c.rport" [laddr]="la.addr" [raddr]="ra.addr"
		[domain]="d.name" [netns]="c.netns" [proto]="c.proto" [country]="ra.country"
		[app]="e.app" [script]="e.script_path" [container]="ct.name"
		[container_name]="ct.container_name" [image]="ct.image"
		[pod_namespace]="ct.pod_namespace" [pod_name]="ct.pod_name" [outcome]="c.outcome"
	)
	for F in "${!expr[@]}"; do
		got=$(query_sums --since all --group-by "$F")
		want=$(q "SELECT coalesce(${expr[$F]}, 'NULL'), sum(c.send_bytes), sum(c.recv_bytes), count(*)
			FROM connections c LEFT JOIN executables e ON e.id = c.exe_id
			LEFT JOIN executables p ON p.id = c.parent_exe_id LEFT JOIN domains d ON d.id = c.domain_id
			LEFT JOIN addresses la ON la.id = c.laddr_id LEFT JOIN addresses ra ON ra.id = c.raddr_id
			LEFT JOIN containers ct ON ct.id = c.container_id
			GROUP BY ${expr[$F]}" | sort)
		[ -n "$got" ] && [ "$got" = "$want" ] || { echo "$F: got $got, want $want"; false; }
	done
}

@test "many raw rows (lport, a filter on it; 60,000 ports past the sums' limit): equal to GROUP BY over the raw table" {
	# 60,000 connections in a day, 28,000 local ports: lport is in no
	# rollup, so each of these reads every row raw
	"$SNITCH_TEST_BIN/querygen" 60000 1 | "$STORE" --db "$DB" --write-limit-s 1
	got=$(F=lport query_sums --since all --group-by lport)
	want=$(q "SELECT lport, sum(send_bytes), sum(recv_bytes), count(*) FROM connections GROUP BY lport" | sort)
	[ "$(wc -l <<< "$got")" -eq 28000 ]
	[ "$got" = "$want" ]
	# a key of text, from the raw rows a filter on lport leaves
	got=$(F=proto query_sums --since all --group-by proto --exclude lport=32768)
	want=$(q "SELECT coalesce(proto, 'NULL'), sum(send_bytes), sum(recv_bytes), count(*) FROM connections
		WHERE lport IS NOT 32768 GROUP BY proto" | sort)
	[ "$(wc -l <<< "$got")" -eq 2 ]
	[ "$got" = "$want" ]
	# a series of the top 3 ports, the other 27,997 summed as "other" in each minute
	a=$("$QUERY" --db "$DB" --since all --series 1m --group-by lport --top 3 --json)
	b=$("$QUERY" --db "$DB" --since all --series 1m --group-by lport --top 3 --json --raw)
	[ "$(jq -c 'select(.other)' <<< "$a" | wc -l)" -gt 1000 ]
	[ "$a" = "$b" ]
	# 60,000 ports, more sums than snitch_sum keeps (50,000): SQLite sums them
	DB=$BATS_TEST_TMPDIR/db/ports.db
	"$SNITCH_TEST_BIN/querygen" 60000 1 | awk '{ sub(/"lport":[0-9]+/, "\"lport\":" (NR + 1024)); print }' |
		"$STORE" --db "$DB" --write-limit-s 1
	got=$(F=lport query_sums --since all --group-by lport)
	want=$(q "SELECT lport, sum(send_bytes), sum(recv_bytes), count(*) FROM connections GROUP BY lport" | sort)
	[ "$(wc -l <<< "$got")" -eq 60000 ]
	[ "$got" = "$want" ]
}

@test "a key of more than 64 texts (outcomes): summed by SQLite instead, equal to SQL" {
	local i
	for i in $(seq 0 69); do
		store_flow $(( NOW - i * 1000000000 )) $(( 100 + i )) $(( 1000 + i )) ".outcome = \"odd$i\""
	done > "$BATS_TEST_TMPDIR/in"
	"$STORE" --db "$DB" < "$BATS_TEST_TMPDIR/in"
	for a in "" "--exclude lport=1"; do
		# shellcheck disable=SC2086
		got=$(F=outcome query_sums --since all --group-by outcome $a)
		want=$(q "SELECT outcome, sum(send_bytes), sum(recv_bytes), count(*) FROM connections GROUP BY outcome" | sort)
		[ "$(wc -l <<< "$got")" -eq 70 ]
		[ "$got" = "$want" ]
	done
}

@test "a time range, filters and exclusions equal the SQL of the same range" {
	make_log
	from=$(( NOW - 3 * DAY - 5 * HOUR ))
	until=$(( NOW - DAY + 1234000000000 ))
	F=exe
	got=$(query_sums --from "$(( from / 1000000000 ))" --until "$(( until / 1000000000 ))" \
		--group-by exe --where proto=tcp --exclude domain=host1.example)
	want=$(q "SELECT e.path, sum(send_bytes), sum(recv_bytes), count(*) FROM connections c
		JOIN executables e ON e.id = c.exe_id LEFT JOIN domains d ON d.id = c.domain_id
		WHERE window_start_ns >= $(( from / 1000000000 * 1000000000 )) AND window_start_ns < $(( until / 1000000000 * 1000000000 ))
		AND proto = 'tcp' AND d.name IS NOT 'host1.example' GROUP BY e.path" | sort)
	[ -n "$got" ]
	[ "$got" = "$want" ]
	# ISO 8601 gives the same range as seconds since the epoch
	iso_from=$(date -u -d "@$(( from / 1000000000 ))" +%Y-%m-%dT%H:%M:%SZ)
	iso_until=$(date -u -d "@$(( until / 1000000000 ))" +%Y-%m-%dT%H:%M:%S+00:00)
	[ "$(query_sums --from "$iso_from" --until "$iso_until" --group-by exe --where proto=tcp \
		--exclude domain=host1.example)" = "$got" ]
	# the attempts that carried nothing, by executable: from the rollups
	# (schema 10 keeps the outcome there), equal to the raw rows'
	got=$(query_sums --since all --group-by exe --exclude outcome=connected --exclude outcome=)
	want=$(q "SELECT e.path, sum(send_bytes), sum(recv_bytes), count(*) FROM connections c
		JOIN executables e ON e.id = c.exe_id
		WHERE outcome IS NOT 'connected' AND outcome IS NOT NULL GROUP BY e.path" | sort)
	[ -n "$got" ] && [ "$got" = "$want" ] || { echo "got $got, want $want"; false; }
	F=outcome
	got=$(query_sums --from "$(( from / 1000000000 ))" --until "$(( until / 1000000000 ))" \
		--group-by outcome --where exe=/usr/bin/tool1)
	want=$(q "SELECT coalesce(outcome, 'NULL'), sum(send_bytes), sum(recv_bytes), count(*)
		FROM connections c JOIN executables e ON e.id = c.exe_id
		WHERE window_start_ns >= $(( from / 1000000000 * 1000000000 )) AND window_start_ns < $(( until / 1000000000 * 1000000000 ))
		AND e.path = '/usr/bin/tool1' GROUP BY outcome" | sort)
	[ -n "$got" ] && [ "$got" = "$want" ] || { echo "got $got, want $want"; false; }
	# "domain=" is no domain; the top 2 and "other" sum to the whole
	F=domain
	[ "$(query_sums --since all --group-by domain --where domain=)" = \
		"NULL|$(q 'select sum(send_bytes), sum(recv_bytes), count(*) from connections where domain_id is null')" ]
	run "$QUERY" --db "$DB" --since all --group-by domain --top 2
	[ "$(echo "$output" | wc -l)" -eq 3 ]
	[ "$(echo "$output" | jq -s 'map(.sent) | add')" -eq "$(q 'select sum(send_bytes) from connections')" ]
	[ "$(echo "$output" | jq -s '.[2].other')" = true ]
	# totals and a series add up to the same
	run "$QUERY" --db "$DB" --since 7d
	[ "$(echo "$output" | jq .sent)" -eq "$(q 'select sum(send_bytes) from connections')" ]
	[ "$(echo "$output" | jq .executables)" -eq 4 ]
	[ "$(echo "$output" | jq .new_executables)" -eq 4 ]
	run "$QUERY" --db "$DB" --since 7d --series 1h --group-by exe --top 2
	[ "$(echo "$output" | jq -s 'map(.sent) | add')" -eq "$(q 'select sum(send_bytes) from connections')" ]
	[ "$(echo "$output" | jq -s 'map(.bucket_ns % 3600000000000) | unique')" = "[
  0
]" ]
}

@test "a terminal gets an aligned table in KiB, MiB; --bytes exact" {
	need_cmd script
	make_log
	run script -qec "'$QUERY' --db '$DB' --since all --group-by exe" /dev/null
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == exe*sent*received*connections* ]]
	[[ "$output" == *KiB* ]]
	run script -qec "'$QUERY' --db '$DB' --since all --bytes" /dev/null
	[[ "$output" == *"sent"*"$(q 'select sum(send_bytes) from connections')"* ]]
}

@test "sha256 groups and executables carry the VirusTotal verdict: NDJSON vt, a table column" {
	need_cmd script
	make_log
	{
		# store_flow's hash (every tool's) flagged by 3 of 70 engines
		jq -cn --argjson t "$NOW" '{v:1, type:"verdict", ts_ns:$t,
			sha256:"58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef2593",
			status:"known", malicious:2, suspicious:1, undetected:60, harmless:7, engines:70,
			analysis_ns:null, link:"https://vt.example/x", reason:null, uploaded:false,
			name:"tool0", exe_path:"/usr/bin/tool0"}'
		store_flow "$NOW" 3 3 '.exe_path = "/usr/bin/nv" | .name = "nv" | .exe_sha256 = ("d4" * 32)'
	} > "$BATS_TEST_TMPDIR/in2"
	"$STORE" --db "$DB" < "$BATS_TEST_TMPDIR/in2"
	run "$QUERY" --db "$DB" --since all --group-by sha256
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c 'select(.sha256 | startswith("5882")) | .vt')" = \
	  '{"status":"known","flagged":3,"engines":70,"link":"https://vt.example/x"}' ]
	[ "$(echo "$output" | jq -c 'select(.sha256 | startswith("d4d4")) | .vt')" = null ]
	# a field that is not a hash has none
	[ "$("$QUERY" --db "$DB" --since all --group-by exe | jq -s 'map(has("vt")) | any')" = false ]
	run "$QUERY" --db "$DB" --since all --executables
	[ "$(echo "$output" | jq -c 'select(.exe == "/usr/bin/tool0") | .sha256[0].vt.flagged')" -eq 3 ]
	# on a terminal: a virustotal column, 3/70 beside the hash
	run script -qec "'$QUERY' --db '$DB' --since all --group-by sha256" /dev/null
	[[ "${lines[0]}" == sha256*virustotal*sent* ]]
	[[ "$output" == *"58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef2593  3/70"* ]]
	run script -qec "'$QUERY' --db '$DB' --since all --executables" /dev/null
	[[ "${lines[0]}" == exe*sha256*virustotal* ]]
	[[ "$output" == *" 3/70 "* ]]
}

@test "--drill: one executable in depth, each list equal to the SQL over its rows" {
	make_log
	run --separate-stderr "$QUERY" --db "$DB" --since all --drill exe=/usr/bin/tool1
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.field == "exe" and .value == "/usr/bin/tool1" and (.domains | length) > 1 and (.ports | length) > 1'
	exe="(SELECT id FROM executables WHERE path = '/usr/bin/tool1')"
	[ "$(echo "$output" | jq -r '[.totals.sent, .totals.received] | join("|")')" = \
		"$(q "SELECT sum(send_bytes), sum(recv_bytes) FROM connections WHERE exe_id IN $exe")" ]
	[ "$(echo "$output" | jq -r '.domains[] | [(.domain // "NULL"), .sent] | join("|")' | sort)" = \
		"$(q "SELECT coalesce(d.name, 'NULL'), sum(send_bytes) FROM connections c
			LEFT JOIN domains d ON d.id = c.domain_id WHERE exe_id IN $exe GROUP BY d.name" | sort)" ]
	[ "$(echo "$output" | jq -r '.ports[] | [.rport, .sent] | join("|")' | sort)" = \
		"$(q "SELECT rport, sum(send_bytes) FROM connections WHERE exe_id IN $exe GROUP BY rport" | sort)" ]
	[ "$(echo "$output" | jq -r '.outcomes[] | [(.outcome // "NULL"), .sent, .connections] | join("|")' | sort)" = \
		"$(q "SELECT coalesce(outcome, 'NULL'), sum(send_bytes), count(*) FROM connections WHERE exe_id IN $exe GROUP BY outcome" | sort)" ]
	[ "$(echo "$output" | jq '.outcomes | length')" -eq 2 ]	# none, connected
	# the same from the raw rows alone
	[ "$("$QUERY" --db "$DB" --since all --drill exe=/usr/bin/tool1 --raw | jq -c .outcomes)" = "$(echo "$output" | jq -c .outcomes)" ]
	# a field that is not one, or no value: a usage error before the log is read
	for args in "exe" "nosuch=1" "=x"; do
		run --separate-stderr "$QUERY" --db "$BATS_TEST_TMPDIR/none.db" --drill "$args"
		[ "$status" -eq 2 ]
		[[ "$stderr" == *"--drill: '$args' is not FIELD=VALUE of a known field"* ]]
	done
}

@test "a bad field, value or time: one line naming it, exit 2" {
	make_log
	for args in "--group-by nosuch:nosuch" "--where nosuch=1:nosuch" "--where user=abc:abc" \
		"--exclude rport=x:rport" "--since 3x:3x" "--from yesterday:yesterday" \
		"--from 2026-02-30:2026-02-30" "--series 0m:0m" "--where exe:exe"; do
		run --separate-stderr "$QUERY" --db "$DB" ${args%%:*}
		[ "$status" -eq 2 ] || { echo "$args: status $status"; false; }
		[ -z "$output" ]
		[[ "${stderr_lines[0]}" == snitch-query:*"${args##*:}"* ]] || { echo "$args: $stderr"; false; }
	done
	run --separate-stderr "$QUERY" --db "$DB" --since 1h --from 2026-01-01
	[ "$status" -eq 2 ]
	run --separate-stderr "$QUERY" --db "$BATS_TEST_TMPDIR/none.db"
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"none.db"*"No such file"* ]]
	echo "not a database" > "$BATS_TEST_TMPDIR/junk.db"
	run --separate-stderr "$QUERY" --db "$BATS_TEST_TMPDIR/junk.db"
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"junk.db"*"not a database"* ]]
	# a log of version 8 has no app and no script: said, not an SQL error
	cp "$DB" "$BATS_TEST_TMPDIR/v8.db"
	sqlite3 "$BATS_TEST_TMPDIR/v8.db" 'pragma user_version = 8'
	for args in "--group-by app" "--where script=/x"; do
		run --separate-stderr "$QUERY" --db "$BATS_TEST_TMPDIR/v8.db" --since all $args
		[ "$status" -eq 2 ]
		[[ "$stderr" == *"needs a database of schema version 9 (this one is 8)"* ]]
	done
	# nor one of version 9 outcomes in its rollups
	sqlite3 "$BATS_TEST_TMPDIR/v8.db" 'pragma user_version = 9'
	run --separate-stderr "$QUERY" --db "$BATS_TEST_TMPDIR/v8.db" --since all --group-by outcome
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"needs a database of schema version 10 (this one is 9)"* ]]
}

@test "an empty log: zeros and no rows, not an error" {
	"$STORE" --db "$DB" < /dev/null
	run --separate-stderr "$QUERY" --db "$DB" --since all
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '[.sent, .connections, .executables]')" = "[0,0,0]" ]
	for a in "--group-by exe" "--series 1h" "--executables" "--group-by lport --top 3"; do
		run --separate-stderr "$QUERY" --db "$DB" --since all $a
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	done
}

@test "read-only, as a user of the database's group, while snitch-store writes" {
	local d
	need_root
	d=$(open_tmpdir)
	nobody_bin "$d"
	DB=$d/db/snitch.db
	fifo=$BATS_TEST_TMPDIR/in
	stream_start "$STORE" --db "$DB" --write-limit-s 1 --group nogroup --mode 0640
	stream_send "$(store_flow "$NOW" 5 5)"
	for i in $(seq 100); do
		[ "$(q 'select count(*) from connections' 2>/dev/null)" = 1 ] && break
		sleep 0.1
	done
	# rows keep coming while nobody (group nogroup) reads, again and again
	for i in $(seq 20); do
		stream_send "$(store_flow "$(( NOW + i * 1000000000 ))" 1 1 ".lport = $(( 41000 + i ))")"
		run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$NOBODY_BIN/snitch-query" --db "$DB" --since all --group-by lport
		[ "$status" -eq 0 ] || { echo "$stderr"; false; }
		sleep 0.1
	done
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	[ "$(q 'select sum(events) from connections')" -eq 21 ]
	# the reader wrote nothing: the database is the writer's alone
	[ "$(stat -c %U "$DB")" = root ] || [ "$(stat -c %u "$DB")" = "$(id -u)" ]
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$NOBODY_BIN/snitch-query" --db "$DB" --since all
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq .events)" -eq 21 ]
	# another user, not of the group, may not
	run --separate-stderr setpriv --reuid=nobody --regid=65533 --clear-groups \
		"$NOBODY_BIN/snitch-query" --db "$DB" --since all
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"Permission denied: reading the log takes the group 'nogroup' (sudo usermod -aG nogroup \$USER, then log in again)"* ]]
	rm -rf "$d"
}
