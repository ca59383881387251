#!/usr/bin/env bats
# snitch-store: the connection log, local (SQLite, CSV), and the events
# table of error and lost records.

load helper

W=$(( 10 * 1000000000 ))

q() { sqlite3 "$DB" "$@"; }

setup() {
	DB=$BATS_TEST_TMPDIR/db/snitch.db
}

# whatever a test started stops, whatever happened
teardown() {
	stop_started
}

@test "records merge per window on their whole identity, with exact sums and their own times" {
	t0=$(( NOW - NOW % W - 3 * W ))	# the start of a window, three ago
	{
		store_flow $((t0 + 1000000)) 100 1
		store_flow $((t0 + 2000000)) 200 2
		store_flow $((t0 + 3000000)) 300 3 '.rport = 8443'		# another identity
		store_flow $((t0 + W + 5000)) 400 4					# the next window
		store_flow $((t0 + 4000000)) 1000 10 '.exe_sha256 = ("1" * 64)'	# another executable
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr "$STORE" --db "$DB" < "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ "$(q 'select count(*) from connections')" -eq 4 ]
	# the first identity, first window: two records merged
	[ "$(q "select events, send_bytes, recv_bytes, first_ns - $t0, last_ns - $t0, window_start_ns - $t0, window_end_ns - window_start_ns
	        from connections where rport = 443 and window_start_ns = $t0 and exe_id = (select id from executables where sha256 like '5882%')")" = \
	  "2|300|3|999000|2000000|0|10000000000" ]
	[ "$(q 'select sum(send_bytes), sum(recv_bytes), sum(events) from connections')" = "2000|20|5" ]
	# references are interned: two curls (two hashes), one bash, one sshd
	[ "$(q 'select count(*) from executables')" -eq 4 ]
	[ "$(q 'select count(*) from domains')" -eq 1 ]
	[ "$(q 'select count(*) from addresses')" -eq 2 ]
	[ "$(q "select cmdline from executables where name = 'curl' limit 1")" = '["curl","-s","https://example.org/"]' ]
	# WAL, and a schema version
	[ "$(q 'pragma journal_mode')" = wal ]
	[ "$(q 'pragma user_version')" -eq 11 ]
}

@test "app and script: an executables row each, groupable; a row without them keeps the id it had before version 9" {
	{
		store_flow "$NOW" 1 1
		store_flow "$NOW" 2 2 '.app_kind = "flatpak" | .app = "org.example.App"'
		store_flow "$NOW" 4 4 '.app_kind = "snap" | .app = "tool"'
		store_flow "$NOW" 8 8 '.exe_path = "/usr/bin/python3" | .name = "python3" | .cmdline = ["python3", "a.py"]
			| .script_path = "/home/u/a.py" | .script_sha256 = ("ab" * 32)'
		store_flow "$NOW" 16 16 '.exe_path = "/usr/bin/python3" | .name = "python3" | .cmdline = ["python3", "a.py"]
			| .script_path = "/home/u/b.py" | .parent_script_path = "/home/u/run.sh"'
		# "" is none, as snitch-resolve writes it
		store_flow "$NOW" 32 32 '.app_kind = "" | .app = "" | .script_path = null'
	} | "$STORE" --db "$DB"
	# the ids of rows of no app and no script are those of version 8 (the
	# row record example of docs/records.md: bash, no hash)
	[ "$(q "select id from executables where path = '/usr/bin/bash' and app is null and script_path is null")" = 4536558566545276125 ]
	[ "$(q "select send_bytes from connections c join executables e on e.id = c.exe_id where e.path = '/usr/bin/curl' and e.app is null")" = 33 ]
	[ "$(q "select app_kind || ' ' || app || ' ' || send_bytes from connections c join executables e on e.id = c.exe_id where e.app is not null order by send_bytes")" = \
	  "$(printf 'flatpak org.example.App 2\nsnap tool 4')" ]
	[ "$(q "select script_path || ' ' || coalesce(script_sha256, 'null') || ' ' || send_bytes from connections c join executables e on e.id = c.exe_id where e.script_path is not null order by send_bytes")" = \
	  "$(printf '/home/u/a.py %s 8\n/home/u/b.py null 16' "$(printf 'ab%.0s' $(seq 32))")" ]
	# the parent's script makes a parent row of its own
	[ "$(q "select count(*) from executables where path = '/usr/bin/bash'")" -eq 2 ]
	[ "$(q "select count(*) from executables where script_path = '/home/u/run.sh' and path = '/usr/bin/bash'")" -eq 1 ]
	# snitch-query groups by them
	[ "$("$SNITCH_BIN/snitch-query" --db "$DB" --since all --group-by app | jq -r '"\(.app) \(.sent)"' | sort | tr '\n' ,)" = \
	  "null 57,org.example.App 2,tool 4," ]
	[ "$("$SNITCH_BIN/snitch-query" --db "$DB" --since all --group-by script --where name=python3 | jq -r '"\(.script) \(.sent)"' | sort | tr '\n' ,)" = \
	  "/home/u/a.py 8,/home/u/b.py 16," ]
}

@test "every example query of docs/schema.md runs, and finds the rows it should" {
	now=$(( $(date +%s) * 1000000000 ))
	{
		store_flow "$now" 100 10
		store_flow "$now" 50 5 '.domain = "www.example.org" | .exe_path = "/usr/bin/wget" | .name = "wget"'
		# snitch-vt's verdict on curl's hash
		jq -cn --argjson t "$now" '{v:1, type:"verdict", ts_ns:$t,
			sha256:"58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef2593",
			status:"known", malicious:2, suspicious:1, undetected:60, harmless:0, engines:70,
			analysis_ns:null, link:"https://vt.example/x", reason:null, uploaded:false,
			name:"curl", exe_path:"/usr/bin/curl"}'
	} > "$BATS_TEST_TMPDIR/in"
	"$STORE" --db "$DB" < "$BATS_TEST_TMPDIR/in"
	awk '/^```sql$/ { on = 1; q = ""; next } /^```$/ && on { print q > (dir "/q" ++n ".sql"); on = 0; next } on { q = q $0 "\n" }' \
		dir="$BATS_TEST_TMPDIR" "$SNITCH_TOP/docs/schema.md"
	[ -f "$BATS_TEST_TMPDIR/q6.sql" ]
	# bytes per executable per hour: both programs, with their sums
	run sqlite3 "$DB" < "$BATS_TEST_TMPDIR/q1.sql"
	[ "$status" -eq 0 ]
	[[ "$output" == *"/usr/bin/curl|"*"|100|10"* ]]
	[[ "$output" == *"/usr/bin/wget|"*"|50|5"* ]]
	# who talked to example.org and its subdomains: both
	run sqlite3 "$DB" < "$BATS_TEST_TMPDIR/q2.sql"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" -eq 2 ]
	# what bash's children sent
	run sqlite3 "$DB" < "$BATS_TEST_TMPDIR/q3.sql"
	[ "$status" -eq 0 ]
	[[ "$output" == *'/usr/bin/curl|["curl","-s","https://example.org/"]|100|10'* ]]
	# new executables of the last hour
	run sqlite3 "$DB" < "$BATS_TEST_TMPDIR/q4.sql"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" -eq 2 ]
	# traffic by pod and container: these flows are the host's, so none
	run sqlite3 "$DB" < "$BATS_TEST_TMPDIR/q5.sql"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# what VirusTotal flags: curl (and wget, which has curl's hash here:
	# the verdict follows the hash, whatever the path)
	run sqlite3 "$DB" < "$BATS_TEST_TMPDIR/q6.sql"
	[ "$status" -eq 0 ]
	[[ "$output" == *"/usr/bin/curl|3|70|https://vt.example/x"* ]]
}

@test "retention: rows older than --retention-days go, with references only they used, while it runs" {
	old=$(( NOW - 40 * 86400 * 1000000000 ))
	fifo=$BATS_TEST_TMPDIR/in
	stream_start "$STORE" --db "$DB" --write-limit-s 1 --retention-days 30 --retention-every-s 1
	stream_send "$(store_flow "$old" 5 5 '.exe_path = "/old/tool" | .name = "old" | .domain = "old.example"')"
	stream_send "$(store_flow "$NOW" 7 7)"
	# written, then deleted by a later pass of the running store
	for i in $(seq 100); do
		[ "$(q 'select count(*) from connections' 2>/dev/null)" = 1 ] &&
		[ "$(q "select count(*) from executables where path = '/old/tool'")" = 0 ] && break
		sleep 0.1
	done
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	[ "$(q 'select send_bytes from connections')" = 7 ]
	[ "$(q "select count(*) from executables where path = '/old/tool'")" -eq 0 ]
	[ "$(q "select count(*) from domains where name = 'old.example'")" -eq 0 ]
	[ "$(q "select count(*) from executables where path = '/usr/bin/curl'")" -eq 1 ]
	# the rollups of the old row went too (minutes are kept for two days only,
	# hours 35)
	[ "$(q 'select sum(send_bytes) from rollup_day')" = 7 ]
	[ "$(q 'select sum(send_bytes) from rollup_dim_day where dim = 0')" = 7 ]
	[ "$(q 'select sum(send_bytes) from rollup_hour')" = 7 ]
	[ "$(q 'select sum(send_bytes) from rollup_minute')" = 7 ]
	# the weeks and four weeks: those the cutoff fell in went whole, the
	# level starts after them, and the row of now is there
	for t in week 4week; do
		from=$(q "select from_ns from rollup_state where level = '$t'")
		[ "$from" -gt "$old" ]
		[ "$from" -le "$NOW" ]
		[ "$(q "select count(*) from rollup_dim_$t where bucket_ns < $from")" = 0 ]
		[ "$(q "select sum(send_bytes) from rollup_dim_$t where dim = 0")" = 7 ]
	done
}

@test "rollups: rows that differ only by outcome are rows of their own, and rollup rows of their own (version 10)" {
	{
		store_flow "$NOW" 100 10 '. + {outcome: "connected"}'
		store_flow "$NOW" 0 0 '. + {outcome: "refused"}'
		store_flow "$NOW" 0 0 '. + {outcome: "refused"}'
		store_flow "$NOW" 5 1 '. + {outcome: "reset"}'
		store_flow "$NOW" 7 3
		store_flow "$NOW" 3 1 '. + {outcome: "3"}'
	} | "$STORE" --db "$DB"
	[ "$(q "select group_concat(quote(outcome) || ':' || send_bytes || ':' || events, ' ') from (select * from connections order by outcome)")" = \
	  "NULL:7:1 '3':3:1 'connected':100:1 'refused':0:2 'reset':5:1" ]
	# as numbers (lib/rollup.h): none 0, connected 1, refused 3, reset 6;
	# any other text as itself
	for t in rollup_minute rollup_hour rollup_day; do
		[ "$(q "select count(*), sum(send_bytes), sum(recv_bytes), sum(conns), sum(events) from $t")" = "5|115|15|5|6" ]
		[ "$(q "select group_concat(quote(outcome) || ':' || send_bytes || ':' || conns || ':' || events, ' ')
			from (select * from $t order by outcome)")" = "0:7:1:1 1:100:1:1 3:0:1:2 6:5:1:1 '3':3:1:1" ]
	done
	for t in rollup_dim_hour rollup_dim_day rollup_dim_week rollup_dim_4week; do
		[ "$(q "select count(*), sum(send_bytes), sum(conns) from $t where dim = 0")" = "1|115|5" ]
		[ "$(q "select group_concat(quote(val) || ':' || send_bytes || ':' || conns, ' ')
			from (select * from $t where dim = 11 order by val)")" = "0:7:1 1:100:1 3:0:1 6:5:1 '3':3:1" ]
	done
	# and read back as the rows' text
	run "$SNITCH_BIN/snitch-query" --db "$DB" --since all --group-by outcome
	[ "$(echo "$output" | jq -r '"\(.outcome):\(.sent)"' | sort | tr '\n' ' ')" = "3:3 connected:100 null:7 refused:0 reset:5 " ]
}

@test "rollups: each level sums the rows of its buckets exactly, without lport, in the rows' transaction" {
	day=86400000000000
	old=$(( NOW - 5 * day ))
	{
		store_flow "$NOW" 100 10
		store_flow "$NOW" 50 5 '.lport = 40001'
		store_flow "$NOW" 1 2 '.lport = 40002 | .uid = null | .rport = null'
		store_flow "$(( NOW - 3600000000000 ))" 20 2 '.domain = null'
		store_flow "$old" 9 9
	} > "$BATS_TEST_TMPDIR/in"
	"$STORE" --db "$DB" < "$BATS_TEST_TMPDIR/in"
	[ "$(q 'select count(*) from connections')" -eq 5 ]
	for l in minute:60 hour:3600 day:86400; do
		t=rollup_${l%%:*} b=$(( ${l#*:} * 1000000000 ))
		from=0
		[ "$t" = rollup_minute ] && from=$(q "select from_ns from rollup_state where level = 'minute'")
		# the same sums per bucket, executable, domain and remote port as the raw table
		raw=$(q "select window_start_ns - window_start_ns % $b, exe_id, coalesce(domain_id, 0), coalesce(rport, -4611686018427387904),
			sum(send_bytes), sum(recv_bytes), count(*), sum(events), min(first_ns), max(last_ns)
			from connections where window_start_ns >= $from group by 1, 2, 3, 4 order by 1, 2, 3, 4")
		ru=$(q "select bucket_ns, exe_id, domain_id, rport, sum(send_bytes), sum(recv_bytes), sum(conns), sum(events),
			min(first_ns), max(last_ns) from $t group by 1, 2, 3, 4 order by 1, 2, 3, 4")
		[ -n "$raw" ]
		[ "$raw" = "$ru" ]
	done
	# the dimension rollups: per executable and per domain, the same sums
	for l in hour:3600 day:86400; do
		t=rollup_dim_${l%%:*} b=$(( ${l#*:} * 1000000000 ))
		raw=$(q "select window_start_ns - window_start_ns % $b, exe_id, sum(send_bytes), sum(recv_bytes), count(*), sum(events)
			from connections group by 1, 2 order by 1, 2")
		[ "$raw" = "$(q "select bucket_ns, val, send_bytes, recv_bytes, conns, events from $t where dim = 0 order by 1, 2")" ]
		raw=$(q "select window_start_ns - window_start_ns % $b, coalesce(domain_id, 0), sum(send_bytes) from connections group by 1, 2 order by 1, 2")
		[ "$raw" = "$(q "select bucket_ns, val, send_bytes from $t where dim = 8 order by 1, 2")" ]
	done
	# the three ports of the same identity are one rollup row per bucket
	[ "$(q "select conns from rollup_day where bucket_ns = $NOW - $NOW % $day and uid = 1000 and rport = 443 and domain_id != 0")" -eq 2 ]
	# the minutes of five days ago are not kept
	[ "$(q "select count(*) from rollup_minute where bucket_ns < $NOW - 3 * $day")" -eq 0 ]
}

@test "addresses.country: a range's label, or the country database's code; filled in at start when missing" {
	{
		store_flow "$NOW" 1 1 '.raddr = "100.64.1.2"'
		store_flow "$NOW" 1 1 '.raddr = "10.1.2.3"'
		store_flow "$NOW" 1 1 '.raddr = "8.8.8.8"'
	} > "$BATS_TEST_TMPDIR/in"
	SNITCH_GEOIP_DB=$BATS_TEST_TMPDIR/none.mmdb "$STORE" --db "$DB" < "$BATS_TEST_TMPDIR/in"
	[ "$(q "select country from addresses where addr = '100.64.1.2'")" = cgnat ]
	[ "$(q "select country from addresses where addr = '10.1.2.3'")" = private ]
	[ "$(q "select country from addresses where addr = '192.0.2.10'")" = documentation ]
	# no country database: no country, and no failure
	[ "$(q "select count(*) from addresses where addr = '8.8.8.8' and country is null")" -eq 1 ]
	# a start fills in what is missing (a migrated database, a database installed later)
	q "update addresses set country = null where addr = '10.1.2.3'"
	SNITCH_GEOIP_DB=$BATS_TEST_TMPDIR/none.mmdb "$STORE" --db "$DB" < /dev/null
	[ "$(q "select country from addresses where addr = '10.1.2.3'")" = private ]
	if [ -r /var/cache/snitch/country.mmdb ]; then
		SNITCH_GEOIP_DB=/var/cache/snitch/country.mmdb "$STORE" --db "$DB" < /dev/null
		[ "$(q "select country from addresses where addr = '8.8.8.8'")" = US ]
	fi
}

@test "ignore lists leave rows out of the log, and --tee still passes every record" {
	{
		store_flow "$NOW" 1 1					# logged
		store_flow "$NOW" 2 2 '.rport = 53'			# port
		store_flow "$NOW" 3 3 '.lport = 123'			# local port
		store_flow "$NOW" 4 4 '.domain = "cdn.tracker.example"'	# domain suffix
		store_flow "$NOW" 5 5 '.domain = "tracker.example"'	# domain itself
		store_flow "$NOW" 6 6 '.domain = "nottracker.example"'	# not a suffix match: logged
		store_flow "$NOW" 7 7 '.raddr = "10.1.2.3"'		# CIDR
		store_flow "$NOW" 8 8 '.raddr = "2001:db8::1"'		# IPv6 CIDR
		store_flow "$NOW" 9 9 '.raddr = "192.0.2.99"'		# single IP
		store_flow "$NOW" 10 10 '.exe_sha256 = ("ab" * 32)'	# hash
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr "$STORE" --db "$DB" --tee --ignore-ports '53 123' \
		--ignore-domains 'tracker.example' --ignore-ips '10.0.0.0/8 2001:db8::/32 192.0.2.99' \
		--ignore-sha256 "$(printf 'AB%.0s' $(seq 32))" < "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ "$(q 'select group_concat(send_bytes) from (select send_bytes from connections order by 1)')" = "1,6" ]
	# --tee: every record, unchanged
	[ "$output" = "$(cat "$BATS_TEST_TMPDIR/in")" ]
}

@test "a bad ignore list is one clear error" {
	run --separate-stderr "$STORE" --db "$DB" --ignore-ips '10.0.0.0/33' < /dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == "snitch-store: invalid ignore list: '10.0.0.0/33' is not an IP address or CIDR range"* ]]
	run --separate-stderr "$STORE" --db "$DB" --ignore-ports 'http' < /dev/null
	[ "$status" -eq 2 ]
}

@test "--no-addresses, --no-cmdlines and --no-ports keep those out" {
	store_flow "$NOW" 1 1 > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr "$STORE" --db "$DB" --no-addresses --no-cmdlines --no-ports < "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ "$(q 'select laddr_id is null, raddr_id is null, lport is null, rport is null from connections')" = "1|1|1|1" ]
	[ "$(q 'select count(*) from executables where cmdline is not null')" -eq 0 ]
	[ "$(q 'select count(*) from addresses')" -eq 0 ]
}

@test "--log-exec logs exec records as connections with port -1" {
	exec='{"v":1,"type":"exec","ts_ns":'$NOW',"pid":7,"comm":"ls","uid":0,"exe_path":"/usr/bin/ls","name":"ls","cmdline":["ls"]}'
	run --separate-stderr "$STORE" --db "$DB" <<< "$exec"
	[ "$(q 'select count(*) from connections')" -eq 0 ]
	run --separate-stderr "$STORE" --db "$DB" --log-exec <<< "$exec"
	[ "$(q 'select lport, rport, events, send_bytes from connections')" = "-1|-1|1|0" ]
}

@test "CSV: the fields in order, quoted as RFC 4180 says: a CSV reader gets commas, quotes and newlines back" {
	need_cmd python3
	store_flow "$NOW" 11 22 '.exe_path = "/opt/a,b\nc" | .name = "ev,\"il" | .cmdline = ["x,y", "line\nbreak", "nul\u0000here", "\"q\""] | .domain = "d,o\rm"' \
		> "$BATS_TEST_TMPDIR/in"
	run --separate-stderr "$STORE" --db "$DB" --csv "$BATS_TEST_TMPDIR/conn.csv" < "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	# the fields, one a line (newlines in them as \n), as python's csv reads them
	python3 -c 'import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline=""), strict=True))
assert len(rows) == 1, rows
for v in rows[0]:
	print(v.replace("\n", "\\n").replace("\r", "\\r"))' "$BATS_TEST_TMPDIR/conn.csv" > "$BATS_TEST_TMPDIR/fields"
	mapfile -t f < "$BATS_TEST_TMPDIR/fields"
	[ "${#f[@]}" -eq 25 ]
	# quoted only where needed
	grep -q '^[^"]*,11,22,1,"/opt/a,b$' "$BATS_TEST_TMPDIR/conn.csv"
	[ "${f[1]}" = 11 ]
	[ "${f[2]}" = 22 ]
	[ "${f[3]}" = 1 ]
	[ "${f[4]}" = '/opt/a,b\nc' ]
	[ "${f[5]}" = 'ev,"il' ]
	# NUL, which no argument can hold, is left out
	[ "${f[6]}" = 'x,y line\nbreak nulhere "q"' ]
	[ "${f[7]}" = 58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef2593 ]
	[ "${f[8]}" = /usr/bin/bash ]
	[ "${f[12]}" = /usr/sbin/sshd ]
	[ "${f[16]}" = 1000 ]
	[ "${f[17]}" = inet ]
	[ "${f[18]}" = tcp ]
	[ "${f[19]}" = 40000 ]
	[ "${f[20]}" = 443 ]
	[ "${f[21]}" = 192.0.2.10 ]
	[ "${f[22]}" = 198.51.100.7 ]
	[ "${f[23]}" = 'd,o\rm' ]
	[ "${f[24]}" = 4026531840 ]
	[[ "${f[0]}" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]
}

@test "SIGTERM mid-stream writes the open window: nothing is lost" {
	stream_start "$STORE" --db "$DB" --write-limit-s 3600
	for i in $(seq 1 200); do stream_send "$(store_flow "$NOW" "$i" 1 ".lport = $((i % 7))")"; done
	sleep 0.5
	kill -TERM "$STREAM_PID"
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	[ "$(q 'select sum(send_bytes), sum(events), count(*) from connections')" = "20100|200|7" ]
}

@test "a corrupt database file is moved aside with an error record, and a new one starts" {
	mkdir -p "$(dirname "$DB")"
	head -c 65536 /dev/urandom > "$DB"
	store_flow "$NOW" 5 5 > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr "$STORE" --db "$DB" < "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e -s 'map(select(.type == "error"))[0] | .code == "db_corrupt" and (.message | contains("corrupt-"))'
	ls "$DB".corrupt-* > /dev/null
	[ "$(q 'select send_bytes from connections')" = 5 ]
}

@test "a full disk gives an error record, and writing resumes when space returns" {
	need_root
	mnt=$BATS_TEST_TMPDIR/small
	mkdir -p "$mnt"
	mount -t tmpfs -o size=2m none "$mnt"
	DB=$mnt/snitch.db
	stream_start "$STORE" --db "$DB" --write-limit-s 1
	stream_send "$(store_flow "$NOW" 1 1)"
	for i in $(seq 50); do [ "$(q 'select count(*) from connections' 2>/dev/null)" = 1 ] && break; sleep 0.1; done
	dd if=/dev/zero of="$mnt/filler" bs=64k 2>/dev/null || true	# until the disk is full
	for i in $(seq 1 300); do stream_send "$(store_flow "$NOW" 1 1 ".lport = $i | .cmdline = [\"$(head -c 300 /dev/zero | tr '\0' x)$i\"]")"; done
	for i in $(seq 100); do grep -q disk_full "$STREAM_OUT" && break; sleep 0.1; done
	rm "$mnt/filler"
	for i in $(seq 100); do [ "$(q 'select count(*) from connections')" = 301 ] && break; sleep 0.1; done
	stream_stop
	umount "$mnt"
	grep -q '"code":"disk_full"' "$STREAM_OUT"
	[ "$STREAM_STATUS" -eq 0 ]
}

@test "--owner, --group and --mode apply to every file and directory it makes" {
	need_root
	DB=$BATS_TEST_TMPDIR/new/dir/snitch.db
	store_flow "$NOW" 1 1 > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr "$STORE" --db "$DB" --csv "$BATS_TEST_TMPDIR/new/c.csv" \
		--owner nobody --group nogroup --mode 0640 < "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ "$(stat -c '%U:%G %a' "$DB")" = "nobody:nogroup 640" ]
	[ "$(stat -c '%U:%G %a' "$BATS_TEST_TMPDIR/new/c.csv")" = "nobody:nogroup 640" ]
	[ "$(stat -c '%U:%G %a' "$BATS_TEST_TMPDIR/new/dir")" = "nobody:nogroup 750" ]
}

@test "error and lost records it reads, and its own errors, are logged in the events table" {
	{
		store_flow "$NOW" 1 1
		jq -cn --argjson t "$NOW" '{v:1, type:"error", ts_ns:$t, stage:"snitch", code:"stage_died",
			message:"snitch-hash died (signal 9) after 3 s; restarting in 1 s", process:"snitch-hash", pid:77}'
		jq -cn --argjson t "$NOW" '{v:1, type:"lost", ts_ns:$t, stage:"snitch-trace", reason:"ringbuf_full_flow",
			count:12, total:40, message:"12 flow events were not recorded: the ring buffer was full"}'
		echo 'not json'
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr "$STORE" --db "$DB" --tee < "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	# passed on as they came, besides
	[ "$(echo "$output" | jq -r 'select(.type == "error" or .type == "lost") | .code // .reason' | sort | tr '\n' ' ')" = \
	  "malformed_input ringbuf_full_flow stage_died " ]
	[ "$(q "select type, stage, code, coalesce(count, 'null'), message from events where stage != 'snitch-store' order by type")" = \
	  "error|snitch|stage_died|null|snitch-hash died (signal 9) after 3 s; restarting in 1 s
lost|snitch-trace|ringbuf_full_flow|12|12 flow events were not recorded: the ring buffer was full" ]
	# the whole record, as it came
	[ "$(q "select json_extract(record, '$.pid') || ' ' || ts_ns from events where code = 'stage_died'")" = "77 $NOW" ]
	# its own: the malformed line
	[ "$(q "select code, message from events where stage = 'snitch-store'")" = \
	  "malformed_input|line 4: not a JSON object at byte 0" ]
	[ "$(q 'select count(*) from connections')" -eq 1 ]
}

@test "retention deletes old events too" {
	old=$(( NOW - 40 * 86400 * 1000000000 ))
	{
		jq -cn --argjson t "$old" '{v:1, type:"error", ts_ns:$t, stage:"snitch", code:"stage_died", message:"old"}'
		jq -cn --argjson t "$NOW" '{v:1, type:"error", ts_ns:$t, stage:"snitch", code:"stage_died", message:"new"}'
	} > "$BATS_TEST_TMPDIR/in"
	"$STORE" --db "$DB" < "$BATS_TEST_TMPDIR/in"
	[ "$(q 'select message from events order by ts_ns')" = "old
new" ]
	# the next start applies retention first
	"$STORE" --db "$DB" --retention-days 30 < /dev/null
	[ "$(q 'select message from events')" = new ]
}

@test "a version-1 database migrates to the current version (11) one step at a time, keeping its rows, rollups built" {
	mkdir -p "$(dirname "$DB")"
	# the version-1 schema, as snitch-store 0.1.0 made it, with a row
	sqlite3 "$DB" <<-'EOF'
	PRAGMA journal_mode = WAL;
	CREATE TABLE executables (id INTEGER PRIMARY KEY, path TEXT, name TEXT, cmdline TEXT, sha256 TEXT);
	CREATE TABLE domains (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
	CREATE TABLE addresses (id INTEGER PRIMARY KEY, addr TEXT NOT NULL);
	CREATE TABLE containers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
	CREATE TABLE connections ( window_start_ns INTEGER NOT NULL, window_end_ns INTEGER NOT NULL, first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, send_bytes INTEGER NOT NULL, recv_bytes INTEGER NOT NULL, events INTEGER NOT NULL, exe_id INTEGER, parent_exe_id INTEGER, gparent_exe_id INTEGER, uid INTEGER, family TEXT, proto TEXT, lport INTEGER, rport INTEGER, laddr_id INTEGER, raddr_id INTEGER, domain_id INTEGER, netns INTEGER, container_id INTEGER);
	CREATE INDEX connections_exe ON connections (exe_id, window_start_ns);
	CREATE INDEX connections_parent ON connections (parent_exe_id, window_start_ns);
	CREATE INDEX connections_domain ON connections (domain_id, window_start_ns);
	INSERT INTO connections (window_start_ns, window_end_ns, first_ns, last_ns, send_bytes, recv_bytes, events) VALUES (0, 0, 0, 0, 7, 8, 1);
	PRAGMA user_version = 1;
	EOF
	q "update connections set window_start_ns = $NOW, window_end_ns = $NOW, first_ns = $NOW, last_ns = $NOW"
	jq -cn --argjson t "$NOW" '{v:1, type:"error", ts_ns:$t, stage:"snitch-hash", code:"hash_failed", message:"m"}' |
		"$STORE" --db "$DB"
	[ "$(q 'pragma user_version')" -eq 11 ]
	# version 11: the full rollups keyed by bucket, executable and combo, the tables
	# of version 10 gone, rollup_day's index by domain made again, none by executable
	for t in rollup_minute rollup_hour rollup_day; do
		[ "$(q "select group_concat(name, ',') from (select name from pragma_table_info('$t') where pk > 0 order by pk)")" = bucket_ns,exe_id,combo ]
	done
	[ "$(q "select count(*) from sqlite_schema where name like '%_v10'")" -eq 0 ]
	[ "$(q "select group_concat(name, ',') from (select name from pragma_index_list('rollup_day') where origin = 'c' order by name)")" = \
	  rollup_day_domain ]
	# version 10: the outcome in the rollups' key and a dimension of its own
	[ "$(q "select quote(outcome) from rollup_day")" = 0 ]
	[ "$(q "select count(*) from rollup_dim_day where dim = 11 and val = 0")" -eq 1 ]
	# version 9: what runs inside an executable
	[ "$(q "select group_concat(name, ',') from pragma_table_info('executables') where name in ('app_kind', 'app', 'script_path', 'script_sha256')")" = \
	  "app_kind,app,script_path,script_sha256" ]
	# version 5's columns and table, the row's executable untouched
	[ "$(q "select count(*) from pragma_table_info('executables') where name like 'vt\_%' escape '\'")" -eq 9 ]
	[ "$(q 'select count(*) from verdicts')" -eq 0 ]
	# version 6: the outcome, null in the rows logged before it
	[ "$(q "select count(*) from connections where window_start_ns = $NOW and outcome is null")" -eq 1 ]
	[ "$(q "select send_bytes, recv_bytes from connections where window_start_ns = $NOW")" = "7|8" ]
	[ "$(q 'select code from events')" = hash_failed ]
	# version 4: the containers' names
	[ "$(q "select group_concat(name, ',') from pragma_table_info('containers')")" = \
	  "id,name,container_name,image,pod_namespace,pod_name,pod_uid" ]
	# version 3: the rollups of the rows already there, countries
	for t in rollup_minute rollup_hour rollup_day; do
		[ "$(q "select sum(send_bytes), sum(recv_bytes), sum(conns), sum(events) from $t")" = "7|8|1|1" ]
	done
	for t in rollup_dim_hour rollup_dim_day rollup_dim_week rollup_dim_4week; do
		[ "$(q "select count(distinct dim), sum(send_bytes) / 12 from $t")" = "12|7" ]
	done
	[ "$(q "select count(*) from pragma_table_info('addresses') where name = 'country'")" -eq 1 ]
	# version 7: the replay marks of snitch run, none outside it
	[ "$(q 'select count(*) from replay_marks')" -eq 0 ]
	# a database of a newer version is refused, not changed
	# version 8: the row in the week and the four weeks it falls in
	# (the retention pass after the migration starts each level at its
	# first bucket after the cutoff, 30 days back: before the row)
	[ "$(q "select bucket_ns from rollup_dim_week where dim = 0")" = $(( NOW - NOW % 604800000000000 )) ]
	[ "$(q "select bucket_ns from rollup_dim_4week where dim = 0")" = $(( NOW - NOW % 2419200000000000 )) ]
	[ "$(q "select count(*) from rollup_state where level in ('week', '4week') and from_ns <= $NOW")" = 2 ]
	# a database of a newer version is refused, not changed
	q 'pragma user_version = 12'
	run --separate-stderr "$STORE" --db "$DB" < /dev/null
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"its schema is version 12, newer than this snitch-store's 11"* ]]
}

# SQL: the full rollup $1 of an older version, keyed by every column of
# $2 (a list that starts with bucket_ns), made from the SELECT $3.
old_rollup() {
	local outcome=
	[[ "$2" == *outcome ]] && outcome=' outcome NOT NULL,'
	echo "CREATE TABLE old AS $3; DROP TABLE $1;
		CREATE TABLE $1 (bucket_ns INTEGER NOT NULL, exe_id INTEGER NOT NULL, parent_exe_id INTEGER NOT NULL,
		gparent_exe_id INTEGER NOT NULL, uid INTEGER NOT NULL, proto TEXT NOT NULL,
		rport INTEGER NOT NULL, laddr_id INTEGER NOT NULL, raddr_id INTEGER NOT NULL,
		domain_id INTEGER NOT NULL, netns INTEGER NOT NULL, container_id INTEGER NOT NULL,$outcome
		send_bytes INTEGER NOT NULL, recv_bytes INTEGER NOT NULL, conns INTEGER NOT NULL,
		events INTEGER NOT NULL, first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL,
		PRIMARY KEY ($2)) WITHOUT ROWID;
		INSERT INTO $1 SELECT * FROM old; DROP TABLE old"
}

# The rollups of version 9, which summed every outcome into one row, made
# from a log of the current version.
to_version_9() {
	local t cols="bucket_ns, exe_id, parent_exe_id, gparent_exe_id, uid, proto, rport, laddr_id, raddr_id, domain_id, netns, container_id"
	for t in rollup_minute rollup_hour rollup_day; do
		q "$(old_rollup "$t" "$cols" "SELECT $cols, sum(send_bytes) send_bytes, sum(recv_bytes) recv_bytes,
			sum(conns) conns, sum(events) events, min(first_ns) first_ns, max(last_ns) last_ns
			FROM $t GROUP BY $cols")"
	done
	q "CREATE INDEX rollup_day_exe ON rollup_day (exe_id, bucket_ns);
		CREATE INDEX rollup_day_domain ON rollup_day (domain_id, bucket_ns);
		DELETE FROM rollup_dim_hour WHERE dim = 11; DELETE FROM rollup_dim_day WHERE dim = 11;
		DELETE FROM rollup_dim_week WHERE dim = 11; DELETE FROM rollup_dim_4week WHERE dim = 11;
		PRAGMA user_version = 9"
}

@test "version 10: the rollups of a version-9 log are made again with the outcome in their key, equal to the rows" {
	local i
	for i in $(seq 0 29); do
		store_flow $(( NOW - (i % 3) * 86400000000000 - i * 60000000000 )) $(( 10 + i )) $(( 100 + i )) \
			".outcome = (if $i % 5 == 0 then \"refused\" elif $i % 5 == 1 then null
				elif $i % 5 == 2 then \"half-open\" else \"connected\" end)
			| .lport = $(( 40000 + i ))"
	done | "$STORE" --db "$DB" --write-limit-s 1
	to_version_9
	[ "$(q "select count(*) from pragma_table_info('rollup_day') where name = 'outcome'")" -eq 0 ]
	"$STORE" --db "$DB" < /dev/null
	[ "$(q 'pragma user_version')" -eq 11 ]
	# the rollups' numbers (lib/rollup.h): none 0, connected 1, refused 3;
	# a text of no number as itself
	code="case outcome when 'connected' then 1 when 'refused' then 3 when 'half-open' then outcome else 0 end"
	want=$(q "select $code, sum(send_bytes), sum(recv_bytes), count(*) from connections group by 1")
	[ "$(echo "$want" | wc -l)" -eq 4 ]
	# the days hold every row; the hours and minutes those of the time they cover
	[ "$(q "select outcome, sum(send_bytes), sum(recv_bytes), sum(conns) from rollup_day group by 1")" = "$want" ]
	for l in minute hour; do
		[ "$(q "select outcome, sum(send_bytes), sum(recv_bytes), sum(conns) from rollup_$l group by 1")" = \
		  "$(q "select $code, sum(send_bytes), sum(recv_bytes), count(*) from connections
			where window_start_ns >= (select from_ns from rollup_state where level = '$l') group by 1")" ]
	done
	for t in rollup_dim_day rollup_dim_week rollup_dim_4week; do
		[ "$(q "select val, sum(send_bytes), sum(recv_bytes), sum(conns) from $t where dim = 11
			and bucket_ns >= coalesce((select from_ns from rollup_state where level = replace('$t', 'rollup_dim_', '')), 0)
			group by 1")" = \
		  "$(q "select $code, sum(send_bytes), sum(recv_bytes), count(*) from connections
			where window_start_ns >= coalesce((select from_ns from rollup_state where level = replace('$t', 'rollup_dim_', '')), 0)
			group by 1")" ] || { echo "$t"; false; }
	done
	# what snitch-store adds after the migration goes to the right rows
	store_flow "$NOW" 5 6 '.outcome = "refused"' | "$STORE" --db "$DB"
	[ "$(q "select sum(send_bytes) from rollup_day where outcome = 3")" = \
	  "$(q "select sum(send_bytes) from connections where outcome = 'refused'")" ]
}

# The full rollups as versions 3 to 10 keyed them (every column), made
# from a log of the current version; each table's rows as they were, combo
# included, kept in <table>_kept.
to_version_10() {
	local t cols="bucket_ns, exe_id, parent_exe_id, gparent_exe_id, uid, proto, rport, laddr_id, raddr_id, domain_id, netns, container_id, outcome"
	for t in rollup_minute rollup_hour rollup_day; do
		q "CREATE TABLE ${t}_kept AS SELECT * FROM $t;
			$(old_rollup "$t" "$cols" "SELECT $cols, send_bytes, recv_bytes, conns, events, first_ns, last_ns FROM $t")"
	done
	q "CREATE INDEX rollup_day_exe ON rollup_day (exe_id, bucket_ns);
		CREATE INDEX rollup_day_domain ON rollup_day (domain_id, bucket_ns);
		PRAGMA user_version = 10"
}

@test "version 11: a version-10 log's rollup rows move to the combos snitch-store gives them, and later sums find them" {
	local i t
	for i in $(seq 0 59); do
		store_flow $(( NOW - (i % 3) * 86400000000000 - i * 60000000000 )) $(( 10 + i )) $(( 100 + i )) \
			".outcome = (if $i % 4 == 0 then \"refused\" elif $i % 4 == 1 then null
				elif $i % 4 == 2 then \"half-open\" else \"connected\" end)
			| .uid = (if $i % 5 == 0 then null else 1000 + $i % 3 end)
			| .domain = (if $i % 7 == 0 then null else \"d\\($i % 4).example\" end)
			| .lport = $(( 40000 + i ))"
	done | "$STORE" --db "$DB" --write-limit-s 1
	[ "$(q 'select count(*) from rollup_day')" -gt 10 ]
	to_version_10
	[ "$(q "select count(*) from pragma_table_info('rollup_day') where name = 'combo'")" -eq 0 ]
	# an index its owner dropped is not missed
	q 'DROP INDEX rollup_day_exe'
	"$STORE" --db "$DB" < /dev/null
	[ "$(q 'pragma user_version')" -eq 11 ]
	# every row where the writer put it: the same columns, combo and sums
	for t in rollup_minute rollup_hour rollup_day; do
		[ "$(q "select count(*) from $t")" -eq "$(q "select count(*) from ${t}_kept")" ]
		[ "$(q "select count(*) from (select * from $t except select * from ${t}_kept)")" -eq 0 ]
		[ "$(q "select count(*) from (select * from ${t}_kept except select * from $t)")" -eq 0 ]
	done
	# a later record of a combination the log has (that of i = 6, today)
	# goes to its row, not a new one
	rows=$(q 'select count(*) from rollup_day')
	conns=$(q "select sum(conns) from rollup_day where bucket_ns = $NOW - $NOW % 86400000000000 and outcome = 'half-open'")
	[ "$conns" -ge 1 ]
	store_flow "$NOW" 5 6 '.outcome = "half-open" | .uid = 1000 | .domain = "d2.example"' | "$STORE" --db "$DB"
	[ "$(q 'select count(*) from rollup_day')" -eq "$rows" ]
	[ "$(q "select sum(conns) from rollup_day where bucket_ns = $NOW - $NOW % 86400000000000 and outcome = 'half-open'")" -eq $(( conns + 1 )) ]
}

@test "containers: name, image and pod as snitch-resolve named them; names that come later fill the row" {
	c='.container_runtime = "containerd" | .container_id = "2397d068a8d1552a4c3f9147ba9c94e086bfd66fb2acb5bbaf47197105127d5f" | .pod_uid = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"'
	{
		store_flow "$NOW" 1 1 "$c | .container_name = null | .container_image = null | .pod_namespace = null | .pod_name = null"
		store_flow "$NOW" 1 1 '.container_runtime = "docker" | .container_id = "d548c5b83fa61d8e3bd86ad42a7ffea9b7c86e3f9d8095c1577d3e1270bb9420" | .pod_uid = "" | .container_name = "web-1" | .container_image = "nginx:1.25" | .pod_namespace = "" | .pod_name = ""'
		store_flow "$NOW" 1 1	# the host: no container row
	} | "$STORE" --db "$DB" --write-limit-s 1
	[ "$(q "select name, container_name is null, image is null, pod_name is null from containers where name like 'containerd:%'")" = \
	  "containerd:2397d068a8d1552a4c3f9147ba9c94e086bfd66fb2acb5bbaf47197105127d5f|1|1|1" ]
	[ "$(q "select container_name, image, pod_namespace, pod_name, pod_uid from containers where name like 'docker:%'")" = "web-1|nginx:1.25|||" ]
	# a later window names the containerd one
	store_flow "$(( NOW + 20000000000 ))" 1 1 "$c | .container_name = \"coredns\" | .container_image = \"registry.k8s.io/coredns/coredns:v1.11.1\" | .pod_namespace = \"kube-system\" | .pod_name = \"coredns-5d78c\"" |
		"$STORE" --db "$DB" --write-limit-s 1
	[ "$(q "select container_name, image, pod_namespace, pod_name, pod_uid from containers where name like 'containerd:%'")" = \
	  "coredns|registry.k8s.io/coredns/coredns:v1.11.1|kube-system|coredns-5d78c|0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" ]
	[ "$(q 'select count(*) from containers')" -eq 2 ]
	# and a group-by names the traffic
	[ "$(q "select c.container_name, sum(send_bytes) from connections join containers c on c.id = container_id group by 1 order by 1")" = $'coredns|2\nweb-1|1' ]
}

@test "--emit-rows: after each window is committed, its rows as row records, the local rows exactly" {
	{
		store_flow "$NOW" 100 10
		store_flow "$NOW" 50 5 '.domain = null | .exe_path = "/usr/bin/wget" | .name = "wget" | .cmdline = ["wget", "-q", "caf\u00e9"]'
		store_flow "$NOW" 1 1 '.lport = 1'
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr "$STORE" --db "$DB" --emit-rows < "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -s 'map(select(.type == "row")) | length')" -eq 3 ]
	# every column of every row, and the references' content, as in the
	# database (read by SQLite: jq 1.6 rounds 63-bit ids)
	echo "$output" | rows_into "$BATS_TEST_TMPDIR/rows.db"
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/rows.db" "select $(row_cols "$CONN_COLS") from r" | sort)" = \
	  "$(q "select $CONN_COLS from connections" | sort)" ]
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/rows.db" "select $(row_cols 'exe_id, exe_path, name, cmdline, exe_sha256') from r" | sort)" = \
	  "$(q 'select e.id, e.path, e.name, e.cmdline, e.sha256 from connections c join executables e on e.id = c.exe_id' | sort)" ]
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/rows.db" "select distinct $(row_cols 'domain_id, domain') from r where $(row_cols domain) is not null")" = \
	  "$(q 'select id, name from domains')" ]
	[ "$(q "select cmdline from executables where name = 'wget'")" = '["wget","-q","café"]' ]
	# without --emit-rows, none
	run --separate-stderr "$STORE" --db "$BATS_TEST_TMPDIR/db2.db" < "$BATS_TEST_TMPDIR/in"
	[ -z "$output" ]
}

@test "--help, and a bad option" {
	run --separate-stderr "$STORE" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *'[$SNITCH_DB]'* ]]
	[[ "$output" == *'[$SNITCH_WRITE_LIMIT_S]'* ]]
	run --separate-stderr "$STORE" --write-limit-s 0
	[ "$status" -eq 2 ]
	run --separate-stderr "$STORE" --mode 999 < /dev/null
	[ "$status" -eq 2 ]
}
