#!/usr/bin/env bats
# The live feed of snitch run (events.sock), snitch tail and snitch top:
# real traffic through the whole pipeline, readers that are slow or not
# allowed, and top driven through tmux (send-keys, capture-pane).

load helper

SNITCH=$SNITCH_BIN/snitch

# One snitch run for the file (its start takes seconds); each test uses
# it, or a run directory with no snitch in it.
setup_file() {
	need_bpf
	need_cmd tmux jq setpriv
	LD=$(open_tmpdir)
	export LD
	export SNITCH_CONF=$LD/etc/snitch.conf SNITCH_RUN_DIR=$LD/run \
		SNITCH_DB=$LD/lib/snitch.db SNITCH_STATE=$LD/lib/state.json \
		SNITCH_LOG_DIR=$LD/log SNITCH_WRITE_LIMIT_S=1 SNITCH_NO_DESKTOP=1 \
		SNITCH_STOP_TIMEOUT_S=20 SNITCH_EVENTS_QUEUE_KB=2048
	# as make install does: the group that may read the feed
	getent group snitch > /dev/null || groupadd --system snitch
	"$SNITCH" run > "$LD/run.out" 2> "$LD/run.err" 3>&- &
	echo $! > "$LD/run.pid"
	for _ in $(seq 1 200); do
		if grep -q 'snitch: started: ' "$LD/run.err" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "snitch run did not start:" >&2
	cat "$LD/run.err" >&2
	return 1
}

teardown_file() {
	local pid
	pid=$(cat "$LD/run.pid" 2>/dev/null) || true
	if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
		for _ in $(seq 1 250); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$LD"
}

setup() {
	D=$(open_tmpdir)
	TM=snitch-live-$$-$BATS_TEST_NUMBER
	READERS=
	FEED_BASE=$(accepted_now)
}

teardown() {
	tmux -L "$TM" kill-server 2> /dev/null || true
	# shellcheck disable=SC2086
	[ -z "$READERS" ] || kill -CONT $READERS 2> /dev/null || true
	stop_started $READERS
	rm -rf "$D"
}

# A copy of the traffic generator with a name no other test uses: $exe.
new_gen() {
	exe=$D/$1
	cp "$GEN" "$exe"
}

# The bytes a trafficgen run reported over all its processes: "SEND RECV".
gen_bytes() {
	jq -rs '"\(map(.send_bytes) | add) \(map(.recv_bytes) | add)"' "$1"
}

# The flow bytes of the records in FILE whose exe_path is PATH: "SEND RECV".
feed_bytes() {
	jq -rs --arg p "$2" '[.[] | select(.type == "flow" and .exe_path == $p)] |
		"\(map(.send_bytes) | add // 0) \(map(.recv_bytes) | add // 0)"' "$1"
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
	local s=$1
	shift
	for _ in $(seq 1 $((s * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# The readers the feed has accepted since snitch started, from a
# status.json written after this call began: the file is rewritten once a
# second, and one written before may still count readers of the last test.
accepted_now() {
	local mark=$D/status.mark
	touch "$mark"
	wait_for 5 test "$SNITCH_RUN_DIR/status.json" -nt "$mark" || {
		echo "status.json was not rewritten in 5 s" >&2
		return 1
	}
	jq -r .feed.connections "$SNITCH_RUN_DIR/status.json"
}

# readers N: N readers of this test have connected (FEED_BASE: setup's
# accepted_now). Counted by connections, which only grow: a count of
# readers could still hold the last test's, gone since.
readers() {
	[ "$(jq -r .feed.connections "$SNITCH_RUN_DIR/status.json")" -ge $((FEED_BASE + $1)) ]
}

# The records the last stage was given, from status.json.
notify_records() {
	jq -r '.stages[-1].records' "$SNITCH_RUN_DIR/status.json"
}

refused_at_least() {
	[ "$(jq -r .feed.refused "$SNITCH_RUN_DIR/status.json")" -ge "$1" ]
}

bytes_equal() {
	[ "$(feed_bytes "$1" "$2")" = "$3" ]
}

@test "snitch tail: the flows of real traffic, as jq reads them, filtered by type and field" {
	new_gen tailgen
	"$SNITCH" tail --type flow --where "exe_path=$exe" > "$D/tail.out" 2> "$D/tail.err" 3>&- &
	READERS=$!
	"$SNITCH" tail --type exec > "$D/exec.out" 2>&1 3>&- &
	READERS="$READERS $!"
	wait_for 10 readers 2
	"$exe" tcp4 > "$D/gen.out"
	want=$(gen_bytes "$D/gen.out")
	[ "$want" != "0 0" ]
	# every byte the generator moved, once its flows have ended
	wait_for 20 bytes_equal "$D/tail.out" "$exe" "$want" || {
		echo "tail has $(feed_bytes "$D/tail.out" "$exe"), the generator $want"; false; }
	# only flows, only of that executable, each line one record for jq
	jq -e -s 'length > 1 and all(.type == "flow" and .v == 1)' "$D/tail.out"
	[ "$(jq -r .exe_path "$D/tail.out" | sort -u)" = "$exe" ]
	# --type exec: the generator's own exec came on the other reader
	wait_for 10 grep -q "\"filename\":\"$exe\"" "$D/exec.out"
	jq -e -s 'all(.type == "exec")' "$D/exec.out"
	run "$SNITCH" tail --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Examples:"* ]]
}

@test "snitch tail: bad options say which, and no running snitch says how to start one" {
	run --separate-stderr "$SNITCH" tail --where novalue
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--where 'novalue': expected FIELD=VALUE"* ]]
	run --separate-stderr "$SNITCH" tail --frobnicate
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--frobnicate"* ]]
	run --separate-stderr "$SNITCH" tail extra
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"unexpected argument 'extra'"* ]]
	run --separate-stderr env SNITCH_RUN_DIR="$D/none" "$SNITCH" tail
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"no snitch is running"*"$D/none/events.sock"*"sudo snitch start"* ]]
	[ -z "$output" ]
}

@test "several readers get the same records" {
	new_gen multigen
	for i in 1 2 3; do
		"$SNITCH" tail --where "exe_path=$exe" > "$D/r$i.out" 2>&1 3>&- &
		READERS="$READERS $!"
	done
	wait_for 10 readers 3
	"$exe" udp4 > "$D/gen.out"
	"$exe" tcp4 >> "$D/gen.out"
	want=$(gen_bytes "$D/gen.out")
	wait_for 20 bytes_equal "$D/r3.out" "$exe" "$want"
	wait_for 5 bytes_equal "$D/r1.out" "$exe" "$want"
	wait_for 5 bytes_equal "$D/r2.out" "$exe" "$want"
	cmp "$D/r1.out" "$D/r2.out"
	cmp "$D/r1.out" "$D/r3.out"
	[ "$(wc -l < "$D/r1.out")" -ge 4 ]
}

@test "a reader stopped for 10 s does not slow the pipeline, and is told what it missed" {
	# two readers of everything: F reads on, S is stopped; C counts the
	# records of the load alone (other programs' traffic comes and goes)
	burst=$D/burst-$$
	cp "$SNITCH_TEST_BIN/connburst" "$burst"
	"$SNITCH" tail > "$D/fast.out" 2>&1 3>&- &
	F=$!
	"$SNITCH" tail > "$D/slow.out" 2>&1 3>&- &
	S=$!
	"$SNITCH" tail --type flow --where "exe_path=$burst" > "$D/load.out" 2>&1 3>&- &
	C=$!
	# Q, stopped with S, filters: it is told what it missed all the same
	"$SNITCH" tail --type exec > "$D/filtered.out" 2>&1 3>&- &
	Q=$!
	READERS="$F $S $C $Q"
	wait_for 10 readers 4
	# a steady load: 400 new connections a second for 26 s
	"$burst" 400 26 > "$D/burst.out" 3>&- &
	B=$!
	sleep 3
	t0=$(date +%s.%N) n0=$(wc -l < "$D/load.out") a0=$(notify_records)
	sleep 8
	t1=$(date +%s.%N) n1=$(wc -l < "$D/load.out") a1=$(notify_records)
	kill -STOP "$S" "$Q"
	sleep 10
	t2=$(date +%s.%N) n2=$(wc -l < "$D/load.out") a2=$(notify_records)
	kill -CONT "$S" "$Q"
	wait "$B"
	read -r before during <<< "$(awk -v n0="$n0" -v n1="$n1" -v n2="$n2" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
		'BEGIN { printf "%d %d\n", (n1 - n0) / (t1 - t0), (n2 - n1) / (t2 - t1) }')"
	read -r all_before all_during <<< "$(awk -v n0="$a0" -v n1="$a1" -v n2="$a2" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
		'BEGIN { printf "%d %d\n", (n1 - n0) / (t1 - t0), (n2 - n1) / (t2 - t1) }')"
	echo "# the load's records/s reaching the last stage: $before before the stop, $during during it" >&3
	echo "# (all records/s, with other programs' traffic: $all_before before, $all_during during)" >&3
	# the load is there, and the pipeline kept its pace while S slept
	[ "$before" -gt 500 ]
	[ "$during" -gt $((before * 8 / 10)) ]
	[ "$during" -lt $((before * 125 / 100)) ]
	# S missed records: more than its queue holds came while it slept
	missed=$(jq -r .feed.missed "$SNITCH_RUN_DIR/status.json")
	[ "$missed" -gt 0 ]
	wait_for 10 grep -q '"reason":"reader_slow"' "$D/slow.out"
	sleep 2
	wait_for 10 grep -q '"reason":"reader_slow"' "$D/filtered.out"
	kill "$F" "$S" "$C" "$Q"
	wait "$F" "$S" "$C" "$Q" || true
	READERS=
	! grep -q '"reason":"reader_slow"' "$D/fast.out" || false
	# S's stream is F's with holes, and before each hole's end a lost
	# record counting exactly the records in the hole
	if ! awk -v RS='\n' '
		NR == FNR { b[FNR] = $0; nb = FNR; next }
		/"type":"lost"/ && /"stage":"snitch"/ && /"reason":"reader_slow"/ {
			match($0, /"count":[0-9]+/)
			c = substr($0, RSTART + 8, RLENGTH - 8) + 0
			pending += c; told += c; nlost++; next
		}
		{
			j = i + 1
			while (j <= nb && b[j] != $0) j++
			# past the last line of F: F, stopped first, may not have
			# written what it read last; only the tail of S may be so
			if (j > nb) { if (!started) next; beyond++; next }
			if (beyond) { print "line " FNR " of S comes after lines not in F"; exit 1 }
			if (started && j - i - 1 != pending) { print "a hole of " j - i - 1 " records was told as " pending; exit 1 }
			if (started) holes += j - i - 1
			started = 1; pending = 0; i = j; matched++
		}
		END {
			print "S: " matched " records, " nlost " lost records counting " told "; holes in it: " holes
			if (!nlost || told != holes || told == 0 || matched < 100) exit 1
		}' "$D/fast.out" "$D/slow.out" > "$D/align"; then
		cat "$D/align"
		false
	fi
	echo "# $(cat "$D/align")" >&3
}

@test "readers connecting and leaving at any rate cost the pipeline no record" {
	new_gen churngen
	"$SNITCH" tail --where "exe_path=$exe" > "$D/steady.out" 2>&1 3>&- &
	READERS=$!
	wait_for 10 readers 1
	c0=$((FEED_BASE + 1))
	lost0=$(jq -c .lost "$SNITCH_RUN_DIR/status.json")
	# readers that come and go as fast as they can, for 8 s, some of them
	# stopped with a full queue and then killed
	(
		end=$((SECONDS + 8))
		while [ "$SECONDS" -lt "$end" ]; do
			timeout -s KILL 0.05 "$SNITCH" tail > /dev/null 2>&1 || true
			"$SNITCH" tail > /dev/null 2>&1 &
			p=$!
			sleep 0.02
			kill -STOP "$p" 2> /dev/null || true
			sleep 0.02
			kill -KILL "$p" 2> /dev/null || true
			wait "$p" 2> /dev/null || true
		done
	) 3>&- 2> /dev/null &
	churn=$!
	: > "$D/gen.out"
	for _ in 1 2 3 4 5; do
		"$exe" tcp4 >> "$D/gen.out"
		"$exe" udp4 >> "$D/gen.out"
	done
	wait "$churn"
	want=$(gen_bytes "$D/gen.out")
	# the steady reader got every byte, and so did the log
	wait_for 20 bytes_equal "$D/steady.out" "$exe" "$want" || {
		echo "the steady reader has $(feed_bytes "$D/steady.out" "$exe"), the generator $want"
		grep -v '"type":"flow"' "$D/steady.out" | head -20
		jq . "$SNITCH_RUN_DIR/status.json"
		false
	}
	! grep -q '"reason":"reader_slow"' "$D/steady.out" || false
	db_has() {
		[ "$(sqlite3 "$SNITCH_DB" "SELECT coalesce(sum(c.send_bytes), 0) || ' ' || coalesce(sum(c.recv_bytes), 0)
			FROM connections c JOIN executables e ON e.id = c.exe_id WHERE e.path = '$exe'")" = "$want" ]
	}
	wait_for 20 db_has
	c1=$(jq -r .feed.connections "$SNITCH_RUN_DIR/status.json")
	echo "# $((c1 - c0)) readers came and went" >&3
	[ $((c1 - c0)) -ge 50 ]
	# no loss anywhere in the pipeline meanwhile
	[ "$(jq -c .lost "$SNITCH_RUN_DIR/status.json")" = "$lost0" ]
	jq -e '[.stages[] | .alive] | all' "$SNITCH_RUN_DIR/status.json"
}

@test "an unprivileged user outside the group snitch cannot read the feed; a member can" {
	nobody_bin "$D"
	sock=$SNITCH_RUN_DIR/events.sock
	[ "$(stat -c '%a %G' "$sock")" = "660 snitch" ]
	# the mode keeps nobody out
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$NOBODY_BIN/snitch" tail
	echo "$stderr"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"permission denied"*"group 'snitch'"* ]]
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$NOBODY_BIN/snitch" top
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"permission denied"*"usermod -aG snitch"* ]]
	# opened by hand to all, SO_PEERCRED still refuses: no record leaks
	chmod 0666 "$sock"
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$NOBODY_BIN/snitch" tail
	chmod 0660 "$sock"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"neither root nor in the group 'snitch'"* ]]
	[ -z "$output" ]
	wait_for 3 refused_at_least 1
	# a member of the group reads it
	gid=$(getent group snitch | cut -d: -f3)
	setpriv --reuid=nobody --regid=nogroup --groups="$gid" \
		"$NOBODY_BIN/snitch" tail --type flow > "$D/member.out" 2> "$D/member.err" 3>&- &
	READERS=$!
	wait_for 10 readers 1
	new_gen membergen
	"$exe" tcp4 > /dev/null
	wait_for 10 grep -q "\"exe_path\":\"$exe\"" "$D/member.out" || { cat "$D/member.err"; false; }
}

# ---- snitch top, in tmux ----

# top_start COLS ROWS [ENV...]: snitch top in a tmux session of that size.
top_start() {
	local cols=$1 rows=$2
	shift 2
	tmux -L "$TM" -f /dev/null new-session -d -s top -x "$cols" -y "$rows" \
		"env LANG=C.UTF-8 TERM=xterm-256color $* $SNITCH top; echo top-exited-\$?; sleep 60"
	tmux -L "$TM" set-option -g set-clipboard on
}

screen() {
	tmux -L "$TM" capture-pane -p -t top
}

# wait_screen PATTERN [SECONDS]: until the screen matches the ERE.
wait_screen() {
	for _ in $(seq 1 $((${2:-10} * 10))); do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	echo "the screen never showed '$1'; it shows:" >&2
	screen >&2
	return 1
}

keys() {
	tmux -L "$TM" send-keys -t top "$@"
}

# The row of executable $1 in the summary (the first screen line naming it).
exe_row() {
	screen | grep -F -- "$1" | head -1
}

@test "top: the numbers on screen are the traffic's, in every unit" {
	top_start 160 40
	wait_screen 'EXECUTABLE'
	# only its rows: other programs' traffic would push them off the screen
	keys / t o p n u m g e n Enter
	wait_screen 'filter: topnumgen'
	new_gen topnumgen
	"$exe" tcp4 > "$D/gen.out"
	"$exe" udp4 >> "$D/gen.out"
	read -r send recv <<< "$(gen_bytes "$D/gen.out")"
	# units: bytes (SI, binary, bytes)
	keys u u
	wait_screen 'units: bytes'
	# the summary: SENT and RECEIVED, exactly, once the flows have ended
	for _ in $(seq 1 100); do
		row=$(exe_row "$exe")
		[[ "$row" =~ \ $send\ +$recv\  ]] && break
		sleep 0.2
	done
	echo "row: $row (want $send $recv)"
	[[ "$row" =~ ^topnumgen\ +([0-9]+)\ +.*\ $send\ +$recv\  ]]
	# connections: every flow of the generator's processes (tcp4: 2 sockets, udp4: 2)
	conns=${BASH_REMATCH[1]}
	[ "$conns" -ge 4 ]
	# the newest flows: rows naming it with their own bytes that add up
	screen | grep -E '^[0-9]{2}:[0-9]{2}:[0-9]{2} topnumgen ' > "$D/ev"
	[ "$(wc -l < "$D/ev")" -ge 2 ]
	# SI: the same total, as kB or B
	keys u
	wait_screen 'units: SI'
	want=$(awk -v v="$send" 'BEGIN { if (v < 1000) printf "%d B", v; else if (v < 10000) printf "%.1f kB", v / 1000; else printf "%.0f kB", v / 1000 }')
	exe_row "$exe" | grep -F -- " $want "
	keys q
	wait_screen 'top-exited-0'
}

@test "top: every key does what it says" {
	top_start 160 40
	wait_screen 'EXECUTABLE'
	new_gen topkeysgen
	"$exe" tcp4 > /dev/null
	wait_screen 'topkeysgen'
	# s: send rate, receive rate, total, name (the header says, the column is marked)
	wait_screen 'sort: total'
	screen | grep -q '\*SENT'
	keys s
	wait_screen 'sort: name'
	screen | grep -q 'EXECUTABLE (by name)'
	# sorted by name: the names of the summary are in order
	screen | sed -n '3,/^TIME/p' | grep -v '^TIME' | awk '{print $1}' | grep -v '^$' > "$D/names"
	sort -c "$D/names"
	keys s
	wait_screen 'sort: send rate'
	screen | grep -q '\*SEND/s'
	keys s
	wait_screen 'sort: receive rate'
	screen | grep -q '\*RECV/s'
	keys s
	wait_screen 'sort: total'
	# u: units
	keys u
	wait_screen 'units: binary'
	keys u
	wait_screen 'units: bytes'
	keys u
	wait_screen 'units: SI'
	# p: pause freezes the screen while traffic goes on; p again shows it
	keys p
	wait_screen 'PAUSED'
	new_gen toppausegen
	"$exe" tcp4 > /dev/null
	sleep 2.5
	! screen | grep -q toppausegen || false
	keys p
	wait_screen toppausegen 5
	! screen | grep -q PAUSED || false
	# /: filter by typing; Enter applies; only matching rows remain
	keys / t o p p a u
	wait_screen 'filter: toppau_'
	keys Enter
	wait_screen 'filter: toppau($|[^_])'
	# every row of both tables (between the header and the footer) is its
	# (the rows follow the footer by up to a refresh: wait for them, bounded)
	for i in $(seq 50); do
		screen | sed '1d;$d' | grep -v '^NAME \|^TIME ' | grep -v '^ *$' > "$D/rows"
		[ "$(wc -l < "$D/rows")" -ge 3 ] && break
		sleep 0.1
	done
	[ "$(wc -l < "$D/rows")" -ge 3 ]
	! grep -v toppau "$D/rows" || false
	! screen | grep -q topkeysgen || false
	# Esc clears the filter
	keys Escape
	wait_screen topkeysgen 5
	! screen | grep -q 'filter:' || false
	# ?: help, any key closes it
	keys '?'
	wait_screen 'snitch top: keys'
	screen | grep -q 'Any key closes this help'
	keys x
	for _ in $(seq 1 20); do screen | grep -q 'snitch top: keys' || break; sleep 0.1; done
	! screen | grep -q 'snitch top: keys' || false
	# q: quit, status 0
	keys q
	wait_screen 'top-exited-0'
}

@test "top: 80x24, resized, TERM=linux and NO_COLOR" {
	top_start 80 24 TERM=linux NO_COLOR=1
	wait_screen 'EXECUTABLE'
	new_gen topsizegen
	"$exe" tcp4 > /dev/null
	wait_screen topsizegen
	screen > "$D/80x24"
	cat "$D/80x24"
	[ "$(wc -l < "$D/80x24")" -eq 24 ]
	! awk 'length($0) > 80' "$D/80x24" | grep -q . || false
	head -1 "$D/80x24" | grep -q '^snitch top'
	grep -q '^NAME .*CONNS .*SEND/s .*RECV/s .*SENT .*RECEIVED .*LISTEN .*EXECUTABLE' "$D/80x24"
	grep -q '^TIME .*NAME .*PARENT .*GPARENT .*LPORT .*REMOTE .*SENT .*RECEIVED' "$D/80x24"
	tail -1 "$D/80x24" | grep -q ' executables\?, [0-9]* flows  s sort'
	# larger: the command line column appears; smaller again: all fits
	tmux -L "$TM" resize-window -t top -x 150 -y 40
	wait_screen 'COMMAND'
	[ "$(screen | wc -l)" -eq 40 ]
	tmux -L "$TM" resize-window -t top -x 80 -y 24
	for _ in $(seq 1 30); do screen | grep -q COMMAND || break; sleep 0.1; done
	! screen | grep -q COMMAND || false
	wait_screen '^snitch top' 3
	! screen | awk 'length($0) > 80' | grep -q . || false
	screen | head -1 | grep -q '^snitch top'
	# too small: says so instead of a jumble
	tmux -L "$TM" resize-window -t top -x 20 -y 5
	wait_screen 'too small'
	tmux -L "$TM" resize-window -t top -x 80 -y 24
	wait_screen 'EXECUTABLE'
	keys q
	wait_screen 'top-exited-0'
}

@test "top: names and arguments carrying terminal escapes are shown, never obeyed" {
	top_start 250 40
	wait_screen 'EXECUTABLE'
	title=$(tmux -L "$TM" display-message -p -t top '#{pane_title}')
	# a title change in the name; cursor moves, a screen clear and an OSC 52
	# clipboard write in the arguments
	new_gen "$(printf 'x\033]0;PWNED\007')"
	"$SNITCH" tail --type flow --where "exe_path=$exe" > "$D/tail.out" 2>&1 3>&- &
	READERS=$!
	wait_for 10 readers 2
	# alive a while after its traffic: on a loaded machine snitch-resolve
	# may read /proc only after it has gone, and the command line with it
	TRAFFICGEN_LINGER_MS=1500 "$exe" tcp4 "$(printf '\302\2331mC1 \377bad')" "$(printf '\033[2J\033[H\033[31mRED')" \
		"$(printf '\033]52;c;cHduZWQ=\007')" > /dev/null
	wait_screen 'PWNED'
	screen > "$D/screen"
	cat "$D/screen"
	# the name, visibly
	grep -qF 'x\e]0;PWNED\x07' "$D/screen"
	# the arguments, visibly
	grep -qF '\e[2J\e[H\e[31mRED' "$D/screen"
	grep -qF '\e]52;c;cHduZWQ=\x07' "$D/screen"
	grep -qF "\\x9b1mC1 $(printf '\357\277\275')bad" "$D/screen"
	# and nothing obeyed: the title, the clipboard, the screen are intact
	[ "$(tmux -L "$TM" display-message -p -t top '#{pane_title}')" = "$title" ]
	! tmux -L "$TM" show-buffer 2> /dev/null || false
	head -1 "$D/screen" | grep -q '^snitch top'
	grep -q '^TIME ' "$D/screen"
	# snitch tail: the same values, as JSON escapes only (no ESC, BEL or C1 byte)
	wait_for 10 grep -q '"phase":"end"' "$D/tail.out"
	! LC_ALL=C grep -q "$(printf '[\033\007]')" "$D/tail.out" || false
	! LC_ALL=C grep -q "$(printf '\302[\200-\237]')" "$D/tail.out" || false
	grep -qF '\u009b1mC1' "$D/tail.out"
	[ "$(jq -r .name "$D/tail.out" | head -1)" = "$(printf 'x\033]0;PWNED\007')" ]
	keys q
	wait_screen 'top-exited-0'
}

@test "top: no snitch running says how to start one, and connects when one starts" {
	top_start 100 30 SNITCH_RUN_DIR="$D/run"
	wait_screen 'No snitch is running'
	screen | grep -q 'sudo snitch start'
	screen | grep -q 'sudo snitch top --start'
	keys q
	wait_screen 'top-exited-0'
	# a terminal terminfo does not know: said, not a crash
	run --separate-stderr env TERM=no-such-terminal SNITCH_RUN_DIR="$D/run" "$SNITCH" top
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"TERM=no-such-terminal is unknown"* ]]
	# --start as a user who is not root: refused before the screen
	nobody_bin "$D"
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env SNITCH_RUN_DIR="$D/run" "$NOBODY_BIN/snitch" top --start
	echo "$stderr"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"needs root"* ]]
}

@test "top --start: runs its own snitch while it runs, and stops it on quit" {
	top_start 120 30 SNITCH_RUN_DIR="$D/run" SNITCH_DB="$D/lib/db" SNITCH_STATE="$D/lib/state.json" \
		SNITCH_LOG_DIR="$D/log" SNITCH_CONF=/dev/null
	keys q
	wait_screen 'top-exited-0'
	tmux -L "$TM" kill-server
	TM=$TM-start
	tmux -L "$TM" -f /dev/null new-session -d -s top -x 120 -y 30 \
		"env LANG=C.UTF-8 SNITCH_RUN_DIR=$D/run SNITCH_DB=$D/lib/db SNITCH_STATE=$D/lib/state.json SNITCH_LOG_DIR=$D/log SNITCH_CONF=/dev/null $SNITCH top --start; echo top-exited-\$?; sleep 60"
	wait_screen 'Starting snitch|EXECUTABLE'
	wait_screen 'EXECUTABLE' 30
	pid=$(cat "$D/run/snitch.pid")
	kill -0 "$pid"
	new_gen topstartgen
	"$exe" tcp4 > /dev/null
	wait_screen topstartgen 10
	keys q
	wait_screen 'top-exited-0' 40
	! kill -0 "$pid" 2> /dev/null || false
	[ ! -e "$D/run/events.sock" ]
	grep -q 'stopped: every stage has written what it held and exited' "$D/log/snitch.log"
}
