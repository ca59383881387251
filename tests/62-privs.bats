#!/usr/bin/env bats
# Least privilege (docs/security.md): every process of a running snitch run
# holds what the table there says (user, capabilities, no new privileges,
# seccomp), started as root and started the way the systemd unit starts
# it; each seccomp group refuses what it should; the unit's exposure.

load helper

setup_file() {
	need_root
	# the user and group the stages run as, as make run and make install make them
	"$SNITCH_TOP/scripts/group.sh" >&2
}

setup() {
	need_root
	D=$(open_tmpdir)
	SNITCH=$SNITCH_BIN/snitch
	PROBE=$SNITCH_TEST_BIN/privs-probe
	export SNITCH_CONF=$D/etc/snitch.conf SNITCH_RUN_DIR=$D/run \
		SNITCH_DB=$D/lib/snitch.db SNITCH_STATE=$D/lib/state.json \
		SNITCH_LOG_DIR=$D/log SNITCH_WRITE_LIMIT_S=1 SNITCH_STOP_TIMEOUT_S=20 \
		SNITCH_NO_DESKTOP=1
	# the default: the stages become the user snitch
	unset SNITCH_USER
}

teardown() {
	if [ -n "${RUN_PID:-}" ] && kill "$RUN_PID" 2>/dev/null; then
		for _ in $(seq 1 250); do
			kill -0 "$RUN_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "$RUN_PID" 2>/dev/null || true
		wait "$RUN_PID" 2>/dev/null || true
	fi
	stop_started ${HTTP_PID:-}
	rm -rf "$D"
}

# caps_mask NAME...: the capability set of those names (none: empty), in
# /proc/PID/status's hex
caps_mask() {
	local m=0 c bit
	for c in "$@"; do
		[ "$c" = none ] && continue
		bit=$(capsh --explain="cap_$c" | sed -n "1s/^cap_[a-z_]* (\([0-9]*\)).*/\1/p")
		[ -n "$bit" ] || { echo "unknown capability $c" >&2; return 1; }
		m=$(( m | (1 << bit) ))
	done
	printf '%016x\n' "$m"
}

# the docs/security.md row of PROCESS: user|capabilities|NoNewPrivs|Seccomp
doc_row() {
	awk -F'|' -v p="\`$1\`" '
		{ for (i = 2; i <= NF; i++) { gsub(/^ +| +$/, "", $i) } }
		$2 == p { print $3 "|" $4 "|" $5 "|" $6; exit }' "$SNITCH_TOP/docs/security.md"
}

# status_of PID FIELD: a field of /proc/PID/status (the first value)
status_of() {
	awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status"
}

# check_process NAME PID [USER]: /proc/PID/status against the table
check_process() {
	local name=$1 pid=$2 row user caps nnp sec want_uid
	row=$(doc_row "$name")
	[ -n "$row" ] || { echo "docs/security.md has no row for $name"; return 1; }
	IFS='|' read -r user caps nnp sec <<< "$row"
	# the sanitizers' build loads no filter (docs/security.md)
	[ -z "${SNITCH_SAN_REPORTS:-}" ] || [ "$name" = snitch ] || sec=0
	user=${3:-$user}
	want_uid=$(id -u "$user")
	local mask
	# what this machine lets anyone hold at all: the test's own bounding set
	mask=$(printf '%016x' $(( 0x$(caps_mask $caps) & 0x$(status_of $$ CapBnd) )))
	echo "$name (pid $pid): want uid $want_uid caps $mask nnp $nnp seccomp $sec;" \
		"has uid $(status_of "$pid" Uid) eff $(status_of "$pid" CapEff) prm $(status_of "$pid" CapPrm)" \
		"nnp $(status_of "$pid" NoNewPrivs) seccomp $(status_of "$pid" Seccomp)"
	[ "$(status_of "$pid" Uid)" = "$want_uid" ]
	[ "$(status_of "$pid" CapEff)" = "$mask" ]
	[ "$(status_of "$pid" CapPrm)" = "$mask" ]
	[ "$(status_of "$pid" NoNewPrivs)" = "$nnp" ]
	[ "$(status_of "$pid" Seccomp)" = "$sec" ]
}

# run_all_stages [PREFIX...]: snitch run (under PREFIX, e.g. setpriv), with every
# optional stage but snitch-remote; returns once all stages run
run_all_stages() {
	printf 'not-a-real-key\n' > "$D/vt.key"
	chmod 600 "$D/vt.key"
	# snitch-vt reads it as the user snitch run runs as
	[ "$1" != setpriv ] || chown snitch "$D/vt.key"
	export SNITCH_VT_API_KEY_FILE=$D/vt.key SNITCH_VT_API_URL=https://127.0.0.1:9/api/v3 \
		SNITCH_VT_STATE=$D/lib/vt.json SNITCH_METRICS_LISTEN=127.0.0.1:0
	"$@" "$SNITCH" run > "$D/run.out" 2> "$D/run.err" 3>&- &
	RUN_PID=$!
	for _ in $(seq 1 200); do
		if grep -q 'counting TCP' "$D/run.err" 2>/dev/null &&
		   grep -q 'serving /metrics' "$D/run.err" 2>/dev/null &&
		   [ -s "$D/run/status.json" ] &&
		   [ "$(jq '[.stages[] | select(.alive)] | length' "$D/run/status.json")" = 7 ]; then
			return 0
		fi
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "snitch run did not start:" >&2
	cat "$D/run.err" >&2
	return 1
}

check_all_stages() {
	local name pid
	[ "$(jq -r '[.stages[].name] | join(" ")' "$D/run/status.json")" = \
		"snitch-trace snitch-resolve snitch-hash snitch-vt snitch-store snitch-metrics snitch-notify" ]
	while read -r name pid; do
		check_process "$name" "$pid"
	done < <(jq -r '.stages[] | "\(.name) \(.pid)"' "$D/run/status.json")
}

# traffic of a python3 server on loopback, and its row after the stop
traffic_lands() {
	python3 -m http.server --bind 127.0.0.1 0 > "$D/http.out" 2>&1 3>&- &
	HTTP_PID=$!
	local port=
	for _ in $(seq 1 50); do
		port=$(ss -Hltnp | awk -v p="pid=$HTTP_PID," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }')
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ]
	for _ in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$port/"; done
	sleep 2
	kill -TERM "$RUN_PID"
	wait "$RUN_PID"
	RUN_PID=
	[ "$(sqlite3 "$SNITCH_DB" "SELECT count(*) FROM connections c JOIN executables e ON e.id = c.exe_id WHERE e.path LIKE '%curl%'")" -gt 0 ]
	# the stages wrote the log as the user snitch
	[ "$(stat -c %U "$SNITCH_DB")" = snitch ]
	# no stage's filter refused a call it makes
	! grep -a 'seccomp refused' "$D/run.err" || false
}

@test "snitch run as root: the supervisor and every stage hold what docs/security.md says, and flows still land" {
	need_bpf
	need_cmd jq sqlite3 curl python3 ss capsh
	run_all_stages
	check_process snitch "$RUN_PID"
	check_all_stages
	traffic_lands
}

@test "snitch run as the systemd unit starts it: the user snitch with the unit's ambient capabilities" {
	need_bpf
	need_cmd jq sqlite3 curl python3 ss capsh setpriv
	local caps
	caps=$("$SNITCH" systemd --unit - 2>/dev/null | sed -n 's/^AmbientCapabilities=//p' |
		tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
	[ -n "$caps" ]
	# the directories systemd makes for it (StateDirectory= and so on), the user's
	install -d -o snitch -g snitch "$D/lib" "$D/log" "$D/run" "$D/etc"
	run_all_stages setpriv --reuid=snitch --regid=snitch --clear-groups \
		--inh-caps="$caps" --ambient-caps="$caps" --no-new-privs
	# the supervisor: the user snitch, the unit's capabilities, nothing more
	[ "$(status_of "$RUN_PID" Uid)" = "$(id -u snitch)" ]
	[ "$(status_of "$RUN_PID" CapEff)" = "$(printf '%016x' $(( 0x$(caps_mask $(tr ',+' '  ' <<< "$caps")) & 0x$(status_of $$ CapBnd) )))" ]
	check_all_stages
	traffic_lands
}

@test "each seccomp group refuses what it does not name: exec always, fork, writes, sockets, ptrace, setuid" {
	local tmp
	tmp=$(open_tmpdir)
	export TMPDIR=$tmp
	# these refusals are the point: not in the suite's log of refusals
	unset SNITCH_SECCOMP_LOG
	# never allowed, whatever the groups
	for g in none read read,write,net,listen,threads,fork; do
		for a in exec ptrace setuid; do
			run --separate-stderr "$PROBE" "$g" "$a"
			echo "$g $a: $output"
			[ "$status" -eq 0 ]
			[ "$output" = "refused: EPERM" ]
		done
	done
	# each group allows its own
	for ga in "read open-read" "write open-write" "net socket" "threads thread" "fork fork" "fork thread"; do
		run --separate-stderr "$PROBE" ${ga% *} ${ga#* }
		echo "$ga: $output"
		[ "$output" = allowed ]
	done
	# and only its own
	for ga in "none open-read" "read socket" "read thread" "threads fork" "write fork"; do
		run --separate-stderr "$PROBE" ${ga% *} ${ga#* }
		echo "$ga: $output"
		[ "$output" = "refused: EPERM" ]
	done
	# an open for writing by a reader fails as on a file it may not
	# write, unsaid (SQLite tries the -wal so first: docs/security.md)
	run --separate-stderr "$PROBE" read open-write
	echo "read open-write: $output"
	[ "$output" = "refused: EACCES" ]
	# SNITCH_SECCOMP=off: no filter (to find out whether it is the cause)
	run --separate-stderr env SNITCH_SECCOMP=off "$PROBE" none open-read
	[ "$output" = allowed ]
	# a refusal is said, once a call, on stderr
	run --separate-stderr "$PROBE" none socket
	[[ "$stderr" == *"privs-probe: seccomp refused system call 41 "* ]]
	rm -rf "$tmp"
}

@test "the systemd unit's exposure (systemd-analyze security) is 3.0 or less" {
	need_cmd systemd-analyze
	"$SNITCH" systemd --unit "$D/snitch.service"
	run systemd-analyze security --offline=yes "$D/snitch.service"
	echo "$output" | tail -3
	local level
	level=$(sed -n 's/.*Overall exposure level for snitch.service: \([0-9.]*\).*/\1/p' <<< "$output")
	[ -n "$level" ]
	awk -v l="$level" 'BEGIN { exit !(l <= 3.0) }'
	# every capability it may hold is commented
	for c in $(sed -n 's/^CapabilityBoundingSet=//p' "$D/snitch.service"); do
		grep -q "^#.*$c" "$D/snitch.service" || { echo "$c not explained"; false; }
	done
}
