#!/usr/bin/env bats
# snitch-remote: the off-system copy of the log, row for row, in real
# PostgreSQL and MariaDB servers started here, with INSERT-only roles.

load helper

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	command -v mariadbd > /dev/null && command -v mariadb-install-db > /dev/null || return 0
	ls -d /usr/lib/postgresql/*/bin > /dev/null 2>&1 || return 0
	SERVERS=$(open_tmpdir)
	export SERVERS
	pg_start "$SERVERS/pg" > "$SERVERS/pg.log" 2>&1 || return 0
	my_start "$SERVERS/my" > "$SERVERS/my.log" 2>&1 || return 0
	echo ok > "$SERVERS/up"
}

teardown_file() {
	[ -n "${SERVERS:-}" ] || return 0
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	PG_DIR=$SERVERS/pg
	MY_DIR=$SERVERS/my
	pg_down 2>/dev/null || true
	my_down 2>/dev/null || true
	rm -rf "$SERVERS"
}

need_servers() {
	need_root
	[ -f "${SERVERS:-/nonexistent}/up" ] ||
		cannot_run "PostgreSQL and MariaDB did not start: $(cat "${SERVERS:-/x}"/*.log 2>/dev/null | tail -3)"
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	PG_DIR=$SERVERS/pg
	MY_DIR=$SERVERS/my
	PG_ADMIN="runuser -u postgres -- psql -X -q -A -t -v ON_ERROR_STOP=1 -h $PG_DIR -p 55432 -U postgres"
	MY_ADMIN="mariadb --no-defaults -N -B -S $MY_DIR/sock -u root"
	PG_URL_WRITER="postgresql://writer@/snitch?host=$PG_DIR&port=55432"
	PG_URL_READER="postgresql://reader@/snitch?host=$PG_DIR&port=55432"
	MY_URL_WRITER="mysql://writer:wpw@localhost/snitch?socket=$MY_DIR/sock"
	MY_URL_READER="mysql://reader:rpw@localhost/snitch?socket=$MY_DIR/sock"
}


q() { sqlite3 "$DB" "$@"; }

setup() {
	DB=$BATS_TEST_TMPDIR/db/snitch.db
	SPOOL=$BATS_TEST_TMPDIR/db/remote-spool
}

# remote_sums KIND TABLE [DATABASE]: "rows|sent|received"
remote_sums() {
	if [ "$1" = pg ]; then
		$PG_ADMIN -c "select count(*) || '|' || coalesce(sum(send_bytes), 0) || '|' || coalesce(sum(recv_bytes), 0) from $2" "${3:-snitch}"
	else
		$MY_ADMIN -e "select concat(count(*), '|', coalesce(sum(send_bytes), 0), '|', coalesce(sum(recv_bytes), 0)) from $2" "${3:-snitch}"
	fi
}

# every column of every row of a remote table, sorted, as SQLite prints them
remote_rows() {
	if [ "$1" = pg ]; then
		$PG_ADMIN -F '|' -c "select $CONN_COLS from $2" snitch | sort
	else
		$MY_ADMIN -e "select concat_ws('|', $(echo "$CONN_COLS" | sed -E 's/([a-z_]+)/coalesce(\1, "")/g')) from $2" snitch | sort
	fi
}

# snitch-store --emit-rows | snitch-remote, fed line by line (stream_start)
pipeline() {
	set -o pipefail
	"$STORE" --db "$DB" --write-limit-s 1 --emit-rows --tee | "$REMOTE" "$@"
}

outage_test() {
	local kind=$1 url=$2 table=$3 i
	stream_start pipeline --tee --remote "$url" --remote-table "$table" --spool "$SPOOL" \
		--host-name "host-$kind" --remote-retry-s 1
	for i in $(seq 1 20); do stream_send "$(store_flow "$NOW" "$i" 1 ".lport = $i")"; done
	for i in $(seq 100); do [ "$(remote_sums "$kind" "$table" | cut -d'|' -f1)" = 20 ] && break; sleep 0.1; done
	[ "$(remote_sums "$kind" "$table" | cut -d'|' -f1)" = 20 ]
	if [ "$kind" = pg ]; then pg_down; else my_down; fi
	for i in $(seq 21 60); do stream_send "$(store_flow "$NOW" "$i" 2 ".lport = $i")"; done
	sleep 2.5		# windows written locally, spooled for the remote
	[ "$(q 'select count(*) from connections')" -eq 60 ]
	[ -s "$SPOOL" ]
	if [ "$kind" = pg ]; then pg_up; else my_up; fi
	for i in $(seq 200); do [ "$(remote_sums "$kind" "$table" | cut -d'|' -f1)" = 60 ] && break; sleep 0.1; done
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	[ "$(remote_sums "$kind" "$table")" = "$(q 'select count(*) || "|" || sum(send_bytes) || "|" || sum(recv_bytes) from connections')" ]
	# row for row: every column of every row as in the local database
	diff <(remote_rows "$kind" "$table") <(q "select $CONN_COLS from connections" | sort)
	grep -q '"code":"remote_unavailable"' "$STREAM_OUT"
	# --tee: every record passed on, the flows and the rows
	[ "$(jq -s 'map(select(.type == "flow")) | length' "$STREAM_OUT")" -eq 60 ]
	[ "$(jq -s 'map(select(.type == "row")) | length' "$STREAM_OUT")" -eq 60 ]
}

@test "PostgreSQL: rows reach an INSERT-only role; through an outage, none is lost or doubled" {
	need_servers
	$PG_ADMIN -c "CREATE TABLE conn_pg (LIKE connections INCLUDING ALL); GRANT INSERT ON conn_pg TO writer" snitch
	outage_test pg "$PG_URL_WRITER" conn_pg
	# each row names its host; references arrived by content hash
	[ "$($PG_ADMIN -c "select distinct host from conn_pg" snitch)" = host-pg ]
	[ "$($PG_ADMIN -c "select count(*) from conn_pg c join executables e on e.id = c.exe_id where e.name = 'curl'" snitch)" = 60 ]
	[ "$($PG_ADMIN -c "select e.cmdline from conn_pg c join executables e on e.id = c.parent_exe_id limit 1" snitch)" = '["-bash"]' ]
	[ "$($PG_ADMIN -c "select count(distinct row_uid) from conn_pg" snitch)" = 60 ]
}

@test "MariaDB: rows reach an INSERT-only role; through an outage, none is lost or doubled" {
	need_servers
	$MY_ADMIN -e "CREATE TABLE conn_my LIKE connections; GRANT INSERT ON snitch.conn_my TO writer@localhost" snitch
	outage_test my "$MY_URL_WRITER" conn_my
	[ "$($MY_ADMIN -e "select distinct host from conn_my" snitch)" = host-my ]
	[ "$($MY_ADMIN -e "select count(*) from conn_my c join domains d on d.id = c.domain_id where d.name = 'example.org'" snitch)" = 60 ]
}

@test "snitch-remote alone: reads a file of row records, passes every record on with --tee, inserts each row" {
	need_servers
	$PG_ADMIN -c "CREATE TABLE conn_file (LIKE connections INCLUDING ALL); GRANT INSERT ON conn_file TO writer" snitch
	{
		store_flow "$NOW" 5 6
		store_flow "$NOW" 7 8 '.domain = "o'"'"'brien.example" | .cmdline = ["sh", "-c", "x'"'"'); DROP TABLE conn_file; --"]'
		store_flow "$NOW" 9 10 '.name = "caf\u00e9" | .exe_path = "/opt/b\u00e4d"'
	} | "$STORE" --db "$DB" --emit-rows > "$BATS_TEST_TMPDIR/rows"
	{
		echo '{"v":1,"type":"error","ts_ns":1,"stage":"snitch","code":"stage_died","message":"m"}'
		cat "$BATS_TEST_TMPDIR/rows"
		store_flow "$NOW" 1 1
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr "$REMOTE" --remote "$PG_URL_WRITER" --remote-table conn_file --spool "$SPOOL" --tee < "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	# every record on, unchanged, then its stats record at exit
	[ "$(echo "$output" | grep -v '"type":"stats"')" = "$(cat "$BATS_TEST_TMPDIR/in")" ]
	echo "$output" | tail -n 1 | jq -e '.type == "stats" and .stage == "snitch-remote" and .rows == 3 and .spool_bytes == 0 and .spool_peak_bytes > 0' 
	[ "$(remote_sums pg conn_file)" = "3|21|24" ]
	[ "$(remote_rows pg conn_file)" = "$(q "select $CONN_COLS from connections" | sort)" ]
	# values are bound, never SQL text: quotes arrive as they were
	[ "$($PG_ADMIN -c "select name from domains where name like 'o%'" snitch)" = "o'brien.example" ]
	[ "$($PG_ADMIN -c "select cmdline from executables where cmdline like '%DROP%'" snitch)" = \
	  "$(q "select cmdline from executables where cmdline like '%DROP%'")" ]
	[ "$($PG_ADMIN -c "select path from executables where name = 'café'" snitch)" = "/opt/bäd" ]
	# all sent: the spool starts afresh
	[ ! -s "$SPOOL" ]
	# without --tee: nothing but its own records
	run --separate-stderr "$REMOTE" --remote "$PG_URL_WRITER" --remote-table conn_file --spool "$SPOOL" < "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '[.type, .stage]')" = '["stats","snitch-remote"]' ]
	# the same rows again are new rows (new row_uids): a row record is a row
	[ "$(remote_sums pg conn_file)" = "6|42|48" ]
}

@test "rows spooled while the server was down are sent by the next run, and only once" {
	need_servers
	$PG_ADMIN -c "CREATE TABLE conn_restart (LIKE connections INCLUDING ALL); GRANT INSERT ON conn_restart TO writer" snitch
	for i in $(seq 1 30); do store_flow "$NOW" "$i" 3 ".lport = $i"; done | "$STORE" --db "$DB" --emit-rows > "$BATS_TEST_TMPDIR/rows"
	pg_down
	# the spool's default place: beside $SNITCH_DB, where snitch-store kept it
	export SNITCH_DB=$DB
	run --separate-stderr "$REMOTE" --remote "$PG_URL_WRITER" --remote-table conn_restart --stats-s 1 < "$BATS_TEST_TMPDIR/rows"
	[ "$status" -eq 0 ]
	[ -s "$DB.remote-spool" ]
	# its stats record says how much waits for the server: the spool's bytes
	echo "$output" | jq -e -s --argjson n "$(stat -c %s "$DB.remote-spool")" \
		'map(select(.type == "stats"))[-1] | .rows == 30 and .spool_bytes == $n and .spool_peak_bytes >= $n'
	(( $(stat -c %s "$DB.remote-spool") > 0 ))
	# the spool's lines: the row records, with host and row_uid (docs/schema.md)
	[ "$(jq -s 'map(select(.type == "row" and (.row_uid | type) == "string" and (.host | type) == "string")) | length' "$DB.remote-spool")" -eq 30 ]
	pg_up
	# a later run, with nothing new: what waited is sent
	run --separate-stderr "$REMOTE" --remote "$PG_URL_WRITER" --remote-table conn_restart < /dev/null
	[ "$status" -eq 0 ]
	[ "$(remote_sums pg conn_restart)" = "30|465|90" ]
	echo "$output" | jq -e -s 'map(select(.type == "stats"))[-1] | .rows == 0 and .spool_bytes == 0' 
	[ ! -s "$DB.remote-spool" ]
	# the offset file, replaced atomically: 0, and no temporary left
	[ "$(cat "$DB.remote-spool.offset")" = 0 ]
	[ -z "$(compgen -G "$DB*.tmp-*")" ]
	run --separate-stderr "$REMOTE" --remote "$PG_URL_WRITER" --remote-table conn_restart < /dev/null
	[ "$(remote_sums pg conn_restart)" = "30|465|90" ]
}

@test "lines sent but not marked sent (a crash) are stored once; a cut line is skipped" {
	need_servers
	$PG_ADMIN -c "CREATE TABLE conn_twice (LIKE connections INCLUDING ALL); GRANT INSERT ON conn_twice TO writer" snitch
	for i in $(seq 1 10); do store_flow "$NOW" "$i" 1 ".lport = $i"; done | "$STORE" --db "$DB" --emit-rows > "$BATS_TEST_TMPDIR/rows"
	pg_down
	"$REMOTE" --remote "$PG_URL_WRITER" --remote-table conn_twice --spool "$SPOOL" < "$BATS_TEST_TMPDIR/rows" 2> /dev/null
	cp "$SPOOL" "$BATS_TEST_TMPDIR/spool.copy"
	printf '{"v":1,"type":"row","window_sta' >> "$SPOOL"	# cut by a crash
	pg_up
	# the next run ends the cut line before it spools its own rows: all of
	# them arrive, none is glued to the cut line and skipped with it
	for i in $(seq 11 15); do store_flow "$NOW" "$i" 1 ".lport = $i"; done |
		"$STORE" --db "$DB.2" --emit-rows > "$BATS_TEST_TMPDIR/rows2"
	"$REMOTE" --remote "$PG_URL_WRITER" --remote-table conn_twice --spool "$SPOOL" < "$BATS_TEST_TMPDIR/rows2"
	[ "$(remote_sums pg conn_twice)" = "15|120|15" ]
	# as if the offset had not been written after the commit
	cp "$BATS_TEST_TMPDIR/spool.copy" "$SPOOL"
	echo 0 > "$SPOOL.offset"
	"$REMOTE" --remote "$PG_URL_WRITER" --remote-table conn_twice --spool "$SPOOL" < /dev/null
	[ "$(remote_sums pg conn_twice)" = "15|120|15" ]
}

# rows 1..5 with row 3's lport beyond the servers' INTEGER: the server
# refuses that one row; the others arrive, it is told as lost, nothing waits
refused_row_test() {
	local kind=$1 url=$2 table=$3
	for i in 1 2 3 4 5; do store_flow "$NOW" "$i" 1 ".lport = $i"; done |
		"$STORE" --db "$DB" --emit-rows |
		jq -c 'if .lport == 3 then .lport = 4294967296 else . end' > "$BATS_TEST_TMPDIR/rows"
	run --separate-stderr "$REMOTE" --remote "$url" --remote-table "$table" --spool "$SPOOL" < "$BATS_TEST_TMPDIR/rows"
	[ "$status" -eq 0 ]
	[ "$(remote_sums "$kind" "$table")" = "4|12|4" ]
	[ "$(jq -r 'select(.type == "error") | .code' <<< "$output")" = remote_refused_row ]
	[ "$(jq -r 'select(.type == "lost") | "\(.reason) \(.count)"' <<< "$output")" = "remote_refused 1" ]
	[ ! -s "$SPOOL" ]
}

@test "PostgreSQL: a row the server refuses is skipped and told as lost; the rows around it arrive" {
	need_servers
	$PG_ADMIN -c "CREATE TABLE conn_refused (LIKE connections INCLUDING ALL); GRANT INSERT ON conn_refused TO writer" snitch
	refused_row_test pg "$PG_URL_WRITER" conn_refused
}

@test "MariaDB: a row the server refuses is skipped and told as lost; the rows around it arrive" {
	need_servers
	$MY_ADMIN -e "CREATE TABLE conn_refused LIKE connections; GRANT INSERT ON snitch.conn_refused TO writer@localhost" snitch
	refused_row_test my "$MY_URL_WRITER" conn_refused
}

# Rows whose executables have an app or a script, and whose container
# has names: a file of row records in $BATS_TEST_TMPDIR/rows.
app_rows() {
	local dk='.container_runtime = "docker" | .container_id = "d548c5b83fa61d8e3bd86ad42a7ffea9b7c86e3f9d8095c1577d3e1270bb9420"'
	{
		store_flow "$NOW" 3 4 ".app_kind = \"flatpak\" | .app = \"org.example.$1\" | $dk
			| .container_name = \"web-1\" | .container_image = \"nginx:1.25\" | .pod_namespace = \"\" | .pod_name = \"\" | .pod_uid = \"\""
		store_flow "$NOW" 5 6 ".exe_path = \"/usr/bin/python3\" | .name = \"python3\" | .cmdline = [\"python3\", \"$1.py\"]
			| .script_path = \"/home/u/$1.py\" | .script_sha256 = (\"ab\" * 32) | .parent_script_path = \"/home/u/run.sh\""
	} | "$STORE" --db "$DB" --emit-rows > "$BATS_TEST_TMPDIR/rows"
}

# The executables and containers rows of the local log with an app, a
# script or a container name, as "id|path|app_kind|app|script_path|
# script_sha256" and "id|name|container_name|image|pod_namespace|pod_name|pod_uid".
APP_SQL="id, '|', path, '|', coalesce(app_kind, ''), '|', coalesce(app, ''), '|', "
APP_SQL+="coalesce(script_path, ''), '|', coalesce(script_sha256, '')"
CONTAINER_SQL="id, '|', name, '|', coalesce(container_name, ''), '|', coalesce(image, ''), '|', "
CONTAINER_SQL+="coalesce(pod_namespace, ''), '|', coalesce(pod_name, ''), '|', coalesce(pod_uid, '')"
local_apps() {
	local cat="s/, '[|]', / || '|' || /g"
	q "select $(sed "$cat" <<< "$APP_SQL") from executables where app is not null or script_path is not null order by id"
	q "select $(sed "$cat" <<< "$CONTAINER_SQL") from containers where container_name is not null order by id"
}

# remote_apps KIND DB IDS: the same from a server, for the ids the local log has
remote_apps() {
	local sql ids
	ids=$(q "select group_concat(id) from executables where app is not null or script_path is not null")
	sql="select concat($APP_SQL) from executables where id in ($ids) order by id;
		select concat($CONTAINER_SQL) from containers where container_name is not null order by id"
	if [ "$1" = pg ]; then
		$PG_ADMIN -c "${sql%%;*}" "$2"
		$PG_ADMIN -c "${sql#*;}" "$2"
	else
		$MY_ADMIN -e "$sql" "$2"
	fi
}

# remote_apps_test KIND URL_OF(DB): rows reach current tables whole; tables
# made before the columns take rows without them, say so, and --schema
# (run by an administrator) upgrades them
remote_apps_test() {
	local kind=$1 old=snitch_old_$1 url
	app_rows one
	if [ "$kind" = pg ]; then
		url="postgresql://writer@/snitch?host=$PG_DIR&port=55432"
	else
		url="mysql://writer:wpw@localhost/snitch?socket=$MY_DIR/sock"
	fi
	run --separate-stderr "$REMOTE" --remote "$url" --remote-table conn_apps --spool "$SPOOL" < "$BATS_TEST_TMPDIR/rows"
	[ "$status" -eq 0 ]
	[ "$(remote_sums "$kind" conn_apps)" = "2|8|10" ]
	local_apps
	[ "$(local_apps | wc -l)" -eq 4 ]	# the app, two scripts, a container
	[ "$(remote_apps "$kind" snitch)" = "$(local_apps)" ]
	# tables as the first remote schema made them (no ALTER), an INSERT-only role
	if [ "$kind" = pg ]; then
		$PG_ADMIN -c "CREATE DATABASE $old" postgres
		"$REMOTE" --remote "postgresql://x/$old" --schema | grep -v '^ALTER' | $PG_ADMIN "$old"
		$PG_ADMIN -c "GRANT INSERT ON ALL TABLES IN SCHEMA public TO writer" "$old"
		url="postgresql://writer@/$old?host=$PG_DIR&port=55432"
	else
		$MY_ADMIN -e "CREATE DATABASE $old"
		"$REMOTE" --remote "mysql://x/$old" --schema | grep -v '^ALTER' | $MY_ADMIN "$old"
		$MY_ADMIN -e "GRANT INSERT ON $old.* TO writer@localhost"
		url="mysql://writer:wpw@localhost/$old?socket=$MY_DIR/sock"
	fi
	run --separate-stderr "$REMOTE" --remote "$url" --spool "$SPOOL.old" < "$BATS_TEST_TMPDIR/rows"
	[ "$status" -eq 0 ]
	[ "$(remote_sums "$kind" connections "$old")" = "2|8|10" ]
	[ "$(jq -r 'select(.type == "error") | .code' <<< "$output")" = remote_schema_old ]
	[[ "$stderr" == *"runs the SQL of 'snitch-remote --schema' again"* ]]
	[ ! -s "$SPOOL.old" ]
	# the administrator runs --schema again: new executables arrive whole
	if [ "$kind" = pg ]; then
		"$REMOTE" --remote "postgresql://x/$old" --schema | $PG_ADMIN "$old"
	else
		"$REMOTE" --remote "mysql://x/$old" --schema | $MY_ADMIN "$old"
	fi
	rm -f "$DB"
	app_rows two
	run --separate-stderr "$REMOTE" --remote "$url" --spool "$SPOOL.old" < "$BATS_TEST_TMPDIR/rows"
	[ "$status" -eq 0 ]
	[ -z "$(jq -r 'select(.type == "error") | .code' <<< "$output")" ]
	[ "$(remote_sums "$kind" connections "$old")" = "4|16|20" ]
	# the new app and script whole; the parent with run.sh, and the
	# container, came before the upgrade: those rows keep what they had
	remote_apps "$kind" "$old"
	[ "$(remote_apps "$kind" "$old" | head -2)" = "$(local_apps | head -2)" ]
	[ "$(remote_apps "$kind" "$old" | sed -n 3p)" = "$(local_apps | sed -n 3p | sed 's|/home/u/run.sh||')" ]
	[ "$(remote_apps "$kind" "$old" | wc -l)" -eq 3 ]
}

@test "PostgreSQL: apps, scripts and container names arrive; older tables take rows without them until --schema adds them" {
	need_servers
	$PG_ADMIN -c "CREATE TABLE conn_apps (LIKE connections INCLUDING ALL); GRANT INSERT ON conn_apps TO writer" snitch
	remote_apps_test pg
	# a role that may alter the tables (their owner) adds the columns itself
	$PG_ADMIN -c "CREATE DATABASE snitch_own" postgres
	"$REMOTE" --remote "postgresql://x/snitch_own" --schema | grep -v '^ALTER' | $PG_ADMIN snitch_own
	[ "$($PG_ADMIN -c "select count(*) from information_schema.columns where column_name in ('app', 'pod_name')" snitch_own)" -eq 0 ]
	run --separate-stderr "$REMOTE" --remote "postgresql://postgres@/snitch_own?host=$PG_DIR&port=55432" \
		--spool "$SPOOL.own" < "$BATS_TEST_TMPDIR/rows"
	[ "$status" -eq 0 ]
	[ -z "$(jq -r 'select(.type == "error") | .code' <<< "$output")" ]
	[ "$($PG_ADMIN -c "select count(*) from information_schema.columns where column_name in ('app', 'pod_name')" snitch_own)" -eq 2 ]
	[ "$(remote_apps pg snitch_own | head -2)" = "$(local_apps | head -2)" ]
}

@test "MariaDB: apps, scripts and container names arrive; older tables take rows without them until --schema adds them" {
	need_servers
	$MY_ADMIN -e "CREATE TABLE conn_apps LIKE connections; GRANT INSERT ON snitch.conn_apps TO writer@localhost" snitch
	remote_apps_test my
}

@test "a role without INSERT gives a clear error, and rows wait in the spool" {
	need_servers
	store_flow "$NOW" 1 1 | "$STORE" --db "$DB" --emit-rows > "$BATS_TEST_TMPDIR/rows"
	run --separate-stderr "$REMOTE" --remote "$PG_URL_READER" --spool "$SPOOL" < "$BATS_TEST_TMPDIR/rows"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"remote log: ERROR:  permission denied for table"* ]]
	echo "$output" | jq -e -s 'map(select(.type == "error" and .code == "remote_unavailable" and .stage == "snitch-remote")) | length == 1'
	[ -s "$SPOOL" ]
	run --separate-stderr "$REMOTE" --remote "$MY_URL_READER" --spool "$BATS_TEST_TMPDIR/spool2" < "$BATS_TEST_TMPDIR/rows"
	[[ "$stderr" == *"INSERT command denied to user 'reader'"* ]]
}

@test "--schema prints the SQL an administrator runs; a bad URL or table name is a usage error" {
	run --separate-stderr "$REMOTE" --remote 'postgresql://x/y' --remote-table conn_a --schema
	[ "$status" -eq 0 ]
	[[ "$output" == *"CREATE TABLE IF NOT EXISTS conn_a ("* ]]
	[[ "$output" == *"row_uid TEXT NOT NULL UNIQUE"* ]]
	run --separate-stderr "$REMOTE" --remote 'mysql://x/y' --schema
	[ "$status" -eq 0 ]
	[[ "$output" == *"row_uid VARCHAR(191) NOT NULL UNIQUE"* ]]
	run --separate-stderr "$REMOTE" --remote 'ftp://x' < /dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"'ftp://x' is not a postgresql:// or mysql:// URL"* ]]
	for t in 'conn;drop' '1conn' 'conn-a' "$(printf 'a%.0s' $(seq 64))" '' 'cönn'; do
		run --separate-stderr "$REMOTE" --remote 'postgresql://x/y' --remote-table "$t" --schema
		[ "$status" -eq 2 ]
		[[ "$stderr" == *"is not a table name"* ]]
	done
	run --separate-stderr "$REMOTE" < /dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"no server: give --remote URL (or SNITCH_REMOTE)"* ]]
}

@test "--help with examples, --config-template with its settings, and a bad option" {
	run --separate-stderr "$REMOTE" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *'[$SNITCH_REMOTE]'* ]]
	[[ "$output" == *'[$SNITCH_REMOTE_TABLE]'* ]]
	[[ "$output" == *'[$SNITCH_HOST_NAME]'* ]]
	[[ "$output" == *'[$SNITCH_SPOOL]'* ]]
	[[ "$output" == *'[$SNITCH_REMOTE_RETRY_S]'* ]]
	[[ "$output" == *'snitch-store --tee --emit-rows | snitch-remote --tee'* ]]
	run --separate-stderr "$REMOTE" --config-template
	[ "$status" -eq 0 ]
	[[ "$output" == *'#SNITCH_REMOTE_TABLE=connections'* ]]
	[[ "$output" == *'#SNITCH_REMOTE_RETRY_S=30'* ]]
	run --separate-stderr "$REMOTE" --remote-retry-s 0
	[ "$status" -eq 2 ]
}

# The supervisor with a remote log configured: snitch-remote runs between
# snitch-store and snitch-notify, snitch status shows it, and the rows the
# stages logged reach the server. The tracer is a stand-in that writes
# flows already resolved and hashed (the other stages pass them on as they
# are), so that the test needs no BPF; every other stage is the real one.
@test "snitch run with SNITCH_REMOTE: snitch-remote runs after snitch-store, shows in status, rows reach the server" {
	need_servers
	local d=$BATS_TEST_TMPDIR/run i
	$PG_ADMIN -c "CREATE TABLE conn_run (LIKE connections INCLUDING ALL); GRANT INSERT ON conn_run TO writer" snitch
	mkdir -p "$d/bin" "$d/etc"
	for t in snitch-resolve snitch-hash snitch-store snitch-remote snitch-notify; do
		ln -s "$SNITCH_BIN/$t" "$d/bin/$t"
	done
	for i in $(seq 1 5); do store_flow "$NOW" "$((i * 100))" 7 ".lport = $i"; done > "$d/flows"
	printf '#!/bin/sh\nprintf R >&3 && exec 3>&-\ncat %s\nexec sleep 600\n' "$d/flows" > "$d/bin/snitch-trace"
	chmod 755 "$d/bin/snitch-trace"
	: > "$d/etc/snitch.conf"
	SNITCH_CONF=$d/etc/snitch.conf SNITCH_RUN_DIR=$d/run SNITCH_DB=$d/lib/snitch.db \
	SNITCH_STATE=$d/lib/state.json SNITCH_LOG_DIR=$d/log SNITCH_WRITE_LIMIT_S=1 \
	SNITCH_NO_DESKTOP=1 SNITCH_REMOTE=$PG_URL_WRITER SNITCH_REMOTE_TABLE=conn_run \
	SNITCH_REMOTE_RETRY_S=1 \
		"$SNITCH" run --bin-dir "$d/bin" > "$d/run.out" 2> "$d/run.err" 3>&- &
	local pid=$!
	for i in $(seq 1 150); do
		[ "$(remote_sums pg conn_run 2>/dev/null | cut -d'|' -f1)" = 5 ] && break
		sleep 0.1
	done
	run env SNITCH_RUN_DIR="$d/run" "$SNITCH" status --json
	kill -TERM "$pid"
	wait "$pid" || { cat "$d/run.err"; false; }
	echo "$output"
	[ "$(jq -c '[.stages[].name]' <<< "$output")" = \
		'["snitch-trace","snitch-resolve","snitch-hash","snitch-store","snitch-remote","snitch-notify"]' ]
	jq -e '[.stages[] | .alive] | all' <<< "$output"
	grep -q 'snitch-store --tee --emit-rows | snitch-remote --tee | snitch-notify' "$d/run.err"
	[ "$(remote_sums pg conn_run)" = "5|1500|35" ]
	[ "$(sqlite3 "$d/lib/snitch.db" 'select count(*), sum(send_bytes) from connections')" = "5|1500" ]
}
