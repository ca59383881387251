# Shared by every tests/*.bats file. Binaries come by absolute path from
# the Makefile (scripts/test.sh exports SNITCH_BIN and SNITCH_TEST_BIN).

bats_require_minimum_version 1.5.0

: "${SNITCH_BIN:?run the tests with 'make test'}"
: "${SNITCH_TEST_BIN:?run the tests with 'make test'}"
HASH=$SNITCH_BIN/snitch-hash
RECORD_TOOL=$SNITCH_TEST_BIN/record-tool

# The stages stay root's uid (each still gives up every capability it does
# not need, and loads its seccomp filter): the tests' files sit in
# directories only root may enter. tests/62-privs.bats runs them as the
# user snitch, the way snitch run does by default.
export SNITCH_USER=root

# Under make test SANITIZE=1 (scripts/test.sh sets SNITCH_SAN_REPORTS) the
# tools run two to five times slower: a test that asks for a load to pass
# within a time scales the load down by SAN_SLOW (1 otherwise), so that it
# still tests the behaviour, not the sanitizers' speed.
if [ -n "${SNITCH_SAN_REPORTS:-}" ]; then
	SAN_SLOW=5
else
	SAN_SLOW=1
fi

# A test that cannot run says why; under CI=true that is a failure.
cannot_run() {
	if [ "${CI:-}" = true ]; then
		echo "cannot run under CI: $*" >&2
		return 1
	fi
	skip "$*"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || cannot_run "needs root"
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || cannot_run "needs $c (run 'sudo make deps')"
	done
}

# A directory that the user 'nobody' can enter (BATS_TEST_TMPDIR is 0700).
open_tmpdir() {
	local d
	d=$(mktemp -d /tmp/snitch-test.XXXXXX)
	chmod 755 "$d"
	echo "$d"
}

# nobody_bin DIR: the tools, copied into DIR/bin (DIR from open_tmpdir,
# removed by the test), for a test that runs them as the user nobody: the
# clone may sit where other users cannot enter (a home directory is 0700
# on Debian 12), and exec would fail with EACCES. Sets NOBODY_BIN.
nobody_bin() {
	NOBODY_BIN=$1/bin
	install -d -m 755 "$NOBODY_BIN"
	install -m 755 "$SNITCH_BIN"/* "$NOBODY_BIN"/
}

# stop_started [PID...]: every process a helper started (stream_start,
# trace_start, pipeline_start, dns_ns_start, desktop_watch) and the PIDs
# given, stopped whatever happened: SIGTERM, then SIGKILL after 5 s. Each
# bats file calls it from teardown (and teardown_file when setup_file
# starts processes). A stage left behind by a failed test would hold bats's
# output pipe, and the suite would never end; for the same reason the
# helpers start their processes without that pipe (fd 3).
# running PID: the process exists and has not exited (a zombie has).
running() {
	local st
	read -r st 2>/dev/null < "/proc/$1/stat" || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

stop_started() {
	local pids i p alive
	pids="${STREAM_PID:-} ${TRACE_PID:-} ${RESOLVE_PID:-} ${DESKTOP_MON_PID:-} $*"
	if [ -n "${STREAM_FD:-}" ]; then
		exec {STREAM_FD}>&-
		STREAM_FD=
	fi
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for i in $(seq 50); do
		alive=
		for p in $pids; do
			running "$p" && alive="$alive $p"
		done
		[ -n "$alive" ] || break
		sleep 0.1
	done
	for p in $alive; do
		echo "stop_started: pid $p did not end on SIGTERM: killed" >&2
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	STREAM_PID= TRACE_PID= RESOLVE_PID= DESKTOP_MON_PID=
	[ -z "${DNS_NS:-}" ] || dns_ns_stop
	return 0
}

# A flow-shaped record naming FILE at the process level, by dev, ino, path.
record_for() {
	local file=$1 extra=${2:-}
	stat -c '{"v":1,"type":"flow","pid":0,"exe_dev":%d,"exe_ino":%i}' "$file" |
		jq -c --arg p "$file" ". + {exe_path: \$p} $extra"
}

sha_of() {
	sha256sum "$1" | cut -d' ' -f1
}

# Wait until FILE has at least N lines (at most ~10 s); fails otherwise.
wait_lines() {
	local file=$1 n=$2 i
	for i in $(seq 1 200); do
		[ "$(wc -l < "$file")" -ge "$n" ] && return 0
		sleep 0.05
	done
	echo "timed out waiting for $n lines in $file; it has:" >&2
	cat "$file" >&2
	return 1
}

# A stage running in the background on a FIFO, fed line by line:
#   stream_start CMD...   (output in $STREAM_OUT, stderr in $STREAM_ERR)
#   stream_send LINE...
#   stream_stop           (closes the input, waits; status in $STREAM_STATUS)
stream_start() {
	local dir
	dir=$(mktemp -d "$BATS_TEST_TMPDIR/stream.XXXXXX")
	STREAM_OUT=$dir/out
	STREAM_ERR=$dir/err
	mkfifo "$dir/in"
	"$@" < "$dir/in" > "$STREAM_OUT" 2> "$STREAM_ERR" 3>&- &
	STREAM_PID=$!
	exec {STREAM_FD}> "$dir/in"
}

stream_send() {
	printf '%s\n' "$@" >&"$STREAM_FD"
}

stream_stop() {
	exec {STREAM_FD}>&-
	STREAM_FD=
	STREAM_STATUS=0
	wait "$STREAM_PID" || STREAM_STATUS=$?
	STREAM_PID=
}

TRACE=$SNITCH_BIN/snitch-trace
GEN=$SNITCH_TEST_BIN/trafficgen

# BPF needs root here; say so, or fail under CI.
need_bpf() {
	need_root
	[ -r /sys/kernel/btf/vmlinux ] || cannot_run "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
}

# trace_start OUT [ARGS...]: snitch-trace in the background, writing OUT
# (stderr in OUT.err); returns once its hooks are attached.
trace_start() {
	local out=$1 i
	shift
	"$TRACE" "$@" > "$out" 2> "$out.err" 3>&- &
	TRACE_PID=$!
	for i in $(seq 1 100); do
		grep -q 'counting TCP' "$out.err" 2>/dev/null && return 0
		kill -0 "$TRACE_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "snitch-trace did not start:" >&2
	cat "$out.err" >&2
	return 1
}

# trace_stop: SIGINT, then wait (at most 20 s); status in TRACE_STATUS.
trace_stop() {
	local i
	kill -INT "$TRACE_PID"
	for i in $(seq 1 200); do
		kill -0 "$TRACE_PID" 2>/dev/null || break
		sleep 0.1
	done
	TRACE_STATUS=0
	wait "$TRACE_PID" || TRACE_STATUS=$?
	TRACE_PID=
}

# The bytes snitch-trace attributed to PID running the executable with
# inode INO, as "SEND RECV".
traced_bytes() {
	jq -rs --argjson pid "$2" --argjson ino "$3" \
		'[.[] | select(.type == "flow" and .pid == $pid and .exe_ino == $ino)]
		 | "\(map(.send_bytes) | add // 0) \(map(.recv_bytes) | add // 0)"' "$1"
}

# A network namespace with lo up and a test DNS server on 127.0.0.1:53
# answering NAME=IPV4 pairs; processes run in it with `ip netns exec
# $DNS_NS` see it in /etc/resolv.conf.
dns_ns_start() {
	local i
	DNS_NS=snitch-dns-$$-$RANDOM
	ip netns add "$DNS_NS"
	ip -n "$DNS_NS" link set lo up
	mkdir -p "/etc/netns/$DNS_NS"
	echo "nameserver 127.0.0.1" > "/etc/netns/$DNS_NS/resolv.conf"
	ip netns exec "$DNS_NS" "$SNITCH_TEST_BIN/dnsd" 127.0.0.1 53 "$@" > "$BATS_TEST_TMPDIR/dnsd.out" 3>&- &
	DNS_PID=$!
	for i in $(seq 50); do
		grep -q ready "$BATS_TEST_TMPDIR/dnsd.out" && return 0
		sleep 0.1
	done
	echo "the test DNS server did not start" >&2
	return 1
}

dns_ns_stop() {
	kill "$DNS_PID" 2>/dev/null || true
	wait "$DNS_PID" 2>/dev/null || true
	ip netns del "$DNS_NS" 2>/dev/null || true
	rm -rf "/etc/netns/$DNS_NS"
	DNS_NS=
}

RESOLVE=$SNITCH_BIN/snitch-resolve

# snitch-trace | snitch-resolve ARGS..., live, through a FIFO so that both
# ends are known; resolved records in OUT. Stop with pipeline_stop.
pipeline_start() {
	local out=$1
	shift
	mkfifo "$out.fifo"
	"$RESOLVE" "$@" < "$out.fifo" > "$out" 2> "$out.err" 3>&- &
	RESOLVE_PID=$!
	trace_start "$out.fifo"
}

pipeline_stop() {
	trace_stop
	RESOLVE_STATUS=0
	wait "$RESOLVE_PID" || RESOLVE_STATUS=$?
	RESOLVE_PID=
}

STORE=$SNITCH_BIN/snitch-store
REMOTE=$SNITCH_BIN/snitch-remote

# The columns of a connections row, and of a row record (docs/records.md).
CONN_COLS='window_start_ns, window_end_ns, first_ns, last_ns, send_bytes, recv_bytes, events, exe_id, parent_exe_id, gparent_exe_id, uid, family, proto, lport, rport, laddr_id, raddr_id, domain_id, netns, container_id'

# rows_into DB: the row records on stdin into table r (one column j, the
# record), for SQLite to read: jq 1.6 rounds 63-bit ids.
rows_into() {
	{
		echo 'CREATE TABLE r (j TEXT);'
		grep '"type":"row"' | sed "s/'/''/g; s/^/INSERT INTO r VALUES ('/; s/\$/');/"
	} | sqlite3 "$1"
}

# row_cols 'a, b': "json_extract(j, '$.a'), json_extract(j, '$.b')"
row_cols() {
	echo "$1" | sed -E "s/([a-z_0-9]+)/json_extract(j, '\$.\1')/g"
}

# ---- snitch run in the background ----

# run_start [OPTION...]: snitch run in the background (its output in
# $D/run.out and $D/run.err, its pid in RUN_PID); returns once snitch-trace
# counts and status.json shows every stage, or fails saying why.
run_start() {
	"$SNITCH" run "$@" > "$D/run.out" 2> "$D/run.err" 3>&- &
	RUN_PID=$!
	for _ in $(seq 1 150); do
		if grep -q 'counting TCP' "$D/run.err" 2>/dev/null; then
			st=0
			"$SNITCH" status > /dev/null 2>&1 || st=$?
			[ "$st" -eq 4 ] || return 0
		fi
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "snitch run did not start:" >&2
	cat "$D/run.err" >&2
	return 1
}

# run_stop: SIGTERM to it; its exit status in RUN_STATUS.
run_stop() {
	kill -TERM "$RUN_PID"
	RUN_STATUS=0
	wait "$RUN_PID" || RUN_STATUS=$?
	RUN_PID=
}

# ---- real database servers, on unix sockets in a test directory ----

# pg_start DIR: PostgreSQL with a database "snitch", the tables made by
# its owner, a role "writer" that may only INSERT, and "reader" that may
# not. PG_URL_WRITER, PG_URL_READER, PG_ADMIN (a psql command). Its unix
# socket's port is PG_PORT (default 55432, tests/45-remote.bats's).
pg_start() {
	local dir=$1 bin
	bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	mkdir -p "$dir"
	chown postgres "$dir"
	runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U postgres > "$dir/initdb.log" 2>&1
	PG_BIN=$bin
	PG_DIR=$dir
	pg_up
	PG_ADMIN="runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -h $dir -p ${PG_PORT:-55432} -U postgres"
	$PG_ADMIN -c "CREATE DATABASE snitch" postgres
	$PG_ADMIN -c "CREATE ROLE writer LOGIN; CREATE ROLE reader LOGIN;" snitch
	"$REMOTE" --remote "postgresql://x/snitch" --schema | $PG_ADMIN snitch
	$PG_ADMIN -c "GRANT INSERT ON ALL TABLES IN SCHEMA public TO writer;" snitch
	PG_URL_WRITER="postgresql://writer@/snitch?host=$dir&port=${PG_PORT:-55432}"
	PG_URL_READER="postgresql://reader@/snitch?host=$dir&port=${PG_PORT:-55432}"
}

# Run a command that starts a daemon without the write end of an open
# stream_start FIFO: a daemon holding it would keep the stage from EOF.
without_stream_fd() {
	if [ -n "${STREAM_FD:-}" ]; then
		"$@" {STREAM_FD}>&-
	else
		"$@"
	fi
}

pg_up() {
	without_stream_fd runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
		-o "-k $PG_DIR -p ${PG_PORT:-55432} -c listen_addresses=''" start > /dev/null 3>&-
}

pg_down() {
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop > /dev/null
}

# my_start DIR: MariaDB likewise: database "snitch", tables made by root,
# "writer" with INSERT only, "reader" without. MY_URL_WRITER, MY_ADMIN.
my_start() {
	local dir=$1 i
	mkdir -p "$dir"
	mariadb-install-db --no-defaults --datadir="$dir/data" --user=root \
		--auth-root-authentication-method=normal > "$dir/install.log" 2>&1
	MY_DIR=$dir
	my_up
	MY_ADMIN="mariadb --no-defaults -S $dir/sock -u root"
	$MY_ADMIN -e "CREATE DATABASE snitch"
	"$REMOTE" --remote "mysql://x/snitch" --schema | $MY_ADMIN snitch
	$MY_ADMIN -e "CREATE USER writer@localhost IDENTIFIED BY 'wpw'; GRANT INSERT ON snitch.* TO writer@localhost;
		CREATE USER reader@localhost IDENTIFIED BY 'rpw'; GRANT SELECT ON snitch.* TO reader@localhost;"
	MY_URL_WRITER="mysql://writer:wpw@localhost/snitch?socket=$dir/sock"
	MY_URL_READER="mysql://reader:rpw@localhost/snitch?socket=$dir/sock"
}

my_up() {
	local i
	# the redirection on the backgrounded command itself: a backgrounded
	# function would leave a subshell holding the fd
	if [ -n "${STREAM_FD:-}" ]; then
		mariadbd --no-defaults --datadir="$MY_DIR/data" --socket="$MY_DIR/sock" --skip-networking \
			--user=root --pid-file="$MY_DIR/pid" > "$MY_DIR/server.log" 2>&1 {STREAM_FD}>&- 3>&- &
	else
		mariadbd --no-defaults --datadir="$MY_DIR/data" --socket="$MY_DIR/sock" --skip-networking \
			--user=root --pid-file="$MY_DIR/pid" > "$MY_DIR/server.log" 2>&1 3>&- &
	fi
	for i in $(seq 300); do
		mariadb --no-defaults -S "$MY_DIR/sock" -u root -e 'select 1' > /dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "mariadbd did not start:" >&2
	tail -5 "$MY_DIR/server.log" >&2
	return 1
}

my_down() {
	local pid
	pid=$(cat "$MY_DIR/pid" 2>/dev/null) || return 0
	kill "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

# ---- a real desktop: X server, session bus and notification daemon ----

NOTIFY=$SNITCH_BIN/snitch-notify
SNITCH=$SNITCH_BIN/snitch

# The test desktop (as_desktop, desktop_start, desktop_shown, ...).
source "$BATS_TEST_DIRNAME/desktop.bash"

# setup_file and teardown_file of a suite that shows notifications: one
# test desktop for all its tests (need_desktop says why a test cannot run
# when it did not start).
desktop_setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	command -v Xvfb > /dev/null && command -v dunst > /dev/null &&
		command -v dbus-launch > /dev/null || return 0
	DESKTOP_TOP=$(open_tmpdir)
	# on failure, DESKTOP_DIR still names its logs: need_desktop shows them
	mkdir "$DESKTOP_TOP/desktop"
	desktop_start "$DESKTOP_TOP/desktop" 2> "$DESKTOP_TOP/desktop/start.log" || {
		export DESKTOP_DIR
		return 0
	}
	export DESKTOP_TOP DESKTOP_DIR DESKTOP_BUS DESKTOP_BUS_PID DESKTOP_XVFB_PID DESKTOP_DUNST_PID
}

desktop_teardown_file() {
	desktop_stop
	[ -z "${DESKTOP_TOP:-}" ] || rm -rf "$DESKTOP_TOP"
}

need_desktop() {
	need_root
	[ -n "${DESKTOP_BUS:-}" ] && as_desktop dunstctl count > /dev/null 2>&1 ||
		cannot_run "the test desktop (Xvfb, dbus-launch, dunst) did not start: $(cat "${DESKTOP_DIR:-/x}"/*.log 2>/dev/null | tail -3)"
}

# A resolved and hashed flow record, as snitch-store and snitch-remote read
# them: store_flow TIME_NS SEND RECV [jq-extra]
store_flow() {
	jq -cn --argjson t "$1" --argjson s "$2" --argjson r "$3" '{v:1, type:"flow", phase:"update",
		ts_ns:$t, from_ns:($t - 1000), to_ns:$t, pid:42, comm:"curl", uid:1000,
		exe_path:"/usr/bin/curl", name:"curl", cmdline:["curl","-s","https://example.org/"],
		exe_sha256:"58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef2593",
		parent_exe_path:"/usr/bin/bash", parent_name:"bash", parent_cmdline:["-bash"],
		gparent_exe_path:"/usr/sbin/sshd", gparent_name:"sshd", gparent_cmdline:["sshd"],
		family:"inet", proto:"tcp", laddr:"192.0.2.10", lport:40000, raddr:"198.51.100.7",
		rport:443, domain:"example.org", netns:4026531840, container_runtime:"", container_id:"",
		send_bytes:$s, recv_bytes:$r, send_calls:null, recv_calls:null}'"${4:+ | $4}"
}

NOW=$(( $(date +%s) * 1000000000 ))

# Podman as these machines can run it: runc, since crun refuses a host
# whose cgroups are hybrid (v1 with v2 at /sys/fs/cgroup/unified, as
# here); the cgroupfs manager, since PID 1 is not systemd; and limits
# lower than podman's defaults, since root here lacks CAP_SYS_RESOURCE
# and runc cannot raise them (nofile 1048576 is refused, and nproc above
# about 60,000 was, found by trying). docs/deploy.md says more.
PODMAN=(podman --runtime runc --cgroup-manager cgroupfs)
PODMAN_LIMITS=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=32768:32768)

# podman_image NAME PROGRAM...: an image of the programs given and the
# libraries they load, built from this machine's files (no registry).
podman_image() {
	local name=$1 dir f
	shift
	dir=$(mktemp -d "$BATS_TEST_TMPDIR/image.XXXXXX")
	mkdir -p "$dir/bin"
	for f in "$@"; do
		cp "$f" "$dir/bin/"
		for l in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
			mkdir -p "$dir$(dirname "$l")" && cp -n "$l" "$dir$l"
		done
	done
	tar -C "$dir" -cf "$dir.tar" .
	"${PODMAN[@]}" import -q "$dir.tar" "$name" > /dev/null
}
