#!/usr/bin/env bats
# snitch-trace never waits for its reader: records wait in a bounded queue
# of its own while the reader is stopped, the kernel's ring buffer is read
# on, and nothing is lost; what the queue cannot hold is counted lost.

load helper

BURST=$SNITCH_TEST_BIN/connburst

teardown() {
	[ -z "${READER_PID:-}" ] || kill -CONT "$READER_PID" 2>/dev/null || true
	stop_started ${LOAD_PIDS:-} ${READER_PID:-}
}

# bp_start DIR [ARGS...]: `snitch-trace ARGS | cat > DIR/out`, a real shell
# pipeline; TRACE_PID and READER_PID are its two ends.
bp_start() {
	local d=$1 i
	shift
	sh -c 'echo $$ > "$1"; shift; exec "$@"' sh "$d/trace.pid" "$TRACE" "$@" 2> "$d/trace.err" 3>&- |
		sh -c 'echo $$ > "$1"; exec cat > "$2"' sh "$d/reader.pid" "$d/out" 3>&- &
	for i in $(seq 100); do
		grep -q 'counting TCP' "$d/trace.err" 2>/dev/null && break
		sleep 0.1
	done
	TRACE_PID=$(cat "$d/trace.pid")
	READER_PID=$(cat "$d/reader.pid")
	grep -q 'counting TCP' "$d/trace.err" || { cat "$d/trace.err" >&2; return 1; }
}

# bp_load DIR SECONDS: connburst at 200 connections a second, and a
# trafficgen TCP exchange of known bytes every 0.1 s, for SECONDS.
bp_load() {
	local d=$1 s=$2
	cp "$GEN" "$d/gen-bp"
	"$BURST" 200 "$s" > "$d/burst" 3>&- &
	LOAD_PIDS=$!
	(
		end=$((SECONDS + s))
		while [ "$SECONDS" -lt "$end" ]; do
			"$d/gen-bp" tcp4 >> "$d/report" 2>> "$d/report.err" || true
			sleep 0.1
		done
	) 3>&- &
	LOAD_PIDS="$LOAD_PIDS $!"
}

bp_wait_load() {
	local p
	for p in $LOAD_PIDS; do
		wait "$p"
	done
	LOAD_PIDS=
}

# SIGINT to snitch-trace; the reader then sees the end of its input.
bp_stop() {
	local i
	kill -INT "$TRACE_PID"
	for i in $(seq 200); do
		running "$READER_PID" || break
		sleep 0.1
	done
	! running "$READER_PID" || { echo "the reader did not see the end" >&2; return 1; }
	wait "$READER_PID" 2>/dev/null || true
	TRACE_PID= READER_PID=
}

# The bytes the exchanges reported, and those traced for their pids.
known_bytes() {
	jq -s 'map(.send_bytes + .recv_bytes) | add' "$1/report"
}

traced_total() {
	local ino
	ino=$(stat -c %i "$1/gen-bp")
	jq -n --argjson ino "$ino" --slurpfile r "$1/report" \
		'($r | map(.pid)) as $pids
		 | [inputs | select(.type == "flow" and .exe_ino == $ino and (.pid as $p | $pids | index($p)))]
		 | map(.send_bytes + .recv_bytes) | add // 0' "$1/out"
}

# The sockets of connburst seen (its pid: the connecting and the accepting
# thread), against the two of each connection it made.
burst_sockets() {
	local pid
	pid=$(jq .pid "$1/burst")
	jq -r --argjson pid "$pid" 'select(.type == "flow" and .pid == $pid) | .sock_cookie' "$1/out" | sort -u | wc -l
}

@test "a reader stopped 15 s under load: snitch-trace queues, loses nothing, and every byte adds up" {
	need_bpf
	[ -x "$BURST" ] || cannot_run "needs build/tests/connburst"
	d=$BATS_TEST_TMPDIR
	bp_start "$d" --stats-s 1
	kill -STOP "$READER_PID"
	bp_load "$d" 12
	sleep 15
	# snitch-trace went on reading the ring buffer all along
	running "$TRACE_PID"
	kill -CONT "$READER_PID"
	bp_wait_load
	sleep 1.5
	bp_stop
	out=$d/out
	# no lost record of any reason, from any stage
	run jq -c 'select(.type == "lost")' "$out"
	echo "lost: $output"
	[ -z "$output" ]
	# every byte of the known exchanges is there
	want=$(known_bytes "$d")
	got=$(traced_total "$d")
	n=$(wc -l < "$d/report")
	echo "$n exchanges: $want bytes sent and received, $got traced"
	[ "$n" -ge 50 ]
	[ "$want" -gt 0 ]
	[ "$got" -eq "$want" ]
	# every socket of the connections
	conns=$(jq .connections "$d/burst")
	[ "$(jq .failed "$d/burst")" -eq 0 ]
	seen=$(burst_sockets "$d")
	echo "connburst: $conns connections, $seen of $((conns * 2)) sockets seen"
	[ "$conns" -ge 1500 ]
	[ "$seen" -eq $((conns * 2)) ]
	# the queue held the stall, and said so in its stats records
	jq -c 'select(.type == "stats")' "$out" | tail -3
	peak=$(jq -s 'map(select(.type == "stats" and .stage == "snitch-trace") | .queue_peak_bytes) | max' "$out")
	echo "queue peak: $peak bytes"
	[ "$peak" -gt 1048576 ]
	jq -e -s 'map(select(.type == "stats" and .stage == "snitch-trace")) | length >= 10 and all(.[]; .queue_full == 0 and .queue_size == 268435456)' "$out"
	# the last one, at exit, after the queue was written out
	jq -e -s 'map(select(.type == "stats")) | last | .queue_bytes < 1048576' "$out"
	# and records stayed in order: each socket's new before its end
	jq -e -s 'map(select(.type == "flow")) | group_by(.sock_cookie)
		| all(.[]; (map(.phase) | (index("new") // 0) <= (rindex("end") // 1e9)))' "$out" > /dev/null
}

@test "a queue too small for the stall: what it cannot hold is counted lost, never silently" {
	need_bpf
	[ -x "$BURST" ] || cannot_run "needs build/tests/connburst"
	d=$BATS_TEST_TMPDIR
	bp_start "$d" --stats-s 1 --queue-size 64K --ringbuf-kb 64
	kill -STOP "$READER_PID"
	bp_load "$d" 5
	sleep 6
	running "$TRACE_PID"
	kill -CONT "$READER_PID"
	bp_wait_load
	sleep 1.5
	bp_stop
	out=$d/out
	jq -c 'select(.type == "lost")' "$out"
	lost=$(jq -s 'map(select(.type == "lost") | .count) | add // 0' "$out")
	conns=$(jq .connections "$d/burst")
	seen=$(burst_sockets "$d")
	echo "connburst: $conns connections, $seen of $((conns * 2)) sockets seen; $lost counted lost"
	# some were lost, and the losses were counted: records the queue
	# dropped, or events the ring buffer had no room for
	[ "$seen" -lt $((conns * 2)) ]
	[ "$lost" -gt 0 ]
	[ $((conns * 2 - seen)) -le "$lost" ]
	jq -e -s 'map(select(.type == "lost" and .stage == "snitch-trace")) | all(.[]; .reason == "queue_full" or (.reason | startswith("ringbuf_full")))' "$out"
}

@test "--queue-size takes K, M and G, and refuses the rest with one line" {
	run --separate-stderr "$TRACE" --queue-size 12x
	[ "$status" -eq 2 ]
	[[ "$stderr" == "snitch-trace: --queue-size must be a size from 64K to 64G, such as 256M, not '12x'"* ]]
	run --separate-stderr "$TRACE" --queue-size 1K
	[ "$status" -eq 2 ]
	run --separate-stderr "$TRACE" --help
	[[ "$output" == *"--queue-size BYTES"* ]]
	[[ "$output" == *'[$SNITCH_TRACE_QUEUE_SIZE]'* ]]
	[[ "$output" == *"snitch-trace --queue-size 1G"* ]]
}

@test "SIGINT with the reader stopped: snitch-trace gives up writing its queue after 3 s, says so, and its reader sees the end" {
	need_bpf
	[ -x "$BURST" ] || cannot_run "needs build/tests/connburst"
	d=$BATS_TEST_TMPDIR
	bp_start "$d"
	kill -STOP "$READER_PID"
	bp_load "$d" 3
	bp_wait_load
	start=$(date +%s%N)
	kill -INT "$TRACE_PID"
	for i in $(seq 100); do
		running "$TRACE_PID" || break
		sleep 0.1
	done
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	! running "$TRACE_PID" || false
	echo "snitch-trace ended $ms ms after SIGINT"
	grep 'bytes of records were not written: the reader did not take them within 3 s of the stop' "$d/trace.err"
	[ "$ms" -ge 2900 ]
	[ "$ms" -le 6000 ]
	kill -CONT "$READER_PID"
	for i in $(seq 100); do
		running "$READER_PID" || break
		sleep 0.1
	done
	! running "$READER_PID" || false
	READER_PID= TRACE_PID=
}
