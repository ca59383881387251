# Shared by the web tests (75-web.bats, 76-web-browser.bats) and by
# scripts/screenshots.sh: a fixture database made by snitch-store from
# records of known sums, and snitch-web started on a free port.

WEB=$SNITCH_BIN/snitch-web

# web_fixture DB [NOW_NS]: records through snitch-store into DB. Shapes:
# several executables, domains, addresses, users and ports in the last
# hour; an executable whose sha256 changed (two values); rows 2 and 10
# days old, outside the short ranges.
web_fixture() {
	local db=$1 now=${2:-$NOW} s=1000000000 i
	local firefox_old=aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11
	local firefox_new=bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22
	mkdir -p "$(dirname "$db")"
	{
		store_flow $((now - 300 * s)) 1000 5000 '.outcome = "connected"'
		store_flow $((now - 120 * s)) 2000 3000 '.outcome = "connected"'
		# an attempt that got nowhere: curl refused on another port
		store_flow $((now - 100 * s)) 0 0 '.outcome = "refused" | .rport = 8443 | .lport = 0'
		store_flow $((now - 200 * s)) 700 90000 '.exe_path = "/usr/bin/wget" | .name = "wget" |
			.cmdline = ["wget", "https://deb.debian.org/"] | .domain = "deb.debian.org" |
			.raddr = "151.101.2.132" | .uid = 1001 | .exe_sha256 = ("c3" * 32)'
		for i in 1 2 3 4 5 6; do
			store_flow $((now - (60 * i + 7) * s)) $((i * 4000)) $((i * 25000)) \
				".exe_path = \"/usr/lib/firefox/firefox\" | .name = \"firefox\" |
				.cmdline = [\"/usr/lib/firefox/firefox\"] | .exe_sha256 = \"$firefox_new\" |
				.domain = \"site$((i % 3)).example.net\" | .raddr = \"203.0.113.$i\" |
				.parent_exe_path = \"/usr/bin/gnome-shell\" | .parent_name = \"gnome-shell\""
		done
		store_flow $((now - 90 * s)) 300 300 '.exe_path = "/usr/sbin/chronyd" | .name = "chronyd" |
			.cmdline = ["/usr/sbin/chronyd", "-F", "1"] | .proto = "udp" | .rport = 123 |
			.domain = "2.debian.pool.ntp.org" | .raddr = "192.0.2.123" | .uid = 0 |
			.exe_sha256 = ("d4" * 32)'
		store_flow $((now - 2 * 86400 * s)) 11111 22222 '.exe_path = "/usr/lib/firefox/firefox" |
			.name = "firefox" | .cmdline = ["/usr/lib/firefox/firefox"] |
			.exe_sha256 = "'"$firefox_old"'" | .domain = "old.example.net" | .raddr = "203.0.113.99"'
		# a Flatpak app's process running a script (group by app, script)
		store_flow $((now - 150 * s)) 4242 2424 '.exe_path = "/usr/bin/python3.11" | .name = "python3" |
			.cmdline = ["python3", "/app/share/sync.py"] | .app_kind = "flatpak" |
			.app = "org.example.Sync" | .script_path = "/app/share/sync.py" |
			.domain = "sync.example.org" | .raddr = "198.51.100.7" | .exe_sha256 = ("f6" * 32)'
		store_flow $((now - 10 * 86400 * s)) 333 444 '.exe_path = "/usr/bin/rsync" | .name = "rsync" |
			.cmdline = ["rsync", "-a", "host:"] | .domain = null | .raddr = "198.51.100.200" |
			.rport = 22 | .exe_sha256 = ("e5" * 32)'
		# snitch-vt's verdicts: firefox's new hash flagged by 3 of 70
		# engines, curl's by none, wget's unknown to VirusTotal; chronyd's
		# has none
		jq -cn --argjson t "$now" --arg h "$firefox_new" '{v:1, type:"verdict", ts_ns:$t,
			sha256:$h, status:"known", malicious:2, suspicious:1, undetected:60,
			harmless:0, engines:70, analysis_ns:null, reason:null, uploaded:false,
			link:("https://www.virustotal.com/gui/file/" + $h), name:"firefox",
			exe_path:"/usr/lib/firefox/firefox"}'
		jq -cn --argjson t "$now" '{v:1, type:"verdict", ts_ns:$t,
			sha256:"58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef2593",
			status:"known", malicious:0, suspicious:0, undetected:66, harmless:4,
			engines:70, analysis_ns:null, reason:null, uploaded:false,
			link:"https://www.virustotal.com/gui/file/58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef2593",
			name:"curl", exe_path:"/usr/bin/curl"}'
		jq -cn --argjson t "$now" '{v:1, type:"verdict", ts_ns:$t, sha256:("c3" * 32),
			status:"not_found", malicious:null, suspicious:null, undetected:null,
			harmless:null, engines:null, analysis_ns:null, link:null,
			reason:"not uploaded", uploaded:false, name:"wget", exe_path:"/usr/bin/wget"}'
	} > "$db.in"
	"$STORE" --db "$db" --retention-days 400 < "$db.in"
}

# web_start [ARG...]: snitch-web on 127.0.0.1, a free port, as this user
# (--allow-root when it is root: the refusal has a test of its own).
# Sets WEB_PID, WEB_PORT, WEB_URL, WEB_ERR (its stderr).
web_start() {
	local listen=127.0.0.1:0 root=
	[ "$(id -u)" -ne 0 ] || root=--allow-root
	WEB_ERR=$(mktemp "$BATS_TEST_TMPDIR/web.err.XXXXXX")
	web_spawn "$WEB" $root --listen "$listen" "$@"	# a later --listen wins
	web_wait_port
}

# web_spawn CMD...: in the background (WEB_PID), stderr to WEB_ERR, without
# bats's fd 3 or the write end of a stream_start FIFO (the stage reading it
# would never see the end of its input)
web_spawn() {
	if [ -n "${STREAM_FD:-}" ]; then
		eval '"$@" 2> "$WEB_ERR" 3>&- '"$STREAM_FD"'>&- &'
	else
		"$@" 2> "$WEB_ERR" 3>&- &
	fi
	WEB_PID=$!
}

# web_wait_port: the port from the "serving" line snitch-web prints (5 s at most)
web_wait_port() {
	local i
	WEB_PORT=
	for i in $(seq 100); do
		# (the background shell may not have made the file yet)
		WEB_PORT=$(sed -n 's|.*serving .* on http://.*:\([0-9][0-9]*\)/$|\1|p' "$WEB_ERR" 2>/dev/null || true)
		[ -n "$WEB_PORT" ] && break
		running "$WEB_PID" || break
		sleep 0.05
	done
	if [ -z "$WEB_PORT" ]; then
		echo "snitch-web did not start:" >&2
		cat "$WEB_ERR" >&2
		return 1
	fi
	WEB_URL=http://127.0.0.1:$WEB_PORT
}

# wcurl ARGS...: curl at the server with the Host header a browser sends
wcurl() {
	curl -s --max-time 10 -H "Host: localhost:$WEB_PORT" "$@"
}

# api PATH?QUERY: the answer in API_BODY, its HTTP status in API_STATUS
api() {
	local out
	out=$(wcurl -w '\n%{http_code}' "$WEB_URL/api/$1")
	API_STATUS=${out##*$'\n'}
	API_BODY=${out%$'\n'*}
}

# apiq PATH?QUERY JQ-FILTER: jq -r of a 200 answer (fails on another status)
apiq() {
	api "$1"
	if [ "$API_STATUS" != 200 ]; then
		echo "$1: HTTP $API_STATUS $API_BODY" >&2
		return 1
	fi
	printf '%s\n' "$API_BODY" | jq -r "$2"
}
