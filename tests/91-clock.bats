#!/usr/bin/env bats
# The wall clock stepped back and forward by an hour (issue 15 §4), for
# snitch-store: its windows, retention and rollups stay sane. The
# machine's clock is shared, so it is not changed: snitch-store runs under
# libfaketime, its wall clock (clock_gettime(CLOCK_REALTIME), time()) read
# from a file this test rewrites; the monotonic clock stays real, as a
# step of the wall clock leaves it. The records' ts_ns step the same way,
# as a stepped clock makes snitch-trace's. (libfaketime 0.9.10 returns at
# once from a wait on a condition variable of the monotonic clock, so
# snitch-store's writer thread spins under it, here only: without it, it
# waits its second.)

load helper

FAKETIME_LIB=
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 /usr/lib/*/faketime/libfaketimeMT.so.1; do
	[ -f "$f" ] && { FAKETIME_LIB=$f; break; }
done
S=1000000000

setup() {
	D=$BATS_TEST_TMPDIR
	DB=$D/snitch.db
}

teardown() {
	stop_started
}

q() { sqlite3 "$DB" "$@"; }

# fake_at NS: snitch-store's wall clock now reads NS (ns since the epoch)
fake_at() {
	local off=$(( $1 / S - $(date +%s) ))
	# the file replaced in one step: the library may read it at any time
	printf '%+d\n' "$off" > "$D/faketime.new"
	mv "$D/faketime.new" "$D/faketime"
}

# feed LABEL FIRST_NS N: N flows of executable /usr/bin/LABEL, a second
# apart from FIRST_NS, send_bytes 1000+i (recv 7); their sums in FED
feed() {
	local i t
	for i in $(seq 0 $(( $3 - 1 ))); do
		t=$(( $2 + i * S ))
		stream_send "$(store_flow "$t" $(( 1000 + i )) 7 ".exe_path = \"/usr/bin/$1\" | .name = \"$1\" | .lport = $(( 40000 + i ))")"
		FED=$(( FED + 1000 + i ))
	done
}

# committed N: until the log holds N rows (10 s at most)
committed() {
	local i
	for i in $(seq 100); do
		[ "$(q 'select count(*) from connections' 2>/dev/null)" = "$1" ] && return 0
		sleep 0.1
	done
	echo "the log holds $(q 'select count(*) from connections') rows, not $1" >&2
	return 1
}

# The sums of the raw rows and of each rollup level, "sent|recv|conns".
sums() {
	q "select coalesce(sum(send_bytes), 0) || '|' || coalesce(sum(recv_bytes), 0) || '|' || count(*) from connections"
	for t in rollup_minute rollup_hour rollup_day; do
		q "select coalesce(sum(send_bytes), 0) || '|' || coalesce(sum(recv_bytes), 0) || '|' || coalesce(sum(conns), 0) from $t"
	done
}

@test "the wall clock stepped back and forward by an hour: no window lost or doubled; rollups and retention stay sane" {
	need_cmd sqlite3 jq
	[ -n "$FAKETIME_LIB" ] || cannot_run "needs libfaketime (the faketime package: run 'sudo make deps')"
	# a day boundary in the middle: 00:30 UTC, then back to 23:30 the day
	# before, then forward again (as an NTP step and its correction)
	M=$(( ($(date +%s) / 86400 - 1) * 86400 * S ))	# yesterday's midnight
	fake_at $(( M + 1800 * S ))
	# (ASAN_OPTIONS: the sanitizers' build takes a library loaded before its runtime)
	export LD_PRELOAD=$FAKETIME_LIB FAKETIME_TIMESTAMP_FILE=$D/faketime FAKETIME_NO_CACHE=1 \
		FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
	stream_start "$STORE" --db "$DB" --write-limit-s 1 --retention-days 1 --retention-every-s 1 --tee --emit-rows
	unset LD_PRELOAD
	FED=0
	# 00:30: 20 flows
	feed after $(( M + 1800 * S )) 20
	AFTER=$FED
	committed 20
	# the clock stepped back an hour: 23:30 the day before, 20 flows
	fake_at $(( M - 1800 * S ))
	sleep 1.5	# a retention pass under the stepped clock
	feed before $(( M - 1800 * S )) 20
	BEFORE=$(( FED - AFTER ))
	committed 40
	# and forward again: 00:31, 20 flows
	fake_at $(( M + 1860 * S ))
	sleep 1.5
	feed again $(( M + 1860 * S )) 20
	committed 60
	# snitch-store's clock was the file's (libfaketime took): the row
	# records carry the time of their commit, 23:30 for the flows then
	running "$STREAM_PID"
	t=$(grep '"type":"row"' "$STREAM_OUT" | jq -s 'map(select(.exe_path == "/usr/bin/before")) | .[0].ts_ns / 1e9 | floor')
	[ "$t" -ge $(( M / S - 1800 )) ]
	[ "$t" -lt $(( M / S - 1700 )) ]

	# every window once: 60 rows, one a flow, the bytes fed
	[ "$(q 'select count(*) from (select distinct window_start_ns, lport, exe_id from connections)')" -eq 60 ]
	[ "$(q 'select sum(send_bytes) from connections')" -eq "$FED" ]
	[ "$(q "select count(*) from connections where window_start_ns < $M")" -eq 20 ]
	# the rollups sum to the raw rows, at every level
	sums > "$D/sums"
	cat "$D/sums"
	[ "$(sort -u "$D/sums" | wc -l)" -eq 1 ]
	# snitch-query (rollups and raw edges) agrees with SQL over ranges that
	# cut the stepped hour
	for r in "$(( M / S - 3600 )) $(( M / S + 3600 ))" "$(( M / S - 1790 )) $(( M / S + 1805 ))" \
		"$(( M / S - 1800 )) $(( M / S ))" "$(( M / S )) $(( M / S + 1900 ))"; do
		set -- $r
		want=$(q "select coalesce(sum(send_bytes), 0) from connections where window_start_ns >= $1 * $S and window_start_ns < $2 * $S")
		got=$("$SNITCH_BIN/snitch-query" --db "$DB" --from "$1" --until "$2" --json | jq .sent)
		echo "[$1, $2): query $got, SQL $want"
		[ "$got" -eq "$want" ]
	done

	# a day later (00:10 the next day, retention 1 day): the day before
	# midnight has expired, whatever order its rows were written in; the
	# day after stays, whole
	fake_at $(( M + 86400 * S + 600 * S ))
	for i in $(seq 100); do
		[ "$(q "select count(*) from connections where window_start_ns < $M")" -eq 0 ] && break
		sleep 0.1
	done
	cat "$STREAM_ERR"
	q "select * from rollup_state"
	[ "$(q "select count(*) from connections where window_start_ns < $M")" -eq 0 ]
	[ "$(q "select count(*) from connections where window_start_ns >= $M")" -eq 40 ]
	# the clock stepped forward an hour then: nothing fresh goes early
	fake_at $(( M + 86400 * S + 4200 * S ))
	sleep 2.5
	[ "$(q "select count(*) from connections where window_start_ns >= $M")" -eq 40 ]
	# the day rollups went with the raw rows, whole days; the minutes and
	# hours are kept longer (2 and 35 days, docs/schema.md): all 60 rows
	sums > "$D/sums"
	cat "$D/sums"
	[ "$(sed -n 1p "$D/sums")" = "$(sed -n 4p "$D/sums")" ]
	[ "$(sed -n 1p "$D/sums")" = "$(( FED - BEFORE ))|280|40" ]
	[ "$(sed -n 2p "$D/sums")" = "$FED|420|60" ]
	[ "$(sed -n 3p "$D/sums")" = "$FED|420|60" ]
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	# no error record: a stepped clock is not a fault of the log
	! grep '"type":"error"' "$STREAM_OUT" || false
}

@test "a clock stepped back more than an hour: snitch-query's raw edges still find every row" {
	need_cmd sqlite3 jq
	# records as a trace clock stepped back two hours then caught up makes
	# them: 1 h past midnight, then 1 h before it, then on from 1 h past
	M=$(( ($(date +%s) / 86400 - 1) * 86400 ))
	{
		for i in $(seq 0 19); do store_flow $(( (M + 3600 + i) * S )) $(( 1000 + i )) 7 '.exe_path = "/usr/bin/a"'; done
		for i in $(seq 0 19); do store_flow $(( (M - 3600 + i) * S )) $(( 2000 + i )) 7 '.exe_path = "/usr/bin/b"'; done
		for i in $(seq 0 19); do store_flow $(( (M + 3700 + i) * S )) $(( 3000 + i )) 7 '.exe_path = "/usr/bin/c"'; done
	} > "$D/in"
	"$STORE" --db "$DB" --write-limit-s 1 --retention-days 400 < "$D/in"
	# the store marked the rows out of order
	[ "$(q "select from_ns from rollup_state where level = 'disorder'")" -eq 40 ]
	# ranges whose edges the rollups do not cover: every row found
	for r in "$(( M - 3590 )) $(( M + 3605 ))" "$(( M + 3605 )) $(( M + 3710 ))" \
		"$(( M - 3595 )) $(( M - 3585 ))" "$(( M - 3600 )) $(( M + 3800 ))"; do
		set -- $r
		want=$(q "select coalesce(sum(send_bytes), 0) from connections where window_start_ns >= $1 * $S and window_start_ns < $2 * $S")
		got=$("$SNITCH_BIN/snitch-query" --db "$DB" --from "$1" --until "$2" --json | jq .sent)
		echo "[$1, $2): query $got, SQL $want"
		[ "$got" -eq "$want" ]
	done
	# grouped and as a series too
	[ "$("$SNITCH_BIN/snitch-query" --db "$DB" --from $(( M - 3590 )) --until $(( M + 3710 )) --group-by exe --json | jq -s 'map(.sent) | add')" -eq \
		"$(q "select sum(send_bytes) from connections where window_start_ns >= ($M - 3590) * $S and window_start_ns < ($M + 3710) * $S")" ]
}
