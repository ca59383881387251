#!/usr/bin/env bats
# snitch, the supervisor: commands, the configuration file, the systemd
# unit, make install, and the whole pipeline end to end with real BPF,
# SQLite and a real desktop (dunst under Xvfb, as the user nobody).

load helper

setup_file() {
	desktop_setup_file
}

teardown_file() {
	desktop_teardown_file
}

# Every file of a run in $D; the environment wins over the config file.
setup() {
	D=$(open_tmpdir)
	export SNITCH_CONF=$D/etc/snitch.conf SNITCH_RUN_DIR=$D/run \
		SNITCH_DB=$D/lib/snitch.db SNITCH_STATE=$D/lib/state.json \
		SNITCH_LOG_DIR=$D/log SNITCH_WRITE_LIMIT_S=1 \
		SNITCH_NOTIFY_MAX_PER_MIN=1000 SNITCH_STOP_TIMEOUT_S=20
	if [ -n "${DESKTOP_BUS:-}" ]; then
		export SNITCH_DESKTOP_USER=nobody SNITCH_DESKTOP_BUS=$DESKTOP_BUS
	else
		export SNITCH_NO_DESKTOP=1
	fi
}

teardown() {
	# never leave a monitor running: SIGTERM, its stop timeout, then SIGKILL
	if [ -n "${RUN_PID:-}" ] && kill "$RUN_PID" 2>/dev/null; then
		for _ in $(seq 1 $(( (SNITCH_STOP_TIMEOUT_S + 5) * 10 ))); do
			kill -0 "$RUN_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "$RUN_PID" 2>/dev/null || true
		wait "$RUN_PID" 2>/dev/null || true
	fi
	"$SNITCH" stop > /dev/null 2>&1 || true
	rm -rf "$D"
}

# gone PID: the process has ended (within 5 s), a zombie counting as ended
# (snitch stop returns when the pid file's lock is free, which the kernel
# frees a moment before the process is reaped, by a parent that may be slow)
gone() {
	local i
	for i in $(seq 50); do
		[ -e "/proc/$1" ] || return 0
		grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

stage_pid() {
	"$SNITCH" status --json | jq -r --arg n "$1" '.stages[] | select(.name == $n) | .pid'
}

# The bytes the SQLite log holds for executable PATH with sha256 SHA, as
# "SEND RECV" (0 0 when none).
db_bytes() {
	sqlite3 "$SNITCH_DB" "SELECT coalesce(sum(c.send_bytes), 0) || ' ' || coalesce(sum(c.recv_bytes), 0)
		FROM connections c JOIN executables e ON e.id = c.exe_id
		WHERE e.path = '$1' AND e.sha256 = '$2'"
}

# A copy of the traffic generator under a path no test used: $exe, $sha.
new_gen() {
	mkdir -p "$D/gen"
	exe=$D/gen/$1-$$-$RANDOM
	cp "$GEN" "$exe"
	sha=$(sha_of "$exe")
}

# The bytes a trafficgen run reported over all its processes: "SEND RECV".
gen_bytes() {
	jq -rs '"\(map(.send_bytes) | add) \(map(.recv_bytes) | add)"' "$1"
}

@test "help, and a missing or unknown command" {
	run "$SNITCH" help
	[ "$status" -eq 0 ]
	for w in run start stop restart status systemd config --config SNITCH_CONF \
		--run-dir 'Exit status:' 'Examples:'; do
		[[ "$output" == *"$w"* ]] || { echo "missing $w"; false; }
	done
	run "$SNITCH" --help
	[ "$status" -eq 0 ]
	run "$SNITCH"
	[ "$status" -eq 2 ]
	[[ "$output" == *"no command"* ]]
	run "$SNITCH" frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown command 'frobnicate'"* ]]
	run "$SNITCH" status extra
	[ "$status" -eq 2 ]
}

@test "snitch config: every setting of every stage, commented, valid for sh and for snitch" {
	run "$SNITCH" config
	[ "$status" -eq 0 ]
	keys=$(grep -o '^#SNITCH_[A-Z0-9_]*=' <<< "$output" | tr -d '#=' | sort)
	[ "$(wc -l <<< "$keys")" -ge 40 ]
	[ -z "$(uniq -d <<< "$keys")" ]
	# each one is an option some tool documents
	helps=$(for t in snitch snitch-trace snitch-resolve snitch-hash snitch-vt snitch-store snitch-remote snitch-metrics snitch-notify snitch-web; do
		"$SNITCH_BIN/$t" --help; done)
	for k in $keys; do
		grep -q "\$$k\]" <<< "$helps" || { echo "$k is in no --help"; false; }
	done
	for k in SNITCH_DB SNITCH_STATE SNITCH_LOG_DIR SNITCH_NOTIFY_MAX_PER_MIN SNITCH_TRACE_INTERVAL_MS \
		SNITCH_HASH_JOBS SNITCH_RESOLVE_CACHE_SIZE SNITCH_OWNER SNITCH_MODE; do
		grep -qx "$k" <<< "$keys" || { echo "missing $k"; false; }
	done
	# uncommented, it is a shell fragment that sets the defaults
	sed -n 's/^#\(SNITCH_[A-Z0-9_]*=\)/\1/p' <<< "$output" > "$D/all.conf"
	(set -e; . "$D/all.conf"; [ "$SNITCH_WRITE_LIMIT_S" = 10 ] && [ "$SNITCH_DB" = /var/lib/snitch/snitch.db ])
	# and snitch reads it
	run "$SNITCH" -c "$D/all.conf" status
	[ "$status" -eq 4 ]
	[[ "$output" == *"not running"* ]]
}

@test "the config file: made when missing, comments and quotes, the environment wins, errors by line" {
	need_root
	[ ! -e "$SNITCH_CONF" ]
	run "$SNITCH" status
	[ "$status" -eq 4 ]
	[ ! -e "$SNITCH_CONF" ]		# only run and start write it
	mkdir -p "$D/etc"
	cat > "$SNITCH_CONF" <<-'EOF'
	# a comment
	SNITCH_RUN_DIR='/nonexistent/from-file'

	SNITCH_STOP_TIMEOUT_S="7"
	EOF
	# SNITCH_RUN_DIR from the environment wins over the file
	run "$SNITCH" status --json
	[ "$status" -eq 4 ]
	[[ "$output" != *from-file* ]]
	unset SNITCH_RUN_DIR
	run "$SNITCH" status
	[ "$status" -eq 4 ]
	[[ "$output" == *"/nonexistent/from-file"* ]]
	# bad lines: a usage error naming the file and the line
	printf 'SNITCH_DB=/x\nthis is not a setting\n' > "$SNITCH_CONF"
	run "$SNITCH" run
	[ "$status" -eq 2 ]
	[[ "$output" == *"$SNITCH_CONF:2: "* ]]
	printf 'PATH=/tmp\n' > "$SNITCH_CONF"
	run "$SNITCH" run
	[ "$status" -eq 2 ]
	[[ "$output" == *"$SNITCH_CONF:1: "*SNITCH_* ]]
	printf "SNITCH_DB='/x\n" > "$SNITCH_CONF"
	run "$SNITCH" run
	[ "$status" -eq 2 ]
	[[ "$output" == *"$SNITCH_CONF:1: "* ]]
	# a bad value for a stage stops the start, with the stage's own message
	export SNITCH_RUN_DIR=$D/run
	printf 'SNITCH_NOTIFY_MAX_PER_MIN=0\n' > "$SNITCH_CONF"
	unset SNITCH_NOTIFY_MAX_PER_MIN
	run "$SNITCH" run
	[ "$status" -eq 2 ]
	[[ "$output" == *"must be from 1 to 1000"* ]]
	[ ! -e "$D/run/snitch.pid" ]
	# a missing file is written, commented, on the first run
	rm "$SNITCH_CONF"
	export SNITCH_NOTIFY_MAX_PER_MIN=0
	run "$SNITCH" run
	[ "$status" -eq 2 ]
	[ -s "$SNITCH_CONF" ]
	[ -z "$(grep -v '^#' "$SNITCH_CONF" | grep -v '^$')" ]
	cmp "$SNITCH_CONF" <("$SNITCH" config)
}

@test "snitch systemd writes a hardened unit that systemd-analyze verify accepts" {
	need_cmd systemd-analyze
	run "$SNITCH" systemd --unit "$D/snitch.service"
	[ "$status" -eq 0 ]
	grep -qx "ExecStart=$SNITCH run --config $SNITCH_CONF" "$D/snitch.service"
	grep -qx "EnvironmentFile=-$SNITCH_CONF" "$D/snitch.service"
	# data outside the unit's own directories is made writable, and made
	grep -qx "ReadWritePaths=-$D/lib -$D/log -$D/run" "$D/snitch.service"
	[ -d "$D/lib" ]
	[ -d "$D/log" ]
	for d in ProtectSystem=strict ProtectHome=read-only NoNewPrivileges=yes \
		RestrictAddressFamilies= SystemCallArchitectures=native CapabilityBoundingSet=; do
		grep -q "^$d" "$D/snitch.service" || { echo "missing $d"; false; }
	done
	run systemd-analyze verify "$D/snitch.service"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *snitch.service:* ]]
	# - is standard output; an unwritable place is an error
	run "$SNITCH" systemd --unit -
	[ "$status" -eq 0 ]
	[[ "$output" == *"[Service]"* ]]
	# with the defaults, the unit's own directories are enough
	run env -u SNITCH_DB -u SNITCH_STATE -u SNITCH_LOG_DIR -u SNITCH_RUN_DIR -u SNITCH_CONF \
		"$SNITCH" systemd --unit -
	[[ "$output" == *"ExecStart=$SNITCH run"$'\n'* ]]
	! grep -q '^ReadWritePaths=' <<< "$output" || false
	[[ "$output" == *StateDirectory=snitch* ]]
	run "$SNITCH" systemd --unit /nonexistent/dir/snitch.service
	[ "$status" -ne 0 ]
	[[ "$output" == *"/nonexistent/dir/snitch.service"* ]]
}

@test "end to end: the generator's exact bytes, path and sha256 in SQLite, exe.log and a notification" {
	need_bpf
	need_desktop
	need_cmd sqlite3
	new_gen e2e-gen
	run_start
	# alive a while after its traffic: on a loaded machine snitch-resolve
	# may read /proc only after it has gone (its name is then the comm, cut)
	TRAFFICGEN_LINGER_MS=1500 "$exe" tcp4 > "$D/gen.out"
	TRAFFICGEN_LINGER_MS=1500 "$exe" udp4 >> "$D/gen.out"
	[ "$(wc -l < "$D/gen.out")" -eq 4 ]
	want=$(gen_bytes "$D/gen.out")
	sleep 1.5
	run_stop
	cat "$D/run.err"
	[ "$RUN_STATUS" -eq 0 ]
	# shown only if it fails: what the generator said, and every row of it
	cat "$D/gen.out"
	sqlite3 "$SNITCH_DB" "SELECT e.path, e.name, e.sha256, c.proto, c.lport, c.rport, c.send_bytes,
		c.recv_bytes, c.events FROM connections c JOIN executables e ON e.id = c.exe_id
		WHERE e.path IS NULL OR e.path LIKE '%e2e-gen%' OR e.name LIKE 'e2e-gen%'"
	cat "$SNITCH_LOG_DIR/error.log" 2>/dev/null || true
	[ "$(db_bytes "$exe" "$sha")" = "$want" ]
	[ "$want" != "0 0" ]
	grep -q " new_executable $exe name=${exe##*/} sha256=$sha" "$SNITCH_LOG_DIR/exe.log"
	jq -e --arg p "$exe" --arg s "$sha" '.executables[$p].sha256 == [$s]' "$SNITCH_STATE"
	run desktop_shown
	[[ "$output" == *"New executable: ${exe##*/}"$'\t'"$exe "* ]]
	# a clean stop leaves no pid file and no status
	[ ! -e "$SNITCH_RUN_DIR/snitch.pid" ]
	[ ! -e "$SNITCH_RUN_DIR/status.json" ]
}

@test "end to end: an executable modified in place is logged and notified, and its new hash logged" {
	need_bpf
	need_desktop
	need_cmd sqlite3
	new_gen e2e-mod
	old=$sha
	run_start
	"$exe" tcp4 > /dev/null
	wait_lines "$SNITCH_LOG_DIR/exe.log" 1
	for i in $(seq 1 100); do
		grep -q " new_executable $exe " "$SNITCH_LOG_DIR/exe.log" && break
		sleep 0.1
	done
	desktop_mark
	# in place: the same inode, other bytes (an ELF file runs with a byte more)
	printf '\0' >> "$exe"
	new=$(sha_of "$exe")
	for i in $(seq 1 100); do
		grep -q " modified $exe " "$SNITCH_LOG_DIR/exe.log" && break
		sleep 0.1
	done
	grep -q " modified $exe sha256=$new old_sha256=$old detected_by=" "$SNITCH_LOG_DIR/exe.log"
	"$exe" tcp4 > /dev/null
	sleep 1.5
	run_stop
	[ "$RUN_STATUS" -eq 0 ]
	# both hashes are in the log, each with its own rows
	[ "$(sqlite3 "$SNITCH_DB" "SELECT count(DISTINCT e.sha256) FROM connections c
		JOIN executables e ON e.id = c.exe_id WHERE e.path = '$exe'")" -eq 2 ]
	jq -e --arg p "$exe" --arg a "$old" --arg b "$new" '.executables[$p].sha256 == [$a, $b]' "$SNITCH_STATE"
	run desktop_since_mark
	[[ "$output" == *"Executable modified: $exe"* ]]
	# a changed hash is news once: the flows after it are not
	[ "$(grep -c "Executable changed: ${exe##*/}" <<< "$output")" -eq 0 ]
}

@test "kill -9 of a middle stage: it is back within 2 s, error.log and the desktop say so, nothing stored is lost" {
	need_bpf
	need_desktop
	need_cmd sqlite3
	new_gen e2e-kill
	run_start
	"$exe" tcp4 > "$D/gen.out"
	for i in $(seq 1 100); do
		[ "$(db_bytes "$exe" "$sha")" = "$(gen_bytes "$D/gen.out")" ] && break
		sleep 0.1
	done
	[ "$(db_bytes "$exe" "$sha")" = "$(gen_bytes "$D/gen.out")" ]
	desktop_mark
	for stage in snitch-resolve snitch-hash; do
		old=$(stage_pid "$stage")
		[ "$old" -gt 0 ]
		kill -9 "$old"
		t0=$(date +%s%N)
		new=$old
		while [ "$new" = "$old" ] || [ "$new" = null ] || [ "$new" -le 0 ] ||
			! kill -0 "$new" 2>/dev/null; do
			[ $(($(date +%s%N) - t0)) -lt 2000000000 ] || { echo "$stage not back in 2 s"; false; }
			sleep 0.05
			new=$(stage_pid "$stage")
		done
		echo "# $stage back in $((($(date +%s%N) - t0) / 1000000)) ms" >&3
		[ "$(readlink "/proc/$new/exe")" = "$(readlink -f "$SNITCH_BIN/$stage")" ]
		grep -q " snitch error stage_died: $stage was killed by signal 9 (KILL)" "$SNITCH_LOG_DIR/error.log"
	done
	run "$SNITCH" status
	[ "$status" -eq 0 ]
	# traffic after the restarts is counted too, on top of what was stored
	"$exe" tcp4 >> "$D/gen.out"
	sleep 1.5
	run_stop
	[ "$RUN_STATUS" -eq 0 ]
	[ "$(db_bytes "$exe" "$sha")" = "$(gen_bytes "$D/gen.out")" ]
	run desktop_since_mark
	[[ "$output" == *"snitch: pipeline error"$'\t'"snitch-resolve was killed by signal 9"* ]]
}

@test "start, status, stop and restart: a daemon with a pid file" {
	need_bpf
	run "$SNITCH" status
	[ "$status" -eq 4 ]
	run "$SNITCH" start
	[ "$status" -eq 0 ]
	pid=$(cat "$SNITCH_RUN_DIR/snitch.pid")
	kill -0 "$pid"
	run "$SNITCH" start		# like systemctl start: already running is fine
	[ "$status" -eq 0 ]
	[[ "$output" == *"already"*"$pid"* ]]
	# a second 'snitch run' is refused
	run "$SNITCH" run
	[ "$status" -eq 1 ]
	[[ "$output" == *"already"*"$pid"* ]]
	run "$SNITCH" status
	[ "$status" -eq 0 ]
	[[ "$output" == *"pid $pid"* ]]
	for s in snitch-trace snitch-resolve snitch-hash snitch-store snitch-notify; do
		[[ "$output" == *"$s"* ]] || { echo "no $s"; false; }
	done
	run "$SNITCH" status --json
	[ "$status" -eq 0 ]
	jq -e --argjson p "$pid" '.pid == $p and (.stages | length) == 5 and all(.stages[]; .alive)' <<< "$output"
	# anyone may ask, also when the configuration is root's alone (a
	# directory of 0700, as snitch makes /etc/snitch): one line says so
	chmod 755 "$D"
	chmod 700 "$D/etc"
	nobody_bin "$D"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$NOBODY_BIN/snitch" status
	[ "$status" -eq 0 ]
	[[ "$output" == *"cannot read '$SNITCH_CONF'"*"going on with the defaults"* ]]
	[[ "$output" == *"pid $pid"* ]]
	run "$SNITCH" restart
	[ "$status" -eq 0 ]
	pid2=$(cat "$SNITCH_RUN_DIR/snitch.pid")
	[ "$pid2" != "$pid" ]
	gone "$pid"
	run "$SNITCH" stop
	[ "$status" -eq 0 ]
	gone "$pid2"
	[ ! -e "$SNITCH_RUN_DIR/snitch.pid" ]
	run "$SNITCH" status
	[ "$status" -eq 4 ]
	run "$SNITCH" stop
	[ "$status" -eq 0 ]
	[[ "$output" == *"not running"* ]]
	grep -q "snitch: pid $pid: running snitch-trace" "$SNITCH_LOG_DIR/snitch.log"
	grep -q "snitch: stopped: every stage" "$SNITCH_LOG_DIR/snitch.log"
}

@test "snitch start returns once snitch-trace traces: a program that talks at once is counted; the feed waits for it too" {
	need_bpf
	need_cmd sqlite3
	mkdir -p "$D/bin" "$D/etc"
	: > "$SNITCH_CONF"
	for t in snitch-resolve snitch-hash snitch-store snitch-notify; do
		ln -s "$SNITCH_BIN/$t" "$D/bin/$t"
	done
	# a snitch-trace that takes 4 s more to attach (a busy machine's verifier)
	printf '#!/bin/sh\nsleep 4\nexec %s/snitch-trace "$@"\n' "$SNITCH_BIN" > "$D/bin/snitch-trace"
	chmod 755 "$D/bin/snitch-trace"
	# a reader while it starts: told so, not fed a feed that misses traffic
	( for _ in $(seq 1 100); do
		[ -e "$SNITCH_RUN_DIR/snitch.pid" ] && [ -S "$SNITCH_RUN_DIR/events.sock" ] && break
		sleep 0.05
	  done
	  st=0
	  timeout 15 "$SNITCH" tail > /dev/null 2> "$D/early.err" || st=$?
	  echo "status $st" >> "$D/early.err" ) &
	early=$!
	t0=$(date +%s%N)
	"$SNITCH" start --bin-dir "$D/bin"
	took=$(( ($(date +%s%N) - t0) / 1000000 ))
	wait "$early"
	cat "$D/early.err"
	grep -q 'status 4' "$D/early.err"
	grep -q 'snitch is starting' "$D/early.err"
	echo "snitch start took $took ms"
	[ "$took" -ge 4000 ]
	# the moment it returns: a program that talks and exits is seen
	new_gen startgen
	"$exe" tcp4 > "$D/gen.out"
	want=$(gen_bytes "$D/gen.out")
	timeout 5 "$SNITCH" tail > "$D/tail.out" || true
	run "$SNITCH" stop
	[ "$status" -eq 0 ]
	[ "$want" != "0 0" ]
	[ "$(db_bytes "$exe" "$sha")" = "$want" ]
	! grep -q 'has not said' "$SNITCH_LOG_DIR/snitch.log"
}

@test "under systemd (Type=notify): READY=1 once snitch-trace traces, STOPPING=1 at the stop, nothing from the stages" {
	need_bpf
	need_cmd python3
	# systemd's side: a datagram socket, each message with its arrival
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
out = open(sys.argv[2], "a")
while True:
    try:
        m = s.recv(4096)
    except socket.timeout:
        break
    out.write("%d %s\n" % (time.monotonic_ns(), m.decode()))
    out.flush()
    if m == b"STOPPING=1":
        s.settimeout(2)
' "$D/notify.sock" "$D/notify.out" 3>&- &
	LISTENER=$!
	for _ in $(seq 50); do [ -S "$D/notify.sock" ] && break; sleep 0.1; done
	NOTIFY_SOCKET=$D/notify.sock run_start
	for _ in $(seq 100); do grep -q READY=1 "$D/notify.out" 2>/dev/null && break; sleep 0.1; done
	grep -q 'snitch: started: ' "$D/run.err"
	run_stop
	[ "$RUN_STATUS" -eq 0 ]
	wait "$LISTENER" || true
	cat "$D/notify.out"
	# exactly these two, in this order: the stages never had the socket
	[ "$(cut -d' ' -f2 "$D/notify.out" | tr '\n' ' ')" = "READY=1 STOPPING=1 " ]
	# the unit asks for it
	"$SNITCH" systemd --unit - | grep -qx 'Type=notify'
}

@test "a snitch-trace that never says it traces: snitch start goes on after 15 s, and says why" {
	need_bpf
	mkdir -p "$D/bin" "$D/etc"
	: > "$SNITCH_CONF"
	for t in snitch-resolve snitch-hash snitch-store snitch-notify; do
		ln -s "$SNITCH_BIN/$t" "$D/bin/$t"
	done
	# closes the pipe it is to say it on
	printf '#!/bin/sh\nexec 3>&-\nexec %s/snitch-trace "$@"\n' "$SNITCH_BIN" > "$D/bin/snitch-trace"
	chmod 755 "$D/bin/snitch-trace"
	t0=$(date +%s%N)
	"$SNITCH" start --bin-dir "$D/bin"
	took=$(( ($(date +%s%N) - t0) / 1000000 ))
	echo "snitch start took $took ms"
	[ "$took" -ge 15000 ]
	grep -q 'snitch-trace has not said within 15 s that it traces; going on without its word' "$SNITCH_LOG_DIR/snitch.log"
	timeout 3 "$SNITCH" tail > /dev/null || [ $? -eq 124 ]
	run "$SNITCH" stop
	[ "$status" -eq 0 ]
}

@test "a stage that keeps dying is restarted with a growing delay, and status shows it down" {
	need_bpf
	mkdir -p "$D/bin" "$D/etc"
	: > "$SNITCH_CONF"
	for t in snitch-trace snitch-resolve snitch-store snitch-notify; do
		ln -s "$SNITCH_BIN/$t" "$D/bin/$t"
	done
	printf '#!/bin/sh\necho "fake hash: failing" >&2\nexit 1\n' > "$D/bin/snitch-hash"
	chmod 755 "$D/bin/snitch-hash"
	run_start --bin-dir "$D/bin"
	sleep 3
	run "$SNITCH" status
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"snitch-hash"*"down"*"exited with status 1"* ]]
	run "$SNITCH" status --json
	starts=$(jq '.stages[] | select(.name == "snitch-hash") | .starts' <<< "$output")
	# 0.1 + 0.2 + 0.4 + 0.8 + 1.6 s of back-off: at most 6 starts in about 3 s
	[ "$starts" -ge 3 ]
	[ "$starts" -le 7 ]
	jq -e '[.stages[] | select(.name != "snitch-hash") | .alive] | all' <<< "$output"
	[ "$(grep -c ' snitch error stage_died: snitch-hash exited with status 1' "$SNITCH_LOG_DIR/error.log")" -ge 2 ]
	run_stop
	[ "$RUN_STATUS" -eq 0 ]
}

@test "the data directories get the configured owner, group and mode" {
	need_bpf
	export SNITCH_OWNER=nobody SNITCH_GROUP=nogroup SNITCH_MODE=0640
	run_start
	run_stop
	[ "$RUN_STATUS" -eq 0 ]
	for d in "$D/lib" "$D/log"; do
		[ "$(stat -c '%U:%G %a' "$d")" = "nobody:nogroup 750" ]
	done
	for f in "$SNITCH_DB" "$SNITCH_LOG_DIR/exe.log"; do
		[ ! -e "$f" ] || [ "$(stat -c '%U:%G %a' "$f")" = "nobody:nogroup 640" ]
	done
	[ "$(stat -c '%U:%G %a' "$SNITCH_DB")" = "nobody:nogroup 640" ]
	[ "$(stat -c '%a' "$SNITCH_RUN_DIR")" = 755 ]
}

@test "snitch run as a user who is not root: exit 3, with a hint" {
	need_root
	chmod 777 "$D"
	nobody_bin "$D"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$NOBODY_BIN/snitch" run
	[ "$status" -eq 3 ]
	[[ "$output" == *"root"* ]]
}

@test "make install puts the tools, manual pages, unit, config and docs under DESTDIR; uninstall takes them away" {
	need_cmd help2man
	# make install installs bin/, whichever tools the tests run
	# (SNITCH_BIN is build/san/bin under make test SANITIZE=1)
	top=$SNITCH_TOP
	[ -f "$top/Makefile" ]
	run make -s -C "$top" install DESTDIR="$D/root" PREFIX=/usr
	echo "$output"
	[ "$status" -eq 0 ]
	for t in snitch snitch-trace snitch-resolve snitch-hash snitch-vt snitch-store snitch-remote snitch-metrics snitch-notify; do
		[ -x "$D/root/usr/bin/$t" ]
		cmp "$D/root/usr/bin/$t" "$top/bin/$t"
		man -l "$D/root/usr/share/man/man1/$t.1" 2>/dev/null | grep -q "$t" ||
			{ echo "no manual page for $t"; false; }
	done
	man -l "$D/root/usr/share/man/man1/snitch-store.1" 2>/dev/null | grep -q -- --write-limit-s
	grep -qx 'ExecStart=/usr/bin/snitch run' "$D/root/usr/lib/systemd/system/snitch.service"
	grep -qx 'EnvironmentFile=-/etc/snitch/snitch.conf' "$D/root/usr/lib/systemd/system/snitch.service"
	# the same template as snitch systemd's: only the paths differ
	diff <(grep -Ev '^(# snitch.service:|Documentation=|ExecSt)' "$D/root/usr/lib/systemd/system/snitch.service") \
		<(env -u SNITCH_DB -u SNITCH_STATE -u SNITCH_LOG_DIR -u SNITCH_RUN_DIR -u SNITCH_CONF \
			-u SNITCH_STOP_TIMEOUT_S "$SNITCH" systemd --unit - | grep -Ev '^(# snitch.service:|Documentation=|ExecSt)')
	cmp "$D/root/etc/snitch/snitch.conf" <("$SNITCH" config)
	[ -f "$D/root/usr/share/doc/snitch/README.md" ]
	[ -f "$D/root/usr/share/doc/snitch/docs/records.md" ]
	# a second install keeps the administrator's configuration
	echo 'SNITCH_WRITE_LIMIT_S=5' >> "$D/root/etc/snitch/snitch.conf"
	run make -s -C "$top" install DESTDIR="$D/root" PREFIX=/usr
	[ "$status" -eq 0 ]
	grep -qx 'SNITCH_WRITE_LIMIT_S=5' "$D/root/etc/snitch/snitch.conf"
	run make -s -C "$top" uninstall DESTDIR="$D/root" PREFIX=/usr
	[ "$status" -eq 0 ]
	[ -z "$(find "$D/root" -type f ! -path '*/etc/snitch/*')" ]
	[ -f "$D/root/etc/snitch/snitch.conf" ]
}

# The relay under back-pressure: fake stages (cat) and a last stage that
# reads nothing for 3 s, so several MiB wait in the supervisor's queues and
# every hop reads lines that span its 64 KiB reads. Every line must arrive
# whole, once, in order; the supervisor counts the error records it saw.
@test "a backlog of several MiB passes every hop of the relay with every line intact" {
	mkdir -p "$D/bin" "$D/etc"
	: > "$SNITCH_CONF"
	# 6000 records of 1300 to 1500 bytes (about 8 MiB), every 500th an error
	awk 'BEGIN { pad = sprintf("%1500s", ""); gsub(/ /, "x", pad)
		for (i = 1; i <= 6000; i++) {
			t = i % 500 ? "flow" : "error"
			printf "{\"seq\":%d,\"v\":1,\"type\":\"%s\",\"pad\":\"%s\"}\n", i, t, substr(pad, 1, 1300 + (i * 37) % 200)
		} }' > "$D/expected"
	[ "$(wc -c < "$D/expected")" -gt $((7 << 20)) ]
	printf '#!/bin/sh\nprintf R >&3 && exec 3>&-\ncat %s\nexec sleep 600\n' "$D/expected" > "$D/bin/snitch-trace"
	for t in snitch-resolve snitch-hash snitch-store; do
		printf '#!/bin/sh\nexec cat\n' > "$D/bin/$t"
	done
	printf '#!/bin/sh\nsleep 3\nexec cat > %s\n' "$D/got" > "$D/bin/snitch-notify"
	chmod 755 "$D"/bin/*
	"$SNITCH" run --bin-dir "$D/bin" > "$D/run.out" 2> "$D/run.err" 3>&- &
	RUN_PID=$!
	for i in $(seq 1 600); do
		[ -e "$D/got" ] && [ "$(wc -l < "$D/got")" -ge 6000 ] && break
		sleep 0.1
	done
	# status.json is written once a second: the last lines may be newer
	for i in $(seq 1 30); do
		[ "$("$SNITCH" status --json | jq .errors)" = 12 ] && break
		sleep 0.1
	done
	run "$SNITCH" status --json
	echo "$output"
	[ "$(jq .errors <<< "$output")" -eq 12 ]
	# drained (as status.json says, a second later at most), the 8 MiB
	# it relayed went back: an empty queue keeps at most 256 KiB. The
	# stand-in for snitch-notify writes nothing, so never shows it is
	# not a stage that confirms: its input is kept, and counted.
	for i in $(seq 1 30); do
		"$SNITCH" status --json > "$D/status.json"
		jq -e 'all(.stages[]; .queued_bytes == 0)' "$D/status.json" > /dev/null && break
		sleep 0.1
	done
	cat "$D/status.json"
	jq -e '(.stages | length) == 5 and all(.stages[]; .queued_bytes == 0) and
	       all(.stages[:4][]; .buffer_bytes < 512 * 1024) and
	       .stages[4].buffer_bytes >= .stages[4].unconfirmed_bytes and
	       .memory.buffer_bytes >= ([.stages[].buffer_bytes] | add) and
	       .memory.heap_used_bytes <= .memory.heap_bytes' "$D/status.json"
	# the allocator's figures; blocks mapped on their own are glibc's
	# (ASan's allocator, in a sanitizer build, does not say)
	jq -e '.memory.heap_bytes > 0 and .memory.heap_used_bytes > 0' "$D/status.json"
	[ -n "${SNITCH_SAN_REPORTS:-}" ] || jq -e '.memory.mapped_bytes > 0' "$D/status.json"
	run_stop
	cmp "$D/expected" "$D/got"
}
