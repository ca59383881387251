#!/usr/bin/env bats
# snitch-web: HTTP security (Host, token, paths, headers, root), the JSON
# API against SQL sums over a fixture database made by snitch-store, bad
# parameters, and databases that are missing, empty, old, corrupt or
# being written.

load helper
load web

setup_file() {
	export FIXTURE_NOW=$NOW
	export FIXTURE=$BATS_FILE_TMPDIR/fixture/snitch.db
	web_fixture "$FIXTURE" "$FIXTURE_NOW"
}

setup() {
	need_cmd curl jq sqlite3
}

teardown() {
	stop_started ${WEB_PID:-}
	[ -z "${NB_DIR:-}" ] || rm -rf "$NB_DIR"
}

q() { sqlite3 "$FIXTURE" "$@"; }

# ---- security ----

@test "root is refused with one line saying why, unless --allow-root" {
	need_root
	run --separate-stderr "$WEB" --db "$FIXTURE" --listen 127.0.0.1:0
	[ "$status" -eq 3 ]
	[ "$(echo "$stderr" | wc -l)" -eq 1 ]
	[[ "$stderr" == "snitch-web: refusing to run as root:"*"--allow-root"* ]]
	[ -z "$output" ]
}

@test "it runs as an unprivileged user of the group that may read the database" {
	need_root
	dir=$(open_tmpdir)
	nobody_bin "$dir"
	# as an administrator sets it up: snitch-store gives the log a group
	stream_start "$STORE" --db "$dir/db/snitch.db" --group nogroup --mode 0640 --write-limit-s 1
	stream_send "$(cat "$FIXTURE.in")"
	# the fixture's rows, read-only: a sqlite3 that opened the path before
	# snitch-store would make the file, and snitch-store gives its group
	# only to a log it makes
	rows=$(q 'select count(*) from connections')
	for i in $(seq 300); do
		[ "$(sqlite3 -readonly "$dir/db/snitch.db" 'select count(*) from connections' 2>/dev/null)" = "$rows" ] && break
		sleep 0.1
	done
	[ "$(sqlite3 -readonly "$dir/db/snitch.db" 'select count(*) from connections')" = "$rows" ]
	[ "$(stat -c %G "$dir/db/snitch.db")" = nogroup ]
	WEB_ERR=$BATS_TEST_TMPDIR/err
	web_spawn setpriv --reuid nobody --regid nogroup --clear-groups \
		"$NOBODY_BIN/snitch-web" --db "$dir/db/snitch.db" --listen 127.0.0.1:0
	web_wait_port
	[ "$(stat -c %U "/proc/$WEB_PID")" = nobody ]
	[ "$(apiq 'summary?range=all' '.totals.sent')" -eq "$(q 'select sum(send_bytes) from connections')" ]
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	stop_started "$WEB_PID"
	# a user outside the group gets a clear error, not a crash
	web_spawn setpriv --reuid nobody --regid daemon --clear-groups \
		"$NOBODY_BIN/snitch-web" --db "$dir/db/snitch.db" --listen 127.0.0.1:0
	web_wait_port
	api 'summary?range=all'
	[ "$API_STATUS" = 503 ]
	[[ "$(echo "$API_BODY" | jq -r .error)" == *"cannot open"*"read access"* ]]
	rm -rf "$dir"
}

@test "a Host header that does not name the listener gets 403 (DNS rebinding)" {
	web_start --db "$FIXTURE"
	for h in "evil.example:$WEB_PORT" "evil.example" "localhost.evil.example:$WEB_PORT" \
		"127.0.0.2:$WEB_PORT" "localhost:$((WEB_PORT + 1))" "localhost" ""; do
		code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $h" "$WEB_URL/api/meta")
		[ "$code" = 403 ] || { echo "Host '$h' got $code" >&2; false; }
	done
	for h in "localhost:$WEB_PORT" "LOCALHOST:$WEB_PORT" "127.0.0.1:$WEB_PORT"; do
		code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $h" "$WEB_URL/api/meta")
		[ "$code" = 200 ] || { echo "Host '$h' got $code" >&2; false; }
	done
	stop_started "$WEB_PID"
	# IPv6 loopback: [::1] and localhost, not the IPv4 address
	if ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/'; then
		web_start --db "$FIXTURE" --listen '[::1]:0'
		for h in "[::1]:$WEB_PORT=200" "localhost:$WEB_PORT=200" "127.0.0.1:$WEB_PORT=403" "[::2]:$WEB_PORT=403"; do
			code=$(curl -s -g -o /dev/null -w '%{http_code}' -H "Host: ${h%=*}" "http://[::1]:$WEB_PORT/api/meta")
			[ "$code" = "${h#*=}" ] || { echo "Host '${h%=*}' on [::1] got $code" >&2; false; }
		done
	fi
}

@test "every response has a strict CSP and nosniff, and none has a CORS header" {
	web_start --db "$FIXTURE"
	for path in / /explore /executables /static/app.js /static/style.css /static/chart.min.js \
		/static/icon.svg /api/meta '/api/summary?top=0' /api/nothing /nothing; do
		wcurl -D "$BATS_TEST_TMPDIR/h" -o /dev/null -H 'Origin: http://evil.example' "$WEB_URL$path"
		grep -qi '^X-Content-Type-Options: nosniff' "$BATS_TEST_TMPDIR/h" || { echo "$path: no nosniff" >&2; false; }
		grep -qi "^Content-Security-Policy: default-src 'none'; script-src 'self'" "$BATS_TEST_TMPDIR/h" ||
			{ echo "$path: no CSP" >&2; false; }
		! grep -qi '^Access-Control-' "$BATS_TEST_TMPDIR/h" || false
	done
	# the 403 of a foreign Host too
	curl -s -D "$BATS_TEST_TMPDIR/h" -o /dev/null -H 'Host: evil.example' "$WEB_URL/"
	grep -q '^HTTP/1.1 403' "$BATS_TEST_TMPDIR/h"
	grep -qi '^X-Content-Type-Options: nosniff' "$BATS_TEST_TMPDIR/h"
	# only GET and HEAD
	[ "$(wcurl -o /dev/null -w '%{http_code}' -X POST -d x=1 "$WEB_URL/api/meta")" = 405 ]
	[ "$(wcurl -o /dev/null -w '%{http_code}' -I "$WEB_URL/")" = 200 ]
}

@test "path traversal and unknown paths get 404; no request reads a file" {
	web_start --db "$FIXTURE"
	for path in /static/../../../../etc/passwd /static/%2e%2e/%2e%2e/etc/passwd \
		/..%2f..%2f..%2fetc%2fpasswd //etc/passwd /static/ /static /static/app.js/ \
		/static/app.js%00 /static/./app.js /STATIC/app.js /web/app.js /index.html \
		/static/chart.js /usr/share/javascript/chart.js/chart.min.js /etc/passwd \
		"/static/app.js?x=/../../etc/passwd/.." /api/../static/app.js /api/%2e%2e/meta; do
		code=$(wcurl --path-as-is -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' "$WEB_URL$path")
		case $path in
		"/static/app.js?"*) [ "$code" = 200 ] ;;	# the query string is not part of the path
		*) [ "$code" = 404 ] || { echo "$path got $code" >&2; false; } ;;
		esac
		! grep -q 'root:' "$BATS_TEST_TMPDIR/body" || false
	done
	# what the fixed list holds is served, byte for byte
	wcurl -o "$BATS_TEST_TMPDIR/app.js" "$WEB_URL/static/app.js"
	cmp "$BATS_TEST_TMPDIR/app.js" "$SNITCH_TOP/web/app.js"
	wcurl --compressed -o "$BATS_TEST_TMPDIR/chart.js" "$WEB_URL/static/chart.min.js"
	cmp "$BATS_TEST_TMPDIR/chart.js" /usr/share/javascript/chart.js/chart.min.js
}

@test "a non-loopback listener needs --token; without it a request gets 401" {
	root=
	[ "$(id -u)" -ne 0 ] || root=--allow-root
	run --separate-stderr "$WEB" $root --db "$FIXTURE" --listen 0.0.0.0:0
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"not a loopback address"*"--token"* ]]
	token=0123456789abcdef0123456789abcdef
	WEB_ERR=$BATS_TEST_TMPDIR/err
	web_spawn "$WEB" $root --db "$FIXTURE" --listen 0.0.0.0:0 --token "$token"
	web_wait_port
	# the token is never printed; a one-time sign-in URL is
	! grep -q "$token" "$WEB_ERR" || false
	once=$(sed -n 's|.*/login?once=\([0-9a-f]*\) .*|\1|p' "$WEB_ERR")
	[ -n "$once" ]
	[ "$(wcurl -o /dev/null -w '%{http_code}' "$WEB_URL/api/meta")" = 401 ]
	[ "$(wcurl -o /dev/null -w '%{http_code}' "$WEB_URL/")" = 401 ]
	[ "$(wcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong$token" "$WEB_URL/api/meta")" = 401 ]
	[ "$(wcurl -o /dev/null -w '%{http_code}' -H 'Cookie: snitch_session=00' "$WEB_URL/api/meta")" = 401 ]
	[ "$(wcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$WEB_URL/api/meta")" = 200 ]
	# the one-time URL sets a cookie that then works; a second use does not
	wcurl -D "$BATS_TEST_TMPDIR/h" -o /dev/null "$WEB_URL/login?once=$once"
	grep -q '^HTTP/1.1 303' "$BATS_TEST_TMPDIR/h"
	cookie=$(sed -n 's/^Set-Cookie: \(snitch_session=[0-9a-f]*\); Path=\/; HttpOnly; SameSite=Strict.*/\1/p' "$BATS_TEST_TMPDIR/h")
	[ -n "$cookie" ]
	[ "$(wcurl -o /dev/null -w '%{http_code}' -H "Cookie: a=b; $cookie" "$WEB_URL/api/meta")" = 200 ]
	[ "$(wcurl -o /dev/null -w '%{http_code}' "$WEB_URL/login?once=$once")" = 401 ]
}

@test "a bad --listen or --token is one line naming it, exit 2" {
	root=
	[ "$(id -u)" -ne 0 ] || root=--allow-root
	for l in 127.0.0.1 127.0.0.1:99999 nohost:80 '[::1:80' ':80'; do
		run --separate-stderr "$WEB" $root --listen "$l"
		[ "$status" -eq 2 ] && [[ "$stderr" == *"--listen '$l'"* ]] || { echo "$l: $status $stderr" >&2; false; }
	done
	run --separate-stderr "$WEB" $root --listen 127.0.0.1:0 --token short
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--token"* ]]
	# a port in use: exit 4, saying so
	web_start --db "$FIXTURE"
	run --separate-stderr "$WEB" $root --db "$FIXTURE" --listen "127.0.0.1:$WEB_PORT"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"cannot listen on 127.0.0.1:$WEB_PORT: Address already in use"* ]]
}

@test "snitch web runs snitch-web with its options" {
	run --separate-stderr "$SNITCH_BIN/snitch" web --help
	[ "$status" -eq 0 ]
	[[ "$output" == "Usage: snitch-web"* ]]
	run --separate-stderr "$SNITCH_BIN/snitch" web --listen bad
	[ "$status" -eq 2 ]
	[[ "$stderr" == "snitch-web: "*"--listen 'bad'"* ]]
	# the configuration file's settings, under the environment's
	echo "SNITCH_WEB_LISTEN=from-the-file" > "$BATS_TEST_TMPDIR/snitch.conf"
	SNITCH_CONF=$BATS_TEST_TMPDIR/snitch.conf run --separate-stderr "$SNITCH_BIN/snitch" web
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--listen 'from-the-file'"* ]]
	SNITCH_WEB_LISTEN=from-the-env SNITCH_CONF=$BATS_TEST_TMPDIR/snitch.conf \
		run --separate-stderr "$SNITCH_BIN/snitch" web
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--listen 'from-the-env'"* ]]
	# a file with a mistake in it: the line named, exit 2, nothing served
	printf 'SNITCH_WEB_LISTEN=127.0.0.1:0\nnot a setting\n' > "$BATS_TEST_TMPDIR/snitch.conf"
	SNITCH_CONF=$BATS_TEST_TMPDIR/snitch.conf run --separate-stderr "$SNITCH_BIN/snitch" web
	[ "$status" -eq 2 ]
	[ "$stderr" = "snitch: $BATS_TEST_TMPDIR/snitch.conf:2: expected KEY=value, with KEY in capitals" ]
	# a file this user may not read (root's alone, as snitch makes
	# /etc/snitch): one line says so, and the defaults do
	local d
	d=$(open_tmpdir)
	NB_DIR=$d
	install -d -m 700 "$d/etc"
	echo "SNITCH_WEB_LISTEN=from-the-file" > "$d/etc/snitch.conf"
	nobody_bin "$d"
	SNITCH_CONF=$d/etc/snitch.conf run --separate-stderr setpriv --reuid=65534 --regid=65534 \
		--clear-groups "$NOBODY_BIN/snitch" web --listen bad
	[ "$status" -eq 2 ]
	[[ "$stderr" == "snitch: cannot read '$d/etc/snitch.conf': Permission denied (going on with the defaults)"$'\n'"snitch-web: "*"--listen 'bad'"* ]]
	# and snitch config lists snitch-web's settings
	"$SNITCH_BIN/snitch" config | grep -qx '#SNITCH_WEB_LISTEN=127.0.0.1:5100'
}

# ---- the API against SQL ----

@test "summary equals the SQL sums of the range, with and without filters" {
	web_start --db "$FIXTURE"
	day=$((FIXTURE_NOW - 86400 * 1000000000))
	got=$(apiq 'summary?range=all' '.totals | "\(.sent)|\(.received)|\(.connections)|\(.executables)"')
	[ "$got" = "$(q 'select sum(send_bytes), sum(recv_bytes), count(*), count(distinct e.path) from connections c join executables e on e.id = c.exe_id')" ]
	got=$(apiq 'summary?range=1d' '.totals | "\(.sent)|\(.received)|\(.connections)"')
	[ "$got" = "$(q "select sum(send_bytes), sum(recv_bytes), count(*) from connections where window_start_ns >= $day")" ]
	# a filter, an exclusion
	got=$(apiq 'summary?range=1d&f=domain:example.org' '.totals | "\(.sent)|\(.received)"')
	[ "$got" = "$(q "select sum(send_bytes), sum(recv_bytes) from connections c join domains d on d.id = c.domain_id where window_start_ns >= $day and d.name = 'example.org'")" ]
	[ "$got" = "3000|8000" ]
	got=$(apiq 'summary?range=all&x=exe:%2Fusr%2Flib%2Ffirefox%2Ffirefox' '.totals.sent')
	[ "$got" = "$(q "select sum(send_bytes) from connections c join executables e on e.id = c.exe_id where e.path <> '/usr/lib/firefox/firefox'")" ]
	# an empty value is none (NULL): the one row without a domain
	[ "$(apiq 'summary?range=all&f=domain:' '.totals | "\(.sent)|\(.received)"')" = "333|444" ]
	[ "$(apiq 'drill?range=all&field=domain&value=' '.drill.totals.sent')" = 333 ]
	# from/until in seconds: the old rows only
	from=$(( (FIXTURE_NOW / 1000000000) - 11 * 86400 )) until=$(( (FIXTURE_NOW / 1000000000) - 86400 ))
	got=$(apiq "summary?from=$from&until=$until" '.totals | "\(.sent)|\(.received)"')
	[ "$got" = "11444|22666" ]
}

@test "group rows equal GROUP BY over the raw table, top N with the rest as other" {
	web_start --db "$FIXTURE"
	got=$(apiq 'group?group=exe&range=all' '.rows[] | "\(.exe)|\(.sent)|\(.received)|\(.connections)"')
	want=$(q "select e.path, sum(send_bytes), sum(recv_bytes), count(*) from connections c
		join executables e on e.id = c.exe_id group by e.path order by sum(send_bytes) + sum(recv_bytes) desc")
	[ "$got" = "$want" ]
	got=$(apiq 'group?group=domain&range=1d&top=2' '[.rows[] | [.domain, .sent + .received, (.other // false)]]')
	[ "$(echo "$got" | jq length)" -eq 3 ]
	[ "$(echo "$got" | jq -r '.[2][2]')" = true ]
	all=$(q "select sum(send_bytes + recv_bytes) from connections where window_start_ns >= $((FIXTURE_NOW - 86400 * 1000000000))")
	[ "$(echo "$got" | jq '[.[][1]] | add')" -eq "$all" ]
	# countries (addresses.country, from the GeoIP database), as SQL groups them
	got=$(apiq 'group?group=country&range=all' '.rows[] | "\(.country // "")|\(.sent)"' | sort)
	want=$(q "select coalesce(a.country, ''), sum(send_bytes) from connections c
		left join addresses a on a.id = c.raddr_id group by a.country" | sort)
	[ "$got" = "$want" ]
	# numeric fields are numbers; a NULL key is null
	[ "$(apiq 'group?group=rport&range=all' '[.rows[].rport] | sort | join(",")')" = 22,123,443,8443 ]
	[ "$(apiq 'group?group=domain&range=all' '[.rows[] | select(.domain == null)] | length')" -eq 1 ]
}

@test "series sums to the totals; values, drill-down and executables agree with SQL" {
	web_start --db "$FIXTURE"
	sent=$(apiq 'summary?range=1h' '.totals.sent')
	[ "$(apiq 'series?range=1h&group=exe&top=2' '[.points[].sent] | add')" -eq "$sent" ]
	[ "$(apiq 'series?range=1h&group=exe&top=2' '[.points[] | select(.other | not) | .exe] | unique | length')" -eq 2 ]
	[ "$(apiq 'series?range=1h&bucket=60' '.bucket_ns')" -eq 60000000000 ]
	# all time: buckets from the data's length, every row in them
	[ "$(apiq 'series?range=all&group=exe&top=2' '[.points[].sent] | add')" -eq "$(q 'select sum(send_bytes) from connections')" ]
	# distinct values
	[ "$(apiq 'values?field=domain&range=1h' '[.values[].domain] | sort | join(",")')" = \
	  "$(q "select group_concat(name) from (select distinct d.name from connections c join domains d on d.id = c.domain_id
		where window_start_ns >= $((FIXTURE_NOW - 3600 * 1000000000)) order by d.name)")" ]
	# the drill-down of firefox: its domains, parents, and both sha256 values over all time
	api 'drill?field=exe&value=%2Fusr%2Flib%2Ffirefox%2Ffirefox&range=all'
	d=$API_BODY
	[ "$(echo "$d" | jq .drill.totals.sent)" -eq $((4000 * 21 + 11111)) ]
	[ "$(echo "$d" | jq '.drill.sha256 | length')" -eq 2 ]
	[ "$(echo "$d" | jq -r '.drill.parents | map(.parent_exe) | sort | join(",")')" = /usr/bin/bash,/usr/bin/gnome-shell ]
	[ "$(echo "$d" | jq '.drill.domains | length')" -eq 4 ]
	# executables: every path, firefox with two hashes (modified)
	api 'executables?range=all'
	e=$API_BODY
	[ "$(echo "$e" | jq '.executables | length')" -eq "$(q 'select count(distinct path) from executables e join connections c on c.exe_id = e.id')" ]
	[ "$(echo "$e" | jq '.executables[] | select(.exe == "/usr/lib/firefox/firefox") | .sha256 | length')" -eq 2 ]
	# the VirusTotal verdict beside each sha256: flagged 3/70 with its
	# link, not found, and null for a hash with no verdict
	[ "$(echo "$e" | jq -c '.executables[] | select(.exe == "/usr/lib/firefox/firefox") | .sha256[] |
		select(.sha256 | startswith("bb22")) | .vt | [.status, .flagged, .engines, (.link | test("/gui/file/bb22"))]')" = '["known",3,70,true]' ]
	[ "$(echo "$e" | jq -c '.executables[] | select(.exe == "/usr/bin/wget") | .sha256[0].vt | [.status, .flagged, .engines, .link]')" = '["not_found",null,null,null]' ]
	[ "$(echo "$e" | jq -c '.executables[] | select(.exe == "/usr/bin/curl") | .sha256[0].vt | [.flagged, .engines]')" = '[0,70]' ]
	[ "$(echo "$e" | jq -c '.executables[] | select(.exe == "/usr/sbin/chronyd") | .sha256[0] | has("vt") and .vt == null')" = true ]
	[ "$(echo "$d" | jq -c '.drill.sha256[] | select(.sha256 | startswith("bb22")) | .vt.flagged')" -eq 3 ]
	[ "$(echo "$d" | jq -c '.drill.sha256[] | select(.sha256 | startswith("aa11")) | .vt')" = null ]
	# and in a grouping by sha256
	[ "$(apiq 'group?range=all&group=sha256' '.rows[] | select(.sha256 // "" | startswith("bb22")) | .vt.engines')" -eq 70 ]
	# a row of another field has none
	[ "$(apiq 'group?range=all&group=exe' '[.rows[] | has("vt")] | any')" = false ]
	[ "$(apiq meta '.fields | index("country") != null')" = true ]
}

@test "a bad parameter is 400 with a JSON error naming it" {
	web_start --db "$FIXTURE"
	while IFS='|' read -r query param; do
		api "$query"
	body=$API_BODY
		[ "$API_STATUS" = 400 ] || { echo "$query: HTTP $API_STATUS $body" >&2; false; }
		[ "$(echo "$body" | jq -r .parameter)" = "$param" ] || { echo "$query: $body" >&2; false; }
		[ -n "$(echo "$body" | jq -r .error)" ]
	done <<-'EOF'
	summary?range=2h|range
	summary?range=1h&range=1d|range
	summary?from=abc|from
	summary?from=200&until=100|until
	summary?range=1h&from=100|range
	group?group=bogus|group
	group|group
	group?group=exe&top=0|top
	group?group=exe&top=51|top
	group?group=exe&top=1e3|top
	summary?f=nofield:x|f
	summary?x=domain|x
	summary?f=Bad-Name:x|f
	summary?nope=1|nope
	summary?group=exe|group
	values?field=exe&limit=-1|limit
	drill?field=exe|value
	series?bucket=0|bucket
	series?from=0&until=100000&bucket=1|bucket
	summary?f=%zz|f
	summary?f=domain:a%00b|f
	summary?f=user:notanumber|f
	EOF
	# many filters
	qs=$(printf 'f=domain:d%d&' $(seq 17))
	api "summary?$qs"
	[ "$API_STATUS" = 400 ]
	[ "$(echo "$API_BODY" | jq -r .parameter)" = f ]
	# a 404 for an API that does not exist, in JSON too
	api nothing
	[ "$API_STATUS" = 404 ]
	[ "$(echo "$API_BODY" | jq -r .error)" != null ]
}

@test "a query that would read too many raw rows is refused with a clear 400" {
	web_start --db "$FIXTURE" --max-raw-rows 1
	api 'group?group=lport&range=all'
	body=$API_BODY
	[ "$API_STATUS" = 400 ]
	[[ "$(echo "$body" | jq -r .error)" == *"more than 1 rows of the raw table"* ]]
	# too many buckets for one chart
	api 'series?range=1y&bucket=60'
	body=$API_BODY
	[ "$API_STATUS" = 400 ]
	[ "$(echo "$body" | jq -r .parameter)" = bucket ]
}

@test "a view whose sort outgrows SQLite's page cache is answered under the seccomp filter; one past --max-query-ms is stopped" {
	# thousands of addresses a day for weeks: the GROUP BY of a range
	# sorts more than the page cache holds, which SQLite would spill to
	# a temporary file that snitch-web may not create
	db=$BATS_TEST_TMPDIR/big/snitch.db
	mkdir -p "$(dirname "$db")"
	"$SNITCH_TEST_BIN/querygen" 150000 30 | "$STORE" --db "$db" --write-limit-s 1 --retention-days 60
	[ "$(sqlite3 "$db" "select count(*) from rollup_dim_day where dim = 7")" -gt 60000 ]
	# (the default limit of 2,000 ms, times SAN_SLOW)
	web_start --db "$db" --max-query-ms $(( 2000 * SAN_SLOW ))
	[ "$(apiq 'group?range=all&group=raddr&top=5' '[.rows[].sent] | add')" -eq \
	  "$(sqlite3 "$db" 'select sum(send_bytes) from connections')" ]
	[ "$(apiq 'group?range=30d&group=domain&top=5' '.rows | length')" -eq 6 ]
	# a series of them per day: the sort that spills
	[ "$(apiq 'series?range=all&group=raddr&bucket=86400&top=5' '[.points[].sent] | add')" -eq \
	  "$(sqlite3 "$db" 'select sum(send_bytes) from connections')" ]
	! grep -q "seccomp refused" "$WEB_ERR" || false
	stop_started "$WEB_PID"
	# a time limit shorter than that series: stopped, and said so (400)
	web_start --db "$db" --max-query-ms 1
	[ "$(apiq meta .max_query_ms)" = 1 ]
	api 'series?range=all&group=raddr&bucket=86400&top=5'
	[ "$API_STATUS" = 400 ]
	[ "$(echo "$API_BODY" | jq -r .parameter)" = range ]
	[[ "$(echo "$API_BODY" | jq -r .error)" == *"ran longer than 1 ms"*"shorter range"* ]]
	# so is a drill-down (its rows read once, then eight queries)
	api 'drill?range=all&field=exe&value=/usr/bin/app0'
	[ "$API_STATUS" = 400 ]
	[[ "$API_BODY" == *"ran longer than 1 ms"* ]]
}

# ---- bad databases ----

@test "a missing database is a clear 503, then read once it appears, without a restart" {
	db=$BATS_TEST_TMPDIR/later/snitch.db
	web_start --db "$db"
	api 'summary?range=all'
	body=$API_BODY
	[ "$API_STATUS" = 503 ]
	[[ "$(echo "$body" | jq -r .error)" == *"does not exist"* ]]
	# the page itself is served, and shows the API's error
	[ "$(wcurl -o /dev/null -w '%{http_code}' "$WEB_URL/")" = 200 ]
	mkdir -p "$(dirname "$db")"
	cp "$FIXTURE" "$db"
	[ "$(apiq 'summary?range=all' '.totals.sent')" -eq "$(q 'select sum(send_bytes) from connections')" ]
	# replaced by another file (as snitch-store does with a corrupt one): that one is read
	rm -f "$db"-wal "$db"-shm
	store_flow "$NOW" 700 7 | "$STORE" --db "$db.new"
	mv "$db.new" "$db"
	[ "$(apiq 'summary?range=all' '.totals.sent')" -eq 700 ]
}

@test "a database of the older schema (2: no rollups) is read from the raw table, with the same sums" {
	db=$BATS_TEST_TMPDIR/old/snitch.db
	mkdir -p "$(dirname "$db")"
	cp "$FIXTURE" "$db"
	sqlite3 "$db" "$(sqlite3 "$db" "select 'drop table ' || name || ';' from sqlite_master
		where type = 'table' and name like 'rollup%'") pragma user_version = 2"
	[ "$(sqlite3 "$db" "select count(*) from sqlite_master where name like 'rollup%'")" -eq 0 ]
	web_start --db "$db"
	[ "$(apiq meta '"\(.schema_version) \(.rollups)"')" = "2 false" ]
	[ "$(apiq 'group?group=exe&range=all' '[.rows[] | "\(.exe)=\(.sent)"] | join(",")')" = \
	  "$(sqlite3 "$FIXTURE" "select group_concat(p || '=' || s) from (select e.path p, sum(send_bytes) s,
		sum(send_bytes + recv_bytes) t from connections c join executables e on e.id = c.exe_id
		group by e.path order by t desc)")" ]
}

@test "an empty, a corrupt, a foreign and a too-new database each give a clear error, and no crash" {
	dir=$BATS_TEST_TMPDIR/bad
	mkdir -p "$dir"
	: > "$dir/empty.db"
	head -c 65536 /dev/urandom > "$dir/random.db"
	cp "$FIXTURE" "$dir/corrupt.db"
	# the header stays, pages after the first are overwritten
	dd if=/dev/urandom of="$dir/corrupt.db" bs=4096 seek=1 count=8 conv=notrunc 2>/dev/null
	sqlite3 "$dir/foreign.db" 'create table t (x); insert into t values (1)'
	cp "$FIXTURE" "$dir/future.db"
	sqlite3 "$dir/future.db" 'pragma user_version = 99'
	for f in empty random corrupt foreign future; do
		web_start --db "$dir/$f.db"
		for a in meta 'summary?range=all' 'group?group=exe&range=all' 'executables?range=all'; do
			api "$a"
	body=$API_BODY
			[ "$API_STATUS" -ge 500 ] || { echo "$f $a: HTTP $API_STATUS $body" >&2; false; }
			msg=$(echo "$body" | jq -r .error)
			[[ "$msg" == *"$dir/$f.db"* ]] || { echo "$f $a: $msg" >&2; false; }
		done
		running "$WEB_PID"
		stop_started "$WEB_PID"
		# nothing was written to it
		[ ! -e "$dir/$f.db-wal" ] || [ ! -s "$dir/$f.db-wal" ]
	done
}

@test "a database that snitch-store is writing is read, every answer whole" {
	db=$BATS_TEST_TMPDIR/live/snitch.db
	mkdir -p "$(dirname "$db")"
	stream_start "$STORE" --db "$db" --write-limit-s 1
	stream_send "$(store_flow "$NOW" 1 1)"
	for i in $(seq 100); do
		[ "$(sqlite3 "$db" 'select count(*) from connections' 2>/dev/null)" = 1 ] && break
		sleep 0.1
	done
	web_start --db "$db"
	for i in $(seq 30); do
		stream_send "$(store_flow $((NOW + i * 1000000000)) 10 20 ".rport = $((1000 + i))")"
		api 'summary?range=all'
	body=$API_BODY
		[ "$API_STATUS" = 200 ] || { echo "HTTP $API_STATUS $body" >&2; false; }
		echo "$body" | jq -e '.totals.sent >= 1' > /dev/null
		sleep 0.05
	done
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
	[ "$(apiq 'summary?range=all' '.totals.sent')" -eq 301 ]
}

@test "the first page load is at most 400 KB transferred" {
	web_start --db "$FIXTURE"
	total=0
	for path in / /static/style.css /static/app.js /static/chart.min.js /static/icon.svg \
		'/api/meta' '/api/summary?range=1h' '/api/series?range=1h&group=exe&top=5' \
		'/api/group?range=1h&group=exe&top=5'; do
		n=$(wcurl --compressed -o /dev/null -w '%{size_download}' "$WEB_URL$path")
		total=$((total + n))
	done
	echo "first load: $total bytes" >&2
	[ "$total" -le 409600 ]
	[ "$total" -gt 50000 ]	# Chart.js is in it
}
