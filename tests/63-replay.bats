#!/usr/bin/env bats
# Nothing accepted is lost, kill any stage: snitch run keeps what it
# wrote to a stage until the stage confirms it, replays it to the next
# instance, and snitch-store skips what it had committed
# (docs/reliability.md, "Nothing accepted is lost").

load helper

setup() {
	D=$(open_tmpdir)
	export SNITCH_CONF=$D/etc/snitch.conf SNITCH_RUN_DIR=$D/run \
		SNITCH_DB=$D/lib/snitch.db SNITCH_STATE=$D/lib/state.json \
		SNITCH_LOG_DIR=$D/log SNITCH_WRITE_LIMIT_S=3 \
		SNITCH_NOTIFY_MAX_PER_MIN=1000 SNITCH_STOP_TIMEOUT_S=20 SNITCH_NO_DESKTOP=1 \
		SNITCH_TRACE_RINGBUF_KB=65536
	LOAD_PID=
	RUN_PID=
}

teardown() {
	load_stop
	# the big generator's pages leave the page cache
	[ -z "${exe:-}" ] || [ ! -e "$exe" ] || dd if="$exe" iflag=nocache count=0 status=none || true
	if [ -n "${RUN_PID:-}" ] && kill "$RUN_PID" 2>/dev/null; then
		for _ in $(seq 1 250); do
			kill -0 "$RUN_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "$RUN_PID" 2>/dev/null || true
		wait "$RUN_PID" 2>/dev/null || true
	fi
	rm -rf "$D"
}

stage_pid() {
	"$SNITCH" status --json | jq -r --arg n "$1" '.stages[] | select(.name == $n) | .pid'
}

# A steady load: the generator $exe over and over (each run two flows of
# known bytes, its report appended to $D/gen.out), until load_stop or
# for at most 60 s.
load_start() {
	(
		end=$(( $(date +%s) + 60 ))
		while [ ! -e "$D/load.stop" ] && [ "$(date +%s)" -lt "$end" ]; do
			"$exe" tcp4 >> "$D/gen.out"
			sleep 0.05
		done
	) 3>&- &
	LOAD_PID=$!
}

load_stop() {
	[ -n "${LOAD_PID:-}" ] || return 0
	touch "$D/load.stop"
	wait "$LOAD_PID" || true
	LOAD_PID=
}

# The bytes the generator's reports add up to, and the bytes the log
# holds for it: "SEND RECV".
gen_bytes() {
	jq -rs '"\(map(.send_bytes) | add) \(map(.recv_bytes) | add)"' "$D/gen.out"
}
db_bytes() {
	sqlite3 "$SNITCH_DB" "SELECT coalesce(sum(c.send_bytes), 0) || ' ' || coalesce(sum(c.recv_bytes), 0)
		FROM connections c JOIN executables e ON e.id = c.exe_id WHERE e.name = '$name'"
}

# The log holds exactly the generator's bytes, and no stage lost a record.
# Only snitch-trace may have lost events, to a ring buffer full with the
# machine's other load (other tests running at the same time): counted,
# not silent, and then the log holds at most the generator's bytes (a
# duplicate would still show: more bytes, or two rows alike below).
check_bytes() {
	local other trace
	other=$(sqlite3 "$SNITCH_DB" "SELECT count(*) FROM events WHERE type = 'lost'
		AND NOT (stage = 'snitch-trace' AND code LIKE 'ringbuf_full_%')")
	trace=$(sqlite3 "$SNITCH_DB" "SELECT coalesce(sum(count), 0) FROM events WHERE type = 'lost'
		AND stage = 'snitch-trace' AND code LIKE 'ringbuf_full_%'")
	echo "log: $(db_bytes), generator: $(gen_bytes), lost by snitch-trace: $trace, by others: $other"
	[ "$other" -eq 0 ]
	if [ "$trace" -eq 0 ]; then
		[ "$(db_bytes)" = "$(gen_bytes)" ]
	else
		echo "# snitch-trace lost $trace events to the machine's load: the log holds at most the generator's bytes" >&3
		read -r ls lr <<< "$(db_bytes)"
		read -r gs gr <<< "$(gen_bytes)"
		[ "$ls" -le "$gs" ]
		[ "$lr" -le "$gr" ]
	fi
}

# A flow record of the test's own: port $2, at time $1.
flow() {
	jq -cn --argjson t "$1" --argjson p "$2" '{v:1, type:"flow", ts_ns:$t, from_ns:$t, to_ns:$t,
		pid:42, comm:"curl", uid:0, exe_path:"/usr/bin/curl", family:"inet", proto:"tcp",
		laddr:"192.0.2.10", lport:$p, raddr:"198.51.100.7", rport:443, netns:1,
		send_bytes:100, recv_bytes:10}'
}

@test "snitch-store under snitch run: acks after its commit, a mark per run, a replay of committed input not logged twice" {
	need_cmd sqlite3 jq
	now=$(( $(date +%s) * 1000000000 ))
	for p in 1 2 3; do flow "$now" "$p"; done > "$D/in1"
	n=$(wc -c < "$D/in1")
	SNITCH_ACK=1 SNITCH_RUN_ID=run1 "$SNITCH_BIN/snitch-store" --db "$D/t.db" --tee < "$D/in1" > "$D/out1"
	# its tee output, then a confirmation of all its input, once committed
	[ "$(grep -c '"type":"flow"' "$D/out1")" -eq 3 ]
	tail -n 1 "$D/out1" | jq -e --argjson n "$n" '.type == "ack" and .in == $n and .kept == $n'
	[ "$(sqlite3 "$D/t.db" "SELECT run_id, input_offset FROM replay_marks")" = "run1|$n" ]
	[ "$(sqlite3 "$D/t.db" "SELECT count(*), sum(send_bytes) FROM connections")" = "3|300" ]

	# the same run replays it all, and one more: only the new one is logged
	# and passed on (the replayed ones are quiet: passed on before)
	{ echo "{\"type\":\"seek\",\"in\":0,\"quiet\":$n}"; cat "$D/in1"; flow "$now" 4; } > "$D/in2"
	m=$(( n + $(flow "$now" 4 | wc -c) ))
	SNITCH_ACK=1 SNITCH_RUN_ID=run1 "$SNITCH_BIN/snitch-store" --db "$D/t.db" --tee < "$D/in2" > "$D/out2"
	[ "$(grep -c '"type":"flow"' "$D/out2")" -eq 1 ]
	grep -q '"lport":4' "$D/out2"
	[ "$(sqlite3 "$D/t.db" "SELECT run_id, input_offset FROM replay_marks")" = "run1|$m" ]
	[ "$(sqlite3 "$D/t.db" "SELECT count(*), sum(send_bytes) FROM connections")" = "4|400" ]

	# a replay of lines committed but never passed on (its ack was lost
	# with it): passed on with --tee, not logged again
	{ echo '{"type":"seek","in":0,"quiet":0}'; cat "$D/in1"; flow "$now" 4; } > "$D/in2b"
	SNITCH_ACK=1 SNITCH_RUN_ID=run1 "$SNITCH_BIN/snitch-store" --db "$D/t.db" --tee < "$D/in2b" > "$D/out2b"
	[ "$(grep -c '"type":"flow"' "$D/out2b")" -eq 4 ]
	[ "$(sqlite3 "$D/t.db" "SELECT count(*), sum(send_bytes) FROM connections")" = "4|400" ]

	# another run's mark means nothing: its input is its own
	SNITCH_ACK=1 SNITCH_RUN_ID=run2 "$SNITCH_BIN/snitch-store" --db "$D/t.db" < "$D/in1" > /dev/null
	[ "$(sqlite3 "$D/t.db" "SELECT run_id, input_offset FROM replay_marks")" = "run2|$n" ]
	[ "$(sqlite3 "$D/t.db" "SELECT count(*), sum(send_bytes) FROM connections")" = "7|700" ]

	# outside snitch run: no ack, no mark, no seek understood
	"$SNITCH_BIN/snitch-store" --db "$D/u.db" --tee < "$D/in2" > "$D/out3" 2> "$D/err3"
	! grep -q '"type":"ack"' "$D/out3" || false
	[ "$(sqlite3 "$D/u.db" "SELECT count(*) FROM replay_marks")" -eq 0 ]
	[ "$(sqlite3 "$D/u.db" "SELECT count(*) FROM connections")" -eq 4 ]
}

@test "kill -9 of snitch-resolve, -hash, -store and -notify in turn under load: every known byte logged, none twice" {
	need_bpf
	need_cmd sqlite3 jq
	mkdir -p "$D/gen"
	name=rp$RANDOM$RANDOM
	name=${name:0:14}
	exe=$D/gen/$name
	cp "$GEN" "$exe"
	run_start
	load_start
	sleep 1
	for round in 1 2; do
		for stage in snitch-resolve snitch-hash snitch-store snitch-notify; do
			old=$(stage_pid "$stage")
			[ "$old" -gt 0 ]
			kill -9 "$old"
			t0=$(date +%s%N)
			new=$old
			while [ "$new" = "$old" ] || [ "$new" = null ] || [ "$new" -le 0 ]; do
				[ $(($(date +%s%N) - t0)) -lt 5000000000 ] || { echo "$stage not back in 5 s"; false; }
				sleep 0.05
				new=$(stage_pid "$stage")
			done
			echo "# round $round: $stage back in $((($(date +%s%N) - t0) / 1000000)) ms" >&3
			sleep 0.$(( RANDOM % 6 + 4 ))
		done
	done
	load_stop
	sleep 1.5
	"$SNITCH" status --json > "$D/status.json"
	run_stop
	cat "$D/run.err"
	[ "$RUN_STATUS" -eq 0 ]
	# shown only if it fails: the losses, and the rows of the generator
	jq -c '.lost, [.stages[] | {name, starts, replayed_bytes}]' "$D/status.json"
	sqlite3 "$SNITCH_DB" "SELECT stage, code, count, message FROM events WHERE type = 'lost'"
	runs=$(wc -l < "$D/gen.out")
	echo "# $runs generator runs ($(gen_bytes) bytes), replayed: $(jq -c '[.stages[] | .replayed_bytes]' "$D/status.json")" >&3
	[ "$runs" -ge 40 ]
	# every stage was killed and replayed to
	for stage in snitch-resolve snitch-hash snitch-store snitch-notify; do
		jq -e --arg n "$stage" '.stages[] | select(.name == $n) | .starts == 3' "$D/status.json"
	done
	# no stage lost a record, and the log holds exactly the known bytes
	check_bytes
	# nothing twice: no two rows of one flow alike (a replayed window
	# logged again would repeat its rows exactly)
	[ "$(sqlite3 "$SNITCH_DB" "SELECT count(*) FROM (SELECT 1 FROM connections c
		JOIN executables e ON e.id = c.exe_id WHERE e.name = '$name'
		GROUP BY c.window_start_ns, c.lport, c.rport, c.first_ns, c.last_ns, c.send_bytes, c.recv_bytes
		HAVING count(*) > 1)")" -eq 0 ]
}

@test "kill -9 of snitch-hash while it holds records back for a slow hash: they are replayed, hashed and logged once" {
	need_bpf
	need_cmd sqlite3 jq
	mkdir -p "$D/gen"
	name=rq$RANDOM$RANDOM
	name=${name:0:14}
	exe=$D/gen/$name
	cp "$GEN" "$exe"
	# 2 GiB (sparse: no disk): each new snitch-hash takes seconds over it
	# (1.3 s of CPU for SHA-256 alone, 4-9 s here), and holds the
	# generator's records meanwhile
	truncate -s 2G "$exe"
	sha=$(sha_of "$exe")
	run_start
	load_start
	sleep 2
	for k in 1 2 3; do
		old=$(stage_pid snitch-hash)
		[ "$old" -gt 0 ]
		# its next instance reads the file again, not the page cache
		dd if="$exe" iflag=nocache count=0 status=none
		kill -9 "$old"
		t0=$(date +%s%N)
		new=$old
		while [ "$new" = "$old" ] || [ "$new" = null ] || [ "$new" -le 0 ]; do
			[ $(($(date +%s%N) - t0)) -lt 5000000000 ] || { echo "snitch-hash not back in 5 s"; false; }
			sleep 0.05
			new=$(stage_pid snitch-hash)
		done
		# the records it gets now wait for its hash (over 1 s of CPU)
		sleep 0.8
	done
	sleep 1
	load_stop
	# the last one hashes it all, then lets the records go
	for _ in $(seq 1 400); do
		[ "$(db_bytes)" = "$(gen_bytes)" ] && break
		sleep 0.1
	done
	"$SNITCH" status --json > "$D/status.json"
	run_stop
	[ "$RUN_STATUS" -eq 0 ]
	jq -c '.lost, [.stages[] | {name, starts, replayed_bytes}]' "$D/status.json"
	sqlite3 "$SNITCH_DB" "SELECT e.sha256, count(*), sum(c.send_bytes) FROM connections c
		JOIN executables e ON e.id = c.exe_id WHERE e.name = '$name' GROUP BY 1"
	sqlite3 "$SNITCH_DB" "SELECT stage, code, count, message FROM events WHERE type = 'lost'"
	echo "log: $(db_bytes), generator: $(gen_bytes)"
	replayed=$(jq '.stages[] | select(.name == "snitch-hash") | .replayed_bytes' "$D/status.json")
	echo "# $(wc -l < "$D/gen.out") generator runs, $replayed bytes replayed to snitch-hash" >&3
	# held records were replayed (dozens each time), not only seek lines
	[ "$replayed" -gt 50000 ]
	check_bytes
	# every row has the hash: none went out unhashed, none twice
	[ "$(sqlite3 "$SNITCH_DB" "SELECT count(*) FROM connections c JOIN executables e ON e.id = c.exe_id
		WHERE e.name = '$name' AND (e.sha256 IS NULL OR e.sha256 <> '$sha')")" -eq 0 ]
	[ "$(sqlite3 "$SNITCH_DB" "SELECT count(*) FROM (SELECT 1 FROM connections c
		JOIN executables e ON e.id = c.exe_id WHERE e.name = '$name'
		GROUP BY c.window_start_ns, c.lport, c.rport, c.first_ns, c.last_ns, c.send_bytes, c.recv_bytes
		HAVING count(*) > 1)")" -eq 0 ]
}
