#!/usr/bin/env bats
# snitch tui, driven through tmux (send-keys, capture-pane) over a fixture
# log made by snitch-store: the numbers on screen equal SQL sums, every
# key does what it says, resizing, 80x24, TERM=linux and xterm-256color,
# NO_COLOR, names carrying terminal escapes shown inert, a reader who may
# only read the database.

load helper

TUI=$SNITCH_BIN/snitch-tui
STORE=$SNITCH_BIN/snitch-store
HOUR=$(( 3600 * 1000000000 ))

q() { sqlite3 "$DB" "$@"; }

setup() {
	need_cmd tmux sqlite3 jq
	DB=$BATS_TEST_TMPDIR/db/snitch.db
	# a tmux server of this test's own (other tests run beside it)
	TMN=0
	TM="tmux -L snitch-tui-$$-$BATS_TEST_NUMBER-$TMN -f /dev/null"
}

# Stop this tmux server and use a new one (a dying server refuses new sessions).
new_server() {
	$TM kill-server 2>/dev/null || true
	TMN=$(( TMN + 1 ))
	TM="tmux -L snitch-tui-$$-$BATS_TEST_NUMBER-$TMN -f /dev/null"
}

teardown() {
	$TM kill-server 2>/dev/null || true
	stop_started ${RUN_PID:-}
	[ -z "${RM_DIR:-}" ] || rm -rf "$RM_DIR"
}

# The log: four tools over the last five hours, older traffic a day and a
# half ago (outside "1d", inside "7d"), and a process whose name and
# command line carry a title change, cursor moves, OSC 52 and a C1 CSI.
make_log() {
	local i t
	{
		for i in $(seq 0 5); do
			t=$(( NOW - 36 * HOUR + i * 1000000000 ))
			store_flow "$t" $(( 50 + i )) $(( 70 + i )) "
				.exe_path = \"/usr/bin/old$(( i % 2 ))\" | .name = \"old$(( i % 2 ))\""
		done
		for i in $(seq 39 -1 0); do
			t=$(( NOW - (i % 5) * HOUR - i * 1000000000 ))
			store_flow "$t" $(( 100 + i * 13 )) $(( 1000 + i * 101 )) "
				.exe_path = \"/usr/bin/tool$(( i % 4 ))\" | .name = \"tool$(( i % 4 ))\"
				| .domain = (if $i % 7 == 0 then null else \"host$(( i % 5 )).example\" end)
				| .raddr = \"198.51.100.$(( i % 9 ))\" | .rport = $(( i % 3 == 0 ? 53 : 443 ))
				| .lport = $(( 40000 + i ))"
		done
		store_flow "$(( NOW - 60000000000 ))" 7 9 '.exe_path = "/tmp/evil"
			| .name = "ev\u001b]0;pwned\u0007il"
			| .cmdline = ["evil", "\u001b[2J\u001b[H", "\u001b]52;c;cHduZWQ=\u0007", "\u009b31m"]'
	} | jq -sc 'sort_by(.ts_ns)[]' > "$BATS_TEST_TMPDIR/in"
	# in time order, as snitch-store meets them (the query core relies on it)
	"$STORE" --db "$DB" < "$BATS_TEST_TMPDIR/in"
}

# tui_start [ENV=V...] -- [ARG...]: snitch-tui in a detached 80x24 tmux
# window; the pane stays after it exits, with its exit status.
tui_start() {
	local envs=() a cmd
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	cmd="env LC_ALL=C.UTF-8 TERM=xterm-256color ${envs[*]} $TUI --db '$DB'"
	for a in "$@"; do cmd+=" '$a'"; done
	$TM new-session -d -x "${COLS:-80}" -y "${ROWS:-24}" "$cmd"
	$TM set-option -g remain-on-exit on > /dev/null
	$TM set-option -g set-clipboard on > /dev/null
	wait_screen 'TOTAL'
}

# tui_start_raw COMMAND: any command in the window, run by the shell.
tui_start_raw() {
	$TM new-session -d -x "${COLS:-80}" -y "${ROWS:-24}" "$1"
}

screen() { $TM capture-pane -p; }

# wait_screen REGEX: until the screen matches and is still (at most 5 s).
wait_screen() {
	local i
	local a b
	for i in $(seq 50); do
		# matched, not waiting for a query, and the same a moment
		# later: not a screen drawn in part
		if a=$(screen) && grep -qE -- "$1" <<< "$a" && [[ "$a" != *"reading the log..."* ]]; then
			sleep 0.05
			b=$(screen)
			[ "$a" = "$b" ] && return 0
		fi
		sleep 0.1
	done
	echo "the screen never showed '$1':"
	screen
	return 1
}

# wait_live REGEX: as wait_screen, without waiting for a still screen (a
# busy feed may change the live tab four times a second).
wait_live() {
	local i
	for i in $(seq 100); do
		screen | grep -qE -- "$1" && return 0
		sleep 0.1
	done
	echo "the screen never showed '$1':"
	screen
	return 1
}

# keys KEY... then wait until the screen holds REGEX: keys_then REGEX KEY...
keys_then() {
	local re=$1
	shift
	$TM send-keys "$@"
	wait_screen "$re"
}

# The table as "key|sent|received|connections" lines (units: bytes), sorted.
table() {
	screen | sed -n '4,23p' | awk -F'│' 'NF > 1 && $2 !~ /^ *$/ && $2 !~ /^TOTAL/ {
		n = split($2, f, " +"); s = ""; st = (f[1] == "") ? 2 : 1
		for (i = st; i <= n - 3; i++) s = s (i > st ? " " : "") f[i]
		print s "|" f[n - 2] "|" f[n - 1] "|" f[n] }' | sort
}

# The TOTAL line as "sent|received|connections".
total() {
	screen | grep -o 'TOTAL.*' | awk '{ print $(NF - 2) "|" $(NF - 1) "|" $NF }'
}

SQL_FROM="FROM connections c LEFT JOIN executables e ON e.id = c.exe_id
	LEFT JOIN domains d ON d.id = c.domain_id"

@test "the numbers on screen equal SQL sums, for all time and for the last day, in 80x24" {
	make_log
	for term in xterm-256color linux; do
		tui_start TERM=$term -- --range all
		keys_then 'units: binary' u
		keys_then 'units: bytes' u
		[ "$(table)" = "$(q "SELECT e.path, sum(send_bytes), sum(recv_bytes), count(*) $SQL_FROM
			GROUP BY e.path" | sort)" ]
		[ "$(total)" = "$(q 'SELECT sum(send_bytes), sum(recv_bytes), count(*) FROM connections')" ]
		# the sidebar: Domain is the 18th grouping; NULL shows as (none)
		$TM send-keys Left
		for i in $(seq 17); do $TM send-keys Down; done
		wait_screen '│Domain '
		[ "$(table)" = "$(q "SELECT coalesce(d.name, '(none)'), sum(send_bytes), sum(recv_bytes), count(*)
			$SQL_FROM GROUP BY d.name" | sort)" ]
		# t: 1d, the range the old rows are outside of (T from all is 1y, T again 30d ...)
		keys_then 'range: last 1y' T
		keys_then 'range: last 30d' T
		keys_then 'range: last 7d' T
		keys_then 'range: last 1d' T
		want=$(q "SELECT sum(send_bytes), sum(recv_bytes), count(*) FROM connections
			WHERE window_start_ns >= $(( NOW - 24 * HOUR ))")
		[ "$(total)" = "$want" ] || { echo "$(total), want $want"; screen; false; }
		# every line fits 80 columns; nothing past line 24
		[ "$(screen | wc -l)" -eq 24 ]
		[ "$(screen | awk '{ print length($0) }' | sort -n | tail -1)" -le 80 ]
		new_server
	done
}

@test "grouped by sha256, each hash shows its VirusTotal verdict: VT 3/70, VT: not found, or none" {
	make_log
	{
		# the hash every flow above has (store_flow's), flagged by 3 of 70
		jq -cn --argjson t "$NOW" '{v:1, type:"verdict", ts_ns:$t,
			sha256:"58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef2593",
			status:"known", malicious:2, suspicious:1, undetected:60, harmless:7, engines:70,
			analysis_ns:null, link:"https://vt.example/x", reason:null, uploaded:false,
			name:"tool0", exe_path:"/usr/bin/tool0"}'
		store_flow "$NOW" 5 5 '.exe_path = "/usr/bin/nf" | .name = "nf" | .exe_sha256 = ("c3" * 32)'
		jq -cn --argjson t "$NOW" '{v:1, type:"verdict", ts_ns:$t, sha256:("c3" * 32),
			status:"not_found", malicious:null, suspicious:null, undetected:null, harmless:null,
			engines:null, analysis_ns:null, link:null, reason:"not uploaded", uploaded:false,
			name:"nf", exe_path:"/usr/bin/nf"}'
		store_flow "$NOW" 3 3 '.exe_path = "/usr/bin/nv" | .name = "nv" | .exe_sha256 = ("d4" * 32)'
	} > "$BATS_TEST_TMPDIR/in2"
	"$STORE" --db "$DB" < "$BATS_TEST_TMPDIR/in2"
	tui_start -- --range all
	# the sidebar: exe, name, cmdline, then Process sha256
	$TM send-keys Left Down Down
	keys_then '│Process sha256' Down
	wait_screen 'VT 3/70  58824afa640f'
	screen | grep -q 'VT: not found  c3c3c3'
	# a hash with no verdict has no badge
	screen | grep -qE '│d4d4d4d4'
	[ -z "$(screen | grep -E 'VT[^│]*d4d4d4')" ]
}

@test "filter, exclude, the breadcrumb, and removing filters" {
	make_log
	tui_start -- --range all
	keys_then 'units: binary' u
	keys_then 'units: bytes' u
	# the table is sorted by total: tool3 first; Down, Enter filters on tool2
	keys_then '│/usr/bin/tool2' Down Enter
	wait_screen 'filters: Process exe = /usr/bin/tool2'
	[ "$(total)" = "$(q "SELECT sum(send_bytes), sum(recv_bytes), count(*) $SQL_FROM WHERE e.path = '/usr/bin/tool2'")" ]
	# the focus went to the sidebar: Down is the next grouping (name), Right the table
	keys_then '│Process name ' Down
	[ "$(table)" = "tool2|$(q "SELECT sum(send_bytes), sum(recv_bytes), count(*) $SQL_FROM WHERE e.path = '/usr/bin/tool2'")" ]
	# move to Remote port (16th), then exclude port 53 with e
	for i in $(seq 14); do $TM send-keys Down; done
	keys_then '│Remote port' Right
	n=$(screen | sed -n '4,22p' | grep -n '│53 ' | cut -d: -f1)
	for i in $(seq $(( n - 1 ))); do $TM send-keys Down; done
	keys_then '≠ 53' e
	wait_screen 'filters: Process exe = /usr/bin/tool2 › Remote port ≠ 53'
	[ "$(total)" = "$(q "SELECT sum(send_bytes), sum(recv_bytes), count(*) $SQL_FROM
		WHERE e.path = '/usr/bin/tool2' AND rport != 53")" ]
	# f filters too, space as well; Backspace and F remove the last one
	$TM send-keys Right
	keys_then 'Remote port = 443' f
	keys_then 'filters: Process exe = /usr/bin/tool2 › Remote port ≠ 53$' BSpace
	keys_then 'filters: Process exe = /usr/bin/tool2 *$' F
	keys_then 'filters: none' BSpace
	[ "$(total)" = "$(q 'SELECT sum(send_bytes), sum(recv_bytes), count(*) FROM connections')" ]
	keys_then 'no filter to remove' F
	# space filters on the selected row of the grouping shown (still Remote port)
	$TM send-keys Right
	keys_then 'filters: Remote port = 443' Space
	[ "$(total)" = "$(q "SELECT sum(send_bytes), sum(recv_bytes), count(*) FROM connections WHERE rport = 443")" ]
	# the time grouping: filtering on a bucket narrows the range to it
	$TM send-keys BSpace Left
	for i in $(seq 30); do $TM send-keys Down; done	# to the last: Time
	wait_screen '│Time '
	bucket=$(screen | sed -n 4p | awk -F'│' '{ print $2 }' | awk '{ print $1 " " $2 }')
	keys_then "filters: Time $bucket" Right Enter
	keys_then 'a time cannot be excluded' Right e
}

@test "t/T, h/H, u/U, s, /, r, ?, l and q do what they say" {
	make_log
	tui_start -- --range 1d
	wait_screen 'range: last 1d'
	keys_then 'units: binary' u
	keys_then 'units: bytes' u
	keys_then 'range: last 7d' t
	keys_then 'range: last 30d' t
	keys_then 'range: last 1y' t
	keys_then 'range: all time' t
	keys_then 'range: last 1m' t
	keys_then 'range: last 1y' T T
	# 1d, one range back: the old rows alone
	keys_then 'range: last 1d' T T T
	keys_then 'range: 1d, 1 back' h
	[ "$(total)" = "$(q "SELECT sum(send_bytes), sum(recv_bytes), count(*) FROM connections
		WHERE window_start_ns < $(( NOW - 24 * HOUR ))")" ]
	[ "$(table | cut -d'|' -f1)" = "$(printf '/usr/bin/old0\n/usr/bin/old1')" ]
	keys_then 'range: 1d, 2 back' h
	wait_screen 'no traffic here'
	keys_then 'range: 1d, 1 back' H
	keys_then 'range: last 1d' H
	keys_then 'already at the newest range' H
	# units: SI, binary, bytes and back
	keys_then 'units: SI' u
	wait_screen ' kB '
	keys_then 'units: binary' u
	wait_screen 'KiB'
	keys_then 'units: SI' U
	keys_then 'units: bytes' U
	# sort: sent, received, connections, name; the rows in that order
	keys_then 'sort: sent' s
	order=$(table | sort -t'|' -k2,2nr | cut -d'|' -f1 | head -3)
	[ "$(screen | sed -n '4,6p' | awk -F'│' '{ print $2 }' | awk '{ print $1 }')" = "$order" ]
	keys_then 'sort: received' s
	keys_then 'sort: connections' s
	keys_then 'sort: name' s
	[ "$(screen | sed -n 4p | awk -F'│' '{ print $2 }' | awk '{ print $1 }')" = /tmp/evil ]
	keys_then 'sort: total' s
	# search: only the matching rows; Esc clears it
	keys_then 'search: _' /
	keys_then 'search: tool1_' t o o l 1
	keys_then 'search: "tool1"' Enter
	[ "$(table | cut -d'|' -f1)" = /usr/bin/tool1 ]
	wait_screen 'TOTAL 5 rows \(4 hidden\)'
	keys_then '│/usr/bin/tool3' Escape
	[ "$(table | wc -l)" -eq 5 ]
	# r: rows written since start show after a refresh, not before
	before=$(total)
	store_flow "$(( $(date +%s) * 1000000000 ))" 1000 2000 '.exe_path = "/usr/bin/late" | .name = "late"' |
		"$STORE" --db "$DB"
	$TM send-keys j k
	sleep 0.3
	[ "$(total)" = "$before" ]
	keys_then '│/usr/bin/late' r
	[ "$(total)" = "$(q "SELECT sum(send_bytes), sum(recv_bytes), count(*) FROM connections
		WHERE window_start_ns >= $(( NOW - 24 * HOUR ))")" ]
	# help, closed by any key
	keys_then 'snitch tui: keys' '?'
	$TM send-keys x
	sleep 0.3
	! screen | grep -q 'snitch tui: keys' || false
	# l: the live tab says no snitch runs (no feed at that socket); l again: back
	new_server
	# (its exit status said by the shell after it: tmux's own
	# pane_dead_status was sometimes never set on this machine)
	tui_start_raw "env LC_ALL=C.UTF-8 TERM=xterm-256color SNITCH_EVENTS_SOCK='$BATS_TEST_TMPDIR/none.sock' $TUI --db '$DB' --range all; echo tui-exited-\$?; sleep 60"
	wait_screen 'TOTAL'
	keys_then "No snitch is running: there is no live feed at" l
	wait_screen "^   $BATS_TEST_TMPDIR/none.sock"
	keys_then 'TOTAL' l
	# q quits, status 0
	$TM send-keys q
	wait_screen '^tui-exited-0$' || { screen; false; }
}

@test "the live tab shows the feed's flow records, names made inert" {
	make_log
	sock=$BATS_TEST_TMPDIR/events.sock
	# a feed: what snitch run publishes, one flow record, then open
	store_flow "$NOW" 4321 8765 '.name = "li\u001b[31mve" | .domain = "live.example"' > "$BATS_TEST_TMPDIR/feed"
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
c.sendall(open(sys.argv[2], "rb").read())
time.sleep(30)
' "$sock" "$BATS_TEST_TMPDIR/feed" 3>&- &
	feeder=$!
	for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	tui_start SNITCH_EVENTS_SOCK="$sock" -- --range all
	keys_then 'live feed .*: 1 flow records' l
	wait_screen 'li\\e\[31mve'
	wait_screen 'live.example:443'
	wait_screen '4.3 kB'
	keys_then 'TOTAL' l
	kill "$feeder"
}

@test "resizing: wider, taller, too small and back" {
	make_log
	tui_start -- --range all
	keys_then '│Process executable' ''
	$TM resize-window -x 140 -y 40
	wait_screen '^>Grandparent executable|^ Grandparent executable'
	wait_screen 'h/H history .* \([0-9]+ ms\)'
	[ "$(screen | wc -l)" -eq 40 ]
	# the TOTAL row sits on the line above the footer
	[[ "$(screen | sed -n 39p)" == *TOTAL* ]]
	$TM resize-window -x 30 -y 6
	wait_screen 'too small'
	$TM resize-window -x 80 -y 24
	wait_screen ' Gparent exe '
	[[ "$(screen | sed -n 23p)" == *TOTAL* ]]
	[ "$(screen | awk '{ print length($0) }' | sort -n | tail -1)" -le 80 ]
}

@test "escapes in names and command lines show as text: no title, no clipboard, no cursor move" {
	make_log
	COLS=130 tui_start NO_COLOR=1 -- --range all
	$TM send-keys Left Down
	wait_screen '│Process name'
	wait_screen 'ev\\e\]0;pwned\\x07il'
	keys_then '│evil \\e\[2J\\e\[H \\e\]52;c;cHduZWQ=\\x07 \\x9b31m' Down
	# the breadcrumb too
	$TM send-keys Right
	for i in $(seq 4); do $TM send-keys Down; done
	keys_then 'filters: Process cmdline = evil \\e\[2J' Enter
	# the terminal kept its title and clipboard; the screen was not cleared
	[ "$($TM display -p '#{pane_title}')" != pwned ]
	[ -z "$($TM list-buffers)" ]
	[[ "$(screen | sed -n 1p)" == "snitch tui  range: all time"* ]]
	# without a UTF-8 locale: ASCII only ('|' and '>' instead of │ and ›)
	new_server
	tui_start LC_ALL=C -- --range all
	wait_screen '^>Process exe +\|Process executable'
	! screen | LC_ALL=C grep -qP '[\x80-\xff]'
}

@test "a user who may only read the database runs it; one who may not is told why" {
	local d
	need_root
	make_log
	d=$(open_tmpdir)
	nobody_bin "$d"
	install -d -m 750 -g nogroup "$d/db"
	install -m 640 -g nogroup "$DB" "$d/db/snitch.db"
	DB=$d/db/snitch.db
	TUI="setpriv --reuid=nobody --regid=nogroup --clear-groups $NOBODY_BIN/snitch --config /dev/null tui"
	tui_start -- --range all
	keys_then 'units: binary' u
	keys_then 'units: bytes' u
	[ "$(total)" = "$(q 'SELECT sum(send_bytes), sum(recv_bytes), count(*) FROM connections')" ]
	# it wrote nothing beside the database
	[ "$(ls "$d/db")" = snitch.db ]
	# the live tab: a feed socket only root may use is refused, and said so
	python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o600); s.listen(1)
time.sleep(20)
' "$d/events.sock" 3>&- &
	feeder=$!
	for i in $(seq 50); do [ -S "$d/events.sock" ] && break; sleep 0.1; done
	new_server
	TUI="setpriv --reuid=nobody --regid=nogroup --clear-groups env SNITCH_EVENTS_SOCK=$d/events.sock $NOBODY_BIN/snitch-tui"
	tui_start -- --range all
	keys_then "Permission denied: the live feed is for root and the group snitch" l
	wait_screen "^   $d/events.sock"
	keys_then 'TOTAL' l
	kill "$feeder"
	new_server
	TUI="setpriv --reuid=nobody --regid=65533 --clear-groups $NOBODY_BIN/snitch-tui"
	COLS=200 tui_start_raw "$TUI --db '$DB' 2>&1; echo status \$?; sleep 10"
	wait_screen 'status 3'
	wait_screen "snitch tui: cannot open '$DB': Permission denied: reading the log takes"
	wait_screen "the group 'nogroup' \\(sudo usermod -aG nogroup"
	rm -rf "$d"
}

@test "a bad option, no terminal, a missing database, an unknown TERM: one line naming it" {
	run --separate-stderr "$TUI" --range 2d
	[ "$status" -eq 2 ]
	[[ "${stderr_lines[0]}" == "snitch tui: --range: '2d'"* ]]
	run --separate-stderr "$TUI" --db "$DB" < /dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"needs a terminal"* ]]
	COLS=200 tui_start_raw "$TUI --db '$BATS_TEST_TMPDIR/none.db'; echo status \$?; sleep 10"
	wait_screen 'status 5'
	wait_screen "snitch tui: cannot open '$BATS_TEST_TMPDIR/none.db': No such file"
	# a terminal ncurses does not know: said so, exit 4
	make_log
	new_server
	COLS=200 tui_start_raw "env TERM=nosuchterm $TUI --db '$DB'; echo status \$?; sleep 10"
	wait_screen 'status 4'
	wait_screen 'snitch tui: cannot use the terminal \(TERM=nosuchterm\)'
}

@test "a view that would read too many raw rows says so and how to narrow it" {
	make_log
	tui_start -- --range all --max-raw-rows 10
	# Local port (14th) is in the raw rows only: 47 of them
	$TM send-keys Left
	for i in $(seq 13); do $TM send-keys Down; done
	wait_screen '│Local port'
	wait_screen 'the query would read about [0-9]+ raw rows, more than'
	wait_screen '(lport is not in the rollups)'
	# the rollups answer the others, whatever the limit
	keys_then '│Remote port' Down Down
	keys_then 'units: binary' u
	keys_then 'units: bytes' u
	[ "$(total)" = "$(q 'SELECT sum(send_bytes), sum(recv_bytes), count(*) FROM connections')" ]
}

@test "with snitch running: the live tab shows a program's traffic, and the log its bytes" {
	local L
	need_bpf
	L=$(open_tmpdir)
	RM_DIR=$L
	export SNITCH_CONF=$L/etc/snitch.conf SNITCH_RUN_DIR=$L/run \
		SNITCH_DB=$L/lib/snitch.db SNITCH_STATE=$L/lib/state.json \
		SNITCH_LOG_DIR=$L/log SNITCH_WRITE_LIMIT_S=1 SNITCH_NO_DESKTOP=1 \
		SNITCH_STOP_TIMEOUT_S=20
	getent group snitch > /dev/null || groupadd --system snitch
	"$SNITCH_BIN/snitch" run > "$L/run.out" 2> "$L/run.err" 3>&- &
	RUN_PID=$!
	for i in $(seq 200); do
		grep -q 'snitch: started: ' "$L/run.err" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "snitch: started: " "$L/run.err" || { cat "$L/run.err"; false; }
	exe=$L/tuigen
	cp "$SNITCH_TEST_BIN/trafficgen" "$exe"
	# snitch tui, as run by snitch: its configuration, its run directory
	DB=$SNITCH_DB
	TUI="$SNITCH_BIN/snitch tui"
	COLS=120 tui_start -- --range 1h
	# other tests' traffic may flood the feed: search for this program's name
	$TM send-keys l
	wait_live 'live feed .*/run/events.sock'
	$TM send-keys / t u i g e n Enter
	wait_live 'live feed .*\(searched\)'
	"$exe" tcp4 > "$L/gen.out"
	wait_live '^[0-9:]{8} tuigen '
	# every row the search leaves is the program's (the footer is no row)
	! screen | grep -E '^[0-9:]{8} ' | grep -qv '^[0-9:]\{8\} tuigen ' || false
	$TM send-keys Escape
	# back to the log: once snitch-store wrote the rows, r shows them
	keys_then 'TOTAL' l
	for i in $(seq 100); do
		[ "$(sqlite3 "$DB" "select count(*) from connections c join executables e on e.id = c.exe_id
			where e.path = '$exe'" 2>/dev/null)" -gt 0 ] && break
		sleep 0.1
	done
	keys_then "│$exe " r
	keys_then 'units: binary' u
	keys_then 'units: bytes' u
	[ "$(table | grep "^$exe|")" = "$exe|$(sqlite3 "$DB" "select sum(send_bytes), sum(recv_bytes), count(*)
		from connections c join executables e on e.id = c.exe_id where e.path = '$exe'")" ]
}
