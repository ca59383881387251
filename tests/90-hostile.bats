#!/usr/bin/env bats
# A hostile process (issue 15 §4): a name, command line and executable path
# with SQL quotes, commas, newlines, an empty argument, control bytes,
# terminal escapes and invalid UTF-8, and a 1 MiB command line, making
# real loopback traffic under the real pipeline. Stored and shown exactly
# or safely: SQLite, the records, the CSV log, PostgreSQL and MariaDB
# (snitch-remote), snitch-web's API and pages (headless chromium), snitch
# tui and snitch top (tmux). (tests/bin/hostile.c makes the process;
# tests/hostile.py and tests/web/browser.py's "hostile" check.)

load helper
source "$BATS_TEST_DIRNAME/web.bash"

HOSTILE=$SNITCH_TEST_BIN/hostile
CHECK=$BATS_TEST_DIRNAME/hostile.py

setup() {
	D=$BATS_TEST_TMPDIR
	PIPE_PID=
	WEB_PID=
	SERVERS=
	TM=
	LD=
}

teardown() {
	[ -z "$TM" ] || $TM kill-server 2> /dev/null || true
	stop_started $PIPE_PID $WEB_PID
	if [ -n "${SERVERS:-}" ]; then
		pg_down > /dev/null 2>&1 || true
		my_down > /dev/null 2>&1 || true
		rm -rf "$SERVERS"
	fi
	[ -z "$LD" ] || rm -rf "$LD"
}

# hostile_run BYTES: the pipeline trace | resolve | hash | store (with
# --csv, --emit-rows), the hostile process, then the pipeline stopped;
# its facts in $D/h.json, the records in $D/out, the log in $D/db.
hostile_run() {
	mkfifo "$D/trace.fifo"
	mkdir "$D/exe"
	( "$RESOLVE" < "$D/trace.fifo" | "$HASH" |
		"$STORE" --db "$D/db" --csv "$D/log.csv" --tee --emit-rows > "$D/out" ) 2> "$D/pipe.err" 3>&- &
	PIPE_PID=$!
	trace_start "$D/trace.fifo"
	timeout 30 "$HOSTILE" "$D/exe" "$1" > "$D/h.json"
	# the flow's last update: snitch-trace writes an ended flow at once
	sleep 1
	trace_stop
	for i in $(seq 200); do
		running "$PIPE_PID" || break
		sleep 0.1
	done
	! running "$PIPE_PID" || { echo "the pipeline did not end" >&2; return 1; }
	wait "$PIPE_PID"
	PIPE_PID=
}

@test "a hostile name, command line and path are stored exactly in SQLite, the records and the CSV log" {
	need_root
	need_bpf
	need_cmd python3
	hostile_run 300000
	cat "$D/h.json"
	# every record line is valid JSON (the line limit is 1 MiB)
	python3 "$CHECK" records "$D/h.json" "$D/out"
	python3 "$CHECK" sqlite "$D/h.json" "$D/db"
	python3 "$CHECK" csv "$D/h.json" "$D/log.csv"
	# no stage complained of a line it could not read
	! grep -q '"code":"\(malformed_input\|line_too_long\)"' "$D/out" || false
}

@test "snitch-web answers valid JSON for the hostile executable, its name round-trips" {
	need_root
	need_bpf
	need_cmd python3 curl
	hostile_run 200000
	web_start --db "$D/db"
	api 'executables?range=1h'
	[ "$API_STATUS" = 200 ]
	printf '%s' "$API_BODY" > "$D/executables.json"
	api 'group?range=1h&group=name'
	[ "$API_STATUS" = 200 ]
	printf '%s' "$API_BODY" > "$D/names.json"
	api 'group?range=1h&group=cmdline'
	[ "$API_STATUS" = 200 ]
	printf '%s' "$API_BODY" > "$D/cmdlines.json"
	python3 "$CHECK" web "$D/h.json" "$D/executables.json" "$D/names.json" "$D/cmdlines.json"
	# a filter by that name (percent-encoded) finds the bytes again
	name=$(python3 "$CHECK" urlname "$D/h.json" "$D/names.json")
	api "summary?range=1h&f=name:$name"
	[ "$API_STATUS" = 200 ]
	[ "$(jq -r .totals.sent <<< "$API_BODY")" -eq 200000 ]
}

@test "PostgreSQL and MariaDB through snitch-remote: the hostile row arrives; invalid UTF-8 as U+FFFD, the command line exact" {
	need_root
	need_bpf
	need_cmd python3 mariadbd mariadb-install-db
	ls -d /usr/lib/postgresql/*/bin > /dev/null 2>&1 || cannot_run "needs PostgreSQL (run 'sudo make deps')"
	hostile_run 100000
	SERVERS=$(open_tmpdir)
	# servers of this test's own, on unix sockets in its own directory
	# (PostgreSQL's socket is named by a port: a random one, not 45-remote's)
	PG_PORT=$(shuf -i 20000-60000 -n 1)
	pg_start "$SERVERS/pg" > "$SERVERS/pg.log" 2>&1 || { cat "$SERVERS"/pg/*.log "$SERVERS/pg.log" >&2; false; }
	PG_ADMIN="runuser -u postgres -- psql -X -q -A -t -v ON_ERROR_STOP=1 -h $PG_DIR -p $PG_PORT -U postgres"
	my_start "$SERVERS/my" > "$SERVERS/my.log" 2>&1 || { cat "$SERVERS/my.log" >&2; false; }
	MY_ADMIN="mariadb --no-defaults -N -B -S $MY_DIR/sock -u root"
	grep '"type":"row"' "$D/out" > "$D/rows"
	timeout 30 "$REMOTE" --remote "$PG_URL_WRITER" --spool "$D/pg.spool" --host-name h-pg < "$D/rows"
	timeout 30 "$REMOTE" --remote "$MY_URL_WRITER" --spool "$D/my.spool" --host-name h-my < "$D/rows"
	# as hex: path, name, cmdline, the bytes sent, of every executable
	$PG_ADMIN -F '|' -c "select encode(convert_to(e.path, 'UTF8'), 'hex'), encode(convert_to(e.name, 'UTF8'), 'hex'),
		encode(convert_to(e.cmdline, 'UTF8'), 'hex'), sum(c.send_bytes)
		from connections c join executables e on e.id = c.exe_id group by e.id, e.path, e.name, e.cmdline" snitch > "$D/pg.rows"
	$MY_ADMIN -e "select concat_ws('|', coalesce(hex(e.path), ''), coalesce(hex(e.name), ''), coalesce(hex(e.cmdline), ''), sum(c.send_bytes))
		from connections c join executables e on e.id = c.exe_id group by e.id, e.path, e.name, e.cmdline" snitch > "$D/my.rows"
	pg_down
	my_down
	rm -rf "$SERVERS"
	SERVERS=
	python3 "$CHECK" remote "$D/h.json" "$D/pg.rows" PostgreSQL
	python3 "$CHECK" remote "$D/h.json" "$D/my.rows" MariaDB
}

# The terminal view of the log: snitch tui in a tmux of this test's own.
tscreen() { $TM capture-pane -p; }

# wait_tscreen REGEX: until the screen matches and is still (at most 5 s).
wait_tscreen() {
	local i a b
	for i in $(seq 50); do
		if a=$(tscreen) && grep -qE -- "$1" <<< "$a" && [[ "$a" != *"reading the log..."* ]]; then
			sleep 0.05
			b=$(tscreen)
			[ "$a" = "$b" ] && return 0
		fi
		sleep 0.1
	done
	echo "the screen never showed '$1':"
	tscreen
	return 1
}

@test "snitch tui shows the hostile name, path and 1 MiB command line as inert text: no title, no clipboard, no clear" {
	need_root
	need_bpf
	need_cmd tmux
	hostile_run 100000
	TM="tmux -L snitch-hostile-$$-$BATS_TEST_NUMBER -f /dev/null"
	# (the tmux server without bats's fd 3, or bats would wait for it)
	$TM new-session -d -x 130 -y 24 \
		"env LC_ALL=C.UTF-8 TERM=xterm-256color NO_COLOR=1 $SNITCH_BIN/snitch-tui --db '$D/db' --range all" 3>&-
	$TM set-option -g remain-on-exit on > /dev/null
	$TM set-option -g set-clipboard on > /dev/null
	title=$($TM display -p '#{pane_title}')
	wait_tscreen 'TOTAL'
	# the name (the comm at exec, or the one it set: snitch-resolve names a
	# process as it first sees it): quotes, comma, newline, ESC, BEL and
	# invalid UTF-8 visible as text
	$TM send-keys Left Down
	wait_tscreen "│(it's \"evil\",x\\\\n\\\\e|a'b\"c,\\\\n\\\\e\\]0;\\\\x07$(printf '\357\277\275\357\277\275')) +"
	# the command line: the escapes as text, invalid UTF-8 as U+FFFD
	$TM send-keys Down
	wait_tscreen '│Process command line'
	tscreen > "$D/screen"
	cat "$D/screen"
	grep -qF 'exe/it'"'"'s "evil",x\n\e[2J\e]0;pwned\x07\x01'"$(printf '\357\277\275')" "$D/screen"
	# filtered by it: sorted by bytes sent, its row comes first (the
	# server's ties with it on the total); the breadcrumb, 8 kB of command
	# line, shows its end on one line
	$TM send-keys s
	wait_tscreen 'sort: sent'
	$TM send-keys Right
	sleep 0.3
	$TM send-keys Enter
	wait_tscreen '^filters: …A+$'
	wait_tscreen 'TOTAL 1 row '
	tscreen > "$D/screen2"
	cat "$D/screen2"
	# the terminal kept its title and clipboard; nothing cleared or moved
	[ "$($TM display -p '#{pane_title}')" = "$title" ]
	[ -z "$($TM list-buffers)" ]
	for s in "$D/screen" "$D/screen2"; do
		[[ "$(sed -n 1p "$s")" == "snitch tui  range: all time"* ]]
		[ "$(wc -l < "$s")" -eq 24 ]
		grep -q '^Enter filter' "$s"
		# capture-pane shows what tmux drew: no ESC or BEL reached it as text
		! LC_ALL=C grep -q "$(printf '[\033\007]')" "$s" || false
	done
	grep -q 'exe/it'"'"'s "evil",x\\n\\e\[2J' "$D/screen2"
	$TM send-keys q
	$TM kill-server 2> /dev/null || true
}

@test "snitch-web's pages in a browser show the hostile process as text: no raw control byte, no markup or script obeyed" {
	need_root
	need_bpf
	need_cmd chromium python3 curl
	hostile_run 100000
	web_start --db "$D/db"
	ARTIFACTS=$SNITCH_TOP/test-artifacts/web
	run --separate-stderr timeout 120 python3 "$SNITCH_TOP/tests/web/browser.py" hostile "$WEB_URL" "$D/db" "$ARTIFACTS"
	[ -z "$stderr" ] || echo "$stderr" >&2
	[ "$status" -eq 0 ]
}

@test "snitch top shows the hostile process live as inert text: no title, no clipboard, the screen intact" {
	need_root
	need_bpf
	need_cmd tmux jq
	getent group snitch > /dev/null || groupadd --system snitch
	LD=$(open_tmpdir)
	export SNITCH_CONF=$LD/etc/snitch.conf SNITCH_RUN_DIR=$LD/run SNITCH_DB=$LD/lib/snitch.db \
		SNITCH_STATE=$LD/lib/state.json SNITCH_LOG_DIR=$LD/log SNITCH_WRITE_LIMIT_S=1 \
		SNITCH_NO_DESKTOP=1 SNITCH_STOP_TIMEOUT_S=20
	"$SNITCH_BIN/snitch" run > "$LD/run.out" 2> "$LD/run.err" 3>&- &
	PIPE_PID=$!
	for i in $(seq 200); do
		grep -q 'snitch: started: ' "$LD/run.err" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "snitch: started: " "$LD/run.err" || { cat "$LD/run.err" >&2; false; }
	TM="tmux -L snitch-hostile-$$-$BATS_TEST_NUMBER -f /dev/null"
	$TM new-session -d -x 200 -y 40 \
		"env LANG=C.UTF-8 TERM=xterm-256color SNITCH_RUN_DIR=$LD/run $SNITCH_BIN/snitch top; echo top-exited-\$?; sleep 60" 3>&-
	$TM set-option -g set-clipboard on > /dev/null
	wait_tscreen 'EXECUTABLE'
	title=$($TM display -p '#{pane_title}')
	# only its rows: the machine's other traffic would push them off
	$TM send-keys / e v i l Enter
	wait_tscreen 'filter: evil'
	mkdir "$D/exe"
	timeout 30 "$HOSTILE" "$D/exe" 100000 > "$D/h.json"
	wait_tscreen 'evil'
	sleep 1
	tscreen > "$D/screen"
	cat "$D/screen"
	# the path, visibly: quotes, comma, newline, ESC, BEL, invalid UTF-8
	grep -qF "exe/it's \"evil\",x\\n\\e[2J\\e]0;pwned\\x07\\x01$(printf '\357\277\275')" "$D/screen"
	# and nothing obeyed: the title, the clipboard, the screen are intact
	[ "$($TM display -p '#{pane_title}')" = "$title" ]
	[ -z "$($TM list-buffers)" ]
	head -1 "$D/screen" | grep -q '^snitch top'
	grep -q 'EXECUTABLE' "$D/screen"
	! LC_ALL=C grep -q "$(printf '[\033\007]')" "$D/screen" || false
	$TM send-keys q
	wait_tscreen 'top-exited-0'
}
