#!/usr/bin/env bats
# snitch-notify: known-executable state, exe.log and error.log, and desktop
# notifications to a real notification daemon (dunst, under Xvfb, on a
# dbus-launch session bus), all of it as the user nobody, as a desktop
# whose user is not root.

load helper

setup_file() {
	desktop_setup_file
}

teardown_file() {
	desktop_teardown_file
}

setup() {
	D=$BATS_TEST_TMPDIR
	ARGS=(--state "$D/lib/state.json" --log-dir "$D/log")
}

# whatever a test started stops, whatever happened
teardown() {
	stop_started
}

# A flow record: flow PATH NAME [SHA] [jq-extra]
flow() {
	jq -cn --arg p "$1" --arg n "$2" --arg s "${3:-}" '{v:1, type:"flow", phase:"new",
		ts_ns:1763822400123456789, pid:4242, comm:$n, exe_path:$p, name:$n,
		exe_sha256:(if $s == "" then null else $s end), proto:"tcp",
		raddr:"198.51.100.7", rport:443, domain:"example.org"}'"${4:+ | $4}"
}

SHA1=58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef2593
SHA2=0fe1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f
SHA3=25c34e130c601c5610c131710ce7fca96248d6e56bf99e39a3c74072a98db158

notify() {
	"$NOTIFY" --user nobody --bus "$DESKTOP_BUS" "${ARGS[@]}" "$@"
}

@test "--help shows the options, their variables, exit statuses and examples" {
	run "$NOTIFY" --help
	[ "$status" -eq 0 ]
	for w in --state --log-dir --user --bus --max-per-min --no-desktop SNITCH_STATE \
		SNITCH_NOTIFY_MAX_PER_MIN 'Exit status:' 'Examples:'; do
		[[ "$output" == *"$w"* ]] || { echo "missing $w"; false; }
	done
	run "$NOTIFY" --max-per-min 0 < /dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"must be from 1 to 1000"* ]]
	run "$NOTIFY" --mode 999 < /dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"octal"* ]]
}

@test "a new executable, its parent and grandparent: state, exe.log and one notification each" {
	need_desktop
	desktop_mark
	flow /usr/bin/curl curl "$SHA1" '. + {parent_exe_path:"/usr/bin/bash", parent_name:"bash",
		parent_exe_sha256:"'"$SHA3"'", gparent_exe_path:"/usr/sbin/sshd", gparent_name:"sshd",
		gparent_exe_sha256:null}' > "$D/in"
	flow /usr/bin/curl curl "$SHA1" >> "$D/in"	# known now: nothing new
	run notify < "$D/in"
	[ "$status" -eq 0 ]
	[[ "$output" == *"notifying user nobody (uid 65534)"* ]]

	# exe.log: one dated line per new executable, with its name and hash
	run cat "$D/log/exe.log"
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}[+-][0-9]{4}\ new_executable\ /usr/bin/curl\ name=curl\ sha256=$SHA1$ ]]
	[[ "${lines[1]}" == *"new_executable /usr/bin/bash name=bash sha256=$SHA3 as=parent" ]]
	[[ "${lines[2]}" == *"new_executable /usr/sbin/sshd name=sshd sha256=unknown as=grandparent" ]]

	# the state: executables by path with names and hashes, paths by name
	jq -e --arg s1 "$SHA1" '.executables["/usr/bin/curl"] == {names:["curl"], sha256:[$s1]}
		and .executables["/usr/sbin/sshd"].sha256 == [] and .names.bash == ["/usr/bin/bash"]' \
		"$D/lib/state.json"

	run desktop_since_mark
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == "New executable: curl"$'\t'"/usr/bin/curl connected to example.org (198.51.100.7) port 443 tcp sha256 58824afa640f512e…" ]]
	[[ "${lines[1]}" == "New executable: bash (parent)"$'\t'"/usr/bin/bash is the parent of curl, which connected to example.org"* ]]
	[[ "${lines[2]}" == "New executable: sshd (grandparent)"$'\t'* ]]
}

@test "a first connection attempt that got nowhere is news like a connection, worded as an attempt" {
	need_desktop
	desktop_mark
	{
		flow /opt/probe probe "$SHA1" '. + {outcome:"refused"}'
		flow /opt/ok ok "$SHA1" '. + {outcome:"connected"}'
		# not one of snitch-trace's words: not written into a log line
		flow /opt/odd odd "$SHA1" '. + {outcome:"x y\nnew_executable /bin/sh"}'
		flow /opt/probe probe "$SHA1" '. + {outcome:"timeout"}'	# known now
	} > "$D/in"
	run notify < "$D/in"
	[ "$status" -eq 0 ]
	run cat "$D/log/exe.log"
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == *" new_executable /opt/probe name=probe sha256=$SHA1 outcome=refused" ]]
	[[ "${lines[1]}" == *" new_executable /opt/ok name=ok sha256=$SHA1" ]]
	[[ "${lines[2]}" == *" new_executable /opt/odd name=odd sha256=$SHA1" ]]
	run desktop_since_mark
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == "New executable: probe"$'\t'"/opt/probe tried to connect to example.org (198.51.100.7) port 443 tcp (refused) sha256 58824afa640f512e…" ]]
	[[ "${lines[1]}" == "New executable: ok"$'\t'"/opt/ok connected to example.org (198.51.100.7) port 443 tcp sha256 58824afa640f512e…" ]]
}

@test "a program without a file on disk (memfd, or replaced) has its own words in exe.log and on the desktop" {
	need_desktop
	desktop_mark
	{
		flow "/memfd:x (deleted)" x "$SHA1" '. + {exe_fileless:true}'
		flow "/opt/up (deleted)" up "$SHA2" '. + {exe_fileless:true}'
		flow /opt/plain plain "$SHA3" '. + {exe_fileless:false}'
	} > "$D/in"
	run notify < "$D/in"
	[ "$status" -eq 0 ]
	run cat "$D/log/exe.log"
	[ "${#lines[@]}" -eq 3 ]
	# a path with a space is quoted, as JSON
	[[ "${lines[0]}" == *' fileless_executable "/memfd:x (deleted)" name=x sha256='"$SHA1" ]]
	[[ "${lines[1]}" == *' fileless_executable "/opt/up (deleted)" name=up sha256='"$SHA2" ]]
	[[ "${lines[2]}" == *" new_executable /opt/plain name=plain sha256=$SHA3" ]]
	run desktop_since_mark
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == "Program without a file on disk: x"$'\t'"\"/memfd:x (deleted)\" connected to example.org (198.51.100.7) port 443 tcp It runs from memory (a memfd): no file on disk holds it, as malware that hides often does sha256 58824afa640f512e…" ]]
	[[ "${lines[1]}" == "Program without a file on disk: up"$'\t'"\"/opt/up (deleted)\" connected to example.org (198.51.100.7) port 443 tcp Its file was deleted or replaced after it started: what runs is no longer the file at that path sha256 0fe1d2c3b4a59687…" ]]
	[[ "${lines[2]}" == "New executable: plain"$'\t'* ]]
}

@test "a new executable's notification names its app and its script; an AppImage is known by its file, whatever its mount" {
	need_desktop
	desktop_mark
	{
		flow /usr/bin/python3.11 python3 "$SHA1" '. + {app_kind:"flatpak", app:"org.example.Sync", script_path:"/app/share/sync.py"}'
		flow "/tmp/.mount_MyToolq1W2e3/usr/bin/mytool" mytool "$SHA2" '. + {app_kind:"appimage", app:"/home/u/MyTool-1.0-x86_64.AppImage", script_path:null,
			parent_exe_path:"/tmp/.mount_MyToolq1W2e3/AppRun", parent_name:"AppRun"}'
		# the next start of the same AppImage: another mount, nothing new
		flow "/tmp/.mount_MyToolZ9x8Y7/usr/bin/mytool" mytool "$SHA2" '. + {app_kind:"appimage", app:"/home/u/MyTool-1.0-x86_64.AppImage", script_path:null,
			parent_exe_path:"/tmp/.mount_MyToolZ9x8Y7/AppRun", parent_name:"AppRun"}'
		flow /opt/plain plain "$SHA3" '. + {app_kind:"", app:"", script_path:null}'
	} > "$D/in"
	run notify < "$D/in"
	[ "$status" -eq 0 ]
	# known by the AppImage and the path inside it, the parent as well
	run cat "$D/log/exe.log"
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[1]}" == *" new_executable /home/u/MyTool-1.0-x86_64.AppImage!/usr/bin/mytool name=mytool sha256=$SHA2" ]]
	[[ "${lines[2]}" == *" new_executable /home/u/MyTool-1.0-x86_64.AppImage!/AppRun name=AppRun sha256=unknown as=parent" ]]
	run desktop_since_mark
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[0]}" == "New executable: python3"$'\t'"/usr/bin/python3.11 connected to example.org (198.51.100.7) port 443 tcp In the Flatpak app org.example.Sync Running the script /app/share/sync.py sha256 58824afa640f512e…" ]]
	[[ "${lines[1]}" == "New executable: mytool"$'\t'"/home/u/MyTool-1.0-x86_64.AppImage!/usr/bin/mytool connected to example.org (198.51.100.7) port 443 tcp From the AppImage /home/u/MyTool-1.0-x86_64.AppImage sha256 0fe1d2c3b4a59687…" ]]
	[[ "${lines[2]}" == "New executable: AppRun (parent)"$'\t'* ]]
	[[ "${lines[3]}" == "New executable: plain"$'\t'"/opt/plain connected to example.org (198.51.100.7) port 443 tcp sha256 25c34e130c601c56…" ]]
}

@test "a new name, a new hash and a modified record are logged and notified" {
	need_desktop
	printf '%s\n' "$(flow /usr/local/bin/tool tool "$SHA1")" | notify 2>/dev/null
	desktop_mark
	{
		flow /usr/local/bin/tool tool2 "$SHA1"		# a new name
		flow /usr/local/bin/tool tool2 "$SHA2"		# a new hash at a known path
		jq -cn --arg o "$SHA2" --arg n "$SHA3" '{v:1, type:"modified", ts_ns:1763822405000000000,
			path:"/usr/local/bin/tool", dev:65024, ino:1315999, old_sha256:$o, new_sha256:$n,
			detected_by:"fanotify"}'
		flow /usr/local/bin/tool tool2 "$SHA3"		# known from the modified record
	} | notify 2>/dev/null
	run cat "$D/log/exe.log"
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[1]}" == *" new_name /usr/local/bin/tool name=tool2 sha256=$SHA1" ]]
	[[ "${lines[2]}" == *" changed /usr/local/bin/tool name=tool2 sha256=$SHA2 old_sha256=$SHA1" ]]
	[[ "${lines[3]}" == *" modified /usr/local/bin/tool sha256=$SHA3 old_sha256=$SHA2 detected_by=fanotify" ]]
	jq -e --arg a "$SHA1" --arg b "$SHA2" --arg c "$SHA3" \
		'.executables["/usr/local/bin/tool"] == {names:["tool","tool2"], sha256:[$a,$b,$c]}
		 and .names.tool2 == ["/usr/local/bin/tool"]' "$D/lib/state.json"

	run desktop_since_mark
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == "New name for an executable: tool2"$'\t'"/usr/local/bin/tool connected to"* ]]
	[[ "${lines[1]}" == "Executable changed: tool2"$'\t'*"sha256 was 58824afa640f512e…, is 0fe1d2c3b4a59687…" ]]
	[[ "${lines[2]}" == "Executable modified: /usr/local/bin/tool"$'\t'"sha256 0fe1d2c3b4a59687… is now 25c34e130c601c56… detected by fanotify" ]]
}

@test "lost records and errors of any stage go to error.log and the desktop" {
	need_desktop
	desktop_mark
	{
		echo '{"v":1,"type":"lost","ts_ns":1763822401000000000,"stage":"snitch-trace","reason":"ringbuf_full_flow","count":12,"total":40,"message":"12 flow events were not recorded: the ring buffer was full"}'
		echo '{"v":1,"type":"lost","ts_ns":1763822402000000000,"stage":"snitch-trace","reason":"ringbuf_full_flow","count":0,"total":40,"message":"totals at exit"}'
		echo '{"v":1,"type":"error","ts_ns":1763822401000000000,"stage":"snitch-hash","code":"hash_failed","message":"cannot hash executable (device 1, inode 2)"}'
		echo 'not a record'
	} > "$D/in"
	run notify < "$D/in"
	[ "$status" -eq 0 ]
	[[ "$output" == *"line 4: not a JSON object at byte 0"* ]]
	run cat "$D/log/error.log"
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == *" snitch-trace lost ringbuf_full_flow count=12: 12 flow events were not recorded: the ring buffer was full" ]]
	[[ "${lines[1]}" == *" snitch-hash error hash_failed: cannot hash executable (device 1, inode 2)" ]]
	[[ "${lines[2]}" == *" snitch-notify error malformed_input: line 4: not a JSON object at byte 0" ]]
	run desktop_since_mark
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = "snitch: snitch-trace lost 12 records"$'\t'"12 flow events were not recorded: the ring buffer was full" ]
	[ "${lines[1]}" = "snitch: error in snitch-hash"$'\t'"cannot hash executable (device 1, inode 2)" ]
	[ "${lines[2]}" = "snitch: error in snitch-notify"$'\t'"line 4: not a JSON object at byte 0" ]
}

@test "a burst of 1,000 new executables shows --max-per-min notifications, the last a summary" {
	need_desktop
	for i in $(seq 1 1000); do
		printf '{"v":1,"type":"flow","exe_path":"/opt/burst/prog%d","name":"prog%d"}\n' "$i" "$i"
	done > "$D/in"
	desktop_mark
	desktop_watch "$D/bus"
	run notify --max-per-min 5 < "$D/in"
	[ "$status" -eq 0 ]
	sleep 0.3
	desktop_unwatch
	[ "$(notify_calls "$D/bus")" -eq 5 ]
	run desktop_since_mark
	[ "${#lines[@]}" -eq 5 ]
	[[ "${lines[0]}" == "New executable: prog1"$'\t'* ]]
	[[ "${lines[3]}" == "New executable: prog4"$'\t'* ]]
	[[ "${lines[4]}" == "snitch: 996 more events: 996 new executables"$'\t'"New executable: prog5 "*"and 990 more; all are in $D/log/exe.log and error.log" ]]
	# nothing is lost from the log and the state
	[ "$(grep -c ' new_executable /opt/burst/prog' "$D/log/exe.log")" -eq 1000 ]
	[ "$(jq '.executables | length' "$D/lib/state.json")" -eq 1000 ]
}

@test "identical messages are coalesced: one shown, the repeats counted in one more" {
	need_desktop
	for i in $(seq 1 50); do
		echo '{"v":1,"type":"error","stage":"snitch-hash","code":"hash_failed","message":"the same failure"}'
	done > "$D/in"
	desktop_mark
	run notify < "$D/in"
	[ "$status" -eq 0 ]
	[ "$(wc -l < "$D/log/error.log")" -eq 50 ]
	run desktop_since_mark
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "snitch: error in snitch-hash"$'\t'"the same failure" ]
	[ "${lines[1]}" = "snitch: error in snitch-hash"$'\t'"the same failure (49 times)" ]
}

@test "the state survives a restart: a known executable is not news again" {
	need_desktop
	flow /usr/bin/wget wget "$SHA1" | notify 2>/dev/null
	[ "$(wc -l < "$D/log/exe.log")" -eq 1 ]
	cp "$D/lib/state.json" "$D/state.before"
	desktop_mark
	desktop_watch "$D/bus"
	flow /usr/bin/wget wget "$SHA1" | notify 2>/dev/null
	desktop_unwatch
	[ "$(notify_calls "$D/bus")" -eq 0 ]
	[ "$(wc -l < "$D/log/exe.log")" -eq 1 ]
	cmp "$D/state.before" "$D/lib/state.json"
	# written atomically: no temporary file (state.json.tmp-*) is left behind
	[ "$(ls -A "$D/lib")" = state.json ]
}

@test "a corrupt state.json is moved aside with an error, and a fresh state starts" {
	need_desktop
	mkdir -p "$D/lib"
	printf '{"v":1,"executables":{"/usr/bin/x":' > "$D/lib/state.json"
	desktop_mark
	run notify < <(flow /usr/bin/curl curl "$SHA1")
	[ "$status" -eq 0 ]
	[[ "$output" == *"the state file '$D/lib/state.json' is not valid ("*"): moved to '$D/lib/state.json.corrupt-"*"', a fresh state started"* ]]
	moved=$(ls "$D"/lib/state.json.corrupt-*)
	[ "$(cat "$moved")" = '{"v":1,"executables":{"/usr/bin/x":' ]
	jq -e '.executables | keys == ["/usr/bin/curl"]' "$D/lib/state.json"
	grep -q ' snitch-notify error state_corrupt: the state file' "$D/log/error.log"
	grep -q ' new_executable /usr/bin/curl name=curl' "$D/log/exe.log"
	run desktop_since_mark
	[[ "$output" == *"snitch: error in snitch-notify"$'\t'"the state file"* ]]
	[[ "$output" == *"New executable: curl"* ]]
	# the same for a file that is JSON but not a state
	echo '{"v":1,"names":{}}' > "$D/lib/state.json"
	run notify < /dev/null
	[[ "$output" == *'no "executables" object'* ]]
	[ "$(ls "$D"/lib/state.json.corrupt-* | wc -l)" -ge 1 ]
}

@test "the notifier runs as the desktop user, not as root" {
	need_desktop
	stream_start "$NOTIFY" --user nobody --bus "$DESKTOP_BUS" "${ARGS[@]}"
	sleep 1
	child=$(pgrep -P "$STREAM_PID" | head -1)
	[ -n "$child" ]
	[ "$(ps -o uid= -p "$child" | tr -d ' ')" -eq 65534 ]
	[ "$(ps -o uid= -p "$STREAM_PID" | tr -d ' ')" -eq 0 ]
	stream_stop
	[ "$STREAM_STATUS" -eq 0 ]
}

@test "without a desktop it logs everything and warns once" {
	need_root
	for i in 1 2 3; do flow /usr/bin/prog$i prog$i; done > "$D/in"
	run "$NOTIFY" --user nobody --bus "unix:path=$D/no-such-bus" "${ARGS[@]}" < "$D/in"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'no desktop notifications' <<< "$output")" -eq 1 ]
	[[ "$output" == *"cannot connect to the session bus 'unix:path=$D/no-such-bus' as uid 65534"* ]]
	[ "$(wc -l < "$D/log/exe.log")" -eq 3 ]
	run "$NOTIFY" --no-desktop "${ARGS[@]}" < /dev/null
	[[ "$output" == *"desktop notifications are off (--no-desktop)"* ]]
	run "$NOTIFY" --user no-such-user-here "${ARGS[@]}" < /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"no such user 'no-such-user-here' (--user)"* ]]
}

@test "the logs and the state get the configured owner, group and mode" {
	need_root
	flow /usr/bin/x x | "$NOTIFY" --no-desktop "${ARGS[@]}" --group nogroup --mode 0640 2>/dev/null
	[ "$(stat -c '%a %G' "$D/log")" = "750 nogroup" ]
	[ "$(stat -c '%a %G' "$D/log/exe.log")" = "640 nogroup" ]
	[ "$(stat -c '%a %G' "$D/lib")" = "750 nogroup" ]
	[ "$(stat -c '%a %G' "$D/lib/state.json")" = "640 nogroup" ]
}

@test "--tee passes records on; its own errors are records on standard output" {
	need_root
	{ flow /usr/bin/x x; echo '{"v":1,"type":"exec","pid":1}'; echo 'bad'; } |
		"$NOTIFY" --no-desktop --tee "${ARGS[@]}" > "$D/out" 2>/dev/null
	[ "$(jq -s 'map(.type)' "$D/out" | jq -c .)" = '["flow","exec","error"]' ]
	{ flow /usr/bin/x x; echo 'bad'; } |
		"$NOTIFY" --no-desktop "${ARGS[@]}" > "$D/out" 2>/dev/null
	[ "$(jq -s -c 'map(.type + ":" + (.code // ""))' "$D/out")" = '["error:malformed_input"]' ]
}

@test "a log that cannot be written is one error, on standard output, stderr and error.log" {
	mkdir -p "$D/log"
	ln -s /dev/full "$D/log/exe.log"
	for i in 1 2 3; do flow /usr/bin/prog$i prog$i; done > "$D/in"
	run --separate-stderr "$NOTIFY" --no-desktop "${ARGS[@]}" < "$D/in"
	[ "$status" -eq 0 ]
	[ "$(jq -s 'map(select(.type == "error" and .code == "log_write")) | length' <<< "$output")" -eq 1 ]
	jq -e -s --arg p "$D/log/exe.log" 'map(select(.code == "log_write"))[0].message |
		startswith("cannot write '"'"'\($p)'"'"': No space left on device")' <<< "$output"
	[ "$(grep -c "cannot write '$D/log/exe.log'" <<< "$stderr")" -eq 1 ]
	[ "$(grep -c ' snitch-notify error log_write: ' "$D/log/error.log")" -eq 1 ]
	# the state still knows them all
	jq -e '.executables | length == 3' "$D/lib/state.json"
}
